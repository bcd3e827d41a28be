//! The `smallbatch` binary as an operator runs it: start-up errors, logs, SIGTERM.
mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::fake_github::{FakeFile, FakeGitHub};
use support::{sha, BASE_SHA, REPO};

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

    let out = smallbatch(dir.path())
        .arg("serve")
        .env("SMALLBATCH_GITHUB__APP_ID", "one")
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_logs_each_evaluation_and_drains_on_sigterm() {
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    let head = sha(1);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = smallbatch(dir.path())
        .arg("serve")
        .env("SMALLBATCH_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "SMALLBATCH_DATABASE_URL",
            format!("sqlite://{}/sb.db", dir.path().display()),
        )
        .env("SMALLBATCH_LOG_FORMAT", "json")
        .env("SMALLBATCH_GITHUB__APP_ID", "1")
        .env(
            "SMALLBATCH_GITHUB__PRIVATE_KEY",
            support::test_private_key(),
        )
        .env("SMALLBATCH_GITHUB__WEBHOOK_SECRET", support::SECRET)
        .env("SMALLBATCH_GITHUB__API_URL", gh.uri())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not come up");

    // Reuse the DSL's payload shaping through a throwaway state: one PR in the fake.
    gh.state().prs.insert(
        3,
        support::fake_github::FakePr {
            number: 3,
            author: "alice".into(),
            draft: false,
            state: "open",
            head_sha: head.clone(),
            base_sha: BASE_SHA.into(),
            labels: vec![],
            files: vec![FakeFile::modified("src/lib.rs", 5, 1)],
            reviews: vec![],
            version: 1,
        },
    );
    let mut payload = support::fixture("pull_request.opened");
    payload["repository"]["full_name"] = REPO.into();
    payload["installation"]["id"] = support::INSTALLATION.into();
    payload["pull_request"]["number"] = 3.into();
    payload["pull_request"]["head"]["sha"] = head.clone().into();
    let body = serde_json::to_vec(&payload).unwrap();
    let resp = http
        .post(format!("{base}/webhooks/github"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "bin-1")
        .header(
            "x-hub-signature-256",
            smallbatch::server::signature::sign_sha256(support::SECRET.as_bytes(), &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    for _ in 0..200 {
        if !gh.state().check_runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gh.latest_check(&head).conclusion, "action_required");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut logs = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (status, logs)
    });
    let (status, logs) = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .unwrap()
        .unwrap();
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
        !logs.contains(support::SECRET),
        "the webhook secret leaked into the logs"
    );
    assert!(
        !logs.contains("PRIVATE KEY"),
        "the private key leaked into the logs"
    );
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
