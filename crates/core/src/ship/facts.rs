//! Ship records as delivery facts: what the DORA computations read.
use super::record::{ShipRecord, Stage};
use crate::dora::{ShipFact, Verdict};
use std::collections::HashMap;
use time::OffsetDateTime;

fn at(ms: Option<i64>) -> Option<OffsetDateTime> {
    ms.and_then(crate::domain::millis::datetime)
}

/// One fact per ship; `ships` is `(ship id, record)`, so reverts can name the PR they revert.
pub fn facts(ships: &[(i64, ShipRecord)]) -> Vec<ShipFact> {
    let pr_of: HashMap<i64, u64> = ships.iter().map(|(id, r)| (*id, r.pr.number.0)).collect();
    ships
        .iter()
        .map(|(_, r)| {
            let verdict = match r.stage {
                Stage::Healthy => Some(Verdict::Healthy),
                Stage::Regressed => Some(Verdict::Regressed),
                Stage::Unverified | Stage::Inconclusive => Some(Verdict::Unknown),
                Stage::Merging | Stage::Merged | Stage::Deploying | Stage::Watching => None,
                // Never reached production: not a deployment at all.
                Stage::DeployFailed | Stage::MergeFailed => None,
            };
            // A rehearsal (an environment before the last of `ship.environments`) is
            // not a production deployment.
            let reached_production =
                !r.rehearsal && !matches!(r.stage, Stage::DeployFailed | Stage::MergeFailed);
            ShipFact {
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
                // Rollbacks are recorded by `/rollback` and `ship.on_regression: rollback`
                // (issue 10, part 1); until then nothing is rolled back.
                rolled_back_at: None,
                rework: r.reverts_ship.is_some(),
            }
        })
        .collect()
}
