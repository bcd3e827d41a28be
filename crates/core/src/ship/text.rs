//! The texts `/ship` posts: the checklist when it cannot ship, and the one shipping
//! comment, rendered from the record at every stage and edited in place.
use super::record::{MetricLine, MetricStatus, ShipRecord, Stage};
use crate::domain::{DeploymentState, ForgeKind};
use std::fmt::Write;

/// Identifies the shipping comment of ship `id`.
pub fn marker(id: i64) -> String {
    format!("<!-- smallbatch:ship:{id} -->")
}

/// What a failed merge says when the forge did not refuse it: the error itself is in
/// the log, not for the user to decode.
pub const MERGE_WENT_WRONG: &str =
    "Something went wrong while merging. The details are in smallbatch's log.";

/// The deployment's counterpart of [`MERGE_WENT_WRONG`].
pub fn deployment_went_wrong(environment: &str) -> String {
    format!(
        "Something went wrong while starting the deployment to **{environment}**. The details \
         are in smallbatch's log."
    )
}

/// `/ship` on a PR that is not ready: everything missing, as a checklist.
pub fn not_ready(environment: &str, missing: &[String]) -> String {
    let mut out = format!("Not shipping to **{environment}** yet. Still needed:\n\n");
    for item in missing {
        let _ = writeln!(out, "- [ ] {item}");
    }
    out.push_str("\nComment `/ship` again once these are done.");
    out
}

/// `/ship` while an earlier ship of this change is still running. `link`: its shipping
/// comment, once posted.
pub fn already_shipping(forge: ForgeKind, link: Option<&str>, stage: Stage) -> String {
    let change = forge.change_noun();
    let now = stage_words(stage);
    match link {
        Some(url) => format!(
            "This {change} is already being shipped (now {now}): see [the shipping comment]({url})."
        ),
        None => format!(
            "This {change} is already being shipped (now {now}); its shipping comment is on its way."
        ),
    }
}

/// `/ship` on a change that an earlier ship merged.
pub fn already_shipped(forge: ForgeKind, link: Option<&str>, stage: Stage) -> String {
    let change = forge.change_noun();
    let how = stage_words(stage);
    match link {
        Some(url) => format!(
            "This {change} is already merged and shipped ({how}): see [the shipping comment]({url}). \
             There is nothing left to ship."
        ),
        None => format!(
            "This {change} is already merged and shipped ({how}). There is nothing left to ship."
        ),
    }
}

/// `/ship` on a change merged without it.
pub fn already_merged(forge: ForgeKind) -> String {
    format!(
        "This {} is already merged, so there is nothing to ship.",
        forge.change_noun()
    )
}

/// Where a ship is, in a few words.
pub(crate) fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Merging => "merging",
        Stage::Merged => "merged, starting the deployment",
        Stage::Deploying => "deploying",
        Stage::Watching => "watching production",
        Stage::Healthy => "operating as designed",
        Stage::Regressed => "regressed",
        Stage::Unverified => "not verified",
        Stage::DeployFailed => "the deployment failed",
        Stage::MergeFailed => "not merged",
    }
}

/// What `failure` says when a deployment reported a final state other than success.
pub fn deployment_failed(environment: &str, state: DeploymentState) -> String {
    let how = match state {
        DeploymentState::Failure => "failed",
        DeploymentState::Error => "ended in an error",
        DeploymentState::Inactive => "was made inactive before it succeeded",
        // Never reported as a failure; said plainly all the same.
        DeploymentState::Pending
        | DeploymentState::Queued
        | DeploymentState::InProgress
        | DeploymentState::Success => "did not succeed",
    };
    format!("The deployment to **{environment}** {how}.")
}

/// What `failure` says when the forge refused to create the deployment.
pub fn deployment_not_started(forge: ForgeKind, environment: &str, reason: &str) -> String {
    format!(
        "{} refused to start the deployment to **{environment}**: {reason}",
        forge.name()
    )
}

/// `@`-mentions of these people, each once, sorted.
fn cc<'a>(people: impl Iterator<Item = &'a str>) -> String {
    let mut people: Vec<&str> = people.collect();
    people.sort_unstable();
    people.dedup();
    let tags: Vec<String> = people.iter().map(|p| format!("@{p}")).collect();
    format!("cc {}", tags.join(" "))
}

/// The requester and the author: who must act when a ship did not end healthy.
fn owners(ship: &ShipRecord) -> impl Iterator<Item = &str> {
    [ship.requested_by.as_str(), ship.author.as_str()].into_iter()
}

/// How the forge links a pull or merge request in Markdown: `#7` on GitHub, `!7` on
/// GitLab (where `#7` is issue 7).
pub(crate) fn change_ref(forge: ForgeKind, number: u64) -> String {
    match forge {
        ForgeKind::GitHub => format!("#{number}"),
        ForgeKind::GitLab => format!("!{number}"),
    }
}

pub(crate) fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn minutes(ms: i64) -> String {
    let min = (ms.max(0) + 59_999) / 60_000;
    if min >= 60 {
        format!("{} h {} min", min / 60, min % 60)
    } else {
        format!("{min} min")
    }
}

fn step(done: bool, text: &str) -> String {
    format!("- [{}] {text}\n", if done { "x" } else { " " })
}

fn metric_table(lines: &[MetricLine]) -> String {
    if lines.is_empty() {
        return "No metrics are configured (`ship.metrics`), so production was not watched.\n"
            .to_owned();
    }
    let mut out = "| metric | value | bound | status |\n|---|---:|---|---|\n".to_owned();
    for l in lines {
        let value = l.value.map_or("–".to_owned(), |v| {
            format!("{v:.4}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        });
        let status = match l.status {
            MetricStatus::Healthy => "ok".to_owned(),
            MetricStatus::Regressed => {
                format!("**regressed**: {}", l.detail.as_deref().unwrap_or(""))
            }
            MetricStatus::Unknown => format!("unknown: {}", l.detail.as_deref().unwrap_or("")),
        };
        let _ = writeln!(out, "| {} | {value} | {} | {status} |", l.name, l.bound);
    }
    out
}

/// The shipping comment for ship `id` in its current stage.
pub fn shipping_comment(id: i64, ship: &ShipRecord, watch_ms: i64) -> String {
    let mut out = format!(
        "{}\n## Shipping `{}` to **{}**\n\nRequested by @{}.\n\n",
        marker(id),
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
    let deployed = ship.deployed_at_ms.is_some();
    out.push_str(&step(true, "Gate, checks and mergeability verified"));
    out.push_str(&step(
        merged.is_some(),
        merged.as_deref().unwrap_or("Merge"),
    ));
    out.push_str(&step(deployed, &format!("Deploy to {}", ship.environment)));
    out.push_str(&step(
        ship.stage.finished() && deployed,
        &format!("Watch production for {}", minutes(watch_ms)),
    ));
    out.push('\n');
    match ship.stage {
        Stage::Merging => out.push_str("Merging…\n"),
        Stage::Merged => out.push_str("Merged. Starting the deployment…\n"),
        Stage::Deploying => out.push_str("Waiting for the deployment to report.\n"),
        Stage::Watching => {
            let _ = writeln!(
                out,
                "Deployed. Watching production ({} check{} so far):\n",
                ship.checks_done,
                if ship.checks_done == 1 { "" } else { "s" }
            );
            out.push_str(&metric_table(&ship.last_check));
        }
        Stage::Healthy => {
            out.push_str("### ✅ Operating as designed\n\nEvery metric stayed within its bound for the whole watch.\n\n");
            out.push_str(&metric_table(&ship.last_check));
        }
        Stage::Regressed => {
            out.push_str("### 🔴 Regressed\n\n");
            for l in ship
                .last_check
                .iter()
                .filter(|l| l.status == MetricStatus::Regressed)
            {
                let _ = writeln!(
                    out,
                    "- **{}**: {}",
                    l.name,
                    l.detail.as_deref().unwrap_or("out of bounds")
                );
            }
            out.push('\n');
            out.push_str(&metric_table(&ship.last_check));
            let forge = ship.pr.repo.forge;
            match (&ship.deployment_mark_refused, ship.deployment_id) {
                (Some(_), _) => {
                    let _ = write!(
                        out,
                        "\n{} refused to mark the deployment as failed{}. ",
                        forge.name(),
                        match forge {
                            ForgeKind::GitLab =>
                                " (it does not let bots change deployments its CI created)",
                            ForgeKind::GitHub => "",
                        }
                    );
                }
                (None, Some(_)) => out.push_str("\nThe deployment was marked as failed. "),
                (None, None) => out.push('\n'),
            }
            match ship.revert_pr {
                Some(n) => {
                    let _ = write!(
                        out,
                        "Revert opened: {}. Ship it with `/ship` to restore service.",
                        change_ref(ship.pr.repo.forge, n)
                    );
                }
                None => out.push_str("No revert was opened (`ship.on_regression: notify`)."),
            }
            let people = owners(ship).chain(ship.reviewers.iter().map(String::as_str));
            let _ = writeln!(out, "\n\n{}", cc(people));
        }
        Stage::Unverified => {
            out.push_str("### ⚠️ Not verified\n\nProduction telemetry could not be read during the watch, so this change is **not** known to be healthy.\n\n");
            out.push_str(&metric_table(&ship.last_check));
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

/// The body of the revert PR opened after a regression.
pub fn revert_body(ship: &ShipRecord) -> String {
    let mut out = format!(
        "Reverts {} (`{}`), which regressed in **{}** after deploying:\n\n",
        change_ref(ship.pr.repo.forge, ship.pr.number.0),
        ship.merge_sha.as_ref().map_or("", |s| short(s.as_str())),
        ship.environment
    );
    for l in ship
        .last_check
        .iter()
        .filter(|l| l.status == MetricStatus::Regressed)
    {
        let _ = writeln!(
            out,
            "- **{}**: {}",
            l.name,
            l.detail.as_deref().unwrap_or("out of bounds")
        );
    }
    out.push_str("\nOpened by smallbatch. Ship it with `/ship` to restore service.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CommitSha, InstallationId, PrNumber, PrRef, RepoRef};

    fn ship(stage: Stage) -> ShipRecord {
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
            deployed_at_ms: Some(2),
            watch_until_ms: Some(900_002),
            baselines: vec![Some(0.002), Some(0.12)],
            last_check: vec![
                MetricLine {
                    name: "error rate".into(),
                    bound: "≤ 0.01".into(),
                    value: Some(0.034),
                    status: MetricStatus::Regressed,
                    detail: Some("0.034 over max 0.01 (3.4×)".into()),
                },
                MetricLine {
                    name: "p99 latency".into(),
                    bound: "≤ 1.5× the pre-deploy 0.12".into(),
                    value: Some(0.13),
                    status: MetricStatus::Healthy,
                    detail: None,
                },
            ],
            checks_done: 3,
            unknown_checks: 0,
            deployment_marked_failed: true,
            deployment_mark_refused: None,
            verdict_at_ms: Some(3),
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

    #[test]
    fn regressed_comment_names_the_metric_the_revert_and_the_people() {
        insta::assert_snapshot!(shipping_comment(3, &ship(Stage::Regressed), 900_000));
    }

    #[test]
    fn healthy_comment_shows_each_metric_against_its_bound() {
        let mut s = ship(Stage::Healthy);
        s.last_check[0].value = Some(0.004);
        s.last_check[0].status = MetricStatus::Healthy;
        s.last_check[0].detail = None;
        insta::assert_snapshot!(shipping_comment(3, &s, 900_000));
    }

    #[test]
    fn earlier_ships_are_named_in_the_forges_words_with_a_link_when_there_is_one() {
        let url = "https://github.com/o/r/pull/7#issuecomment-5";
        assert_eq!(
            already_shipping(ForgeKind::GitHub, Some(url), Stage::Merged),
            format!("This pull request is already being shipped (now merged, starting the deployment): see [the shipping comment]({url}).")
        );
        assert_eq!(
            already_shipping(ForgeKind::GitLab, None, Stage::Merging),
            "This merge request is already being shipped (now merging); its shipping comment is on its way."
        );
        assert_eq!(
            already_shipped(ForgeKind::GitLab, None, Stage::Regressed),
            "This merge request is already merged and shipped (regressed). There is nothing left to ship."
        );
    }

    #[test]
    fn deployment_failures_are_said_in_words() {
        assert_eq!(
            deployment_failed("production", DeploymentState::Error),
            "The deployment to **production** ended in an error."
        );
        assert_eq!(
            deployment_failed("staging", DeploymentState::Inactive),
            "The deployment to **staging** was made inactive before it succeeded."
        );
        assert_eq!(
            deployment_not_started(ForgeKind::GitHub, "production", "environment is protected"),
            "GitHub refused to start the deployment to **production**: environment is protected"
        );
    }

    #[test]
    fn an_order_override_is_shown_under_the_requester() {
        let mut s = ship(Stage::Merging);
        s.order_override = Some(super::super::record::OrderSkip {
            by: "maya".into(),
            reason: "staging is down".into(),
            skipped: vec!["staging".into()],
        });
        let body = shipping_comment(3, &s, 900_000);
        assert!(
            body.contains("Requested by @alice.\n\nOut of order: @maya skipped **staging** (staging is down).\n\n- [x]"),
            "{body}"
        );
    }

    #[test]
    fn a_refused_failure_mark_names_the_forge() {
        let mut s = ship(Stage::Regressed);
        s.deployment_mark_refused = Some("403".into());
        let body = shipping_comment(3, &s, 900_000);
        assert!(
            body.contains("\nGitHub refused to mark the deployment as failed. Revert opened: #8."),
            "{body}"
        );
        assert!(!body.contains("forge"), "{body}");
    }

    #[test]
    fn not_ready_is_a_checklist() {
        assert_eq!(
            not_ready("production", &["The pull request is open.".into()]),
            "Not shipping to **production** yet. Still needed:\n\n- [ ] The pull request is open.\n\nComment `/ship` again once these are done."
        );
    }
}
