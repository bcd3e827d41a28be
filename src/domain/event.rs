use super::{CommitSha, DeliveryId, PrRef, RepoRef};
use serde::{Deserialize, Serialize};

/// A webhook, normalized. The adapters produce these; the worker consumes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Something that can change the gate's verdict happened on a PR: it was opened,
    /// pushed to, reviewed, marked ready, retargeted, or a re-run was requested.
    PrChanged {
        pr: PrRef,
        /// The head the event was about, when it says.
        head_sha: Option<CommitSha>,
        /// What happened, for the logs (`pull_request.synchronize`, ...).
        cause: String,
    },
    /// A push to a branch changed files that the gate reads (the repo policy or
    /// `.gitattributes`): every open PR targeting that branch must be re-evaluated.
    PolicyChanged { repo: RepoRef, branch: String },
}

impl DomainEvent {
    /// Work with the same key is serialized: two jobs for one PR never run at once.
    pub fn serial_key(&self) -> String {
        match self {
            DomainEvent::PrChanged { pr, .. } => pr.key(),
            DomainEvent::PolicyChanged { repo, .. } => repo.key(),
        }
    }
}

/// A verified delivery ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event: DomainEvent,
}
