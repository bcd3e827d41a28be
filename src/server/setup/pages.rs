//! The setup page's HTML, server-rendered from `src/server/templates/setup/` (askama
//! escapes every value).
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Step 1: where this server is reachable, and who owns the app.
#[derive(Template)]
#[template(path = "setup/start.html", config = "src/server/askama.toml")]
pub struct Start<'a> {
    /// The GitHub the app is registered on, as a person knows it (`github.com`).
    pub github: &'a str,
    pub public_url: &'a str,
    pub organization: &'a str,
    /// Why the last answer was refused.
    pub problem: Option<&'a str>,
}

/// Step 2: the manifest, posted to GitHub by the person's browser.
#[derive(Template)]
#[template(path = "setup/confirm.html", config = "src/server/askama.toml")]
pub struct Confirm<'a> {
    pub github: &'a str,
    /// GitHub's "new app" page, with the `state` to check on return.
    pub action: &'a str,
    pub manifest: &'a str,
    pub organization: Option<&'a str>,
    pub webhook_url: &'a str,
    pub callback_url: &'a str,
}

/// Step 3: the app exists and the server serves it.
#[derive(Template)]
#[template(path = "setup/done.html", config = "src/server/askama.toml")]
pub struct Done<'a> {
    pub slug: &'a str,
    pub app_url: &'a str,
    pub owner: Option<&'a str>,
    pub install_url: &'a str,
    pub credentials_file: &'a str,
    /// Why the server could not start serving the app at once (a restart will).
    pub not_live: Option<&'a str>,
}

/// Any step that went wrong, with what to do.
#[derive(Template)]
#[template(path = "setup/failed.html", config = "src/server/askama.toml")]
pub struct Failed<'a> {
    pub problem: &'a str,
    pub advice: &'a str,
}

/// `page` as the answer, with `status`.
pub fn respond(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the setup page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
