//! The last body seen of each comment. An edited comment runs only the commands it did
//! not have before; GitHub sends the previous body with an edit, GitLab does not, so
//! the bot remembers it.

use super::{Store, StoreResult};

impl Store {
    /// The body last remembered for `comment_key`, if any.
    pub async fn comment_body(&self, comment_key: &str) -> StoreResult<Option<String>> {
        read!(self, |db| {
            sqlx::query_scalar("SELECT body FROM seen_comments WHERE comment_key = $1")
                .bind(comment_key)
                .fetch_optional(db)
                .await
        })
    }

    /// Remembers `body` as the current body of `comment_key`, replacing any earlier one.
    pub async fn remember_comment(&self, comment_key: &str, body: &str) -> StoreResult<()> {
        let (key, body, offset) = (comment_key.to_owned(), body.to_owned(), self.offset());
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
