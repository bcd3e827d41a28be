//! PostgreSQL backend, safe with several replicas claiming from one database.
//!
//! Claims pick a row with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait
//! on, nor take, the same job. Per-key exclusivity is enforced by the partial unique
//! index `jobs_one_running_per_key`: two claimers that pick different jobs of one key
//! at the same moment both pass the `NOT EXISTS` check under their snapshots, but the
//! second `UPDATE ... SET state = 'running'` blocks on the first's index entry and fails
//! with a unique violation once it commits; `Store::claim` then picks again.

use super::{Outcome, RawJob, StoreResult};
use sqlx::postgres::{PgPool, PgPoolOptions};

/// "Now" in epoch milliseconds from the server's clock, shared by every replica, plus
/// the store's offset (`$1`). `statement_timestamp()` is fixed for one statement.
macro_rules! now_ms {
    () => {
        "((extract(epoch from statement_timestamp()) * 1000)::bigint + $1)"
    };
}

/// Fencing: the lease holder is the worker whose attempt is still the current one.
macro_rules! fence {
    () => {
        " WHERE id = $2 AND state = 'running' AND attempts = $3"
    };
}

pub(super) async fn connect(url: &str) -> StoreResult<PgPool> {
    let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
    // sqlx 0.8's migrator holds `pg_advisory_lock` (keyed by database name) from before it
    // creates `_sqlx_migrations` until it is done, so replicas starting together migrate
    // one at a time and the later ones find nothing left to apply.
    sqlx::migrate!("src/store/migrations/postgres")
        .run(&pool)
        .await?;
    Ok(pool)
}

pub(super) async fn ping(pool: &PgPool) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(super) async fn enqueue(
    pool: &PgPool,
    delivery_id: &str,
    key: &str,
    event: &str,
    delay_ms: i64,
    offset: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(concat!(
        "INSERT INTO jobs (delivery_id, serial_key, event, state, run_after, created_at, updated_at) ",
        "VALUES ($2, $3, $4, 'queued', ",
        now_ms!(),
        " + $5, ",
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
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn claim(
    pool: &PgPool,
    worker: &str,
    lease_ms: i64,
    offset: i64,
) -> Result<Option<RawJob>, sqlx::Error> {
    let row: Option<(i64, String, String, i32)> = sqlx::query_as(concat!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $2, ",
        "lease_until = ",
        now_ms!(),
        " + $3, updated_at = ",
        now_ms!(),
        " WHERE id = (",
        "SELECT j.id FROM jobs j WHERE j.state IN ('queued', 'running') ",
        "AND ((j.state = 'queued' AND j.run_after <= ",
        now_ms!(),
        ") OR (j.state = 'running' AND j.lease_until <= ",
        now_ms!(),
        ")) AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.serial_key = j.serial_key ",
        "AND r.state = 'running' AND r.id <> j.id) ",
        "ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED) ",
        "RETURNING id, delivery_id, event, attempts"
    ))
    .bind(offset)
    .bind(worker)
    .bind(lease_ms)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, delivery_id, event, attempts)| RawJob {
        id,
        delivery_id,
        event,
        attempts: i64::from(attempts),
    }))
}

/// Applies `outcome` if the job is still running under `attempt`; false otherwise.
pub(super) async fn finish(
    pool: &PgPool,
    job_id: i64,
    attempt: u32,
    outcome: &Outcome,
    offset: i64,
) -> StoreResult<bool> {
    let sql = match outcome {
        Outcome::Complete => concat!(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Retry { .. } => concat!(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, ",
            "last_error = $4, run_after = ",
            now_ms!(),
            " + $5, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Park { .. } => concat!(
            "UPDATE jobs SET state = 'parked', lease_until = NULL, last_error = $4, updated_at = ",
            now_ms!(),
            fence!()
        ),
        Outcome::Renew { .. } => concat!(
            "UPDATE jobs SET lease_until = ",
            now_ms!(),
            " + $4, updated_at = ",
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
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX));
    match outcome {
        Outcome::Retry { error, delay_ms } => query = query.bind(error.as_str()).bind(*delay_ms),
        Outcome::Park { error } => query = query.bind(error.as_str()),
        Outcome::Renew { lease_ms } => query = query.bind(*lease_ms),
        Outcome::Complete | Outcome::Release => {}
    }
    Ok(query.execute(pool).await?.rows_affected() == 1)
}

pub(super) async fn count_live(pool: &PgPool) -> StoreResult<i64> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
        .fetch_one(pool)
        .await?;
    Ok(n)
}

pub(super) async fn count_due(pool: &PgPool, now_ms: i64) -> StoreResult<i64> {
    let n = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_after <= $1)",
    )
    .bind(now_ms)
    .fetch_one(pool)
    .await?;
    Ok(n)
}

pub(super) async fn count_parked(pool: &PgPool) -> StoreResult<i64> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'parked'")
        .fetch_one(pool)
        .await?;
    Ok(n)
}

pub(super) async fn oldest_live_age_ms(pool: &PgPool, offset: i64) -> StoreResult<Option<i64>> {
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

pub(super) async fn now_ms(pool: &PgPool, offset: i64) -> StoreResult<i64> {
    let now = sqlx::query_scalar(concat!("SELECT ", now_ms!()))
        .bind(offset)
        .fetch_one(pool)
        .await?;
    Ok(now)
}
