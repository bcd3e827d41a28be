//! Claims stored deliveries and runs them: a bounded pool of jobs, jobs on one PR
//! serialized by the store, drained on shutdown.

mod backoff;
mod commands;
mod controls;
mod gate;
mod job;
mod merge_group;
mod owners;
mod repo_policy;
mod score;
mod ship;
mod stack;
pub mod sweep;

pub use job::JobError;

use crate::domain::ForgeKind;
use crate::forge::Forge;
use crate::settings::WorkerSettings;
use crate::store::{Job, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Evaluations by conclusion since start-up, for `/metrics`.
#[derive(Debug, Default)]
pub struct VerdictCounts(std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>);

impl VerdictCounts {
    pub fn count(&self, verdict: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(verdict)
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().map(|(k, v)| (*k, *v)).collect()
    }
}

/// Everything a job needs, passed as one value.
pub struct Ctx {
    pub store: Store,
    pub github: Option<Arc<dyn Forge>>,
    pub gitlab: Option<Arc<dyn Forge>>,
    /// Production telemetry for `/ship`; server configuration, never a repository's.
    pub prometheus: Option<crate::telemetry::Prometheus>,
    pub settings: WorkerSettings,
    /// Woken by intake when a job is stored.
    pub job_stored: Arc<Notify>,
    /// Unique per process, recorded with each lease.
    pub worker_id: String,
    pub verdicts: VerdictCounts,
    /// Members of the teams owners name, read recently.
    pub teams: owners::TeamCache,
    /// Where the web page of each PR is published, when people can reach it: GitLab's
    /// commit status links there, since GitLab has nowhere else to show the summary.
    pub pages_url: Option<url::Url>,
}

impl Ctx {
    pub fn forge(&self, kind: ForgeKind) -> Option<&dyn Forge> {
        match kind {
            ForgeKind::GitHub => self.github.as_deref(),
            ForgeKind::GitLab => self.gitlab.as_deref(),
        }
    }
}

/// Picks up work stored by other replicas and jobs whose retry time has come.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Runs until `shutdown`, then waits up to `drain_timeout` for in-flight jobs and hands
/// back any still running, so another worker takes them over at once.
pub async fn run(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut claimed: HashMap<tokio::task::Id, Job> = HashMap::new();
    loop {
        while inflight.len() < ctx.settings.concurrency {
            match ctx.store.claim(&ctx.worker_id, ctx.settings.lease).await {
                Ok(Some(job)) => {
                    let handle = inflight.spawn(job::run(ctx.clone(), job.clone()));
                    claimed.insert(handle.id(), job);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim jobs");
                    break;
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = inflight.join_next_with_id(), if !inflight.is_empty() => {
                forget(&mut claimed, done);
            }
            _ = ctx.job_stored.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
    tracing::info!(in_flight = inflight.len(), "worker draining");
    let drained = tokio::time::timeout(ctx.settings.drain_timeout, async {
        while let Some(done) = inflight.join_next_with_id().await {
            forget(&mut claimed, done);
        }
    })
    .await;
    if drained.is_err() {
        inflight.abort_all();
        while inflight.join_next().await.is_some() {}
        for job in claimed.values() {
            if let Err(e) = ctx.store.release(job).await {
                tracing::error!(job = job.id, error = %e, "cannot hand back job; its lease will expire");
            }
        }
    }
    tracing::info!("worker stopped");
}

fn forget(
    claimed: &mut HashMap<tokio::task::Id, Job>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(e) => {
            // A panicking job keeps its lease; it expires and the job is retried.
            tracing::error!(error = %e, "job task failed");
            e.id()
        }
    };
    claimed.remove(&id);
}
