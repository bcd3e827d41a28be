//! The web dashboard's words and numbers: each repository's four keys and rework rate
//! (DORA's fifth metric) over two periods, and its batch sizes with their failure
//! rates. The page only lays these out.
use super::bands::INSUFFICIENT_DATA;
use super::metrics::RepoMetrics;
use super::table::{percent, summary, NONE};

/// One repository's card.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoCard {
    pub repo: String,
    /// Names the two periods, for the column headers: "30 days", "90 days".
    pub periods: [String; 2],
    pub keys: Vec<KeyRow>,
    /// XS to XXL over the longer period.
    pub sizes: Vec<SizeRow>,
    /// What the size chart shows, in one sentence.
    pub sizes_caption: String,
}

/// One DORA key over both periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub key: &'static str,
    /// Value and band per period.
    pub values: [(String, &'static str); 2],
}

/// One size bucket: how many deploys, and how often they failed.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeRow {
    /// `XS` .. `XXL`.
    pub size: &'static str,
    pub deploys: u64,
    pub failures: u64,
    /// "12.5% (1 of 8 judged)", or "-" with nothing judged.
    pub failure_rate: String,
    /// Height of the bar, 0 to 1: this bucket's deploys over the largest bucket's.
    pub bar: f64,
}

/// One card per repository of the long period, from the metrics over a short and a long
/// period both ending now; `days` names the two periods. A repository that did not ship in
/// the short period has no metrics there.
pub fn repo_cards(short: &[RepoMetrics], long: &[RepoMetrics], days: [u32; 2]) -> Vec<RepoCard> {
    long.iter()
        .map(|l| repo_card(short.iter().find(|s| s.repo == l.repo), l, days))
        .collect()
}

fn repo_card(short: Option<&RepoMetrics>, long: &RepoMetrics, days: [u32; 2]) -> RepoCard {
    let both = |f: &dyn Fn(&RepoMetrics) -> (String, &'static str)| {
        let none = ("no deploys".to_owned(), INSUFFICIENT_DATA);
        [short.map_or(none, f), f(long)]
    };
    let keys = vec![
        KeyRow {
            key: "Deployment frequency",
            values: both(&|m| {
                (
                    format!(
                        "{} {} ({:.1}/week)",
                        m.counts.deployments,
                        if m.counts.deployments == 1 {
                            "deploy"
                        } else {
                            "deploys"
                        },
                        m.deploys_per_week
                    ),
                    band(m.bands.deployment_frequency.map(|b| b.label())),
                )
            }),
        },
        KeyRow {
            key: "Lead time for changes",
            values: both(&|m| {
                (
                    m.lead_time.map_or(NONE.into(), |s| {
                        let of = if s.samples == 1 {
                            "healthy deploy"
                        } else {
                            "healthy deploys"
                        };
                        summary(s, of)
                    }),
                    band(m.bands.lead_time.map(|b| b.label())),
                )
            }),
        },
        KeyRow {
            key: "Change failure rate",
            values: both(&|m| {
                (
                    m.change_failure_rate.map_or(NONE.into(), |r| {
                        format!(
                            "{} ({} of {} judged)",
                            percent(r),
                            m.counts.failed,
                            m.counts.judged()
                        )
                    }),
                    band(m.bands.change_failure_rate.map(|b| b.label())),
                )
            }),
        },
        KeyRow {
            key: "Time to restore service",
            values: both(&|m| {
                (
                    m.time_to_restore
                        .map_or(NONE.into(), |s| summary(s, "restored")),
                    band(m.bands.time_to_restore.map(|b| b.label())),
                )
            }),
        },
        KeyRow {
            key: "Rework rate",
            values: both(&|m| {
                (
                    m.rework_rate.map_or(NONE.into(), |r| {
                        format!(
                            "{} ({} of {} deploys)",
                            percent(r),
                            m.counts.rework,
                            m.counts.deployments
                        )
                    }),
                    NO_REWORK_BANDS,
                )
            }),
        },
    ];
    let most = long
        .by_size
        .iter()
        .map(|b| b.deployments)
        .max()
        .unwrap_or(0);
    let sizes = long
        .by_size
        .iter()
        .map(|b| SizeRow {
            size: b.size.name().trim_start_matches("size/"),
            deploys: b.deployments,
            failures: b.failures,
            failure_rate: b.failure_rate.map_or(NONE.into(), |r| {
                format!("{} ({} of {} judged)", percent(r), b.failures, b.judged)
            }),
            bar: if most == 0 {
                0.0
            } else {
                b.deployments as f64 / most as f64
            },
        })
        .collect();
    RepoCard {
        repo: long.repo.clone(),
        periods: days.map(|d| format!("{d} days")),
        keys,
        sizes,
        sizes_caption: format!(
            "Deploys of the last {} days by size, and how often each size failed in production",
            days[1]
        ),
    }
}

/// DORA publishes no performance bands for rework rate, its fifth metric.
const NO_REWORK_BANDS: &str = "DORA publishes no bands for it";

fn band(label: Option<&'static str>) -> &'static str {
    label.unwrap_or(INSUFFICIENT_DATA)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dora::{compute, ShipFact, Verdict, DEFAULT_FAILURE_WINDOW};
    use time::macros::datetime;

    fn shipped(repo: &str, pr: u64, lines: u64, verdict: Verdict) -> ShipFact {
        let at = datetime!(2026-11-20 12:00 UTC);
        ShipFact {
            repo: repo.into(),
            pr,
            lines,
            approvals: 1,
            first_commit_at: Some(at - time::Duration::hours(2)),
            merged_at: Some(at),
            deployed_at: Some(at),
            verdict: Some(verdict),
            verdict_at: Some(at),
            reverts: None,
            restored_at: None,
            reverted_at: None,
            rolled_back_at: None,
            rework: false,
        }
    }

    #[test]
    fn a_repository_quiet_lately_has_no_deploys_in_the_short_period() {
        let end = datetime!(2026-12-01 00:00 UTC);
        let facts = [
            shipped("o/r", 1, 5, Verdict::Healthy),
            shipped("o/r", 2, 600, Verdict::Regressed),
        ];
        let long = compute(
            &facts,
            end - time::Duration::days(90),
            end,
            DEFAULT_FAILURE_WINDOW,
        );
        let cards = repo_cards(&[], &long, [30, 90]);
        assert_eq!(cards.len(), 1);
        let card = &cards[0];
        assert_eq!(card.periods, ["30 days".to_owned(), "90 days".to_owned()]);
        let frequency = &card.keys[0].values;
        assert_eq!(frequency[0], ("no deploys".to_owned(), INSUFFICIENT_DATA));
        assert!(frequency[1].0.starts_with("2 deploys ("), "{frequency:?}");
        let rows: Vec<_> = card
            .sizes
            .iter()
            .map(|s| (s.size, s.deploys, s.failure_rate.as_str(), s.bar))
            .collect();
        assert_eq!(
            rows,
            [
                ("XS", 1, "0.0% (0 of 1 judged)", 1.0),
                ("S", 0, "-", 0.0),
                ("M", 0, "-", 0.0),
                ("L", 0, "-", 0.0),
                ("XL", 1, "100.0% (1 of 1 judged)", 1.0),
                ("XXL", 0, "-", 0.0),
            ]
        );
    }

    #[test]
    fn a_change_reverted_by_hand_counts_as_failed_and_a_rollback_redeploy_as_rework() {
        let end = datetime!(2026-12-01 00:00 UTC);
        let mut reverted = shipped("o/r", 1, 5, Verdict::Healthy);
        reverted.reverted_at = reverted.deployed_at.map(|at| at + time::Duration::hours(1));
        let mut redeploy = shipped("o/r", 2, 5, Verdict::Healthy);
        redeploy.rework = true;
        let period = |days| {
            compute(
                &[reverted.clone(), redeploy.clone()],
                end - time::Duration::days(days),
                end,
                DEFAULT_FAILURE_WINDOW,
            )
        };
        let card = &repo_cards(&period(30), &period(90), [30, 90])[0];
        let row = |key: &str| {
            card.keys
                .iter()
                .find(|k| k.key == key)
                .map(|k| k.values[1].clone())
                .unwrap()
        };
        assert_eq!(row("Change failure rate").0, "50.0% (1 of 2 judged)");
        assert_eq!(
            row("Rework rate"),
            ("50.0% (1 of 2 deploys)".to_owned(), NO_REWORK_BANDS)
        );
    }
}
