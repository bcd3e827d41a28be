//! Ship records as delivery facts: what the DORA computations read.
use super::record::{Rollback, RollbackStage, ShipRecord, Stage};
use crate::dora::{ShipFact, Verdict};
use std::collections::HashMap;
use time::OffsetDateTime;

fn at(ms: Option<i64>) -> Option<OffsetDateTime> {
    ms.and_then(crate::domain::millis::datetime)
}

/// What a ship's watch said, as delivery metrics read it; `None` while it is watched.
fn verdict_of(stage: Stage) -> Option<Verdict> {
    match stage {
        Stage::Healthy => Some(Verdict::Healthy),
        Stage::Regressed => Some(Verdict::Regressed),
        Stage::Unverified | Stage::Inconclusive => Some(Verdict::Unknown),
        Stage::Merging | Stage::Merged | Stage::Deploying | Stage::Watching => None,
        // Never reached production: not a deployment at all.
        Stage::DeployFailed | Stage::MergeFailed => None,
    }
}

/// One fact per ship, and one per rollback deployment that reached production; `ships`
/// is `(ship id, record)`, so reverts can name the PR they revert.
pub fn facts(ships: &[(i64, ShipRecord)]) -> Vec<ShipFact> {
    let pr_of: HashMap<i64, u64> = ships.iter().map(|(id, r)| (*id, r.pr.number.0)).collect();
    let mut out = Vec::with_capacity(ships.len());
    for (_, r) in ships {
        // A `/rollback` of a deploy that had not regressed leaves the deploy with what
        // its watch said; the rollback then counts as a failure within the window only.
        // One smallbatch made on a regression leaves it regressed, failed either way.
        let stage = match r.rollback.as_ref().and_then(|rb| rb.stage_before) {
            // Rolled back while still watched: the watch never said.
            Some(Stage::Merging | Stage::Merged | Stage::Deploying | Stage::Watching) => {
                Stage::Unverified
            }
            Some(before) => before,
            None => r.stage,
        };
        let verdict = verdict_of(stage);
        // A rehearsal (an environment before the last of `ship.environments`) is
        // not a production deployment.
        let reached_production =
            !r.rehearsal && !matches!(r.stage, Stage::DeployFailed | Stage::MergeFailed);
        out.push(ShipFact {
            repo: r.pr.repo.full_name.clone(),
            pr: r.pr.number.0,
            lines: r.lines,
            approvals: r.approvals,
            first_commit_at: at(r.first_commit_at_ms),
            merged_at: at(r.merged_at_ms),
            deployed_at: at(r.watch.deployed_at_ms).filter(|_| reached_production),
            verdict,
            verdict_at: at(r.verdict_at_ms).filter(|_| verdict.is_some()),
            reverts: r.reverts_ship.and_then(|id| pr_of.get(&id).copied()),
            restored_at: at(r.restored_at_ms),
            reverted_at: r.reverted.and_then(|by| at(Some(by.merged_at_ms))),
            // When it was decided, by smallbatch or by `/rollback`: the deploy was given
            // up on then, whether or not the redeploy went through.
            rolled_back_at: r
                .rollback
                .as_ref()
                .and_then(|rb| at(Some(rb.requested_at_ms))),
            rework: r.reverts_ship.is_some(),
        });
        if let Some(rollback) = r.rollback.as_ref().filter(|_| reached_production) {
            out.extend(rollback_deployment(r, rollback));
        }
    }
    out
}

/// The rollback's own deployment, once it reached production: rework, like a revert. It
/// undoes the rolled-back change, so it is as large; it has no commits or approvals of
/// its own, so no lead time.
fn rollback_deployment(r: &ShipRecord, rollback: &Rollback) -> Option<ShipFact> {
    let deployed_at = at(rollback.watch.deployed_at_ms)?;
    let verdict = match rollback.stage {
        RollbackStage::Restored => Some(Verdict::Healthy),
        // The metrics were bad before it: that they stayed bad does not make it a failed
        // deploy, only an unknown one.
        RollbackStage::NotRestored | RollbackStage::Unverified => Some(Verdict::Unknown),
        RollbackStage::Starting
        | RollbackStage::Deploying
        | RollbackStage::Watching
        | RollbackStage::Failed
        | RollbackStage::NoTarget => None,
    };
    Some(ShipFact {
        repo: r.pr.repo.full_name.clone(),
        pr: r.pr.number.0,
        lines: r.lines,
        approvals: 0,
        first_commit_at: None,
        merged_at: None,
        deployed_at: Some(deployed_at),
        verdict,
        verdict_at: None,
        reverts: None,
        restored_at: None,
        reverted_at: None,
        rolled_back_at: None,
        rework: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dora::{compute, DEFAULT_FAILURE_WINDOW};
    use crate::ship::record::{RollbackTarget, Watch};
    use crate::ship::rollback::begin;
    use crate::ship::testing::record;

    const MIN: i64 = 60_000;

    /// A ship deployed at 2 ms with the verdict `stage`, the only one in its repository.
    fn shipped(stage: Stage) -> ShipRecord {
        let mut r = record(stage);
        r.revert_pr = None;
        r.restored_at_ms = None;
        r.first_commit_at_ms = Some(0);
        r
    }

    fn target() -> Option<RollbackTarget> {
        Some(RollbackTarget {
            ship: 2,
            pr: 5,
            sha: crate::domain::CommitSha::new("c".repeat(40)),
            deployment_id: Some(4),
        })
    }

    /// The rollback deployment reached production at `at_ms`, and restored service.
    fn restored(r: &mut ShipRecord, at_ms: i64) {
        let rollback = r.rollback.as_mut().unwrap();
        rollback.stage = RollbackStage::Restored;
        rollback.watch = Watch {
            deployed_at_ms: Some(at_ms),
            ..Watch::default()
        };
        r.restored_at_ms = Some(at_ms + MIN);
    }

    fn counts(ships: &[(i64, ShipRecord)]) -> crate::dora::RepoMetrics {
        let end = time::macros::datetime!(2026-12-01 00:00 UTC);
        let mut metrics = compute(
            &facts(ships),
            OffsetDateTime::UNIX_EPOCH,
            end,
            DEFAULT_FAILURE_WINDOW,
        );
        assert_eq!(metrics.len(), 1);
        metrics.remove(0)
    }

    #[test]
    fn a_regression_smallbatch_rolled_back_fails_once_and_its_redeploy_is_rework() {
        let mut r = shipped(Stage::Regressed);
        begin(&mut r, target(), None, 3 * MIN, true);
        restored(&mut r, 4 * MIN);
        let all = facts(&[(3, r.clone())]);
        assert_eq!(all[0].verdict, Some(Verdict::Regressed));
        assert_eq!(all[0].rolled_back_at, at(Some(3 * MIN)));
        assert_eq!(
            (all[1].deployed_at, all[1].verdict, all[1].rework),
            (at(Some(4 * MIN)), Some(Verdict::Healthy), true)
        );
        let m = counts(&[(3, r)]);
        let c = m.counts;
        assert_eq!((c.deployments, c.rework, c.healthy), (2, 1, 1));
        assert_eq!((c.failed, c.regressed, c.rolled_back), (1, 1, 0));
        assert_eq!(m.rework_rate, Some(0.5));
        assert_eq!(m.time_to_restore.map(|t| t.samples), Some(1));
    }

    #[test]
    fn a_rollback_by_hand_fails_a_healthy_deploy_within_the_window_only() {
        let mut r = shipped(Stage::Healthy);
        begin(&mut r, target(), Some("maya".into()), 2 * MIN, true);
        // The record says regressed from then on; the fact keeps what the watch said.
        assert_eq!(r.stage, Stage::Regressed);
        restored(&mut r, 3 * MIN);
        let all = facts(&[(3, r.clone())]);
        assert_eq!(all[0].verdict, Some(Verdict::Healthy));
        assert_eq!(all[0].rolled_back_at, at(Some(2 * MIN)));
        let c = counts(&[(3, r.clone())]).counts;
        assert_eq!((c.failed, c.rolled_back, c.regressed), (1, 1, 0));
        // Restored two minutes after it was asked for.
        let m = counts(&[(3, r)]);
        assert_eq!(
            m.time_to_restore.map(|t| t.median),
            Some(time::Duration::minutes(2))
        );

        // Two days after the deploy, it is a healthy deploy that was rolled back for
        // other reasons: not a failure, and the rollback is still rework.
        let mut late = shipped(Stage::Healthy);
        begin(
            &mut late,
            target(),
            Some("maya".into()),
            2 * 24 * 60 * MIN,
            true,
        );
        let c = counts(&[(3, late)]).counts;
        assert_eq!((c.failed, c.healthy, c.deployments), (0, 1, 1));
    }

    #[test]
    fn a_second_rollback_by_hand_remembers_what_the_watch_said() {
        let mut r = shipped(Stage::Unverified);
        begin(&mut r, target(), Some("maya".into()), 2 * MIN, false);
        r.rollback.as_mut().unwrap().stage = RollbackStage::Failed;
        begin(&mut r, target(), Some("maya".into()), 3 * MIN, false);
        let rollback = r.rollback.as_ref().unwrap();
        assert_eq!(
            (rollback.attempt, rollback.stage_before),
            (2, Some(Stage::Unverified))
        );
        let fact = &facts(&[(3, r)])[0];
        assert_eq!(fact.verdict, Some(Verdict::Unknown));
        assert_eq!(fact.rolled_back_at, at(Some(3 * MIN)));
    }

    #[test]
    fn a_rehearsal_and_its_rollback_are_not_deployments() {
        let mut r = shipped(Stage::Regressed);
        r.rehearsal = true;
        begin(&mut r, target(), None, 3 * MIN, true);
        restored(&mut r, 4 * MIN);
        let all = facts(&[(3, r)]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].deployed_at, None);
    }
}
