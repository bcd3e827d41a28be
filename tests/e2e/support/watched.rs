//! A team's world whose smallbatch reads a real Prometheus (Debian's `prometheus`
//! package), which scrapes an app whose gauges the test sets, every second.
use super::fake_prometheus::FakePrometheus;
use super::real_prometheus::{serve_app, Gauges, PrometheusProcess};
use super::sha;
use super::world::{make_ready, staff, World};
use std::time::Duration;

pub const ERRORS: &str = "app_errors_ratio";
pub const REQUESTS: &str = "app_requests";

/// Two minutes' watch, a reading a minute, the error ratio at most 1% (two breaching
/// readings in a row fail it, the default).
pub const POLICY: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: error rate\n      query: app_errors_ratio\n      max: 0.01\n";

/// A team's world whose smallbatch reads a real Prometheus, which scrapes the app.
pub struct Watched<W> {
    pub w: W,
    pub prometheus: PrometheusProcess,
    pub app: Gauges,
}

impl<W: World> Watched<W> {
    pub async fn start(policy: &str) -> Self {
        let app = Gauges::default();
        app.set(ERRORS, 0.002);
        app.set(REQUESTS, 500.0);
        let mut prometheus = PrometheusProcess::start(serve_app(app.clone()).await);
        prometheus.wait_ready().await;
        prometheus.wait_for(ERRORS, 0.002).await;
        prometheus.wait_for(REQUESTS, 500.0).await;
        let w = W::start_with(FakePrometheus::real(prometheus.url()).await).await;
        w.put_policy(policy);
        staff(&w);
        Self { w, prometheus, app }
    }

    /// The app's `gauge` becomes `value`, and Prometheus has scraped it.
    pub async fn set(&self, gauge: &str, value: f64) {
        self.app.set(gauge, value);
        self.prometheus.wait_for(gauge, value).await;
    }

    /// alice ships change `n` (at `sha(head)`), and its CD job deploys it.
    pub async fn ship(&self, n: u64, head: u32) {
        make_ready(&self.w, n, &sha(head)).await;
        self.w.say(n, 500 + n, "alice", "/ship").await;
        self.w.ci_deployed(n).await;
        self.w.settle().await;
        self.w.writes();
    }

    /// A minute passes: the next reading is taken.
    pub async fn tick(&self) {
        self.w.advance(Duration::from_secs(61)).await;
    }

    /// Change `n`'s shipping comment.
    pub fn shipping_comment(&self, n: u64) -> String {
        self.w
            .bot_comments(n)
            .into_iter()
            .find(|c| c.contains("## Shipping"))
            .expect("a shipping comment")
    }

    /// Ships change 7 and watches it healthy: the deployment a rollback returns to.
    pub async fn healthy_ship(&self) {
        self.ship(7, 1).await;
        self.tick().await;
        self.tick().await;
        assert!(self
            .shipping_comment(7)
            .contains("### ✅ Operating as designed"));
        self.w.writes();
    }
}
