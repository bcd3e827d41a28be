//! What every forge's webhook parser returns, and the helpers they share.

use crate::policy::codeowners;
use crate::policy::config::CONFIG_PATHS;
use serde::Deserialize;

/// Files outside [`CONFIG_PATHS`] whose change alters verdicts on the branch: the GitLab
/// location of the policy (one repository may be mirrored on both forges) and the
/// attributes that mark files generated or vendored.
const OTHER_POLICY_FILES: [&str; 2] = [".gitlab/smallbatch.yml", ".gitattributes"];

/// What a delivery means to the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Work to do. One delivery can touch several PRs (a check suite re-run).
    Events(Vec<crate::domain::DomainEvent>),
    /// Nothing to do, and why (for the delivery log).
    Ignored { reason: String },
}

/// Why a delivery could not be understood. Both are the sender's fault (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The body is not JSON at all.
    #[error("malformed JSON payload: {0}")]
    MalformedJson(#[source] serde_json::Error),
    /// The body is JSON but a field has the wrong type (a string where a number goes...).
    #[error("unexpected payload shape: {0}")]
    InvalidShape(#[source] serde_json::Error),
    /// A field the gate needs is absent or null; named by its dotted path.
    #[error("payload is missing `{0}`")]
    MissingField(&'static str),
}

/// Whether a push changing `path` (relative to the repository root) can change verdicts:
/// the policy, the attributes, and CODEOWNERS wherever either forge reads it (its owners
/// count when `reviews.owners` is `codeowners`).
pub(crate) fn is_policy_file(path: &str) -> bool {
    CONFIG_PATHS.contains(&path)
        || OTHER_POLICY_FILES.contains(&path)
        || codeowners::GITHUB_PATHS.contains(&path)
        || codeowners::GITLAB_PATHS.contains(&path)
}

/// One commit of a push, as both forges list it: the paths it touched.
#[derive(Deserialize)]
pub(crate) struct PushCommit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

impl PushCommit {
    pub(crate) fn touches_policy(&self) -> bool {
        self.added
            .iter()
            .chain(&self.modified)
            .chain(&self.removed)
            .any(|path| is_policy_file(path))
    }
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => WebhookError::InvalidShape(e),
        _ => WebhookError::MalformedJson(e),
    })
}

pub(crate) fn required<T>(value: Option<T>, field: &'static str) -> Result<T, WebhookError> {
    value.ok_or(WebhookError::MissingField(field))
}

pub(crate) fn ignored(reason: impl Into<String>) -> Parsed {
    Parsed::Ignored {
        reason: reason.into(),
    }
}
