//! Rolling back: which ship `/rollback` acts on, which deployment it returns the
//! environment to, and what the record says once it is decided. Pure; the worker
//! feeds it the repository's ships.
use super::record::{Rollback, RollbackStage, RollbackTarget, ShipRecord, Stage, Watch};
use super::text::change_ref;
use crate::domain::{DeploymentState, ForgeKind};

/// The last ship to `environment` before ship `before` that smallbatch judged healthy:
/// what a rollback redeploys. `ships` are `(id, record)`, in any order.
pub fn last_healthy(
    ships: &[(i64, ShipRecord)],
    environment: &str,
    before: i64,
) -> Option<RollbackTarget> {
    ships
        .iter()
        .filter(|(id, r)| *id < before && r.environment == environment)
        .filter(|(_, r)| r.stage == Stage::Healthy)
        .filter_map(|(id, r)| {
            Some(RollbackTarget {
                ship: *id,
                pr: r.pr.number.0,
                sha: r.merge_sha.clone()?,
                deployment_id: r.deployment_id,
            })
        })
        .max_by_key(|t| t.ship)
}

/// What `/rollback` finds in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// smallbatch never deployed there.
    Nothing,
    /// The newest ship there has not reached it yet.
    InProgress { ship: i64 },
    /// The newest ship there is being rolled back, or was.
    AlreadyRolledBack { ship: i64, stage: RollbackStage },
    /// The newest ship there: roll it back.
    Ship { ship: i64 },
}

/// The ship `/rollback` acts on: the newest one that went to `environment`, unless its
/// merge or deployment failed (then production still runs what came before). A failed
/// rollback, or one that did not restore service, may be asked for again.
pub fn subject(ships: &[(i64, ShipRecord)], environment: &str) -> Subject {
    let newest = ships
        .iter()
        .filter(|(_, r)| r.environment == environment)
        .filter(|(_, r)| !matches!(r.stage, Stage::MergeFailed | Stage::DeployFailed))
        .max_by_key(|(id, _)| *id);
    let Some((id, record)) = newest else {
        return Subject::Nothing;
    };
    let ship = *id;
    if matches!(
        record.stage,
        Stage::Merging | Stage::Merged | Stage::Deploying
    ) {
        return Subject::InProgress { ship };
    }
    match &record.rollback {
        Some(r)
            if !matches!(
                r.stage,
                RollbackStage::Failed | RollbackStage::NotRestored | RollbackStage::NoTarget
            ) =>
        {
            Subject::AlreadyRolledBack {
                ship,
                stage: r.stage,
            }
        }
        _ => Subject::Ship { ship },
    }
}

/// Records the decision to roll `record` back to `target`, at `now_ms`, asked by
/// `requested_by` (`None`: on a regression smallbatch detected). The ship is regressed
/// from then on, detected now unless it already was; its deployment is to be marked
/// failed; `revert` opens a revert as well. With no target, nothing is redeployed and
/// the revert is the way back, so it is opened whatever `revert` says.
pub fn begin(
    record: &mut ShipRecord,
    target: Option<RollbackTarget>,
    requested_by: Option<String>,
    now_ms: i64,
    revert: bool,
) {
    // What the ship's own watch said, kept across attempts.
    let stage_before = match record.stage {
        Stage::Regressed => record.rollback.as_ref().and_then(|r| r.stage_before),
        stage => Some(stage),
    };
    if record.stage != Stage::Regressed {
        record.stage = Stage::Regressed;
        record.verdict_at_ms = Some(now_ms);
        record.deployment_marked_failed = false;
    }
    let attempt = record.rollback.as_ref().map_or(1, |r| r.attempt + 1);
    let stage = match target {
        Some(_) => RollbackStage::Starting,
        None => RollbackStage::NoTarget,
    };
    record.revert_due = (revert || target.is_none()) && record.revert_pr.is_none();
    record.rollback = Some(Rollback {
        requested_by,
        attempt,
        requested_at_ms: now_ms,
        target,
        stage,
        deployment_id: None,
        // Restored means back to how production was before this ship's deploy.
        watch: Watch {
            baselines: record.watch.baselines.clone(),
            ..Watch::default()
        },
        failure: None,
        stage_before,
    });
}

/// Why a rollback did not start: the forge refused it, in its words.
pub fn not_started(forge: ForgeKind, environment: &str, reason: &str) -> String {
    format!(
        "{} refused to start the rollback of **{environment}**: {reason}.",
        forge.name()
    )
}

/// Why a rollback did not start, when the forge did not refuse it: the error is ours.
pub fn went_wrong(environment: &str) -> String {
    format!(
        "Something went wrong while starting the rollback of **{environment}**. The details \
         are in smallbatch's log."
    )
}

/// The rollback deployment reported a final state other than success.
pub fn deployment_failed(environment: &str, state: DeploymentState) -> String {
    let how = match state {
        DeploymentState::Failure => "failed",
        DeploymentState::Error => "ended in an error",
        DeploymentState::Inactive => "was made inactive before it succeeded",
        DeploymentState::Pending
        | DeploymentState::Queued
        | DeploymentState::InProgress
        | DeploymentState::Success => "did not succeed",
    };
    format!("The rollback deployment to **{environment}** {how}.")
}

/// The reply to `/rollback` that starts one; `link` is the shipping comment.
pub fn started(forge: ForgeKind, environment: &str, pr: u64, link: Option<&str>) -> String {
    let what = format!(
        "Rolling back **{environment}**: {} is the change deployed there",
        change_ref(forge, pr)
    );
    match link {
        Some(url) => format!("{what}. Follow it in [its shipping comment]({url})."),
        None => format!("{what}; its shipping comment follows the rollback."),
    }
}

/// The reply to `/rollback` when there is nothing it can do now.
pub fn refused(environment: &str, found: &Subject, link: Option<&str>) -> String {
    let see = link.map_or(String::new(), |url| {
        format!(" See [the shipping comment]({url}).")
    });
    match found {
        Subject::Nothing | Subject::Ship { .. } => format!(
            "smallbatch has not deployed anything to **{environment}**, so there is nothing \
             to roll back."
        ),
        Subject::InProgress { .. } => format!(
            "A deployment to **{environment}** is in progress; comment `/rollback` once it has \
             reported.{see}"
        ),
        Subject::AlreadyRolledBack { stage, .. } => {
            let how = match stage {
                RollbackStage::Restored => "already rolled back, and service is restored",
                RollbackStage::Unverified => "already rolled back",
                _ => "already being rolled back",
            };
            format!("**{environment}** is {how}.{see}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ship::testing::record;

    fn ship(stage: Stage, env: &str) -> ShipRecord {
        let mut r = record(stage);
        r.environment = env.into();
        r.rollback = None;
        r.revert_pr = None;
        r
    }

    #[test]
    fn the_target_is_the_newest_healthy_ship_before_in_the_same_environment() {
        let ships = vec![
            (1, ship(Stage::Healthy, "production")),
            (2, ship(Stage::Healthy, "staging")),
            (3, ship(Stage::Regressed, "production")),
            (4, ship(Stage::Healthy, "production")),
            (5, ship(Stage::Unverified, "production")),
            (6, ship(Stage::Regressed, "production")),
            (7, ship(Stage::Healthy, "production")),
        ];
        let target = last_healthy(&ships, "production", 6).unwrap();
        assert_eq!((target.ship, target.deployment_id), (4, Some(9)));
        assert_eq!(last_healthy(&ships, "production", 4).unwrap().ship, 1);
        assert_eq!(last_healthy(&ships, "production", 1), None);
        assert_eq!(last_healthy(&ships, "staging", 9).unwrap().ship, 2);
    }

    #[test]
    fn rollback_acts_on_the_newest_ship_that_reached_the_environment() {
        let mut ships = vec![
            (1, ship(Stage::Healthy, "production")),
            (2, ship(Stage::DeployFailed, "production")),
        ];
        assert_eq!(subject(&ships, "production"), Subject::Ship { ship: 1 });
        assert_eq!(subject(&ships, "staging"), Subject::Nothing);
        ships.push((3, ship(Stage::Deploying, "production")));
        assert_eq!(
            subject(&ships, "production"),
            Subject::InProgress { ship: 3 }
        );
        let mut rolled = ship(Stage::Regressed, "production");
        begin(&mut rolled, None, Some("maya".into()), 10, true);
        ships.push((4, rolled.clone()));
        // Nothing healthy to return to: asking again may find something.
        assert_eq!(subject(&ships, "production"), Subject::Ship { ship: 4 });
        rolled.rollback.as_mut().unwrap().stage = RollbackStage::Watching;
        ships.push((5, rolled));
        assert_eq!(
            subject(&ships, "production"),
            Subject::AlreadyRolledBack {
                ship: 5,
                stage: RollbackStage::Watching
            }
        );
    }

    #[test]
    fn begin_makes_a_healthy_ship_regressed_now_and_keeps_an_earlier_detection() {
        let mut r = ship(Stage::Healthy, "production");
        let target = RollbackTarget {
            ship: 1,
            pr: 5,
            sha: crate::domain::CommitSha::new("c".repeat(40)),
            deployment_id: Some(4),
        };
        begin(&mut r, Some(target.clone()), Some("maya".into()), 500, true);
        assert_eq!(r.stage, Stage::Regressed);
        assert_eq!(r.verdict_at_ms, Some(500));
        assert!(!r.deployment_marked_failed && r.revert_due && !r.finished());
        let rollback = r.rollback.as_ref().unwrap();
        assert_eq!(
            (rollback.attempt, rollback.stage),
            (1, RollbackStage::Starting)
        );
        assert_eq!(rollback.watch.baselines, r.watch.baselines);
        // A regression detected earlier keeps its time; a second attempt counts up.
        let mut again = r.clone();
        begin(&mut again, Some(target), None, 900, false);
        assert_eq!(again.verdict_at_ms, Some(500));
        assert_eq!(again.rollback.as_ref().unwrap().attempt, 2);
        // Without a target the revert is opened all the same.
        let mut r = ship(Stage::Watching, "production");
        begin(&mut r, None, None, 1, false);
        assert!(r.revert_due);
        assert_eq!(r.rollback.unwrap().stage, RollbackStage::NoTarget);
    }

    #[test]
    fn replies_name_the_change_in_the_forges_words() {
        assert_eq!(
            started(ForgeKind::GitLab, "production", 7, Some("https://x/n")),
            "Rolling back **production**: !7 is the change deployed there. Follow it in \
             [its shipping comment](https://x/n)."
        );
        assert_eq!(
            refused("production", &Subject::InProgress { ship: 3 }, None),
            "A deployment to **production** is in progress; comment `/rollback` once it has \
             reported."
        );
        assert_eq!(
            refused("staging", &Subject::Nothing, None),
            "smallbatch has not deployed anything to **staging**, so there is nothing to roll back."
        );
    }
}
