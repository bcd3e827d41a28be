//! Durable state: the job queue of acknowledged deliveries, what the bot last wrote to
//! each PR, the audit log of gate overrides, comments seen and `/ship` runs. One `Store`
//! over SQLite (the embedded default) and PostgreSQL.
//!
//! Guarantees the webhook server and workers rely on:
//! - `enqueue` returns only once the job is committed durably (SQLite `synchronous=FULL`,
//!   with every write of the process committed in batches by one task, see `writer`; PostgreSQL's
//!   default `synchronous_commit=on`), and a delivery id is accepted once, until its
//!   completed job is pruned (`prune_done_jobs`).
//! - A claim is a lease. Each claim increments `attempts`, and `(job id, attempts)` is the
//!   fencing token: `complete`/`retry`/`park`/`release` apply only while the job is still
//!   running under that same attempt, so a worker whose lease expired and was re-claimed
//!   elsewhere gets [`StoreError::LeaseLost`] instead of overwriting the new attempt.
//! - At most one job per serial key runs at a time (a partial unique index, see the
//!   migrations), across any number of processes.
//!
//! Time: every timestamp is Unix epoch milliseconds read from the *database's* clock, so
//! several replicas on one PostgreSQL share a single "now" (on SQLite the database clock
//! is the host's). [`Store::advance_clock`] shifts a handle's view of that clock forward,
//! which lets tests exercise leases and delays without sleeping.

#[macro_use]
mod dispatch;

mod check_runs;
mod comments;
mod files;
mod overrides;
mod postgres;
mod prs;
mod ships;
mod sqlite;
mod sweep;
mod writer;

pub use check_runs::RecordedRun;
pub use overrides::OverrideRecord;
pub use prs::PrRecord;
pub use ships::StoredShip;

use crate::domain::{Delivery, DeliveryId, DomainEvent};
use dispatch::{Backend, SqliteDb};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored event is unreadable: {0}")]
    Corrupt(String),
    #[error("unsupported database url (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    /// The job is no longer running under this attempt: its lease expired and another
    /// worker claimed it, or it was already completed, retried, parked or released.
    #[error("job {job_id} attempt {attempt} no longer holds its lease")]
    LeaseLost { job_id: i64, attempt: u32 },
    /// The batch this delivery was written in failed; nothing of it was stored.
    #[error("storing the delivery failed: {0}")]
    Batch(String),
    /// The task that writes to SQLite is gone (the runtime is shutting down).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// The PR already has an unfinished ship; only one may run at a time.
    #[error("ship {id} is already in progress for this pull request")]
    ShipInProgress { id: i64 },
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New,
    /// The delivery id was seen before; nothing was stored.
    Duplicate,
}

/// A claimed unit of work. Its lease must be completed, retried, parked or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub delivery_id: DeliveryId,
    pub event: DomainEvent,
    /// Attempts so far, including this one.
    pub attempts: u32,
}

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Added to the database clock; shared by clones. Zero outside tests.
    clock_offset_ms: Arc<AtomicI64>,
}

/// A claimed row before its event is decoded.
struct RawJob {
    id: i64,
    delivery_id: String,
    event: String,
    attempts: i64,
}

/// How a lease ends.
enum Outcome {
    Complete,
    Retry {
        error: String,
        delay_ms: i64,
    },
    Park {
        error: String,
    },
    Release,
    /// Keep the job: extend its lease by `lease_ms` from now.
    Renew {
        lease_ms: i64,
    },
}

/// Claim attempts lost to a concurrent claimer of the same key before giving up for
/// this poll. Each loss means another job was claimed, so the queue is progressing.
const CLAIM_CONFLICT_RETRIES: usize = 16;

impl Store {
    /// Opens (creating an SQLite file if needed) and migrates.
    ///
    /// Accepts `sqlite:` URLs (`sqlite://smallbatch.db`, `sqlite::memory:`) and
    /// `postgres://` / `postgresql://` URLs.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            let pool = sqlite::connect(url).await?;
            let writer = writer::Writer::start(pool.clone());
            Backend::Sqlite(SqliteDb { pool, writer })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::connect(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Self {
            backend,
            clock_offset_ms: Arc::new(AtomicI64::new(0)),
        })
    }

    /// Closes the pool, waiting for checked-out connections to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// Shifts this store's view of "now" forward (shared by its clones). For tests and
    /// simulations: lets leases expire and delays elapse without sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.clock_offset_ms.fetch_add(millis(by), Ordering::SeqCst);
    }

    fn offset(&self) -> i64 {
        self.clock_offset_ms.load(Ordering::SeqCst)
    }

    pub async fn ping(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::ping(pool).await,
            Backend::Postgres(pool) => postgres::ping(pool).await,
        }
    }

    /// The store's "now" in epoch milliseconds: the database clock plus any
    /// [`Store::advance_clock`] offset. Every stored timestamp is on this clock.
    pub async fn now_ms(&self) -> StoreResult<i64> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::now_ms(pool, self.offset()).await,
            Backend::Postgres(pool) => postgres::now_ms(pool, self.offset()).await,
        }
    }

    /// Stores the delivery as a queued job, durably, unless its id was seen before.
    pub async fn enqueue(&self, delivery: &Delivery) -> StoreResult<Enqueued> {
        self.enqueue_at(delivery, Duration::ZERO).await
    }

    /// Like [`Store::enqueue`] (and deduplicated with it by delivery id), but the job is
    /// not claimable until `delay` from now. A duplicate changes nothing, not even when
    /// the stored job runs.
    pub async fn enqueue_at(&self, delivery: &Delivery, delay: Duration) -> StoreResult<Enqueued> {
        let delay_ms = millis(delay);
        let event = serde_json::to_string(&delivery.event)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialize event: {e}")))?;
        let key = delivery.event.serial_key();
        let id = delivery.id.as_str();
        let offset = self.offset();
        let inserted = match &self.backend {
            Backend::Sqlite(db) => {
                let id = id.to_owned();
                db.writer
                    .write(move |c| {
                        Box::pin(async move {
                            sqlite::enqueue(c, &id, &key, &event, delay_ms, offset).await
                        })
                    })
                    .await
            }
            Backend::Postgres(pool) => {
                postgres::enqueue(pool, id, &key, &event, delay_ms, offset).await
            }
        }?;
        Ok(if inserted {
            Enqueued::New
        } else {
            Enqueued::Duplicate
        })
    }

    /// Claims the oldest runnable job (queued and due, or running under an expired
    /// lease) whose key has no other running job. `None` when nothing is runnable now.
    ///
    /// A job whose stored event no longer decodes is parked with the error and skipped.
    /// Under heavy contention on PostgreSQL `None` can also mean "lost every race this
    /// time"; workers poll, so the job is taken on a later call.
    pub async fn claim(&self, worker: &str, lease: Duration) -> StoreResult<Option<Job>> {
        let lease_ms = millis(lease);
        let mut conflicts = 0;
        loop {
            let offset = self.offset();
            let claimed = match &self.backend {
                Backend::Sqlite(db) => {
                    let worker = worker.to_owned();
                    let claimed = db.writer.write(move |c| {
                        Box::pin(async move { sqlite::claim(c, &worker, lease_ms, offset).await })
                    });
                    match claimed.await {
                        Ok(job) => Ok(job),
                        Err(StoreError::Db(e)) => Err(e),
                        Err(e) => return Err(e),
                    }
                }
                Backend::Postgres(pool) => {
                    postgres::claim(pool, worker, lease_ms, self.offset()).await
                }
            };
            let raw = match claimed {
                Ok(Some(raw)) => raw,
                Ok(None) => return Ok(None),
                // Another claimer just took a job with the same key: pick again.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    conflicts += 1;
                    if conflicts > CLAIM_CONFLICT_RETRIES {
                        return Ok(None);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match decode(&raw) {
                Ok(job) => return Ok(Some(job)),
                Err(error) => {
                    tracing::error!(job_id = raw.id, delivery_id = %raw.delivery_id, %error, "parking undecodable job");
                    let attempt = u32::try_from(raw.attempts).unwrap_or(u32::MAX);
                    self.finish(
                        raw.id,
                        attempt,
                        Outcome::Park {
                            error: error.to_string(),
                        },
                    )
                    .await?;
                }
            }
        }
    }

    /// Marks the job done. The row stays so its delivery id remains a known duplicate.
    pub async fn complete(&self, job: &Job) -> StoreResult<()> {
        self.finish(job.id, job.attempts, Outcome::Complete).await
    }

    /// Puts the job back in the queue, runnable again after `delay`.
    pub async fn retry(&self, job: &Job, error: &str, delay: Duration) -> StoreResult<()> {
        let delay_ms = millis(delay);
        let error = error.to_owned();
        self.finish(job.id, job.attempts, Outcome::Retry { error, delay_ms })
            .await
    }

    /// Takes the job out of circulation for a human to look at.
    pub async fn park(&self, job: &Job, error: &str) -> StoreResult<()> {
        let error = error.to_owned();
        self.finish(job.id, job.attempts, Outcome::Park { error })
            .await
    }

    /// Extends the lease of a job still running under this attempt, so a long job is not
    /// taken over; `LeaseLost` when another worker already took it.
    pub async fn renew(&self, job: &Job, lease: Duration) -> StoreResult<()> {
        let lease_ms = millis(lease);
        self.finish(job.id, job.attempts, Outcome::Renew { lease_ms })
            .await
    }

    /// Hands the job back, runnable at once, without counting this attempt (shutdown).
    pub async fn release(&self, job: &Job) -> StoreResult<()> {
        self.finish(job.id, job.attempts, Outcome::Release).await
    }

    async fn finish(&self, job_id: i64, attempt: u32, outcome: Outcome) -> StoreResult<()> {
        let offset = self.offset();
        let applied = match &self.backend {
            Backend::Sqlite(db) => {
                db.writer
                    .write(move |c| {
                        Box::pin(async move {
                            sqlite::finish(c, job_id, attempt, &outcome, offset).await
                        })
                    })
                    .await
            }
            Backend::Postgres(pool) => {
                postgres::finish(pool, job_id, attempt, &outcome, offset).await
            }
        }?;
        if applied {
            Ok(())
        } else {
            Err(StoreError::LeaseLost { job_id, attempt })
        }
    }

    /// Jobs still to be processed: queued (due or not) and running.
    pub async fn queue_depth(&self) -> StoreResult<u64> {
        let n = match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::count_live(pool).await,
            Backend::Postgres(pool) => postgres::count_live(pool).await,
        }?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Jobs running or due within `horizon`; jobs scheduled further ahead are not counted.
    pub async fn due_depth(&self, horizon: Duration) -> StoreResult<u64> {
        let now = self.now_ms().await? + millis(horizon);
        let n = match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::count_due(pool, now).await,
            Backend::Postgres(pool) => postgres::count_due(pool, now).await,
        }?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Jobs parked for a human to look at.
    pub async fn parked_count(&self) -> StoreResult<u64> {
        let n = match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::count_parked(pool).await,
            Backend::Postgres(pool) => postgres::count_parked(pool).await,
        }?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How long the oldest queued or running job has been waiting since it was
    /// enqueued; `None` when the queue is empty.
    pub async fn oldest_job_age(&self) -> StoreResult<Option<Duration>> {
        let age_ms = match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => {
                sqlite::oldest_live_age_ms(pool, self.offset()).await
            }
            Backend::Postgres(pool) => postgres::oldest_live_age_ms(pool, self.offset()).await,
        }?;
        Ok(age_ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }
}

fn decode(raw: &RawJob) -> StoreResult<Job> {
    let event = serde_json::from_str(&raw.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let attempts = u32::try_from(raw.attempts)
        .map_err(|_| StoreError::Corrupt(format!("attempts out of range: {}", raw.attempts)))?;
    Ok(Job {
        id: raw.id,
        delivery_id: DeliveryId::new(raw.delivery_id.clone()),
        event,
        attempts,
    })
}

/// Durations as database milliseconds, capped far below overflow of `now + duration`.
fn millis(d: Duration) -> i64 {
    const CAP_MS: i64 = 100 * 365 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).unwrap_or(CAP_MS).min(CAP_MS)
}
