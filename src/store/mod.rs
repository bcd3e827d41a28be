//! Durable state: the job queue of acknowledged deliveries, what the bot last wrote to
//! each PR, the audit log of gate overrides, comments seen, `/ship` runs, and the deploy
//! controls (environment locks, holds, ships out of order). One `Store` over SQLite (the
//! embedded default) and PostgreSQL.
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
//! which lets tests exercise leases and delays without sleeping. The API speaks
//! `OffsetDateTime`; `to_ms` and `from_ms` convert where values are bound and read.
//!
//! Layout: each table's queries live in its module (`jobs`, `prs`, `files`, `comments`,
//! `overrides`, `ships`, `check_runs`, the deploy controls' `locks`, `holds` and
//! `order_overrides`, and `sweep` for the sweep's and metrics' reads and the leases), each written once for both backends; `dispatch` fills in where the
//! dialects differ and runs a query on the backend at hand (SQLite writes through
//! `writer`). `sqlite` and `postgres` only connect and migrate.

#[macro_use]
mod dispatch;

mod check_runs;
mod comments;
mod files;
mod holds;
mod intake;
mod jobs;
mod locks;
mod order_overrides;
mod overrides;
mod pages;
mod postgres;
mod prs;
mod reach;
mod ships;
mod sqlite;
mod stacks;
mod sweep;
mod writer;

pub use check_runs::RecordedRun;
pub use holds::HoldRecord;
pub use jobs::{Enqueued, Job};
pub use locks::LockRecord;
pub use order_overrides::OrderOverrideRecord;
pub use overrides::OverrideRecord;
pub use pages::PrPage;
pub use prs::PrRecord;
pub use ships::StoredShip;
pub use stacks::BranchRecord;

use crate::domain::millis;
use dispatch::{Backend, SqliteDb};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

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
    /// The database server could not be reached at start-up.
    #[error("cannot reach the database at {host}: {reason}")]
    Unreachable { host: String, reason: String },
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
    /// Another change's unfinished ship holds the environment.
    #[error("ship {id} of another change is in progress to this environment")]
    EnvironmentBusy { id: i64 },
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Group commit of deliveries, one statement per batch (see `intake`).
    intake: intake::Intake,
    /// Added to the database clock; shared by clones. Zero outside tests.
    clock_offset_ms: Arc<AtomicI64>,
}

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
            reach::probe(url).await?;
            Backend::Postgres(postgres::connect(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let intake = intake::Intake::start(match &backend {
            Backend::Postgres(pool) => intake::Target::Postgres(pool.clone()),
            Backend::Sqlite(db) => intake::Target::Sqlite(db.writer.clone()),
        });
        Ok(Self {
            backend,
            intake,
            clock_offset_ms: Arc::new(AtomicI64::new(0)),
        })
    }

    /// A handle on the same database, clock and intake for work that runs on another
    /// Tokio runtime. Call it inside that runtime (`Runtime::enter`). On PostgreSQL it has
    /// its own pool, so its connections are opened, and their sockets driven, by the runtime
    /// that uses them; SQLite's connections run on threads of their own and are shared, as
    /// is its one writer.
    pub fn for_other_runtime(&self) -> Self {
        let backend = match &self.backend {
            Backend::Sqlite(db) => Backend::Sqlite(db.clone()),
            Backend::Postgres(pool) => Backend::Postgres(postgres::lazy_pool_like(pool)),
        };
        Self {
            backend,
            intake: self.intake.clone(),
            clock_offset_ms: self.clock_offset_ms.clone(),
        }
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
        read!(self, |db| {
            sqlx::query("SELECT 1").execute(db).await?;
            Ok(())
        })
    }

    /// The store's "now": the database clock plus any [`Store::advance_clock`] offset.
    /// Every stored timestamp is on this clock.
    pub async fn now(&self) -> StoreResult<OffsetDateTime> {
        from_ms(self.now_ms().await?)
    }

    /// [`Store::now`] in epoch milliseconds, as the columns hold it.
    async fn now_ms(&self) -> StoreResult<i64> {
        let offset = self.offset();
        read!(self, |db, dialect| {
            sqlx::query_scalar(sql!("SELECT ", now!()).on(dialect))
                .bind(offset)
                .fetch_one(db)
                .await
        })
    }
}

/// A timestamp as its column holds it.
fn to_ms(at: OffsetDateTime) -> i64 {
    millis::of(at)
}

/// A timestamp column's value; one out of `OffsetDateTime`'s range is corrupt.
fn from_ms(ms: i64) -> StoreResult<OffsetDateTime> {
    millis::datetime(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp out of range: {ms} ms")))
}

/// Durations as database milliseconds, capped far below overflow of `now + duration`.
fn millis(d: Duration) -> i64 {
    const CAP_MS: i64 = 100 * 365 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).unwrap_or(CAP_MS).min(CAP_MS)
}
