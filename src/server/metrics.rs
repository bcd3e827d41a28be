//! `GET /metrics`: the queue, delivery metrics over the last 30 days, and the latest
//! reading of each metric ships watch, in the Prometheus text format.
use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use std::fmt::Write;
use std::time::Duration;

const DELIVERY_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// Job latency is summarised over the jobs enqueued in this window.
const LATENCY_WINDOW: Duration = Duration::from_secs(3600);

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let rendered = async {
        let mut out = String::new();
        let depth = state.store.queue_depth().await?;
        let parked = state.store.parked_count().await?;
        let _ = writeln!(out, "# HELP smallbatch_queue_depth Jobs queued or running.");
        let _ = writeln!(out, "# TYPE smallbatch_queue_depth gauge");
        let _ = writeln!(out, "smallbatch_queue_depth {depth}");
        let _ = writeln!(
            out,
            "# HELP smallbatch_parked_jobs Jobs that kept failing and wait for a human."
        );
        let _ = writeln!(out, "# TYPE smallbatch_parked_jobs gauge");
        let _ = writeln!(out, "smallbatch_parked_jobs {parked}");
        let latencies = state.store.job_latencies(LATENCY_WINDOW).await?;
        out.push_str(&render_latency(&latencies));
        if let Some(worker) = &state.worker {
            out.push_str(&render_worker(worker));
        }
        let delivery = crate::report::delivery_metrics(
            &state.store,
            None,
            DELIVERY_WINDOW,
            state.dora.failure_window,
        )
        .await?;
        out.push_str(&crate::dora::render_prometheus(&delivery));
        let readings = crate::report::latest_readings(&state.store, DELIVERY_WINDOW).await?;
        out.push_str(&crate::ship::gauges::render_prometheus(&readings));
        Ok::<_, crate::store::StoreError>(out)
    }
    .await;
    match rendered {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "metrics unavailable: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "database unreachable\n".to_owned(),
            )
        }
    }
}

/// This process's verdicts and API usage since start-up (counters per replica).
fn render_worker(worker: &crate::worker::Ctx) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP smallbatch_verdicts_total Gate evaluations by result."
    );
    let _ = writeln!(out, "# TYPE smallbatch_verdicts_total counter");
    for (result, n) in worker.verdicts.snapshot() {
        let _ = writeln!(out, "smallbatch_verdicts_total{{result=\"{result}\"}} {n}");
    }
    let forges = [("github", &worker.github), ("gitlab", &worker.gitlab)];
    let usage: Vec<_> = forges
        .iter()
        .filter_map(|(name, forge)| forge.as_ref().map(|f| (*name, f.api_usage())))
        .collect();
    let _ = writeln!(
        out,
        "# HELP smallbatch_api_calls_total Forge API calls answered, per credential."
    );
    let _ = writeln!(out, "# TYPE smallbatch_api_calls_total counter");
    for (forge, list) in &usage {
        for (credential, u) in list {
            let _ = writeln!(
                out,
                "smallbatch_api_calls_total{{forge=\"{forge}\",credential=\"{credential}\"}} {}",
                u.calls
            );
        }
    }
    let _ = writeln!(out, "# HELP smallbatch_rate_limit_remaining Requests left in the forge's rate-limit window, as last reported.");
    let _ = writeln!(out, "# TYPE smallbatch_rate_limit_remaining gauge");
    for (forge, list) in &usage {
        for (credential, u) in list {
            if let Some(left) = u.rate_limit_remaining {
                let _ = writeln!(
                    out,
                    "smallbatch_rate_limit_remaining{{forge=\"{forge}\",credential=\"{credential}\"}} {left}"
                );
            }
        }
    }
    out
}

/// A Prometheus summary of enqueue-to-completion times (sorted, shortest first).
fn render_latency(sorted: &[Duration]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP smallbatch_job_latency_seconds Enqueue to completion of the jobs enqueued in the last hour."
    );
    let _ = writeln!(out, "# TYPE smallbatch_job_latency_seconds summary");
    for q in [0.5, 0.99] {
        let value = quantile(sorted, q).map_or("NaN".to_owned(), |d| d.as_secs_f64().to_string());
        let _ = writeln!(
            out,
            "smallbatch_job_latency_seconds{{quantile=\"{q}\"}} {value}"
        );
    }
    let sum: f64 = sorted.iter().map(Duration::as_secs_f64).sum();
    let _ = writeln!(out, "smallbatch_job_latency_seconds_sum {sum}");
    let _ = writeln!(out, "smallbatch_job_latency_seconds_count {}", sorted.len());
    out
}

/// Nearest-rank quantile; `None` for no samples.
fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    let rank = ((q * sorted.len() as f64).ceil() as usize).saturating_sub(1);
    Some(sorted[rank.min(last)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_shows_median_and_p99() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_secs).collect();
        assert_eq!(
            render_latency(&samples),
            "# HELP smallbatch_job_latency_seconds Enqueue to completion of the jobs enqueued in the last hour.\n\
             # TYPE smallbatch_job_latency_seconds summary\n\
             smallbatch_job_latency_seconds{quantile=\"0.5\"} 50\n\
             smallbatch_job_latency_seconds{quantile=\"0.99\"} 99\n\
             smallbatch_job_latency_seconds_sum 5050\n\
             smallbatch_job_latency_seconds_count 100\n"
        );
    }

    #[test]
    fn latency_without_jobs_is_not_a_number() {
        let text = render_latency(&[]);
        assert!(text.contains("smallbatch_job_latency_seconds{quantile=\"0.5\"} NaN\n"));
        assert!(text.ends_with("smallbatch_job_latency_seconds_count 0\n"));
    }
}
