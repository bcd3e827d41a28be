//! The texts `/ship` posts: the checklist when it cannot ship, and the one shipping
//! comment, rendered from the record at every stage and edited in place.
pub use super::comment::{shipping_comment, Watching};
use super::record::{MetricStatus, RollbackStage, ShipRecord, Stage};
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
pub fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Merging => "merging",
        Stage::Merged => "merged, starting the deployment",
        Stage::Deploying => "deploying",
        Stage::Watching => "watching production",
        Stage::Healthy => "operating as designed",
        Stage::Regressed => "regressed",
        Stage::Unverified => "not verified",
        Stage::Inconclusive => "inconclusive",
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
pub(super) fn cc<'a>(people: impl Iterator<Item = &'a str>) -> String {
    let mut people: Vec<&str> = people.collect();
    people.sort_unstable();
    people.dedup();
    let tags: Vec<String> = people.iter().map(|p| format!("@{p}")).collect();
    format!("cc {}", tags.join(" "))
}

/// The requester and the author: who must act when a ship did not end healthy.
pub(super) fn owners(ship: &ShipRecord) -> impl Iterator<Item = &str> {
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

pub(super) fn minutes(ms: i64) -> String {
    let min = (ms.max(0) + 59_999) / 60_000;
    if min >= 60 {
        format!("{} h {} min", min / 60, min % 60)
    } else {
        format!("{min} min")
    }
}

/// The body of the revert PR opened after a regression or `/rollback`.
pub fn revert_body(ship: &ShipRecord) -> String {
    let forge = ship.pr.repo.forge;
    let what = format!(
        "{} (`{}`)",
        change_ref(forge, ship.pr.number.0),
        ship.merge_sha.as_ref().map_or("", |s| short(s.as_str()))
    );
    let failed: Vec<_> = ship
        .watch
        .last_check
        .iter()
        .filter(|l| l.status == MetricStatus::Regressed)
        .collect();
    let by_hand = ship
        .rollback
        .as_ref()
        .and_then(|r| r.requested_by.as_deref());
    let mut out = match (failed.is_empty(), by_hand) {
        (true, Some(user)) => format!(
            "Reverts {what}, which @{user} rolled back in **{}** with `/rollback`.\n",
            ship.environment
        ),
        _ => format!(
            "Reverts {what}, which regressed in **{}** after deploying:\n\n",
            ship.environment
        ),
    };
    for l in failed {
        let _ = writeln!(
            out,
            "- **{}**: {}",
            l.name,
            l.detail.as_deref().unwrap_or("out of bounds")
        );
    }
    // With a rollback under way, production runs the earlier code again: the revert
    // makes the branch match it.
    let rolled_back = ship.rollback.as_ref().and_then(|r| {
        let target = r.target.as_ref()?;
        (r.stage != RollbackStage::Failed).then_some(target)
    });
    match rolled_back {
        Some(target) => {
            let _ = write!(
                out,
                "\nOpened by smallbatch after rolling **{}** back to `{}` ({}). Ship it with \
                 `/ship` so the code matches production again.\n",
                ship.environment,
                short(target.sha.as_str()),
                change_ref(forge, target.pr)
            );
        }
        None => out.push_str("\nOpened by smallbatch. Ship it with `/ship` to restore service.\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_revert_says_why_and_what_production_runs() {
        use crate::ship::record::{Rollback, RollbackTarget, Watch};
        use crate::ship::testing::record;
        let mut s = record(Stage::Regressed);
        assert_eq!(
            revert_body(&s),
            "Reverts #7 (`bbbbbbb`), which regressed in **production** after deploying:\n\n\
             - **error rate**: 0.034 over max 0.01 (3.4×), 2 of 2 readings in a row\n\n\
             Opened by smallbatch. Ship it with `/ship` to restore service.\n"
        );
        s.watch.last_check.clear();
        s.rollback = Some(Rollback {
            requested_by: Some("maya".into()),
            attempt: 1,
            requested_at_ms: 0,
            target: Some(RollbackTarget {
                ship: 2,
                pr: 5,
                sha: crate::domain::CommitSha::new("c".repeat(40)),
                deployment_id: Some(4),
            }),
            stage: RollbackStage::Deploying,
            deployment_id: None,
            watch: Watch::default(),
            failure: None,
            stage_before: None,
        });
        assert_eq!(
            revert_body(&s),
            "Reverts #7 (`bbbbbbb`), which @maya rolled back in **production** with \
             `/rollback`.\n\nOpened by smallbatch after rolling **production** back to \
             `ccccccc` (#5). Ship it with `/ship` so the code matches production again.\n"
        );
    }

    #[test]
    fn not_ready_is_a_checklist() {
        assert_eq!(
            not_ready("production", &["The pull request is open.".into()]),
            "Not shipping to **production** yet. Still needed:\n\n- [ ] The pull request is open.\n\nComment `/ship` again once these are done."
        );
    }
}
