//! The `smallbatch` binary as an operator runs it: start-up errors, logs, SIGTERM.
use crate::support;

use crate::support::fake_github::{FakeFile, FakeGitHub};
use crate::support::github_world::{fixture, BASE_SHA, INSTALLATION, REPO, SECRET};
use crate::support::process::free_port;
use crate::support::sha;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

fn smallbatch(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smallbatch"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    cmd
}

#[test]
fn a_missing_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = smallbatch(dir.path())
        .arg("serve")
        .env("SMALLBATCH_GITHUB__APP_ID", "1")
        .env(
            "SMALLBATCH_GITHUB__PRIVATE_KEY",
            support::test_private_key(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "smallbatch: missing setting SMALLBATCH_GITHUB__WEBHOOK_SECRET\n"
    );

    // Every missing setting at once, on one line.
    let out = smallbatch(dir.path())
        .arg("serve")
        .env("SMALLBATCH_GITHUB__APP_ID", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "smallbatch: missing settings SMALLBATCH_GITHUB__PRIVATE_KEY_PATH and \
         SMALLBATCH_GITHUB__WEBHOOK_SECRET\n"
    );

    let out = smallbatch(dir.path())
        .arg("serve")
        .env("SMALLBATCH_GITHUB__APP_ID", "one")
        .env(
            "SMALLBATCH_GITHUB__PRIVATE_KEY",
            support::test_private_key(),
        )
        .env("SMALLBATCH_GITHUB__WEBHOOK_SECRET", "s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("smallbatch: invalid setting SMALLBATCH_GITHUB__APP_ID: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

/// `smallbatch serve` as an operator starts it, against a fake GitHub, on a free port
/// with its own database.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Starts the binary with `log_format` and waits until it answers `/healthz`.
    /// stdout and stderr are pipes; a test may close their read ends.
    async fn start(gh: &FakeGitHub, log_format: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = smallbatch(dir.path())
            .arg("serve")
            .env("SMALLBATCH_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "SMALLBATCH_DATABASE_URL",
                format!("sqlite://{}/sb.db", dir.path().display()),
            )
            .env("SMALLBATCH_LOG_FORMAT", log_format)
            .env("SMALLBATCH_GITHUB__APP_ID", "1")
            .env(
                "SMALLBATCH_GITHUB__PRIVATE_KEY",
                support::test_private_key(),
            )
            .env("SMALLBATCH_GITHUB__WEBHOOK_SECRET", SECRET)
            .env("SMALLBATCH_GITHUB__API_URL", gh.uri())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        served.wait_until_up().await;
        served
    }

    /// Closes the read ends of stdout and stderr, as `2>&1 | head -1` or a dead log
    /// shipper does: every later write to them fails.
    fn close_output(mut self) -> Self {
        drop(self.child.stdout.take());
        drop(self.child.stderr.take());
        self
    }

    async fn wait_until_up(&self) {
        for _ in 0..200 {
            if self
                .http
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not come up");
    }

    /// Opens PR 3 at `head` in the fake and delivers its signed `opened` webhook;
    /// returns the webhook's HTTP status.
    async fn deliver_opened_pr(&self, gh: &FakeGitHub, head: &str) -> u16 {
        gh.state().prs.insert(
            3,
            support::fake_github::FakePr {
                number: 3,
                author: "alice".into(),
                draft: false,
                state: "open",
                head_sha: head.into(),
                head_ref: format!("feature-{}", 3),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                labels: vec![],
                files: vec![FakeFile::modified("src/lib.rs", 5, 1)],
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
            .post(format!("{}/webhooks/github", self.base))
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "bin-1")
            .header(
                "x-hub-signature-256",
                smallbatch::server::signature::sign_sha256(SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// SIGTERM, then the exit status and whatever the process wrote to the pipes still
    /// open, within `limit`.
    async fn terminate(mut self, limit: Duration) -> (ExitStatus, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let waited = tokio::task::spawn_blocking(move || {
            let status = self.child.wait().unwrap();
            let mut logs = String::new();
            if let Some(mut out) = self.child.stdout.take() {
                out.read_to_string(&mut logs).unwrap();
            }
            if let Some(mut err) = self.child.stderr.take() {
                err.read_to_string(&mut logs).unwrap();
            }
            (status, logs)
        });
        tokio::time::timeout(limit, waited)
            .await
            .expect("the process did not exit after SIGTERM")
            .unwrap()
    }
}

/// Waits for the first check run on `head`.
async fn check_landed(gh: &FakeGitHub, head: &str) -> String {
    for _ in 0..200 {
        if !gh.state().check_runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gh.latest_check(head).conclusion
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_logs_each_evaluation_and_drains_on_sigterm() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let head = sha(1);
    let served = Served::start(&gh, "json").await;
    assert_eq!(served.deliver_opened_pr(&gh, &head).await, 202);
    assert_eq!(check_landed(&gh, &head).await, "action_required");

    let (status, logs) = served.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status:?}; logs:\n{logs}");
    let evaluated = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "evaluated")
        .unwrap_or_else(|| panic!("no evaluation logged:\n{logs}"));
    assert_eq!(evaluated["fields"]["repo"], REPO);
    assert_eq!(evaluated["fields"]["pr"], "3");
    assert_eq!(evaluated["fields"]["head"], head.as_str());
    assert_eq!(evaluated["fields"]["verdict"], "Wait");
    assert!(logs.contains("worker stopped"), "{logs}");
    assert!(
        !logs.contains(SECRET),
        "the webhook secret leaked into the logs"
    );
    assert!(
        !logs.contains("PRIVATE KEY"),
        "the private key leaked into the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_and_stderr_neither_stop_the_work_nor_the_shutdown() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let head = sha(1);
    // Closed once it is up: every line from here on fails to be written.
    let served = Served::start(&gh, "text").await.close_output();
    assert_eq!(served.deliver_opened_pr(&gh, &head).await, 202);
    assert_eq!(check_landed(&gh, &head).await, "action_required");

    let (status, _) = served.terminate(Duration::from_secs(5)).await;
    assert!(status.success(), "exit {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_carry_no_colour_codes_when_stdout_is_not_a_terminal() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let head = sha(1);
    let served = Served::start(&gh, "text").await;
    assert_eq!(served.deliver_opened_pr(&gh, &head).await, 202);
    assert_eq!(check_landed(&gh, &head).await, "action_required");

    let (status, logs) = served.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status:?}; logs:\n{logs}");
    assert!(logs.contains("evaluated"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "ANSI escapes in:\n{logs}");
}

#[test]
fn report_prints_the_four_keys_and_refuses_a_bad_period() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/sb.db", dir.path().display());
    let out = smallbatch(dir.path())
        .args(["report", "--since", "30d", "--database-url", &db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No ships recorded yet: an empty report, not an error.
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());

    let out = smallbatch(dir.path())
        .args(["report", "--since", "soon", "--database-url", &db])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("smallbatch report: --since: "));
}

#[test]
fn an_unreachable_database_is_named_with_the_reason_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let started = std::time::Instant::now();
    let out = smallbatch(dir.path())
        .arg("serve")
        .env(
            "SMALLBATCH_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/smallbatch"),
        )
        .env("SMALLBATCH_GITHUB__APP_ID", "1")
        .env(
            "SMALLBATCH_GITHUB__PRIVATE_KEY",
            support::test_private_key(),
        )
        .env("SMALLBATCH_GITHUB__WEBHOOK_SECRET", "s")
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "smallbatch: cannot open database: cannot reach the database at 127.0.0.1:{port}: "
        )) && err.contains("refused"),
        "{err}"
    );
}
