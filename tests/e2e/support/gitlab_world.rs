//! The GitLab half of the end-to-end DSL: a real smallbatch process (router + worker +
//! store) wired to a fake GitLab, driven with token-checked webhooks built from real
//! fixtures.
use super::fake_github::FakeFile;
use super::fake_gitlab::{
    merge_commit_sha, FakeDeployment, FakeGitLab, FakeMr, FakeReviewer, Write,
};
use super::fake_prometheus::FakePrometheus;
use super::in_process::{self, InProcess, SqliteDb};
use super::world::{acknowledged, GateState, Role, Webhook, World};
use serde_json::{json, Value};
use smallbatch::app::Forges;
use smallbatch::forge::gitlab::{GitLabForge, RetryPolicy};
use smallbatch::forge::Forge;
use smallbatch::settings::{GitLabSettings, Settings, UiSettings};
use smallbatch::ship::telemetry::Prometheus;
use smallbatch::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// A project in a subgroup, so that the URL-encoded project id has two `%2F`.
pub const PROJECT: &str = "acme/tools/widgets";
pub const TOKEN: &str = "glpat-e2e-0123456789abcdef";
/// The webhook secret GitLab sends as `X-Gitlab-Token`.
pub const SECRET: &str = "gitlab-webhook-secret";
/// A second accepted secret, as during a rotation.
pub const NEXT_SECRET: &str = "gitlab-webhook-secret-2027";
pub const BASE_SHA: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
pub const MERGE_REQUEST_HOOK: &str = "Merge Request Hook";
pub const NOTE_HOOK: &str = "Note Hook";
pub const DEPLOYMENT_HOOK: &str = "Deployment Hook";
/// GitLab's access levels.
pub const REPORTER: u32 = 20;
pub const DEVELOPER: u32 = 30;
pub const MAINTAINER: u32 = 40;
/// The id GitLab gives the production deployment of change 7's merge; change `n`'s
/// is [`deployment_of`].
pub const DEPLOYMENT: u64 = 321;

/// A label as GitLab's hooks embed one (the shape of the fixture's).
fn label_json(title: &str) -> Value {
    let mut label = gitlab_fixture("merge_request")["labels"][0].clone();
    label["id"] = json!(title
        .bytes()
        .fold(200_u64, |h, b| h * 31 % 100_003 + u64::from(b)));
    label["title"] = json!(title);
    label["description"] = Value::Null;
    label
}

/// The id of the production deployment of change `n`'s merge.
pub fn deployment_of(n: u64) -> u64 {
    DEPLOYMENT + n.saturating_sub(7)
}

/// The CI job behind a CI deployment.
pub fn job_of(deployment: u64) -> u64 {
    deployment + 9000
}

pub fn gitlab_fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/gitlab/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

pub struct GitLabWorld {
    pub gl: FakeGitLab,
    pub prom: FakePrometheus,
    pub store: Store,
    process: InProcess,
}

fn settings(db: &SqliteDb, gl: &FakeGitLab) -> Settings {
    Settings {
        gitlab: Some(GitLabSettings {
            url: gl.uri().parse().unwrap(),
            token: TOKEN.into(),
            webhook_secrets: vec![SECRET.into(), NEXT_SECRET.into()],
        }),
        ..in_process::settings(db)
    }
}

/// The real adapter with retries shortened, so fault tests run quickly.
fn make_forge(settings: &GitLabSettings) -> Arc<dyn Forge> {
    let retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_total_wait: Duration::from_secs(3),
    };
    Arc::new(GitLabForge::with_retry_policy(smallbatch::app::gitlab_app(settings), retry).unwrap())
}

impl GitLabWorld {
    async fn boot(gl: FakeGitLab, prom: FakePrometheus, db: &SqliteDb) -> Self {
        Self::boot_with(gl, prom, db, UiSettings::default()).await
    }

    async fn boot_with(
        gl: FakeGitLab,
        prom: FakePrometheus,
        db: &SqliteDb,
        ui: UiSettings,
    ) -> Self {
        let settings = Settings {
            ui,
            ..settings(db, &gl)
        };
        let forges = Forges {
            prometheus: Some(Prometheus::new(prom.uri().parse().unwrap()).unwrap()),
            github: None,
            gitlab: Some(make_forge(settings.gitlab.as_ref().unwrap())),
        };
        let process = InProcess::boot(db, &settings, forges, true).await;
        Self {
            gl,
            prom,
            store: process.store.clone(),
            process,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// Adds an open merge request by `alice` to the fake GitLab.
    pub fn open_mr(&self, iid: u64, head: &str, files: Vec<FakeFile>) -> FakeMr {
        let mr = FakeMr {
            iid,
            title: "Add invoice export".into(),
            description: String::new(),
            author: "alice".into(),
            draft: false,
            state: "opened",
            source_branch: format!("feature-{iid}"),
            target_branch: "main".into(),
            head_sha: head.into(),
            base_sha: BASE_SHA.into(),
            labels: vec![],
            files,
            approved_by: vec![],
            reviewers: vec![],
            version: 1,
            detailed_merge_status: "mergeable",
            merge_commit_sha: None,
        };
        self.gl.state().mrs.insert(iid, mr.clone());
        mr
    }

    pub fn update_mr(&self, iid: u64, f: impl FnOnce(&mut FakeMr)) {
        let mut s = self.gl.state();
        let mr = s.mrs.get_mut(&iid).unwrap();
        f(mr);
        mr.version += 1;
    }

    pub fn reviewer(&self, iid: u64, user: &str, state: &'static str) {
        self.update_mr(iid, |mr| {
            mr.reviewers.retain(|r| r.username != user);
            mr.reviewers.push(FakeReviewer {
                username: user.into(),
                state,
            });
        });
    }

    /// The real `merge_request.json` hook for `action`, pointed at our project and MR
    /// and its current head.
    pub fn mr_hook(&self, action: &str, iid: u64) -> Value {
        let mut v = gitlab_fixture("merge_request");
        let web_url = format!("https://gitlab.example.com/{PROJECT}");
        let project = &mut v["project"];
        project["path_with_namespace"] = json!(PROJECT);
        project["web_url"] = json!(web_url);
        project["namespace"] = json!("tools");
        project["name"] = json!("widgets");
        let s = self.gl.state();
        let mr = s.mrs.get(&iid).expect("the MR exists in the fake");
        let attrs = &mut v["object_attributes"];
        attrs["iid"] = json!(iid);
        attrs["action"] = json!(action);
        attrs["title"] = json!(mr.title);
        attrs["source_branch"] = json!(mr.source_branch);
        attrs["target_branch"] = json!(mr.target_branch);
        attrs["last_commit"]["id"] = json!(mr.head_sha);
        attrs["url"] = json!(format!("{web_url}/-/merge_requests/{iid}"));
        attrs["state"] = json!(mr.state);
        attrs["draft"] = json!(mr.draft);
        attrs["work_in_progress"] = json!(mr.draft);
        let labels = json!(mr.labels.iter().map(|l| label_json(l)).collect::<Vec<_>>());
        attrs["labels"] = labels.clone();
        v["labels"] = labels;
        // Only an `open` carries the fixture's label change.
        v["changes"] = json!({});
        v
    }

    /// The `update` GitLab sends when `changes` (`{field: {previous, current}}`) were made.
    fn update_hook(&self, iid: u64, mut changes: Value) -> Value {
        let mut v = self.mr_hook("update", iid);
        changes["updated_at"] =
            json!({"previous": "2026-11-27 10:00:01 UTC", "current": "2026-11-27 10:05:00 UTC"});
        v["changes"] = changes;
        v
    }

    /// The `update` GitLab sends for a push: `oldrev` is the head it replaced.
    pub fn push_hook(&self, iid: u64, oldrev: &str) -> Value {
        let mut v = self.mr_hook("update", iid);
        v["object_attributes"]["oldrev"] = json!(oldrev);
        v["changes"] = json!({
            "updated_at": {"previous": "2026-11-27 10:00:01 UTC", "current": "2026-11-27 10:05:00 UTC"}
        });
        v
    }

    /// Points a hook's `project` at ours.
    fn set_project(v: &mut Value) {
        let web_url = format!("https://gitlab.example.com/{PROJECT}");
        let project = &mut v["project"];
        project["id"] = json!(42);
        project["path_with_namespace"] = json!(PROJECT);
        project["web_url"] = json!(web_url);
        project["namespace"] = json!("tools");
        project["name"] = json!("widgets");
    }

    /// The real `note_merge_request.json` Note Hook: `username` commented `body` as
    /// note `note_id` on MR `iid` (as it is now).
    pub fn note_hook(&self, iid: u64, note_id: u64, username: &str, body: &str) -> Value {
        let mut v = gitlab_fixture("note_merge_request");
        Self::set_project(&mut v);
        v["project_id"] = json!(42);
        let web_url = format!("https://gitlab.example.com/{PROJECT}");
        v["user"]["username"] = json!(username);
        v["user"]["name"] = json!(username);
        v["user"]["email"] = json!(format!("{username}@example.com"));
        let attrs = &mut v["object_attributes"];
        attrs["id"] = json!(note_id);
        attrs["note"] = json!(body);
        attrs["project_id"] = json!(42);
        attrs["noteable_id"] = json!(100_000 + iid);
        attrs["url"] = json!(format!("{web_url}/-/merge_requests/{iid}#note_{note_id}"));
        let s = self.gl.state();
        let mr = s.mrs.get(&iid).expect("the MR exists in the fake");
        let m = &mut v["merge_request"];
        m["id"] = json!(100_000 + iid);
        m["iid"] = json!(iid);
        m["title"] = json!(mr.title);
        m["source_branch"] = json!(mr.source_branch);
        m["target_branch"] = json!(mr.target_branch);
        m["source_project_id"] = json!(42);
        m["target_project_id"] = json!(42);
        m["state"] = json!(mr.state);
        m["last_commit"]["id"] = json!(mr.head_sha);
        m["detailed_merge_status"] = json!(mr.detailed_merge_status);
        v
    }

    /// The real `deployment.json` Deployment Hook: deployment `deployment_id` of `sha`
    /// to `environment` is now `status`. The fake GitLab learns of the deployment too,
    /// as made by a CI job (the fixture's `deployable_id`), so the API may not update it.
    /// The deployment of the job smallbatch ran again to roll back to change `n`'s merge.
    fn rollback_of(&self, n: u64) -> u64 {
        let merged = merge_commit_sha(n);
        let s = self.gl.state();
        let (id, _) = s
            .deployments
            .iter()
            .rev()
            .find(|(id, d)| d.sha == merged && **id != deployment_of(n))
            .expect("a deployment of the job run again");
        *id
    }

    pub fn deployment_hook(
        &self,
        sha: &str,
        environment: &str,
        status: &str,
        deployment_id: u64,
    ) -> Value {
        let mut v = gitlab_fixture("deployment");
        Self::set_project(&mut v);
        let web_url = format!("https://gitlab.example.com/{PROJECT}");
        v["status"] = json!(status);
        v["deployment_id"] = json!(deployment_id);
        v["environment"] = json!(environment);
        v["environment_slug"] = json!(environment);
        v["environment_external_url"] = json!(format!("https://{environment}.example.com"));
        v["short_sha"] = json!(&sha[..8]);
        v["commit_url"] = json!(format!("{web_url}/-/commit/{sha}"));
        v["ref"] = json!("main");
        self.gl
            .state()
            .deployments
            .entry(deployment_id)
            .or_insert_with(|| FakeDeployment {
                sha: sha.into(),
                environment: environment.into(),
                status: status.into(),
                by_ci: true,
                job: Some(job_of(deployment_id)),
            })
            .status = status.into();
        v
    }

    fn delivery_id(&self) -> String {
        let n = self.process.next_delivery();
        format!("9a3c1f2e-5b7d-4e10-8f2a-{n:012x}")
    }

    /// Delivers `payload` as GitLab does: the right token, a fresh `Idempotency-Key`
    /// and event UUID. Returns (status, body).
    pub async fn deliver(&self, event: &str, payload: &Value) -> (u16, String) {
        let id = self.delivery_id();
        let body = serde_json::to_vec(payload).unwrap();
        self.post(
            event,
            &[
                ("x-gitlab-token", SECRET),
                ("idempotency-key", &id),
                ("x-gitlab-event-uuid", &id),
            ],
            body,
        )
        .await
    }

    /// Posts to `/webhooks/gitlab` with `event` and exactly `headers`, besides the ones
    /// every GitLab delivery carries.
    pub async fn post(
        &self,
        event: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut req = self
            .process
            .http
            .post(self.url("/webhooks/gitlab"))
            .header("content-type", "application/json")
            .header("user-agent", "GitLab/17.6.0")
            .header("x-gitlab-instance", "https://gitlab.example.com")
            .header(
                "x-gitlab-webhook-uuid",
                "5f4d8b2e-1c3a-4b6d-9e8f-0a1b2c3d4e5f",
            )
            .header("x-gitlab-event", event)
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

impl World for GitLabWorld {
    type Write = Write;

    async fn start_with(prom: FakePrometheus) -> Self {
        let gl = FakeGitLab::start(PROJECT, BASE_SHA).await;
        Self::boot(gl, prom, &SqliteDb::new()).await
    }

    async fn start_with_pages(ui: UiSettings) -> Self {
        let gl = FakeGitLab::start(PROJECT, BASE_SHA).await;
        Self::boot_with(gl, FakePrometheus::start().await, &SqliteDb::new(), ui).await
    }

    fn base_url(&self, path: &str) -> String {
        self.url(path)
    }

    fn page_path(&self, n: u64) -> String {
        format!("/pr/gitlab/{PROJECT}/{n}")
    }

    /// Stops this process (gracefully) and starts a new one on the same database, fake
    /// GitLab and clock; webhook ids go on where they were.
    async fn restart(mut self) -> Self {
        self.stop().await;
        let db = self.process.db.clone();
        let w = Self::boot(self.gl.clone(), self.prom.clone(), &db).await;
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
        super::sweeper::gitlab_sweeper(self, self.store.clone())
    }

    fn server_url(&self, path: &str) -> String {
        self.url(path)
    }

    fn prom(&self) -> &FakePrometheus {
        &self.prom
    }

    fn opened_hook(&self, n: u64) -> Webhook {
        Webhook {
            event: MERGE_REQUEST_HOOK,
            payload: self.mr_hook("open", n),
        }
    }

    async fn send(&self, hook: &Webhook) -> (u16, String) {
        self.deliver(hook.event, &hook.payload).await
    }

    fn add(&self, n: u64, head: &str, files: Vec<FakeFile>) {
        self.open_mr(n, head, files);
    }

    /// A push reaches us as an `update` naming the head it replaced.
    async fn push(&self, n: u64, head: &str, files: Vec<FakeFile>) {
        let mut old = String::new();
        self.update_mr(n, |mr| {
            old = std::mem::replace(&mut mr.head_sha, head.into());
            mr.files = files;
        });
        acknowledged(
            self.deliver(MERGE_REQUEST_HOOK, &self.push_hook(n, &old))
                .await,
        );
    }

    async fn approve(&self, n: u64, user: &str) {
        self.update_mr(n, |mr| mr.approved_by.push(user.into()));
        acknowledged(
            self.deliver(MERGE_REQUEST_HOOK, &self.mr_hook("approved", n))
                .await,
        );
    }

    /// `user` takes their approval back.
    async fn withdraw_approval(&self, n: u64, user: &str) {
        self.update_mr(n, |mr| mr.approved_by.retain(|u| u != user));
        let hook = self.mr_hook("unapproved", n);
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    async fn comment(&self, n: u64, id: u64, user: &str, body: &str) {
        self.gl.put_note(n, id, user, body);
        let hook = self.note_hook(n, id, user, body);
        acknowledged(self.deliver(NOTE_HOOK, &hook).await);
    }

    async fn merged_by_hand(&self, n: u64, title: &str, body: &str) {
        if !self.gl.state().mrs.contains_key(&n) {
            self.open_mr(n, &super::sha(n as u32), super::fake_github::small_files());
        }
        self.update_mr(n, |mr| {
            mr.state = "merged";
            mr.title = title.into();
            mr.description = body.into();
        });
        let mut hook = self.mr_hook("merge", n);
        hook["object_attributes"]["description"] = json!(body);
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    /// A deployment made through the API (not kept by a CI job), so smallbatch may mark
    /// it failed.
    async fn deployed_to(&self, n: u64, environment: &str) {
        let merged = merge_commit_sha(n);
        // Production's is the change's own id; any other environment's comes well after.
        let id = match environment {
            "production" => deployment_of(n),
            _ => DEPLOYMENT + 1000 + self.gl.state().deployments.len() as u64,
        };
        let hook = self.deployment_hook(&merged, environment, "success", id);
        {
            let mut s = self.gl.state();
            let deployment = s.deployments.get_mut(&id).unwrap();
            deployment.by_ci = false;
            deployment.job = None;
        }
        acknowledged(self.deliver(DEPLOYMENT_HOOK, &hook).await);
    }

    /// A deployment by the target branch's CD job: the API may not change it, and a
    /// rollback runs its job again.
    async fn ci_deployed(&self, n: u64) {
        let hook = self.deployment_hook(
            &merge_commit_sha(n),
            "production",
            "success",
            deployment_of(n),
        );
        acknowledged(self.deliver(DEPLOYMENT_HOOK, &hook).await);
    }

    /// The deployment of the job smallbatch ran again to roll back to change `n`'s merge.
    async fn rollback_deployed(&self, n: u64, state: &str) {
        let id = self.rollback_of(n);
        let hook = self.deployment_hook(&merge_commit_sha(n), "production", state, id);
        acknowledged(self.deliver(DEPLOYMENT_HOOK, &hook).await);
    }

    fn deployed_unannounced(&self, n: u64) {
        // The hook is built, which records the deployment, and never sent.
        self.deployment_hook(
            &merge_commit_sha(n),
            "production",
            "success",
            deployment_of(n),
        );
    }

    fn rollback_deployed_unannounced(&self, n: u64, state: &str) {
        let id = self.rollback_of(n);
        self.deployment_hook(&merge_commit_sha(n), "production", state, id);
    }

    fn put_policy(&self, yaml: &str) {
        self.gl.put_file(BASE_SHA, ".gitlab/smallbatch.yml", yaml);
    }

    fn policy_changed_on_main(&self, yaml: &str) {
        let commit = super::sha(0xba5e);
        self.gl.put_file(&commit, ".gitlab/smallbatch.yml", yaml);
        self.gl.state().branches.insert("main".into(), commit);
    }

    fn put_codeowners(&self, text: &str) {
        self.gl.put_file(BASE_SHA, ".gitlab/CODEOWNERS", text);
    }

    fn put_team(&self, handle: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.gl.state().groups.insert(handle.into(), members);
    }

    fn grant(&self, user: &str, role: Role) {
        let level = match role {
            Role::Read => REPORTER,
            Role::Write => DEVELOPER,
            Role::Maintain => MAINTAINER,
        };
        self.gl.state().members.insert(user.into(), level);
    }

    fn ci_passed(&self, head: &str) {
        self.gl.ci_status(head, "test", "success");
    }

    fn forget(&self, n: u64) {
        self.gl.state().mrs.remove(&n);
    }

    fn add_on(&self, n: u64, head: &str, base: &str, files: Vec<FakeFile>) {
        self.open_mr(n, head, files);
        self.gl.state().mrs.get_mut(&n).unwrap().target_branch = base.into();
    }

    fn set_author(&self, n: u64, login: &str) {
        self.update_mr(n, |mr| mr.author = login.into());
    }

    /// GitLab sends an `update` naming the old and new target branch.
    async fn retarget(&self, n: u64, base: &str, files: Vec<FakeFile>) {
        let mut previous = String::new();
        self.update_mr(n, |mr| {
            previous = std::mem::replace(&mut mr.target_branch, base.into());
            mr.files = files;
        });
        let hook = self.update_hook(
            n,
            json!({"target_branch": {"previous": previous, "current": base}}),
        );
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    async fn merged(&self, n: u64) {
        self.update_mr(n, |mr| {
            mr.state = "merged";
            mr.detailed_merge_status = "not_open";
            mr.merge_commit_sha = Some(merge_commit_sha(n));
        });
        let hook = self.mr_hook("merge", n);
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    async fn label(&self, n: u64, name: &str) {
        let mut before = Vec::new();
        self.gl
            .state()
            .project_labels
            .entry(name.into())
            .or_insert_with(|| "#6699cc".into());
        self.update_mr(n, |mr| {
            before = mr.labels.clone();
            mr.labels.push(name.into());
        });
        let titles = |names: &[String]| names.iter().map(|l| label_json(l)).collect::<Vec<_>>();
        let after = self.gl.state().mrs[&n].labels.clone();
        let hook = self.update_hook(
            n,
            json!({"labels": {"previous": titles(&before), "current": titles(&after)}}),
        );
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    /// GitLab marks a draft by its title's `Draft:` prefix, and says both changed.
    async fn set_draft(&self, n: u64, draft: bool) {
        let mut titles = (String::new(), String::new());
        self.update_mr(n, |mr| {
            mr.draft = draft;
            let plain = mr.title.trim_start_matches("Draft: ").to_owned();
            let title = if draft {
                format!("Draft: {plain}")
            } else {
                plain
            };
            titles = (std::mem::replace(&mut mr.title, title.clone()), title);
        });
        let hook = self.update_hook(
            n,
            json!({
                "draft": {"previous": !draft, "current": draft},
                "title": {"previous": titles.0, "current": titles.1},
            }),
        );
        acknowledged(self.deliver(MERGE_REQUEST_HOOK, &hook).await);
    }

    fn gate(&self, head: &str) -> (GateState, String) {
        let s = self.gl.state();
        let status = s
            .statuses
            .iter()
            .rev()
            .find(|st| st.sha == head && st.name == "smallbatch")
            .expect("a smallbatch status on the head");
        let state = match status.state.as_str() {
            "success" => GateState::Passed,
            "pending" => GateState::Waiting,
            "failed" => GateState::Failed,
            other => panic!("unexpected status {other}"),
        };
        (state, status.description.clone())
    }

    fn labels(&self, n: u64) -> Vec<String> {
        self.gl.state().mrs[&n].labels.clone()
    }

    fn gate_summary(&self, _: &str) -> Option<String> {
        None
    }

    async fn settle(&self) {
        self.process.settle(|| self.gl.state().calls.clone()).await;
    }

    fn advance_clock(&self, by: Duration) {
        self.process.advance_clock(by);
    }

    fn writes(&self) -> Vec<Write> {
        self.gl.take_writes()
    }

    fn take_calls(&self) -> Vec<String> {
        self.gl.take_calls()
    }

    /// Fails on any call the fake GitLab did not expect, and on writes no test looked at.
    fn assert_quiet(&self) {
        let s = self.gl.state();
        assert!(
            s.unexpected.is_empty(),
            "unexpected GitLab calls: {:#?}",
            s.unexpected
        );
        assert!(
            s.writes.is_empty(),
            "unasserted GitLab writes: {:#?}",
            s.writes
        );
    }

    fn bot_comments(&self, n: u64) -> Vec<String> {
        self.gl.bot_notes(n)
    }
}
