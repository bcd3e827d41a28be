//! The append-only audit log of gate overrides. The database itself refuses UPDATE and
//! DELETE on the table (triggers in the migrations), so the log holds even against a
//! buggy or hostile caller of raw SQL.

use super::{postgres, sqlite, Backend, SqliteDb, Store, StoreResult};

/// A gate override issued by a chat command, for one head commit of one PR.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OverrideRecord {
    pub id: i64,
    pub pr_key: String,
    pub head_sha: String,
    pub actor: String,
    pub reason: String,
    /// The verdict it overrode, as the caller describes it (e.g. "fail: 612 lines over 400").
    pub overridden: String,
    pub created_at_ms: i64,
}

/// An override before the database gives it an id and a time.
pub(super) struct NewOverride<'a> {
    pub pr_key: &'a str,
    pub head_sha: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
    pub overridden: &'a str,
}

impl Store {
    /// Appends an override of the gate on `head_sha` of `pr_key` to the audit log.
    pub async fn record_override(
        &self,
        pr_key: &str,
        head_sha: &str,
        actor: &str,
        reason: &str,
        overridden: &str,
    ) -> StoreResult<OverrideRecord> {
        let offset = self.offset();
        match &self.backend {
            Backend::Sqlite(db) => {
                let owned = [pr_key, head_sha, actor, reason, overridden].map(str::to_owned);
                db.writer
                    .write(move |c| {
                        Box::pin(async move {
                            let [pr_key, head_sha, actor, reason, overridden] = &owned;
                            let new = NewOverride {
                                pr_key,
                                head_sha,
                                actor,
                                reason,
                                overridden,
                            };
                            sqlite::record_override(c, &new, offset).await
                        })
                    })
                    .await
            }
            Backend::Postgres(pool) => {
                let new = NewOverride {
                    pr_key,
                    head_sha,
                    actor,
                    reason,
                    overridden,
                };
                postgres::record_override(pool, &new, offset).await
            }
        }
    }

    /// The latest override for exactly this head. A new push is another head, so the
    /// override does not carry over to it.
    pub async fn override_for(
        &self,
        pr_key: &str,
        head_sha: &str,
    ) -> StoreResult<Option<OverrideRecord>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => {
                sqlite::override_for(pool, pr_key, head_sha).await
            }
            Backend::Postgres(pool) => postgres::override_for(pool, pr_key, head_sha).await,
        }
    }

    /// Every override of the PR, on any head, oldest first.
    pub async fn overrides(&self, pr_key: &str) -> StoreResult<Vec<OverrideRecord>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::overrides(pool, pr_key).await,
            Backend::Postgres(pool) => postgres::overrides(pool, pr_key).await,
        }
    }
}
