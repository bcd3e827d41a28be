//! Stores verified deliveries as jobs and acknowledges them.
use super::github_webhook::{DeliveryOutcome, GitHubDelivery};
use super::gitlab_webhook::GitLabDelivery;
use super::AppState;
use crate::domain::{Delivery, DeliveryId};
use crate::store::Enqueued;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

pub async fn github(
    State(state): State<AppState>,
    delivery: GitHubDelivery,
) -> (StatusCode, Json<Value>) {
    acknowledge(&state, delivery.id, delivery.outcome).await
}

pub async fn gitlab(
    State(state): State<AppState>,
    delivery: GitLabDelivery,
) -> (StatusCode, Json<Value>) {
    acknowledge(&state, delivery.id, delivery.outcome).await
}

/// Stores every event of a delivery, then answers; nothing is acknowledged unstored.
async fn acknowledge(
    state: &AppState,
    delivery_id: DeliveryId,
    outcome: DeliveryOutcome,
) -> (StatusCode, Json<Value>) {
    let events = match outcome {
        DeliveryOutcome::Ignored(reason) => {
            tracing::debug!(delivery = %delivery_id, %reason, "webhook ignored");
            return (
                StatusCode::ACCEPTED,
                Json(json!({ "status": "ignored", "reason": reason })),
            );
        }
        DeliveryOutcome::Events(events) => events,
    };
    let single = events.len() == 1;
    let mut queued = 0;
    for (i, event) in events.into_iter().enumerate() {
        // One delivery may name several PRs (a re-run check suite); each is its own job.
        let id = if single {
            delivery_id.clone()
        } else {
            delivery_id.part(i)
        };
        match state.store.enqueue(&Delivery { id, event }).await {
            Ok(Enqueued::New) => queued += 1,
            Ok(Enqueued::Duplicate) => {}
            Err(e) => {
                // Not acknowledged: the delivery shows as failed and can be redelivered.
                tracing::error!(delivery = %delivery_id, error = %e, "cannot store delivery");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "status": "error", "error": "storage unavailable" })),
                );
            }
        }
    }
    if queued > 0 {
        state.job_stored.notify_one();
    }
    let status = if queued == 0 { "duplicate" } else { "queued" };
    tracing::info!(delivery = %delivery_id, status, jobs = queued, "webhook acknowledged");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "status": status, "jobs": queued })),
    )
}
