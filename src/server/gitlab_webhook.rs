//! An extractor that turns a GitLab delivery into domain events, or rejects it.
use super::github_webhook::{read_body, DeliveryOutcome, Rejection};
use super::{signature, AppState};
use crate::domain::DeliveryId;
use crate::forge::gitlab::webhook;
use crate::forge::webhook::Parsed;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// A verified, parsed GitLab delivery.
#[derive(Debug)]
pub struct GitLabDelivery {
    pub id: DeliveryId,
    pub outcome: DeliveryOutcome,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// GitLab keeps `Idempotency-Key` across retries of one delivery; older instances send
/// only `X-Gitlab-Event-UUID`. Without either, identical bodies are taken as one event.
fn delivery_id(headers: &HeaderMap, body: &[u8]) -> DeliveryId {
    let key = header(headers, "idempotency-key")
        .or_else(|| header(headers, "x-gitlab-event-uuid"))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256-{}", hex::encode(Sha256::digest(body))));
    DeliveryId::gitlab(&key)
}

impl FromRequest<AppState> for GitLabDelivery {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let secrets = state
            .gitlab_secrets
            .clone()
            .ok_or(Rejection::NotConfigured)?;
        let headers = req.headers().clone();
        let token = header(&headers, "x-gitlab-token").ok_or(Rejection::BadSignature)?;
        if !signature::token_matches_any(token, &secrets) {
            return Err(Rejection::BadSignature);
        }
        let body = read_body(req, state).await?;
        let event =
            header(&headers, "x-gitlab-event").ok_or(Rejection::MissingHeader("x-gitlab-event"))?;
        let id = delivery_id(&headers, &body);
        let outcome = match webhook::parse(event, &body)? {
            Parsed::Events(events) => DeliveryOutcome::Events(events),
            Parsed::Ignored { reason } => DeliveryOutcome::Ignored(reason),
        };
        Ok(Self { id, outcome })
    }
}
