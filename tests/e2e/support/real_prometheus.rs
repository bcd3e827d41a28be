//! A real Prometheus server (Debian's `prometheus` package) scraping a tiny app whose
//! gauges the test sets, every second.
use axum::routing::get;
use axum::Router;
use smallbatch::ship::judge::Reading;
use smallbatch::ship::telemetry::Prometheus;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::process::free_port;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// How long a condition may take to come true: scrapes run every second.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The app's gauges by name; each is exposed as it is set.
#[derive(Clone, Default)]
pub struct Gauges(Arc<Mutex<BTreeMap<String, f64>>>);

impl Gauges {
    pub fn set(&self, name: &str, value: f64) {
        self.0.lock().unwrap().insert(name.into(), value);
    }

    fn exposition(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.0.lock().unwrap().iter() {
            out.push_str(&format!("# TYPE {name} gauge\n{name} {value}\n"));
        }
        out
    }
}

/// Serves the gauges on `/metrics` on a loopback port; returns the port.
pub async fn serve_app(gauges: Gauges) -> u16 {
    let app = Router::new().route("/metrics", get(move || async move { gauges.exposition() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A Prometheus child process on loopback, killed when dropped.
pub struct PrometheusProcess {
    child: Child,
    log: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrometheusProcess {
    pub fn start(app_port: u16) -> Self {
        assert!(
            Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: install the `prometheus` package \
             (apt-get install prometheus) to run this test"
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: app\n    static_configs:\n\
                 \x20     - targets: ['127.0.0.1:{app_port}']\n"
            ),
        )
        .unwrap();
        let log = dir.path().join("prometheus.log");
        let port = free_port();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PROMETHEUS}: {e}"));
        Self {
            child,
            log,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/-/ready` answers 200, failing early if the process died.
    pub async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let ready = format!("{}/-/ready", self.url());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited with {status}:\n{}", self.log());
            }
            let answer = http.get(&ready).send().await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "prometheus not ready after {PATIENCE:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until Prometheus answers `query` with exactly `value`: the app's gauge was
    /// scraped since it was set.
    pub async fn wait_for(&self, query: &str, value: f64) {
        let client = Prometheus::new(self.url().parse().unwrap()).unwrap();
        eventually(
            &format!("{query} = {value}"),
            self,
            || client.instant(query, None),
            |r| *r == Reading::Value(value),
        )
        .await;
    }
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `read` until `done` holds for its reading (bounded by [`PATIENCE`]), and returns it.
pub async fn eventually<F, Fut>(
    what: &str,
    server: &PrometheusProcess,
    mut read: F,
    done: impl Fn(&Reading) -> bool,
) -> Reading
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Reading>,
{
    let started = Instant::now();
    loop {
        let reading = read().await;
        if done(&reading) {
            return reading;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: still {reading:?} after {PATIENCE:?}; prometheus log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
