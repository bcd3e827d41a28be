//! One GitHub REST call: our headers, per-request authentication (App JWT or
//! installation token) and our retry policy, over octocrab's HTTP stack.
//!
//! octocrab is used as the transport only (`build_request` + `execute`), built without
//! auth and without its retry and redirect layers (crate features), so that the token,
//! the headers and the retry decisions stay ours. One wart: its default client always
//! appends its own `User-Agent: octocrab`, so requests carry ours *and* that value;
//! avoiding it would mean assembling hyper + rustls + timeouts by hand for no gain.

use super::auth::{AppSigner, InstallationToken, TokenCache};
use super::models::{self, AccessToken, ErrorBody};
use super::{GitHubApp, SetupError};
use crate::domain::InstallationId;
use crate::forge::rest::{self, NextPage, UsageLog};
pub use crate::forge::rest::{ApiRequest, ApiResponse};
pub use crate::forge::retry::RetryPolicy;
use crate::forge::retry::{self, Backoff, Failed};
use crate::forge::{ForgeError, ForgeResult};
use http::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

pub const JSON: &str = "application/vnd.github+json";
pub const RAW: &str = "application/vnd.github.raw+json";
const API_VERSION: &str = "2022-11-28";
/// Names the forge in retry logs.
const FORGE: &str = "github";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// GitHub's advice for a secondary rate limit that names no wait.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

fn graphql_url(api_url: &Url) -> Url {
    let mut url = api_url.clone();
    let rest = api_url.path().trim_end_matches('/');
    let root = rest.strip_suffix("/v3").unwrap_or(rest);
    url.set_path(&format!("{root}/graphql"));
    url
}

/// What one attempt amounts to.
enum Attempt {
    Final(ApiResponse),
    Unauthorized(ApiResponse),
    Retry(Failed),
}

/// How long GitHub asks us to wait, when a 403/429 is a rate limit.
fn rate_limit_wait(headers: &HeaderMap, body: &[u8], now: OffsetDateTime) -> Option<Duration> {
    if let Some(wait) = retry::retry_after(headers) {
        return Some(wait);
    }
    if retry::header_str(headers, "x-ratelimit-remaining") == Some("0") {
        if let Some(wait) = retry::until_reset(headers, "x-ratelimit-reset", now) {
            return Some(wait);
        }
    }
    ErrorBody::of(body)
        .message
        .to_ascii_lowercase()
        .contains("secondary rate limit")
        .then_some(SECONDARY_RATE_LIMIT_WAIT)
}

/// An octocrab error in words. Its `Display` appends the captured backtrace ("Found at
/// …"), and rendering that resolves symbols from debug info: tens of MiB per process
/// during an outage. The chain of causes says what went wrong without it.
fn without_backtrace(e: &octocrab::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        // Variants without a source carry their message before the backtrace.
        let shown = e.to_string();
        shown
            .split("\n\nFound at")
            .next()
            .unwrap_or(&shown)
            .trim()
            .to_owned()
    } else {
        causes.join(": ")
    }
}

fn classify(
    request: &ApiRequest,
    result: Result<ApiResponse, octocrab::Error>,
) -> ForgeResult<Attempt> {
    let response = match result {
        Ok(response) => response,
        // Connection failures and timeouts surface as service/hyper errors.
        Err(e @ (octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. })) => {
            return Ok(Attempt::Retry(Failed {
                message: format!("{}: {}", request.describe(), without_backtrace(&e)),
                retry_after: None,
                may_have_applied: true,
            }))
        }
        Err(e) => {
            return Err(ForgeError::Permanent(format!(
                "{}: {}",
                request.describe(),
                without_backtrace(&e)
            )));
        }
    };
    let status = response.status;
    let retry_message = || format!("{}: {status}", request.describe());
    Ok(match status {
        StatusCode::UNAUTHORIZED => Attempt::Unauthorized(response),
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
            match rate_limit_wait(&response.headers, &response.body, OffsetDateTime::now_utc()) {
                Some(wait) => Attempt::Retry(Failed {
                    message: format!("{}: rate limited", request.describe()),
                    retry_after: Some(wait),
                    may_have_applied: false,
                }),
                None if status == StatusCode::TOO_MANY_REQUESTS => Attempt::Retry(Failed {
                    message: retry_message(),
                    retry_after: None,
                    may_have_applied: false,
                }),
                None => Attempt::Final(response),
            }
        }
        // Only a 403/429 is a rate limit; the `X-RateLimit-*` headers every answer carries
        // are no request to wait on a 5xx.
        s if s.is_server_error() => Attempt::Retry(Failed {
            message: retry_message(),
            retry_after: None,
            may_have_applied: true,
        }),
        _ => Attempt::Final(response),
    })
}

/// The REST client of one GitHub App.
#[derive(Debug)]
pub struct GitHubClient {
    http: Octocrab,
    api_url: Url,
    signer: AppSigner,
    tokens: TokenCache,
    retry: RetryPolicy,
    /// Until when GitHub asked each installation's calls to wait (a rate limit). Shared,
    /// so that one call's 403 holds back the others instead of each of them running
    /// into the limit again, which GitHub punishes with longer limits.
    paused: Mutex<HashMap<InstallationId, tokio::time::Instant>>,
    /// Calls and the last `X-RateLimit-Remaining` per installation.
    pub usage: UsageLog,
}

impl GitHubClient {
    /// Must run inside a Tokio runtime: octocrab spawns its request buffer task.
    pub fn new(app: &GitHubApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        let signer = AppSigner::new(app.app_id, &app.private_key)?;
        let invalid_url = |reason: &str| SetupError::InvalidApiUrl {
            url: app.api_url.to_string(),
            reason: reason.to_owned(),
        };
        rest::check_base_url(&app.api_url).map_err(invalid_url)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SetupError::HttpClient(
                "it must be created inside a Tokio runtime".into(),
            ));
        }
        // Requests carry absolute URLs. octocrab prefixes the base URI's path to any
        // path outside it, which would turn GHES's `/api/graphql` into
        // `/api/v3/api/graphql`; so its base is the bare origin.
        let http = Octocrab::builder()
            .base_uri(app.api_url.origin().ascii_serialization())
            .map_err(|e| invalid_url(&e.to_string()))?
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT))
            .build()
            .map_err(|e| SetupError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            api_url: app.api_url.clone(),
            signer,
            tokens: TokenCache::default(),
            retry,
            paused: Mutex::default(),
            usage: UsageLog::default(),
        })
    }

    /// `{api_url}/seg1/seg2/...`, each segment percent-encoded.
    pub fn endpoint<'s>(&self, segments: impl IntoIterator<Item = &'s str>) -> Url {
        rest::endpoint(&self.api_url, segments)
    }

    /// A pagination link, accepted only under our API root.
    pub fn follow(&self, link: &str) -> ForgeResult<Url> {
        rest::follow(&self.api_url, link)
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        bearer: &SecretString,
    ) -> Result<ApiResponse, octocrab::Error> {
        let mut auth = HeaderValue::try_from(format!("Bearer {}", bearer.expose_secret()))
            .map_err(|e| octocrab::Error::Other {
                source: Box::new(e),
                backtrace: std::backtrace::Backtrace::capture(),
            })?;
        auth.set_sensitive(true);
        let builder = http::Request::builder()
            .method(request.method.clone())
            .uri(request.url.as_str())
            .header(ACCEPT, request.accept.unwrap_or(JSON))
            .header("x-github-api-version", API_VERSION)
            .header(
                USER_AGENT,
                concat!("smallbatch/", env!("CARGO_PKG_VERSION")),
            )
            .header(AUTHORIZATION, auth);
        let http_request = self.http.build_request(builder, request.body.as_ref())?;
        let (parts, body) = self.http.execute(http_request).await?.into_parts();
        let body = body.collect().await?.to_bytes();
        tracing::debug!(
            method = %request.method,
            path = request.url.path(),
            status = parts.status.as_u16(),
            "GitHub API call"
        );
        Ok(ApiResponse::new(
            request,
            parts.status,
            parts.headers,
            body,
            models::error_message,
        ))
    }

    /// Sends `request` as the App itself (JWT): `GET /app`, token exchanges.
    pub async fn send_as_app(&self, request: &ApiRequest) -> ForgeResult<ApiResponse> {
        let mut backoff = Backoff::new(&self.retry, FORGE);
        loop {
            let jwt = self.signer.jwt()?;
            match classify(request, self.send_once(request, &jwt).await)? {
                Attempt::Final(response) | Attempt::Unauthorized(response) => return Ok(response),
                Attempt::Retry(failed) => backoff.retry(failed, request.repeatable).await?,
            }
        }
    }

    /// Sends `request` with the installation's token. A 401 drops the cached token
    /// and the call is retried once with a fresh one.
    pub async fn send(
        &self,
        installation: InstallationId,
        request: &ApiRequest,
    ) -> ForgeResult<ApiResponse> {
        let mut backoff = Backoff::new(&self.retry, FORGE);
        let mut reauthenticated = false;
        loop {
            if let Some(wait) = self.pause_left(installation) {
                let message = format!("{}: rate limited", request.describe());
                backoff.pause(message, wait).await?;
            }
            let token = self.installation_token(installation).await?;
            let sent = self.send_once(request, &token).await;
            if let Ok(response) = &sent {
                self.usage.record(
                    &format!("installation {installation}"),
                    response.headers.get("x-ratelimit-remaining"),
                );
            }
            match classify(request, sent)? {
                Attempt::Final(response) => return Ok(response),
                Attempt::Unauthorized(response) if reauthenticated => return Ok(response),
                Attempt::Unauthorized(_) => {
                    tracing::info!(%installation, "installation token rejected; refreshing it");
                    self.tokens.invalidate(installation, &token).await;
                    reauthenticated = true;
                }
                Attempt::Retry(failed) => {
                    // Only a rate limit names a wait, and it was not carried out.
                    if let Some(wait) = failed.retry_after {
                        self.pause(installation, wait);
                    }
                    backoff.retry(failed, request.repeatable).await?
                }
            }
        }
    }

    /// Holds back the installation's calls for `wait` (never shortening a longer pause).
    fn pause(&self, installation: InstallationId, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let entry = paused.entry(installation).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long the installation's calls must still wait, if they must.
    fn pause_left(&self, installation: InstallationId) -> Option<Duration> {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let left = paused
            .get(&installation)?
            .saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            paused.remove(&installation);
            return None;
        }
        Some(left)
    }

    /// GETs every page of a JSON list, following `Link: rel="next"`, keeping at most
    /// `limit` items (and not fetching pages beyond them).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        installation: InstallationId,
        first: Url,
        limit: usize,
    ) -> ForgeResult<Vec<T>> {
        self.get_all_in(installation, first, limit, |page: Vec<T>| page)
            .await
    }

    /// [`get_all`](Self::get_all) for listings whose pages wrap the list in an object
    /// (`{"total_count": 2, "check_runs": [...]}`); `items` takes it out of a page.
    pub async fn get_all_in<P: DeserializeOwned, T>(
        &self,
        installation: InstallationId,
        first: Url,
        limit: usize,
        items: impl Fn(P) -> Vec<T>,
    ) -> ForgeResult<Vec<T>> {
        let items = &items;
        let listing = rest::paginate(&self.api_url, first, limit, move |url| async move {
            let response = self
                .send(installation, &ApiRequest::get(url))
                .await?
                .success()?;
            let next = response.next_link().map(|l| NextPage::Link(l.to_owned()));
            Ok((items(response.json()?), next))
        })
        .await?;
        Ok(listing.items)
    }

    /// [`get_all`](Self::get_all), where the statuses in `refusals` fail as `Refused`
    /// (see [`ApiResponse::success_or_refused`]) instead of `Permanent`.
    pub async fn get_all_or_refused<T: DeserializeOwned>(
        &self,
        installation: InstallationId,
        first: Url,
        limit: usize,
        refusals: &[StatusCode],
    ) -> ForgeResult<Vec<T>> {
        let listing = rest::paginate(&self.api_url, first, limit, move |url| async move {
            let response = self
                .send(installation, &ApiRequest::get(url))
                .await?
                .success_or_refused(refusals)?;
            let next = response.next_link().map(|l| NextPage::Link(l.to_owned()));
            Ok((response.json()?, next))
        })
        .await?;
        Ok(listing.items)
    }

    /// The GraphQL endpoint beside the REST root: `https://api.github.com/graphql`, and
    /// `https://HOST/api/graphql` for GitHub Enterprise Server's `https://HOST/api/v3`.
    pub fn graphql_url(&self) -> Url {
        graphql_url(&self.api_url)
    }

    async fn installation_token(&self, installation: InstallationId) -> ForgeResult<SecretString> {
        self.tokens
            .get_or_refresh(installation, || self.fetch_installation_token(installation))
            .await
    }

    async fn fetch_installation_token(
        &self,
        installation: InstallationId,
    ) -> ForgeResult<InstallationToken> {
        let id = installation.to_string();
        let url = self.endpoint(["app", "installations", id.as_str(), "access_tokens"]);
        let response = self
            .send_as_app(&ApiRequest::new(Method::POST, url))
            .await?
            .success()?;
        let AccessToken { token, expires_at } = response.json()?;
        let expires_at = OffsetDateTime::parse(&expires_at, &Rfc3339).map_err(|e| {
            ForgeError::Permanent(format!("installation token expiry {expires_at:?}: {e}"))
        })?;
        tracing::debug!(%installation, %expires_at, "obtained an installation token");
        Ok(InstallationToken {
            token: SecretString::from(token),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_sits_beside_the_rest_root() {
        let at = |api: &str| graphql_url(&Url::parse(api).unwrap()).to_string();
        assert_eq!(
            at("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            at("https://api.github.com/"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            at("https://ghe.example.com/api/v3"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            at("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn rate_limit_wait_prefers_retry_after_then_reset_then_secondary_limit() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        assert_eq!(
            rate_limit_wait(&headers(&[("retry-after", "7")]), b"", now),
            Some(Duration::from_secs(7))
        );
        let exhausted = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(
            rate_limit_wait(&exhausted, b"", now),
            Some(Duration::from_secs(31))
        );
        let secondary = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert_eq!(
            rate_limit_wait(&HeaderMap::new(), secondary, now),
            Some(Duration::from_secs(60))
        );
        let forbidden = br#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(rate_limit_wait(&HeaderMap::new(), forbidden, now), None);
    }
}
