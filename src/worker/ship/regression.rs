//! After a regression: the deployment marked failed, the revert opened, people told.
//! A healthy revert later restores the service its regressed ship broke.
use super::{load, publish, republish, save, Ctx, JobError};
use crate::domain::DeploymentState;
use crate::forge::{Forge, ForgeError};
use crate::policy::config::{OnRegression, RepoConfig};
use crate::ship::record::{MetricStatus, ShipRecord};
use crate::ship::text;
use crate::store::StoredShip;

/// Each effect is recorded before the next, so a retry does only what is left; the
/// forge is asked before an effect is repeated whose recording was lost. `fresh`: the
/// verdict was recorded by this very job, so nothing of it has been published yet.
pub(super) async fn finish_regression(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
    fresh: bool,
) -> Result<(), JobError> {
    let mut stored = stored.clone();
    let mut changed = fresh;
    if !record.deployment_marked_failed {
        if let Some(id) = record.deployment_id {
            let detail = regression_summary(record);
            match forge
                .set_deployment_state(&record.pr.repo, id, DeploymentState::Failure, &detail)
                .await
            {
                Ok(()) => {}
                // GitLab refuses to change deployments its CI created; the revert matters
                // more, whatever kept the mark from being set.
                Err(ForgeError::Refused { reason: e } | ForgeError::Permanent(e)) => {
                    tracing::warn!(pr = %record.pr, error = %e, "cannot mark the deployment failed");
                    record.deployment_mark_refused = Some(e);
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
    if config.ship.on_regression == OnRegression::Revert && record.revert_pr.is_none() {
        let merge_sha = record.merge_sha.clone().ok_or_else(|| {
            JobError::Forge(ForgeError::Permanent(
                "regressed ship has no merge commit".into(),
            ))
        })?;
        let title = format!("Revert \"{}\"", record.title);
        let number = forge
            .open_revert(&record.pr, &merge_sha, &title, &text::revert_body(record))
            .await?;
        record.revert_pr = Some(number.0);
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

fn regression_summary(record: &ShipRecord) -> String {
    record
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
