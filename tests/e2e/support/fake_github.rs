//! A stateful fake of the GitHub REST API behind wiremock. It answers the calls the
//! adapter makes from in-memory state, logs every write in order, and records any call
//! it does not know so that a test fails on it.
use super::kill::{self, Kill, When};

// Beside this file; spelt out for the bench that includes this file by its path.
#[path = "fake_github/apps.rs"]
pub mod apps;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A write the bot made to GitHub, as a user would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    CheckRunCreated {
        head: String,
        conclusion: String,
        title: String,
    },
    CheckRunUpdated {
        id: u64,
        conclusion: String,
        title: String,
    },
    CommentCreated {
        pr: u64,
        id: u64,
    },
    CommentEdited {
        id: u64,
    },
    LabelCreated {
        name: String,
        color: String,
    },
    LabelAdded {
        pr: u64,
        name: String,
    },
    Reacted {
        comment: u64,
        content: String,
    },
    Merged {
        pr: u64,
        sha: String,
        method: String,
    },
    DeploymentCreated {
        sha: String,
        environment: String,
    },
    /// A Deployment whose payload says it rolls back deployment `rollback_of`.
    RollbackCreated {
        sha: String,
        environment: String,
        rollback_of: u64,
    },
    DeploymentStatus {
        id: u64,
        state: String,
    },
    RevertOpened {
        of: u64,
        number: u64,
        title: String,
    },
    LabelRemoved {
        pr: u64,
        name: String,
    },
    /// `POST /app/hook/deliveries/{id}/attempts`.
    Redelivered {
        id: u64,
    },
}

#[derive(Debug, Clone)]
pub struct FakeFile {
    pub path: String,
    pub status: &'static str,
    pub additions: u64,
    pub deletions: u64,
    pub previous: Option<String>,
    pub binary: bool,
}

impl FakeFile {
    pub fn modified(path: &str, additions: u64, deletions: u64) -> Self {
        Self {
            path: path.into(),
            status: "modified",
            additions,
            deletions,
            previous: None,
            binary: false,
        }
    }
    pub fn added(path: &str, additions: u64) -> Self {
        Self {
            status: "added",
            ..Self::modified(path, additions, 0)
        }
    }
}

#[derive(Debug, Clone)]
pub struct FakeReview {
    pub user: String,
    pub state: &'static str,
    pub commit: String,
}

#[derive(Debug, Clone)]
pub struct FakePr {
    pub number: u64,
    pub author: String,
    pub draft: bool,
    pub state: &'static str,
    pub head_sha: String,
    /// The head branch, in the repository itself (no fork).
    pub head_ref: String,
    /// The base branch, `main` unless the PR is stacked or retargeted.
    pub base_ref: String,
    pub base_sha: String,
    pub labels: Vec<String>,
    pub files: Vec<FakeFile>,
    pub reviews: Vec<FakeReview>,
    pub version: u64,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub conclusion: String,
    pub title: String,
    pub summary: String,
}

#[derive(Default)]
pub struct State {
    pub repo: String,
    /// The fake's own address: wiremock shows requests as `http://localhost/...`, and a
    /// pagination link elsewhere than the API root is refused by the client.
    pub base_url: String,
    pub prs: BTreeMap<u64, FakePr>,
    /// Files by (commit, path).
    pub contents: BTreeMap<(String, String), String>,
    pub repo_labels: BTreeSet<String>,
    /// Branch heads; a branch not listed is at `default_head`.
    pub branches: BTreeMap<String, String>,
    pub default_head: String,
    /// (id, pr, author login, body)
    pub comments: Vec<(u64, u64, String, String)>,
    pub check_runs: Vec<CheckRun>,
    pub writes: Vec<Write>,
    pub calls: Vec<String>,
    pub unexpected: Vec<String>,
    /// Served, in order, instead of the next calls' real answers.
    pub faults: VecDeque<ResponseTemplate>,
    /// (call, answer): the next such call is carried out but answered with `answer`
    /// instead, as when GitHub fails after doing the work.
    pub lost_answers: Vec<(String, ResponseTemplate)>,
    /// (call, answer): the next such call is answered with `answer` and not carried out.
    pub refusals: Vec<(String, ResponseTemplate)>,
    /// The process dies at this call (see [`super::kill`]); `dead` from then on.
    pub kill: Option<Kill>,
    pub dead: bool,
    /// Every body each comment had, in order: (comment id, body) at creation and at
    /// each edit.
    pub comment_history: Vec<(u64, String)>,
    /// Statuses posted on deployments, oldest first: (deployment id, state).
    pub deployment_statuses: Vec<(u64, String)>,
    /// PR descriptions, where a test or the fake set one (reverts).
    pub pr_bodies: BTreeMap<u64, String>,
    /// Repository roles by login; anyone else is not a collaborator (404).
    pub roles: BTreeMap<String, String>,
    /// Organization teams (`org/team-slug`) and their members; any other team is
    /// unknown (404).
    pub teams: BTreeMap<String, Vec<String>>,
    /// Whether the App lacks the organization permission "Members: read": every team
    /// listing answers 403, as GitHub does then.
    pub no_members_permission: bool,
    /// Other checks on a commit: (name, status, conclusion).
    pub commit_checks: BTreeMap<String, Vec<(String, String, Option<String>)>>,
    /// Set when a PR is merged: the merge commit it produced.
    pub merge_shas: BTreeMap<u64, String>,
    pub deployments: Vec<(u64, String, String)>,
    /// Each deployment's `payload`, as created.
    pub deployment_payloads: BTreeMap<u64, Value>,
    /// The App's delivery log, newest first, as `GET /app/hook/deliveries` lists it.
    pub hook_deliveries: Vec<Value>,
    /// Every ref beside the branch heads, by full name (`refs/heads/gh-readonly-queue/...`).
    pub refs: BTreeMap<String, String>,
    /// The commit graph `compare` walks: each commit's parents. A commit not here is
    /// unknown to the repository (404).
    pub parents: BTreeMap<String, Vec<String>>,
    /// Seeded misbehaviour on every call not answered from `faults`.
    pub chaos: Option<Chaos>,
    /// Answers to calls starting with this (`GET /repos/o/r/pulls/`) are held back this
    /// long: calls in flight stay in flight, so a process can be killed mid-job.
    pub hold: Option<(String, Duration)>,
    /// The manifest flow: manifests posted, codes handed out, apps converted.
    pub apps: apps::Apps,
    next_id: u64,
    template_pr: Value,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

/// A 30-line change with a test: small enough, needs only approval.
pub fn small_files() -> Vec<FakeFile> {
    vec![
        FakeFile::modified("src/lib.rs", 14, 4),
        FakeFile::added("tests/lib_test.rs", 12),
    ]
}

/// 570 counted lines over two modules (the lock file excluded): oversized. The GitHub
/// and GitLab tests share it, so both forges' guidance can be compared.
pub fn oversized_files() -> Vec<FakeFile> {
    vec![
        FakeFile::added("api/handlers.rs", 260),
        FakeFile::added("api/routes.rs", 90),
        FakeFile::modified("billing/invoice.rs", 150, 30),
        FakeFile::added("tests/billing_test.rs", 40),
        FakeFile::modified("Cargo.lock", 900, 200),
    ]
}

pub const BOT_LOGIN: &str = "smallbatch[bot]";

impl FakeGitHub {
    pub async fn start(repo: &str, default_head: &str) -> Self {
        let server = MockServer::start().await;
        let template: Value = serde_json::from_str(include_str!(
            "../../../fixtures/github/pull_request.opened.json"
        ))
        .unwrap();
        let state = Arc::new(Mutex::new(State {
            repo: repo.into(),
            base_url: server.uri(),
            default_head: default_head.into(),
            next_id: 1000,
            template_pr: template["pull_request"].clone(),
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

    pub fn comment_body(&self, id: u64) -> String {
        let s = self.state();
        s.comments
            .iter()
            .find(|c| c.0 == id)
            .map(|c| c.3.clone())
            .expect("comment exists")
    }

    pub fn latest_check(&self, head: &str) -> CheckRun {
        let s = self.state();
        s.check_runs
            .iter()
            .rev()
            .find(|c| c.head_sha == head)
            .cloned()
            .expect("check run exists")
    }

    pub fn put_file(&self, commit: &str, path: &str, text: &str) {
        self.state()
            .contents
            .insert((commit.into(), path.into()), text.into());
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let call = format!("{} {}", req.method, req.url.path());
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
        if let Some(at) = s.refusals.iter().position(|(c, _)| *c == call) {
            return s.refusals.remove(at).1;
        }
        let delay = match s.chaos.as_mut().map(|c| c.draw(&call)) {
            Some(Mischief::Fail(resp)) => return resp,
            Some(Mischief::Delay(delay)) => Some(delay),
            None | Some(Mischief::None) => None,
        };
        let routed = match enterprise_path(req) {
            Some(req) => route(&mut s, &req),
            None => route(&mut s, req),
        };
        if dies == Some(When::After) {
            s.dead = true;
            return kill::gone();
        }
        if let Some(at) = s.lost_answers.iter().position(|(c, _)| *c == call) {
            return s.lost_answers.remove(at).1;
        }
        let resp = match routed {
            // GitHub's primary budget, counting down with every call.
            Some(resp) => resp.insert_header(
                "x-ratelimit-remaining",
                5000usize.saturating_sub(s.calls.len()).to_string().as_str(),
            ),
            None => {
                s.unexpected.push(call.clone());
                ResponseTemplate::new(501)
            }
        };
        let held = s
            .hold
            .as_ref()
            .filter(|(prefix, _)| call.starts_with(prefix.as_str()));
        match delay.or(held.map(|(_, d)| *d)) {
            Some(delay) => resp.set_delay(delay),
            None => resp,
        }
    }
}

/// A reproducible fault mode: from a seed, a share of calls answer 502 (nothing is
/// done), a share are answered late, and after `rate_limit_after` calls a secondary
/// rate limit answers *every* call with 403 + `Retry-After` for `rate_limit_for` of
/// wall time (the time the adapter sleeps in; the store clock only schedules jobs).
///
/// Decisions follow the order calls arrive in, so they are seeded but, with concurrent
/// jobs, which call draws which fault varies from run to run.
#[derive(Debug, Clone)]
pub struct Chaos {
    seed: u64,
    pub bad_gateway_percent: u64,
    pub spike_percent: u64,
    /// Latency spikes are drawn evenly from this range.
    pub spike_min: Duration,
    pub spike_max: Duration,
    pub rate_limit_after: u64,
    pub rate_limit_for: Duration,
    pub retry_after_secs: u64,
    pub stats: ChaosStats,
    limited_since: Option<Instant>,
}

/// What the chaos did, for assertions.
#[derive(Debug, Clone, Default)]
pub struct ChaosStats {
    pub calls: u64,
    pub bad_gateways: u64,
    pub spikes: u64,
    /// Every call answered with the secondary rate limit, with its arrival time since
    /// the window opened.
    pub limited: Vec<(Duration, String)>,
}

enum Mischief {
    None,
    Fail(ResponseTemplate),
    Delay(Duration),
}

impl Chaos {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            bad_gateway_percent: 20,
            spike_percent: 5,
            spike_min: Duration::from_millis(200),
            spike_max: Duration::from_millis(800),
            rate_limit_after: 150,
            rate_limit_for: Duration::from_secs(2),
            retry_after_secs: 2,
            stats: ChaosStats::default(),
            limited_since: None,
        }
    }

    /// The message GitHub sends with a secondary rate limit.
    pub const SECONDARY_LIMIT: &'static str =
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

    fn draw(&mut self, call: &str) -> Mischief {
        self.stats.calls += 1;
        let n = self.stats.calls;
        if n > self.rate_limit_after && self.limited_since.is_none() {
            self.limited_since = Some(Instant::now());
        }
        if let Some(since) = self.limited_since {
            let elapsed = since.elapsed();
            if elapsed < self.rate_limit_for {
                self.stats.limited.push((elapsed, call.to_owned()));
                return Mischief::Fail(
                    ResponseTemplate::new(403)
                        .insert_header("retry-after", self.retry_after_secs.to_string().as_str())
                        .set_body_json(json!({
                            "message": Self::SECONDARY_LIMIT,
                            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
                        })),
                );
            }
        }
        let roll = splitmix64(self.seed ^ n);
        if roll % 100 < self.bad_gateway_percent {
            self.stats.bad_gateways += 1;
            return Mischief::Fail(ResponseTemplate::new(502).set_body_string("Bad Gateway"));
        }
        let roll = roll >> 8;
        if roll % 100 < self.spike_percent {
            self.stats.spikes += 1;
            let span = (self.spike_max - self.spike_min).as_millis() as u64 + 1;
            return Mischief::Delay(self.spike_min + Duration::from_millis((roll >> 8) % span));
        }
        Mischief::None
    }

    /// Whether the rate-limit window has opened and closed again.
    pub fn rate_limit_over(&self) -> bool {
        self.limited_since
            .is_some_and(|since| since.elapsed() >= self.rate_limit_for)
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser), so neighbouring call numbers
/// draw unrelated faults.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

/// A GitHub Enterprise Server's API is under `/api/v3` (GraphQL: `/api/graphql`); the
/// fake answers it there as github.com's at the root. `None` for any other path.
fn enterprise_path(req: &Request) -> Option<Request> {
    let path = req.url.path();
    let rest = path
        .strip_prefix("/api/v3/")
        .map(|rest| format!("/{rest}"))
        .or_else(|| (path == "/api/graphql").then(|| "/graphql".to_owned()))?;
    let mut req = req.clone();
    req.url.set_path(&rest);
    Some(req)
}

fn route(s: &mut State, req: &Request) -> Option<ResponseTemplate> {
    let base_url = s.base_url.clone();
    if let Some(answer) = apps::route(&mut s.apps, &base_url, req) {
        return Some(answer);
    }
    let path = req.url.path().to_string();
    let method = req.method.as_str();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if method == "POST" && segs.len() == 4 && segs[0] == "app" && segs[3] == "access_tokens" {
        let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let expires = expires
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        return Some(
            ResponseTemplate::new(201)
                .set_body_json(json!({"token": "ghs_fake", "expires_at": expires})),
        );
    }
    if method == "GET" && path == "/app" {
        return Some(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 1, "slug": "smallbatch", "name": "smallbatch"})),
        );
    }
    if method == "GET" && path == "/app/hook/deliveries" {
        return Some(ResponseTemplate::new(200).set_body_json(s.hook_deliveries.clone()));
    }
    if let ("POST", ["app", "hook", "deliveries", id, "attempts"]) = (method, segs.as_slice()) {
        let id: u64 = id.parse().ok()?;
        let guid = s.hook_deliveries.iter().find(|d| d["id"] == id)?["guid"].clone();
        s.writes.push(Write::Redelivered { id });
        // As on GitHub, the redelivery is logged as a new attempt under the same guid.
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        s.hook_deliveries.insert(
            0,
            json!({"id": id + 1000, "guid": guid, "delivered_at": at, "redelivery": true,
                   "status_code": 202, "status": "OK", "event": "pull_request"}),
        );
        return Some(ResponseTemplate::new(202).set_body_json(json!({})));
    }
    if method == "POST" && path == "/graphql" {
        let b = body(req);
        let node = b["variables"]["input"]["pullRequestId"]
            .as_str()
            .or_else(|| b["variables"]["pullRequestId"].as_str())?
            .to_string();
        let of: u64 = node.strip_prefix("PR_")?.parse().ok()?;
        let title = b["variables"]["input"]["title"]
            .as_str()
            .or_else(|| b["variables"]["title"].as_str())
            .unwrap_or("")
            .to_string();
        let body = b["variables"]["body"].as_str().unwrap_or("").to_string();
        let number = s.prs.keys().max().copied().unwrap_or(0) + 100;
        // The revert is an open PR by the App, found again by its description.
        let reverted = s.prs.get(&of)?.clone();
        s.prs.insert(
            number,
            FakePr {
                number,
                author: BOT_LOGIN.into(),
                state: "open",
                head_sha: format!("{number:040x}"),
                labels: vec![],
                files: vec![],
                reviews: vec![],
                version: 1,
                ..reverted
            },
        );
        s.pr_bodies.insert(number, body);
        s.writes.push(Write::RevertOpened { of, number, title });
        return Some(ResponseTemplate::new(200).set_body_json(json!({"data": {"revertPullRequest": {
            "pullRequest": {"number": of}, "revertPullRequest": {"number": number, "url": format!("https://github.com/{}/pull/{number}", s.repo)}
        }}})));
    }
    if let ("GET", ["orgs", org, "teams", slug, "members"]) = (method, segs.as_slice()) {
        return Some(team_members(s, req, &format!("{org}/{slug}")));
    }
    if segs.len() < 3 || segs[0] != "repos" || format!("{}/{}", segs[1], segs[2]) != s.repo {
        return None;
    }
    let rest: Vec<&str> = segs[3..].to_vec();
    // Everything under a PR that does not exist is a 404, as on GitHub.
    if let ["pulls" | "issues", n, ..] = rest.as_slice() {
        if n.parse::<u64>().is_ok_and(|n| !s.prs.contains_key(&n)) {
            return Some(not_found());
        }
    }
    match (method, rest.as_slice()) {
        ("GET", ["git", "ref", "heads", branch @ ..]) => {
            let branch = branch.join("/");
            let sha = s
                .branches
                .get(&branch)
                .cloned()
                .unwrap_or_else(|| s.default_head.clone());
            Some(ResponseTemplate::new(200).set_body_json(json!({
                "ref": format!("refs/heads/{branch}"),
                "node_id": "MDM6UmVmcmVmcy9oZWFkcy9tYWlu",
                "url": format!("https://api.github.com/repos/{}/git/refs/heads/{branch}", s.repo),
                "object": {"type": "commit", "sha": sha, "url": format!("https://api.github.com/repos/{}/git/commits/{sha}", s.repo)}
            })))
        }
        ("GET", ["git", "matching-refs", prefix @ ..]) => {
            // A prefix, not a ref: every ref starting with it; none is an empty list.
            let prefix = format!("refs/{}", prefix.join("/"));
            let list: Vec<Value> = s
                .refs
                .iter()
                .filter(|(name, _)| name.starts_with(&prefix))
                .map(|(name, sha)| ref_json(&s.repo, name, sha))
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("GET", ["compare", basehead]) => compare(s, req, basehead),
        ("GET", ["pulls", n]) => {
            let Some(pr) = s.prs.get(&n.parse().ok()?).cloned() else {
                return Some(not_found());
            };
            Some(ResponseTemplate::new(200).set_body_json(pr_json(s, &pr)))
        }
        ("GET", ["pulls"]) => {
            let list: Vec<Value> = s
                .prs
                .values()
                .filter(|p| p.state == "open")
                .cloned()
                .collect::<Vec<_>>()
                .iter()
                .map(|p| pr_json(s, p))
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("GET", ["pulls", n, "files"]) => {
            let pr = s.prs.get(&n.parse().ok()?)?;
            let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per: usize = query(req, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let files: Vec<Value> = pr
                .files
                .iter()
                .skip((page - 1) * per)
                .take(per)
                .map(file_json)
                .collect();
            let mut resp = ResponseTemplate::new(200).set_body_json(files);
            if page * per < pr.files.len().min(3000) {
                resp = resp.insert_header("link", next_link(s, req, per, page).as_str());
            }
            Some(resp)
        }
        ("GET", ["pulls", n, "commits"]) => {
            let pr = s.prs.get(&n.parse().ok()?)?;
            Some(ResponseTemplate::new(200).set_body_json(json!([{
                "sha": pr.head_sha,
                "commit": {"author": {"name": pr.author, "email": "a@example.com", "date": three_hours_ago()}, "message": "first"}
            }])))
        }
        ("GET", ["pulls", n, "reviews"]) => {
            let pr = s.prs.get(&n.parse().ok()?)?;
            let reviews: Vec<Value> = pr
                .reviews
                .iter()
                .enumerate()
                .map(|(i, r)| review_json(i as u64 + 1, r))
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(reviews))
        }
        ("GET", ["contents", file @ ..]) => {
            let commit = query(req, "ref").unwrap_or_default();
            match s.contents.get(&(commit, file.join("/"))) {
                Some(text) => Some(ResponseTemplate::new(200).set_body_string(text.clone())),
                None => {
                    Some(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
                }
            }
        }
        ("POST", ["check-runs"]) => {
            let b = body(req);
            s.next_id += 1;
            let run = CheckRun {
                id: s.next_id,
                head_sha: b["head_sha"].as_str()?.into(),
                conclusion: b["conclusion"].as_str().unwrap_or("").into(),
                title: b["output"]["title"].as_str().unwrap_or("").into(),
                summary: b["output"]["summary"].as_str().unwrap_or("").into(),
            };
            s.writes.push(Write::CheckRunCreated {
                head: run.head_sha.clone(),
                conclusion: run.conclusion.clone(),
                title: run.title.clone(),
            });
            let id = run.id;
            s.check_runs.push(run);
            Some(ResponseTemplate::new(201).set_body_json(json!({"id": id, "name": "smallbatch"})))
        }
        ("PATCH", ["check-runs", id]) => {
            let id: u64 = id.parse().ok()?;
            let b = body(req);
            let run = s.check_runs.iter_mut().find(|r| r.id == id)?;
            run.conclusion = b["conclusion"].as_str().unwrap_or("").into();
            run.title = b["output"]["title"].as_str().unwrap_or("").into();
            run.summary = b["output"]["summary"].as_str().unwrap_or("").into();
            let w = Write::CheckRunUpdated {
                id,
                conclusion: run.conclusion.clone(),
                title: run.title.clone(),
            };
            s.writes.push(w);
            Some(ResponseTemplate::new(200).set_body_json(json!({"id": id, "name": "smallbatch"})))
        }
        ("POST", ["issues", "comments", id, "reactions"]) => {
            let comment: u64 = id.parse().ok()?;
            let content = body(req)["content"].as_str()?.to_string();
            s.writes.push(Write::Reacted {
                comment,
                content: content.clone(),
            });
            Some(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "content": content})))
        }
        ("GET", ["collaborators", user, "permission"]) => {
            let role = s.roles.get(*user).cloned()?;
            let permission = match role.as_str() {
                "maintain" | "triage" => {
                    if role == "maintain" {
                        "write"
                    } else {
                        "read"
                    }
                }
                other => other,
            };
            Some(ResponseTemplate::new(200).set_body_json(json!({
                "permission": permission, "role_name": role,
                "user": {"login": user, "id": 1, "type": "User"}
            })))
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let mut runs: Vec<Value> = s
                .check_runs
                .iter()
                .filter(|r| r.head_sha == *sha)
                .map(|r| json!({"id": r.id, "name": "smallbatch", "head_sha": r.head_sha, "status": "completed", "conclusion": r.conclusion, "app": {"slug": "smallbatch"},
                                "output": {"title": r.title, "summary": r.summary, "text": null, "annotations_count": 0}}))
                .collect();
            for (i, (name, status, conclusion)) in s
                .commit_checks
                .get(*sha)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                runs.push(json!({"id": 9000 + i, "name": name, "head_sha": sha, "status": status, "conclusion": conclusion, "app": {"slug": "ci"}}));
            }
            if let Some(name) = query(req, "check_name") {
                runs.retain(|r| r["name"] == name.as_str());
            }
            Some(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"total_count": runs.len(), "check_runs": runs})),
            )
        }
        ("GET", ["commits", sha, "status"]) => {
            Some(ResponseTemplate::new(200).set_body_json(json!({
                "state": "success", "sha": sha, "total_count": 0, "statuses": []
            })))
        }
        ("PUT", ["pulls", n, "merge"]) => {
            let n: u64 = n.parse().ok()?;
            let b = body(req);
            let pr = s.prs.get(&n)?.clone();
            if pr.state != "open" {
                return Some(
                    ResponseTemplate::new(405)
                        .set_body_json(json!({"message": "Pull Request is not mergeable"})),
                );
            }
            if b["sha"].as_str() != Some(pr.head_sha.as_str()) {
                return Some(ResponseTemplate::new(409).set_body_json(
                    json!({"message": "Head branch was modified. Review and try the merge again."}),
                ));
            }
            let sha = format!("{:040x}", 0xeeee_0000_u64 + n);
            s.prs.get_mut(&n)?.state = "merged";
            s.merge_shas.insert(n, sha.clone());
            s.writes.push(Write::Merged {
                pr: n,
                sha: sha.clone(),
                method: b["merge_method"].as_str().unwrap_or("").into(),
            });
            Some(ResponseTemplate::new(200).set_body_json(
                json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
            ))
        }
        ("POST", ["deployments"]) => {
            let b = body(req);
            s.next_id += 1;
            let id = s.next_id;
            let sha = b["ref"].as_str()?.to_string();
            let environment = b["environment"].as_str()?.to_string();
            s.deployments.push((id, sha.clone(), environment.clone()));
            s.deployment_payloads.insert(id, b["payload"].clone());
            let (sha, environment) = (sha.clone(), environment.clone());
            s.writes
                .push(match b["payload"]["smallbatch"]["rollback_of"].as_u64() {
                    Some(rollback_of) => Write::RollbackCreated {
                        sha: sha.clone(),
                        environment: environment.clone(),
                        rollback_of,
                    },
                    None => Write::DeploymentCreated {
                        sha: sha.clone(),
                        environment: environment.clone(),
                    },
                });
            Some(ResponseTemplate::new(201).set_body_json(
                json!({"id": id, "sha": sha, "ref": sha, "environment": environment}),
            ))
        }
        ("GET", ["deployments"]) => {
            let wanted = |key: &str| query(req, key);
            // Newest first, as GitHub lists them.
            let list: Vec<Value> = s
                .deployments
                .iter()
                .rev()
                .filter(|d| wanted("sha").is_none_or(|sha| d.1 == sha))
                .filter(|d| wanted("environment").is_none_or(|env| d.2 == env))
                .map(|d| {
                    json!({"id": d.0, "sha": d.1, "ref": d.1, "environment": d.2,
                           "payload": s.deployment_payloads.get(&d.0).cloned().unwrap_or(json!({}))})
                })
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("GET", ["deployments", id, "statuses"]) => {
            let id: u64 = id.parse().ok()?;
            if !s.deployments.iter().any(|d| d.0 == id) {
                return Some(not_found());
            }
            // Newest first, as GitHub lists them.
            let list: Vec<Value> = s
                .deployment_statuses
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, (d, _))| *d == id)
                .map(|(i, (_, state))| json!({"id": i + 1, "state": state}))
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("POST", ["deployments", id, "statuses"]) => {
            let id: u64 = id.parse().ok()?;
            let state = body(req)["state"].as_str()?.to_string();
            s.deployment_statuses.push((id, state.clone()));
            s.writes.push(Write::DeploymentStatus {
                id,
                state: state.clone(),
            });
            Some(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": state})))
        }
        ("GET", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().ok()?;
            let list: Vec<Value> = s
                .comments
                .iter()
                .filter(|c| c.1 == n)
                .map(|c| comment_json(c.0, &c.2, &c.3))
                .collect();
            Some(ResponseTemplate::new(200).set_body_json(list))
        }
        ("POST", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().ok()?;
            s.next_id += 1;
            let id = s.next_id;
            let text = body(req)["body"].as_str()?.to_string();
            s.comments.push((id, n, BOT_LOGIN.into(), text.clone()));
            s.comment_history.push((id, text.clone()));
            s.writes.push(Write::CommentCreated { pr: n, id });
            Some(ResponseTemplate::new(201).set_body_json(comment_json(id, BOT_LOGIN, &text)))
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().ok()?;
            let text = body(req)["body"].as_str()?.to_string();
            let Some(c) = s.comments.iter_mut().find(|c| c.0 == id) else {
                return Some(not_found());
            };
            c.3 = text.clone();
            s.comment_history.push((id, text.clone()));
            s.writes.push(Write::CommentEdited { id });
            Some(ResponseTemplate::new(200).set_body_json(comment_json(id, BOT_LOGIN, &text)))
        }
        ("POST", ["labels"]) => {
            let b = body(req);
            let name = b["name"].as_str()?.to_string();
            if !s.repo_labels.insert(name.clone()) {
                return Some(ResponseTemplate::new(422).set_body_json(json!({"message": "Validation Failed", "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}]})));
            }
            s.writes.push(Write::LabelCreated {
                name: name.clone(),
                color: b["color"].as_str().unwrap_or("").into(),
            });
            Some(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"name": name, "color": b["color"]})),
            )
        }
        ("POST", ["issues", n, "labels"]) => {
            let n: u64 = n.parse().ok()?;
            let names: Vec<String> = body(req)["labels"]
                .as_array()?
                .iter()
                .filter_map(|l| l.as_str().map(String::from))
                .collect();
            let pr = s.prs.get_mut(&n)?;
            for name in &names {
                if !pr.labels.contains(name) {
                    pr.labels.push(name.clone());
                }
            }
            let labels = pr.labels.clone();
            for name in names {
                s.repo_labels.insert(name.clone());
                s.writes.push(Write::LabelAdded { pr: n, name });
            }
            Some(
                ResponseTemplate::new(200).set_body_json(
                    labels
                        .iter()
                        .map(|l| json!({"name": l}))
                        .collect::<Vec<_>>(),
                ),
            )
        }
        ("DELETE", ["issues", n, "labels", name]) => {
            let n: u64 = n.parse().ok()?;
            let name = urlencoding_decode(name);
            let pr = s.prs.get_mut(&n)?;
            let before = pr.labels.len();
            pr.labels.retain(|l| *l != name);
            if pr.labels.len() == before {
                return Some(
                    ResponseTemplate::new(404)
                        .set_body_json(json!({"message": "Label does not exist"})),
                );
            }
            s.writes.push(Write::LabelRemoved { pr: n, name });
            Some(ResponseTemplate::new(200).set_body_json(json!([])))
        }
        _ => None,
    }
}

/// `GET /orgs/{org}/teams/{team_slug}/members`: 30 a page unless `per_page` (at most 100)
/// says otherwise, with a `Link` to the next; 404 for a team GitHub does not know, 403
/// without the "Members: read" permission.
fn team_members(s: &State, req: &Request, team: &str) -> ResponseTemplate {
    if s.no_members_permission {
        return ResponseTemplate::new(403).set_body_json(json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/teams/members#list-team-members",
            "status": "403"
        }));
    }
    let Some(members) = s.teams.get(team) else {
        return not_found();
    };
    let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per: usize = query(req, "per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30)
        .min(100);
    let list: Vec<Value> = members
        .iter()
        .enumerate()
        .skip((page - 1) * per)
        .take(per)
        .map(|(i, login)| {
            json!({"login": login, "id": 7000 + i, "node_id": "MDQ6VXNlcjE=", "type": "User",
                   "site_admin": false, "url": format!("https://api.github.com/users/{login}")})
        })
        .collect();
    let mut resp = ResponseTemplate::new(200).set_body_json(list);
    if page * per < members.len() {
        resp = resp.insert_header("link", next_link(s, req, per, page).as_str());
    }
    resp
}

/// `compare/{base}...{head}`: the commits reachable from head but not from base, oldest
/// first. Paginated as GitHub documents it: without `page`/`per_page` up to 250 commits;
/// with them, `per_page` (at most 100) a page and a `Link` to the next.
fn compare(s: &State, req: &Request, basehead: &str) -> Option<ResponseTemplate> {
    let (base, head) = basehead.split_once("...")?;
    if !s.parents.contains_key(base) || !s.parents.contains_key(head) {
        return Some(not_found());
    }
    let mut behind = BTreeSet::new();
    ancestors(s, base, &mut behind, &mut Vec::new());
    let mut ahead = Vec::new();
    ancestors(s, head, &mut behind.clone(), &mut ahead);
    let paged = query(req, "page").is_some() || query(req, "per_page").is_some();
    let per: usize = query(req, "per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(if paged { 30 } else { 250 })
        .min(if paged { 100 } else { 250 });
    let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let commits: Vec<Value> = ahead
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|sha| json!({"sha": sha, "commit": {"message": "queued"}, "parents": s.parents[sha].iter().map(|p| json!({"sha": p})).collect::<Vec<_>>()}))
        .collect();
    let mut resp = ResponseTemplate::new(200).set_body_json(json!({
        "status": "ahead", "ahead_by": ahead.len(), "behind_by": 0, "total_commits": ahead.len(),
        "base_commit": {"sha": base}, "merge_base_commit": {"sha": base},
        "commits": commits, "files": []
    }));
    if paged && page * per < ahead.len() {
        resp = resp.insert_header("link", next_link(s, req, per, page).as_str());
    }
    Some(resp)
}

/// The `Link` header to the page after `page` of this listing, on the fake's address.
fn next_link(s: &State, req: &Request, per: usize, page: usize) -> String {
    format!(
        "<{}{}?per_page={per}&page={}>; rel=\"next\"",
        s.base_url,
        req.url.path(),
        page + 1
    )
}

/// `commit` and its ancestors not yet `seen`, parents before children.
fn ancestors(s: &State, commit: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
    if !seen.insert(commit.to_owned()) {
        return;
    }
    for parent in s.parents.get(commit).into_iter().flatten() {
        ancestors(s, parent, seen, out);
    }
    out.push(commit.to_owned());
}

fn ref_json(repo: &str, name: &str, sha: &str) -> Value {
    json!({
        "ref": name,
        "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
        "url": format!("https://api.github.com/repos/{repo}/git/{name}"),
        "object": {"type": "commit", "sha": sha, "url": format!("https://api.github.com/repos/{repo}/git/commits/{sha}")}
    })
}

/// The first commit of every fake PR: a lead time of a few hours.
fn three_hours_ago() -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::hours(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest"
    }))
}

fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn pr_json(s: &State, pr: &FakePr) -> Value {
    let mut v = s.template_pr.clone();
    let (adds, dels): (u64, u64) = pr
        .files
        .iter()
        .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
    v["number"] = json!(pr.number);
    if let Some(body) = s.pr_bodies.get(&pr.number) {
        v["body"] = json!(body);
    }
    v["node_id"] = json!(format!("PR_{}", pr.number));
    v["mergeable"] = json!(pr.state == "open");
    v["merge_commit_sha"] = json!(s.merge_shas.get(&pr.number));
    v["html_url"] = json!(format!("https://github.com/{}/pull/{}", s.repo, pr.number));
    v["state"] = json!(if pr.state == "open" { "open" } else { "closed" });
    v["merged"] = json!(pr.state == "merged");
    v["draft"] = json!(pr.draft);
    v["user"]["login"] = json!(pr.author);
    v["user"]["type"] = json!(if pr.author.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
    v["head"]["sha"] = json!(pr.head_sha);
    v["head"]["ref"] = json!(pr.head_ref);
    v["head"]["label"] = json!(format!("{}:{}", owner(&s.repo), pr.head_ref));
    v["head"]["repo"]["full_name"] = json!(s.repo);
    v["base"]["ref"] = json!(pr.base_ref);
    v["base"]["label"] = json!(format!("{}:{}", owner(&s.repo), pr.base_ref));
    v["base"]["sha"] = json!(pr.base_sha);
    v["base"]["repo"]["full_name"] = json!(s.repo);
    v["labels"] = json!(pr
        .labels
        .iter()
        .map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false}))
        .collect::<Vec<_>>());
    v["updated_at"] = json!(format!(
        "2026-11-27T10:{:02}:{:02}Z",
        pr.version / 60,
        pr.version % 60
    ));
    v["changed_files"] = json!(pr.files.len());
    v["additions"] = json!(adds);
    v["deletions"] = json!(dels);
    v
}

fn owner(repo: &str) -> &str {
    repo.split('/').next().unwrap_or(repo)
}

fn file_json(f: &FakeFile) -> Value {
    let mut v = json!({
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
        "filename": f.path,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": format!("https://github.com/o/r/blob/head/{}", f.path),
        "raw_url": format!("https://github.com/o/r/raw/head/{}", f.path),
        "contents_url": format!("https://api.github.com/repos/o/r/contents/{}", f.path),
    });
    if !f.binary {
        v["patch"] = json!("@@ -1 +1 @@\n-a\n+b");
    }
    if let Some(prev) = &f.previous {
        v["previous_filename"] = json!(prev);
    }
    v
}

fn review_json(id: u64, r: &FakeReview) -> Value {
    json!({
        "id": id,
        "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=",
        "user": {"login": r.user, "id": 100 + id, "type": if r.user.ends_with("[bot]") { "Bot" } else { "User" }, "site_admin": false},
        "body": "",
        "state": r.state,
        "html_url": "https://github.com/o/r/pull/1#pullrequestreview-80",
        "pull_request_url": "https://api.github.com/repos/o/r/pulls/1",
        "author_association": "COLLABORATOR",
        "submitted_at": "2026-11-27T10:00:00Z",
        "commit_id": r.commit,
    })
}

fn comment_json(id: u64, author: &str, body: &str) -> Value {
    json!({
        "id": id,
        "node_id": "MDEyOklzc3VlQ29tbWVudDE=",
        "body": body,
        "user": {"login": author, "id": 1, "type": if author.ends_with("[bot]") { "Bot" } else { "User" }},
        "created_at": "2026-11-27T10:00:00Z",
        "updated_at": "2026-11-27T10:00:00Z",
        "author_association": "NONE",
    })
}
