//! SQLite backend. Reads use the pool; every write takes the connection of the one
//! writer task (`writer`), so writes are serialized in this process and each claim
//! statement sees every claim before it: no two claims can race.

use super::{Outcome, RawJob, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// "Now" in epoch milliseconds from SQLite's clock, plus the store's offset (`?1`).
/// `julianday('now')` is fixed for the duration of one statement.
macro_rules! now_ms {
    () => {
        "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) + ?1)"
    };
}

/// Fencing: the lease holder is the worker whose attempt is still the current one.
macro_rules! fence {
    () => {
        " WHERE id = ?2 AND state = 'running' AND attempts = ?3"
    };
}

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn connect(url: &str) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged delivery must survive power loss, not just a crash.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = if in_memory {
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(8)
    }
    .connect_with(options)
    .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// sqlx takes no lock when migrating SQLite, so two processes opening a fresh file at
/// once can both try to apply a migration; the loser's transaction fails and rolls back.
/// Running again then finds the winner's migrations recorded and goes on from there. Each
/// lost race still leaves one more migration applied, so a process can lose once per
/// migration: the attempts allow for every migration and then some.
async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    let migrator = sqlx::migrate!("src/store/migrations/sqlite");
    let attempts = migrator.iter().count() as u32 * 2 + 2;
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < attempts => {
                tracing::warn!(error = %e, attempt, "sqlite migration failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

pub(super) async fn ping(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(super) async fn enqueue(
    conn: &mut SqliteConnection,
    delivery_id: &str,
    key: &str,
    event: &str,
    delay_ms: i64,
    offset: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(concat!(
        "INSERT INTO jobs (delivery_id, serial_key, event, state, run_after, created_at, updated_at) ",
        "VALUES (?2, ?3, ?4, 'queued', ",
        now_ms!(),
        " + ?5, ",
        now_ms!(),
        ", ",
        now_ms!(),
        ") ON CONFLICT (delivery_id) DO NOTHING"
    ))
    .bind(offset)
    .bind(delivery_id)
    .bind(key)
    .bind(event)
    .bind(delay_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn claim(
    conn: &mut SqliteConnection,
    worker: &str,
    lease_ms: i64,
    offset: i64,
) -> Result<Option<RawJob>, sqlx::Error> {
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(concat!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?2, ",
        "lease_until = ",
        now_ms!(),
        " + ?3, updated_at = ",
        now_ms!(),
        " WHERE id = (",
        "SELECT j.id FROM jobs j WHERE j.state IN ('queued', 'running') ",
        "AND ((j.state = 'queued' AND j.run_after <= ",
        now_ms!(),
        ") OR (j.state = 'running' AND j.lease_until <= ",
        now_ms!(),
        ")) AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.serial_key = j.serial_key ",
        "AND r.state = 'running' AND r.id <> j.id) ",
        "ORDER BY j.id LIMIT 1) ",
        "RETURNING id, delivery_id, event, attempts"
    ))
    .bind(offset)
    .bind(worker)
    .bind(lease_ms)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, delivery_id, event, attempts)| RawJob {
        id,
        delivery_id,
        event,
        attempts,
    }))
}

/// Applies `outcome` if the job is still running under `attempt`; false otherwise.
pub(super) async fn finish(
    conn: &mut SqliteConnection,
    job_id: i64,
    attempt: u32,
    outcome: &Outcome,
    offset: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match outcome {
        Outcome::Complete => concat!(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Retry { .. } => concat!(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, ",
            "last_error = ?4, run_after = ",
            now_ms!(),
            " + ?5, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Park { .. } => concat!(
            "UPDATE jobs SET state = 'parked', lease_until = NULL, last_error = ?4, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Renew { .. } => concat!(
            "UPDATE jobs SET lease_until = ",
            now_ms!(),
            " + ?4, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Release => concat!(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, ",
            "attempts = attempts - 1, run_after = ",
            now_ms!(),
            ", updated_at = ",
            now_ms!(),
            fence!()
        ),
    };
    let mut query = sqlx::query(sql)
        .bind(offset)
        .bind(job_id)
        .bind(i64::from(attempt));
    match outcome {
        Outcome::Retry { error, delay_ms } => query = query.bind(error.as_str()).bind(*delay_ms),
        Outcome::Park { error } => query = query.bind(error.as_str()),
        Outcome::Renew { lease_ms } => query = query.bind(*lease_ms),
        Outcome::Complete | Outcome::Release => {}
    }
    Ok(query.execute(conn).await?.rows_affected() == 1)
}

pub(super) async fn count_live(pool: &SqlitePool) -> StoreResult<i64> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
        .fetch_one(pool)
        .await?;
    Ok(n)
}

pub(super) async fn count_due(pool: &SqlitePool, now_ms: i64) -> StoreResult<i64> {
    let n = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_after <= ?1)",
    )
    .bind(now_ms)
    .fetch_one(pool)
    .await?;
    Ok(n)
}

pub(super) async fn count_parked(pool: &SqlitePool) -> StoreResult<i64> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'parked'")
        .fetch_one(pool)
        .await?;
    Ok(n)
}

pub(super) async fn oldest_live_age_ms(pool: &SqlitePool, offset: i64) -> StoreResult<Option<i64>> {
    let age = sqlx::query_scalar(concat!(
        "SELECT ",
        now_ms!(),
        " - created_at FROM jobs WHERE state IN ('queued', 'running') ORDER BY id LIMIT 1"
    ))
    .bind(offset)
    .fetch_optional(pool)
    .await?;
    Ok(age)
}

pub(super) async fn now_ms(pool: &SqlitePool, offset: i64) -> StoreResult<i64> {
    let now = sqlx::query_scalar(concat!("SELECT ", now_ms!()))
        .bind(offset)
        .fetch_one(pool)
        .await?;
    Ok(now)
}
