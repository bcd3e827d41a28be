//! PostgreSQL: connection and migrations. Safe with several replicas on one database
//! (for claims, see `jobs`).

use super::StoreResult;
use sqlx::postgres::{PgPool, PgPoolOptions};

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
