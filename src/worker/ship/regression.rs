//! After a regression: the deployment marked failed, the rollback started, the revert
//! opened, people told. A healthy revert later restores the service too, if the
//! rollback did not.
use super::{load, publish, republish, rollback, save, Ctx, JobError};
use crate::domain::DeploymentState;
use crate::forge::{Forge, ForgeError};
use crate::policy::config::RepoConfig;
use crate::ship::record::{MetricStatus, RollbackStage, ShipRecord};
use crate::ship::text;
use crate::store::StoredShip;

/// Each effect is recorded before the next, so a retry does only what is left; the
/// forge is asked before an effect is repeated whose recording was lost. The order:
/// the deployment marked failed, the rollback deployment started, the revert opened,
/// the comment edited. `changed`: the record changed since the comment was last brought
/// up to it (a verdict recorded by this very job), so it is edited in any case.
pub(super) async fn finish_regression(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
    changed: bool,
) -> Result<(), JobError> {
    let mut stored = stored.clone();
    let mut changed = changed;
    if !record.deployment_marked_failed {
        if let Some(id) = record.deployment_id {
            let detail = regression_summary(record);
            match forge
                .set_deployment_state(&record.pr.repo, id, DeploymentState::Failure, &detail)
                .await
            {
                Ok(()) => {}
                // GitLab refuses to change deployments its CI created; the rollback and
                // the revert matter more.
                Err(ForgeError::Refused { reason }) => {
                    tracing::warn!(pr = %record.pr, error = %reason, "the forge refused to mark the deployment failed");
                    record.deployment_mark_refused = Some(reason);
                }
                Err(e @ ForgeError::Permanent(_)) => {
                    tracing::error!(pr = %record.pr, error = %e, "cannot mark the deployment failed");
                    record.deployment_mark_error = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        record.deployment_marked_failed = true;
        let Some(next) = save(ctx, &stored, record).await? else {
            return Ok(());
        };
        stored = next;
        changed = true;
    }
    let starting = record
        .rollback
        .as_ref()
        .is_some_and(|r| r.stage == RollbackStage::Starting);
    if starting {
        let Some(next) = rollback::start(ctx, forge, &stored, record).await? else {
            return Ok(());
        };
        stored = next;
        changed = true;
    }
    if record.revert_due {
        open_revert(forge, record).await?;
        let Some(next) = save(ctx, &stored, record).await? else {
            return Ok(());
        };
        stored = next;
        changed = true;
    }
    // The comment is published last: if nothing was left to do, it may be already.
    if changed {
        publish(ctx, forge, &stored, record, config).await?;
    } else {
        republish(ctx, forge, &stored, record, config).await?;
    }
    Ok(())
}

/// Opens the revert, or finds the one an earlier attempt opened. One the forge will not
/// open is not asked for again: the people are told instead.
async fn open_revert(forge: &dyn Forge, record: &mut ShipRecord) -> Result<(), JobError> {
    let merge_sha = record.merge_sha.clone().ok_or_else(|| {
        JobError::Forge(ForgeError::Permanent(
            "regressed ship has no merge commit".into(),
        ))
    })?;
    let title = format!("Revert \"{}\"", record.title);
    match forge
        .open_revert(&record.pr, &merge_sha, &title, &text::revert_body(record))
        .await
    {
        Ok(number) => record.revert_pr = Some(number.0),
        Err(e @ (ForgeError::Refused { .. } | ForgeError::Permanent(_))) => {
            tracing::error!(pr = %record.pr, error = %e, "cannot open the revert");
            record.revert_error = true;
        }
        Err(e) => return Err(e.into()),
    }
    record.revert_due = false;
    Ok(())
}

fn regression_summary(record: &ShipRecord) -> String {
    record
        .watch
        .last_check
        .iter()
        .filter(|l| l.status == MetricStatus::Regressed)
        .map(|l| {
            format!(
                "{}: {}",
                l.name,
                l.detail.as_deref().unwrap_or("out of bounds")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A healthy revert restores the service its regressed ship broke.
pub(super) async fn restore_reverted(
    ctx: &Ctx,
    record: &ShipRecord,
    now: i64,
) -> Result<(), JobError> {
    let Some(original) = record.reverts_ship else {
        return Ok(());
    };
    // Another worker may update the original at the same time; retry the CAS a few times.
    for _ in 0..5 {
        let Some((stored, mut orig)) = load(ctx, original).await? else {
            return Ok(());
        };
        if orig.restored_at_ms.is_some() {
            return Ok(());
        }
        orig.restored_at_ms = Some(now);
        if save(ctx, &stored, &orig).await?.is_some() {
            tracing::info!(ship = original, "service restored by a healthy revert");
            return Ok(());
        }
    }
    Ok(())
}
