//! The four DORA keys per repository, derived from smallbatch's own ship
//! events (never from incidents or issue edits).
//!
//! Counting rules:
//! - A ship is a deployment when it has `deployed_at` inside
//!   `[period_start, period_end)`. Reverts are deployments too: they changed
//!   production. A ship whose merge failed never deployed and counts nowhere.
//! - Change failure rate is regressed / judged, where judged = healthy +
//!   regressed. `Unknown` verdicts (telemetry unreachable) and deploys still
//!   being watched count toward frequency but not toward the rate: nobody
//!   knows whether they failed.
//! - Lead time is `deployed_at - first_commit_at` over healthy deploys,
//!   reverts included (their lead time is how fast the pipeline restores).
//! - Time to restore is `restored_at - verdict_at` over regressed deploys;
//!   one restored after `period_end` is still unrestored as of the report.
//! - Negative durations (clock skew between forge and deployer) are dropped
//!   rather than pulling medians below zero.
use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::bands::{Bands, DurationBand, FailureRateBand, FrequencyBand};
use super::fact::{ShipFact, Verdict};
use super::stats::duration_percentile;
use crate::policy::SizeLabel;

/// One repository's DORA keys over the report period.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoMetrics {
    pub repo: String,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub counts: DeployCounts,
    pub deploys_per_day: f64,
    pub deploys_per_week: f64,
    /// Over healthy deploys with a known first commit.
    pub lead_time: Option<DurationSummary>,
    /// `counts.regressed / counts.judged()`; `None` when nothing was judged.
    pub change_failure_rate: Option<f64>,
    /// Over regressed deploys restored within the period.
    pub time_to_restore: Option<DurationSummary>,
    /// Regressed deploys not restored by `period_end`, oldest first.
    pub unrestored: Vec<Unrestored>,
    /// One bucket per size label, XS to XXL, empty ones included.
    pub by_size: Vec<SizeBucket>,
    pub bands: Bands,
}

/// Deployments in the period by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeployCounts {
    pub deployments: u64,
    pub healthy: u64,
    pub regressed: u64,
    /// Telemetry unreachable: deployed but unjudged.
    pub unknown: u64,
    /// Deployed, verdict not in yet.
    pub awaiting_verdict: u64,
    /// Deployments that were reverts.
    pub reverts: u64,
}

impl DeployCounts {
    /// The change failure rate's denominator.
    pub fn judged(&self) -> u64 {
        self.healthy + self.regressed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSummary {
    pub samples: usize,
    pub median: Duration,
    pub p90: Duration,
}

/// A regressed deploy still hurting production at the end of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unrestored {
    pub pr: u64,
    pub regressed_at: OffsetDateTime,
    /// From `regressed_at` to the end of the period.
    pub open_for: Duration,
}

/// Batch size joined with outcome: do large PRs fail more often?
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeBucket {
    pub size: SizeLabel,
    pub deployments: u64,
    pub failures: u64,
    /// Healthy + regressed, the failure rate's denominator.
    pub judged: u64,
    pub failure_rate: Option<f64>,
    pub median_lead_time: Option<Duration>,
}

/// Computes every repository's metrics over `[period_start, period_end)`,
/// sorted by repo. Every repo with a fact appears, even without deploys in
/// the period, so a repository that stopped shipping stays visible.
pub fn compute(
    facts: &[ShipFact],
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
) -> Vec<RepoMetrics> {
    let mut by_repo: BTreeMap<&str, Vec<&ShipFact>> = BTreeMap::new();
    for fact in facts {
        by_repo.entry(&fact.repo).or_default().push(fact);
    }
    by_repo
        .into_iter()
        .map(|(repo, facts)| repo_metrics(repo, &facts, period_start, period_end))
        .collect()
}

fn repo_metrics(
    repo: &str,
    facts: &[&ShipFact],
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
) -> RepoMetrics {
    let deploys: Vec<(&ShipFact, OffsetDateTime)> = facts
        .iter()
        .filter_map(|&f| Some((f, f.deployed_at?)))
        .filter(|&(_, at)| period_start <= at && at < period_end)
        .collect();

    let counts = count(&deploys);
    let lead_times = lead_times(&deploys);
    let (restore_times, mut unrestored) = restores(&deploys, period_end);
    unrestored.sort_by_key(|u| (u.regressed_at, u.pr));

    let deploy_times: Vec<OffsetDateTime> = deploys.iter().map(|&(_, at)| at).collect();
    let lead_time = summarise(lead_times);
    let time_to_restore = summarise(restore_times);
    let bands = Bands {
        deployment_frequency: FrequencyBand::classify(&deploy_times, period_start, period_end),
        lead_time: lead_time.map(|s| DurationBand::classify(s.median)),
        change_failure_rate: FailureRateBand::classify(counts.regressed, counts.judged()),
        time_to_restore: time_to_restore.map(|s| DurationBand::classify(s.median)),
    };
    let period = (period_end - period_start).whole_seconds();
    let per = |window: Duration| match period {
        ..=0 => 0.0,
        _ => (counts.deployments as f64 * window.whole_seconds() as f64) / period as f64,
    };

    RepoMetrics {
        repo: repo.to_owned(),
        period_start,
        period_end,
        counts,
        deploys_per_day: per(Duration::DAY),
        deploys_per_week: per(Duration::WEEK),
        lead_time,
        change_failure_rate: rate(counts.regressed, counts.judged()),
        time_to_restore,
        unrestored,
        by_size: size_buckets(&deploys),
        bands,
    }
}

fn count(deploys: &[(&ShipFact, OffsetDateTime)]) -> DeployCounts {
    let mut counts = DeployCounts::default();
    for (fact, _) in deploys {
        counts.deployments += 1;
        counts.reverts += u64::from(fact.reverts.is_some());
        match fact.verdict {
            Some(Verdict::Healthy) => counts.healthy += 1,
            Some(Verdict::Regressed) => counts.regressed += 1,
            Some(Verdict::Unknown) => counts.unknown += 1,
            None => counts.awaiting_verdict += 1,
        }
    }
    counts
}

/// `to - from`, or `None` when clock skew made it negative.
fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Option<Duration> {
    let d = to - from;
    (!d.is_negative()).then_some(d)
}

fn lead_times(deploys: &[(&ShipFact, OffsetDateTime)]) -> Vec<Duration> {
    deploys
        .iter()
        .filter(|(f, _)| f.verdict == Some(Verdict::Healthy))
        .filter_map(|&(f, deployed)| elapsed(f.first_commit_at?, deployed))
        .collect()
}

fn restores(
    deploys: &[(&ShipFact, OffsetDateTime)],
    period_end: OffsetDateTime,
) -> (Vec<Duration>, Vec<Unrestored>) {
    let mut restored = Vec::new();
    let mut unrestored = Vec::new();
    for &(fact, deployed) in deploys {
        if fact.verdict != Some(Verdict::Regressed) {
            continue;
        }
        // The verdict time is when the regression was detected; a fact
        // missing it was detected no later than its deploy.
        let regressed_at = fact.verdict_at.unwrap_or(deployed);
        match fact.restored_at.filter(|&at| at < period_end) {
            Some(at) => restored.extend(elapsed(regressed_at, at)),
            None => unrestored.push(Unrestored {
                pr: fact.pr,
                regressed_at,
                open_for: elapsed(regressed_at, period_end).unwrap_or(Duration::ZERO),
            }),
        }
    }
    (restored, unrestored)
}

fn summarise(mut samples: Vec<Duration>) -> Option<DurationSummary> {
    samples.sort_unstable();
    Some(DurationSummary {
        samples: samples.len(),
        median: duration_percentile(&samples, 0.5)?,
        p90: duration_percentile(&samples, 0.9)?,
    })
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn size_buckets(deploys: &[(&ShipFact, OffsetDateTime)]) -> Vec<SizeBucket> {
    SizeLabel::ALL
        .into_iter()
        .map(|size| {
            let in_bucket: Vec<_> = deploys
                .iter()
                .copied()
                .filter(|(f, _)| SizeLabel::for_lines(f.lines) == size)
                .collect();
            let counts = count(&in_bucket);
            let mut leads = lead_times(&in_bucket);
            leads.sort_unstable();
            SizeBucket {
                size,
                deployments: counts.deployments,
                failures: counts.regressed,
                judged: counts.judged(),
                failure_rate: rate(counts.regressed, counts.judged()),
                median_lead_time: duration_percentile(&leads, 0.5),
            }
        })
        .collect()
}
