//! Holds on changes (`/hold`): at most one per change, by the table's primary key.

use super::{from_ms, to_ms, Store, StoreError, StoreResult};
use crate::domain::PrRef;
use time::OffsetDateTime;

/// The columns of a [`HoldRow`], named as its fields.
macro_rules! hold_columns {
    () => {
        "pr_key, holder, reason, created_at"
    };
}

/// Someone's hold on a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    /// [`PrRef::key`] of the change.
    pub pr_key: String,
    pub holder: String,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct HoldRow {
    pr_key: String,
    holder: String,
    reason: Option<String>,
    created_at: i64,
}

impl HoldRow {
    fn into_record(self) -> StoreResult<HoldRecord> {
        Ok(HoldRecord {
            pr_key: self.pr_key,
            holder: self.holder,
            reason: self.reason,
            created_at: from_ms(self.created_at)?,
        })
    }
}

/// Holds that find the hold released between their insert and their read, before giving up.
const HOLD_ATTEMPTS: usize = 3;

impl Store {
    /// Puts `holder`'s hold on `pr`, unless it is held already. Returns the hold in force
    /// and whether this call put it on.
    pub async fn hold(
        &self,
        pr: &PrRef,
        holder: &str,
        reason: Option<&str>,
    ) -> StoreResult<(HoldRecord, bool)> {
        for _ in 0..HOLD_ATTEMPTS {
            let offset = self.offset();
            let owned = (pr.key(), holder.to_owned(), reason.map(str::to_owned));
            let put: Option<HoldRow> = write_one!(self, |db, dialect| {
                let (pr_key, holder, reason) = owned;
                let sql = sql!(
                    "INSERT INTO holds (",
                    hold_columns!(),
                    ") VALUES ($2, $3, $4, ",
                    now!(),
                    ") ON CONFLICT (pr_key) DO NOTHING RETURNING ",
                    hold_columns!()
                );
                sqlx::query_as(sql.on(dialect))
                    .bind(offset)
                    .bind(pr_key)
                    .bind(holder)
                    .bind(reason)
                    .fetch_optional(db)
                    .await
            })?;
            if let Some(row) = put {
                return Ok((row.into_record()?, true));
            }
            if let Some(held) = self.hold_on(pr).await? {
                return Ok((held, false));
            }
        }
        Err(StoreError::Corrupt(format!(
            "the hold on {pr} kept changing while being put on"
        )))
    }

    /// The hold on `pr`, if any.
    pub async fn hold_on(&self, pr: &PrRef) -> StoreResult<Option<HoldRecord>> {
        let row: Option<HoldRow> = read!(self, |db| {
            sqlx::query_as(concat!(
                "SELECT ",
                hold_columns!(),
                " FROM holds WHERE pr_key = $1"
            ))
            .bind(pr.key())
            .fetch_optional(db)
            .await
        })?;
        row.map(HoldRow::into_record).transpose()
    }

    /// Releases exactly `hold`: `false` when it was released, or released and put on
    /// again, in the meantime.
    pub async fn unhold(&self, hold: &HoldRecord) -> StoreResult<bool> {
        let owned = (
            hold.pr_key.clone(),
            hold.holder.clone(),
            to_ms(hold.created_at),
        );
        write_one!(self, |db| {
            let (pr_key, holder, created_at) = owned;
            let done = sqlx::query(
                "DELETE FROM holds WHERE pr_key = $1 AND holder = $2 AND created_at = $3",
            )
            .bind(pr_key)
            .bind(holder)
            .bind(created_at)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
