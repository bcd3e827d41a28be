//! The bot's check run on each head commit, recorded before it is created (write-ahead),
//! so that the gate knows without asking GitHub whether a run of its own may be on a head.

use super::{Store, StoreResult};
use crate::domain::{CheckRunId, CommitSha, RepoRef};

/// What the store knows of the bot's check run on one head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedRun {
    /// No creation was ever started on this head.
    None,
    /// A creation was started and not confirmed: the run may exist.
    Unconfirmed,
    /// This run is on the head.
    Created(u64),
}

impl Store {
    pub async fn recorded_run(&self, repo: &RepoRef, head: &CommitSha) -> StoreResult<RecordedRun> {
        let row: Option<Option<i64>> = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT check_run_id FROM check_runs WHERE repo_key = $1 AND head_sha = $2",
            )
            .bind(repo.key())
            .bind(head.as_str())
            .fetch_optional(db)
            .await
        })?;
        // Ids are stored bit-for-bit in a signed column, as in `pr_records`.
        Ok(match row {
            None => RecordedRun::None,
            Some(None) => RecordedRun::Unconfirmed,
            Some(Some(id)) => RecordedRun::Created(id as u64),
        })
    }

    /// Records that a run is about to be created on `head`, before asking GitHub to.
    /// `false` when a creation was recorded already (by another job on the same head):
    /// its run may exist, and the caller looks for it.
    pub async fn start_run(&self, repo: &RepoRef, head: &CommitSha) -> StoreResult<bool> {
        let (repo_key, head) = (repo.key(), head.0.clone());
        write_one!(self, |db| {
            let done = sqlx::query(
                "INSERT INTO check_runs (repo_key, head_sha) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(repo_key)
            .bind(head)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records the run GitHub created or updated on `head`.
    pub async fn record_run(
        &self,
        repo: &RepoRef,
        head: &CommitSha,
        id: CheckRunId,
    ) -> StoreResult<()> {
        let (repo_key, head, id) = (repo.key(), head.0.clone(), id.0 as i64);
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO check_runs (repo_key, head_sha, check_run_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (repo_key, head_sha) DO UPDATE SET check_run_id = excluded.check_run_id",
            )
            .bind(repo_key)
            .bind(head)
            .bind(id)
            .execute(db)
            .await?;
            Ok(())
        })
    }
}
