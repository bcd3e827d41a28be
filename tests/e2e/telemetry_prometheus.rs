//! `ship::telemetry` and `ship::judge` against a real Prometheus server (Debian's
//! `prometheus` package) scraping a tiny app whose gauge the test sets
//! ([`crate::support::real_prometheus`]).

use crate::support::real_prometheus::{eventually, serve_app, Gauges, PrometheusProcess};
use smallbatch::policy::config::{Bound, MetricSpec};
use smallbatch::ship::judge::{judge, MetricVerdict, Reading};
use smallbatch::ship::telemetry::Prometheus;
use std::time::Duration;
use time::OffsetDateTime;

const QUERY: &str = "app_errors_ratio";

fn metric(bound: Bound) -> MetricSpec {
    MetricSpec::new("error rate", QUERY, bound)
}

#[tokio::test]
async fn a_real_prometheus_reading_is_judged_healthy_regressed_then_unknown_when_gone() {
    let gauge = Gauges::default();
    gauge.set(QUERY, 0.002);
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
    gauge.set(QUERY, 0.034);

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
