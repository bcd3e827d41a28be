//! Each PR's branches and score as last evaluated: a PR whose base branch is another open
//! PR's head branch is stacked on it. The gate reads the PRs below a PR from here, and
//! finds the PRs above one whose size or place changed, without asking the forge.

use super::{Store, StoreResult};
use crate::domain::{PrNumber, PrRef, RepoRef};

/// One PR's branches and score, as last evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRecord {
    pub number: PrNumber,
    /// A branch of the PR's own repository.
    pub head_ref: String,
    pub base_ref: String,
    /// The score of its last evaluation.
    pub lines: u64,
    pub open: bool,
}

const COLUMNS: &str = "number, head_ref, base_ref, lines, is_open";

impl Store {
    /// What is recorded of `pr`, open or not.
    pub async fn pr_branches(&self, pr: &PrRef) -> StoreResult<Option<BranchRecord>> {
        let row: Option<BranchRow> = read!(self, |db| {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM pr_branches WHERE pr_key = $1"
            ))
            .bind(pr.key())
            .fetch_optional(db)
            .await
        })?;
        Ok(row.map(BranchRow::into_record))
    }

    /// Records `pr` as open with these branches and score.
    pub async fn save_pr_branches(
        &self,
        pr: &PrRef,
        head_ref: &str,
        base_ref: &str,
        lines: u64,
    ) -> StoreResult<()> {
        let (pr_key, repo_key, number) = (pr.key(), pr.repo.key(), pr.number.0 as i64);
        let (head_ref, base_ref, lines) = (head_ref.to_owned(), base_ref.to_owned(), lines as i64);
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO pr_branches (pr_key, repo_key, number, head_ref, base_ref, lines, is_open) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE) \
                 ON CONFLICT (pr_key) DO UPDATE SET head_ref = excluded.head_ref, \
                 base_ref = excluded.base_ref, lines = excluded.lines, is_open = TRUE",
            )
            .bind(pr_key)
            .bind(repo_key)
            .bind(number)
            .bind(head_ref)
            .bind(base_ref)
            .bind(lines)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// Records that `pr` is closed or merged: nothing can be stacked on it any more.
    pub async fn close_pr_branches(&self, pr: &PrRef) -> StoreResult<()> {
        let pr_key = pr.key();
        write_one!(self, |db| {
            sqlx::query("UPDATE pr_branches SET is_open = FALSE WHERE pr_key = $1")
                .bind(pr_key)
                .execute(db)
                .await?;
            Ok(())
        })
    }

    /// The open PR of `repo` whose head is `branch`: the one a PR based on `branch` is
    /// stacked on. Should several share the branch (one head, two bases), the oldest.
    pub async fn open_pr_with_head(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> StoreResult<Option<BranchRecord>> {
        let row: Option<BranchRow> = read!(self, |db| {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM pr_branches \
                 WHERE repo_key = $1 AND head_ref = $2 AND is_open ORDER BY number LIMIT 1"
            ))
            .bind(repo.key())
            .bind(branch)
            .fetch_optional(db)
            .await
        })?;
        Ok(row.map(BranchRow::into_record))
    }

    /// The open PRs of `repo` based on `branch`: those stacked on the PR whose head it is.
    pub async fn open_prs_on_base(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> StoreResult<Vec<BranchRecord>> {
        let rows: Vec<BranchRow> = read!(self, |db| {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM pr_branches \
                 WHERE repo_key = $1 AND base_ref = $2 AND is_open ORDER BY number"
            ))
            .bind(repo.key())
            .bind(branch)
            .fetch_all(db)
            .await
        })?;
        Ok(rows.into_iter().map(BranchRow::into_record).collect())
    }
}

/// Numbers and scores are stored in signed 64-bit columns, bit-for-bit.
#[derive(sqlx::FromRow)]
struct BranchRow {
    number: i64,
    head_ref: String,
    base_ref: String,
    lines: i64,
    is_open: bool,
}

impl BranchRow {
    fn into_record(self) -> BranchRecord {
        BranchRecord {
            number: PrNumber(self.number as u64),
            head_ref: self.head_ref,
            base_ref: self.base_ref,
            lines: self.lines as u64,
            open: self.is_open,
        }
    }
}
