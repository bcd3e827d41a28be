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
    pub deployments: BTreeMap<u64, FakeDeployment>,
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
            "../../../fixtures/gitlab/api/get_merge_request.json"
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

fn route(s: &mut State, req: &Request) -> Option<ResponseTemplate> {
    let method = req.method.as_str();
    let segs: Vec<String> = req
        .url
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let ["api", "v4", rest @ ..] = segs.as_slice() else {
        return None;
    };
    if method == "GET" && rest == ["user"] {
        return Some(ResponseTemplate::new(200).set_body_json(user_json()));
    }
    if method == "GET" && rest == ["users"] {
        // Every username is a user of the instance; membership is what varies.
        let list: Vec<Value> = query(req, "username")
            .into_iter()
            .map(|u| account_json(&u))
            .collect();
        return Some(ResponseTemplate::new(200).set_body_json(list));
    }
    let ["projects", project, rest @ ..] = rest else {
        return None;
    };
    if *project != s.project {
        return Some(message(404, "404 Project Not Found"));
    }
    // A deleted MR, or one of another project: 404 on the MR and everything under it.
    if let ["merge_requests", iid, ..] = rest {
        if iid.parse().is_ok_and(|iid: u64| !s.mrs.contains_key(&iid)) {
            return Some(message(404, "404 Not found"));
        }
    }
    match (method, rest) {
        ("GET", ["merge_requests"]) => {
            let state = query(req, "state");
            let target = query(req, "target_branch");
            let source = query(req, "source_branch");
            let list: Vec<Value> = s
                .mrs
                .values()
                .filter(|m| state.as_deref().is_none_or(|st| st == m.state))
                .filter(|m| target.as_deref().is_none_or(|t| t == m.target_branch))
                .filter(|m| source.as_deref().is_none_or(|b| b == m.source_branch))
                .map(|m| mr_json(s, m))
                .collect();
            Some(page_of(list, 1, 100))
        }
        ("GET", ["merge_requests", iid]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        ("PUT", ["merge_requests", iid]) => {
            let iid: u64 = iid.parse().ok()?;
            let b = body(req);
            let (add, remove) = (
                label_list(&b["add_labels"]),
                label_list(&b["remove_labels"]),
            );
            let fields: Vec<&String> = b.as_object()?.keys().collect();
            if add.is_empty() && remove.is_empty()
                || fields
                    .iter()
                    .any(|f| !matches!(f.as_str(), "add_labels" | "remove_labels"))
            {
                return None;
            }
            if let Some(missing) = add.iter().find(|l| !s.project_labels.contains_key(*l)) {
                // GitLab would create it silently, grey and without a description.
                s.unexpected.push(format!(
                    "PUT merge_requests/{iid}: add_labels {missing} before creating it"
                ));
            }
            let mr = s.mrs.get_mut(&iid)?;
            mr.labels.retain(|l| !remove.contains(l));
            for l in &add {
                if !mr.labels.contains(l) {
                    mr.labels.push(l.clone());
                }
            }
            mr.version += 1;
            s.writes.push(Write::LabelsChanged { iid, add, remove });
            let mr = s.mrs.get(&iid)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        ("GET", ["merge_requests", iid, "diffs"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let page = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per = query(req, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(20);
            let entries = mr.files.iter().map(diff_json).collect();
            Some(page_of(entries, page, per))
        }
        ("GET", ["merge_requests", iid, "approvals"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            Some(ResponseTemplate::new(200).set_body_json(approvals_json(s, mr)))
        }
        ("GET", ["merge_requests", iid, "reviewers"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let list: Vec<Value> = mr
                .reviewers
                .iter()
                .map(|r| {
                    json!({
                        "user": account_json(&r.username),
                        "state": r.state,
                        "created_at": "2026-11-27T09:00:00.000Z",
                    })
                })
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("GET", ["merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().ok()?;
            let mut notes: Vec<&FakeNote> = s.notes.iter().filter(|n| n.iid == iid).collect();
            // GitLab's default order is newest first.
            if query(req, "sort").as_deref() != Some("asc") {
                notes.reverse();
            }
            let list = notes.iter().map(|n| note_json(s, n)).collect();
            let page = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per = query(req, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(20);
            Some(page_of(list, page, per))
        }
        ("POST", ["merge_requests", iid, "notes"]) => {
            let iid: u64 = iid.parse().ok()?;
            s.mrs.get(&iid)?;
            let text = body(req)["body"].as_str()?.to_string();
            s.next_id += 1;
            let note = FakeNote {
                id: s.next_id,
                iid,
                author: BOT_USERNAME.into(),
                body: text,
                system: false,
            };
            s.writes.push(Write::NoteCreated { iid, id: note.id });
            s.note_history.push((note.id, note.body.clone()));
            let answer = note_json(s, &note);
            s.notes.push(note);
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        ("PUT", ["merge_requests", iid, "notes", id]) => {
            let iid: u64 = iid.parse().ok()?;
            let id: u64 = id.parse().ok()?;
            let text = body(req)["body"].as_str()?.to_string();
            let Some(note) = s.notes.iter_mut().find(|n| n.id == id && n.iid == iid) else {
                return Some(message(404, "404 Note Not Found"));
            };
            note.body = text;
            let note = note.clone();
            s.note_history.push((id, note.body.clone()));
            s.writes.push(Write::NoteEdited { id });
            Some(ResponseTemplate::new(200).set_body_json(note_json(s, &note)))
        }
        ("GET", ["repository", "files", path, "raw"]) => {
            let git_ref = query(req, "ref").unwrap_or_default();
            match s.files.get(&(git_ref, (*path).to_string())) {
                Some(text) => Some(
                    ResponseTemplate::new(200)
                        .insert_header("content-type", "text/plain; charset=utf-8")
                        .set_body_string(text.clone()),
                ),
                None => Some(message(404, "404 File Not Found")),
            }
        }
        ("GET", ["repository", "branches", branch]) => {
            let sha = s
                .branches
                .get(*branch)
                .cloned()
                .unwrap_or_else(|| s.default_head.clone());
            Some(ResponseTemplate::new(200).set_body_json(branch_json(s, branch, &sha)))
        }
        ("POST", ["statuses", sha]) => {
            let b = body(req);
            let state = b["state"].as_str()?.to_string();
            let name = b["name"].as_str().unwrap_or("default").to_string();
            // GitLab refuses to move a running status to the state it is in.
            let current = s
                .statuses
                .iter()
                .rev()
                .find(|st| st.sha == *sha && st.name == name);
            if let Some(current) = current {
                if current.state == state && matches!(state.as_str(), "pending" | "running") {
                    let event = if state == "pending" { "enqueue" } else { "run" };
                    return Some(message(
                        400,
                        &format!("Cannot transition status via :{event} from :{state}"),
                    ));
                }
            }
            s.next_id += 1;
            let status = FakeStatus {
                id: s.next_id,
                sha: (*sha).to_string(),
                name,
                state,
                description: b["description"].as_str().unwrap_or("").into(),
                target_url: b["target_url"].as_str().map(String::from),
                git_ref: b["ref"].as_str().map(String::from),
                pipeline_id: b["pipeline_id"].as_u64(),
            };
            s.writes.push(Write::StatusPosted {
                sha: status.sha.clone(),
                state: status.state.clone(),
                name: status.name.clone(),
                description: status.description.clone(),
            });
            let answer = status_json(&status);
            s.statuses.push(status);
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        (_, ["members", ..] | ["deployments", ..] | ["repository", "commits", ..])
        | ("POST", ["merge_requests"] | ["repository", "branches"])
        | (
            _,
            ["merge_requests", _, "merge" | "commits"]
            | ["merge_requests", _, "notes", _, "award_emoji"],
        ) => ship_route(s, req, method, rest),
        ("POST", ["labels"]) => {
            let b = body(req);
            let name = b["name"].as_str()?.to_string();
            let color = b["color"].as_str()?.to_string();
            if s.project_labels.contains_key(&name) {
                return Some(message(409, "Label already exists"));
            }
            s.project_labels.insert(name.clone(), color.clone());
            s.writes.push(Write::LabelCreated {
                name: name.clone(),
                color: color.clone(),
            });
            s.next_id += 1;
            Some(ResponseTemplate::new(201).set_body_json(json!({
                "id": s.next_id,
                "name": name,
                "description": b["description"],
                "description_html": b["description"],
                "text_color": "#1F1E24",
                "color": color,
                "open_issues_count": 0,
                "closed_issues_count": 0,
                "open_merge_requests_count": 0,
                "subscribed": false,
                "priority": null,
                "is_project_label": true,
            })))
        }
        _ => None,
    }
}

/// The calls of commands and `/ship`: awards, membership, CI statuses, merging,
/// deployments and reverts.
fn ship_route(
    s: &mut State,
    req: &Request,
    method: &str,
    rest: &[&str],
) -> Option<ResponseTemplate> {
    match (method, rest) {
        ("POST", ["merge_requests", iid, "notes", note, "award_emoji"]) => {
            let (iid, note): (u64, u64) = (iid.parse().ok()?, note.parse().ok()?);
            let name = body(req)["name"].as_str()?.to_string();
            if !s.notes.iter().any(|n| n.id == note && n.iid == iid) {
                return Some(message(404, "404 Note Not Found"));
            }
            if s.awards.contains(&(note, name.clone())) {
                return Some(message(404, "Award Emoji Name has already been taken"));
            }
            s.awards.push((note, name.clone()));
            s.writes.push(Write::Awarded {
                note,
                name: name.clone(),
            });
            s.next_id += 1;
            Some(ResponseTemplate::new(201).set_body_json(json!({
                "id": s.next_id,
                "name": name,
                "user": account_json(BOT_USERNAME),
                "created_at": "2026-11-27T10:00:00.000Z",
                "updated_at": "2026-11-27T10:00:00.000Z",
                "awardable_id": note,
                "awardable_type": "Note",
            })))
        }
        ("GET", ["members", "all", id]) => {
            let id: u64 = id.parse().ok()?;
            let Some((username, level)) = s.members.iter().find(|(u, _)| user_id(u) == id) else {
                return Some(message(404, "404 Not found"));
            };
            let mut member = account_json(username);
            member["access_level"] = json!(level);
            member["created_at"] = json!("2026-01-05T10:00:00.000Z");
            member["expires_at"] = Value::Null;
            member["membership_state"] = json!("active");
            Some(ResponseTemplate::new(200).set_body_json(member))
        }
        ("GET", ["repository", "commits", sha, "statuses"]) => {
            let list = s
                .statuses
                .iter()
                .filter(|st| st.sha == *sha)
                .map(status_json)
                .collect();
            let page = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per = query(req, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(20);
            Some(page_of(list, page, per))
        }
        ("GET", ["merge_requests", iid, "commits"]) => {
            let mr = s.mrs.get(&iid.parse().ok()?)?;
            let commit = commit_json(s, &mr.head_sha, &mr.title);
            Some(page_of(vec![commit], 1, 100))
        }
        ("PUT", ["merge_requests", iid, "merge"]) => {
            let iid: u64 = iid.parse().ok()?;
            let b = body(req);
            let mr = s.mrs.get_mut(&iid)?;
            if mr.state != "opened" {
                return Some(message(405, "405 Method Not Allowed"));
            }
            if b["sha"].as_str().is_some_and(|sha| sha != mr.head_sha) {
                return Some(message(409, "SHA does not match HEAD of source branch"));
            }
            if mr.detailed_merge_status != "mergeable" {
                return Some(message(422, "Branch cannot be merged"));
            }
            mr.state = "merged";
            mr.detailed_merge_status = "not_open";
            mr.merge_commit_sha = Some(merge_commit_sha(iid));
            mr.version += 1;
            let head = mr.head_sha.clone();
            s.writes.push(Write::Merged {
                iid,
                head,
                squash: b["squash"].as_bool().unwrap_or(false),
            });
            let mr = s.mrs.get(&iid)?;
            Some(ResponseTemplate::new(200).set_body_json(mr_json(s, mr)))
        }
        ("GET", ["deployments", id]) => {
            let id: u64 = id.parse().ok()?;
            let Some(deployment) = s.deployments.get(&id) else {
                return Some(message(404, "404 Deployment Not Found"));
            };
            Some(ResponseTemplate::new(200).set_body_json(json!({
                "id": id,
                "iid": id,
                "ref": "main",
                "sha": deployment.sha,
                "status": deployment.status,
                "environment": {"id": 1, "name": deployment.environment},
            })))
        }
        ("PUT", ["deployments", id]) => {
            let id: u64 = id.parse().ok()?;
            let status = body(req)["status"].as_str()?.to_string();
            let Some(deployment) = s.deployments.get_mut(&id) else {
                return Some(message(404, "404 Deployment Not Found"));
            };
            if deployment.by_ci {
                // GitLab's own words (lib/api/deployments.rb).
                return Some(message(
                    403,
                    "403 Forbidden - Deployments created using GitLab CI can not be updated using the API",
                ));
            }
            deployment.status = status.clone();
            let answer = json!({
                "id": id,
                "iid": id,
                "ref": "main",
                "sha": deployment.sha,
                "status": status,
                "environment": {"id": 1, "name": deployment.environment},
                "deployable": null,
            });
            s.writes.push(Write::DeploymentUpdated { id, status });
            Some(ResponseTemplate::new(200).set_body_json(answer))
        }
        ("POST", ["repository", "branches"]) => {
            let name = query(req, "branch")?;
            let from = query(req, "ref")?;
            if s.branches.contains_key(&name) {
                return Some(message(400, "Branch already exists"));
            }
            let sha = s
                .branches
                .get(&from)
                .cloned()
                .unwrap_or_else(|| s.default_head.clone());
            s.branches.insert(name.clone(), sha.clone());
            s.writes.push(Write::BranchCreated {
                name: name.clone(),
                from,
            });
            Some(ResponseTemplate::new(201).set_body_json(branch_json(s, &name, &sha)))
        }
        ("POST", ["repository", "commits", sha, "revert"]) => {
            let branch = body(req)["branch"].as_str()?.to_string();
            if !s.branches.contains_key(&branch) {
                return Some(message(404, "404 Branch Not Found"));
            }
            let done = (sha.to_string(), branch.clone());
            if s.reverts.contains(&done) {
                return Some(message(
                    400,
                    "Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content.",
                ));
            }
            s.reverts.push(done);
            s.next_id += 1;
            let reverted = format!("{:040x}", 0xdddd_0000_u64 + s.next_id);
            s.branches.insert(branch.clone(), reverted.clone());
            s.writes.push(Write::CommitReverted {
                sha: sha.to_string(),
                branch,
            });
            let title = format!("Revert \"{sha}\"");
            Some(ResponseTemplate::new(201).set_body_json(commit_json(s, &reverted, &title)))
        }
        ("POST", ["merge_requests"]) => {
            let b = body(req);
            let source = b["source_branch"].as_str()?.to_string();
            let target = b["target_branch"].as_str()?.to_string();
            let title = b["title"].as_str()?.to_string();
            let description = b["description"].as_str().unwrap_or("").to_string();
            if let Some(open) = s
                .mrs
                .values()
                .find(|m| m.state == "opened" && m.source_branch == source)
            {
                return Some(ResponseTemplate::new(409).set_body_json(json!({
                    "message": [format!("Another open merge request already exists for this source branch: !{}", open.iid)]
                })));
            }
            let iid = s.mrs.keys().last().map_or(1, |n| n + 1);
            let head = s.branches.get(&source)?.clone();
            let mr = FakeMr {
                iid,
                title: title.clone(),
                description,
                author: BOT_USERNAME.into(),
                draft: false,
                state: "opened",
                source_branch: source.clone(),
                target_branch: target.clone(),
                head_sha: head,
                base_sha: s.default_head.clone(),
                labels: vec![],
                files: vec![],
                approved_by: vec![],
                reviewers: vec![],
                version: 1,
                detailed_merge_status: "mergeable",
                merge_commit_sha: None,
            };
            let answer = mr_json(s, &mr);
            s.mrs.insert(iid, mr);
            s.writes.push(Write::MrOpened {
                iid,
                source,
                target,
                title,
            });
            Some(ResponseTemplate::new(201).set_body_json(answer))
        }
        _ => None,
    }
}

fn commit_json(s: &State, sha: &str, title: &str) -> Value {
    json!({
        "id": sha,
        "short_id": &sha[..8.min(sha.len())],
        "created_at": "2026-11-27T07:00:00.000+00:00",
        "parent_ids": [],
        "title": title,
        "message": format!("{title}\n"),
        "author_name": "Alice",
        "author_email": "alice@example.com",
        "authored_date": "2026-11-27T07:00:00.000+00:00",
        "committer_name": "Alice",
        "committer_email": "alice@example.com",
        "committed_date": "2026-11-27T07:00:00.000+00:00",
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("https://gitlab.example.com/{}/-/commit/{sha}", s.project),
    })
}

/// One page of a list with GitLab's offset-pagination headers.
fn page_of(items: Vec<Value>, page: usize, per: usize) -> ResponseTemplate {
    let per = per.max(1);
    let total = items.len();
    let pages = total.div_ceil(per).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per).take(per).collect();
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    ResponseTemplate::new(200)
        .insert_header("x-page", page.to_string().as_str())
        .insert_header("x-per-page", per.to_string().as_str())
        .insert_header("x-total", total.to_string().as_str())
        .insert_header("x-total-pages", pages.to_string().as_str())
        .insert_header("x-next-page", next.as_str())
        .insert_header("x-prev-page", prev.as_str())
        .set_body_json(slice)
}

fn user_id(username: &str) -> u64 {
    username
        .bytes()
        .fold(7, |h, b| h * 31 % 1_000_003 + u64::from(b))
}

/// A user as GitLab embeds one (`author`, `approved_by[].user`, `reviewers[].user`).
fn account_json(username: &str) -> Value {
    json!({
        "id": user_id(username),
        "username": username,
        "name": username,
        "state": "active",
        "locked": false,
        "avatar_url": format!("https://secure.gravatar.com/avatar/{username}?s=80&d=identicon"),
        "web_url": format!("https://gitlab.example.com/{username}"),
    })
}

/// `GET /user` for the token's bot account.
fn user_json() -> Value {
    let mut v = account_json(BOT_USERNAME);
    v["name"] = json!("smallbatch");
    v["bot"] = json!(true);
    v["created_at"] = json!("2026-01-05T10:00:00.000Z");
    v["bio"] = json!("");
    v["public_email"] = Value::Null;
    v
}

fn timestamp(version: u64) -> String {
    format!(
        "2026-11-27T10:{:02}:{:02}.000Z",
        version / 60 % 60,
        version % 60
    )
}

/// The real `get_merge_request.json` with our MR's values; every other field as
/// GitLab sent it.
fn mr_json(s: &State, mr: &FakeMr) -> Value {
    let mut v = s.template_mr.clone();
    let web_url = format!(
        "https://gitlab.example.com/{}/-/merge_requests/{}",
        s.project, mr.iid
    );
    v["id"] = json!(100_000 + mr.iid);
    v["iid"] = json!(mr.iid);
    v["project_id"] = json!(42);
    v["source_project_id"] = json!(42);
    v["target_project_id"] = json!(42);
    v["title"] = json!(mr.title);
    v["description"] = json!(mr.description);
    v["state"] = json!(mr.state);
    v["updated_at"] = json!(timestamp(mr.version));
    v["target_branch"] = json!(mr.target_branch);
    v["source_branch"] = json!(mr.source_branch);
    v["author"] = account_json(&mr.author);
    v["assignee"] = Value::Null;
    v["assignees"] = json!([]);
    v["reviewers"] = json!(mr
        .reviewers
        .iter()
        .map(|r| account_json(&r.username))
        .collect::<Vec<_>>());
    v["labels"] = json!(mr.labels);
    v["draft"] = json!(mr.draft);
    v["work_in_progress"] = json!(mr.draft);
    v["milestone"] = Value::Null;
    v["sha"] = json!(mr.head_sha);
    v["reference"] = json!(format!("!{}", mr.iid));
    v["web_url"] = json!(web_url);
    v["changes_count"] = json!(mr.files.len().to_string());
    // No CI on this project: no pipeline, so the status goes to the source branch.
    v["pipeline"] = Value::Null;
    v["head_pipeline"] = Value::Null;
    v["has_conflicts"] = json!(false);
    v["detailed_merge_status"] = json!(mr.detailed_merge_status);
    v["merge_commit_sha"] = json!(mr.merge_commit_sha);
    if mr.state == "merged" {
        v["merged_at"] = json!(timestamp(mr.version));
        v["merge_status"] = json!("merged");
    }
    v["user_notes_count"] = json!(s.notes.iter().filter(|n| n.iid == mr.iid).count());
    v["diff_refs"] = json!({
        "base_sha": mr.base_sha,
        "head_sha": mr.head_sha,
        "start_sha": mr.base_sha,
    });
    v
}

/// An entry of `merge_requests/:iid/diffs`, with the fields of
/// `list_merge_request_diff.json`.
fn diff_json(f: &FakeFile) -> Value {
    let (new_file, deleted_file) = (f.status == "added", f.status == "removed");
    json!({
        "old_path": f.previous.as_deref().unwrap_or(&f.path),
        "new_path": f.path,
        "a_mode": if new_file { "0" } else { "100644" },
        "b_mode": if deleted_file { "0" } else { "100644" },
        "diff": unified_diff(f),
        "new_file": new_file,
        "renamed_file": f.status == "renamed",
        "deleted_file": deleted_file,
    })
}

fn approvals_json(s: &State, mr: &FakeMr) -> Value {
    let approved: Vec<Value> = mr
        .approved_by
        .iter()
        .map(|u| json!({ "user": account_json(u) }))
        .collect();
    json!({
        "id": 100_000 + mr.iid,
        "iid": mr.iid,
        "project_id": 42,
        "title": mr.title,
        "description": "",
        "state": mr.state,
        "created_at": "2026-11-27T09:00:00.000Z",
        "updated_at": timestamp(mr.version),
        "merge_status": "can_be_merged",
        "approved": !approved.is_empty(),
        "approvals_required": 0,
        "approvals_left": 0,
        "require_password_to_approve": false,
        "approved_by": approved,
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": false,
        "user_can_approve": false,
        "approval_rules_left": [],
        "has_approval_rules": false,
        "merge_request_approvers_available": false,
        "multiple_approval_rules_available": false,
        "invalid_approvers_rules": [],
        "web_url": format!("https://gitlab.example.com/{}/-/merge_requests/{}", s.project, mr.iid),
    })
}

fn note_json(s: &State, n: &FakeNote) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": account_json(&n.author),
        "created_at": "2026-11-27T10:00:00.000Z",
        "updated_at": "2026-11-27T10:00:00.000Z",
        "system": n.system,
        "noteable_id": 100_000 + n.iid,
        "noteable_type": "MergeRequest",
        "project_id": 42,
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "imported": false,
        "imported_from": "none",
        "noteable_iid": n.iid,
        "commands_changes": {},
        "web_url": format!("https://gitlab.example.com/{}/-/merge_requests/{}#note_{}", s.project, n.iid, n.id),
    })
}

fn status_json(st: &FakeStatus) -> Value {
    json!({
        "id": st.id,
        "sha": st.sha,
        "ref": st.git_ref,
        "status": st.state,
        "name": st.name,
        "target_url": st.target_url,
        "description": st.description,
        "created_at": "2026-11-27T10:00:00.000Z",
        "started_at": null,
        "finished_at": null,
        "allow_failure": false,
        "coverage": null,
        "pipeline_id": st.pipeline_id.unwrap_or(900_000 + st.id),
        "author": account_json(BOT_USERNAME),
    })
}

fn branch_json(s: &State, branch: &str, sha: &str) -> Value {
    json!({
        "name": branch,
        "merged": false,
        "protected": true,
        "default": branch == "main",
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": true,
        "web_url": format!("https://gitlab.example.com/{}/-/tree/{branch}", s.project),
        "commit": {
            "id": sha,
            "short_id": &sha[..8.min(sha.len())],
            "created_at": "2026-11-27T09:00:00.000+00:00",
            "parent_ids": [],
            "title": "Update policy",
            "message": "Update policy\n",
            "author_name": "Alice",
            "author_email": "alice@example.com",
            "authored_date": "2026-11-27T09:00:00.000+00:00",
            "committer_name": "Alice",
            "committer_email": "alice@example.com",
            "committed_date": "2026-11-27T09:00:00.000+00:00",
            "trailers": {},
            "extended_trailers": {},
            "web_url": format!("https://gitlab.example.com/{}/-/commit/{sha}", s.project),
        }
    })
}
