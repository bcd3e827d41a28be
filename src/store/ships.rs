//! Durable state of `/ship` runs: a JSON document per ship (owned and interpreted by
//! the ship module) beside the columns the store looks ships up by.
//!
//! Concurrency: updates are compare-and-set on `version`, so two workers advancing the
//! same ship cannot overwrite each other; the loser gets `None` and re-reads. At most
//! one unfinished ship per PR is enforced by a partial unique index.

use super::{postgres, sqlite, Backend, SqliteDb, Store, StoreError, StoreResult};

/// One `/ship` run as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredShip {
    pub id: i64,
    /// 1 at creation, incremented by every successful [`Store::update_ship`].
    pub version: i64,
    pub pr_key: String,
    pub repo_key: String,
    pub state: String,
    pub finished: bool,
    pub merge_sha: Option<String>,
    pub environment: String,
    /// JSON owned by the ship module; the store does not look inside.
    pub data: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A ship before the database gives it an id and times.
pub(super) struct NewShip<'a> {
    pub pr_key: &'a str,
    pub repo_key: &'a str,
    pub environment: &'a str,
    pub state: &'a str,
    pub data: &'a str,
}

/// The new values of a ship's mutable fields.
pub(super) struct ShipChange<'a> {
    pub state: &'a str,
    pub finished: bool,
    pub merge_sha: Option<&'a str>,
    pub data: &'a str,
}

/// Inserts that hit a ship which finished before we could look it up, before giving up.
const CREATE_CONFLICT_RETRIES: usize = 3;

impl Store {
    /// Starts a ship at version 1, unfinished and without a merge commit.
    ///
    /// Fails with [`StoreError::ShipInProgress`] while the PR has an unfinished ship.
    pub async fn create_ship(
        &self,
        pr_key: &str,
        repo_key: &str,
        environment: &str,
        state: &str,
        data: &str,
    ) -> StoreResult<StoredShip> {
        let new = NewShip {
            pr_key,
            repo_key,
            environment,
            state,
            data,
        };
        let mut attempt = 1;
        loop {
            let created = match &self.backend {
                Backend::Sqlite(db) => {
                    let owned = [pr_key, repo_key, environment, state, data].map(str::to_owned);
                    let offset = self.offset();
                    db.writer
                        .write(move |c| {
                            Box::pin(async move {
                                let [pr_key, repo_key, environment, state, data] = &owned;
                                let new = NewShip {
                                    pr_key,
                                    repo_key,
                                    environment,
                                    state,
                                    data,
                                };
                                sqlite::create_ship(c, &new, offset).await
                            })
                        })
                        .await
                }
                Backend::Postgres(pool) => postgres::create_ship(pool, &new, self.offset())
                    .await
                    .map_err(StoreError::from),
            };
            match created {
                Ok(ship) => return Ok(ship),
                Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                    if let Some(active) = self.active_ship(pr_key).await? {
                        return Err(StoreError::ShipInProgress { id: active.id });
                    }
                    // The blocking ship finished in between: the PR is free again.
                    if attempt >= CREATE_CONFLICT_RETRIES {
                        return Err(sqlx::Error::Database(e).into());
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub async fn ship(&self, id: i64) -> StoreResult<Option<StoredShip>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::ship(pool, id).await,
            Backend::Postgres(pool) => postgres::ship(pool, id).await,
        }
    }

    /// The PR's unfinished ship, if any.
    pub async fn active_ship(&self, pr_key: &str) -> StoreResult<Option<StoredShip>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::active_ship(pool, pr_key).await,
            Backend::Postgres(pool) => postgres::active_ship(pool, pr_key).await,
        }
    }

    /// The newest ship, finished or not, that merged as `merge_sha` and deploys to
    /// `environment`: what a deployment status event belongs to.
    pub async fn ship_for_deployment(
        &self,
        repo_key: &str,
        merge_sha: &str,
        environment: &str,
    ) -> StoreResult<Option<StoredShip>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => {
                sqlite::ship_for_deployment(pool, repo_key, merge_sha, environment).await
            }
            Backend::Postgres(pool) => {
                postgres::ship_for_deployment(pool, repo_key, merge_sha, environment).await
            }
        }
    }

    /// Replaces the ship's state, `finished`, `merge_sha` (pass the current one to keep
    /// it) and data if it is still at `expected_version`, and returns it at the next
    /// version. `None` when the version moved (someone else updated it first) or there
    /// is no such ship: re-read and decide again.
    ///
    /// Reopening a finished ship while its PR has another unfinished one fails with
    /// [`StoreError::ShipInProgress`].
    pub async fn update_ship(
        &self,
        id: i64,
        expected_version: i64,
        state: &str,
        finished: bool,
        merge_sha: Option<&str>,
        data: &str,
    ) -> StoreResult<Option<StoredShip>> {
        let change = ShipChange {
            state,
            finished,
            merge_sha,
            data,
        };
        let updated = match &self.backend {
            Backend::Sqlite(db) => {
                let (state, data) = (state.to_owned(), data.to_owned());
                let merge_sha = merge_sha.map(str::to_owned);
                let offset = self.offset();
                db.writer
                    .write(move |c| {
                        Box::pin(async move {
                            let change = ShipChange {
                                state: &state,
                                finished,
                                merge_sha: merge_sha.as_deref(),
                                data: &data,
                            };
                            sqlite::update_ship(c, id, expected_version, &change, offset).await
                        })
                    })
                    .await
            }
            Backend::Postgres(pool) => {
                postgres::update_ship(pool, id, expected_version, &change, self.offset())
                    .await
                    .map_err(StoreError::from)
            }
        };
        match updated {
            Ok(ship) => Ok(ship),
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                let pr_key = self.ship(id).await?.map(|ship| ship.pr_key);
                let active = match pr_key {
                    Some(pr_key) => self.active_ship(&pr_key).await?,
                    None => None,
                };
                match active {
                    Some(active) => Err(StoreError::ShipInProgress { id: active.id }),
                    None => Err(sqlx::Error::Database(e).into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Ships created at or after `since_ms`, oldest first; of one repository, or of
    /// all when `repo_key` is `None`. For delivery metrics.
    pub async fn ships(
        &self,
        repo_key: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<Vec<StoredShip>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::ships(pool, repo_key, since_ms).await,
            Backend::Postgres(pool) => postgres::ships(pool, repo_key, since_ms).await,
        }
    }
}
