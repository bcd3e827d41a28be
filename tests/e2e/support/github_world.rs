//! The GitHub half of the end-to-end DSL: a real smallbatch process (router + worker +
//! store) wired to a fake GitHub, driven with signed webhooks built from real fixtures.
use super::fake_github::{self, FakeFile, FakeGitHub, FakePr, FakeReview, Write};
use super::fake_prometheus::FakePrometheus;
use super::in_process::{self, InProcess, SqliteDb};
use super::test_private_key;
use super::world::{acknowledged, GateState, Role, Webhook, World};
use serde_json::Value;
use smallbatch::app::Forges;
use smallbatch::forge::github::{GitHubForge, RetryPolicy};
use smallbatch::forge::Forge;
use smallbatch::server::signature::sign_sha256;
use smallbatch::settings::{GitHubSettings, Settings, UiSettings};
use smallbatch::ship::telemetry::Prometheus;
use smallbatch::store::Store;
use std::sync::Arc;
use std::time::Duration;

pub const REPO: &str = "octo-org/widgets";
pub const INSTALLATION: u64 = 4242;
pub const SECRET: &str = "webhook-secret";
pub const BASE_SHA: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/github/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

pub struct GitHubWorld {
    pub gh: FakeGitHub,
    pub prom: FakePrometheus,
    pub store: Store,
    process: InProcess,
}

fn settings(db: &SqliteDb, gh: &FakeGitHub) -> Settings {
    Settings {
        github: Some(GitHubSettings {
            app_id: 1,
            private_key: test_private_key().into(),
            webhook_secret: SECRET.into(),
            api_url: gh.uri().parse().unwrap(),
        }),
        ..in_process::settings(db)
    }
}

impl GitHubWorld {
    async fn boot(gh: FakeGitHub, prom: FakePrometheus, db: &SqliteDb, worker: bool) -> Self {
        Self::boot_with(gh, prom, db, worker, UiSettings::default()).await
    }

    async fn boot_with(
        gh: FakeGitHub,
        prom: FakePrometheus,
        db: &SqliteDb,
        worker: bool,
        ui: UiSettings,
    ) -> Self {
        let settings = Settings {
            ui,
            ..settings(db, &gh)
        };
        let forges = Forges {
            prometheus: Some(Prometheus::new(prom.uri().parse().unwrap()).unwrap()),
            github: Some(make_forge(settings.github.as_ref().unwrap())),
            gitlab: None,
        };
        let process = InProcess::boot(db, &settings, forges, worker).await;
        Self {
            gh,
            prom,
            store: process.store.clone(),
            process,
        }
    }

    /// A process that acknowledges webhooks but whose worker never runs.
    pub async fn start_intake_only() -> Self {
        let gh = FakeGitHub::start(REPO, BASE_SHA).await;
        Self::boot(gh, FakePrometheus::start().await, &SqliteDb::new(), false).await
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// Adds an open PR to the fake GitHub.
    pub fn open_pr(&self, number: u64, head: &str, files: Vec<FakeFile>) -> FakePr {
        let pr = FakePr {
            number,
            author: "alice".into(),
            draft: false,
            state: "open",
            head_sha: head.into(),
            head_ref: format!("feature-{}", number),
            base_ref: "main".into(),
            base_sha: BASE_SHA.into(),
            labels: vec![],
            files,
            reviews: vec![],
            version: 1,
        };
        self.gh.state().prs.insert(number, pr.clone());
        pr
    }

    pub fn update_pr(&self, number: u64, f: impl FnOnce(&mut FakePr)) {
        let mut s = self.gh.state();
        let pr = s.prs.get_mut(&number).unwrap();
        f(pr);
        pr.version += 1;
    }

    pub fn review(&self, number: u64, user: &str, state: &'static str) {
        self.update_pr(number, |pr| {
            let commit = pr.head_sha.clone();
            pr.reviews.push(FakeReview {
                user: user.into(),
                state,
                commit,
            });
        });
    }

    /// The real fixture for `event_action`, pointed at our repo, installation and PR.
    pub fn payload(&self, fixture_name: &str, number: u64) -> Value {
        let mut v = fixture(fixture_name);
        v["repository"]["full_name"] = REPO.into();
        v["repository"]["name"] = "widgets".into();
        v["repository"]["owner"]["login"] = "octo-org".into();
        v["installation"]["id"] = INSTALLATION.into();
        if let Some(pr) = self.gh.state().prs.get(&number) {
            for key in ["pull_request"] {
                if v.get(key).is_some() {
                    v[key]["number"] = number.into();
                    v[key]["head"]["sha"] = pr.head_sha.clone().into();
                    v[key]["head"]["ref"] = pr.head_ref.clone().into();
                    v[key]["base"]["ref"] = pr.base_ref.clone().into();
                    v[key]["draft"] = pr.draft.into();
                }
            }
            if v.get("number").is_some() {
                v["number"] = number.into();
            }
        }
        v
    }

    /// A real `issue_comment` delivery: `login` comments `body` on PR `number`.
    pub fn comment_payload(&self, number: u64, comment_id: u64, login: &str, body: &str) -> Value {
        let mut v = fixture("issue_comment.created");
        v["repository"]["full_name"] = REPO.into();
        v["installation"]["id"] = INSTALLATION.into();
        v["issue"]["number"] = number.into();
        v["issue"]["pull_request"] = serde_json::json!({
            "url": format!("https://api.github.com/repos/{REPO}/pulls/{number}"),
            "html_url": format!("https://github.com/{REPO}/pull/{number}"),
            "diff_url": format!("https://github.com/{REPO}/pull/{number}.diff"),
            "patch_url": format!("https://github.com/{REPO}/pull/{number}.patch"),
            "merged_at": null
        });
        v["comment"]["id"] = comment_id.into();
        v["comment"]["body"] = body.into();
        v["comment"]["user"]["login"] = login.into();
        v["comment"]["user"]["type"] = if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        }
        .into();
        v
    }

    /// The Deployment smallbatch created of change `n`'s merge to `environment`.
    fn deployment_of(&self, n: u64, environment: &str) -> (u64, String) {
        let s = self.gh.state();
        let sha = s.merge_shas[&n].clone();
        let id = s
            .deployments
            .iter()
            .find(|d| d.1 == sha && d.2 == environment)
            .expect("a Deployment")
            .0;
        (id, sha)
    }

    /// The newest Deployment smallbatch created to roll back to change `n`'s merge.
    fn rollback_of(&self, n: u64) -> (u64, String) {
        let s = self.gh.state();
        let sha = s.merge_shas[&n].clone();
        let id = s
            .deployments
            .iter()
            .rev()
            .find(|d| {
                d.1 == sha && s.deployment_payloads[&d.0]["smallbatch"]["rollback_of"].is_u64()
            })
            .expect("a rollback Deployment")
            .0;
        (id, sha)
    }

    /// The team's CD posts `state` on deployment `id`, as GitHub then lists it.
    fn report_deployment(&self, id: u64, state: &str) {
        self.gh
            .state()
            .deployment_statuses
            .push((id, state.to_owned()));
    }

    /// A real `deployment_status` delivery for `sha` in `environment`.
    pub fn deployment_payload(&self, id: u64, sha: &str, environment: &str, state: &str) -> Value {
        let mut v = fixture("deployment_status.created");
        v["repository"]["full_name"] = REPO.into();
        v["installation"]["id"] = INSTALLATION.into();
        v["deployment"]["id"] = id.into();
        v["deployment"]["sha"] = sha.into();
        v["deployment"]["environment"] = environment.into();
        v["deployment_status"]["state"] = state.into();
        v["deployment_status"]["environment"] = environment.into();
        v
    }

    /// Queues open PRs `prs` on `main` in this order, as GitHub's merge queue does: each
    /// entry's branch `gh-readonly-queue/main/pr-<n>-<sha>` points at its group commit, a
    /// merge of the entry ahead (or main) with the PR's head. Returns the group commits.
    pub fn queue(&self, prs: &[u64]) -> Vec<String> {
        let mut s = self.gh.state();
        s.parents.entry(BASE_SHA.into()).or_default();
        let mut ahead = BASE_SHA.to_owned();
        let mut groups = Vec::new();
        for n in prs {
            let head = s.prs[n].head_sha.clone();
            s.parents.insert(head.clone(), vec![BASE_SHA.into()]);
            let group = format!("c0ffee{:034x}", groups.len() + 1);
            s.parents.insert(group.clone(), vec![ahead.clone(), head]);
            s.refs.insert(
                format!("refs/heads/gh-readonly-queue/main/pr-{n}-{ahead}"),
                group.clone(),
            );
            ahead = group.clone();
            groups.push(group);
        }
        groups
    }

    /// A real `merge_group` delivery (`checks_requested` or `destroyed`) for the queue
    /// entry whose group commit is `head`, built on `main`.
    pub fn merge_group_payload(&self, action: &str, head: &str) -> Value {
        let mut v = fixture(&format!("merge_group.{action}"));
        v["repository"]["full_name"] = REPO.into();
        v["repository"]["name"] = "widgets".into();
        v["repository"]["owner"]["login"] = "octo-org".into();
        v["installation"]["id"] = INSTALLATION.into();
        let head_ref = self
            .gh
            .state()
            .refs
            .iter()
            .find(|(_, sha)| *sha == head)
            .map(|(name, _)| name.clone())
            .expect("a queued group commit");
        let group = &mut v["merge_group"];
        group["head_sha"] = head.into();
        group["head_ref"] = head_ref.into();
        group["base_sha"] = BASE_SHA.into();
        group["base_ref"] = "refs/heads/main".into();
        group["head_commit"]["id"] = head.into();
        v
    }

    fn delivery_id(&self) -> String {
        let n = self.process.next_delivery();
        format!("72d3162e-cc78-11e3-81ab-{n:012x}")
    }

    /// Sends a signed delivery with a fresh delivery id; returns (status, body).
    pub async fn deliver(&self, event: &str, payload: &Value) -> (u16, String) {
        let id = self.delivery_id();
        self.deliver_as(event, &id, payload).await
    }

    pub async fn deliver_as(&self, event: &str, delivery: &str, payload: &Value) -> (u16, String) {
        let body = serde_json::to_vec(payload).unwrap();
        let sig = sign_sha256(SECRET.as_bytes(), &body);
        self.post(event, delivery, Some(&sig), body).await
    }

    pub async fn post(
        &self,
        event: &str,
        delivery: &str,
        sig: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut req = self
            .process
            .http
            .post(self.url("/webhooks/github"))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .body(body);
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

impl World for GitHubWorld {
    type Write = Write;

    async fn start_with(prom: FakePrometheus) -> Self {
        let gh = FakeGitHub::start(REPO, BASE_SHA).await;
        Self::boot(gh, prom, &SqliteDb::new(), true).await
    }

    async fn start_with_pages(ui: UiSettings) -> Self {
        let gh = FakeGitHub::start(REPO, BASE_SHA).await;
        Self::boot_with(
            gh,
            FakePrometheus::start().await,
            &SqliteDb::new(),
            true,
            ui,
        )
        .await
    }

    fn base_url(&self, path: &str) -> String {
        self.url(path)
    }

    fn page_path(&self, n: u64) -> String {
        format!("/pr/github/{REPO}/{n}")
    }

    /// Stops this process (gracefully) and starts a new one on the same database, fake
    /// GitHub and clock; delivery ids go on where they were.
    async fn restart(mut self) -> Self {
        self.stop().await;
        let db = self.process.db.clone();
        let w = Self::boot(self.gh.clone(), self.prom.clone(), &db, true).await;
        self.process.hand_over_to(&w.process);
        w
    }

    async fn stop(&mut self) {
        self.process.stop().await;
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn sweeper(&self) -> smallbatch::app::App {
        super::sweeper::github_sweeper(self)
    }

    fn server_url(&self, path: &str) -> String {
        self.url(path)
    }

    fn prom(&self) -> &FakePrometheus {
        &self.prom
    }

    fn opened_hook(&self, n: u64) -> Webhook {
        Webhook {
            event: "pull_request",
            payload: self.payload("pull_request.opened", n),
        }
    }

    async fn send(&self, hook: &Webhook) -> (u16, String) {
        self.deliver(hook.event, &hook.payload).await
    }

    fn add(&self, n: u64, head: &str, files: Vec<FakeFile>) {
        self.open_pr(n, head, files);
    }

    async fn push(&self, n: u64, head: &str, files: Vec<FakeFile>) {
        self.update_pr(n, |pr| {
            pr.head_sha = head.into();
            pr.files = files;
        });
        let payload = self.payload("pull_request.synchronize", n);
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    async fn approve(&self, n: u64, user: &str) {
        self.review(n, user, "APPROVED");
        let payload = self.payload("pull_request_review.submitted", n);
        acknowledged(self.deliver("pull_request_review", &payload).await);
    }

    /// A maintainer dismisses `user`'s review.
    async fn withdraw_approval(&self, n: u64, user: &str) {
        self.update_pr(n, |pr| {
            for review in pr.reviews.iter_mut().filter(|r| r.user == user) {
                review.state = "DISMISSED";
            }
        });
        let payload = self.payload("pull_request_review.dismissed", n);
        acknowledged(self.deliver("pull_request_review", &payload).await);
    }

    async fn comment(&self, n: u64, id: u64, user: &str, body: &str) {
        let payload = self.comment_payload(n, id, user, body);
        acknowledged(self.deliver("issue_comment", &payload).await);
    }

    async fn merged_by_hand(&self, n: u64, title: &str, body: &str) {
        if !self.gh.state().prs.contains_key(&n) {
            self.open_pr(n, &super::sha(n as u32), super::fake_github::small_files());
        }
        self.update_pr(n, |pr| pr.state = "merged");
        let mut payload = self.payload("pull_request.closed", n);
        payload["pull_request"]["merged"] = true.into();
        payload["pull_request"]["title"] = title.into();
        payload["pull_request"]["body"] = body.into();
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    async fn deployed_to(&self, n: u64, environment: &str) {
        let (id, sha) = self.deployment_of(n, environment);
        self.report_deployment(id, "success");
        let payload = self.deployment_payload(id, &sha, environment, "success");
        acknowledged(self.deliver("deployment_status", &payload).await);
    }

    /// The Deployment smallbatch created to roll back to change `n`'s merge reports.
    async fn rollback_deployed(&self, n: u64, state: &str) {
        let (id, sha) = self.rollback_of(n);
        self.report_deployment(id, state);
        let payload = self.deployment_payload(id, &sha, "production", state);
        acknowledged(self.deliver("deployment_status", &payload).await);
    }

    fn deployed_unannounced(&self, n: u64) {
        let (id, _) = self.deployment_of(n, "production");
        self.report_deployment(id, "success");
    }

    fn rollback_deployed_unannounced(&self, n: u64, state: &str) {
        let (id, _) = self.rollback_of(n);
        self.report_deployment(id, state);
    }

    fn put_policy(&self, yaml: &str) {
        self.gh.put_file(BASE_SHA, ".github/smallbatch.yml", yaml);
    }

    fn policy_changed_on_main(&self, yaml: &str) {
        let commit = super::sha(0xba5e);
        self.gh.put_file(&commit, ".github/smallbatch.yml", yaml);
        self.gh.state().branches.insert("main".into(), commit);
    }

    fn put_codeowners(&self, text: &str) {
        self.gh.put_file(BASE_SHA, ".github/CODEOWNERS", text);
    }

    fn put_team(&self, handle: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.gh.state().teams.insert(handle.into(), members);
    }

    fn grant(&self, user: &str, role: Role) {
        let permission = match role {
            Role::Read => "read",
            Role::Write => "write",
            Role::Maintain => "maintain",
        };
        self.gh.state().roles.insert(user.into(), permission.into());
    }

    fn ci_passed(&self, head: &str) {
        self.gh.state().commit_checks.insert(
            head.into(),
            vec![("ci/test".into(), "completed".into(), Some("success".into()))],
        );
    }

    fn forget(&self, n: u64) {
        self.gh.state().prs.remove(&n);
    }

    fn add_on(&self, n: u64, head: &str, base: &str, files: Vec<FakeFile>) {
        self.open_pr(n, head, files);
        self.gh.state().prs.get_mut(&n).unwrap().base_ref = base.into();
    }

    fn set_author(&self, n: u64, login: &str) {
        self.update_pr(n, |pr| pr.author = login.into());
    }

    /// GitHub sends `edited` with the old base in `changes.base`.
    async fn retarget(&self, n: u64, base: &str, files: Vec<FakeFile>) {
        let mut from = (String::new(), String::new());
        self.update_pr(n, |pr| {
            from = (
                std::mem::replace(&mut pr.base_ref, base.into()),
                pr.base_sha.clone(),
            );
            pr.files = files;
        });
        let mut payload = self.payload("pull_request.opened", n);
        payload["action"] = "edited".into();
        payload["changes"] =
            serde_json::json!({"base": {"ref": {"from": from.0}, "sha": {"from": from.1}}});
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    async fn merged(&self, n: u64) {
        let sha = format!("{:040x}", 0xeeee_0000_u64 + n);
        self.update_pr(n, |pr| pr.state = "merged");
        self.gh.state().merge_shas.insert(n, sha.clone());
        let mut payload = self.payload("pull_request.closed", n);
        let pull = &mut payload["pull_request"];
        pull["state"] = "closed".into();
        pull["merged"] = true.into();
        pull["merged_at"] = "2026-11-27T11:00:00Z".into();
        pull["merge_commit_sha"] = sha.into();
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    async fn label(&self, n: u64, name: &str) {
        self.update_pr(n, |pr| pr.labels.push(name.into()));
        self.gh.state().repo_labels.insert(name.into());
        let mut payload = self.payload("pull_request.labeled", n);
        payload["label"]["name"] = name.into();
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    async fn set_draft(&self, n: u64, draft: bool) {
        self.update_pr(n, |pr| pr.draft = draft);
        let action = if draft {
            "converted_to_draft"
        } else {
            "ready_for_review"
        };
        let payload = self.payload(&format!("pull_request.{action}"), n);
        acknowledged(self.deliver("pull_request", &payload).await);
    }

    fn gate(&self, head: &str) -> (GateState, String) {
        let run = self.gh.latest_check(head);
        let state = match run.conclusion.as_str() {
            "success" => GateState::Passed,
            "action_required" => GateState::Waiting,
            "failure" => GateState::Failed,
            other => panic!("unexpected conclusion {other}"),
        };
        (state, run.title)
    }

    fn labels(&self, n: u64) -> Vec<String> {
        self.gh.state().prs[&n].labels.clone()
    }

    fn gate_summary(&self, head: &str) -> Option<String> {
        Some(self.gh.latest_check(head).summary)
    }

    async fn settle(&self) {
        self.process.settle(|| self.gh.state().calls.clone()).await;
    }

    fn advance_clock(&self, by: Duration) {
        self.process.advance_clock(by);
    }

    fn writes(&self) -> Vec<Write> {
        self.gh.take_writes()
    }

    fn take_calls(&self) -> Vec<String> {
        self.gh.take_calls()
    }

    /// Fails on any call the fake GitHub did not expect, and on writes no test looked at.
    fn assert_quiet(&self) {
        let s = self.gh.state();
        assert!(
            s.unexpected.is_empty(),
            "unexpected GitHub calls: {:#?}",
            s.unexpected
        );
        assert!(
            s.writes.is_empty(),
            "unasserted GitHub writes: {:#?}",
            s.writes
        );
    }

    /// The bot's comments on a PR, oldest first.
    fn bot_comments(&self, number: u64) -> Vec<String> {
        self.gh
            .state()
            .comments
            .iter()
            .filter(|c| c.1 == number && c.2 == fake_github::BOT_LOGIN)
            .map(|c| c.3.clone())
            .collect()
    }
}

/// The real adapter with retries shortened, so fault tests run quickly.
fn make_forge(settings: &GitHubSettings) -> Arc<dyn Forge> {
    let retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_total_wait: Duration::from_secs(3),
    };
    Arc::new(GitHubForge::with_retry_policy(smallbatch::app::github_app(settings), retry).unwrap())
}
