//! The last body seen of each comment. An edited comment runs only the commands it did
//! not have before; GitHub sends the previous body with an edit, GitLab does not, so
//! the bot remembers it.

use super::{Store, StoreResult};
use crate::domain::{CommentId, PrRef};

/// A comment's row: comment ids are unique per forge, not across forges.
fn comment_key(pr: &PrRef, comment: CommentId) -> String {
    format!("{}/comment:{comment}", pr.key())
}

impl Store {
    /// The body last remembered for `comment` on `pr`, if any.
    pub async fn comment_body(
        &self,
        pr: &PrRef,
        comment: CommentId,
    ) -> StoreResult<Option<String>> {
        read!(self, |db| {
            sqlx::query_scalar("SELECT body FROM seen_comments WHERE comment_key = $1")
                .bind(comment_key(pr, comment))
                .fetch_optional(db)
                .await
        })
    }

    /// Remembers `body` as the current body of `comment` on `pr`, replacing any earlier one.
    pub async fn remember_comment(
        &self,
        pr: &PrRef,
        comment: CommentId,
        body: &str,
    ) -> StoreResult<()> {
        let (key, body, offset) = (comment_key(pr, comment), body.to_owned(), self.offset());
        write_one!(self, |db, dialect| {
            let sql = sql!(
                "INSERT INTO seen_comments (comment_key, body, updated_at) VALUES ($2, $3, ",
                now!(),
                ") ON CONFLICT (comment_key) DO UPDATE SET body = excluded.body, ",
                "updated_at = excluded.updated_at"
            );
            sqlx::query(sql.on(dialect))
                .bind(offset)
                .bind(key)
                .bind(body)
                .execute(db)
                .await?;
            Ok(())
        })
    }
}
