//! An extractor that turns a GitHub delivery into domain events, or rejects it.
use super::{signature, AppState};
use crate::domain::{DeliveryId, DomainEvent};
use crate::forge::github::webhook;
use crate::forge::webhook::{Parsed, WebhookError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

/// A verified, parsed GitHub delivery.
#[derive(Debug)]
pub struct GitHubDelivery {
    pub id: DeliveryId,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug)]
pub enum DeliveryOutcome {
    Events(Vec<DomainEvent>),
    Ignored(String),
}

#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("webhooks from this forge are not configured on this server")]
    NotConfigured,
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("signature missing or invalid")]
    BadSignature,
    #[error("payload too large")]
    TooLarge,
    #[error("cannot read body")]
    Body,
    #[error("{0}")]
    Malformed(#[from] WebhookError),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Rejection::NotConfigured => StatusCode::NOT_FOUND,
            Rejection::BadSignature => StatusCode::UNAUTHORIZED,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::MissingHeader(_) | Rejection::Body | Rejection::Malformed(_) => {
                StatusCode::BAD_REQUEST
            }
        };
        tracing::warn!(status = status.as_u16(), error = %self, "webhook rejected");
        (status, self.to_string()).into_response()
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, Rejection> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or(Rejection::MissingHeader(name))
}

/// The raw body, within the router's size limit.
pub(super) async fn read_body(req: Request, state: &AppState) -> Result<Bytes, Rejection> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Rejection::TooLarge
        } else {
            Rejection::Body
        }
    })
}

impl FromRequest<AppState> for GitHubDelivery {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let secret = state
            .github_secret
            .clone()
            .ok_or(Rejection::NotConfigured)?;
        let headers = req.headers().clone();
        // Nothing is read or parsed for an unsigned request.
        let sig = header(&headers, "x-hub-signature-256").map_err(|_| Rejection::BadSignature)?;
        let body = read_body(req, state).await?;
        if !signature::verify_sha256(secret.expose_secret().as_bytes(), &body, sig) {
            return Err(Rejection::BadSignature);
        }
        let event = header(&headers, "x-github-event")?;
        let id = DeliveryId::github(header(&headers, "x-github-delivery")?);
        let outcome = match webhook::parse(event, &body)? {
            Parsed::Events(events) => DeliveryOutcome::Events(events),
            Parsed::Ignored { reason } => DeliveryOutcome::Ignored(reason),
        };
        Ok(Self { id, outcome })
    }
}
