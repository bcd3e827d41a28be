//! The HTTP shell: webhook intake and health, and the setup page while no forge is
//! configured. Intake only verifies, normalizes and durably stores; all work happens in
//! the worker.

mod github_webhook;
mod gitlab_webhook;
mod health;
mod intake;
mod metrics;
pub mod setup;
pub mod signature;
mod switch;
pub mod ui;

pub use switch::Switch;

use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use std::sync::Arc;
use tokio::sync::Notify;
use tower_http::trace::TraceLayer;

/// GitHub caps webhook payloads at 25 MB; anything larger is not a real delivery.
pub const MAX_WEBHOOK_BYTES: usize = 25 * 1024 * 1024;

/// Where GitHub delivers the app's webhooks (the manifest names it too).
pub const GITHUB_WEBHOOK_PATH: &str = "/webhooks/github";

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub github_secret: Option<Arc<SecretString>>,
    /// Accepted `X-Gitlab-Token` values.
    pub gitlab_secrets: Option<Arc<Vec<SecretString>>>,
    /// Wakes the local worker when a job is stored, so it need not wait for its poll.
    pub job_stored: Arc<Notify>,
    /// The worker's context: its forges' API usage and its verdict counts, for `/metrics`.
    pub worker: Option<Arc<crate::worker::Ctx>>,
    /// How delivery metrics count failures.
    pub dora: crate::settings::DoraSettings,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(GITHUB_WEBHOOK_PATH, post(intake::github))
        .route("/webhooks/gitlab", post(intake::gitlab))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
