//! Group commit of deliveries: one task inserts the deliveries that arrive together with
//! one statement, and answers each after that statement committed, so nobody is answered
//! before their delivery is durable.
//!
//! - PostgreSQL: each delivery in its own transaction cost a commit (and a WAL flush) per
//!   webhook, from a pool the worker shares; with 32 senders the benchmark's p99 was the
//!   wait for a connection. The worker's queries keep committing concurrently on the rest
//!   of the pool.
//! - SQLite: the statement is one write of the one writer (`writer`), so it shares that
//!   batch's transaction and fsync with the worker's writes. One statement instead of one
//!   per delivery saves a round trip to sqlx's connection thread per delivery: two thread
//!   switches, the largest cost a profile of the writer showed.

use super::dispatch::Dialect;
use super::writer::Writer;
use super::{StoreError, StoreResult};
use sqlx::{PgPool, SqliteConnection};
use std::collections::HashSet;
use std::fmt::Write as _;
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

/// Where the batches go.
#[derive(Clone)]
pub(super) enum Target {
    Postgres(PgPool),
    Sqlite(Writer),
}

/// The handle of the intake task; the task ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub(super) struct Intake {
    requests: mpsc::Sender<Request>,
}

impl Intake {
    /// Starts the intake task on the current Tokio runtime.
    pub(super) fn start(target: Target) -> Self {
        let (requests, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(insert_batches(target, incoming));
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

async fn insert_batches(target: Target, mut incoming: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (jobs, replies): (Vec<NewJob>, Vec<_>) =
            batch.drain(..).map(|r| (r.job, r.reply)).unzip();
        let deliveries = jobs.len();
        match insert(&target, jobs).await {
            Ok(stored) => {
                for (reply, stored) in replies.into_iter().zip(stored) {
                    // The caller may have gone (its client hung up); the job stays stored.
                    let _ = reply.send(Ok(stored));
                }
            }
            Err(message) => {
                tracing::warn!(error = %message, deliveries, "storing deliveries failed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// One statement for the whole batch: all of it is stored, or none. A delivery id that
/// appears twice in a batch is stored once, like one sent twice in a row: the first is
/// new, the later ones are duplicates.
async fn insert(target: &Target, jobs: Vec<NewJob>) -> Result<Vec<bool>, String> {
    // The ids only: the events move into the statement, uncopied.
    let ids: Vec<String> = jobs.iter().map(|j| j.delivery_id.clone()).collect();
    let mut seen = HashSet::new();
    let first: Vec<bool> = ids.iter().map(|id| seen.insert(id.as_str())).collect();
    let rows: Vec<NewJob> = jobs
        .into_iter()
        .zip(&first)
        .filter_map(|(job, first)| first.then_some(job))
        .collect();
    let inserted = match target {
        Target::Postgres(pool) => insert_postgres(pool, &rows)
            .await
            .map_err(|e| e.to_string())?,
        Target::Sqlite(writer) => writer
            .write(move |conn| Box::pin(insert_sqlite(conn, rows)))
            .await
            .map_err(|e| e.to_string())?,
    };
    let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    Ok(ids
        .iter()
        .zip(first)
        .map(|(id, first)| first && inserted.contains(id.as_str()))
        .collect())
}

/// The ids of the rows inserted; the others were known.
async fn insert_postgres(pool: &PgPool, rows: &[NewJob]) -> Result<Vec<String>, sqlx::Error> {
    // Every handle of one store shares its clock offset.
    let offset = rows.first().map_or(0, |j| j.offset);
    sqlx::query_scalar(concat!(
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
    .await
}

/// SQLite has no arrays: the rows are a `VALUES` list of 4 parameters each (256 rows
/// bind 1,025, far below SQLite's limit of 32,766).
async fn insert_sqlite(
    conn: &mut SqliteConnection,
    rows: Vec<NewJob>,
) -> Result<Vec<String>, sqlx::Error> {
    let offset = rows.first().map_or(0, |j| j.offset);
    let mut sql = String::from(
        sql!(
            "INSERT INTO jobs (delivery_id, serial_key, event, state, run_after, created_at, updated_at) ",
            "SELECT column1, column2, column3, 'queued', n + column4, n, n FROM ",
            "(SELECT ", now!(), " AS n), (VALUES "
        )
        .on(Dialect::Sqlite),
    );
    for i in 0..rows.len() {
        let p = 2 + 4 * i;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", p, p + 1, p + 2, p + 3);
    }
    // `WHERE true`: SQLite's upsert after a SELECT needs it, or `ON` would be read as a
    // join's.
    sql.push_str(") WHERE true ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id");
    let mut query = sqlx::query_scalar(&sql).bind(offset);
    for job in rows {
        query = query
            .bind(job.delivery_id)
            .bind(job.key)
            .bind(job.event)
            .bind(job.delay_ms);
    }
    query.fetch_all(conn).await
}
