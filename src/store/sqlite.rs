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
