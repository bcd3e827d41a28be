//! The append-only audit log of gate overrides. The database itself refuses UPDATE and
//! DELETE on the table (triggers in the migrations), so the log holds even against a
//! buggy or hostile caller of raw SQL.

use super::{from_ms, Store, StoreResult};
use crate::domain::{CommitSha, PrRef};
use time::OffsetDateTime;

/// The columns of an [`OverrideRow`], named as its fields.
macro_rules! override_columns {
    () => {
        "id, pr_key, head_sha, actor, reason, overridden, created_at"
    };
}

/// A gate override issued by a chat command, for one head commit of one PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRecord {
    pub id: i64,
    /// [`PrRef::key`] of the PR.
    pub pr_key: String,
    pub head_sha: CommitSha,
    pub actor: String,
    pub reason: String,
    /// The verdict it overrode, as the caller describes it (e.g. "fail: 612 lines over 400").
    pub overridden: String,
    pub created_at: OffsetDateTime,
}

/// An [`OverrideRecord`] in column types.
#[derive(sqlx::FromRow)]
struct OverrideRow {
    id: i64,
    pr_key: String,
    head_sha: String,
    actor: String,
    reason: String,
    overridden: String,
    created_at: i64,
}

impl OverrideRow {
    fn into_record(self) -> StoreResult<OverrideRecord> {
        Ok(OverrideRecord {
            id: self.id,
            pr_key: self.pr_key,
            head_sha: CommitSha(self.head_sha),
            actor: self.actor,
            reason: self.reason,
            overridden: self.overridden,
            created_at: from_ms(self.created_at)?,
        })
    }
}

impl Store {
    /// Appends an override of the gate on `head` of `pr` to the audit log.
    pub async fn record_override(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        actor: &str,
        reason: &str,
        overridden: &str,
    ) -> StoreResult<OverrideRecord> {
        let offset = self.offset();
        let (pr_key, head_sha) = (pr.key(), head.0.clone());
        let [actor, reason, overridden] = [actor, reason, overridden].map(str::to_owned);
        let row: OverrideRow = write_one!(self, |db, dialect| {
            let sql = sql!(
                "INSERT INTO overrides (pr_key, head_sha, actor, reason, overridden, created_at) ",
                "VALUES ($2, $3, $4, $5, $6, ",
                now!(),
                ") RETURNING ",
                override_columns!()
            );
            sqlx::query_as(sql.on(dialect))
                .bind(offset)
                .bind(pr_key)
                .bind(head_sha)
                .bind(actor)
                .bind(reason)
                .bind(overridden)
                .fetch_one(db)
                .await
        })?;
        row.into_record()
    }

    /// The latest override for exactly this head. A new push is another head, so the
    /// override does not carry over to it.
    pub async fn override_for(
        &self,
        pr: &PrRef,
        head: &CommitSha,
    ) -> StoreResult<Option<OverrideRecord>> {
        let row: Option<OverrideRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                override_columns!(),
                " FROM overrides WHERE pr_key = $1 AND head_sha = $2 ORDER BY id DESC LIMIT 1"
            ))
            .bind(pr.key())
            .bind(head.as_str())
            .fetch_optional(db)
            .await
        })?;
        row.map(OverrideRow::into_record).transpose()
    }

    /// Every override of the PR, on any head, oldest first.
    pub async fn overrides(&self, pr: &PrRef) -> StoreResult<Vec<OverrideRecord>> {
        let rows: Vec<OverrideRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                override_columns!(),
                " FROM overrides WHERE pr_key = $1 ORDER BY id"
            ))
            .bind(pr.key())
            .fetch_all(db)
            .await
        })?;
        rows.into_iter().map(OverrideRow::into_record).collect()
    }
}
