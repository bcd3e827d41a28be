//! The server's logs on stdout, written so that logging can never stop the server.
//!
//! tracing-subscriber's own stdout writer reports a failed write (EPIPE once the reader
//! of stdout is gone) with `eprintln!`, which panics when stderr is gone too: the task
//! that logged dies, a request loses its connection, and the SIGTERM handler dies before
//! it can start the shutdown. A reader that is alive but stuck fills the pipe and blocks
//! every thread that logs. So lines go through a bounded queue to one writer thread:
//! a line that does not fit is dropped, and a failed write is ignored.

use crate::settings::LogFormat;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::fmt::MakeWriter;

/// Lines held for the writer thread; beyond them, lines are dropped.
const QUEUE_LINES: usize = 4096;
/// How long the process waits at exit for queued lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Installs the global subscriber: `RUST_LOG` or `info`, colours only on a terminal.
/// Keep the guard until exit: dropping it waits (briefly) for queued lines.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = queued(std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal())
        // Its reports of failed writes go to stderr, which may be gone as well.
        .log_internal_errors(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}

/// A writer for `out` on its own thread, and the guard that flushes it at exit.
pub fn queued<W: Write + Send + 'static>(mut out: W) -> (QueuedWriter, LogGuard) {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_LINES);
    let pending = Arc::new(AtomicUsize::new(0));
    let written = pending.clone();
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            for line in rx {
                // Nobody to tell: the log is where failures would be reported.
                let _ = out.write_all(&line).and_then(|()| out.flush());
                written.fetch_sub(1, Ordering::SeqCst);
            }
        });
    // Without the thread every line is dropped rather than the process failing to start.
    let tx = spawned.ok().map(|_| tx);
    (
        QueuedWriter {
            tx,
            pending: pending.clone(),
        },
        LogGuard { pending },
    )
}

/// Hands each write to the writer thread; never blocks and never fails.
#[derive(Clone)]
pub struct QueuedWriter {
    tx: Option<SyncSender<Vec<u8>>>,
    pending: Arc<AtomicUsize>,
}

impl Write for QueuedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(tx) = &self.tx {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                tx.try_send(buf.to_vec())
            {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for QueuedWriter {
    type Writer = QueuedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Waits, on drop, up to [`FLUSH_WAIT`] for the queued lines to be written.
pub struct LogGuard {
    pending: Arc<AtomicUsize>,
}

impl LogGuard {
    /// Whether every queued line was written (or failed) within `wait`.
    pub fn flush(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while self.pending.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.flush(FLUSH_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::sync::Mutex;

    /// A sink that fails every write, as stdout does once its reader is gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(ErrorKind::BrokenPipe.into())
        }
    }

    /// A sink that blocks until released, as a pipe whose reader stopped reading.
    struct Stuck(Arc<Mutex<()>>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _held = self.0.lock().unwrap();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_output_swallows_every_line() {
        let (mut writer, guard) = queued(Closed);
        for _ in 0..10 {
            writer.write_all(b"a line\n").unwrap();
        }
        assert!(guard.flush(Duration::from_secs(5)));
    }

    #[test]
    fn a_stuck_output_drops_lines_instead_of_blocking_and_exit_does_not_wait_for_it() {
        let lock = Arc::new(Mutex::new(()));
        let held = lock.lock().unwrap();
        let (mut writer, guard) = queued(Stuck(lock.clone()));
        let start = Instant::now();
        for _ in 0..QUEUE_LINES * 2 {
            writer.write_all(b"a line\n").unwrap();
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!guard.flush(Duration::from_millis(50)));
        drop(held);
        assert!(guard.flush(Duration::from_secs(5)));
    }
}
