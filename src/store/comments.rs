//! The last body seen of each comment. An edited comment runs only the commands it did
//! not have before; GitHub sends the previous body with an edit, GitLab does not, so
//! the bot remembers it.

use super::{postgres, sqlite, Backend, SqliteDb, Store, StoreResult};

impl Store {
    /// The body last remembered for `comment_key`, if any.
    pub async fn comment_body(&self, comment_key: &str) -> StoreResult<Option<String>> {
        match &self.backend {
            Backend::Sqlite(SqliteDb { pool, .. }) => sqlite::comment_body(pool, comment_key).await,
            Backend::Postgres(pool) => postgres::comment_body(pool, comment_key).await,
        }
    }

    /// Remembers `body` as the current body of `comment_key`, replacing any earlier one.
    pub async fn remember_comment(&self, comment_key: &str, body: &str) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let (key, body, offset) = (comment_key.to_owned(), body.to_owned(), self.offset());
                db.writer
                    .write(move |c| {
                        Box::pin(
                            async move { sqlite::remember_comment(c, &key, &body, offset).await },
                        )
                    })
                    .await
            }
            Backend::Postgres(pool) => {
                postgres::remember_comment(pool, comment_key, body, self.offset()).await
            }
        }
    }
}
