//! Who may see the web pages: they show repository names and delivery metrics.
use super::{invalid, SettingsError};
use axum::http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use url::Url;

/// How a person is let in to the web pages.
#[derive(Debug, Clone, Default)]
pub enum UiAccess {
    /// No token and no trusted header: off, unless the server is reachable only from
    /// this machine (a loopback listener and no public URL).
    #[default]
    Off,
    /// Anyone who can reach the loopback listener: a developer's own machine.
    Local,
    /// `Authorization: Bearer <token>`, or the cookie the login form sets.
    Token(SecretString),
    /// A reverse proxy that authenticates people and names them in this header; the
    /// listener must be reachable only through it.
    TrustedHeader(HeaderName),
}

#[derive(Debug, Clone, Default)]
pub struct UiSettings {
    pub access: UiAccess,
    /// The address people reach this server at, for links written to GitLab.
    pub public_url: Option<Url>,
}

impl UiSettings {
    pub fn enabled(&self) -> bool {
        !matches!(self.access, UiAccess::Off)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawUi {
    token: Option<SecretString>,
    trusted_header: Option<String>,
}

pub(super) fn validate_ui(
    raw: RawUi,
    public_url: Option<Url>,
    listen: SocketAddr,
) -> Result<UiSettings, SettingsError> {
    let token = raw.token.filter(|t| !t.expose_secret().trim().is_empty());
    let header = raw
        .trusted_header
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    let access = match (token, header) {
        (Some(_), Some(_)) => {
            return Err(SettingsError::Invalid {
                name: "SMALLBATCH_UI__TOKEN",
                reason: "set either it or SMALLBATCH_UI__TRUSTED_HEADER, not both".into(),
            })
        }
        (Some(token), None) => {
            if token.expose_secret().len() < 16 {
                return Err(SettingsError::Invalid {
                    name: "SMALLBATCH_UI__TOKEN",
                    reason: "use at least 16 characters".into(),
                });
            }
            UiAccess::Token(token)
        }
        (None, Some(header)) => UiAccess::TrustedHeader(
            HeaderName::try_from(header.as_str())
                .map_err(|e| invalid("SMALLBATCH_UI__TRUSTED_HEADER", e))?,
        ),
        (None, None) if listen.ip().is_loopback() && public_url.is_none() => UiAccess::Local,
        (None, None) => UiAccess::Off,
    };
    Ok(UiSettings { access, public_url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(token: Option<&str>, header: Option<&str>) -> RawUi {
        RawUi {
            token: token.map(SecretString::from),
            trusted_header: header.map(str::to_owned),
        }
    }

    fn access(raw: RawUi, public: Option<&str>, listen: &str) -> Result<UiAccess, SettingsError> {
        let public = public.map(|u| Url::parse(u).unwrap());
        validate_ui(raw, public, listen.parse().unwrap()).map(|s| s.access)
    }

    #[test]
    fn pages_are_open_only_on_a_loopback_server_with_no_public_url() {
        let local = access(raw(None, None), None, "127.0.0.1:3000").unwrap();
        assert!(matches!(local, UiAccess::Local));
        let proxied = access(
            raw(None, None),
            Some("https://bot.example.com"),
            "127.0.0.1:3000",
        );
        assert!(matches!(proxied.unwrap(), UiAccess::Off));
        let public = access(raw(None, None), None, "0.0.0.0:3000").unwrap();
        assert!(matches!(public, UiAccess::Off));
    }

    #[test]
    fn a_token_or_a_header_turns_them_on_and_bad_values_are_named() {
        let token = access(raw(Some("0123456789abcdef"), None), None, "0.0.0.0:3000");
        assert!(matches!(token.unwrap(), UiAccess::Token(_)));
        let header = access(raw(None, Some("X-Forwarded-User")), None, "0.0.0.0:3000");
        assert!(matches!(header.unwrap(), UiAccess::TrustedHeader(_)));
        let short = access(raw(Some("short"), None), None, "0.0.0.0:3000").unwrap_err();
        assert_eq!(
            short.to_string(),
            "invalid setting SMALLBATCH_UI__TOKEN: use at least 16 characters"
        );
        let both = access(
            raw(Some("0123456789abcdef"), Some("X-User")),
            None,
            "0.0.0.0:3000",
        );
        assert!(both.unwrap_err().to_string().contains("not both"));
        let bad = access(raw(None, Some("not a header")), None, "0.0.0.0:3000").unwrap_err();
        assert!(bad
            .to_string()
            .starts_with("invalid setting SMALLBATCH_UI__TRUSTED_HEADER"));
    }
}
