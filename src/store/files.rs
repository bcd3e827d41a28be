//! What the gate reads at a commit: file contents (immutable at a commit, so cached for
//! good) and, per base branch, the commit at which its policy is read.

use super::{Store, StoreResult};
use crate::domain::{CommitSha, RepoRef};

impl Store {
    /// `Some(None)` caches that the file does not exist at that commit.
    pub async fn cached_file(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> StoreResult<Option<Option<String>>> {
        read!(self, |db| {
            sqlx::query_scalar(
                "SELECT content FROM file_cache WHERE repo_key = $1 AND commit_sha = $2 AND path = $3",
            )
            .bind(repo.key())
            .bind(commit.as_str())
            .bind(path)
            .fetch_optional(db)
            .await
        })
    }

    /// Records a file's content (`None`: absent) at a commit. Content at a commit never
    /// changes, so the first write wins and later ones are no-ops.
    pub async fn cache_file(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
        content: Option<&str>,
    ) -> StoreResult<()> {
        let (repo_key, commit, path) = (repo.key(), commit.0.clone(), path.to_owned());
        let content = content.map(str::to_owned);
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO file_cache (repo_key, commit_sha, path, content) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repo_key, commit_sha, path) DO NOTHING",
            )
            .bind(repo_key)
            .bind(commit)
            .bind(path)
            .bind(content)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// The commit at which `branch`'s policy is read, if known.
    pub async fn policy_head(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> StoreResult<Option<CommitSha>> {
        let commit: Option<String> = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT commit_sha FROM policy_heads WHERE repo_key = $1 AND branch = $2",
            )
            .bind(repo.key())
            .bind(branch)
            .fetch_optional(db)
            .await
        })?;
        Ok(commit.map(CommitSha))
    }

    pub async fn set_policy_head(
        &self,
        repo: &RepoRef,
        branch: &str,
        commit: &CommitSha,
    ) -> StoreResult<()> {
        let (repo_key, branch, commit) = (repo.key(), branch.to_owned(), commit.0.clone());
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO policy_heads (repo_key, branch, commit_sha) VALUES ($1, $2, $3) \
                 ON CONFLICT (repo_key, branch) DO UPDATE SET commit_sha = excluded.commit_sha",
            )
            .bind(repo_key)
            .bind(branch)
            .bind(commit)
            .execute(db)
            .await?;
            Ok(())
        })
    }
}
