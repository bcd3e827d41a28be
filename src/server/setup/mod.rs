//! The setup page, served at `/` while neither GitHub nor GitLab is configured. It
//! registers the GitHub App with GitHub's manifest flow: this server's URL in, a
//! manifest posted to GitHub by the browser, GitHub's code back at the callback and
//! exchanged for the app's credentials. They are saved to the credentials file and
//! handed to the process ([`Finish`]), which starts serving the app's webhooks.
mod manifest;
mod pages;
mod states;

pub use manifest::CALLBACK_PATH;

use crate::forge::github::manifest::{self as conversion, ConversionError, Registered};
use crate::settings::credentials::{self, GitHubCredentials};
use crate::settings::SetupSettings;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use pages::{respond, Confirm, Done, Failed, Start};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use url::Url;

/// New credentials for the process to serve; it answers once it does, or why not.
pub struct Finish {
    pub credentials: GitHubCredentials,
    pub done: oneshot::Sender<Result<(), String>>,
}

struct Setup {
    settings: SetupSettings,
    states: states::States,
    finish: mpsc::Sender<Finish>,
    /// Held while a callback completes; true once one has.
    finished: tokio::sync::Mutex<bool>,
}

/// The setup page's routes: `/`, `/setup/manifest` and the callback.
pub fn routes(settings: SetupSettings, finish: mpsc::Sender<Finish>) -> Router {
    let setup = Arc::new(Setup {
        settings,
        states: states::States::default(),
        finish,
        finished: tokio::sync::Mutex::new(false),
    });
    Router::new()
        .route("/", get(start))
        .route("/setup/manifest", post(confirm))
        .route(CALLBACK_PATH, get(callback))
        .with_state(setup)
}

/// GitHub as a person names it: `github.com`, or the Enterprise Server's host.
fn github_name(settings: &SetupSettings) -> String {
    let url = &settings.github_url;
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

async fn start(State(setup): State<Arc<Setup>>, headers: HeaderMap) -> Response {
    let public_url = match &setup.settings.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => address_asked_for(&headers).unwrap_or_default(),
    };
    respond(
        StatusCode::OK,
        &Start {
            github: &github_name(&setup.settings),
            public_url: &public_url,
            organization: "",
            problem: None,
        },
    )
}

/// The address the browser used, as a guess at the public URL: `Host`, and the scheme a
/// proxy in front says it was reached with.
fn address_asked_for(headers: &HeaderMap) -> Option<String> {
    let host = headers.get("host")?.to_str().ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|s| matches!(*s, "http" | "https"))
        .unwrap_or("http");
    let url = Url::parse(&format!("{scheme}://{host}")).ok()?;
    Some(url.as_str().trim_end_matches('/').to_owned())
}

#[derive(Deserialize)]
struct Answers {
    #[serde(default)]
    public_url: String,
    #[serde(default)]
    organization: String,
}

async fn confirm(State(setup): State<Arc<Setup>>, Form(answers): Form<Answers>) -> Response {
    let organization = answers.organization.trim();
    let refused = |problem: &str| {
        respond(
            StatusCode::BAD_REQUEST,
            &Start {
                github: &github_name(&setup.settings),
                public_url: answers.public_url.trim(),
                organization,
                problem: Some(problem),
            },
        )
    };
    let public_url = match parse_public_url(&answers.public_url) {
        Ok(url) => url,
        Err(problem) => return refused(&problem),
    };
    if !organization.is_empty() && !is_organization_name(organization) {
        return refused(&format!(
            "\u{201c}{organization}\u{201d} is not an organization name on GitHub: letters, \
             digits and single hyphens between them, at most 39 characters."
        ));
    }
    let organization = (!organization.is_empty()).then_some(organization);
    let state = setup.states.issue();
    let action = new_app_page(&setup.settings.github_url, organization, &state);
    let manifest =
        serde_json::to_string(&manifest::for_server(&public_url)).expect("a JSON value serializes");
    let base = public_url.as_str().trim_end_matches('/');
    respond(
        StatusCode::OK,
        &Confirm {
            github: &github_name(&setup.settings),
            action: action.as_str(),
            manifest: &manifest,
            organization,
            webhook_url: &manifest::webhook_url(&public_url),
            callback_url: &format!("{base}{CALLBACK_PATH}"),
        },
    )
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the URL GitHub reaches this server at.".into());
    }
    let url = Url::parse(text).map_err(|e| format!("\u{201c}{text}\u{201d} is not a URL: {e}."))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("The public URL must start with https:// (or http://).".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("The public URL cannot have a query (?) or a fragment (#).".into());
    }
    Ok(url)
}

/// GitHub's rule for account names: letters, digits and single inner hyphens, 1 to 39.
fn is_organization_name(name: &str) -> bool {
    (1..=39).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// GitHub's page that registers an app from a posted manifest, for the person's own
/// account or for `organization`.
fn new_app_page(github: &Url, organization: Option<&str>, state: &str) -> Url {
    let mut url = github.clone();
    let root = github.path().trim_end_matches('/');
    let path = match organization {
        Some(org) => format!("{root}/organizations/{org}/settings/apps/new"),
        None => format!("{root}/settings/apps/new"),
    };
    url.set_path(&path);
    url.query_pairs_mut().clear().append_pair("state", state);
    url
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(State(setup): State<Arc<Setup>>, Query(back): Query<Callback>) -> Response {
    let failed = |status, problem: &str, advice: &str| respond(status, &Failed { problem, advice });
    let Some(code) = back.code.filter(|c| !c.is_empty()) else {
        return failed(
            StatusCode::BAD_REQUEST,
            "GitHub sent no code to exchange for the app.",
            "Start again from this page.",
        );
    };
    if !back.state.is_some_and(|state| setup.states.redeem(&state)) {
        return failed(
            StatusCode::BAD_REQUEST,
            "This link did not come from this server's setup: its state is unknown, used, \
             or older than an hour.",
            "Start again; GitHub then sends you back with a new one.",
        );
    }
    let mut finished = setup.finished.lock().await;
    if *finished {
        return failed(
            StatusCode::CONFLICT,
            "smallbatch is already set up.",
            "Nothing more to do here.",
        );
    }
    let registered = match conversion::convert(&setup.settings.github_api_url, &code).await {
        Ok(registered) => registered,
        Err(e) => {
            tracing::warn!(error = %e, "setup: cannot exchange GitHub's code");
            let advice = match e {
                ConversionError::UnknownCode => {
                    "If GitHub created the app, its credentials cannot be fetched again: \
                     delete it on GitHub (the app's settings, Advanced), then start again."
                }
                _ => "Start again.",
            };
            return failed(
                StatusCode::BAD_GATEWAY,
                &format!("GitHub did not hand over the app: {e}."),
                advice,
            );
        }
    };
    let Some(webhook_secret) = registered.webhook_secret.clone() else {
        return failed(
            StatusCode::BAD_GATEWAY,
            &format!(
                "GitHub registered the app {} without a webhook secret.",
                registered.slug
            ),
            "Delete it on GitHub (the app's settings, Advanced), then start again.",
        );
    };
    let credentials = GitHubCredentials {
        app_id: registered.id,
        private_key: registered.pem.clone(),
        webhook_secret,
    };
    let file = setup.settings.credentials_file.clone();
    if let Err(e) = save(&file, &credentials, &registered).await {
        tracing::error!(error = %e, file = %file.display(), "setup: cannot save the credentials");
        return failed(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "GitHub registered the app {}, but smallbatch could not save its credentials \
                 to {}: {e}.",
                registered.slug,
                file.display()
            ),
            "Make that file writable (or set SMALLBATCH_CREDENTIALS_FILE), delete the app \
             on GitHub (the app's settings, Advanced), then start again.",
        );
    }
    *finished = true;
    tracing::info!(app_id = registered.id, slug = %registered.slug, file = %file.display(), "setup: GitHub App registered");
    let not_live = go_live(&setup.finish, credentials).await.err();
    if let Some(reason) = &not_live {
        tracing::error!(%reason, "setup: cannot serve the new app until a restart");
    }
    respond(
        StatusCode::OK,
        &Done {
            slug: &registered.slug,
            app_url: &registered.html_url,
            owner: registered.owner.as_ref().map(|o| o.login.as_str()),
            install_url: &registered.installation_url(),
            credentials_file: &file.display().to_string(),
            not_live: not_live.as_deref(),
        },
    )
}

async fn save(
    file: &std::path::Path,
    credentials: &GitHubCredentials,
    app: &Registered,
) -> std::io::Result<()> {
    let registered_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let about = format!(
        "The GitHub App {} ({}), registered {registered_at}.",
        app.slug, app.html_url
    );
    let text = credentials::render(credentials, &about);
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || credentials::write(&file, &text))
        .await
        .map_err(std::io::Error::other)?
}

/// Hands `credentials` to the process and waits until it serves them.
async fn go_live(
    finish: &mpsc::Sender<Finish>,
    credentials: GitHubCredentials,
) -> Result<(), String> {
    let (done, served) = oneshot::channel();
    let stopped = || "the server is stopping".to_owned();
    finish
        .send(Finish { credentials, done })
        .await
        .map_err(|_| stopped())?;
    served.await.map_err(|_| stopped())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_follow_githubs_rule() {
        for ok in ["acme", "a", "acme-corp", "A1-b2", &"x".repeat(39)] {
            assert!(is_organization_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "ac--me",
            "acme corp",
            "acme/x",
            "äcme",
            &"x".repeat(40),
        ] {
            assert!(!is_organization_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_new_app_page_is_the_accounts_or_the_organizations() {
        let github = Url::parse("https://github.com").unwrap();
        assert_eq!(
            new_app_page(&github, None, "s1").as_str(),
            "https://github.com/settings/apps/new?state=s1"
        );
        assert_eq!(
            new_app_page(&github, Some("acme"), "s1").as_str(),
            "https://github.com/organizations/acme/settings/apps/new?state=s1"
        );
        let ghes = Url::parse("https://ghe.example.com/").unwrap();
        assert_eq!(
            new_app_page(&ghes, None, "s1").as_str(),
            "https://ghe.example.com/settings/apps/new?state=s1"
        );
    }

    #[test]
    fn the_public_url_is_guessed_from_the_request() {
        let mut headers = HeaderMap::new();
        assert_eq!(address_asked_for(&headers), None);
        headers.insert("host", "sb.example.com:8080".parse().unwrap());
        assert_eq!(
            address_asked_for(&headers).as_deref(),
            Some("http://sb.example.com:8080")
        );
        headers.insert("x-forwarded-proto", "https, http".parse().unwrap());
        assert_eq!(
            address_asked_for(&headers).as_deref(),
            Some("https://sb.example.com:8080")
        );
        headers.insert("host", "bad host/".parse().unwrap());
        assert_eq!(address_asked_for(&headers), None);
    }

    #[test]
    fn a_public_url_must_be_an_http_base_url() {
        assert_eq!(
            parse_public_url(" https://sb.example.com/ ")
                .unwrap()
                .as_str(),
            "https://sb.example.com/"
        );
        assert_eq!(
            parse_public_url("").unwrap_err(),
            "Enter the URL GitHub reaches this server at."
        );
        assert_eq!(
            parse_public_url("sb.example.com").unwrap_err(),
            "\u{201c}sb.example.com\u{201d} is not a URL: relative URL without a base."
        );
        assert_eq!(
            parse_public_url("ftp://sb.example.com").unwrap_err(),
            "The public URL must start with https:// (or http://)."
        );
        assert_eq!(
            parse_public_url("https://sb.example.com/#x").unwrap_err(),
            "The public URL cannot have a query (?) or a fragment (#)."
        );
    }
}
