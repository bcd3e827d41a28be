//! The one writer of an SQLite database. SQLite lets one connection write at a time, and
//! a second writer waits in the busy handler, which sleeps in steps of up to 100 ms: under
//! load, webhook intake waited on whatever the worker was writing. Instead, every write
//! of this process goes to one task, which runs the writes that arrive together in one
//! `BEGIN IMMEDIATE` transaction and answers each only after the commit: one fsync per
//! batch (group commit) for intake and worker alike, and no busy-handler sleeps.
//!
//! A write is one statement. When it breaks a constraint its caller expects (a unique
//! violation), SQLite undoes that statement alone and the transaction goes on, so the
//! caller hears of it and the others in the batch still commit. Any other database error
//! rolls the whole batch back and each caller is told. (Savepoints around each write
//! would cost two more round trips to sqlx's connection thread per write: measured, the
//! thread switches dominated the writer's time.)

use super::{StoreError, StoreResult};
use sqlx::{SqliteConnection, SqlitePool};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// Writes run in one transaction at most.
const MAX_BATCH: usize = 256;

/// A future borrowing the writer's connection.
pub(super) type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// One queued write, type-erased so writes of any result type share the queue.
trait Write: Send {
    /// Runs in the batch's transaction and keeps its result until [`Write::answer`]; an
    /// error that broke the transaction is returned, so the batch is rolled back.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> ConnFuture<'c, Result<(), String>>;
    /// Tells the caller: its result when the batch committed, else the batch's error.
    fn answer(self: Box<Self>, committed: Result<(), &str>);
}

type WorkFn<T> = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> ConnFuture<'c, Result<T, sqlx::Error>> + Send,
>;

struct Pending<T> {
    work: Option<WorkFn<T>>,
    result: Option<Result<T, sqlx::Error>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T: Send + 'static> Write for Pending<T> {
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> ConnFuture<'c, Result<(), String>> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return Ok(());
            };
            let result = work(conn).await;
            let broke = match &result {
                Err(sqlx::Error::Database(e)) if !is_constraint(e.kind()) => Some(e.to_string()),
                _ => None,
            };
            self.result = Some(result);
            broke.map_or(Ok(()), Err)
        })
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let outcome = match (committed, self.result) {
            (Ok(()), Some(result)) => result.map_err(StoreError::from),
            (Err(message), _) => Err(StoreError::Batch(message.to_owned())),
            (Ok(()), None) => Err(StoreError::Batch("the write did not run".to_owned())),
        };
        // The caller may have gone (its client hung up); the write stands.
        let _ = self.reply.send(outcome);
    }
}

/// The handle of the writer task; the task ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    writes: mpsc::Sender<Box<dyn Write>>,
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (writes, incoming) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(pool, incoming));
        Self { writes }
    }

    /// Runs `work` in the writer's next transaction; returns its result once committed.
    pub(super) async fn write<T, W>(&self, work: W) -> StoreResult<T>
    where
        T: Send + 'static,
        W: for<'c> FnOnce(&'c mut SqliteConnection) -> ConnFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            work: Some(Box::new(work)),
            result: None,
            reply,
        };
        self.writes
            .send(Box::new(pending))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn write_batches(pool: SqlitePool, mut incoming: mpsc::Receiver<Box<dyn Write>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let committed = match pool.acquire().await {
            Ok(mut conn) => {
                let committed = run_batch(&mut conn, &mut batch).await;
                if committed.is_err() {
                    // Its transaction state is unknown: it must not serve another batch.
                    conn.close_on_drop();
                }
                committed
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &committed {
            tracing::warn!(error = %e, writes = batch.len(), "an SQLite write batch failed");
        }
        for write in batch.drain(..) {
            write.answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

/// Constraint failures undo their statement alone; the transaction stays active.
fn is_constraint(kind: sqlx::error::ErrorKind) -> bool {
    use sqlx::error::ErrorKind;
    matches!(
        kind,
        ErrorKind::UniqueViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation
    )
}

/// Runs every write of `batch` in one transaction and commits it.
async fn run_batch(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Write>],
) -> Result<(), String> {
    // IMMEDIATE: take the write lock now, not at the first write inside the batch.
    exec(conn, "BEGIN IMMEDIATE").await?;
    let ran = run_writes(conn, batch).await;
    if ran.is_err() {
        let _ = exec(conn, "ROLLBACK").await;
    }
    ran
}

async fn run_writes(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Write>],
) -> Result<(), String> {
    for write in batch.iter_mut() {
        write.run(conn).await?;
    }
    exec(conn, "COMMIT").await
}

/// Boxed, so the spawned writer task's future stays `Send` for every lifetime.
fn exec<'c>(
    conn: &'c mut SqliteConnection,
    sql: &'static str,
) -> ConnFuture<'c, Result<(), String>> {
    Box::pin(async move {
        sqlx::query(sql)
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}
