//! The one shipping comment, rendered from the record at every stage and edited in
//! place: the checklist, the verdict, the rollback, and the readings it rests on.
use super::record::{
    MetricLine, MetricStatus, ReadingRecord, Rollback, RollbackStage, ShipRecord, Stage,
};
use super::text::{cc, change_ref, minutes, owners, short};
use crate::domain::ForgeKind;
use std::fmt::Write;

/// What the comment needs of the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watching {
    pub watch_ms: i64,
    pub interval_ms: i64,
    /// Metrics configured.
    pub metrics: usize,
}

/// When the forge would not open the revert.
const REVERT_ERROR: &str = "The revert could not be opened; the details are in smallbatch's log.";

/// Readings shown, the newest: enough to see a run of breaches and the recovery; the
/// record keeps more.
const READINGS_SHOWN: usize = 12;

/// The shipping comment for ship `id` in its current stage.
pub fn shipping_comment(id: i64, ship: &ShipRecord, policy: &Watching) -> String {
    let mut out = format!(
        "{}\n## Shipping `{}` to **{}**\n\nRequested by @{}.\n\n",
        super::text::marker(id),
        short(ship.head_sha.as_str()),
        ship.environment,
        ship.requested_by
    );
    if let Some(skip) = &ship.order_override {
        let skipped: Vec<String> = skip.skipped.iter().map(|e| format!("**{e}**")).collect();
        let _ = writeln!(
            out,
            "Out of order: @{} skipped {} ({}).\n",
            skip.by,
            skipped.join(", "),
            skip.reason
        );
    }
    let merged = ship
        .merge_sha
        .as_ref()
        .map(|s| format!("Merged as `{}`", short(s.as_str())));
    let deployed = ship.watch.deployed_at_ms.is_some();
    out.push_str(&step(true, "Gate, checks and mergeability verified"));
    out.push_str(&step(
        merged.is_some(),
        merged.as_deref().unwrap_or("Merge"),
    ));
    out.push_str(&step(deployed, &format!("Deploy to {}", ship.environment)));
    out.push_str(&step(
        ship.stage.finished() && deployed,
        &format!("Watch production for {}", minutes(policy.watch_ms)),
    ));
    out.push('\n');
    match ship.stage {
        Stage::Merging => out.push_str("Merging…\n"),
        Stage::Merged => out.push_str("Merged. Starting the deployment…\n"),
        Stage::Deploying => out.push_str("Waiting for the deployment to report.\n"),
        Stage::Watching => {
            let n = ship.watch.checks_done;
            let _ = writeln!(
                out,
                "Deployed. Watching production ({n} check{} so far):\n",
                plural(n)
            );
            out.push_str(&readings(ship, policy));
        }
        Stage::Healthy => {
            out.push_str("### ✅ Operating as designed\n\nEvery metric stayed within its bound for the whole watch.\n\n");
            out.push_str(&readings(ship, policy));
        }
        Stage::Regressed => regressed(&mut out, ship, policy),
        Stage::Unverified => {
            let why = if no_readings(ship) && policy.metrics == 0 {
                "No metrics are configured (`ship.metrics`), so production was not watched"
            } else {
                "Production telemetry could not be read during the watch"
            };
            let _ = writeln!(
                out,
                "### ⚠️ Not verified\n\n{why}, so this change is **not** known to be healthy. \
                 Nothing was rolled back: look at production, and comment `/rollback` if it \
                 is not right.\n"
            );
            out.push_str(&readings(ship, policy));
            let _ = writeln!(out, "\n{}", cc(owners(ship)));
        }
        Stage::Inconclusive => {
            out.push_str(
                "### ⚠️ Inconclusive\n\nToo little data came in during the watch to call this \
                 change healthy, so it is **not** known to be. Nothing was rolled back: look at \
                 production, and comment `/rollback` if it is not right.\n\n",
            );
            out.push_str(&readings(ship, policy));
            let _ = writeln!(out, "\n{}", cc(owners(ship)));
        }
        Stage::DeployFailed => {
            let _ = writeln!(
                out,
                "### ❌ The deployment failed\n\n{}\n\nThe change is merged into `{}` but is not \
                 running in **{}**.\n\n{}",
                ship.failure
                    .as_deref()
                    .unwrap_or("The deployment did not succeed."),
                ship.base_ref,
                ship.environment,
                cc(owners(ship))
            );
        }
        Stage::MergeFailed => {
            let _ = writeln!(
                out,
                "### ❌ Not merged\n\n{}",
                ship.failure.as_deref().unwrap_or("The merge was refused.")
            );
        }
    }
    out
}

fn regressed(out: &mut String, ship: &ShipRecord, policy: &Watching) {
    out.push_str("### 🔴 Regressed\n\n");
    let failed: Vec<&MetricLine> = ship
        .watch
        .last_check
        .iter()
        .filter(|l| l.status == MetricStatus::Regressed)
        .collect();
    for l in &failed {
        let _ = writeln!(
            out,
            "- **{}**: {}",
            l.name,
            l.detail.as_deref().unwrap_or("out of bounds")
        );
    }
    let by_hand = ship
        .rollback
        .as_ref()
        .and_then(|r| r.requested_by.as_deref());
    if let (true, Some(user)) = (failed.is_empty(), by_hand) {
        let _ = writeln!(out, "@{user} asked for a rollback with `/rollback`.");
    }
    out.push('\n');
    let forge = ship.pr.repo.forge;
    if ship.deployment_mark_refused.is_some() {
        let _ = writeln!(
            out,
            "{} refused to mark the deployment as failed{}.\n",
            forge.name(),
            match forge {
                ForgeKind::GitLab => " (it does not let bots change deployments its CI created)",
                ForgeKind::GitHub => "",
            }
        );
    } else if ship.deployment_mark_error {
        out.push_str(
            "The deployment could not be marked as failed; the details are in smallbatch's \
             log.\n\n",
        );
    } else if ship.deployment_marked_failed && ship.deployment_id.is_some() {
        out.push_str("The deployment was marked as failed.\n\n");
    }
    match &ship.rollback {
        Some(rollback) => rollback_section(out, ship, rollback, policy),
        None => {
            match ship.revert_pr {
                Some(n) => {
                    let _ = write!(
                        out,
                        "Revert opened: {}. Ship it with `/ship` to restore service.",
                        change_ref(forge, n)
                    );
                }
                None if ship.revert_due => out.push_str("Opening the revert…"),
                None if ship.revert_error => out.push_str(REVERT_ERROR),
                None => out.push_str("No revert was opened (`ship.on_regression: notify`)."),
            }
            out.push_str("\n\n");
        }
    }
    out.push_str(&readings(ship, policy));
    let people = owners(ship).chain(ship.reviewers.iter().map(String::as_str));
    let _ = writeln!(out, "\n{}", cc(people));
}

/// The rollback's own checklist and where it is.
fn rollback_section(out: &mut String, ship: &ShipRecord, rollback: &Rollback, policy: &Watching) {
    let forge = ship.pr.repo.forge;
    match &rollback.requested_by {
        Some(user) => {
            let _ = writeln!(out, "#### ⏪ Rollback, asked by @{user}\n");
        }
        None => out.push_str("#### ⏪ Rollback\n\n"),
    }
    let Some(target) = &rollback.target else {
        let _ = write!(
            out,
            "smallbatch judged no earlier deployment to **{}** healthy, so nothing was \
             redeployed: it never deploys what it does not know to be good. ",
            ship.environment
        );
        match ship.revert_pr {
            Some(n) => {
                let _ = write!(
                    out,
                    "The revert is the way back: {}. Ship it with `/ship` to restore service.",
                    change_ref(forge, n)
                );
            }
            None if ship.revert_error => out.push_str(REVERT_ERROR),
            None => out.push_str("Opening the revert…"),
        }
        out.push_str("\n\n");
        return;
    };
    let deployed = matches!(
        rollback.stage,
        RollbackStage::Watching
            | RollbackStage::Restored
            | RollbackStage::NotRestored
            | RollbackStage::Unverified
    );
    out.push_str(&step(
        deployed,
        &format!(
            "Redeploy `{}` from {}, the last deployment to {} judged healthy",
            short(target.sha.as_str()),
            change_ref(forge, target.pr),
            ship.environment
        ),
    ));
    match ship.revert_pr {
        Some(n) => out.push_str(&step(
            true,
            &format!("Revert opened: {}", change_ref(forge, n)),
        )),
        None if ship.revert_due => out.push_str(&step(false, "Open the revert")),
        None if ship.revert_error => out.push_str(&step(false, REVERT_ERROR)),
        None => {}
    }
    let restored = rollback.stage == RollbackStage::Restored;
    out.push_str(&step(restored, "Service restored"));
    out.push('\n');
    let since_detection =
        |at: Option<i64>| minutes(at.unwrap_or_default() - ship.verdict_at_ms.unwrap_or_default());
    match rollback.stage {
        RollbackStage::Starting => out.push_str("Starting the rollback…\n"),
        RollbackStage::Deploying => {
            out.push_str("Waiting for the rollback deployment to report.\n")
        }
        RollbackStage::Watching => {
            let n = rollback.watch.checks_done;
            let _ = writeln!(
                out,
                "Rolled back. Watching production until every metric is within its bound \
                 again ({n} check{} so far).",
                plural(n)
            );
        }
        RollbackStage::Restored => {
            let _ = write!(
                out,
                "**Service restored**, {} after the regression was detected.",
                since_detection(ship.restored_at_ms)
            );
            if let Some(n) = ship.revert_pr {
                let _ = write!(
                    out,
                    " Ship the revert ({}) with `/ship` so the code matches production again.",
                    change_ref(forge, n)
                );
            }
            out.push('\n');
        }
        RollbackStage::NotRestored => {
            let _ = writeln!(
                out,
                "The metrics did not come back within their bounds in the {} after the \
                 rollback: service is **not** restored.",
                minutes(policy.watch_ms)
            );
        }
        RollbackStage::Unverified => out.push_str(
            "Rolled back. No metrics are configured (`ship.metrics`), so whether service is \
             restored is not known.\n",
        ),
        RollbackStage::Failed => {
            let _ = writeln!(
                out,
                "{} Service is **not** restored: ship the revert, or comment `/rollback` to \
                 try again.",
                rollback
                    .failure
                    .as_deref()
                    .unwrap_or("The rollback did not succeed.")
            );
        }
        RollbackStage::NoTarget => {}
    }
    out.push('\n');
}

fn no_readings(ship: &ShipRecord) -> bool {
    all_readings(ship).next().is_none() && ship.watch.last_check.is_empty()
}

fn all_readings(ship: &ShipRecord) -> impl Iterator<Item = &ReadingRecord> {
    let rollback = ship.rollback.iter().flat_map(|r| r.watch.readings.iter());
    ship.watch.readings.iter().chain(rollback)
}

/// The latest readings as a table; or why there are none.
fn readings(ship: &ShipRecord, policy: &Watching) -> String {
    let rows: Vec<&ReadingRecord> = all_readings(ship).collect();
    if rows.is_empty() {
        // A ship recorded before readings were kept shows its last round.
        if !ship.watch.last_check.is_empty() {
            return last_check_table(&ship.watch.last_check);
        }
        if policy.metrics == 0 {
            return "No metrics are configured (`ship.metrics`), so production was not watched.\n"
                .to_owned();
        }
        return format!(
            "No reading yet: the first is due {} after the deployment.\n",
            minutes(policy.interval_ms)
        );
    }
    let mut out = String::new();
    let shown = &rows[rows.len().saturating_sub(READINGS_SHOWN)..];
    if shown.len() < rows.len() {
        let _ = writeln!(
            out,
            "The latest {} of {} readings:\n",
            shown.len(),
            rows.len()
        );
    }
    out.push_str(&readings_table(shown));
    out
}

/// Every reading the ship kept, with its value, bound and verdict, for the change's web
/// page (the comment shows only the latest); `None` before the first.
pub fn every_reading(ship: &ShipRecord) -> Option<String> {
    let rows: Vec<&ReadingRecord> = all_readings(ship).collect();
    (!rows.is_empty()).then(|| readings_table(&rows))
}

fn readings_table(shown: &[&ReadingRecord]) -> String {
    let mut out =
        "| reading | metric | value | bound | verdict |\n|---|---|---:|---|---|\n".to_owned();
    for r in shown {
        let label = if r.rollback {
            format!("rollback {}", r.check)
        } else {
            r.check.to_string()
        };
        let l = &r.line;
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} |",
            l.name,
            value(l.value),
            if l.bound.is_empty() { "–" } else { &l.bound },
            verdict(l)
        );
    }
    out
}

/// One round, for records from before every reading was kept.
fn last_check_table(lines: &[MetricLine]) -> String {
    let mut out = "| metric | value | bound | verdict |\n|---|---:|---|---|\n".to_owned();
    for l in lines {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            l.name,
            value(l.value),
            l.bound,
            verdict(l)
        );
    }
    out
}

fn value(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    })
}

fn verdict(l: &MetricLine) -> String {
    let detail = l.detail.as_deref().unwrap_or("");
    match l.status {
        MetricStatus::Healthy => "ok".to_owned(),
        MetricStatus::Breaching => format!("breaching: {detail}"),
        MetricStatus::Regressed => format!("**regressed**: {detail}"),
        MetricStatus::Unknown => format!("unknown: {detail}"),
        MetricStatus::Inconclusive => format!("inconclusive: {detail}"),
    }
}

fn step(done: bool, text: &str) -> String {
    format!("- [{}] {text}\n", if done { "x" } else { " " })
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommitSha;
    use crate::ship::record::{RollbackTarget, Watch};
    use crate::ship::testing::{line, record};

    const POLICY: Watching = Watching {
        watch_ms: 900_000,
        interval_ms: 60_000,
        metrics: 2,
    };

    fn rolled_back(stage: RollbackStage) -> ShipRecord {
        let mut s = record(Stage::Regressed);
        let mut watch = Watch {
            deployed_at_ms: Some(200_000),
            ..Watch::default()
        };
        if stage == RollbackStage::Restored {
            watch.checks_done = 1;
            watch.readings.push(ReadingRecord {
                at_ms: 260_000,
                check: 1,
                rollback: true,
                line: line("error rate", 0.002, MetricStatus::Healthy, None),
                limit: Some(0.01),
            });
            s.restored_at_ms = Some(260_000);
        }
        s.rollback = Some(Rollback {
            requested_by: None,
            attempt: 1,
            requested_at_ms: 180_002,
            target: Some(RollbackTarget {
                ship: 2,
                pr: 5,
                sha: CommitSha::new("c".repeat(40)),
                deployment_id: Some(4),
            }),
            stage,
            deployment_id: Some(11),
            watch,
            failure: None,
            stage_before: None,
        });
        s
    }

    #[test]
    fn regressed_comment_names_the_metric_the_revert_and_the_people() {
        let mut s = record(Stage::Regressed);
        s.rollback = None;
        insta::assert_snapshot!(shipping_comment(3, &s, &POLICY));
    }

    #[test]
    fn healthy_comment_shows_each_reading_against_its_bound() {
        let mut s = record(Stage::Healthy);
        s.watch.readings.truncate(2);
        s.watch.checks_done = 1;
        insta::assert_snapshot!(shipping_comment(3, &s, &POLICY));
    }

    #[test]
    fn a_rollback_is_followed_to_the_restored_service() {
        let mut deploying = rolled_back(RollbackStage::Deploying);
        deploying.revert_pr = None;
        deploying.revert_due = true;
        insta::assert_snapshot!(
            "rollback_deploying",
            shipping_comment(3, &deploying, &POLICY)
        );
        insta::assert_snapshot!(
            "rollback_restored",
            shipping_comment(3, &rolled_back(RollbackStage::Restored), &POLICY)
        );
    }

    #[test]
    fn without_a_healthy_deployment_nothing_is_redeployed_and_the_revert_says_why() {
        let mut s = rolled_back(RollbackStage::NoTarget);
        s.rollback.as_mut().unwrap().target = None;
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains(
                "smallbatch judged no earlier deployment to **production** healthy, so nothing \
                 was redeployed: it never deploys what it does not know to be good. The revert \
                 is the way back: #8. Ship it with `/ship` to restore service."
            ),
            "{body}"
        );
    }

    #[test]
    fn a_rollback_by_hand_says_who_asked() {
        let mut s = rolled_back(RollbackStage::Watching);
        s.watch.last_check[0].status = MetricStatus::Healthy;
        s.rollback.as_mut().unwrap().requested_by = Some("maya".into());
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains("### 🔴 Regressed\n\n@maya asked for a rollback with `/rollback`.\n"),
            "{body}"
        );
        assert!(
            body.contains("#### ⏪ Rollback, asked by @maya\n"),
            "{body}"
        );
        assert!(body.contains("(0 checks so far)"), "{body}");
    }

    #[test]
    fn a_refused_failure_mark_names_the_forge_and_an_error_does_not_blame_it() {
        let mut s = record(Stage::Regressed);
        s.deployment_mark_refused = Some("403".into());
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains(
                "\nGitHub refused to mark the deployment as failed.\n\nRevert opened: #8."
            ),
            "{body}"
        );
        assert!(!body.contains("forge"), "{body}");
        s.pr.repo = crate::domain::RepoRef::gitlab("g/p");
        s.deployment_mark_refused = None;
        s.deployment_mark_error = true;
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains(
                "The deployment could not be marked as failed; the details are in smallbatch's log."
            ),
            "{body}"
        );
        assert!(!body.contains("refused"), "{body}");
    }

    #[test]
    fn a_watch_without_readings_yet_says_when_the_first_comes() {
        let mut s = record(Stage::Watching);
        s.watch.readings.clear();
        s.watch.last_check.clear();
        s.watch.checks_done = 0;
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains(
                "Watching production (0 checks so far):\n\nNo reading yet: the first is due \
                 1 min after the deployment.\n"
            ),
            "{body}"
        );
        let none = Watching {
            metrics: 0,
            ..POLICY
        };
        let body = shipping_comment(3, &s, &none);
        assert!(body.contains("No metrics are configured"), "{body}");
    }

    #[test]
    fn only_the_latest_readings_are_shown() {
        let mut s = record(Stage::Watching);
        let r = s.watch.readings[0].clone();
        s.watch.readings = (1..=20)
            .map(|check| ReadingRecord { check, ..r.clone() })
            .collect();
        let body = shipping_comment(3, &s, &POLICY);
        assert!(body.contains("The latest 12 of 20 readings:"), "{body}");
        assert!(body.contains("| 20 | error rate |"), "{body}");
        assert!(!body.contains("| 8 | error rate |"), "{body}");
    }

    #[test]
    fn too_little_data_is_inconclusive_and_tags_the_shipper() {
        let mut s = record(Stage::Inconclusive);
        let few = line(
            "error rate",
            0.0,
            MetricStatus::Inconclusive,
            Some("3 samples, fewer than the 100 needed"),
        );
        s.watch.last_check = vec![few.clone()];
        s.watch.readings.truncate(1);
        s.watch.readings[0].line = few;
        s.watch.readings[0].limit = None;
        insta::assert_snapshot!(shipping_comment(3, &s, &POLICY));
    }

    #[test]
    fn an_order_override_is_shown_under_the_requester() {
        let mut s = record(Stage::Merging);
        s.order_override = Some(crate::ship::record::OrderSkip {
            by: "maya".into(),
            reason: "staging is down".into(),
            skipped: vec!["staging".into()],
        });
        let body = shipping_comment(3, &s, &POLICY);
        assert!(
            body.contains("Requested by @alice.\n\nOut of order: @maya skipped **staging** (staging is down).\n\n- [x]"),
            "{body}"
        );
    }
}
