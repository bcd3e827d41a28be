//! One text per query, and one place that picks the backend to run it on.
//!
//! sqlx's SQLite driver binds `$N` placeholders as PostgreSQL does, so a query is
//! written once, by the module of its table. Where the dialects differ, `sql!` writes
//! the text once per backend, filling in these fragments:
//! - `now!()`: the store's "now" in epoch milliseconds, from the database clock, plus
//!   the store's offset, which every query using it binds as `$1`. SQLite computes it
//!   from `julianday('now')`, PostgreSQL from `statement_timestamp()`; both are fixed for
//!   the duration of one statement.
//! - `skip_locked!()`: PostgreSQL's `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass
//!   over each other's rows. SQLite has no row locks and needs none: its writes are
//!   serialized by the writer task.
//! - `unfinished!()`: a ship that is not finished, written as the partial index
//!   `ships_one_active_per_pr` is on each backend (`finished = 0`, `NOT finished`) so
//!   that the planner can use it.
//!
//! Column types may differ too (`jobs.attempts` is 32-bit on PostgreSQL): one query
//! reads one Rust type on both, casting in its text where needed.
//!
//! `read!` runs a query on the pool. `write_one!` runs a write: on SQLite in the
//! writer task (see `writer`), on PostgreSQL directly. Both expand their body once per
//! backend, so each backend's version is type-checked.

use super::{writer, StoreError, StoreResult};
use std::future::Future;

#[derive(Clone, Debug)]
pub(super) enum Backend {
    Sqlite(SqliteDb),
    Postgres(sqlx::PgPool),
}

/// SQLite: the pool serves reads; every write goes through the one writer task
/// (PostgreSQL commits concurrently and needs no such thing).
#[derive(Clone, Debug)]
pub(super) struct SqliteDb {
    pub(super) pool: sqlx::SqlitePool,
    pub(super) writer: writer::Writer,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// The texts of one query whose dialects differ; made by `sql!`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sql {
    pub(super) sqlite: &'static str,
    pub(super) postgres: &'static str,
}

impl Sql {
    pub(super) fn on(self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// `sql!("SELECT ", now!(), " - created_at FROM jobs")`: the pieces (string literals
/// and macros expanding to them, as `concat!` takes) joined once per dialect, with the
/// fragments of the module docs filled in for each.
macro_rules! sql {
    (@join now: $now:literal, skip_locked: $skip_locked:literal, unfinished: $unfinished:literal;
     $($piece:tt)*) => {{
        #[allow(unused_macros)]
        macro_rules! now { () => { $now }; }
        #[allow(unused_macros)]
        macro_rules! skip_locked { () => { $skip_locked }; }
        #[allow(unused_macros)]
        macro_rules! unfinished { () => { $unfinished }; }
        concat!($($piece)*)
    }};
    ($($piece:tt)*) => {
        $crate::store::dispatch::Sql {
            sqlite: sql!(@join
                now: "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) + $1)",
                skip_locked: "",
                unfinished: "finished = 0";
                $($piece)*),
            postgres: sql!(@join
                now: "((extract(epoch from statement_timestamp()) * 1000)::bigint + $1)",
                skip_locked: " FOR UPDATE SKIP LOCKED",
                unfinished: "NOT finished";
                $($piece)*),
        }
    };
}

/// `read!(store, |db| body)` or `read!(store, |db, dialect| body)`: runs `body` with
/// `db` the backend's pool (and `dialect` its [`Dialect`], to pick an [`Sql`] text).
/// `body` is a `Result<T, sqlx::Error>` (`?` stays inside it, `.await` is allowed); the
/// macro gives a `StoreResult<T>`.
macro_rules! read {
    ($store:expr, |$db:ident $(, $dialect:ident)?| $body:expr) => {
        match &$store.backend {
            $crate::store::dispatch::Backend::Sqlite(sqlite) => {
                let $db = &sqlite.pool;
                $(let $dialect = $crate::store::dispatch::Dialect::Sqlite;)?
                $crate::store::dispatch::direct(async { $body }).await
            }
            $crate::store::dispatch::Backend::Postgres(pool) => {
                let $db = pool;
                $(let $dialect = $crate::store::dispatch::Dialect::Postgres;)?
                $crate::store::dispatch::direct(async { $body }).await
            }
        }
    };
}

/// `write_one!(store, |db| body)` or `write_one!(store, |db, dialect| body)`: like
/// `read!`, for a write. On SQLite `body` runs in the writer task's next batch with
/// `db` its connection, and the result comes once the batch committed; so `body` must
/// own what it uses (make owned copies of borrowed arguments first), and it must run
/// ONE statement: a constraint failure undoes only that statement (see `writer`). On
/// PostgreSQL `body` runs at once on the pool.
macro_rules! write_one {
    ($store:expr, |$db:ident $(, $dialect:ident)?| $body:expr) => {
        match &$store.backend {
            $crate::store::dispatch::Backend::Sqlite(sqlite) => {
                sqlite
                    .writer
                    .write(move |$db| {
                        Box::pin(async move {
                            $(let $dialect = $crate::store::dispatch::Dialect::Sqlite;)?
                            $body
                        })
                    })
                    .await
            }
            $crate::store::dispatch::Backend::Postgres(pool) => {
                let $db = pool;
                $(let $dialect = $crate::store::dispatch::Dialect::Postgres;)?
                $crate::store::dispatch::direct(async { $body }).await
            }
        }
    };
}

/// Runs a query body outside the writer; fixes its error type for `?` inside it.
pub(super) async fn direct<T>(
    body: impl Future<Output = Result<T, sqlx::Error>>,
) -> StoreResult<T> {
    body.await.map_err(StoreError::from)
}
