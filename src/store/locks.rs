//! Locks on environments (`/lock`): at most one per environment of a repository, by the
//! table's primary key, so two replicas taking it at once leave exactly one holder.

use super::{from_ms, to_ms, Store, StoreError, StoreResult};
use crate::domain::{PrRef, RepoRef};
use time::OffsetDateTime;

/// The columns of a [`LockRow`], named as its fields.
macro_rules! lock_columns {
    () => {
        "repo_key, environment, holder, reason, pr_key, created_at"
    };
}

/// Someone's lock on an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    pub repo_key: String,
    pub environment: String,
    pub holder: String,
    pub reason: Option<String>,
    /// [`PrRef::key`] of the change where it was taken.
    pub pr_key: String,
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct LockRow {
    repo_key: String,
    environment: String,
    holder: String,
    reason: Option<String>,
    pr_key: String,
    created_at: i64,
}

impl LockRow {
    fn into_record(self) -> StoreResult<LockRecord> {
        Ok(LockRecord {
            repo_key: self.repo_key,
            environment: self.environment,
            holder: self.holder,
            reason: self.reason,
            pr_key: self.pr_key,
            created_at: from_ms(self.created_at)?,
        })
    }
}

/// Takes that find the lock released between their insert and their read, before giving up.
const TAKE_ATTEMPTS: usize = 3;

impl Store {
    /// Takes the lock on `environment` for `holder`, unless someone holds it. Returns the
    /// lock in force and whether this call took it.
    pub async fn lock_environment(
        &self,
        pr: &PrRef,
        environment: &str,
        holder: &str,
        reason: Option<&str>,
    ) -> StoreResult<(LockRecord, bool)> {
        for _ in 0..TAKE_ATTEMPTS {
            let offset = self.offset();
            let owned = (
                pr.repo.key(),
                environment.to_owned(),
                holder.to_owned(),
                reason.map(str::to_owned),
                pr.key(),
            );
            let taken: Option<LockRow> = write_one!(self, |db, dialect| {
                let (repo_key, environment, holder, reason, pr_key) = owned;
                let sql = sql!(
                    "INSERT INTO environment_locks (",
                    lock_columns!(),
                    ") VALUES ($2, $3, $4, $5, $6, ",
                    now!(),
                    ") ON CONFLICT (repo_key, environment) DO NOTHING RETURNING ",
                    lock_columns!()
                );
                sqlx::query_as(sql.on(dialect))
                    .bind(offset)
                    .bind(repo_key)
                    .bind(environment)
                    .bind(holder)
                    .bind(reason)
                    .bind(pr_key)
                    .fetch_optional(db)
                    .await
            })?;
            if let Some(row) = taken {
                return Ok((row.into_record()?, true));
            }
            if let Some(held) = self.environment_lock(&pr.repo, environment).await? {
                return Ok((held, false));
            }
        }
        Err(StoreError::Corrupt(format!(
            "the lock on {environment} kept changing hands while being taken"
        )))
    }

    /// The lock on `environment`, if anyone holds it.
    pub async fn environment_lock(
        &self,
        repo: &RepoRef,
        environment: &str,
    ) -> StoreResult<Option<LockRecord>> {
        let row: Option<LockRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                lock_columns!(),
                " FROM environment_locks WHERE repo_key = $1 AND environment = $2"
            ))
            .bind(repo.key())
            .bind(environment)
            .fetch_optional(db)
            .await
        })?;
        row.map(LockRow::into_record).transpose()
    }

    /// Releases exactly `lock`: `false` when it was released, or released and taken
    /// again, in the meantime.
    pub async fn unlock_environment(&self, lock: &LockRecord) -> StoreResult<bool> {
        let owned = (
            lock.repo_key.clone(),
            lock.environment.clone(),
            lock.holder.clone(),
            to_ms(lock.created_at),
        );
        write_one!(self, |db| {
            let (repo_key, environment, holder, created_at) = owned;
            let done = sqlx::query(
                "DELETE FROM environment_locks WHERE repo_key = $1 AND environment = $2 \
                 AND holder = $3 AND created_at = $4",
            )
            .bind(repo_key)
            .bind(environment)
            .bind(holder)
            .bind(created_at)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
