//! SQLite: connection and migrations. Reads use the pool; every write takes the
//! connection of the one writer task (`writer`), so writes are serialized in this
//! process.

use super::StoreResult;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

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
    let pool = open_pool(url, options).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Switching a fresh file to WAL needs it alone: a process opening it while another one
/// does gets "database is locked" at once, without the busy handler waiting. A short
/// retry lets the first one finish.
async fn open_pool(url: &str, options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    const ATTEMPTS: u32 = 10;
    let mut attempt = 1;
    loop {
        match pool_options(url).connect_with(options.clone()).await {
            Err(sqlx::Error::Database(e)) if attempt < ATTEMPTS && is_busy(e.code().as_deref()) => {
                tracing::warn!(error = %e, attempt, "sqlite database busy while opening; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            opened => return Ok(opened?),
        }
    }
}

/// SQLITE_BUSY, with or without an extended code (the low byte is the primary one).
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

fn pool_options(url: &str) -> SqlitePoolOptions {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(8)
    }
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
