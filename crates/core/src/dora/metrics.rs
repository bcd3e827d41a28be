//! The four DORA keys per repository, and rework rate (DORA's fifth metric), derived
//! from smallbatch's own ship events (never from incidents or issue edits).
//!
//! Counting rules:
//! - A ship is a deployment when it has `deployed_at` inside
//!   `[period_start, period_end)`. Reverts are deployments too: they changed
//!   production. A ship whose merge failed never deployed and counts nowhere.
//! - A deployment failed when it regressed, or was rolled back or reverted within
//!   the failure window after it deployed (a revert made by hand counts: what
//!   happened, not only what telemetry said), and before the period's end. It
//!   counts once, however many of these happened to it.
//! - Change failure rate is failed / judged, where judged = failed + healthy (and
//!   not failed later). `Unknown` verdicts (telemetry unreachable) and deploys
//!   still being watched that did not fail count toward frequency but not toward
//!   the rate: nobody knows whether they failed.
//! - Rework rate is rework / deployments: the unplanned deployments made to fix a
//!   failure (reverts, rollbacks) among all.
//! - Lead time is `deployed_at - first_commit_at` over healthy deploys that did
//!   not fail later, reverts included (their lead time is how fast the pipeline restores).
//! - Time to restore is `restored_at - verdict_at` over regressed deploys, and
//!   `restored_at - rolled_back_at` over deploys failed by a rollback;
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
    /// `counts.failed / counts.judged()`; `None` when nothing was judged.
    pub change_failure_rate: Option<f64>,
    /// `counts.rework / counts.deployments`; `None` without deployments.
    pub rework_rate: Option<f64>,
    /// Over regressed deploys restored within the period (a revert shipped and
    /// judged healthy); those reverted or rolled back otherwise have no time known.
    pub time_to_restore: Option<DurationSummary>,
    /// Regressed deploys not restored by `period_end`, oldest first.
    pub unrestored: Vec<Unrestored>,
    /// One bucket per size label, XS to XXL, empty ones included.
    pub by_size: Vec<SizeBucket>,
    pub bands: Bands,
}

/// Deployments in the period by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeployCounts {
    pub deployments: u64,
    /// Judged healthy, and not rolled back or reverted within the failure window.
    pub healthy: u64,
    /// Regressed, rolled back or reverted within the failure window; each once.
    pub failed: u64,
    /// The failed whose telemetry regressed.
    pub regressed: u64,
    /// The failed that were reverted within the failure window without regressing.
    pub reverted: u64,
    /// The failed that were rolled back within the failure window without regressing
    /// or being reverted first.
    pub rolled_back: u64,
    /// Telemetry unreachable: deployed but unjudged (and not failed).
    pub unknown: u64,
    /// Deployed, verdict not in yet (and not failed).
    pub awaiting_verdict: u64,
    /// Deployments that were reverts.
    pub reverts: u64,
    /// Unplanned deployments to fix a failure: reverts and rollbacks.
    pub rework: u64,
}

impl DeployCounts {
    /// The change failure rate's denominator.
    pub fn judged(&self) -> u64 {
        self.healthy + self.failed
    }
}

/// What became of one deployment, as of the period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Regressed,
    Reverted,
    RolledBack,
    Healthy,
    Unknown,
    Awaiting,
}

impl Outcome {
    fn of(fact: &ShipFact, deployed: OffsetDateTime, window: Window) -> Self {
        // Within the window after the deploy, and known by the end of the period.
        let within = |at: Option<OffsetDateTime>| {
            at.is_some_and(|at| at >= deployed && at - deployed <= window.length && at < window.end)
        };
        if fact.verdict == Some(Verdict::Regressed) {
            Outcome::Regressed
        } else if within(fact.reverted_at) {
            Outcome::Reverted
        } else if within(fact.rolled_back_at) {
            Outcome::RolledBack
        } else {
            match fact.verdict {
                Some(Verdict::Healthy) => Outcome::Healthy,
                Some(Verdict::Unknown) => Outcome::Unknown,
                Some(Verdict::Regressed) | None => Outcome::Awaiting,
            }
        }
    }

    fn failed(self) -> bool {
        matches!(
            self,
            Outcome::Regressed | Outcome::Reverted | Outcome::RolledBack
        )
    }
}

/// How long after a deploy a revert or rollback still makes it a failure, and the
/// period's end, after which nothing is known yet.
#[derive(Debug, Clone, Copy)]
struct Window {
    length: Duration,
    end: OffsetDateTime,
}

/// `dora.failure_window`'s default: a day, long enough for a problem that shows
/// with the next day's traffic, short enough that a revert weeks later for other
/// reasons does not count.
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::DAY;

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
/// `failure_window`: how long after a deploy a revert or rollback makes it failed.
pub fn compute(
    facts: &[ShipFact],
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
    failure_window: Duration,
) -> Vec<RepoMetrics> {
    let mut by_repo: BTreeMap<&str, Vec<&ShipFact>> = BTreeMap::new();
    for fact in facts {
        by_repo.entry(&fact.repo).or_default().push(fact);
    }
    let window = Window {
        length: failure_window,
        end: period_end,
    };
    by_repo
        .into_iter()
        .map(|(repo, facts)| repo_metrics(repo, &facts, period_start, window))
        .collect()
}

/// A deployment in the period: its fact, when it deployed, and what became of it.
type Deploy<'a> = (&'a ShipFact, OffsetDateTime, Outcome);

fn repo_metrics(
    repo: &str,
    facts: &[&ShipFact],
    period_start: OffsetDateTime,
    window: Window,
) -> RepoMetrics {
    let period_end = window.end;
    let deploys: Vec<Deploy> = facts
        .iter()
        .filter_map(|&f| Some((f, f.deployed_at?)))
        .filter(|&(_, at)| period_start <= at && at < period_end)
        .map(|(f, at)| (f, at, Outcome::of(f, at, window)))
        .collect();

    let counts = count(&deploys);
    let lead_times = lead_times(&deploys);
    let (restore_times, mut unrestored) = restores(&deploys, period_end);
    unrestored.sort_by_key(|u| (u.regressed_at, u.pr));

    let deploy_times: Vec<OffsetDateTime> = deploys.iter().map(|&(_, at, _)| at).collect();
    let lead_time = summarise(lead_times);
    let time_to_restore = summarise(restore_times);
    let bands = Bands {
        deployment_frequency: FrequencyBand::classify(&deploy_times, period_start, period_end),
        lead_time: lead_time.map(|s| DurationBand::classify(s.median)),
        change_failure_rate: FailureRateBand::classify(counts.failed, counts.judged()),
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
        change_failure_rate: rate(counts.failed, counts.judged()),
        rework_rate: rate(counts.rework, counts.deployments),
        time_to_restore,
        unrestored,
        by_size: size_buckets(&deploys),
        bands,
    }
}

fn count(deploys: &[Deploy]) -> DeployCounts {
    let mut counts = DeployCounts::default();
    for &(fact, _, outcome) in deploys {
        counts.deployments += 1;
        counts.reverts += u64::from(fact.reverts.is_some());
        counts.rework += u64::from(fact.rework);
        counts.failed += u64::from(outcome.failed());
        match outcome {
            Outcome::Regressed => counts.regressed += 1,
            Outcome::Reverted => counts.reverted += 1,
            Outcome::RolledBack => counts.rolled_back += 1,
            Outcome::Healthy => counts.healthy += 1,
            Outcome::Unknown => counts.unknown += 1,
            Outcome::Awaiting => counts.awaiting_verdict += 1,
        }
    }
    counts
}

/// `to - from`, or `None` when clock skew made it negative.
fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Option<Duration> {
    let d = to - from;
    (!d.is_negative()).then_some(d)
}

fn lead_times(deploys: &[Deploy]) -> Vec<Duration> {
    deploys
        .iter()
        .filter(|(_, _, outcome)| *outcome == Outcome::Healthy)
        .filter_map(|&(f, deployed, _)| elapsed(f.first_commit_at?, deployed))
        .collect()
}

fn restores(deploys: &[Deploy], period_end: OffsetDateTime) -> (Vec<Duration>, Vec<Unrestored>) {
    let mut restored = Vec::new();
    let mut unrestored = Vec::new();
    for &(fact, deployed, outcome) in deploys {
        // From when the regression was detected, or the deploy rolled back by hand; a
        // fact missing the time had it no later than its deploy.
        let regressed_at = match outcome {
            Outcome::Regressed => fact.verdict_at,
            Outcome::RolledBack => fact.rolled_back_at,
            _ => continue,
        }
        .unwrap_or(deployed);
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

fn size_buckets(deploys: &[Deploy]) -> Vec<SizeBucket> {
    SizeLabel::ALL
        .into_iter()
        .map(|size| {
            let in_bucket: Vec<_> = deploys
                .iter()
                .copied()
                .filter(|(f, _, _)| SizeLabel::for_lines(f.lines) == size)
                .collect();
            let counts = count(&in_bucket);
            let mut leads = lead_times(&in_bucket);
            leads.sort_unstable();
            SizeBucket {
                size,
                deployments: counts.deployments,
                failures: counts.failed,
                judged: counts.judged(),
                failure_rate: rate(counts.failed, counts.judged()),
                median_lead_time: duration_percentile(&leads, 0.5),
            }
        })
        .collect()
}
