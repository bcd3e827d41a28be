//! A ship waits in "deploying" until its deployment reports. That report is a webhook,
//! which can be lost (GitHub does not redeliver by itself; GitLab gives up on a failing
//! hook) or whose job can be parked by an outage. The sweep reads each awaited
//! deployment back from the forge and, once it has finished, queues the event its
//! webhook would have queued: the same path, so a late webhook changes nothing.
use super::{decode, Ctx, JobError};
use crate::domain::{Delivery, DeliveryId, DomainEvent, RepoRef};
use crate::forge::Forge;
use std::time::Duration;

/// A ship changed within this is left to its webhook, which normally comes in seconds.
const LEFT_TO_WEBHOOK: Duration = Duration::from_secs(60);

/// Queues the event of each finished deployment that a ship of `repo` still waits on;
/// returns how many.
pub async fn read_awaited_deployments(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
) -> Result<usize, JobError> {
    let quiet_since = ctx.store.now().await? - LEFT_TO_WEBHOOK;
    let mut queued = 0;
    for stored in ctx.store.unfinished_ships(repo).await? {
        if stored.updated_at > quiet_since {
            continue;
        }
        let record = decode(&stored.data)?;
        let Some(awaited) = record.awaited_deployment() else {
            continue;
        };
        let (deployment, state) = match forge.deployment_now(repo, &awaited).await {
            Ok(Some(now)) => now,
            Ok(None) => continue,
            // One deployment gone or unreadable (deleted, access lost) leaves the others
            // to be read; an outage ends the sweep, and the next one tries again.
            Err(e) if !e.is_transient() => {
                tracing::warn!(ship = stored.id, error = %e, "cannot read the awaited deployment back");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !state.is_final() {
            continue;
        }
        let delivery = Delivery {
            id: DeliveryId::deployment_read(&repo.key(), deployment.id, state.as_str()),
            event: DomainEvent::DeploymentChanged {
                repo: repo.clone(),
                deployment,
                state,
            },
        };
        if ctx.store.enqueue(&delivery).await? == crate::store::Enqueued::New {
            tracing::info!(ship = stored.id, delivery = %delivery.id, "deployment finished without its webhook; queued");
            queued += 1;
        }
    }
    if queued > 0 {
        ctx.job_stored.notify_one();
    }
    Ok(queued)
}
