//! REST plumbing both forges share: a request and its final answer, pagination, API
//! URLs, the labels known to exist, and small text helpers. Each client keeps what is
//! its forge's own: authentication, which answers are retried, how errors read.

use crate::domain::RepoRef;
use crate::forge::{ApiUsage, ForgeError, ForgeResult};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use url::Url;

/// A request to an absolute URL under the API root.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub url: Url,
    pub body: Option<serde_json::Value>,
    /// The media type asked for; `None` for the client's usual JSON.
    pub accept: Option<&'static str>,
    /// `false` for a request that makes something new each time it is sent (a comment):
    /// after a 5xx or a lost answer it is not sent again, since it may have taken effect.
    pub repeatable: bool,
}

impl ApiRequest {
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            body: None,
            accept: None,
            repeatable: true,
        }
    }

    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn accept(mut self, media_type: &'static str) -> Self {
        self.accept = Some(media_type);
        self
    }

    /// Sent once: see [`repeatable`](Self::repeatable).
    pub fn once(mut self) -> Self {
        self.repeatable = false;
        self
    }

    /// `METHOD /path`, for messages and logs (never the query or a token).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// A final answer: a success, or an error status that retrying would not change.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The request, as [`ApiRequest::describe`] puts it.
    request: String,
    /// The forge's error message in an error body.
    error_message: fn(&[u8]) -> String,
}

impl ApiResponse {
    pub fn new(
        request: &ApiRequest,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        error_message: fn(&[u8]) -> String,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            request: request.describe(),
            error_message,
        }
    }

    /// The response when it is a 2xx; 404 becomes `NotFound`, anything else
    /// `Permanent` with the forge's message.
    pub fn success(self) -> ForgeResult<Self> {
        if self.status.is_success() {
            Ok(self)
        } else if self.status == StatusCode::NOT_FOUND {
            Err(ForgeError::NotFound(self.request))
        } else {
            Err(ForgeError::Permanent(self.failure()))
        }
    }

    /// [`success`](Self::success), except that the statuses in `refusals` are the
    /// forge saying no for a reason the user can act on: `Refused`, with the forge's
    /// message (or the status, when it gives none).
    pub fn success_or_refused(self, refusals: &[StatusCode]) -> ForgeResult<Self> {
        if refusals.contains(&self.status) {
            // The request line is ours to read, in the log; the user reads the forge's words.
            tracing::info!(refused = %self.failure(), "request refused");
            let message = self.message();
            let reason = if message.is_empty() {
                self.status.to_string()
            } else {
                message
            };
            return Err(ForgeError::Refused { reason });
        }
        self.success()
    }

    /// `METHOD /path: status: message`, what a failed call says in the log.
    pub fn failure(&self) -> String {
        format!("{}: {}: {}", self.request, self.status, self.message())
    }

    /// The forge's error message.
    pub fn message(&self) -> String {
        (self.error_message)(&self.body)
    }

    pub fn json<T: DeserializeOwned>(&self) -> ForgeResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ForgeError::Permanent(format!("{}: unexpected response: {e}", self.request))
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `rel="next"` target of the `Link` header.
    pub fn next_link(&self) -> Option<&str> {
        let link = self.headers.get(http::header::LINK)?.to_str().ok()?;
        next_link(link)
    }
}

/// `created` answers: the new object's id.
#[derive(Debug, serde::Deserialize)]
pub struct Created {
    pub id: u64,
}

/// Whether a base URL can root an API: http(s), no query or fragment. The reason when
/// it cannot.
pub fn check_base_url(url: &Url) -> Result<(), &'static str> {
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err("it must be an http(s) URL");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it must not have a query or fragment");
    }
    Ok(())
}

/// `{root}/seg1/seg2/...`, each segment percent-encoded (a `/` inside a segment becomes
/// `%2F`). `root` must be able to be a base (see [`check_base_url`]).
pub fn endpoint<'s>(root: &Url, segments: impl IntoIterator<Item = &'s str>) -> Url {
    let mut url = root.clone();
    url.path_segments_mut()
        .expect("checked at start-up: the API URL can be a base")
        .pop_if_empty()
        .extend(segments);
    url
}

pub fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

/// `text` cut to at most `max` characters, at a character boundary: forges count a
/// field's length in characters.
pub fn truncate_chars(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(i, _)| &text[..i])
}

/// The `rel="next"` target of a `Link` header's value.
pub fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

/// A pagination link, accepted only when it points under the API root so that a
/// credential is never sent elsewhere.
pub fn follow(root: &Url, link: &str) -> ForgeResult<Url> {
    let url = Url::parse(link)
        .map_err(|e| ForgeError::Permanent(format!("bad pagination link {link}: {e}")))?;
    let path = root.path().trim_end_matches('/');
    if url.origin() != root.origin() || !url.path().starts_with(path) {
        return Err(ForgeError::Permanent(format!(
            "pagination link {link} leaves the API at {root}"
        )));
    }
    Ok(url)
}

/// Where the next page of a listing is.
#[derive(Debug)]
pub enum NextPage {
    /// Built by us from the current URL.
    Url(Url),
    /// As the forge sent it; checked with [`follow`] before it is followed.
    Link(String),
}

/// Items of a paginated list, and whether more were left unread.
#[derive(Debug)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub truncated: bool,
}

/// Reads the pages of a listing from `first` on, keeping at most `limit` items (and not
/// fetching pages beyond them). `page` GETs one page: its items and where the next is.
pub async fn paginate<T, F, Fut>(
    root: &Url,
    first: Url,
    limit: usize,
    mut page: F,
) -> ForgeResult<Listing<T>>
where
    F: FnMut(Url) -> Fut,
    Fut: Future<Output = ForgeResult<(Vec<T>, Option<NextPage>)>>,
{
    let mut items = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next.take() {
        let (found, following) = page(url).await?;
        // An empty page ends the listing whatever the headers say.
        let following = if found.is_empty() { None } else { following };
        items.extend(found);
        if items.len() >= limit {
            let truncated = items.len() > limit || following.is_some();
            items.truncate(limit);
            return Ok(Listing { items, truncated });
        }
        next = match following {
            Some(NextPage::Url(url)) => Some(url),
            Some(NextPage::Link(link)) => Some(follow(root, &link)?),
            None => None,
        };
    }
    Ok(Listing {
        items,
        truncated: false,
    })
}

/// `(repository, label)` pairs known to exist, so that each label is created once.
#[derive(Debug, Default)]
pub struct KnownLabels(Mutex<HashSet<(String, String)>>);

impl KnownLabels {
    /// Runs `create` unless label `name` is known to exist in `repo`; it is known to
    /// once `create` succeeds.
    pub async fn ensure<F>(&self, repo: &RepoRef, name: &str, create: F) -> ForgeResult<()>
    where
        F: Future<Output = ForgeResult<()>>,
    {
        let key = (repo.key(), name.to_owned());
        if self.lock().contains(&key) {
            return Ok(());
        }
        create.await?;
        self.lock().insert(key);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<(String, String)>> {
        // The set stays valid even if a holder panicked: inserts are atomic.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Usage per credential, shared by a forge's client and whoever reports it.
#[derive(Debug, Default)]
pub struct UsageLog(Mutex<BTreeMap<String, ApiUsage>>);

impl UsageLog {
    /// Counts one answered call; `remaining` is the rate-limit header, when present.
    pub fn record(&self, credential: &str, remaining: Option<&http::HeaderValue>) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let usage = log.entry(credential.to_owned()).or_default();
        usage.calls += 1;
        if let Some(left) = remaining.and_then(|v| v.to_str().ok()?.trim().parse().ok()) {
            usage.rate_limit_remaining = Some(left);
        }
    }

    pub fn snapshot(&self) -> Vec<(String, ApiUsage)> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_picks_rel_next_among_others() {
        let header = r#"<https://api.github.com/repositories/1/pulls/2/files?page=1>; rel="prev", <https://api.github.com/repositories/1/pulls/2/files?page=3>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?page=9>; rel="last""#;
        assert_eq!(
            next_link(header),
            Some("https://api.github.com/repositories/1/pulls/2/files?page=3")
        );
        assert_eq!(next_link(r#"<https://x/a?page=1>; rel="first""#), None);
    }

    #[test]
    fn text_is_cut_at_a_char_boundary() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hé", 5), "hé");
    }

    #[test]
    fn links_are_followed_only_under_the_api_root() {
        let root = Url::parse("https://ghe.example/api/v3").unwrap();
        assert!(follow(&root, "https://ghe.example/api/v3/x?page=2").is_ok());
        assert!(follow(&root, "https://evil.example/api/v3/x?page=2").is_err());
        assert!(follow(&root, "https://ghe.example/other?page=2").is_err());
    }
}
