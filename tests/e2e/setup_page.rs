//! `smallbatch serve` started with no credentials: its setup page registers the GitHub
//! App with GitHub's manifest flow, against the fake GitHub standing in for a GitHub
//! Enterprise Server at its own URL (`SMALLBATCH_GITHUB__URL`, the API under `/api/v3`),
//! and the same process then serves the app's webhooks.
use crate::support::browser::Browser;
use crate::support::fake_github::FakeGitHub;
use crate::support::github_world::{fixture, BASE_SHA, INSTALLATION, REPO};
use crate::support::process::free_port;
use crate::support::{fake_github, sha};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `smallbatch serve` as an operator starts it on a fresh machine: a database folder,
/// the GitHub to register with, and nothing else.
struct Unconfigured {
    child: Child,
    base: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Unconfigured {
    async fn start(dir: &Path, gh: &FakeGitHub, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_smallbatch"))
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("SMALLBATCH_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "SMALLBATCH_DATABASE_URL",
                format!("sqlite://{}/sb.db", dir.display()),
            )
            .env("SMALLBATCH_GITHUB__URL", gh.uri())
            .envs(env.iter().copied())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            // As a browser would, but showing GitHub's redirects instead of following them.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        for _ in 0..400 {
            let up = server.http.get(server.url("/healthz")).send().await;
            if up.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("smallbatch did not come up:\n{}", server.logs());
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Submits the setup page's first form.
    async fn answer(&self, public_url: &str, organization: &str) -> (u16, String) {
        let r = self
            .http
            .post(self.url("/setup/manifest"))
            .form(&[("public_url", public_url), ("organization", organization)])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Opens PR 3 at `head` in the fake and delivers its `opened` webhook signed with
    /// `secret`; the HTTP status.
    async fn deliver_opened_pr(&self, gh: &FakeGitHub, secret: &str, id: &str, head: &str) -> u16 {
        gh.state().prs.insert(
            3,
            fake_github::FakePr {
                number: 3,
                author: "alice".into(),
                draft: false,
                state: "open",
                head_sha: head.into(),
                head_ref: "feature-3".into(),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                labels: vec![],
                files: vec![fake_github::FakeFile::modified("src/lib.rs", 5, 1)],
                reviews: vec![],
                version: 1,
            },
        );
        let mut payload = fixture("pull_request.opened");
        payload["repository"]["full_name"] = REPO.into();
        payload["installation"]["id"] = INSTALLATION.into();
        payload["pull_request"]["number"] = 3.into();
        payload["pull_request"]["head"]["sha"] = head.into();
        let body = serde_json::to_vec(&payload).unwrap();
        self.http
            .post(self.url("/webhooks/github"))
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header(
                "x-hub-signature-256",
                smallbatch::server::signature::sign_sha256(secret.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// SIGTERM, and waits for the exit.
    async fn stop(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let exited = tokio::task::spawn_blocking(move || self.child.wait().unwrap());
        let status = tokio::time::timeout(Duration::from_secs(30), exited)
            .await
            .expect("smallbatch did not stop on SIGTERM")
            .unwrap();
        assert!(status.success(), "exit {status:?}");
    }
}

impl Drop for Unconfigured {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The host and port, as the page names GitHub.
fn host_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Waits for the first check run on `head`; its conclusion.
async fn check_landed(gh: &FakeGitHub, head: &str) -> String {
    for _ in 0..400 {
        if gh.state().check_runs.iter().any(|c| c.head_sha == head) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gh.latest_check(head).conclusion
}

/// The value of the attribute that follows `marker` (`name="manifest" value="`) in
/// `html`, unescaped.
fn attribute_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in:\n{html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

/// askama's escapes, undone.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// The credentials file's `[github]` section, after checking that only its owner can
/// read it.
fn credentials_in(file: &Path) -> toml::Table {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode of {}", file.display());
    let text = std::fs::read_to_string(file).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(table.keys().collect::<Vec<_>>(), ["github"], "{text}");
    table["github"].as_table().unwrap().clone()
}

/// The page's text with what varies from run to run (loopback ports, the temporary
/// folder) replaced.
fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        filters => vec![
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
            (r"/\S*/smallbatch-credentials\.toml", "[folder]/smallbatch-credentials.toml"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_setup_page_registers_the_app_and_its_webhooks_are_served_at_once() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Unconfigured::start(dir.path(), &gh, &[]).await;
    let browser = Browser::start().await;

    // 1. The page asks where GitHub reaches this server, guessing the address it was
    //    opened at.
    browser.goto(&server.url("/")).await;
    browser.wait_for_heading("Set up smallbatch").await;
    assert_eq!(browser.value("#public_url").await, server.base);
    assert_eq!(browser.value("#organization").await, "");
    browser.fill("#organization", "acme").await;
    browser.screenshot("setup-1-start").await;
    snapshot("setup_start_page", &browser.text().await);

    // 2. It shows what GitHub will register, and posts the manifest there.
    browser.click("Continue").await;
    browser.wait_for_heading("Register the GitHub App").await;
    browser.screenshot("setup-2-confirm").await;
    snapshot("setup_confirm_page", &browser.text().await);
    browser
        .click(&format!("Create the GitHub App on {}", host_of(&gh.uri())))
        .await;

    // 3. GitHub sends the browser back with a code; the page exchanges it and is done.
    browser.wait_for_heading("smallbatch is set up").await;
    browser.screenshot("setup-3-done").await;
    snapshot("setup_done_page", &browser.text().await);
    assert_eq!(
        browser.link("Install the app on your repositories").await,
        format!("{}/apps/smallbatch/installations/new", gh.uri())
    );
    browser.close().await;

    // What GitHub was sent: the manifest with the three URLs under this server, and one
    // exchange of the code at the Enterprise Server's API.
    let (posted, converted, calls) = {
        let s = gh.state();
        (
            s.apps.posted.clone(),
            s.apps.converted.clone(),
            s.calls.clone(),
        )
    };
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].organization.as_deref(), Some("acme"));
    assert_eq!(posted[0].state.as_ref().map(String::len), Some(32));
    let manifest = &posted[0].manifest;
    assert_eq!(manifest["url"], server.base.as_str());
    assert_eq!(
        manifest["hook_attributes"]["url"],
        server.url("/webhooks/github").as_str()
    );
    assert_eq!(
        manifest["redirect_url"],
        server.url("/setup/callback").as_str()
    );
    assert_eq!(manifest["default_permissions"]["checks"], "write");
    let exchanges: Vec<&String> = calls
        .iter()
        .filter(|c| c.contains("/app-manifests/"))
        .collect();
    assert_eq!(exchanges.len(), 1, "{calls:?}");
    assert!(
        exchanges[0].starts_with("POST /api/v3/app-manifests/")
            && exchanges[0].ends_with("/conversions"),
        "{}",
        exchanges[0]
    );
    let [app] = converted.as_slice() else {
        panic!("{converted:?}")
    };

    // The credentials file, beside the database, readable by its owner only.
    let saved = credentials_in(&dir.path().join("smallbatch-credentials.toml"));
    assert_eq!(saved["app_id"].as_integer(), app["id"].as_i64());
    assert_eq!(
        saved["webhook_secret"].as_str(),
        app["webhook_secret"].as_str()
    );
    assert_eq!(saved["private_key"].as_str(), app["pem"].as_str());

    // Webhooks signed with the secret GitHub gave are taken, and the worker runs as
    // the new app: the PR gets its check.
    let secret = app["webhook_secret"].as_str().unwrap();
    let head = sha(1);
    assert_eq!(
        server
            .deliver_opened_pr(&gh, secret, "setup-1", &head)
            .await,
        202
    );
    assert_eq!(check_landed(&gh, &head).await, "action_required");
    assert_eq!(
        server
            .deliver_opened_pr(&gh, "not-the-secret", "setup-2", &head)
            .await,
        401
    );

    // The setup page and its routes are gone. A server on loopback with no public URL
    // shows its delivery dashboard at `/` instead (docs/configuration.md, Web pages).
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1>Delivery</h1>"), "{page}");
    assert!(!page.contains("public_url"), "{page}");
    assert_eq!(server.get("/setup/callback?code=c&state=s").await.0, 404);
    assert_eq!(server.answer(&server.base, "").await.0, 404);

    // The next start reads the file: no setting, no setup page, webhooks served.
    server.stop().await;
    let again = Unconfigured::start(dir.path(), &gh, &[]).await;
    let (status, page) = again.get("/").await;
    assert_eq!(status, 200);
    assert!(!page.contains("public_url"), "{page}");
    let head = sha(2);
    assert_eq!(
        again.deliver_opened_pr(&gh, secret, "setup-3", &head).await,
        202
    );
    assert_eq!(check_landed(&gh, &head).await, "action_required");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_page_refuses_bad_answers_foreign_states_and_expired_codes() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let dir = tempfile::tempdir().unwrap();
    // Behind a proxy: GitHub reaches the server at a name of its own.
    let public = "https://sb.example.com";
    let server = Unconfigured::start(dir.path(), &gh, &[("SMALLBATCH_PUBLIC_URL", public)]).await;

    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        attribute_after(&page, "name=\"public_url\" value=\""),
        public
    );

    // Answers the page cannot use are refused on the page, with what was typed.
    let (status, page) = server.answer("sb.example.com", "").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("is not a URL: relative URL without a base."),
        "{page}"
    );
    assert_eq!(
        attribute_after(&page, "name=\"public_url\" value=\""),
        "sb.example.com"
    );
    let (status, page) = server.answer(public, "-acme").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("is not an organization name on GitHub"),
        "{page}"
    );

    // For an organization, the manifest goes to the organization's page.
    let (status, page) = server.answer(public, "acme").await;
    assert_eq!(status, 200);
    let action = attribute_after(&page, "method=\"post\" action=\"");
    let new_app = format!("{}/organizations/acme/settings/apps/new?state=", gh.uri());
    assert!(action.starts_with(&new_app), "{action}");
    let state = action[new_app.len()..].to_owned();
    let manifest: Value =
        serde_json::from_str(&attribute_after(&page, "name=\"manifest\" value=\"")).unwrap();
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "https://sb.example.com/webhooks/github"
    );

    // A callback with a state this server did not issue is refused, and so is one
    // without a code.
    let (status, page) = server
        .get("/setup/callback?code=0123abcd&state=made-up")
        .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("did not come from this server&#39;s setup"),
        "{page}"
    );
    let (status, page) = server.get(&format!("/setup/callback?state={state}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("GitHub sent no code"), "{page}");

    // GitHub registers the app and sends the browser back to the public URL...
    let back = github_sends_back(&server, &action, &manifest, public).await;
    assert!(back.contains(&format!("state={state}")), "{back}");
    // ... but the person came back after the hour: GitHub no longer knows the code.
    gh.state().apps.expire_codes();
    let (status, page) = server.get(&back).await;
    assert_eq!(status, 502);
    assert!(
        page.contains(
            "GitHub does not know this code: it was used already or is older than an hour"
        ),
        "{page}"
    );
    assert!(page.contains("delete it on GitHub"), "{page}");
    assert!(!dir.path().join("smallbatch-credentials.toml").exists());
    // The state was used.
    let (status, _) = server.get(&back).await;
    assert_eq!(status, 400);

    // Again, in time, for the person's own account.
    let (_, page) = server.answer(public, "").await;
    let action = attribute_after(&page, "method=\"post\" action=\"");
    assert!(
        action.starts_with(&format!("{}/settings/apps/new?state=", gh.uri())),
        "{action}"
    );
    let back = github_sends_back(&server, &action, &manifest, public).await;
    let (status, page) = server.get(&back).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("owned by octocat"), "{page}");
    assert!(
        page.contains(&format!(
            "href=\"{}/apps/smallbatch/installations/new\"",
            gh.uri()
        )),
        "{page}"
    );
    credentials_in(&dir.path().join("smallbatch-credentials.toml"));
    assert_eq!(server.get("/").await.0, 404);
    assert_eq!(gh.state().apps.converted.len(), 1);
    server.stop().await;
}

/// Posts `manifest` to GitHub's page `action` as the browser does, and returns the path
/// and query GitHub redirects to, which must be under `public`.
async fn github_sends_back(
    server: &Unconfigured,
    action: &str,
    manifest: &Value,
    public: &str,
) -> String {
    let r = server
        .http
        .post(action)
        .form(&[("manifest", manifest.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let callback = format!("{public}/setup/callback?");
    assert!(location.starts_with(&callback), "{location}");
    location[public.len()..].to_owned()
}
