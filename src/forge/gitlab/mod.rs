//! GitLab adapter: talks to the REST API v4 of gitlab.com or a self-managed instance
//! with an access token and implements [`Forge`](super::Forge).
//!
//! - [`client`]: one REST call with our headers, the token and the shared retry policy.
//! - [`diff`]: line counts from GitLab's per-file unified diffs.
//! - [`forge`]: the `Forge` operations on top of the client.
//!
//! Mapping: a `RepoRef`'s `full_name` is the project's `path_with_namespace`
//! (`group/sub/project`), sent URL-encoded as the project id; `installation` is unused;
//! a `PrNumber` is the merge request's iid.

mod client;
pub mod diff;
pub mod forge;
mod models;
pub mod webhook;

pub use crate::forge::retry::RetryPolicy;
pub use forge::GitLabForge;

use secrecy::SecretString;
use url::Url;

/// How to reach GitLab and as whom.
#[derive(Debug, Clone)]
pub struct GitLabApp {
    /// The instance, e.g. `https://gitlab.com` or `https://gitlab.example.com`; the
    /// API is at `<base_url>/api/v4`.
    pub base_url: Url,
    /// A project, group or personal access token of the bot user, sent as
    /// `PRIVATE-TOKEN`. Needs the `api` scope.
    pub token: SecretString,
}

/// Why the adapter could not start: a configuration problem, reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the GitLab URL {url} is not usable: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("the GitLab token is not usable: it must be non-empty printable ASCII")]
    InvalidToken,
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}
