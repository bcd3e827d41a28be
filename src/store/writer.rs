//! The one writer of an SQLite database. SQLite lets one connection write at a time, and
//! a second writer waits in the busy handler, which sleeps in steps of up to 100 ms: under
//! load, webhook intake waited on whatever the worker was writing. Instead, every write
//! of this process goes to one task, which runs the writes that arrive together in one
//! `BEGIN IMMEDIATE` transaction and answers each only after the commit: one fsync per
//! batch (group commit) for intake and worker alike, and no busy-handler sleeps.
//!
//! Each write runs inside its own savepoint, so a write that fails (a constraint its
//! caller expects, such as a unique violation) is undone alone and reported to its
//! caller; the others in the batch still commit.

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
    /// Runs in the batch's transaction; `true` when it succeeded. Keeps its result until
    /// [`Write::answer`].
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> ConnFuture<'c, bool>;
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
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> ConnFuture<'c, bool> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return false;
            };
            let result = work(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
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
            Err(e) => Err(e),
        };
        let committed = committed.map_err(|e| {
            tracing::warn!(error = %e, writes = batch.len(), "an SQLite write batch failed");
            e.to_string()
        });
        for write in batch.drain(..) {
            write.answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

/// Runs every write of `batch` in one transaction and commits it.
async fn run_batch(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Write>],
) -> Result<(), sqlx::Error> {
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
) -> Result<(), sqlx::Error> {
    for write in batch.iter_mut() {
        exec(conn, "SAVEPOINT write").await?;
        if !write.run(conn).await {
            exec(conn, "ROLLBACK TO write").await?;
        }
        exec(conn, "RELEASE write").await?;
    }
    exec(conn, "COMMIT").await
}

/// Boxed, so the spawned writer task's future stays `Send` for every lifetime.
fn exec<'c>(
    conn: &'c mut SqliteConnection,
    sql: &'static str,
) -> ConnFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move { sqlx::query(sql).execute(conn).await.map(|_| ()) })
}
