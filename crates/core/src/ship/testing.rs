//! Ship records for the core's own tests.
use super::record::{MetricLine, MetricStatus, ReadingRecord, ShipRecord, Stage, Watch};
use crate::domain::{CommitSha, InstallationId, PrNumber, PrRef, RepoRef};

pub fn line(name: &str, value: f64, status: MetricStatus, detail: Option<&str>) -> MetricLine {
    MetricLine {
        name: name.into(),
        bound: if name == "error rate" {
            "max 0.01".into()
        } else {
            "at most 1.5× the pre-deploy 0.12".into()
        },
        value: Some(value),
        status,
        detail: detail.map(Into::into),
    }
}

/// Ship 3 of PR 7 in `stage`: deployed at 2 ms, three rounds read, the last one a
/// regression of the error rate (2 breaching readings in a row).
pub fn record(stage: Stage) -> ShipRecord {
    let ok = |check: u32, value: f64| ReadingRecord {
        at_ms: 2 + i64::from(check) * 60_000,
        check,
        rollback: false,
        line: line("error rate", value, MetricStatus::Healthy, None),
        limit: Some(0.01),
    };
    let p99 = |check: u32| ReadingRecord {
        at_ms: 2 + i64::from(check) * 60_000,
        check,
        rollback: false,
        line: line("p99 latency", 0.13, MetricStatus::Healthy, None),
        limit: Some(0.18),
    };
    let breach = |check: u32, status: MetricStatus, n: u32| ReadingRecord {
        at_ms: 2 + i64::from(check) * 60_000,
        check,
        rollback: false,
        line: line(
            "error rate",
            0.034,
            status,
            Some(&format!(
                "0.034 over max 0.01 (3.4×), {n} of 2 readings in a row"
            )),
        ),
        limit: Some(0.01),
    };
    let last_check = vec![breach(3, MetricStatus::Regressed, 2).line, p99(3).line];
    ShipRecord {
        pr: PrRef {
            repo: RepoRef::github("o/r", InstallationId(1)),
            number: PrNumber(7),
        },
        base_ref: "main".into(),
        title: "Add invoices".into(),
        head_sha: CommitSha::new("a".repeat(40)),
        environment: "production".into(),
        requested_by: "alice".into(),
        author: "alice".into(),
        reviewers: vec!["bob".into()],
        lines: 120,
        approvals: 1,
        first_commit_at_ms: None,
        requested_at_ms: 0,
        stage,
        merge_sha: Some(CommitSha::new("b".repeat(40))),
        merged_at_ms: Some(1),
        deployment_id: Some(9),
        watch: Watch {
            deployed_at_ms: Some(2),
            watch_until_ms: Some(900_002),
            baselines: vec![Some(0.002), Some(0.12)],
            last_check,
            checks_done: 3,
            breaches: vec![2, 0],
            conclusive: vec![3, 3],
            readings: vec![
                ok(1, 0.002),
                p99(1),
                breach(2, MetricStatus::Breaching, 1),
                p99(2),
                breach(3, MetricStatus::Regressed, 2),
                p99(3),
            ],
            ..Watch::default()
        },
        deployment_marked_failed: true,
        deployment_mark_refused: None,
        deployment_mark_error: false,
        rollback: None,
        revert_due: false,
        revert_error: false,
        verdict_at_ms: Some(180_002),
        comment_id: Some(5),
        revert_pr: Some(8),
        reverts_ship: None,
        restored_at_ms: None,
        failure: None,
        order_override: None,
        rehearsal: false,
        reverted: None,
    }
}
