//! A ship whose step kept failing (a forge outage longer than a job's retries) would
//! stay where it stopped: its parked step is queued again by the sweep, for as long as
//! the ship is unfinished, so it finishes once the cause is gone.
use super::{Ctx, JobError};

/// Queues again every parked step of an unfinished ship; returns how many.
pub async fn resume_parked(ctx: &Ctx) -> Result<usize, JobError> {
    let mut resumed = 0;
    for (job, ship) in ctx.store.parked_ship_steps().await? {
        let unfinished = ctx.store.ship(ship).await?.is_some_and(|s| !s.finished);
        if unfinished && ctx.store.requeue_parked(job).await? {
            tracing::info!(ship, job, "parked ship step queued again");
            resumed += 1;
        }
    }
    if resumed > 0 {
        ctx.job_stored.notify_one();
    }
    Ok(resumed)
}
