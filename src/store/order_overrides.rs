//! The append-only audit log of ships out of `ship.environments`' order
//! (`/ship <environment> --override <reason>`). The database refuses UPDATE and DELETE
//! on the table, as on the gate's overrides.

use super::{from_ms, Store, StoreResult};
use crate::domain::{CommitSha, PrRef};
use time::OffsetDateTime;

/// The columns of an [`OrderOverrideRow`], named as its fields.
macro_rules! order_override_columns {
    () => {
        "id, pr_key, head_sha, environment, skipped, actor, reason, created_at"
    };
}

/// One ship out of order: to `environment`, skipping `skipped`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOverrideRecord {
    pub id: i64,
    pub pr_key: String,
    pub head_sha: CommitSha,
    pub environment: String,
    pub skipped: Vec<String>,
    pub actor: String,
    pub reason: String,
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct OrderOverrideRow {
    id: i64,
    pr_key: String,
    head_sha: String,
    environment: String,
    skipped: String,
    actor: String,
    reason: String,
    created_at: i64,
}

impl OrderOverrideRow {
    fn into_record(self) -> StoreResult<OrderOverrideRecord> {
        Ok(OrderOverrideRecord {
            id: self.id,
            pr_key: self.pr_key,
            head_sha: CommitSha(self.head_sha),
            environment: self.environment,
            skipped: self.skipped.lines().map(str::to_owned).collect(),
            actor: self.actor,
            reason: self.reason,
            created_at: from_ms(self.created_at)?,
        })
    }
}

impl Store {
    /// Appends a ship of `head` to `environment` that skips `skipped` to the audit log.
    pub async fn record_order_override(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        environment: &str,
        skipped: &[&str],
        actor: &str,
        reason: &str,
    ) -> StoreResult<OrderOverrideRecord> {
        let offset = self.offset();
        let owned = (
            pr.key(),
            head.0.clone(),
            environment.to_owned(),
            skipped.join("\n"),
            actor.to_owned(),
            reason.to_owned(),
        );
        let row: OrderOverrideRow = write_one!(self, |db, dialect| {
            let (pr_key, head_sha, environment, skipped, actor, reason) = owned;
            let sql = sql!(
                "INSERT INTO order_overrides (pr_key, head_sha, environment, skipped, actor, ",
                "reason, created_at) VALUES ($2, $3, $4, $5, $6, $7, ",
                now!(),
                ") RETURNING ",
                order_override_columns!()
            );
            sqlx::query_as(sql.on(dialect))
                .bind(offset)
                .bind(pr_key)
                .bind(head_sha)
                .bind(environment)
                .bind(skipped)
                .bind(actor)
                .bind(reason)
                .fetch_one(db)
                .await
        })?;
        row.into_record()
    }

    /// Every ship of `pr` out of order, oldest first.
    pub async fn order_overrides(&self, pr: &PrRef) -> StoreResult<Vec<OrderOverrideRecord>> {
        let rows: Vec<OrderOverrideRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                order_override_columns!(),
                " FROM order_overrides WHERE pr_key = $1 ORDER BY id"
            ))
            .bind(pr.key())
            .fetch_all(db)
            .await
        })?;
        rows.into_iter()
            .map(OrderOverrideRow::into_record)
            .collect()
    }
}
