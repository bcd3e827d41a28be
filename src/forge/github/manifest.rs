//! The last step of GitHub's manifest flow: the code GitHub hands the setup page is
//! exchanged for the new app's id, private key and webhook secret with
//! `POST /app-manifests/{code}/conversions` (no authentication; the code is the proof,
//! valid for one hour and once).
use super::client::JSON;
use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;
use url::Url;

const API_VERSION: &str = "2022-11-28";
const TIMEOUT: Duration = Duration::from_secs(30);

/// The app GitHub registered, as the conversion returns it.
#[derive(Debug, Deserialize)]
pub struct Registered {
    pub id: u64,
    pub slug: String,
    /// The app's page: `https://github.com/apps/<slug>`.
    pub html_url: String,
    pub owner: Option<Owner>,
    pub webhook_secret: Option<SecretString>,
    pub pem: SecretString,
}

#[derive(Debug, Deserialize)]
pub struct Owner {
    pub login: String,
}

impl Registered {
    /// Where the app is installed on repositories.
    pub fn installation_url(&self) -> String {
        format!("{}/installations/new", self.html_url.trim_end_matches('/'))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// 404: unknown, used, or older than an hour.
    #[error("GitHub does not know this code: it was used already or is older than an hour")]
    UnknownCode,
    /// A code that is not one GitHub could have sent (it would have to be escaped).
    #[error("the code is not one GitHub sends")]
    MalformedCode,
    #[error("GitHub refused the code ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("cannot reach GitHub at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("GitHub's answer was not the app: {0}")]
    Unexpected(String),
}

/// Exchanges `code` for the app's credentials at the API `api_url`.
pub async fn convert(api_url: &Url, code: &str) -> Result<Registered, ConversionError> {
    if code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ConversionError::MalformedCode);
    }
    let root = api_url.as_str().trim_end_matches('/');
    let url = format!("{root}/app-manifests/{code}/conversions");
    let unreachable = |e: reqwest::Error| ConversionError::Unreachable {
        url: root.to_owned(),
        reason: without_url(&e),
    };
    let response = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(unreachable)?
        .post(&url)
        .header(reqwest::header::ACCEPT, JSON)
        .header(reqwest::header::USER_AGENT, "smallbatch")
        .header("x-github-api-version", API_VERSION)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    match status.as_u16() {
        201 => {
            serde_json::from_slice(&body).map_err(|e| ConversionError::Unexpected(e.to_string()))
        }
        404 => Err(ConversionError::UnknownCode),
        status => Err(ConversionError::Refused {
            status,
            message: serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect()),
        }),
    }
}

/// reqwest's error without the URL it names, which carries the one-time code.
fn without_url(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    }
}
