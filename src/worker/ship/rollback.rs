//! Rolling back: the environment's last healthy deployment redeployed, followed until
//! it reports, then watched with the same metrics until service is restored. Started
//! on a regression (`ship.on_regression: rollback`) or by `/rollback`, and reported in
//! the rolled-back ship's own shipping comment.
use super::regression::finish_regression;
use super::{
    decode, load, readings, republish, save, schedule_rollback, ship_config, Ctx, JobError,
};
use crate::domain::{
    millis, DeploymentRef, DeploymentState, PostedComment, PrRef, PrSnapshot, RepoRef,
};
use crate::forge::{DeploymentStart, Forge, ForgeError, RollbackDeployment};
use crate::policy::config::RepoConfig;
use crate::ship::progress;
use crate::ship::record::{RollbackStage, RollbackTarget, ShipRecord};
use crate::ship::rollback::{self as plan, Subject};
use crate::store::StoredShip;
use std::time::Duration;

/// How far back the ships of a repository are looked through: for the last healthy
/// deployment, and for the one `/rollback` acts on.
const SHIPS_LOOKED_BACK: time::Duration = time::Duration::days(90);

/// Times `/rollback` decides again when another step changed the ship meanwhile.
const DECIDE_ATTEMPTS: usize = 5;

/// The repository's ships as `(id, record)`, oldest first.
async fn ships(ctx: &Ctx, repo: &RepoRef) -> Result<Vec<(i64, ShipRecord)>, JobError> {
    let since = ctx.store.now().await?.saturating_sub(SHIPS_LOOKED_BACK);
    let stored = ctx.store.ships(Some(repo), since).await?;
    Ok(stored
        .iter()
        .filter_map(|s| Some((s.id, decode(&s.data).ok()?)))
        .collect())
}

/// What a regression of ship `id` rolls back to: the last ship to its environment that
/// smallbatch judged healthy.
pub(super) async fn last_healthy(
    ctx: &Ctx,
    record: &ShipRecord,
    id: i64,
) -> Result<Option<RollbackTarget>, JobError> {
    let ships = ships(ctx, &record.pr.repo).await?;
    Ok(plan::last_healthy(&ships, &record.environment, id))
}

/// Starts the rollback deployment and records that it did (or why it could not).
pub(super) async fn start(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
) -> Result<Option<StoredShip>, JobError> {
    let Some(target) = record.rollback.as_ref().and_then(|r| r.target.clone()) else {
        return Ok(Some(stored.clone()));
    };
    let pr = &record.pr;
    let description = format!("smallbatch: roll back #{} to #{}", pr.number, target.pr);
    let request = RollbackDeployment {
        sha: &target.sha,
        environment: &record.environment,
        healthy: target.deployment_id,
        regressed: record.deployment_id,
        description: &description,
    };
    let started = forge.start_rollback(&pr.repo, &request).await;
    let (forge_kind, environment) = (pr.repo.forge, record.environment.clone());
    let rollback = record.rollback.as_mut().expect("a rollback is starting");
    match started {
        Ok(DeploymentStart::Created { id }) => {
            rollback.deployment_id = Some(id);
            rollback.stage = RollbackStage::Deploying;
        }
        Ok(DeploymentStart::Following) => rollback.stage = RollbackStage::Deploying,
        // A protected environment, a job GitLab will not run again: the team's to know.
        Err(ForgeError::Refused { reason }) => {
            rollback.stage = RollbackStage::Failed;
            rollback.failure = Some(plan::not_started(forge_kind, &environment, &reason));
        }
        Err(e @ ForgeError::Permanent(_)) => {
            tracing::error!(pr = %record.pr, error = %e, "rollback not started");
            rollback.stage = RollbackStage::Failed;
            rollback.failure = Some(plan::went_wrong(&environment));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(pr = %record.pr, to = %target.sha, stage = ?rollback.stage, "rollback started");
    save(ctx, stored, record).await
}

/// The unfinished ship whose rollback this deployment is: of its target commit, to its
/// environment, and newer than the deployment it rolls back (or the very one GitHub
/// created for it).
pub(super) async fn awaiting(
    ctx: &Ctx,
    repo: &RepoRef,
    deployment: &DeploymentRef,
) -> Result<Option<(StoredShip, ShipRecord)>, JobError> {
    for stored in ctx.store.unfinished_ships(repo).await? {
        let record = decode(&stored.data)?;
        let Some(rollback) = &record.rollback else {
            continue;
        };
        let Some(target) = &rollback.target else {
            continue;
        };
        let ours = match rollback.deployment_id {
            Some(id) => id == deployment.id,
            None => deployment.id > record.deployment_id.unwrap_or(0),
        };
        let waiting = matches!(
            rollback.stage,
            RollbackStage::Starting | RollbackStage::Deploying | RollbackStage::Watching
        );
        if waiting
            && ours
            && target.sha == deployment.sha
            && record.environment == deployment.environment
        {
            return Ok(Some((stored, record)));
        }
    }
    Ok(None)
}

/// The rollback deployment reported: watched from now on, or failed.
pub(super) async fn deployment_changed(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: StoredShip,
    mut record: ShipRecord,
    deployment: &DeploymentRef,
    state: DeploymentState,
) -> Result<(), JobError> {
    let config = ship_config(ctx, forge, &record).await?;
    let rollback = record.rollback.as_mut().expect("awaiting a rollback");
    match rollback.stage {
        // It may report before the step that started it has recorded so.
        RollbackStage::Starting | RollbackStage::Deploying if state.is_final() => {}
        // Recorded by an earlier attempt at this event, which may have stopped before
        // publishing it and scheduling the first check.
        RollbackStage::Watching if rollback.watch.checks_done == 0 => {
            return resume_watch(ctx, forge, &stored, &mut record, &config).await;
        }
        _ => return Ok(()),
    }
    rollback.deployment_id = Some(deployment.id);
    if state == DeploymentState::Success {
        let now = millis::of(ctx.store.now().await?);
        rollback.watch.deployed_at_ms = Some(now);
        rollback.watch.watch_until_ms = Some(now + config.ship.watch.as_millis() as i64);
        rollback.stage = if config.ship.metrics.is_empty() {
            RollbackStage::Unverified
        } else {
            RollbackStage::Watching
        };
    } else {
        rollback.stage = RollbackStage::Failed;
        rollback.failure = Some(plan::deployment_failed(&deployment.environment, state));
    }
    tracing::info!(pr = %record.pr, stage = ?rollback.stage, "rollback deployment reported");
    let (watching, attempt) = (rollback.stage == RollbackStage::Watching, rollback.attempt);
    let Some(stored) = save(ctx, &stored, &record).await? else {
        return Ok(());
    };
    finish_regression(ctx, forge, &stored, &mut record, &config, true).await?;
    if watching {
        schedule_rollback(
            ctx,
            &record.pr,
            stored.id,
            attempt,
            Some(0),
            config.ship.interval,
        )
        .await?;
    }
    Ok(())
}

/// A scheduled step of rollback `attempt`: its start, or a check of its watch.
pub(super) async fn step(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
    attempt: u32,
    after_checks: Option<u32>,
) -> Result<(), JobError> {
    let Some(rollback) = &record.rollback else {
        return Ok(());
    };
    if rollback.attempt != attempt {
        tracing::debug!(pr = %record.pr, attempt, "a step of an earlier rollback; dropped");
        return Ok(());
    }
    match rollback.stage {
        RollbackStage::Watching if after_checks == Some(rollback.watch.checks_done) => {
            check(ctx, forge, stored, record, config).await
        }
        // This step's check is recorded (or it is the start, retried): what followed it
        // may not have happened.
        RollbackStage::Watching => resume_watch(ctx, forge, stored, record, config).await,
        _ => finish_regression(ctx, forge, stored, record, config, false).await,
    }
}

/// One round of readings after the rollback: restored once every metric is within its
/// bound again, not restored when the watch ends first.
async fn check(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let metrics = &config.ship.metrics;
    let rollback = record.rollback.as_mut().expect("a rollback is watched");
    let round = readings::round(ctx, metrics, &rollback.watch.baselines).await;
    let now = millis::of(ctx.store.now().await?);
    progress::record_round(&mut rollback.watch, metrics, &round, now, true);
    if progress::restored(&rollback.watch) {
        rollback.stage = RollbackStage::Restored;
        record.restored_at_ms.get_or_insert(now);
        tracing::info!(pr = %record.pr, "service restored by the rollback");
    } else if rollback
        .watch
        .watch_until_ms
        .is_none_or(|until| now >= until)
    {
        rollback.stage = RollbackStage::NotRestored;
        tracing::warn!(pr = %record.pr, "service not restored by the rollback");
    }
    let rollback = record.rollback.as_ref().expect("a rollback is watched");
    let (watching, attempt, checks) = (
        rollback.stage == RollbackStage::Watching,
        rollback.attempt,
        rollback.watch.checks_done,
    );
    let Some(stored) = save(ctx, stored, record).await? else {
        return Ok(());
    };
    finish_regression(ctx, forge, &stored, record, config, true).await?;
    if watching {
        schedule_rollback(
            ctx,
            &record.pr,
            stored.id,
            attempt,
            Some(checks),
            config.ship.interval,
        )
        .await?;
    }
    Ok(())
}

/// Watching the rollback, with its last check (or its deployment) recorded: the comment
/// brought up to it and the next check scheduled, both at most once.
async fn resume_watch(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let stored = republish(ctx, forge, stored, record, config).await?;
    let rollback = record.rollback.as_ref().expect("a rollback is watched");
    let (attempt, checks) = (rollback.attempt, rollback.watch.checks_done);
    schedule_rollback(
        ctx,
        &record.pr,
        stored.id,
        attempt,
        Some(checks),
        config.ship.interval,
    )
    .await
}

/// `/rollback [environment]` by someone with ship permission: the newest ship to the
/// environment rolled back at once, whatever its watch says; the reply says what
/// happens, or why nothing does.
pub async fn rollback_command(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    config: &RepoConfig,
    environment: Option<&str>,
) -> Result<(), JobError> {
    let environment = environment.unwrap_or(&config.ship.environment);
    for _ in 0..DECIDE_ATTEMPTS {
        let ships = ships(ctx, &pr.repo).await?;
        let found = plan::subject(&ships, environment);
        let link = |id: i64| {
            let (_, ship) = ships.iter().find(|(s, _)| *s == id)?;
            // Only a comment on this very change can be linked from its own page.
            (ship.pr == *pr)
                .then_some(ship.comment_id?)
                .map(|c| pr.repo.forge.comment_url(&snap.html_url, c))
        };
        let id = match found {
            Subject::Ship { ship } => ship,
            other => {
                let shown = match other {
                    Subject::InProgress { ship } | Subject::AlreadyRolledBack { ship, .. } => {
                        link(ship)
                    }
                    _ => None,
                };
                let reply = plan::refused(environment, &other, shown.as_deref());
                forge.create_comment(pr, &reply).await?;
                return Ok(());
            }
        };
        let Some((stored, mut record)) = load(ctx, id).await? else {
            continue;
        };
        let target = plan::last_healthy(&ships, environment, id);
        let now = millis::of(ctx.store.now().await?);
        let user = comment.author.login.clone();
        plan::begin(&mut record, target, Some(user), now, true);
        if save(ctx, &stored, &record).await?.is_none() {
            continue;
        }
        let attempt = record.rollback.as_ref().map_or(1, |r| r.attempt);
        tracing::info!(%pr, ship = id, %environment, attempt, user = %comment.author.login, "rollback requested");
        super::schedule_rollback(ctx, &record.pr, id, attempt, None, Duration::ZERO).await?;
        let reply = plan::started(
            pr.repo.forge,
            environment,
            record.pr.number.0,
            link(id).as_deref(),
        );
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    // Other steps kept changing the ship: the command is run again a little later.
    Err(JobError::Forge(ForgeError::Transient {
        message: format!(
            "the ships of {} kept changing while /rollback decided",
            pr.repo.full_name
        ),
        retry_after: None,
    }))
}
