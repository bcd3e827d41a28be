//! Durable state of `/ship` runs: a JSON document per ship (owned and interpreted by
//! the ship module) beside the columns the store looks ships up by.
//!
//! Concurrency: updates are compare-and-set on `version`, so two workers advancing the
//! same ship cannot overwrite each other; the loser gets `None` and re-reads. At most
//! one unfinished ship per PR, and per environment of a repository (a ship in progress
//! holds its environment), is enforced by partial unique indexes.

use super::{from_ms, to_ms, Store, StoreError, StoreResult};
use crate::domain::{CommitSha, PrRef, RepoRef};
use time::OffsetDateTime;

/// The columns of a [`ShipRow`], named as its fields.
macro_rules! ship_columns {
    () => {
        "id, version, pr_key, repo_key, state, finished, merge_sha, environment, data, \
         created_at, updated_at"
    };
}

/// One `/ship` run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredShip {
    pub id: i64,
    /// 1 at creation, incremented by every successful [`Store::update_ship`].
    pub version: i64,
    /// [`PrRef::key`] of the PR.
    pub pr_key: String,
    /// [`RepoRef::key`] of its repository.
    pub repo_key: String,
    pub state: String,
    pub finished: bool,
    pub merge_sha: Option<CommitSha>,
    pub environment: String,
    /// JSON owned by the ship module; the store does not look inside.
    pub data: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A [`StoredShip`] in column types.
#[derive(sqlx::FromRow)]
struct ShipRow {
    id: i64,
    version: i64,
    pr_key: String,
    repo_key: String,
    state: String,
    finished: bool,
    merge_sha: Option<String>,
    environment: String,
    data: String,
    created_at: i64,
    updated_at: i64,
}

impl ShipRow {
    fn into_ship(self) -> StoreResult<StoredShip> {
        Ok(StoredShip {
            id: self.id,
            version: self.version,
            pr_key: self.pr_key,
            repo_key: self.repo_key,
            state: self.state,
            finished: self.finished,
            merge_sha: self.merge_sha.map(CommitSha),
            environment: self.environment,
            data: self.data,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

/// Inserts that hit a ship which finished before we could look it up, before giving up.
const CREATE_CONFLICT_RETRIES: usize = 3;

impl Store {
    /// Starts a ship at version 1, unfinished and without a merge commit, holding its
    /// environment until it finishes.
    ///
    /// Fails with [`StoreError::ShipInProgress`] while the PR has an unfinished ship, and
    /// with [`StoreError::EnvironmentBusy`] while another change's ship holds the
    /// environment.
    pub async fn create_ship(
        &self,
        pr: &PrRef,
        environment: &str,
        state: &str,
        data: &str,
    ) -> StoreResult<StoredShip> {
        let mut attempt = 1;
        loop {
            let offset = self.offset();
            let owned = [environment, state, data].map(str::to_owned);
            let [env, state, data] = owned;
            let owned = [pr.key(), pr.repo.key(), env, state, data];
            // Fails with a unique violation while the PR has an unfinished ship, or the
            // environment has one.
            let created: StoreResult<ShipRow> = write_one!(self, |db, dialect| {
                let [pr_key, repo_key, environment, state, data] = owned;
                let sql = sql!(
                    "INSERT INTO ships (version, pr_key, repo_key, environment, state, finished, ",
                    "merge_sha, data, created_at, updated_at, holds_environment) ",
                    "VALUES (1, $2, $3, $4, $5, $6, NULL, $7, ",
                    now!(),
                    ", ",
                    now!(),
                    ", TRUE) RETURNING ",
                    ship_columns!()
                );
                sqlx::query_as(sql.on(dialect))
                    .bind(offset)
                    .bind(pr_key)
                    .bind(repo_key)
                    .bind(environment)
                    .bind(state)
                    .bind(false)
                    .bind(data)
                    .fetch_one(db)
                    .await
            });
            match created {
                Ok(row) => return row.into_ship(),
                Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                    if let Some(active) = self.active_ship(pr).await? {
                        return Err(StoreError::ShipInProgress { id: active.id });
                    }
                    if let Some(running) = self.running_ship_to(&pr.repo, environment).await? {
                        return Err(StoreError::EnvironmentBusy { id: running.id });
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
        let row: Option<ShipRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(db)
            .await
        })?;
        row.map(ShipRow::into_ship).transpose()
    }

    /// The PR's unfinished ship, if any.
    pub async fn active_ship(&self, pr: &PrRef) -> StoreResult<Option<StoredShip>> {
        self.active_ship_of(&pr.key()).await
    }

    async fn active_ship_of(&self, pr_key: &str) -> StoreResult<Option<StoredShip>> {
        let row: Option<ShipRow> = read!(self, |db, dialect| {
            let sql = sql!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE pr_key = $1 AND ",
                unfinished!()
            );
            sqlx::query_as(sql.on(dialect))
                .bind(pr_key)
                .fetch_optional(db)
                .await
        })?;
        row.map(ShipRow::into_ship).transpose()
    }

    /// The unfinished ship, of any change, that holds `environment`.
    pub async fn running_ship_to(
        &self,
        repo: &RepoRef,
        environment: &str,
    ) -> StoreResult<Option<StoredShip>> {
        let row: Option<ShipRow> = read!(self, |db, dialect| {
            let sql = sql!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE repo_key = $1 AND environment = $2 AND holds_environment AND ",
                unfinished!(),
                " ORDER BY id LIMIT 1"
            );
            sqlx::query_as(sql.on(dialect))
                .bind(repo.key())
                .bind(environment)
                .fetch_optional(db)
                .await
        })?;
        row.map(ShipRow::into_ship).transpose()
    }

    /// The repository's unfinished ships, oldest first: ships in flight, and regressed
    /// ones whose rollback or revert is still under way.
    pub async fn unfinished_ships(&self, repo: &RepoRef) -> StoreResult<Vec<StoredShip>> {
        let rows: Vec<ShipRow> = read!(self, |db, dialect| {
            let sql = sql!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE repo_key = $1 AND ",
                unfinished!(),
                " ORDER BY id"
            );
            sqlx::query_as(sql.on(dialect))
                .bind(repo.key())
                .fetch_all(db)
                .await
        })?;
        rows.into_iter().map(ShipRow::into_ship).collect()
    }

    /// The newest ship, finished or not, that merged as `merge_sha` and deploys to
    /// `environment`: what a deployment status event belongs to.
    pub async fn ship_for_deployment(
        &self,
        repo: &RepoRef,
        merge_sha: &CommitSha,
        environment: &str,
    ) -> StoreResult<Option<StoredShip>> {
        let row: Option<ShipRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE repo_key = $1 AND merge_sha = $2 AND environment = $3 ",
                "ORDER BY id DESC LIMIT 1"
            ))
            .bind(repo.key())
            .bind(merge_sha.as_str())
            .bind(environment)
            .fetch_optional(db)
            .await
        })?;
        row.map(ShipRow::into_ship).transpose()
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
        merge_sha: Option<&CommitSha>,
        data: &str,
    ) -> StoreResult<Option<StoredShip>> {
        let offset = self.offset();
        let (state, data) = (state.to_owned(), data.to_owned());
        let merge_sha = merge_sha.map(|sha| sha.0.clone());
        // A unique violation when this would reopen a ship beside another unfinished
        // one of its PR.
        let updated: StoreResult<Option<ShipRow>> = write_one!(self, |db, dialect| {
            let sql = sql!(
                "UPDATE ships SET version = version + 1, state = $4, finished = $5, ",
                "merge_sha = $6, data = $7, updated_at = ",
                now!(),
                " WHERE id = $2 AND version = $3 RETURNING ",
                ship_columns!()
            );
            sqlx::query_as(sql.on(dialect))
                .bind(offset)
                .bind(id)
                .bind(expected_version)
                .bind(state)
                .bind(finished)
                .bind(merge_sha)
                .bind(data)
                .fetch_optional(db)
                .await
        });
        match updated {
            Ok(row) => row.map(ShipRow::into_ship).transpose(),
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                let Some(ship) = self.ship(id).await? else {
                    return Err(sqlx::Error::Database(e).into());
                };
                if let Some(active) = self.active_ship_of(&ship.pr_key).await? {
                    return Err(StoreError::ShipInProgress { id: active.id });
                }
                let running = read!(self, |db, dialect| {
                    let sql = sql!(
                        "SELECT id FROM ships WHERE repo_key = $1 AND environment = $2 ",
                        "AND holds_environment AND ",
                        unfinished!()
                    );
                    sqlx::query_scalar::<_, i64>(sql.on(dialect))
                        .bind(&ship.repo_key)
                        .bind(&ship.environment)
                        .fetch_optional(db)
                        .await
                })?;
                match running {
                    Some(id) => Err(StoreError::EnvironmentBusy { id }),
                    None => Err(sqlx::Error::Database(e).into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Ships created at or after `since`, oldest first; of one repository, or of all
    /// when `repo` is `None`. For delivery metrics.
    pub async fn ships(
        &self,
        repo: Option<&RepoRef>,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<StoredShip>> {
        let repo_key = repo.map(RepoRef::key);
        let rows: Vec<ShipRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE ($1 IS NULL OR repo_key = $1) AND created_at >= $2 ",
                "ORDER BY created_at, id"
            ))
            .bind(repo_key)
            .bind(to_ms(since))
            .fetch_all(db)
            .await
        })?;
        rows.into_iter().map(ShipRow::into_ship).collect()
    }

    /// The newest ship of the PR `pr_key` ([`PrRef::key`]), finished or not.
    pub async fn latest_ship_of(&self, pr_key: &str) -> StoreResult<Option<StoredShip>> {
        let row: Option<ShipRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                ship_columns!(),
                " FROM ships WHERE pr_key = $1 ORDER BY id DESC LIMIT 1"
            ))
            .bind(pr_key)
            .fetch_optional(db)
            .await
        })?;
        row.map(ShipRow::into_ship).transpose()
    }
}
