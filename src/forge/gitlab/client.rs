//! One GitLab REST call: our headers, the access token and the shared retry policy,
//! over reqwest.

use super::models;
use super::{GitLabApp, SetupError};
use crate::forge::rest::{self, Listing, NextPage, UsageLog};
pub use crate::forge::rest::{ApiRequest, ApiResponse};
use crate::forge::retry::{self, Backoff, Failed, RetryPolicy};
use crate::forge::{ForgeError, ForgeResult};
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN_HEADER: &str = "private-token";
/// Names the forge in retry logs.
const FORGE: &str = "gitlab";

/// Where the next page is: `X-Next-Page` (offset pagination) or `Link: rel="next"`
/// (keyset pagination, which sends no `X-Next-Page`).
fn next_page(response: &ApiResponse, current: &Url) -> Option<NextPage> {
    if let Some(page) = retry::header_str(&response.headers, "x-next-page") {
        if page.is_empty() {
            return None;
        }
        let mut url = current.clone();
        let others: Vec<(String, String)> = current
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair("page", page);
        return Some(NextPage::Url(url));
    }
    response.next_link().map(|l| NextPage::Link(l.to_owned()))
}

/// What one attempt amounts to.
enum Attempt {
    Final(ApiResponse),
    Retry(Failed),
}

/// How long a 429 asks us to wait: `Retry-After`, else `RateLimit-Reset` (Unix seconds).
fn rate_limit_wait(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    retry::retry_after(headers).or_else(|| retry::until_reset(headers, "ratelimit-reset", now))
}

fn classify(request: &ApiRequest, result: reqwest::Result<ApiResponse>) -> ForgeResult<Attempt> {
    let response = match result {
        Ok(response) => response,
        // A request we could not even build will not build next time either.
        Err(e) if e.is_builder() => {
            return Err(ForgeError::Permanent(format!(
                "{}: {e}",
                request.describe()
            )))
        }
        // Connection failures, timeouts, a body cut short.
        Err(e) => {
            return Ok(Attempt::Retry(Failed {
                message: format!("{}: {e}", request.describe()),
                retry_after: None,
                may_have_applied: !e.is_connect(),
            }))
        }
    };
    let status = response.status;
    let message = || format!("{}: {status}", request.describe());
    Ok(if status == StatusCode::TOO_MANY_REQUESTS {
        Attempt::Retry(Failed {
            message: message(),
            retry_after: rate_limit_wait(&response.headers, OffsetDateTime::now_utc()),
            may_have_applied: false,
        })
    } else if status.is_server_error() {
        // GitLab.com sends `RateLimit-*` with every answer: on a 5xx they are no request
        // to wait, and the window's reset (up to a minute ahead) would stall the job.
        Attempt::Retry(Failed {
            message: message(),
            retry_after: None,
            may_have_applied: true,
        })
    } else {
        Attempt::Final(response)
    })
}

/// The REST client of one GitLab instance and token.
#[derive(Debug)]
pub struct GitLabClient {
    http: reqwest::Client,
    api_url: Url,
    token: SecretString,
    retry: RetryPolicy,
    /// Calls and the last `RateLimit-Remaining` for the token.
    pub usage: UsageLog,
}

impl GitLabClient {
    pub fn new(app: &GitLabApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        let base = &app.base_url;
        let invalid_url = |reason: &str| SetupError::InvalidBaseUrl {
            url: base.to_string(),
            reason: reason.to_owned(),
        };
        rest::check_base_url(base).map_err(invalid_url)?;
        token_header(&app.token).ok_or(SetupError::InvalidToken)?;
        let mut api_url = base.clone();
        api_url
            .path_segments_mut()
            .map_err(|()| invalid_url("it cannot be a base"))?
            .pop_if_empty()
            .extend(["api", "v4"]);
        let http = reqwest::Client::builder()
            .user_agent(concat!("smallbatch/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirect could carry the token to another host; GitLab's API does not
            // redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SetupError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            api_url,
            token: app.token.clone(),
            retry,
            usage: UsageLog::default(),
        })
    }

    /// `{api_url}/seg1/seg2/...`, each segment percent-encoded (a `/` inside a segment
    /// becomes `%2F`, as GitLab wants for project paths and file paths).
    pub fn endpoint<'s>(&self, segments: impl IntoIterator<Item = &'s str>) -> Url {
        rest::endpoint(&self.api_url, segments)
    }

    async fn send_once(&self, request: &ApiRequest) -> reqwest::Result<ApiResponse> {
        // Checked in `new`, so the fallback never applies.
        let token = token_header(&self.token).unwrap_or_else(|| HeaderValue::from_static(""));
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .header(
                http::header::ACCEPT,
                request.accept.unwrap_or("application/json"),
            )
            .header(TOKEN_HEADER, token);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        tracing::debug!(
            method = %request.method,
            path = request.url.path(),
            status = status.as_u16(),
            "GitLab API call"
        );
        Ok(ApiResponse::new(
            request,
            status,
            headers,
            body,
            models::error_message,
        ))
    }

    /// Sends `request`, retrying rate limits, 5xx and transport failures (the latter two
    /// only when it is repeatable).
    pub async fn send(&self, request: &ApiRequest) -> ForgeResult<ApiResponse> {
        let mut backoff = Backoff::new(&self.retry, FORGE);
        loop {
            let sent = self.send_once(request).await;
            if let Ok(response) = &sent {
                self.usage
                    .record("token", response.headers.get("ratelimit-remaining"));
            }
            match classify(request, sent)? {
                Attempt::Final(response) => return Ok(response),
                Attempt::Retry(failed) => backoff.retry(failed, request.repeatable).await?,
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: Url) -> ForgeResult<T> {
        self.send(&ApiRequest::get(url)).await?.success()?.json()
    }

    /// GETs the pages of a JSON list, keeping at most `limit` items (and not fetching
    /// pages beyond them).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        first: Url,
        limit: usize,
    ) -> ForgeResult<Listing<T>> {
        rest::paginate(&self.api_url, first, limit, |url| async move {
            let response = self.send(&ApiRequest::get(url.clone())).await?.success()?;
            Ok((response.json()?, next_page(&response, &url)))
        })
        .await
    }
}

impl GitLabClient {
    /// [`get_all`](Self::get_all), where the statuses in `refusals` fail as `Refused`
    /// (see [`ApiResponse::success_or_refused`]) instead of `Permanent`.
    pub async fn get_all_or_refused<T: DeserializeOwned>(
        &self,
        first: Url,
        limit: usize,
        refusals: &[StatusCode],
    ) -> ForgeResult<Listing<T>> {
        rest::paginate(&self.api_url, first, limit, |url| async move {
            let response = self
                .send(&ApiRequest::get(url.clone()))
                .await?
                .success_or_refused(refusals)?;
            Ok((response.json()?, next_page(&response, &url)))
        })
        .await
    }
}

/// The token as a header value marked sensitive (kept out of HTTP-level logs).
fn token_header(token: &SecretString) -> Option<HeaderValue> {
    let secret = token.expose_secret();
    if secret.is_empty() {
        return None;
    }
    let mut value = HeaderValue::from_str(secret).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&'static str, &str)]) -> ApiResponse {
        let headers = headers
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect();
        let request = ApiRequest::get(Url::parse("https://gl.example/x").unwrap());
        ApiResponse::new(
            &request,
            StatusCode::OK,
            headers,
            Default::default(),
            models::error_message,
        )
    }

    #[test]
    fn next_page_replaces_the_page_parameter_and_stops_on_an_empty_header() {
        let current = Url::parse("https://gl.example/api/v4/p?per_page=100&page=1").unwrap();
        let Some(NextPage::Url(url)) = next_page(&response(&[("x-next-page", "2")]), &current)
        else {
            panic!("expected a next page");
        };
        assert_eq!(
            url.as_str(),
            "https://gl.example/api/v4/p?per_page=100&page=2"
        );
        assert!(next_page(&response(&[("x-next-page", "")]), &current).is_none());
        let keyset = response(&[(
            "link",
            "<https://gl.example/api/v4/p?cursor=abc>; rel=\"next\"",
        )]);
        assert!(matches!(
            next_page(&keyset, &current),
            Some(NextPage::Link(l)) if l == "https://gl.example/api/v4/p?cursor=abc"
        ));
    }

    #[test]
    fn rate_limit_wait_prefers_retry_after_then_reset() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let both = response(&[("retry-after", "7"), ("ratelimit-reset", "1030")]);
        assert_eq!(
            rate_limit_wait(&both.headers, now),
            Some(Duration::from_secs(7))
        );
        let reset = response(&[("ratelimit-reset", "1030")]);
        assert_eq!(
            rate_limit_wait(&reset.headers, now),
            Some(Duration::from_secs(31))
        );
        assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
    }
}
