//! PostgreSQL: connection and migrations. Safe with several replicas on one database
//! (for claims, see `jobs`).

use super::StoreResult;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Per pool; a process has two (intake and worker, see `Store::for_other_runtime`).
const MAX_CONNECTIONS: u32 = 8;

pub(super) async fn connect(url: &str) -> StoreResult<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect(url)
        .await?;
    // sqlx 0.8's migrator holds `pg_advisory_lock` (keyed by database name) from before it
    // creates `_sqlx_migrations` until it is done, so replicas starting together migrate
    // one at a time and the later ones find nothing left to apply.
    sqlx::migrate!("src/store/migrations/postgres")
        .run(&pool)
        .await?;
    Ok(pool)
}

/// A second pool to the database `pool` is connected to, opening connections on demand.
pub(super) fn lazy_pool_like(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_lazy_with((*pool.connect_options()).clone())
}
