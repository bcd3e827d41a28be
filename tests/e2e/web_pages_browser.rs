//! The web pages in headless Chromium, as a person uses them: sign in with the token,
//! read the dashboard, follow a change to its page. Screenshots are kept under
//! `<target>/tmp/screenshots/` (`dashboard.png`, `pr_page.png`) to be looked at.
use crate::support::browser::Browser;
use crate::support::fake_github::oversized_files;
use crate::support::github_world::{GitHubWorld, REPO};
use crate::support::sha;
use crate::support::world::{made_ready, staffed, World};
use secrecy::SecretString;
use smallbatch::settings::{UiAccess, UiSettings};
use std::time::Duration;

const TOKEN: &str = "a-token-of-at-least-16-characters";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_reads_the_dashboard_and_opens_a_change() {
    let ui = UiSettings {
        access: UiAccess::Token(SecretString::from(TOKEN)),
        public_url: None,
    };
    let w: GitHubWorld = made_ready(staffed(GitHubWorld::start_with_pages(ui).await)).await;
    // One change shipped and healthy, one oversized waiting.
    w.comment(7, 501, "alice", "/ship").await;
    w.settle().await;
    w.deployed(7).await;
    w.settle().await;
    for _ in 0..3 {
        w.advance(Duration::from_secs(61)).await;
    }
    w.open(9, &sha(9), oversized_files()).await;
    w.settle().await;

    let browser = Browser::start().await;
    browser.goto(&w.base_url("/")).await;
    browser.wait_for_heading("Sign in").await;
    browser.fill("input[name=token]", TOKEN).await;
    browser.click("Sign in").await;
    browser.wait_for_heading("Delivery").await;
    let shot = browser.screenshot("dashboard").await;
    let text = browser.text().await;
    for seen in [
        REPO,
        "Deployment frequency",
        "Lead time for changes",
        "Change failure rate",
        "Time to restore service",
        "Rework rate",
        "Batch size and change failure rate",
        "Recently evaluated",
    ] {
        assert!(text.contains(seen), "{seen:?} not on the dashboard: {text}");
    }
    assert!(shot.exists());

    browser.click(&format!("{REPO}#9")).await;
    browser
        .wait_for_heading("Pull request #9: Update the README with new information.")
        .await;
    browser.screenshot("pr_page").await;
    let text = browser.text().await;
    for seen in [
        "570 lines: over the 400-line limit; needs 1 approval",
        "Too large: 570 lines counted, over the limit of 400 (size.max_lines).",
        "Cargo.lock",
    ] {
        assert!(text.contains(seen), "{seen:?} not on the page: {text}");
    }
    browser.close().await;
}
