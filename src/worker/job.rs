//! One job: run it, then complete, retry or park it.
use super::{backoff, gate, Ctx};
use crate::domain::{Delivery, DomainEvent};
use crate::forge::ForgeError;
use crate::store::{Job, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no {0} forge is configured")]
    ForgeNotConfigured(&'static str),
}

impl JobError {
    /// `Some(hint)` when a later attempt may succeed.
    fn retry_hint(&self) -> Option<Option<Duration>> {
        match self {
            JobError::Forge(ForgeError::Transient { retry_after, .. }) => Some(*retry_after),
            JobError::Store(_) => Some(None),
            JobError::Forge(_) | JobError::ForgeNotConfigured(_) => None,
        }
    }
}

pub async fn run(ctx: Arc<Ctx>, job: Job) {
    let span = tracing::info_span!("job", id = job.id, delivery = %job.delivery_id, attempt = job.attempts);
    async {
        tokio::select! {
            result = handle(&ctx, &job) => finish(&ctx, &job, result).await,
            // The job was taken over: stop here rather than do its work twice.
            () = keep_lease(&ctx, &job) => {}
        }
    }
    .instrument(span)
    .await
}

/// Renews the job's lease every third of it while the job runs; returns only when the
/// lease is lost (another worker took the job over, or the database is unreachable long
/// enough for the lease to lapse).
async fn keep_lease(ctx: &Ctx, job: &Job) {
    let lease = ctx.settings.lease;
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match ctx.store.renew(job, lease).await {
            Ok(()) => {}
            Err(e @ StoreError::LeaseLost { .. }) => {
                tracing::warn!(error = %e, "lease lost; abandoning the job to its new owner");
                return;
            }
            // A blip: keep working; the lease has two more renewals' worth of slack.
            Err(e) => tracing::warn!(error = %e, "cannot renew lease"),
        }
    }
}

async fn finish(ctx: &Ctx, job: &Job, result: Result<(), JobError>) {
    let stored = match result {
        Ok(()) => ctx.store.complete(job).await,
        // The PR or repository is gone, or the app lost access: nothing to retry.
        Err(JobError::Forge(ForgeError::NotFound(what))) => {
            tracing::warn!(%what, "not found on the forge; job dropped");
            ctx.store.complete(job).await
        }
        Err(e) => match e.retry_hint() {
            Some(hint) if job.attempts < ctx.settings.max_attempts => {
                let delay = backoff::delay(job.attempts, hint);
                tracing::warn!(error = %e, retry_in_secs = delay.as_secs(), "job failed; will retry");
                ctx.store.retry(job, &e.to_string(), delay).await
            }
            _ => {
                tracing::error!(error = %e, "job failed; parked");
                ctx.store.park(job, &e.to_string()).await
            }
        },
    };
    match stored {
        Ok(()) => {}
        // Our lease ran out and another worker took the job over; its outcome counts.
        Err(e @ StoreError::LeaseLost { .. }) => {
            tracing::warn!(error = %e, "job outcome not recorded")
        }
        // The lease expires and the job runs again; the gate is idempotent.
        Err(e) => tracing::error!(error = %e, "cannot record job outcome"),
    }
}

async fn handle(ctx: &Ctx, job: &Job) -> Result<(), JobError> {
    match &job.event {
        DomainEvent::PrChanged { pr, cause, .. } => {
            let forge = ctx
                .forge(pr.repo.forge)
                .ok_or(JobError::ForgeNotConfigured(pr.repo.forge.as_str()))?;
            tracing::debug!(%pr, %cause, "evaluating");
            gate::evaluate(ctx, forge, pr).await
        }
        DomainEvent::PrClosed { pr } => super::stack::closed(ctx, pr, &job.delivery_id).await,
        DomainEvent::CommentPosted { pr, comment } => {
            let forge = ctx
                .forge(pr.repo.forge)
                .ok_or(JobError::ForgeNotConfigured(pr.repo.forge.as_str()))?;
            super::commands::handle(ctx, forge, pr, comment).await
        }
        DomainEvent::DeploymentChanged {
            repo,
            deployment,
            state,
        } => {
            let forge = ctx
                .forge(repo.forge)
                .ok_or(JobError::ForgeNotConfigured(repo.forge.as_str()))?;
            super::ship::deployment_changed(ctx, forge, repo, deployment, *state).await
        }
        DomainEvent::ChangeMerged { pr, title, body } => {
            super::ship::change_merged(ctx, pr, title, body).await
        }
        DomainEvent::MergeGroupQueued { repo, group } => {
            let forge = ctx
                .forge(repo.forge)
                .ok_or(JobError::ForgeNotConfigured(repo.forge.as_str()))?;
            super::merge_group::checks_requested(ctx, forge, repo, group).await
        }
        DomainEvent::ShipStep {
            pr,
            ship_id,
            after_checks,
            rollback,
        } => {
            let forge = ctx
                .forge(pr.repo.forge)
                .ok_or(JobError::ForgeNotConfigured(pr.repo.forge.as_str()))?;
            super::ship::step(ctx, forge, *ship_id, *after_checks, *rollback).await
        }
        DomainEvent::PolicyChanged { repo, branch } => {
            let forge = ctx
                .forge(repo.forge)
                .ok_or(JobError::ForgeNotConfigured(repo.forge.as_str()))?;
            super::repo_policy::refresh_policy_commit(ctx, forge, repo, branch).await?;
            let prs = forge.open_prs(repo, Some(branch), usize::MAX).await?;
            tracing::info!(repo = %repo.full_name, %branch, prs = prs.len(), "policy changed; re-evaluating open PRs");
            for crate::forge::OpenPr { number, .. } in prs {
                let pr = crate::domain::PrRef {
                    repo: repo.clone(),
                    number,
                };
                let delivery = Delivery {
                    // Derived ids keep a retried fan-out from queueing a PR twice.
                    id: job.delivery_id.for_pr(number),
                    event: DomainEvent::PrChanged {
                        pr,
                        head_sha: None,
                        cause: format!("policy changed on {branch}"),
                    },
                };
                ctx.store.enqueue(&delivery).await?;
            }
            ctx.job_stored.notify_one();
            Ok(())
        }
    }
}
