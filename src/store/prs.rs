//! What the bot last published on each PR, so it writes only when something changed.

use super::{Store, StoreResult};
use crate::domain::{CommitSha, PrRef};

/// What the bot last published on a PR, so it writes only when something changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRecord {
    pub head_sha: CommitSha,
    /// The PR's `updated_at` at the last applied evaluation; older snapshots are not applied.
    pub updated_at: String,
    pub check_run_id: Option<u64>,
    /// Fingerprint of the last published gate status on `head_sha`.
    pub check_fingerprint: Option<String>,
    pub comment_id: Option<u64>,
    pub comment_body: Option<String>,
    /// A post of the guidance comment was started and its id not recorded (the answer
    /// was lost, the process stopped): the comment may exist, so it is looked for first.
    pub comment_unconfirmed: bool,
}

/// A PR the bot never published on: no head, nothing written.
impl Default for PrRecord {
    fn default() -> Self {
        Self {
            head_sha: CommitSha::new(""),
            updated_at: String::new(),
            check_run_id: None,
            check_fingerprint: None,
            comment_id: None,
            comment_body: None,
            comment_unconfirmed: false,
        }
    }
}

impl Store {
    pub async fn pr_record(&self, pr: &PrRef) -> StoreResult<Option<PrRecord>> {
        let row: Option<PrRow> = read!(self, |db| {
            sqlx::query_as(
                "SELECT head_sha, updated_at, check_run_id, check_fingerprint, comment_id, comment_body, \
                 comment_unconfirmed FROM pr_records WHERE pr_key = $1",
            )
            .bind(pr.key())
            .fetch_optional(db)
            .await
        })?;
        Ok(row.map(PrRow::into_record))
    }

    /// Inserts or replaces the record of `pr`.
    pub async fn save_pr_record(&self, pr: &PrRef, record: &PrRecord) -> StoreResult<()> {
        let (pr_key, row) = (pr.key(), PrRow::from_record(record));
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO pr_records \
                 (pr_key, head_sha, updated_at, check_run_id, check_fingerprint, comment_id, comment_body, \
                 comment_unconfirmed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (pr_key) DO UPDATE SET head_sha = excluded.head_sha, \
                 updated_at = excluded.updated_at, check_run_id = excluded.check_run_id, \
                 check_fingerprint = excluded.check_fingerprint, comment_id = excluded.comment_id, \
                 comment_body = excluded.comment_body, comment_unconfirmed = excluded.comment_unconfirmed",
            )
            .bind(pr_key)
            .bind(row.head_sha)
            .bind(row.updated_at)
            .bind(row.check_run_id)
            .bind(row.check_fingerprint)
            .bind(row.comment_id)
            .bind(row.comment_body)
            .bind(row.comment_unconfirmed)
            .execute(db)
            .await?;
            Ok(())
        })
    }
}

/// A `PrRecord` in column types. Forge ids are `u64` but columns are signed 64-bit:
/// they are stored bit-for-bit (`as` casts both ways), which round-trips every value.
#[derive(sqlx::FromRow)]
struct PrRow {
    head_sha: String,
    updated_at: String,
    check_run_id: Option<i64>,
    check_fingerprint: Option<String>,
    comment_id: Option<i64>,
    comment_body: Option<String>,
    comment_unconfirmed: bool,
}

impl PrRow {
    fn from_record(r: &PrRecord) -> Self {
        Self {
            head_sha: r.head_sha.0.clone(),
            updated_at: r.updated_at.clone(),
            check_run_id: r.check_run_id.map(|id| id as i64),
            check_fingerprint: r.check_fingerprint.clone(),
            comment_id: r.comment_id.map(|id| id as i64),
            comment_body: r.comment_body.clone(),
            comment_unconfirmed: r.comment_unconfirmed,
        }
    }

    fn into_record(self) -> PrRecord {
        PrRecord {
            head_sha: CommitSha(self.head_sha),
            updated_at: self.updated_at,
            check_run_id: self.check_run_id.map(|id| id as u64),
            check_fingerprint: self.check_fingerprint,
            comment_id: self.comment_id.map(|id| id as u64),
            comment_body: self.comment_body,
            comment_unconfirmed: self.comment_unconfirmed,
        }
    }
}
