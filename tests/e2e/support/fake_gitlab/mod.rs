//! A stateful fake of the GitLab REST API v4 behind wiremock. It answers the calls the
//! adapter makes from in-memory state, shaped like GitLab's real answers
//! (`fixtures/gitlab/api/`), logs every write in order, and records any call it does
//! not know so that a test fails on it.
//!
//! wiremock hands over the path as sent, still percent-encoded: a project id
//! `acme/widgets` arrives as `acme%2Fwidgets`, so each segment is decoded after
//! splitting on `/`.
use super::fake_github::FakeFile;
use super::kill::{self, Kill, When};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod json;
mod merge_requests;
mod project;
mod routes;

use routes::route;

/// The access token's user: a project access token's bot account.
pub const BOT_USERNAME: &str = "project_42_bot_5f1c2a9e";

/// A write the bot made to GitLab, as a user would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    StatusPosted {
        sha: String,
        state: String,
        name: String,
        description: String,
    },
    NoteCreated {
        iid: u64,
        id: u64,
    },
    NoteEdited {
        id: u64,
    },
    LabelCreated {
        name: String,
        color: String,
    },
    LabelsChanged {
        iid: u64,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// An emoji awarded to a note (`eyes` acknowledges a command).
    Awarded {
        note: u64,
        name: String,
    },
    /// `PUT merge_requests/:iid/merge`, pinned to `head` (the `sha` parameter).
    Merged {
        iid: u64,
        head: String,
        squash: bool,
    },
    /// `PUT deployments/:id` that GitLab accepted.
    DeploymentUpdated {
        id: u64,
        status: String,
    },
    /// `POST jobs/:job_id/retry`: `job` runs again as `new_job`, which deploys again.
    JobRetried {
        job: u64,
        new_job: u64,
    },
    BranchCreated {
        name: String,
        from: String,
    },
    /// `POST repository/commits/:sha/revert` onto `branch`.
    CommitReverted {
        sha: String,
        branch: String,
    },
    MrOpened {
        iid: u64,
        source: String,
        target: String,
        title: String,
    },
}

/// The commit a merge of MR `iid` puts on the target branch.
pub fn merge_commit_sha(iid: u64) -> String {
    format!("{:040x}", 0xeeee_0000_u64 + iid)
}

/// A deployment as GitLab keeps it.
#[derive(Debug, Clone)]
pub struct FakeDeployment {
    pub sha: String,
    pub environment: String,
    /// `created`, `running`, `success`, `failed`, `canceled`, `blocked`.
    pub status: String,
    /// Created by a CI job (it has a deployable): the API may not update it.
    pub by_ci: bool,
    /// The CI job that deployed it (its `deployable`).
    pub job: Option<u64>,
}

/// A reviewer's state, as `merge_requests/:iid/reviewers` reports it (GitLab 17+).
#[derive(Debug, Clone)]
pub struct FakeReviewer {
    pub username: String,
    /// `unreviewed`, `review_started`, `reviewed`, `requested_changes`, `approved`,
    /// `unapproved`.
    pub state: &'static str,
}

#[derive(Debug, Clone)]
pub struct FakeMr {
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub author: String,
    pub draft: bool,
    /// `opened`, `closed`, `merged` or `locked`.
    pub state: &'static str,
    pub source_branch: String,
    pub target_branch: String,
    pub head_sha: String,
    pub base_sha: String,
    pub labels: Vec<String>,
    pub files: Vec<FakeFile>,
    /// Usernames in `approvals.approved_by`.
    pub approved_by: Vec<String>,
    pub reviewers: Vec<FakeReviewer>,
    /// Bumped on every change; drives `updated_at`.
    pub version: u64,
    /// What GitLab says of merging it now (`mergeable`, `not_approved`, `conflict`...).
    pub detailed_merge_status: &'static str,
    /// Set once merged.
    pub merge_commit_sha: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FakeNote {
    pub id: u64,
    pub iid: u64,
    pub author: String,
    pub body: String,
    pub system: bool,
}

/// One commit status, as posted.
#[derive(Debug, Clone)]
pub struct FakeStatus {
    pub id: u64,
    pub sha: String,
    pub name: String,
    pub state: String,
    pub description: String,
    pub target_url: Option<String>,
    pub git_ref: Option<String>,
    pub pipeline_id: Option<u64>,
}

#[derive(Default)]
pub struct State {
    /// The project's `path_with_namespace`.
    pub project: String,
    pub mrs: BTreeMap<u64, FakeMr>,
    /// Files by (ref, path).
    pub files: BTreeMap<(String, String), String>,
    /// Project labels: name → colour as GitLab shows it (`#rrggbb`).
    pub project_labels: BTreeMap<String, String>,
    /// Branch heads; a branch not listed is at `default_head`.
    pub branches: BTreeMap<String, String>,
    pub default_head: String,
    pub notes: Vec<FakeNote>,
    /// The bot's statuses and CI's alike, as `repository/commits/:sha/statuses` lists them.
    pub statuses: Vec<FakeStatus>,
    /// Access level per username (`members/all`); a user not listed is no member.
    pub members: BTreeMap<String, u32>,
    /// Groups by full path (`acme/reviewers`) and their members (`groups/:id/members/all`);
    /// any other path is no group (404).
    pub groups: BTreeMap<String, Vec<String>>,
    pub deployments: BTreeMap<u64, FakeDeployment>,
    /// Jobs GitLab refuses to run again (archived, or retries of deployment jobs are off).
    pub jobs_not_retryable: Vec<u64>,
    /// Awards as (note id, emoji name).
    pub awards: Vec<(u64, String)>,
    /// Reverts done, as (commit, branch).
    pub reverts: Vec<(String, String)>,
    pub writes: Vec<Write>,
    /// `METHOD /path?query` of every call, in order.
    pub calls: Vec<String>,
    pub unexpected: Vec<String>,
    /// Served, in order, instead of the next calls' real answers.
    pub faults: VecDeque<ResponseTemplate>,
    /// (call, answer): the next such call is carried out but answered with `answer`
    /// instead, as when GitLab fails after doing the work.
    pub lost_answers: Vec<(String, ResponseTemplate)>,
    /// The process dies at this call (see [`super::kill`]); `dead` from then on.
    pub kill: Option<Kill>,
    pub dead: bool,
    /// Every body each note had, in order: (note id, body) at creation and each edit.
    pub note_history: Vec<(u64, String)>,
    next_id: u64,
    template_mr: Value,
}

#[derive(Clone)]
pub struct FakeGitLab {
    pub server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl FakeGitLab {
    pub async fn start(project: &str, default_head: &str) -> Self {
        let server = MockServer::start().await;
        let template: Value = serde_json::from_str(include_str!(
            "../../../../fixtures/gitlab/api/get_merge_request.json"
        ))
        .unwrap();
        let state = Arc::new(Mutex::new(State {
            project: project.into(),
            default_head: default_head.into(),
            next_id: 5000,
            template_mr: template,
            ..Default::default()
        }));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn take_writes(&self) -> Vec<Write> {
        std::mem::take(&mut self.state().writes)
    }

    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.state().calls)
    }

    pub fn note_body(&self, id: u64) -> String {
        let s = self.state();
        s.notes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.body.clone())
            .expect("note exists")
    }

    /// The newest `smallbatch` status on `sha`.
    pub fn latest_status(&self, sha: &str) -> FakeStatus {
        let s = self.state();
        s.statuses
            .iter()
            .rev()
            .find(|st| st.sha == sha)
            .cloned()
            .expect("status exists")
    }

    /// A CI job's status on `sha` (`success`, `failed`, `running`...); not a bot write.
    pub fn ci_status(&self, sha: &str, name: &str, state: &str) {
        let mut s = self.state();
        s.next_id += 1;
        let status = FakeStatus {
            id: s.next_id,
            sha: sha.into(),
            name: name.into(),
            state: state.into(),
            description: String::new(),
            target_url: None,
            git_ref: None,
            pipeline_id: None,
        };
        s.statuses.push(status);
    }

    /// A note posted by `author` (a human), or its edit.
    pub fn put_note(&self, iid: u64, id: u64, author: &str, body: &str) {
        let mut s = self.state();
        match s.notes.iter_mut().find(|n| n.id == id) {
            Some(note) => note.body = body.into(),
            None => s.notes.push(FakeNote {
                id,
                iid,
                author: author.into(),
                body: body.into(),
                system: false,
            }),
        }
    }

    /// The bot's notes on MR `iid`, oldest first.
    pub fn bot_notes(&self, iid: u64) -> Vec<String> {
        self.state()
            .notes
            .iter()
            .filter(|n| n.iid == iid && n.author == BOT_USERNAME)
            .map(|n| n.body.clone())
            .collect()
    }

    pub fn put_file(&self, git_ref: &str, path: &str, text: &str) {
        self.state()
            .files
            .insert((git_ref.into(), path.into()), text.into());
    }
}

/// A per-file unified diff as GitLab's `diffs` endpoint sends it (no `diff --git`
/// header), whose `+`/`-` lines number exactly the file's additions and deletions.
pub fn unified_diff(file: &FakeFile) -> String {
    if file.binary {
        return format!(
            "Binary files a/{} and b/{} differ\n",
            file.previous.as_deref().unwrap_or(&file.path),
            file.path
        );
    }
    let (adds, dels) = (file.additions, file.deletions);
    if adds == 0 && dels == 0 {
        return String::new();
    }
    let mut out = match file.status {
        "added" => format!("@@ -0,0 +1,{adds} @@\n"),
        "removed" => format!("@@ -1,{dels} +0,0 @@\n"),
        // One line of context either side, as `git diff -U1` would show.
        _ => format!("@@ -1,{} +1,{} @@ fn context() {{\n", dels + 2, adds + 2),
    };
    let context = !matches!(file.status, "added" | "removed");
    if context {
        out.push_str(" // before\n");
    }
    for i in 1..=dels {
        out.push_str(&format!("-let old_{i} = {i};\n"));
    }
    for i in 1..=adds {
        out.push_str(&format!("+let new_{i} = {i};\n"));
    }
    if context {
        out.push_str(" // after\n");
    }
    out
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let call = match req.url.query() {
            Some(q) => format!("{} {}?{q}", req.method, req.url.path()),
            None => format!("{} {}", req.method, req.url.path()),
        };
        s.calls.push(call.clone());
        if s.dead {
            return kill::gone();
        }
        let dies = s.kill.as_mut().and_then(|k| k.strikes(&call));
        if dies == Some(When::Before) {
            s.dead = true;
            return kill::gone();
        }
        if let Some(fault) = s.faults.pop_front() {
            return fault;
        }
        if req.headers.get("private-token").is_none() {
            s.unexpected.push(format!("{call} (no PRIVATE-TOKEN)"));
            return message(401, "401 Unauthorized");
        }
        let routed = route(&mut s, req);
        if dies == Some(When::After) {
            s.dead = true;
            return kill::gone();
        }
        if let Some(at) = s.lost_answers.iter().position(|(c, _)| *c == call) {
            return s.lost_answers.remove(at).1;
        }
        match routed {
            Some(resp) => resp,
            None => {
                s.unexpected.push(call);
                message(404, "404 Not found")
            }
        }
    }
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": text }))
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

/// `%2F` → `/` and so on; a malformed escape is kept as is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Comma-separated label names, as `add_labels`/`remove_labels` take them.
fn label_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|l| l.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}
