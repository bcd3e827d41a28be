//! The metrics in Prometheus text exposition format 0.0.4.
//!
//! Hand-rolled rather than via `prometheus-client`: that crate encodes
//! OpenMetrics (it appends `_total` to counters and ends with `# EOF`), not
//! 0.0.4, and its registry suits live instrumentation, not a one-off report.
//!
//! Every family is a gauge: each value covers the report period, so a later
//! report over a sliding window may be lower, which a counter must never be.
//! Hence also no `_total` suffix (Prometheus reserves it for counters).
//! Quantiles are gauges with a `quantile` label, and a series without data
//! (no judged deploy, nothing restored) is absent rather than `NaN`.
use std::fmt::Write as _;

use time::Duration;

use super::bands::INSUFFICIENT_DATA;
use super::metrics::{DurationSummary, RepoMetrics};

pub fn render_prometheus(metrics: &[RepoMetrics]) -> String {
    let mut out = Exposition::default();
    let per_repo = |m: &RepoMetrics| vec![("repo", m.repo.clone())];

    out.family(
        "smallbatch_deployments",
        "Deployments in the report period, reverts included.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.counts.deployments as f64);
    }
    out.family(
        "smallbatch_deployments_per_day",
        "Deployments per day over the report period.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.deploys_per_day);
    }
    out.family(
        "smallbatch_failed_deployments",
        "Deployments that failed in the report period: regressed, or rolled back or reverted within the failure window; each once.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.counts.failed as f64);
    }
    out.family(
        "smallbatch_judged_deployments",
        "Deployments known to have failed or to be healthy: the change failure ratio's denominator.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.counts.judged() as f64);
    }
    out.family(
        "smallbatch_change_failure_ratio",
        "Failed deployments over judged deployments.",
    );
    for m in metrics {
        if let Some(rate) = m.change_failure_rate {
            out.sample(&per_repo(m), rate);
        }
    }
    out.family(
        "smallbatch_rework_deployments",
        "Unplanned deployments made to fix a failure (reverts, rollbacks) in the report period.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.counts.rework as f64);
    }
    out.family(
        "smallbatch_rework_ratio",
        "Rework deployments over all deployments: DORA's rework rate.",
    );
    for m in metrics {
        if let Some(rate) = m.rework_rate {
            out.sample(&per_repo(m), rate);
        }
    }
    out.family(
        "smallbatch_lead_time_seconds",
        "First commit to healthy deployment, by quantile.",
    );
    for m in metrics {
        out.quantiles(&m.repo, m.lead_time);
    }
    out.family(
        "smallbatch_time_to_restore_seconds",
        "Regression detected to healthy revert deployed, by quantile.",
    );
    for m in metrics {
        out.quantiles(&m.repo, m.time_to_restore);
    }
    out.family(
        "smallbatch_unrestored_failures",
        "Regressed deployments not restored by the end of the report period.",
    );
    for m in metrics {
        out.sample(&per_repo(m), m.unrestored.len() as f64);
    }
    out.family(
        "smallbatch_deployments_by_size",
        "Deployments by size label.",
    );
    for m in metrics {
        for b in &m.by_size {
            out.sample(&sized(m, b.size), b.deployments as f64);
        }
    }
    out.family(
        "smallbatch_failed_deployments_by_size",
        "Failed deployments by size label.",
    );
    for m in metrics {
        for b in &m.by_size {
            out.sample(&sized(m, b.size), b.failures as f64);
        }
    }
    out.family(
        "smallbatch_performance_band",
        "DORA performance band per key (dora-team/fourkeys buckets); always 1.",
    );
    for m in metrics {
        let bands = [
            (
                "deployment_frequency",
                m.bands.deployment_frequency.map(|b| b.label()),
            ),
            ("lead_time", m.bands.lead_time.map(|b| b.label())),
            (
                "change_failure_rate",
                m.bands.change_failure_rate.map(|b| b.label()),
            ),
            (
                "time_to_restore",
                m.bands.time_to_restore.map(|b| b.label()),
            ),
        ];
        for (key, band) in bands {
            let labels = vec![
                ("repo", m.repo.clone()),
                ("key", key.to_owned()),
                ("band", band.unwrap_or(INSUFFICIENT_DATA).to_owned()),
            ];
            out.sample(&labels, 1.0);
        }
    }
    out.text
}

fn sized(m: &RepoMetrics, size: crate::policy::SizeLabel) -> Vec<(&'static str, String)> {
    let size = size.name().trim_start_matches("size/").to_owned();
    vec![("repo", m.repo.clone()), ("size", size)]
}

#[derive(Default)]
struct Exposition {
    text: String,
    /// The family being written; samples are named after it.
    family: &'static str,
}

impl Exposition {
    fn family(&mut self, name: &'static str, help: &str) {
        self.family = name;
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
    }

    fn sample(&mut self, labels: &[(&str, String)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
            .collect();
        let _ = writeln!(
            self.text,
            "{}{{{}}} {}",
            self.family,
            labels.join(","),
            number(value)
        );
    }

    fn quantiles(&mut self, repo: &str, summary: Option<DurationSummary>) {
        let Some(s) = summary else { return };
        for (quantile, value) in [("0.5", s.median), ("0.9", s.p90)] {
            let labels = [("repo", repo.to_owned()), ("quantile", quantile.to_owned())];
            self.sample(&labels, seconds(value));
        }
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_seconds_f64()
}

/// Go's `ParseFloat` syntax, which Prometheus reads: `+Inf`, `-Inf`, `NaN`,
/// else Rust's shortest round-trip decimal.
pub(crate) fn number(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".to_owned(),
        f64::INFINITY => "+Inf".to_owned(),
        f64::NEG_INFINITY => "-Inf".to_owned(),
        v => v.to_string(),
    }
}

/// The three escapes 0.0.4 defines for label values.
pub(crate) fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label_value("acme/api"), "acme/api");
    }

    #[test]
    fn numbers_use_prometheus_spelling() {
        assert_eq!(number(12000.0), "12000");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }
}
