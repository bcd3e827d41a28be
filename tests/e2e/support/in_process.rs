//! smallbatch run inside the test process, as both worlds run it: store, router and
//! worker on a loopback port, on a SQLite database in a temporary folder that outlives
//! the process, so that a test can stop it and start another on the same data.
use smallbatch::app::{App, Forges};
use smallbatch::settings::{LogFormat, Settings, SetupSettings, SweepSettings, WorkerSettings};
use smallbatch::store::Store;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A SQLite database in a folder of its own, removed with the last process using it.
#[derive(Clone)]
pub struct SqliteDb {
    pub url: String,
    _dir: Arc<TempDir>,
}

impl SqliteDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("smallbatch.db").display());
        Self {
            url,
            _dir: Arc::new(dir),
        }
    }
}

/// The settings of a test process without a forge; each world adds its own.
pub fn settings(db: &SqliteDb) -> Settings {
    Settings {
        prometheus_url: None,
        dora: Default::default(),
        // Sweeps are driven explicitly by tests/e2e/sweep.rs.
        sweep: SweepSettings::disabled(),
        ui: Default::default(),
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url.clone(),
        log_format: LogFormat::Text,
        worker: WorkerSettings {
            concurrency: 4,
            lease: Duration::from_secs(30),
            max_attempts: 5,
            drain_timeout: Duration::from_secs(5),
        },
        github: None,
        gitlab: None,
        setup: SetupSettings::default(),
    }
}

/// One running smallbatch process; cancelled when dropped.
pub struct InProcess {
    pub store: Store,
    pub db: SqliteDb,
    pub http: reqwest::Client,
    addr: SocketAddr,
    shutdown: CancellationToken,
    running: Option<JoinHandle<()>>,
    next_delivery: AtomicU64,
    /// How far [`InProcess::advance_clock`] moved the store's clock, kept across restarts.
    advanced: Mutex<Duration>,
}

impl InProcess {
    /// Starts a process on `db` with `forges`; with `worker` false it only acknowledges
    /// webhooks: deliveries are stored and nothing processes them.
    pub async fn boot(db: &SqliteDb, settings: &Settings, forges: Forges, worker: bool) -> Self {
        let store = Store::connect(&db.url).await.unwrap();
        let app = App::new(store.clone(), forges, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let running = if worker {
            tokio::spawn(async move { app.run(listener, stop).await.unwrap() })
        } else {
            let router = smallbatch::server::router(app.state);
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
                    .unwrap()
            })
        };
        Self {
            store,
            db: db.clone(),
            http: reqwest::Client::new(),
            addr,
            shutdown,
            running: Some(running),
            next_delivery: 1.into(),
            advanced: Duration::ZERO.into(),
        }
    }

    /// Hands what outlives a process to the one started after it: the forge's delivery
    /// ids go on (they are unique), and the database's clock stays where it was.
    pub fn hand_over_to(&self, next: &InProcess) {
        let delivery = self.next_delivery.load(Ordering::SeqCst);
        next.next_delivery.store(delivery, Ordering::SeqCst);
        next.advance_clock(*self.advanced.lock().unwrap());
    }

    /// Stops gracefully and waits until it has.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.running.take() {
            h.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A fresh number for a delivery id.
    pub fn next_delivery(&self) -> u64 {
        self.next_delivery.fetch_add(1, Ordering::SeqCst)
    }

    /// Moves the store's clock on without waiting for what falls due.
    pub fn advance_clock(&self, by: Duration) {
        self.store.advance_clock(by);
        *self.advanced.lock().unwrap() += by;
    }

    /// Waits until every job due within 30 s has run (retries fall due within seconds);
    /// ship steps, scheduled a minute or more ahead, wait for the clock. Fails showing
    /// the forge's `calls` when they do not.
    pub async fn settle(&self, calls: impl FnOnce() -> Vec<String>) {
        for _ in 0..600 {
            if self.store.due_depth(Duration::from_secs(30)).await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("jobs did not settle; calls so far: {:#?}", calls());
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
