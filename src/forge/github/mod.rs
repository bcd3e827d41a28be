//! GitHub App adapter: authenticates as the App, talks to the REST API (github.com or
//! GitHub Enterprise Server) and implements [`Forge`](super::Forge).
//!
//! - [`auth`]: App JWTs and the per-installation token cache.
//! - [`client`]: one REST call with our headers, per-request auth and retry policy.
//! - [`forge`]: the `Forge` operations on top of the client.
//! - [`manifest`]: the setup page's exchange of GitHub's code for a new app.

pub mod auth;
mod client;
pub mod forge;
pub mod manifest;
mod models;
pub mod webhook;

pub use client::RetryPolicy;
pub use forge::GitHubForge;

use secrecy::SecretString;
use url::Url;

/// The public REST API of github.com.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// How to reach and authenticate as the GitHub App.
#[derive(Debug, Clone)]
pub struct GitHubApp {
    pub app_id: u64,
    /// The App's private key (PEM, PKCS#1 as GitHub issues it, or PKCS#8).
    pub private_key: SecretString,
    /// The REST API root: `https://api.github.com`, or `https://HOST/api/v3` on
    /// GitHub Enterprise Server.
    pub api_url: Url,
    /// The App's slug, whose comments are `<slug>[bot]`'s. When `None` it is read
    /// once from `GET /app`.
    pub app_slug: Option<String>,
}

impl GitHubApp {
    /// Settings for github.com, the slug discovered at run time.
    pub fn new(app_id: u64, private_key: SecretString) -> Self {
        Self {
            app_id,
            private_key,
            api_url: Url::parse(DEFAULT_API_URL).expect("the default API URL is valid"),
            app_slug: None,
        }
    }
}

/// Why the adapter could not start: a configuration problem, reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the GitHub App private key is not a usable RSA PEM key: {0}")]
    InvalidPrivateKey(#[source] jsonwebtoken::errors::Error),
    #[error("the GitHub API URL {url} is not usable: {reason}")]
    InvalidApiUrl { url: String, reason: String },
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}
