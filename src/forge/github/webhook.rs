//! TEMPORARY integration stub; replaced by the webhook branch.
use crate::domain::DomainEvent;

pub enum Parsed {
    Events(Vec<DomainEvent>),
    Ignored { reason: String },
}

#[derive(Debug, thiserror::Error)]
#[error("malformed")]
pub struct WebhookError;

pub fn parse(_event: &str, _body: &[u8]) -> Result<Parsed, WebhookError> {
    todo!()
}
