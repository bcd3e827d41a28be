//! Who may see the pages: a token (as a bearer header, or the cookie the login form
//! sets), a reverse proxy's header, or anyone on a loopback-only server.
use crate::settings::UiAccess;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "smallbatch_ui";

/// The cookie's value for `token`: derived, so the cookie is not the token itself.
pub fn session_value(token: &SecretString) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"smallbatch ui session");
    hex::encode(mac.finalize().into_bytes())
}

fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

pub fn allowed(access: &UiAccess, headers: &HeaderMap) -> bool {
    match access {
        UiAccess::Off => false,
        UiAccess::Local => true,
        UiAccess::Token(token) => {
            bearer(headers).is_some_and(|b| equal(b, token.expose_secret()))
                || cookie(headers, COOKIE).is_some_and(|c| equal(c, &session_value(token)))
        }
        UiAccess::TrustedHeader(name) => headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty()),
    }
}

/// Lets allowed requests through. Others: a token server sends people to its login form,
/// a proxied one answers 401 (the proxy should not have let them through), and a server
/// with the pages off answers 404, as if they did not exist.
pub async fn require(
    State(access): State<Arc<UiAccess>>,
    request: Request,
    next: Next,
) -> Response {
    if allowed(&access, request.headers()) {
        return next.run(request).await;
    }
    match access.as_ref() {
        UiAccess::Token(_) => {
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let next = url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
        UiAccess::TrustedHeader(name) => (
            StatusCode::UNAUTHORIZED,
            format!("the proxy did not name a user in {name}"),
        )
            .into_response(),
        UiAccess::Off | UiAccess::Local => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A path on this server to return to after signing in; anything else goes to `/`.
pub fn local_path(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_token_server_takes_the_bearer_token_or_the_derived_cookie_only() {
        let token = SecretString::from("0123456789abcdef-token");
        let access = UiAccess::Token(token.clone());
        let cookie = format!("a=b; {COOKIE}={}", session_value(&token));
        assert!(allowed(
            &access,
            &headers(&[("authorization", "Bearer 0123456789abcdef-token")])
        ));
        assert!(allowed(&access, &headers(&[("cookie", &cookie)])));
        assert!(!allowed(
            &access,
            &headers(&[("authorization", "Bearer wrong")])
        ));
        let raw_token_as_cookie = format!("{COOKIE}=0123456789abcdef-token");
        assert!(!allowed(
            &access,
            &headers(&[("cookie", &raw_token_as_cookie)])
        ));
        assert!(!allowed(&access, &headers(&[])));
    }

    #[test]
    fn a_proxied_server_needs_its_header_with_a_name_in_it() {
        let access = UiAccess::TrustedHeader(header::HeaderName::from_static("x-forwarded-user"));
        assert!(allowed(&access, &headers(&[("x-forwarded-user", "alice")])));
        assert!(!allowed(&access, &headers(&[("x-forwarded-user", " ")])));
        assert!(!allowed(&access, &headers(&[])));
        assert!(!allowed(
            &UiAccess::Off,
            &headers(&[("x-forwarded-user", "alice")])
        ));
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/pr/github/o/r/7"), "/pr/github/o/r/7");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
    }
}
