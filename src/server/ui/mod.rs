//! The web pages for people: a dashboard of each repository's delivery (the four keys,
//! and batch size against failure rate), and a page per evaluated PR with the same
//! summary as the GitHub check. Server-rendered (askama); the chart is Charts.css, which
//! draws an HTML table, so the numbers stay readable text.
mod access;
mod markdown;

use crate::domain::{ForgeKind, PrRef};
use crate::settings::{DoraSettings, UiAccess, UiSettings};
use crate::store::{PrPage, Store};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

const CHARTS_CSS: &str = include_str!("assets/charts.min.css");
/// The dashboard's two periods.
const PERIODS_DAYS: [u32; 2] = [30, 90];
const RECENT: u32 = 30;

#[derive(Clone)]
struct UiState {
    store: Store,
    access: Arc<UiAccess>,
    /// How the dashboard's delivery metrics count failures, as `/metrics` does.
    dora: DoraSettings,
}

/// The pages' routes, each behind [`access::require`]; none when the pages are off.
pub fn router(store: Store, settings: &UiSettings, dora: DoraSettings) -> Router {
    if !settings.enabled() {
        return Router::new();
    }
    let state = UiState {
        store,
        access: Arc::new(settings.access.clone()),
        dora,
    };
    let pages = Router::new()
        .route("/", get(dashboard))
        .route("/pr/{forge}/{*rest}", get(pr_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.access.clone(),
            access::require,
        ));
    let mut open = Router::new().route("/assets/charts.min.css", get(charts_css));
    if matches!(settings.access, UiAccess::Token(_)) {
        open = open.route("/login", get(login_form).post(login));
    }
    pages.merge(open).with_state(state)
}

/// The web page of `pr` under `base` (the server's public URL).
pub fn pr_page_url(base: &url::Url, pr: &PrRef) -> String {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .push("pr")
            .push(pr.repo.forge.as_str());
        for part in pr.repo.full_name.split('/') {
            segments.push(part);
        }
        segments.push(&pr.number.to_string());
    }
    url.to_string()
}

#[derive(Template)]
#[template(path = "dashboard.html", config = "src/server/ui/askama.toml")]
struct DashboardPage {
    cards: Vec<crate::dora::RepoCard>,
    recent: Vec<RecentPr>,
}

struct RecentPr {
    href: String,
    repo: String,
    sigil: &'static str,
    number: u64,
    title: String,
    conclusion: String,
    check_title: String,
}

async fn dashboard(State(state): State<UiState>) -> Response {
    let days = |d: u32| Duration::from_secs(u64::from(d) * 86_400);
    let metrics = async {
        let window = state.dora.failure_window;
        let short =
            crate::report::delivery_metrics(&state.store, None, days(PERIODS_DAYS[0]), window);
        let long =
            crate::report::delivery_metrics(&state.store, None, days(PERIODS_DAYS[1]), window);
        Ok::<_, crate::store::StoreError>((
            short.await?,
            long.await?,
            state.store.recent_pr_pages(RECENT).await?,
        ))
    };
    let (short, long, recent) = match metrics.await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    render(&DashboardPage {
        cards: crate::dora::repo_cards(&short, &long, PERIODS_DAYS),
        recent: recent
            .into_iter()
            .map(|p| RecentPr {
                href: page_path(&p),
                repo: p.repo,
                sigil: p.forge.change_sigil(),
                number: p.number,
                title: p.title,
                conclusion: p.conclusion,
                check_title: p.check_title,
            })
            .collect(),
    })
}

fn page_path(page: &PrPage) -> String {
    format!("/pr/{}/{}/{}", page.forge.as_str(), page.repo, page.number)
}

#[derive(Template)]
#[template(path = "pr.html", config = "src/server/ui/askama.toml")]
struct PrTemplate {
    repo: String,
    noun: String,
    sigil: &'static str,
    number: u64,
    title: String,
    conclusion: String,
    check_title: String,
    evaluated_at: String,
    head_sha: String,
    html_url: String,
    forge_name: &'static str,
    summary_html: String,
    /// The newest `/ship` of the change: where it went, its stage, and every reading.
    ship: Option<ShipSection>,
}

struct ShipSection {
    environment: String,
    stage: &'static str,
    readings_html: Option<String>,
}

/// `/pr/<forge>/<repository path>/<number>`: GitLab paths have any number of groups.
async fn pr_page(
    State(state): State<UiState>,
    Path((forge, rest)): Path<(String, String)>,
) -> Response {
    let forge = match forge.as_str() {
        "github" => ForgeKind::GitHub,
        "gitlab" => ForgeKind::GitLab,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some((repo, number)) = rest
        .rsplit_once('/')
        .and_then(|(repo, n)| Some((repo, n.parse::<u64>().ok()?)))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let page = match state.store.pr_page(forge, repo, number).await {
        Ok(Some(page)) => page,
        Ok(None) => {
            let what = format!(
                "smallbatch has not evaluated {repo}{}{number}",
                forge.change_sigil()
            );
            return (StatusCode::NOT_FOUND, what).into_response();
        }
        Err(e) => return unavailable(e),
    };
    let pr_key = format!("{}:{}#{}", forge.as_str(), page.repo, page.number);
    let ship = match state.store.latest_ship_of(&pr_key).await {
        Ok(found) => found.and_then(|stored| ship_section(&stored.data)),
        Err(e) => return unavailable(e),
    };
    let noun = forge.change_noun();
    render(&PrTemplate {
        ship,
        noun: format!("{}{}", noun[..1].to_uppercase(), &noun[1..]),
        sigil: forge.change_sigil(),
        number: page.number,
        forge_name: forge.name(),
        summary_html: markdown::to_safe_html(&page.summary),
        evaluated_at: crate::domain::millis::rfc3339(crate::domain::millis::of(page.evaluated_at)),
        repo: page.repo,
        title: page.title,
        conclusion: page.conclusion,
        check_title: page.check_title,
        head_sha: page.head_sha,
        html_url: page.html_url,
    })
}

/// What the page shows of a ship record; `None` for a record it cannot read.
fn ship_section(data: &str) -> Option<ShipSection> {
    let record: crate::ship::record::ShipRecord = serde_json::from_str(data).ok()?;
    Some(ShipSection {
        stage: crate::ship::text::stage_words(record.stage),
        readings_html: crate::ship::comment::every_reading(&record)
            .map(|table| markdown::to_safe_html(&table)),
        environment: record.environment,
    })
}

#[derive(Template)]
#[template(path = "login.html", config = "src/server/ui/askama.toml")]
struct LoginPage {
    next: String,
    failed: bool,
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
}

async fn login_form(Query(q): Query<LoginQuery>) -> Response {
    render(&LoginPage {
        next: access::local_path(&q.next).to_owned(),
        failed: false,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

async fn login(State(state): State<UiState>, Form(form): Form<LoginForm>) -> Response {
    let UiAccess::Token(token) = state.access.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bearer = format!("Bearer {}", form.token);
    let mut headers = axum::http::HeaderMap::new();
    if let Ok(value) = bearer.parse() {
        headers.insert(header::AUTHORIZATION, value);
    }
    let next = access::local_path(&form.next).to_owned();
    if !access::allowed(&state.access, &headers) {
        let page = render(&LoginPage { next, failed: true });
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000",
        access::COOKIE,
        access::session_value(token)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

async fn charts_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CHARTS_CSS,
    )
        .into_response()
}

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn unavailable(e: crate::store::StoreError) -> Response {
    tracing::warn!(error = %e, "a page could not read the database");
    (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
}
