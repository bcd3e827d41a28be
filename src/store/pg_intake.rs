//! Group commit of deliveries on PostgreSQL. Each delivery in its own transaction cost
//! a commit (and a WAL flush) per webhook, from a pool the worker shares: with 32
//! senders the benchmark's p99 was the wait for a connection. One task instead inserts
//! the deliveries that arrive together with one statement in one transaction, and
//! answers each after that commit, so nobody is answered before their delivery is
//! durable. The worker's queries keep committing concurrently on the rest of the pool.

use super::{StoreError, StoreResult};
use sqlx::PgPool;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// Deliveries inserted by one statement at most.
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

/// The handle of the intake task; the task ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub(super) struct PgIntake {
    requests: mpsc::Sender<Request>,
}

impl PgIntake {
    pub(super) fn start(pool: PgPool) -> Self {
        let (requests, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(insert_batches(pool, incoming));
        Self { requests }
    }

    /// Stores `job` unless its delivery id is known; returns once it is committed.
    pub(super) async fn enqueue(&self, job: NewJob) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { job, reply })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn insert_batches(pool: PgPool, mut incoming: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match insert(&pool, &batch).await {
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

/// One statement for the whole batch (it commits on its own): all of it is stored, or
/// none. A delivery id that appears twice in a batch is stored once, like one sent twice
/// in a row: the first is new, the later ones are duplicates.
async fn insert(pool: &PgPool, batch: &[Request]) -> Result<Vec<bool>, sqlx::Error> {
    let mut seen = HashSet::new();
    let first: Vec<bool> = batch
        .iter()
        .map(|r| seen.insert(r.job.delivery_id.as_str()))
        .collect();
    let rows: Vec<&NewJob> = batch
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(r, _)| &r.job)
        .collect();
    // Every handle of one store shares its clock offset.
    let offset = rows.first().map_or(0, |j| j.offset);
    let inserted: Vec<String> = sqlx::query_scalar(concat!(
        "INSERT INTO jobs (delivery_id, serial_key, event, state, run_after, created_at, updated_at) ",
        "SELECT d, k, e, 'queued', n + delay, n, n FROM ",
        "(SELECT (extract(epoch from statement_timestamp()) * 1000)::bigint + $1 AS n) AS now, ",
        "UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(d, k, e, delay) ",
        "ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id"
    ))
    .bind(offset)
    .bind(rows.iter().map(|j| j.delivery_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|j| j.key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|j| j.event.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|j| j.delay_ms).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    Ok(batch
        .iter()
        .zip(first)
        .map(|(r, first)| first && inserted.contains(r.job.delivery_id.as_str()))
        .collect())
}
