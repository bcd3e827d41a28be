//! The latest reading of each watched metric, per repository and environment, as
//! `/metrics` exposes it: what the last ship (or its rollback) saw of production.
use super::record::{MetricStatus, ShipRecord};
use crate::dora::prometheus::{escape_label_value, number};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One metric's latest reading in one environment of one repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub repo: String,
    pub environment: String,
    pub metric: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub verdict: MetricStatus,
    pub at_ms: i64,
}

/// The newest reading per repository, environment and metric among `ships`' readings,
/// their rollbacks' included; sorted by those three.
pub fn latest(ships: &[ShipRecord]) -> Vec<Latest> {
    let mut newest: BTreeMap<(String, String, String), Latest> = BTreeMap::new();
    for ship in ships {
        let rollback = ship.rollback.iter().flat_map(|r| r.watch.readings.iter());
        for r in ship.watch.readings.iter().chain(rollback) {
            let key = (
                ship.pr.repo.full_name.clone(),
                ship.environment.clone(),
                r.line.name.clone(),
            );
            if newest.get(&key).is_some_and(|l| l.at_ms > r.at_ms) {
                continue;
            }
            let latest = Latest {
                repo: key.0.clone(),
                environment: key.1.clone(),
                metric: key.2.clone(),
                value: r.line.value,
                limit: r.limit,
                verdict: r.line.status,
                at_ms: r.at_ms,
            };
            newest.insert(key, latest);
        }
    }
    newest.into_values().collect()
}

/// The Prometheus text exposition of `latest`: the value labelled with its verdict, the
/// bound it was judged against, and when it was read.
pub fn render_prometheus(latest: &[Latest]) -> String {
    let mut out = String::new();
    let labels = |l: &Latest| {
        format!(
            "repo=\"{}\",environment=\"{}\",metric=\"{}\"",
            escape_label_value(&l.repo),
            escape_label_value(&l.environment),
            escape_label_value(&l.metric)
        )
    };
    let family = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
    };
    family(
        &mut out,
        "smallbatch_ship_reading",
        "The latest reading of each watched metric after a ship or rollback (NaN when it could not be read), with its verdict.",
    );
    for l in latest {
        let _ = writeln!(
            out,
            "smallbatch_ship_reading{{{},verdict=\"{}\"}} {}",
            labels(l),
            verdict(l.verdict),
            number(l.value.unwrap_or(f64::NAN))
        );
    }
    family(
        &mut out,
        "smallbatch_ship_reading_bound",
        "The bound the latest reading was judged against.",
    );
    for l in latest {
        if let Some(limit) = l.limit {
            let _ = writeln!(
                out,
                "smallbatch_ship_reading_bound{{{}}} {}",
                labels(l),
                number(limit)
            );
        }
    }
    family(
        &mut out,
        "smallbatch_ship_reading_timestamp_seconds",
        "When the latest reading was taken, in Unix seconds.",
    );
    for l in latest {
        let _ = writeln!(
            out,
            "smallbatch_ship_reading_timestamp_seconds{{{}}} {}",
            labels(l),
            number(l.at_ms as f64 / 1000.0)
        );
    }
    out
}

fn verdict(status: MetricStatus) -> &'static str {
    match status {
        MetricStatus::Healthy => "healthy",
        MetricStatus::Breaching => "breaching",
        MetricStatus::Regressed => "regressed",
        MetricStatus::Unknown => "unknown",
        MetricStatus::Inconclusive => "inconclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ship::record::Stage;
    use crate::ship::testing::record;

    #[test]
    fn the_newest_reading_of_each_metric_is_exposed_with_its_verdict_and_bound() {
        let older = record(Stage::Healthy);
        let mut newer = record(Stage::Regressed);
        for r in &mut newer.watch.readings {
            r.at_ms += 1_000_000;
        }
        let latest = latest(&[newer, older]);
        assert_eq!(latest.len(), 2);
        insta::assert_snapshot!(render_prometheus(&latest), @r#"
        # HELP smallbatch_ship_reading The latest reading of each watched metric after a ship or rollback (NaN when it could not be read), with its verdict.
        # TYPE smallbatch_ship_reading gauge
        smallbatch_ship_reading{repo="o/r",environment="production",metric="error rate",verdict="regressed"} 0.034
        smallbatch_ship_reading{repo="o/r",environment="production",metric="p99 latency",verdict="healthy"} 0.13
        # HELP smallbatch_ship_reading_bound The bound the latest reading was judged against.
        # TYPE smallbatch_ship_reading_bound gauge
        smallbatch_ship_reading_bound{repo="o/r",environment="production",metric="error rate"} 0.01
        smallbatch_ship_reading_bound{repo="o/r",environment="production",metric="p99 latency"} 0.18
        # HELP smallbatch_ship_reading_timestamp_seconds When the latest reading was taken, in Unix seconds.
        # TYPE smallbatch_ship_reading_timestamp_seconds gauge
        smallbatch_ship_reading_timestamp_seconds{repo="o/r",environment="production",metric="error rate"} 1180.002
        smallbatch_ship_reading_timestamp_seconds{repo="o/r",environment="production",metric="p99 latency"} 1180.002
        "#);
    }
}
