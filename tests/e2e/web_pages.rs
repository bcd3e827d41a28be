//! The web pages for people, over HTTP: the page of each evaluated change (GitLab's
//! commit status links to it), the delivery dashboard, and who may see them.
use crate::support::fake_github::oversized_files;
use crate::support::gitlab_world::{GitLabWorld, PROJECT};
use crate::support::sha;
use crate::support::world::{made_ready, staffed, World};
use secrecy::SecretString;
use smallbatch::settings::{UiAccess, UiSettings};
use std::time::Duration;

const TOKEN: &str = "a-token-of-at-least-16-characters";

fn with_token() -> UiSettings {
    UiSettings {
        access: UiAccess::Token(SecretString::from(TOKEN)),
        public_url: Some("https://bot.example.com/".parse().unwrap()),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GETs `path` with the token; the status and the page's text without its tags.
async fn get_page<W: World>(w: &W, path: &str) -> (u16, String) {
    let response = client()
        .get(w.base_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, visible_text(&response.text().await.unwrap()))
}

/// What a person reads: the body's text, tags and styles dropped, spaces collapsed. A
/// block's edge separates words; an inline element's (`<code>`, `<a>`...) does not.
pub fn visible_text(html: &str) -> String {
    const INLINE: [&str; 6] = ["code", "a", "span", "strong", "em", "b"];
    let body = html.split_once("<body>").map_or(html, |(_, b)| b);
    let mut text = String::new();
    let mut tag: Option<String> = None;
    for c in body.chars() {
        match (&mut tag, c) {
            (None, '<') => tag = Some(String::new()),
            (Some(name), '>') => {
                let name = name.trim_start_matches('/');
                let name = name.split_whitespace().next().unwrap_or("");
                if !INLINE.contains(&name) {
                    text.push(' ');
                }
                tag = None;
            }
            (Some(name), c) => name.push(c),
            (None, c) => text.push(c),
        }
    }
    text.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn an_evaluated_change_has_a_page_with_the_checks_summary<W: World>(heading: &str) {
    let w = W::start_with_pages(with_token()).await;
    w.open(9, &sha(9), oversized_files()).await;
    w.settle().await;
    let (status, text) = get_page(&w, &w.page_path(9)).await;
    assert_eq!(status, 200, "{text}");
    for seen in [
        heading,
        "fail 570 lines: over the 400-line limit; needs 1 approval",
        "Too large: 570 lines counted, over the limit of 400 (size.max_lines).",
        "api/handlers.rs 260 0 260",
        "Cargo.lock lock file",
    ] {
        assert!(text.contains(seen), "{seen:?} not in {text}");
    }
    // The dashboard lists it among the changes evaluated.
    let (status, text) = get_page(&w, "/").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Recently evaluated"), "{text}");
    assert!(
        text.contains("fail 570 lines: over the 400-line limit; needs 1 approval"),
        "{text}"
    );
    // A change never evaluated has no page.
    let (status, text) = get_page(&w, &w.page_path(404)).await;
    assert_eq!(status, 404);
    assert!(text.contains("smallbatch has not evaluated"), "{text}");
}

async fn the_pages_ask_for_the_token<W: World>() {
    let w = W::start_with_pages(with_token()).await;
    let http = client();
    let anonymous = http.get(w.base_url("/")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 303);
    assert_eq!(anonymous.headers()["location"], "/login?next=%2F");
    let wrong = http
        .get(w.base_url("/"))
        .bearer_auth("not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 303);

    let refused = http
        .post(w.base_url("/login"))
        .form(&[("token", "not-the-token-at-all"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(visible_text(&refused.text().await.unwrap())
        .contains("That token is not the one this server was given."));

    let signed_in = http
        .post(w.base_url("/login"))
        .form(&[("token", TOKEN), ("next", "//elsewhere.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/", "only local paths");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is not the token: {cookie}"
    );
    let session = cookie.split(';').next().unwrap();
    let page = http
        .get(w.base_url("/"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

async fn without_a_token_a_public_server_has_no_pages<W: World>() {
    let off = UiSettings {
        access: UiAccess::Off,
        public_url: Some("https://bot.example.com/".parse().unwrap()),
    };
    let w = W::start_with_pages(off).await;
    w.open(9, &sha(9), oversized_files()).await;
    w.settle().await;
    for path in ["/", "/login", &w.page_path(9)] {
        let response = client().get(w.base_url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
}

/// A shipped change, healthy in production: its page shows the ship and its readings,
/// and the dashboard the repository's four keys over both periods, and the deploy in its
/// size bucket.
async fn the_dashboard_shows_the_four_keys_and_failure_rate_by_size<W: World>(repo: &str) {
    let w = made_ready(staffed(W::start_with_pages(with_token()).await)).await;
    w.comment(7, 501, "alice", "/ship").await;
    w.settle().await;
    w.deployed(7).await;
    w.settle().await;
    for _ in 0..3 {
        w.advance(Duration::from_secs(61)).await;
    }
    // The change's page shows where it was shipped and every reading of the watch.
    let (status, text) = get_page(&w, &w.page_path(7)).await;
    assert_eq!(status, 200, "{text}");
    for seen in [
        "Shipped to production Stage: operating as designed.",
        "Production readings reading metric value bound verdict 1 error rate",
    ] {
        assert!(text.contains(seen), "{seen:?} not in {text}");
    }
    let (status, text) = get_page(&w, "/").await;
    assert_eq!(status, 200, "{text}");
    for seen in [
        repo,
        "Key Last 30 days Last 90 days",
        "Deployment frequency 1 deploy (0.2/week)",
        "Change failure rate 0.0% (0 of 1 judged)",
        "Time to restore service - insufficient data",
        "Rework rate 0.0% (0 of 1 deploys) DORA publishes no bands for it",
        "Batch size and change failure rate",
        "Size Deploys Failed Change failure rate XS 0 0 - S 0 0 - M 1 0 0.0% (0 of 1 judged)",
    ] {
        assert!(text.contains(seen), "{seen:?} not in {text}");
    }
}

on_both_forges!(
    an_evaluated_change_has_a_page_with_the_checks_summary(
        "Pull request #9: Update the README with new information.",
        "Merge request !9: Add invoice export"
    ),
    the_pages_ask_for_the_token,
    without_a_token_a_public_server_has_no_pages,
    the_dashboard_shows_the_four_keys_and_failure_rate_by_size(
        crate::support::github_world::REPO,
        PROJECT
    ),
);

/// GitLab shows one line of the status; its link leads to the whole summary.
#[tokio::test]
async fn gitlab_links_its_commit_status_to_the_page() {
    let w = GitLabWorld::start_with_pages(with_token()).await;
    w.open(9, &sha(9), oversized_files()).await;
    w.settle().await;
    assert_eq!(
        w.gl.latest_status(&sha(9)).target_url.as_deref(),
        Some(format!("https://bot.example.com/pr/gitlab/{PROJECT}/9").as_str())
    );
}
