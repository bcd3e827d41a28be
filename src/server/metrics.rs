//! `GET /metrics`: the queue, and delivery metrics over the last 30 days, in the
//! Prometheus text format.
use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use std::fmt::Write;
use std::time::Duration;

const DELIVERY_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

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
        let delivery = crate::report::delivery_metrics(&state.store, None, DELIVERY_WINDOW).await?;
        out.push_str(&crate::dora::render_prometheus(&delivery));
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
