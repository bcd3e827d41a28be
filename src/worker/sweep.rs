//! The periodic sweep, for what webhooks alone cannot guarantee: GitHub does not
//! redeliver a failed webhook by itself, and events sent while we were down may be lost.
//!
//! Each sweep, on one replica at a time (a lease in the database):
//! - GitHub: reads the App's delivery log back to the previous sweep (at most a few
//!   pages) and asks for one redelivery of each delivery that never succeeded and that
//!   we did not store;
//! - both forges: lists the open PRs of recently active repositories (one call per
//!   repository) and queues an evaluation of each whose head the bot has not evaluated
//!   and that has no job waiting or running;
//! - queues again the parked steps of unfinished ships, so a ship stopped by an outage
//!   longer than its retries finishes once it is over;
//! - reads back each deployment a ship has waited on for a while, and queues the event
//!   of one that finished without its webhook;
//! - deletes a bounded batch of jobs completed long ago, so the queue table stays small.

use super::{Ctx, JobError};
use crate::domain::{CommitSha, Delivery, DeliveryId, DomainEvent, PrRef, RepoRef};
use crate::forge::{Deliveries, Forge, HookDelivery};
use crate::store::Enqueued;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// The lease row that elects the sweeping replica; held only while a sweep runs.
pub const LEASE_NAME: &str = "sweep";
/// When the last sweep of any replica started: replicas sweep once per interval
/// between them.
pub const STARTED_MARK: &str = "sweep.started";
/// How long the sweep lease outlives a holder that stops renewing it: a replica that
/// dies mid-sweep frees it this soon. Renewed every third of it while a sweep runs.
const SWEEP_LEASE: Duration = Duration::from_secs(9);
/// How often a replica looks whether a sweep is due.
const DUE_CHECK: Duration = Duration::from_secs(3);
/// How far back the first sweep of a process reads the delivery log.
const FIRST_LOOKBACK: Duration = Duration::from_secs(3600);
/// Overlap with the previous sweep, for deliveries logged while it ran.
const OVERLAP: Duration = Duration::from_secs(60);
/// Pages of 100 deliveries read per sweep at most.
const MAX_DELIVERY_PAGES: usize = 3;
/// Attempts (the original and our redeliveries) after which a delivery is given up:
/// one that fails this often will not succeed by asking again.
const MAX_ATTEMPTS_PER_DELIVERY: usize = 3;
/// Repositories with a job in this window are swept.
const ACTIVE_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);
/// Open PRs read per repository at most (three pages).
const MAX_OPEN_PRS: usize = 300;
/// How long completed jobs are kept: their delivery ids dedupe redeliveries, which
/// GitHub allows for three days and GitLab makes within hours.
const DONE_JOBS_KEPT: Duration = Duration::from_secs(30 * 24 * 3600);
/// Completed jobs deleted per statement, and statements per sweep: a backlog is
/// worked off over several sweeps instead of one long delete.
const PRUNE_BATCH: u32 = 1000;
const MAX_PRUNE_BATCHES: usize = 10;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Redeliveries requested.
    pub redelivered: usize,
    /// Repositories whose open PRs were listed.
    pub repos: usize,
    /// Evaluations queued for heads the bot had not evaluated.
    pub requeued: usize,
    /// Completed jobs deleted after [`DONE_JOBS_KEPT`].
    pub pruned: u64,
    /// Parked steps of unfinished ships queued again.
    pub resumed: usize,
    /// Events queued for deployments that finished without their webhook.
    pub deployments_read: usize,
}

/// Sweeps every `interval` (between all replicas) until `shutdown`. The first sweep
/// after this process starts runs at once, whenever the previous one ran: events may
/// have been lost while it was down.
pub async fn run(ctx: Arc<Ctx>, interval: Duration, shutdown: CancellationToken) {
    let mut sweeper = Sweeper::default();
    let mut process_start = None;
    loop {
        if process_start.is_none() {
            process_start = ctx.store.now().await.ok();
        }
        if let Some(start) = process_start {
            match sweep_due(&ctx, start, interval).await {
                Ok(true) => {
                    if !sweep_under_lease(&ctx, &mut sweeper, &shutdown).await {
                        break;
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot tell whether a sweep is due"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(DUE_CHECK) => {}
        }
    }
    tracing::info!("sweep stopped");
}

/// Due when no sweep started since this process did, or none within `interval`.
async fn sweep_due(
    ctx: &Ctx,
    process_start: OffsetDateTime,
    interval: Duration,
) -> Result<bool, JobError> {
    let Some(last) = ctx.store.mark(STARTED_MARK).await? else {
        return Ok(true);
    };
    let now = ctx.store.now().await?;
    let interval = time::Duration::try_from(interval).unwrap_or(time::Duration::MAX);
    Ok(last < process_start || last <= now.saturating_sub(interval))
}

/// One sweep, if this replica gets the lease; the lease is renewed while it runs and
/// given up after. `false` when shutdown stopped it.
async fn sweep_under_lease(ctx: &Ctx, sweeper: &mut Sweeper, shutdown: &CancellationToken) -> bool {
    match ctx
        .store
        .try_lease(LEASE_NAME, &ctx.worker_id, SWEEP_LEASE)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("another replica is sweeping");
            return true;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the sweep lease; sweep skipped");
            return true;
        }
    }
    let marked = async {
        let now = ctx.store.now().await?;
        ctx.store.set_mark(STARTED_MARK, &ctx.worker_id, now).await
    };
    if let Err(e) = marked.await {
        tracing::warn!(error = %e, "cannot record the sweep; sweep skipped");
        return true;
    }
    // Everything a sweep does is idempotent, so stopping it midway loses nothing.
    let finished = tokio::select! {
        _ = shutdown.cancelled() => false,
        () = keep_sweep_lease(ctx) => {
            tracing::warn!("sweep lease lost; another replica sweeps");
            true
        }
        result = sweeper.sweep(ctx) => {
            match result {
                Ok(report) => tracing::info!(
                    redelivered = report.redelivered, repos = report.repos,
                    requeued = report.requeued, resumed = report.resumed,
                    deployments_read = report.deployments_read,
                    pruned = report.pruned, "sweep done"
                ),
                Err(e) => tracing::warn!(error = %e, "sweep stopped; next one retries"),
            }
            true
        }
    };
    if let Err(e) = ctx.store.release_lease(LEASE_NAME, &ctx.worker_id).await {
        tracing::warn!(error = %e, "cannot give up the sweep lease; it expires");
    }
    finished
}

/// Renews the sweep lease every third of it; returns when it was lost.
async fn keep_sweep_lease(ctx: &Ctx) {
    loop {
        tokio::time::sleep(SWEEP_LEASE / 3).await;
        match ctx
            .store
            .try_lease(LEASE_NAME, &ctx.worker_id, SWEEP_LEASE)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "cannot renew the sweep lease"),
        }
    }
}

/// One process's sweeps; remembers where the last one read the delivery log up to.
#[derive(Debug, Default)]
pub struct Sweeper {
    last_swept: Option<OffsetDateTime>,
}

impl Sweeper {
    /// One sweep. Per-repository failures that retrying cannot fix (a repository gone,
    /// access lost) are logged and skipped; a transient one (an outage) ends the sweep.
    pub async fn sweep(&mut self, ctx: &Ctx) -> Result<SweepReport, JobError> {
        let started = OffsetDateTime::now_utc();
        let mut report = SweepReport::default();
        if let Some(log) = ctx.github.as_deref().and_then(|github| github.deliveries()) {
            let since = match self.last_swept {
                Some(last) => last - OVERLAP,
                None => started - FIRST_LOOKBACK,
            };
            report.redelivered = redeliver_failed(ctx, log, since).await?;
        }
        self.last_swept = Some(started);
        for repo in ctx.store.recent_repos(ACTIVE_WITHIN).await? {
            let Some(forge) = ctx.forge(repo.forge) else {
                continue;
            };
            let swept = async {
                let requeued = requeue_unevaluated(ctx, forge, &repo).await?;
                let read = super::ship::read_awaited_deployments(ctx, forge, &repo).await?;
                Ok::<_, JobError>((requeued, read))
            };
            match swept.await {
                Ok((queued, read)) => {
                    report.repos += 1;
                    report.requeued += queued;
                    report.deployments_read += read;
                }
                Err(JobError::Forge(e)) if !e.is_transient() => {
                    tracing::warn!(repo = %repo.key(), error = %e, "cannot list open PRs; skipped");
                }
                Err(e) => return Err(e),
            }
        }
        if report.requeued > 0 {
            ctx.job_stored.notify_one();
        }
        report.resumed = super::ship::resume_parked(ctx).await?;
        report.pruned = prune_done_jobs(ctx).await?;
        Ok(report)
    }
}

async fn prune_done_jobs(ctx: &Ctx) -> Result<u64, JobError> {
    let mut pruned = 0;
    for _ in 0..MAX_PRUNE_BATCHES {
        let deleted = ctx
            .store
            .prune_done_jobs(DONE_JOBS_KEPT, PRUNE_BATCH)
            .await?;
        pruned += deleted;
        if deleted < u64::from(PRUNE_BATCH) {
            break;
        }
    }
    Ok(pruned)
}

/// Asks once for each failed delivery since `since` that the store does not have.
async fn redeliver_failed(
    ctx: &Ctx,
    deliveries: &dyn Deliveries,
    since: OffsetDateTime,
) -> Result<usize, JobError> {
    let log = deliveries
        .recent_deliveries(since, MAX_DELIVERY_PAGES)
        .await?;
    let mut asked = 0;
    for attempt in to_redeliver(&log) {
        // Stored but answered too late (a timeout): the work is queued already.
        if ctx
            .store
            .has_delivery(&DeliveryId::github(&attempt.guid))
            .await?
        {
            continue;
        }
        match deliveries.redeliver(attempt.id).await {
            Ok(()) => {
                tracing::info!(guid = %attempt.guid, attempt = attempt.id, "redelivery requested");
                asked += 1;
            }
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => tracing::warn!(guid = %attempt.guid, error = %e, "redelivery refused"),
        }
    }
    Ok(asked)
}

/// The newest attempt of each delivery (by guid) that no attempt delivered, unless it
/// was already attempted [`MAX_ATTEMPTS_PER_DELIVERY`] times. `log` is newest first.
pub fn to_redeliver(log: &[HookDelivery]) -> Vec<&HookDelivery> {
    let mut by_guid: HashMap<&str, Vec<&HookDelivery>> = HashMap::new();
    let mut order = Vec::new();
    for attempt in log {
        let attempts = by_guid.entry(attempt.guid.as_str()).or_default();
        if attempts.is_empty() {
            order.push(attempt.guid.as_str());
        }
        attempts.push(attempt);
    }
    order
        .into_iter()
        .filter_map(|guid| {
            let attempts = &by_guid[guid];
            let failed = attempts.iter().all(|a| !a.succeeded);
            (failed && attempts.len() < MAX_ATTEMPTS_PER_DELIVERY).then(|| attempts[0])
        })
        .collect()
}

/// Queues an evaluation of each open PR whose head differs from the one last evaluated
/// (or that was never evaluated) and that has no job queued or running. Returns how many
/// were queued.
async fn requeue_unevaluated(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
) -> Result<usize, JobError> {
    let mut queued = 0;
    for open in forge.open_prs(repo, None, MAX_OPEN_PRS).await? {
        let pr = PrRef {
            repo: repo.clone(),
            number: open.number,
        };
        let key = pr.key();
        let evaluated = ctx.store.pr_record(&pr).await?.map(|r| r.head_sha);
        if evaluated.as_ref() == Some(&open.head_sha) {
            continue;
        }
        // A job of the PR is still to run (at start-up, typically the webhooks of the
        // downtime) and an evaluation reads the head as of when it runs, so one more would
        // fetch the PR twice. Should that job not evaluate (a command), the next sweep
        // finds the head still unevaluated and no job, and queues one.
        if ctx.store.has_live_job(&key).await? {
            tracing::debug!(pr = %key, "head not evaluated but a job is queued; left to it");
            continue;
        }
        let delivery = sweep_delivery(pr, open.head_sha);
        if ctx.store.enqueue(&delivery).await? == Enqueued::New {
            tracing::info!(pr = %key, delivery = %delivery.id, "head not evaluated; queued");
            queued += 1;
        }
    }
    Ok(queued)
}

/// Derived from the head, so no sweep queues the same head twice.
fn sweep_delivery(pr: PrRef, head: CommitSha) -> Delivery {
    Delivery {
        id: DeliveryId::sweep(&pr, &head),
        event: DomainEvent::PrChanged {
            pr,
            head_sha: Some(head),
            cause: "sweep: head not evaluated".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstallationId, PrNumber};

    fn attempt(id: u64, guid: &str, succeeded: bool) -> HookDelivery {
        HookDelivery {
            id,
            guid: guid.into(),
            succeeded,
        }
    }

    #[test]
    fn redelivers_the_newest_attempt_of_each_delivery_that_never_succeeded() {
        let log = [
            attempt(9, "b", false),
            attempt(8, "a", true),
            attempt(7, "c", false),
            attempt(6, "a", false),
            attempt(5, "b", false),
        ];
        let ids: Vec<u64> = to_redeliver(&log).iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![9, 7]);
    }

    #[test]
    fn gives_up_on_a_delivery_after_three_failed_attempts() {
        let log = [
            attempt(3, "a", false),
            attempt(2, "a", false),
            attempt(1, "a", false),
        ];
        assert!(to_redeliver(&log).is_empty());
        assert_eq!(to_redeliver(&log[1..]).len(), 1);
    }

    #[test]
    fn sweep_delivery_ids_name_the_pr_and_head() {
        let pr = PrRef {
            repo: RepoRef::github("o/r", InstallationId(1)),
            number: PrNumber(7),
        };
        let d = sweep_delivery(pr, CommitSha::new("abc"));
        assert_eq!(d.id.as_str(), "sweep:github:o/r#7@abc");
        assert_eq!(d.event.serial_key(), "github:o/r#7");
    }
}
