//! One round of telemetry: every configured metric read, with its `baseline` and
//! `min_samples` queries, and judged. Nothing here fails: what cannot be read is a
//! reading that says so.
use super::Ctx;
use crate::policy::config::{MetricSpec, MinSamples};
use crate::ship::judge::{self, Assessment, Inputs, Reading};

/// Why nothing could be read, when the server has no Prometheus.
const NO_PROMETHEUS: &str =
    "no Prometheus is configured on this server (SMALLBATCH_TELEMETRY__PROMETHEUS_URL)";

/// Reads and judges each of `metrics` now; `baselines` are their pre-deploy values
/// (same order).
pub(super) async fn round(
    ctx: &Ctx,
    metrics: &[MetricSpec],
    baselines: &[Option<f64>],
) -> Vec<Assessment> {
    let mut out = Vec::with_capacity(metrics.len());
    for (i, metric) in metrics.iter().enumerate() {
        let beside = match &metric.baseline {
            Some(query) => Some(read(ctx, query).await),
            None => None,
        };
        let samples = match &metric.min_samples {
            Some(MinSamples::Query { query, .. }) => Some(read(ctx, query).await),
            _ => None,
        };
        let inputs = Inputs {
            current: read(ctx, &metric.query).await,
            pre_deploy: baselines.get(i).copied().flatten(),
            beside,
            samples,
        };
        out.push(judge::assess(metric, inputs));
    }
    out
}

async fn read(ctx: &Ctx, query: &str) -> Reading {
    match &ctx.prometheus {
        Some(p) => p.instant(query, None).await,
        None => Reading::Unreachable(NO_PROMETHEUS.into()),
    }
}
