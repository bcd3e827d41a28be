//! Drives `/ship` through its stages. Each step does one thing on the forge, then
//! records that it happened (compare-and-set), then tells the people; a retry or a
//! restart at any point reads the record and finishes the step it finds, exactly once.
mod controls;
mod deployment_read;
mod readings;
mod regression;
mod request;
mod resume;
mod reverted;
mod rollback;
mod steps;

pub use controls::Ask;
pub use deployment_read::read_awaited_deployments;
pub use request::{record_override, request};
pub use resume::resume_parked;
pub use reverted::change_merged;
pub use rollback::rollback_command;
pub use steps::{deployment_changed, step};

use super::{repo_policy, Ctx, JobError};
use crate::domain::{Delivery, DeliveryId, DomainEvent, PrRef};
use crate::forge::Forge;
use crate::policy::config::RepoConfig;
use crate::ship::record::ShipRecord;
use crate::ship::text;
use crate::store::{StoreError, StoredShip};
use std::time::Duration;

/// The policy of the ship's base branch, as it is now (cached by commit).
async fn ship_config(
    ctx: &Ctx,
    forge: &dyn Forge,
    ship: &ShipRecord,
) -> Result<RepoConfig, JobError> {
    let repo = &ship.pr.repo;
    let commit = repo_policy::policy_commit(ctx, forge, repo, &ship.base_ref).await?;
    let policy = repo_policy::load(ctx, forge, repo, &commit).await?;
    // A policy broken after the ship started keeps the defaults rather than stranding it.
    Ok(policy.config.unwrap_or_default())
}

fn encode(record: &ShipRecord) -> String {
    serde_json::to_string(record).expect("a ship record always serializes")
}

fn decode(data: &str) -> Result<ShipRecord, JobError> {
    serde_json::from_str(data).map_err(|e| JobError::Store(StoreError::Corrupt(e.to_string())))
}

async fn load(ctx: &Ctx, id: i64) -> Result<Option<(StoredShip, ShipRecord)>, JobError> {
    match ctx.store.ship(id).await? {
        Some(stored) => {
            let record = decode(&stored.data)?;
            Ok(Some((stored, record)))
        }
        None => Ok(None),
    }
}

/// Compare-and-set; `None` when another step got there first (it carries on from there).
async fn save(
    ctx: &Ctx,
    stored: &StoredShip,
    record: &ShipRecord,
) -> Result<Option<StoredShip>, JobError> {
    let saved = ctx
        .store
        .update_ship(
            stored.id,
            stored.version,
            record.stage.as_str(),
            record.finished(),
            record.merge_sha.as_ref(),
            &encode(record),
        )
        .await?;
    if saved.is_none() {
        tracing::info!(
            ship = stored.id,
            "ship moved on concurrently; this step stops"
        );
    }
    Ok(saved)
}

/// Edits the one shipping comment to match the record, posting it the first time.
async fn publish(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<StoredShip, JobError> {
    let body = text::shipping_comment(stored.id, record, &watching(config));
    match record.comment_id {
        Some(id) => {
            forge
                .edit_comment(&record.pr, crate::domain::CommentId(id), &body)
                .await?;
            Ok(stored.clone())
        }
        None => adopt_comment(ctx, forge, stored, record, &body).await,
    }
}

/// [`publish`] for a step that resumes a stage recorded earlier: that attempt may have
/// published it already, so the comment is looked at and edited only if it differs.
async fn republish(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<StoredShip, JobError> {
    let body = text::shipping_comment(stored.id, record, &watching(config));
    adopt_comment(ctx, forge, stored, record, &body).await
}

/// What the shipping comment shows of the policy in force.
fn watching(config: &RepoConfig) -> text::Watching {
    text::Watching {
        watch_ms: config.ship.watch.as_millis() as i64,
        interval_ms: config.ship.interval.as_millis() as i64,
        metrics: config.ship.metrics.len(),
    }
}

/// The shipping comment brought up to `body`, or posted; its id recorded.
async fn adopt_comment(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    body: &str,
) -> Result<StoredShip, JobError> {
    let id = super::gate::adopt_or_post(forge, &record.pr, &text::marker(stored.id), body).await?;
    if record.comment_id == Some(id.0) {
        return Ok(stored.clone());
    }
    record.comment_id = Some(id.0);
    Ok(save(ctx, stored, record)
        .await?
        .unwrap_or_else(|| stored.clone()))
}

async fn save_and_publish(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    if record.stage.finished() && record.verdict_at_ms.is_none() {
        record.verdict_at_ms = Some(crate::domain::millis::of(ctx.store.now().await?));
    }
    let Some(stored) = save(ctx, stored, record).await? else {
        return Ok(());
    };
    publish(ctx, forge, &stored, record, config)
        .await
        .map(|_| ())
}

/// The ship's first step, due now.
async fn schedule_start(ctx: &Ctx, pr: &PrRef, ship_id: i64) -> Result<(), JobError> {
    schedule(ctx, pr, ship_id, None, Duration::ZERO).await
}

/// The telemetry check that follows `after_checks` recorded checks, due in `delay`.
async fn schedule_check(
    ctx: &Ctx,
    pr: &PrRef,
    ship_id: i64,
    after_checks: u32,
    delay: Duration,
) -> Result<(), JobError> {
    schedule(ctx, pr, ship_id, Some(after_checks), delay).await
}

/// A step of attempt `attempt` at rolling the ship back: its start (`after_checks:
/// None`) or the check of its watch that follows `after_checks` recorded ones.
async fn schedule_rollback(
    ctx: &Ctx,
    pr: &PrRef,
    ship_id: i64,
    attempt: u32,
    after_checks: Option<u32>,
    delay: Duration,
) -> Result<(), JobError> {
    let delivery = Delivery {
        id: DeliveryId::rollback_step(ship_id, attempt, after_checks),
        event: DomainEvent::ShipStep {
            pr: pr.clone(),
            ship_id,
            after_checks,
            rollback: Some(attempt),
        },
    };
    ctx.store.enqueue_at(&delivery, delay).await?;
    ctx.job_stored.notify_one();
    Ok(())
}

async fn schedule(
    ctx: &Ctx,
    pr: &PrRef,
    ship_id: i64,
    after_checks: Option<u32>,
    delay: Duration,
) -> Result<(), JobError> {
    // One job per step of one ship: scheduling it again (a retry that resumes) is a no-op.
    let delivery = Delivery {
        id: DeliveryId::ship_step(ship_id, after_checks),
        event: DomainEvent::ShipStep {
            pr: pr.clone(),
            ship_id,
            after_checks,
            rollback: None,
        },
    };
    ctx.store.enqueue_at(&delivery, delay).await?;
    ctx.job_stored.notify_one();
    Ok(())
}
