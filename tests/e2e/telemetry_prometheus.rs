//! `ship::telemetry` and `ship::judge` against a real Prometheus server (Debian's
//! `prometheus` package) scraping a tiny app whose gauge the test sets.

use crate::support::process::free_port;
use axum::routing::get;
use axum::Router;
use smallbatch::policy::config::{Bound, MetricSpec};
use smallbatch::ship::judge::{judge, MetricVerdict, Reading};
use smallbatch::ship::telemetry::Prometheus;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const QUERY: &str = "app_errors_ratio";
/// How long a condition may take to come true: scrapes run every second.
const PATIENCE: Duration = Duration::from_secs(30);

/// The app's error ratio, as the bits of an `f64`.
#[derive(Clone, Default)]
struct Gauge(Arc<AtomicU64>);

impl Gauge {
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }

    fn exposition(&self) -> String {
        let value = f64::from_bits(self.0.load(Ordering::SeqCst));
        format!(
            "# HELP app_errors_ratio Share of requests that failed.\n\
             # TYPE app_errors_ratio gauge\n\
             app_errors_ratio {value}\n"
        )
    }
}

/// Serves `/metrics` on a loopback port; returns the port.
async fn serve_app(gauge: Gauge) -> u16 {
    let app = Router::new().route("/metrics", get(move || async move { gauge.exposition() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A Prometheus child process on loopback, killed when dropped.
struct PrometheusProcess {
    child: Child,
    log: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrometheusProcess {
    fn start(app_port: u16) -> Self {
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/-/ready` answers 200, failing early if the process died.
    async fn wait_ready(&mut self) {
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
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `read` until `done` holds for its reading (bounded by [`PATIENCE`]), and returns it.
async fn eventually<F, Fut>(
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

fn metric(bound: Bound) -> MetricSpec {
    MetricSpec {
        name: "error rate".into(),
        query: QUERY.into(),
        bound,
    }
}

#[tokio::test]
async fn a_real_prometheus_reading_is_judged_healthy_regressed_then_unknown_when_gone() {
    let gauge = Gauge::default();
    gauge.set(0.002);
    let app_port = serve_app(gauge.clone()).await;
    let mut server = PrometheusProcess::start(app_port);
    server.wait_ready().await;
    let prometheus = Prometheus::new(server.url().parse().unwrap()).unwrap();
    let max = metric(Bound::Max(0.01));

    // Before the first scrape the query has no data; then the low value shows.
    let low = eventually(
        "the first scrape",
        &server,
        || prometheus.instant(QUERY, None),
        |r| *r == Reading::Value(0.002),
    )
    .await;
    assert_eq!(
        judge(&max, None, low),
        MetricVerdict::Healthy {
            value: 0.002,
            bound_text: "max 0.01".into()
        }
    );

    // The "deploy": everything before this instant is the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deployed_at = OffsetDateTime::now_utc();
    gauge.set(0.034);

    let high = eventually(
        "the raised value",
        &server,
        || prometheus.instant(QUERY, None),
        |r| *r == Reading::Value(0.034),
    )
    .await;
    assert_eq!(
        judge(&max, None, high.clone()),
        MetricVerdict::Regressed {
            value: 0.034,
            bound_text: "max 0.01".into(),
            by: "0.034 over max 0.01 (3.4×)".into()
        }
    );

    // The baseline averages the window before the deploy, which only saw the low value.
    let Reading::Value(baseline) = prometheus
        .baseline(QUERY, deployed_at, Duration::from_secs(2))
        .await
    else {
        panic!("no baseline; prometheus log:\n{}", server.log());
    };
    assert!((baseline - 0.002).abs() < 1e-12, "baseline {baseline}");
    assert_eq!(
        judge(&metric(Bound::MaxIncrease(1.5)), Some(baseline), high),
        MetricVerdict::Regressed {
            value: 0.034,
            bound_text: "at most 1.5× the pre-deploy 0.002".into(),
            by: "17.0× the pre-deploy 0.002 (max 1.5×)".into()
        }
    );

    // Telemetry that went away is unreachable, and never healthy. The first request may
    // still go to the kept-alive connection the killed server dropped; later ones are refused.
    drop(server);
    for attempt in 1..=2 {
        let gone = prometheus.instant(QUERY, None).await;
        let Reading::Unreachable(reason) = &gone else {
            panic!("attempt {attempt}: expected unreachable, got {gone:?}");
        };
        let refused = reason.starts_with("cannot connect: Connection refused");
        let cut = reason == "request failed: connection closed before message completed";
        assert!(
            refused || (attempt == 1 && cut),
            "attempt {attempt}: {reason}"
        );
        assert_eq!(
            judge(&max, None, gone.clone()),
            MetricVerdict::Unknown {
                reason: format!("telemetry unreachable: {reason}")
            }
        );
    }
}
