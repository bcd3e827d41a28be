//! The stages of a ship after `/ship`: merge, deploy, watch. A step finds the stage in
//! the record and does what that stage still needs, so the first attempt and a retry
//! after a crash at any point take the same path.
use super::regression::{finish_regression, restore_reverted};
use super::{
    decode, load, publish, readings, republish, rollback, save, save_and_publish, schedule_check,
    ship_config, Ctx, JobError,
};
use crate::domain::millis;
use crate::domain::{DeploymentRef, DeploymentState, RepoRef};
use crate::forge::{DeploymentStart, Forge, ForgeError};
use crate::policy::config::{OnRegression, RepoConfig};
use crate::ship::judge::Reading;
use crate::ship::progress;
use crate::ship::record::{ShipRecord, Stage};
use crate::ship::rollback as ship_rollback;
use crate::ship::text;
use crate::store::StoredShip;

/// A scheduled step: the start (`after_checks: None`) or a telemetry check; of the
/// ship, or of attempt `rollback` at rolling it back.
pub async fn step(
    ctx: &Ctx,
    forge: &dyn Forge,
    ship_id: i64,
    after_checks: Option<u32>,
    rollback: Option<u32>,
) -> Result<(), JobError> {
    let Some((stored, mut record)) = load(ctx, ship_id).await? else {
        tracing::warn!(ship = ship_id, "ship not found; step dropped");
        return Ok(());
    };
    let config = ship_config(ctx, forge, &record).await?;
    let (stored, record, config) = (&stored, &mut record, &config);
    if let Some(attempt) = rollback {
        return rollback::step(ctx, forge, stored, record, config, attempt, after_checks).await;
    }
    match record.stage {
        Stage::Merging => merge(ctx, forge, stored, record, config).await,
        Stage::Merged => deploy(ctx, forge, stored, record, config).await,
        Stage::Watching if after_checks == Some(record.watch.checks_done) => {
            watch(ctx, forge, stored, record, config).await
        }
        // This step's check is recorded (or it is the start, retried): what followed it
        // may not have happened.
        Stage::Watching => resume_watch(ctx, forge, stored, record, config).await,
        // Waiting for the deployment to report; the comment may not say so yet.
        Stage::Deploying => republish(ctx, forge, stored, record, config)
            .await
            .map(|_| ()),
        Stage::Regressed => {
            // The key is absent only from records of a version before rollbacks.
            let wrote_revert_due = stored.data.contains("\"revert_due\"");
            if record.revert_left_by_an_older_version(wrote_revert_due, config.ship.on_regression) {
                record.revert_due = true;
            }
            finish_regression(ctx, forge, stored, record, config, false).await
        }
        Stage::Healthy => {
            republish(ctx, forge, stored, record, config).await?;
            let restored_at = record.verdict_at_ms.unwrap_or_default();
            restore_reverted(ctx, record, restored_at).await
        }
        Stage::Unverified | Stage::Inconclusive | Stage::DeployFailed | Stage::MergeFailed => {
            republish(ctx, forge, stored, record, config)
                .await
                .map(|_| ())
        }
    }
}

/// Posts the shipping comment, merges, records the merge, and goes on to deploy.
async fn merge(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let pr = record.pr.clone();
    // Once posted it says "Merging…" until the merge is recorded: nothing to redo.
    let stored = match record.comment_id {
        None => publish(ctx, forge, stored, record, config).await?,
        Some(_) => stored.clone(),
    };
    // The forge answers a retry after a merge that went through with that merge.
    let merge_sha = match forge
        .merge(&pr, &record.head_sha, config.ship.merge_method)
        .await
    {
        Ok(sha) => sha,
        // A racing push, a conflict, branch protection: told to the user, nothing deployed.
        Err(ForgeError::Refused { reason }) => {
            record.stage = Stage::MergeFailed;
            record.failure = Some(reason);
            return save_and_publish(ctx, forge, &stored, record, config).await;
        }
        // Ours to look into, not the user's to read.
        Err(e @ ForgeError::Permanent(_)) => {
            tracing::error!(%pr, error = %e, "merge failed");
            record.stage = Stage::MergeFailed;
            record.failure = Some(text::MERGE_WENT_WRONG.to_owned());
            return save_and_publish(ctx, forge, &stored, record, config).await;
        }
        Err(e) => return Err(e.into()),
    };
    record.merge_sha = Some(merge_sha);
    record.merged_at_ms = Some(millis::of(ctx.store.now().await?));
    record.stage = Stage::Merged;
    let Some(stored) = save(ctx, &stored, record).await? else {
        return Ok(());
    };
    deploy(ctx, forge, &stored, record, config).await
}

/// Starts the deployment of the merge, or adopts the one an earlier attempt started.
async fn deploy(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let pr = &record.pr;
    let merge_sha = record.merge_sha.clone().ok_or_else(|| {
        JobError::Forge(ForgeError::Permanent(format!(
            "ship {} of {pr} is merged without a merge commit",
            stored.id
        )))
    })?;
    let description = format!("smallbatch: #{} {}", pr.number, record.title);
    match forge
        .start_deployment(&pr.repo, &merge_sha, &record.environment, &description)
        .await
    {
        Ok(DeploymentStart::Created { id }) => record.deployment_id = Some(id),
        Ok(DeploymentStart::Following) => {}
        // Refused (a protected environment, say): nothing will deploy, so people are told.
        Err(ForgeError::Refused { reason }) => {
            record.stage = Stage::DeployFailed;
            record.failure = Some(text::deployment_not_started(
                pr.repo.forge,
                &record.environment,
                &reason,
            ));
            return save_and_publish(ctx, forge, stored, record, config).await;
        }
        Err(e @ ForgeError::Permanent(_)) => {
            tracing::error!(%pr, error = %e, "deployment not started");
            record.stage = Stage::DeployFailed;
            record.failure = Some(text::deployment_went_wrong(&record.environment));
            return save_and_publish(ctx, forge, stored, record, config).await;
        }
        Err(e) => return Err(e.into()),
    }
    record.stage = Stage::Deploying;
    save_and_publish(ctx, forge, stored, record, config).await
}

/// A deployment reported; the ship it belongs to moves on.
pub async fn deployment_changed(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    deployment: &DeploymentRef,
    state: DeploymentState,
) -> Result<(), JobError> {
    // A rollback redeploys an earlier ship's commit: the event is the rollback's.
    if let Some((stored, record)) = rollback::awaiting(ctx, repo, deployment).await? {
        return rollback::deployment_changed(ctx, forge, stored, record, deployment, state).await;
    }
    let found = ctx
        .store
        .ship_for_deployment(repo, &deployment.sha, &deployment.environment)
        .await?;
    let Some(stored) = found else {
        tracing::debug!(repo = %repo.full_name, sha = %deployment.sha, "deployment of no ship");
        return Ok(());
    };
    let mut record = decode(&stored.data)?;
    match record.stage {
        // The deployment may report before the step that started it has recorded so.
        Stage::Merged | Stage::Deploying if state.is_final() => {}
        // Recorded by an earlier attempt at this event, which may have stopped before
        // publishing it and scheduling the first check.
        Stage::Watching if record.watch.checks_done == 0 => {
            let config = ship_config(ctx, forge, &record).await?;
            return resume_watch(ctx, forge, &stored, &mut record, &config).await;
        }
        _ => return Ok(()),
    }
    record.deployment_id = Some(deployment.id);
    let config = ship_config(ctx, forge, &record).await?;
    if state != DeploymentState::Success {
        record.stage = Stage::DeployFailed;
        record.failure = Some(text::deployment_failed(&deployment.environment, state));
        return save_and_publish(ctx, forge, &stored, &mut record, &config).await;
    }
    let now = ctx.store.now().await?;
    let watch = config.ship.watch;
    record.stage = Stage::Watching;
    record.watch.deployed_at_ms = Some(millis::of(now));
    record.watch.watch_until_ms = Some(millis::of(now) + watch.as_millis() as i64);
    record.watch.baselines = baselines(ctx, &config, now).await;
    let Some(stored) = save(ctx, &stored, &record).await? else {
        return Ok(());
    };
    publish(ctx, forge, &stored, &mut record, &config).await?;
    schedule_check(ctx, &record.pr, stored.id, 0, config.ship.interval).await
}

async fn baselines(
    ctx: &Ctx,
    config: &RepoConfig,
    before: time::OffsetDateTime,
) -> Vec<Option<f64>> {
    let Some(prometheus) = &ctx.prometheus else {
        return vec![None; config.ship.metrics.len()];
    };
    let mut out = Vec::new();
    for metric in &config.ship.metrics {
        out.push(
            match prometheus
                .baseline(&metric.query, before, config.ship.watch)
                .await
            {
                Reading::Value(v) => Some(v),
                _ => None,
            },
        );
    }
    out
}

/// One telemetry check, recorded; then the verdict, or the next check. On a regression
/// the reaction is decided with the verdict, so a retry carries out the same one.
async fn watch(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let metrics = &config.ship.metrics;
    let round = readings::round(ctx, metrics, &record.watch.baselines).await;
    let now = millis::of(ctx.store.now().await?);
    progress::record_round(&mut record.watch, metrics, &round, now, false);
    let interval = config.ship.interval.as_millis() as i64;
    record.stage = progress::after_check(&record.watch, metrics, now, interval);
    if record.stage.finished() {
        record.verdict_at_ms = Some(now);
        tracing::info!(pr = %record.pr, verdict = record.stage.as_str(), "ship verdict");
    }
    if record.stage == Stage::Regressed {
        match config.ship.on_regression {
            OnRegression::Rollback => {
                let target = rollback::last_healthy(ctx, record, stored.id).await?;
                ship_rollback::begin(record, target, None, now, true);
            }
            OnRegression::Revert => record.revert_due = true,
            OnRegression::Notify => {}
        }
    }
    let Some(stored) = save(ctx, stored, record).await? else {
        return Ok(());
    };
    match record.stage {
        Stage::Regressed => finish_regression(ctx, forge, &stored, record, config, true).await,
        Stage::Healthy => {
            publish(ctx, forge, &stored, record, config).await?;
            restore_reverted(ctx, record, now).await
        }
        Stage::Watching => {
            publish(ctx, forge, &stored, record, config).await?;
            schedule_check(
                ctx,
                &record.pr,
                stored.id,
                record.watch.checks_done,
                config.ship.interval,
            )
            .await
        }
        _ => publish(ctx, forge, &stored, record, config)
            .await
            .map(|_| ()),
    }
}

/// Watching, with the last check (or the deployment) recorded: the comment brought up
/// to it and the next check scheduled, both at most once.
async fn resume_watch(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let stored = republish(ctx, forge, stored, record, config).await?;
    schedule_check(
        ctx,
        &record.pr,
        stored.id,
        record.watch.checks_done,
        config.ship.interval,
    )
    .await
}
