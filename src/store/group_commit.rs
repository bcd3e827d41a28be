//! Group commit for deliveries stored in SQLite. SQLite commits one writer at a time,
//! each commit with an fsync, so deliveries arriving together are written by one task in
//! one transaction and each is answered after that transaction commits. Durability is
//! unchanged (nobody is answered before the fsync); the fsyncs drop to one per batch,
//! and the webhook handlers no longer queue on SQLite's write lock.

use super::{sqlite, StoreError, StoreResult};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// Deliveries written in one transaction at most.
const MAX_BATCH: usize = 256;

/// A delivery to store as a queued job.
pub(super) struct NewJob {
    pub delivery_id: String,
    pub key: String,
    pub event: String,
    pub delay_ms: i64,
    pub offset: i64,
}

struct Request {
    job: NewJob,
    /// `true` when stored, `false` for a known delivery id.
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// The handle of the writer task; the task ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub(super) struct Intake {
    requests: mpsc::Sender<Request>,
}

impl Intake {
    /// Starts the writer task on the current Tokio runtime.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (requests, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(pool, incoming));
        Self { requests }
    }

    /// Stores `job` unless its delivery id is known; returns once it is committed.
    pub(super) async fn enqueue(&self, job: NewJob) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { job, reply })
            .await
            .map_err(|_| StoreError::IntakeStopped)?;
        answer.await.map_err(|_| StoreError::IntakeStopped)?
    }
}

async fn write_batches(pool: SqlitePool, mut incoming: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write(&pool, &batch).await {
            Ok(stored) => {
                for (request, stored) in batch.drain(..).zip(stored) {
                    // The caller may have gone (its client hung up); the job stays stored.
                    let _ = request.reply.send(Ok(stored));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, deliveries = batch.len(), "storing deliveries failed");
                let message = e.to_string();
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// One transaction for the whole batch: all of it is stored, or none. A delivery id that
/// appears twice in a batch is stored once, like one sent twice in a row.
async fn write(pool: &SqlitePool, batch: &[Request]) -> StoreResult<Vec<bool>> {
    let mut tx = pool.begin().await?;
    let mut stored = Vec::with_capacity(batch.len());
    for Request { job, .. } in batch {
        let inserted = sqlite::enqueue(
            &mut *tx,
            &job.delivery_id,
            &job.key,
            &job.event,
            job.delay_ms,
            job.offset,
        )
        .await?;
        stored.push(inserted);
    }
    tx.commit().await?;
    Ok(stored)
}
