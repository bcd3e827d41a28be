//! The append-only audit log of gate overrides. The database itself refuses UPDATE and
//! DELETE on the table (triggers in the migrations), so the log holds even against a
//! buggy or hostile caller of raw SQL.

use super::{Store, StoreResult};
use crate::domain::{CommitSha, PrRef};

/// The columns of an [`OverrideRecord`], named as its fields.
macro_rules! override_columns {
    () => {
        "id, pr_key, head_sha, actor, reason, overridden, created_at AS created_at_ms"
    };
}

/// A gate override issued by a chat command, for one head commit of one PR.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OverrideRecord {
    pub id: i64,
    /// [`PrRef::key`] of the PR.
    pub pr_key: String,
    #[sqlx(try_from = "String")]
    pub head_sha: CommitSha,
    pub actor: String,
    pub reason: String,
    /// The verdict it overrode, as the caller describes it (e.g. "fail: 612 lines over 400").
    pub overridden: String,
    pub created_at_ms: i64,
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
        write_one!(self, |db, dialect| {
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
        })
    }

    /// The latest override for exactly this head. A new push is another head, so the
    /// override does not carry over to it.
    pub async fn override_for(
        &self,
        pr: &PrRef,
        head: &CommitSha,
    ) -> StoreResult<Option<OverrideRecord>> {
        read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                override_columns!(),
                " FROM overrides WHERE pr_key = $1 AND head_sha = $2 ORDER BY id DESC LIMIT 1"
            ))
            .bind(pr.key())
            .bind(head.as_str())
            .fetch_optional(db)
            .await
        })
    }

    /// Every override of the PR, on any head, oldest first.
    pub async fn overrides(&self, pr: &PrRef) -> StoreResult<Vec<OverrideRecord>> {
        read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                override_columns!(),
                " FROM overrides WHERE pr_key = $1 ORDER BY id"
            ))
            .bind(pr.key())
            .fetch_all(db)
            .await
        })
    }
}
