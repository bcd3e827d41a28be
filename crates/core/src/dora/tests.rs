//! The whole module against one hand-computed ship history.
//!
//! Period: 2024-03-01 00:00 UTC to 2024-03-11 00:00 UTC (10 days).
//!
//! acme/api
//!   #101  8 lines (XS)   healthy;   commit 03-01 09:00 → deploy 12:20  lead 3 h 20 min
//!   #102  250 lines (L)  regressed at 03-02 16:15, restored 16:55      restore 40 min
//!   #103  revert of #102, 250 lines (L), healthy; commit 16:25 → deploy 16:45  lead 20 min
//!   #104  40 lines (M)   unknown verdict (telemetry unreachable)
//!   #105  1200 lines (XXL) regressed at 03-08 10:00, never restored
//!   #106  20 lines (S)   merge failed: never deployed
//! acme/web
//!   #7    12 lines (S)   healthy;   commit 03-03 10:00 → deploy 03-04 10:00  lead 24 h
//!   #8    60 lines (M)   healthy;   commit 03-09 08:00 → deploy 10:00        lead 2 h
//!   #9    700 lines (XL) regressed at 03-10 20:30, restored 03-11 01:00 (after the period)
//!   #10   revert of #9, deployed 03-11 00:45: after the period, not counted
//!   #11   3 lines (XS)   deployed 03-10 23:30, verdict not in yet
//! acme/legacy
//!   #1    deployed 02-20, before the period
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::policy::SizeLabel;

const START: OffsetDateTime = datetime!(2024-03-01 00:00 UTC);
const END: OffsetDateTime = datetime!(2024-03-11 00:00 UTC);

struct Ship {
    fact: ShipFact,
}

impl Ship {
    fn new(repo: &str, pr: u64, lines: u64, first_commit_at: OffsetDateTime) -> Self {
        Ship {
            fact: ShipFact {
                repo: repo.to_owned(),
                pr,
                lines,
                approvals: 1,
                first_commit_at: Some(first_commit_at),
                merged_at: None,
                deployed_at: None,
                verdict: None,
                verdict_at: None,
                reverts: None,
                restored_at: None,
                reverted_at: None,
                rolled_back_at: None,
                rework: false,
            },
        }
    }

    fn deployed(mut self, merged_at: OffsetDateTime, deployed_at: OffsetDateTime) -> Self {
        self.fact.merged_at = Some(merged_at);
        self.fact.deployed_at = Some(deployed_at);
        self
    }

    fn judged(mut self, verdict: Verdict, at: OffsetDateTime) -> ShipFact {
        self.fact.verdict = Some(verdict);
        self.fact.verdict_at = Some(at);
        self.fact
    }

    fn reverts(mut self, pr: u64) -> Self {
        self.fact.reverts = Some(pr);
        self.fact.rework = true;
        self
    }
}

fn restored(mut fact: ShipFact, at: OffsetDateTime) -> ShipFact {
    fact.restored_at = Some(at);
    fact
}

/// Deliberately out of repo order: `compute` sorts.
fn history() -> Vec<ShipFact> {
    use Verdict::*;
    vec![
        Ship::new("acme/web", 7, 12, datetime!(2024-03-03 10:00 UTC))
            .deployed(
                datetime!(2024-03-04 09:30 UTC),
                datetime!(2024-03-04 10:00 UTC),
            )
            .judged(Healthy, datetime!(2024-03-04 10:15 UTC)),
        Ship::new("acme/api", 101, 8, datetime!(2024-03-01 09:00 UTC))
            .deployed(
                datetime!(2024-03-01 11:00 UTC),
                datetime!(2024-03-01 12:20 UTC),
            )
            .judged(Healthy, datetime!(2024-03-01 12:35 UTC)),
        restored(
            Ship::new("acme/api", 102, 250, datetime!(2024-03-02 08:00 UTC))
                .deployed(
                    datetime!(2024-03-02 15:00 UTC),
                    datetime!(2024-03-02 16:00 UTC),
                )
                .judged(Regressed, datetime!(2024-03-02 16:15 UTC)),
            datetime!(2024-03-02 16:55 UTC),
        ),
        Ship::new("acme/api", 103, 250, datetime!(2024-03-02 16:25 UTC))
            .reverts(102)
            .deployed(
                datetime!(2024-03-02 16:30 UTC),
                datetime!(2024-03-02 16:45 UTC),
            )
            .judged(Healthy, datetime!(2024-03-02 16:55 UTC)),
        Ship::new("acme/api", 104, 40, datetime!(2024-03-05 10:00 UTC))
            .deployed(
                datetime!(2024-03-06 10:00 UTC),
                datetime!(2024-03-06 11:00 UTC),
            )
            .judged(Unknown, datetime!(2024-03-06 11:30 UTC)),
        Ship::new("acme/api", 105, 1200, datetime!(2024-03-07 09:00 UTC))
            .deployed(
                datetime!(2024-03-08 08:30 UTC),
                datetime!(2024-03-08 09:00 UTC),
            )
            .judged(Regressed, datetime!(2024-03-08 10:00 UTC)),
        Ship::new("acme/api", 106, 20, datetime!(2024-03-09 09:00 UTC)).fact,
        Ship::new("acme/web", 8, 60, datetime!(2024-03-09 08:00 UTC))
            .deployed(
                datetime!(2024-03-09 09:45 UTC),
                datetime!(2024-03-09 10:00 UTC),
            )
            .judged(Healthy, datetime!(2024-03-09 10:10 UTC)),
        restored(
            Ship::new("acme/web", 9, 700, datetime!(2024-03-10 12:00 UTC))
                .deployed(
                    datetime!(2024-03-10 19:45 UTC),
                    datetime!(2024-03-10 20:00 UTC),
                )
                .judged(Regressed, datetime!(2024-03-10 20:30 UTC)),
            datetime!(2024-03-11 01:00 UTC),
        ),
        Ship::new("acme/web", 10, 700, datetime!(2024-03-10 20:35 UTC))
            .reverts(9)
            .deployed(
                datetime!(2024-03-11 00:30 UTC),
                datetime!(2024-03-11 00:45 UTC),
            )
            .judged(Healthy, datetime!(2024-03-11 01:00 UTC)),
        Ship::new("acme/web", 11, 3, datetime!(2024-03-10 22:00 UTC))
            .deployed(
                datetime!(2024-03-10 23:00 UTC),
                datetime!(2024-03-10 23:30 UTC),
            )
            .fact,
        Ship::new("acme/legacy", 1, 5, datetime!(2024-02-19 10:00 UTC))
            .deployed(
                datetime!(2024-02-20 09:00 UTC),
                datetime!(2024-02-20 10:00 UTC),
            )
            .judged(Healthy, datetime!(2024-02-20 10:30 UTC)),
    ]
}

fn report() -> Vec<RepoMetrics> {
    compute(&history(), START, END, DEFAULT_FAILURE_WINDOW)
}

fn repo<'a>(metrics: &'a [RepoMetrics], name: &str) -> &'a RepoMetrics {
    metrics
        .iter()
        .find(|m| m.repo == name)
        .expect("repo in report")
}

fn summary(samples: usize, median: Duration, p90: Duration) -> Option<DurationSummary> {
    Some(DurationSummary {
        samples,
        median,
        p90,
    })
}

#[test]
fn one_entry_per_repo_sorted_by_name() {
    let names: Vec<_> = report().into_iter().map(|m| m.repo).collect();
    assert_eq!(names, ["acme/api", "acme/legacy", "acme/web"]);
}

#[test]
fn api_keys_match_the_hand_computed_history() {
    let metrics = report();
    let api = repo(&metrics, "acme/api");

    // #101-#105 deployed (#103 is a revert, still a deploy); #106 never did.
    assert_eq!(
        api.counts,
        DeployCounts {
            deployments: 5,
            healthy: 2,   // #101, #103
            failed: 2,    // #102, #105
            regressed: 2, // #102, #105
            reverted: 0,
            rolled_back: 0,
            unknown: 1, // #104
            awaiting_verdict: 0,
            reverts: 1, // #103
            rework: 1,  // #103
        }
    );
    assert_eq!(api.deploys_per_day, 0.5); // 5 / 10 days
    assert_eq!(api.deploys_per_week, 3.5); // 5 × 7 / 10
                                           // Healthy lead times sorted: [20 min (#103), 200 min (#101)];
                                           // median (20 + 200) / 2 = 110 min; p90 20 + 0.9 × 180 = 182 min.
    assert_eq!(
        api.lead_time,
        summary(2, Duration::minutes(110), Duration::minutes(182))
    );
    // 2 regressed of 4 judged (#104's unknown verdict is not in the denominator).
    assert_eq!(api.change_failure_rate, Some(0.5));
    // #103, the revert of #102, was unplanned: 1 of 5 deploys.
    assert_eq!(api.rework_rate, Some(0.2));
    // #102: regressed 16:15, restored 16:55.
    assert_eq!(
        api.time_to_restore,
        summary(1, Duration::minutes(40), Duration::minutes(40))
    );
    // #105: regressed 03-08 10:00, still open at 03-11 00:00 = 2 d 14 h.
    assert_eq!(
        api.unrestored,
        [Unrestored {
            pr: 105,
            regressed_at: datetime!(2024-03-08 10:00 UTC),
            open_for: Duration::hours(62),
        }]
    );
    assert_eq!(
        api.bands,
        Bands {
            // Deploy days 0, 1, 1, 5 | 7 → days per week [3, 1], median 2 < 3;
            // both weeks deployed → Weekly.
            deployment_frequency: Some(FrequencyBand::Weekly),
            lead_time: Some(DurationBand::OneDay), // 110 min < 24 h
            change_failure_rate: Some(FailureRateBand::Above45), // 50% ≥ 46%
            time_to_restore: Some(DurationBand::OneDay), // 40 min < 24 h
        }
    );
}

#[test]
fn api_batch_size_table() {
    let metrics = report();
    let api = repo(&metrics, "acme/api");
    let row = |size, deployments, failures, judged, failure_rate, lead: Option<i64>| SizeBucket {
        size,
        deployments,
        failures,
        judged,
        failure_rate,
        median_lead_time: lead.map(Duration::minutes),
    };
    let expected = [
        row(SizeLabel::XS, 1, 0, 1, Some(0.0), Some(200)), // #101
        row(SizeLabel::S, 0, 0, 0, None, None),            // #106 never deployed
        row(SizeLabel::M, 1, 0, 0, None, None),            // #104, unjudged
        row(SizeLabel::L, 2, 1, 2, Some(0.5), Some(20)),   // #102 failed, #103 revert 20 min
        row(SizeLabel::XL, 0, 0, 0, None, None),
        row(SizeLabel::XXL, 1, 1, 1, Some(1.0), None), // #105
    ];
    assert_eq!(api.by_size, expected);
}

#[test]
fn web_keys_match_the_hand_computed_history() {
    let metrics = report();
    let web = repo(&metrics, "acme/web");

    // #7, #8, #9, #11 in the period; #10 deployed after it ended.
    assert_eq!(
        web.counts,
        DeployCounts {
            deployments: 4,
            healthy: 2,   // #7, #8
            failed: 1,    // #9
            regressed: 1, // #9
            reverted: 0,
            rolled_back: 0,
            unknown: 0,
            awaiting_verdict: 1, // #11
            reverts: 0,
            rework: 0,
        }
    );
    assert_eq!(web.deploys_per_day, 0.4); // 4 / 10
    assert_eq!(web.deploys_per_week, 2.8); // 4 × 7 / 10
                                           // Lead times [2 h, 24 h]: median 13 h; p90 2 h + 0.9 × 22 h = 21 h 48 min.
    assert_eq!(
        web.lead_time,
        summary(2, Duration::hours(13), Duration::minutes(21 * 60 + 48))
    );
    assert_eq!(web.change_failure_rate, Some(1.0 / 3.0)); // 1 of 3 judged
                                                          // #9 was restored at 01:00, after the period: unrestored as of 03-11 00:00.
    assert_eq!(web.time_to_restore, None);
    assert_eq!(
        web.unrestored,
        [Unrestored {
            pr: 9,
            regressed_at: datetime!(2024-03-10 20:30 UTC),
            open_for: Duration::minutes(210), // 3 h 30 min
        }]
    );
    assert_eq!(
        web.bands,
        Bands {
            // Deploy days 3 | 8, 9, 9 → [1, 2]: Weekly.
            deployment_frequency: Some(FrequencyBand::Weekly),
            lead_time: Some(DurationBand::OneDay), // 13 h
            change_failure_rate: Some(FailureRateBand::From16To45), // 33.3%
            time_to_restore: None,
        }
    );
    let deploys_failures: Vec<_> = web
        .by_size
        .iter()
        .map(|b| {
            (
                b.deployments,
                b.failures,
                b.failure_rate,
                b.median_lead_time,
            )
        })
        .collect();
    assert_eq!(
        deploys_failures,
        [
            (1, 0, None, None),                           // XS: #11, awaiting verdict
            (1, 0, Some(0.0), Some(Duration::hours(24))), // S: #7
            (1, 0, Some(0.0), Some(Duration::hours(2))),  // M: #8
            (0, 0, None, None),                           // L
            (1, 1, Some(1.0), None),                      // XL: #9 (revert #10 outside)
            (0, 0, None, None),                           // XXL
        ]
    );
}

#[test]
fn a_repo_without_deploys_in_the_period_has_insufficient_data() {
    let metrics = report();
    let legacy = repo(&metrics, "acme/legacy");
    assert_eq!(legacy.counts, DeployCounts::default());
    assert_eq!(legacy.deploys_per_day, 0.0);
    assert_eq!(legacy.lead_time, None);
    assert_eq!(legacy.change_failure_rate, None);
    assert_eq!(legacy.rework_rate, None);
    assert_eq!(legacy.time_to_restore, None);
    assert!(legacy.unrestored.is_empty());
    assert!(legacy.by_size.iter().all(|b| b.deployments == 0));
    assert_eq!(
        legacy.bands,
        Bands {
            deployment_frequency: None,
            lead_time: None,
            change_failure_rate: None,
            time_to_restore: None,
        }
    );
}

#[test]
fn negative_lead_times_from_clock_skew_are_dropped() {
    let skewed = Ship::new("r", 1, 5, datetime!(2024-03-02 12:00 UTC))
        .deployed(
            datetime!(2024-03-02 10:00 UTC),
            datetime!(2024-03-02 11:00 UTC),
        )
        .judged(Verdict::Healthy, datetime!(2024-03-02 11:10 UTC));
    let metrics = compute(&[skewed], START, END, DEFAULT_FAILURE_WINDOW);
    assert_eq!(metrics[0].counts.deployments, 1);
    assert_eq!(metrics[0].lead_time, None);
}

#[test]
fn the_period_includes_its_start_and_excludes_its_end() {
    let at = |pr, deployed_at| {
        Ship::new("r", pr, 5, START - Duration::hours(1))
            .deployed(deployed_at, deployed_at)
            .judged(Verdict::Healthy, deployed_at)
    };
    let metrics = compute(
        &[at(1, START), at(2, END)],
        START,
        END,
        DEFAULT_FAILURE_WINDOW,
    );
    assert_eq!(metrics[0].counts.deployments, 1);
}

/// One deployment of `pr` to acme/ops on 03-02 at 10:00, judged at 10:15.
fn deploy(pr: u64, verdict: Option<Verdict>) -> ShipFact {
    let deployed = datetime!(2024-03-02 10:00 UTC);
    let mut fact = Ship::new("acme/ops", pr, 30, deployed - Duration::hours(2))
        .deployed(deployed - Duration::minutes(10), deployed)
        .fact;
    fact.verdict = verdict;
    fact.verdict_at = verdict.map(|_| deployed + Duration::minutes(15));
    fact
}

fn after(fact: &ShipFact, hours: i64) -> Option<OffsetDateTime> {
    Some(fact.deployed_at.unwrap() + Duration::hours(hours))
}

#[test]
fn a_deploy_reverted_or_rolled_back_within_the_window_failed_once() {
    use Verdict::*;
    let mut reverted_by_hand = deploy(1, Some(Healthy));
    reverted_by_hand.reverted_at = after(&reverted_by_hand, 20);
    let mut reverted_too_late = deploy(2, Some(Healthy));
    reverted_too_late.reverted_at = after(&reverted_too_late, 25);
    let mut regressed_and_reverted = deploy(3, Some(Regressed));
    regressed_and_reverted.reverted_at = after(&regressed_and_reverted, 1);
    let mut rolled_back = deploy(4, Some(Unknown));
    rolled_back.rolled_back_at = after(&rolled_back, 0);
    let mut still_watching_but_reverted = deploy(5, None);
    still_watching_but_reverted.reverted_at = after(&still_watching_but_reverted, 0);
    let mut revert = deploy(6, Some(Healthy));
    revert.reverts = Some(1);
    revert.rework = true;
    let facts = [
        reverted_by_hand,
        reverted_too_late,
        regressed_and_reverted,
        rolled_back,
        still_watching_but_reverted,
        revert,
    ];
    let metrics = compute(&facts, START, END, DEFAULT_FAILURE_WINDOW);
    let ops = repo(&metrics, "acme/ops");
    assert_eq!(
        ops.counts,
        DeployCounts {
            deployments: 6,
            healthy: 2, // #2 (reverted after the window), #6
            failed: 4,  // #1, #3 (once, though it also was reverted), #4, #5
            regressed: 1,
            reverted: 2,
            rolled_back: 1,
            unknown: 0,
            awaiting_verdict: 0,
            reverts: 1,
            rework: 1,
        }
    );
    assert_eq!(ops.change_failure_rate, Some(4.0 / 6.0));
    assert_eq!(ops.rework_rate, Some(1.0 / 6.0));
    // The failed healthy deploy leaves lead time: #2 and #6 remain.
    assert_eq!(ops.lead_time.map(|s| s.samples), Some(2));
    // A longer window takes #2 in too.
    let wider = compute(&facts, START, END, Duration::hours(48));
    assert_eq!(wider[0].counts.failed, 5);
}

#[test]
fn a_revert_after_the_period_is_not_known_yet() {
    let mut late = deploy(1, Some(Verdict::Healthy));
    late.reverted_at = after(&late, 2);
    let end = late.deployed_at.unwrap() + Duration::hours(1);
    let metrics = compute(&[late.clone()], START, end, DEFAULT_FAILURE_WINDOW);
    assert_eq!(
        (metrics[0].counts.healthy, metrics[0].counts.failed),
        (1, 0)
    );
    let metrics = compute(&[late], START, END, DEFAULT_FAILURE_WINDOW);
    assert_eq!(
        (metrics[0].counts.healthy, metrics[0].counts.failed),
        (0, 1)
    );
}

#[test]
fn a_reverted_deploy_shows_in_the_table_and_the_exposition() {
    let mut reverted = deploy(1, Some(Verdict::Healthy));
    reverted.reverted_at = after(&reverted, 3);
    let metrics = compute(&[reverted], START, END, DEFAULT_FAILURE_WINDOW);
    let table = render_table(&metrics);
    assert!(
        table.contains("  change failure rate   100.0% (1 of 1 judged)"),
        "{table}"
    );
    assert!(
        table.contains(
            "  failed: 0 regressed, 1 reverted, 0 rolled back (within the failure window)\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("  rework rate           0.0% (0 of 1 deploys)"),
        "{table}"
    );
    let text = render_prometheus(&metrics);
    assert!(
        text.contains("smallbatch_failed_deployments{repo=\"acme/ops\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("smallbatch_rework_ratio{repo=\"acme/ops\"} 0\n"),
        "{text}"
    );
}

#[test]
fn renders_the_report_table() {
    insta::assert_snapshot!("report_table", render_table(&report()));
}

#[test]
fn renders_prometheus_text() {
    insta::assert_snapshot!("prometheus", render_prometheus(&report()));
}

#[test]
fn every_prometheus_line_is_a_comment_or_a_sample() {
    let mut facts = history();
    facts[0].repo = "we\"ird\\repo\nname".to_owned();
    let text = render_prometheus(&compute(&facts, START, END, DEFAULT_FAILURE_WINDOW));
    assert!(text.contains(r#"smallbatch_deployments{repo="we\"ird\\repo\nname"} 1"#));
    for line in text.lines() {
        assert!(
            is_comment(line) || is_sample(line),
            "not exposition format 0.0.4: {line:?}"
        );
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_comment(line: &str) -> bool {
    let mut words = line.splitn(4, ' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("#"), Some("HELP"), Some(name), Some(_)) => is_metric_name(name),
        (Some("#"), Some("TYPE"), Some(name), Some(kind)) => {
            is_metric_name(name)
                && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
        }
        _ => false,
    }
}

/// `name{label="value",...} number`, values with only the three escapes.
fn is_sample(line: &str) -> bool {
    let Some((name, rest)) = line.split_once('{') else {
        return false;
    };
    let mut rest = rest;
    loop {
        let Some((label, after)) = rest.split_once("=\"") else {
            return false;
        };
        if !is_metric_name(label) || label.contains(':') {
            return false;
        }
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\' | '"' | 'n')) => {}
                    _ => return false,
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) | None => return false,
                Some(_) => {}
            }
        };
        rest = &after[end + 1..];
        if let Some(next) = rest.strip_prefix(',') {
            rest = next;
            continue;
        }
        let Some(value) = rest.strip_prefix("} ") else {
            return false;
        };
        return is_metric_name(name)
            && (["NaN", "+Inf", "-Inf"].contains(&value) || value.parse::<f64>().is_ok());
    }
}
