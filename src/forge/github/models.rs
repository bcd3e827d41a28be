//! The parts of GitHub's REST payloads the adapter reads.
//!
//! Deliberately minimal instead of octocrab's models: those require many fields we
//! never use, so any omission by a GitHub Enterprise Server version (or a test
//! fixture) would fail deserialization of an otherwise usable answer.

use crate::domain::DeploymentState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct Account {
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Account {
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot"
    }
}

#[derive(Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
    /// The repository the branch is in; null once a fork is deleted.
    #[serde(default)]
    pub repo: Option<RepoName>,
}

#[derive(Debug, Deserialize)]
pub struct RepoName {
    pub full_name: String,
}

#[derive(Debug, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    pub html_url: String,
    pub user: Option<Account>,
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    pub merged_at: Option<String>,
    #[serde(default)]
    pub draft: bool,
    pub head: Branch,
    pub base: Branch,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub updated_at: String,
    #[serde(default)]
    pub changed_files: u64,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
}

/// An entry of `pulls/{n}/files` and of `compare`'s `files`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiffEntry {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
    pub patch: Option<String>,
    pub previous_filename: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Comparison {
    #[serde(default)]
    pub files: Vec<DiffEntry>,
}

/// A page of `compare/{base}...{head}`: its commits, oldest first.
#[derive(Debug, Deserialize)]
pub struct ComparedCommits {
    #[serde(default)]
    pub commits: Vec<GitObject>,
}

#[derive(Debug, Deserialize)]
pub struct Review {
    pub user: Option<Account>,
    pub state: String,
    pub commit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PullSummary {
    pub number: u64,
}

/// An entry of `pulls?state=open`: the number and the current head.
#[derive(Debug, Deserialize)]
pub struct PullHead {
    pub number: u64,
    pub head: Branch,
}

/// A PR in a listing, with its description.
#[derive(Debug, Deserialize)]
pub struct PullBody {
    pub number: u64,
    pub body: Option<String>,
}

/// GitHub's deployment states, which are exactly ours.
pub fn deployment_state(state: &str) -> Option<DeploymentState> {
    Some(match state {
        "pending" => DeploymentState::Pending,
        "queued" => DeploymentState::Queued,
        "in_progress" => DeploymentState::InProgress,
        "success" => DeploymentState::Success,
        "failure" => DeploymentState::Failure,
        "error" => DeploymentState::Error,
        "inactive" => DeploymentState::Inactive,
        _ => return None,
    })
}

/// An entry of `deployments/{id}/statuses`.
#[derive(Debug, Deserialize)]
pub struct DeploymentStatus {
    pub state: String,
}

/// An entry of `GET /app/hook/deliveries`.
#[derive(Debug, Deserialize)]
pub struct HookDelivery {
    pub id: u64,
    pub guid: String,
    pub delivered_at: String,
    /// 0 when GitHub got no answer at all (a timeout, a refused connection).
    #[serde(default)]
    pub status_code: u16,
}

#[derive(Debug, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub user: Option<Account>,
}

/// A deployment as listed; `payload` is what its creator attached.
#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl Deployment {
    /// Created by `/ship`, which marks its deployments in the payload.
    pub fn by_smallbatch(&self) -> bool {
        self.payload.get("smallbatch") == Some(&serde_json::Value::Bool(true))
    }

    /// Created by a rollback: the regressed deployment it replaces.
    pub fn rollback_of(&self) -> Option<u64> {
        self.payload.get("smallbatch")?.get("rollback_of")?.as_u64()
    }
}

#[derive(Debug, Deserialize)]
pub struct GitObject {
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub struct GitRef {
    /// The full name, `refs/heads/...`.
    #[serde(rename = "ref", default)]
    pub name: String,
    pub object: GitObject,
}

#[derive(Debug, Deserialize)]
pub struct App {
    pub slug: String,
}

#[derive(Debug, Deserialize)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: String,
}

/// GitHub's error body.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub field: String,
    /// Present for `code: "custom"`.
    #[serde(default)]
    pub message: String,
}

/// GitHub's words in an error body; empty when it has none.
pub fn error_message(body: &[u8]) -> String {
    ErrorBody::of(body).describe()
}

impl ErrorBody {
    /// The error body of an answer; empty when it has none.
    pub fn of(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// `message` followed by each detail, e.g. `Validation Failed (name: already_exists)`.
    pub fn describe(&self) -> String {
        let details: Vec<String> = self
            .errors
            .iter()
            .map(|e| match (e.field.is_empty(), e.message.is_empty()) {
                (_, false) => e.message.clone(),
                (true, true) => e.code.clone(),
                (false, true) => format!("{}: {}", e.field, e.code),
            })
            .collect();
        if details.is_empty() {
            self.message.clone()
        } else {
            format!("{} ({})", self.message, details.join("; "))
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CheckRunOutput<'a> {
    pub title: &'a str,
    pub summary: &'a str,
}

/// The body of a check-run create (with `head_sha`) or update (without).
#[derive(Debug, Serialize)]
pub struct CheckRunBody<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<&'a str>,
    pub status: &'a str,
    pub conclusion: &'a str,
    pub details_url: &'a str,
    pub output: CheckRunOutput<'a>,
}

/// The fields of `pulls/{n}` that merging and reverting read.
#[derive(Debug, Deserialize)]
pub struct PullMergeState {
    /// `null` while GitHub computes it in the background.
    pub mergeable: Option<bool>,
    #[serde(default)]
    pub base: Option<Branch>,
    /// The GraphQL id, for mutations the REST API lacks.
    pub node_id: String,
    pub merge_commit_sha: Option<String>,
}

/// `commits/{ref}/check-runs`: a page of runs wrapped in an object.
#[derive(Debug, Deserialize)]
pub struct CheckRunList {
    #[serde(default)]
    pub check_runs: Vec<CheckRun>,
}

#[derive(Debug, Deserialize)]
pub struct CheckRun {
    #[serde(default)]
    pub id: Option<u64>,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    #[serde(default)]
    pub output: Option<CheckRunText>,
}

/// A listed run's output, as far as comparing it with ours needs.
#[derive(Debug, Deserialize)]
pub struct CheckRunText {
    pub title: Option<String>,
    pub summary: Option<String>,
}

/// `commits/{ref}/status`: the latest status of each context.
#[derive(Debug, Deserialize)]
pub struct CombinedStatus {
    #[serde(default)]
    pub statuses: Vec<CommitStatus>,
}

#[derive(Debug, Deserialize)]
pub struct CommitStatus {
    pub context: String,
    pub state: String,
}

/// `collaborators/{user}/permission`.
#[derive(Debug, Deserialize)]
pub struct CollaboratorPermission {
    /// `admin`, `write`, `read` or `none` (maintain and triage fold into write and read).
    pub permission: String,
    /// The exact role, or the name of a custom role; absent on older GHES.
    pub role_name: Option<String>,
}

/// The answer to `PUT pulls/{n}/merge`.
#[derive(Debug, Deserialize)]
pub struct MergeResult {
    pub sha: String,
}

/// A GraphQL answer: `data` and/or `errors`, with HTTP 200 either way.
#[derive(Debug, Deserialize)]
pub struct GraphQlResponse<T> {
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<GraphQlError>,
}

#[derive(Debug, Deserialize)]
pub struct GraphQlError {
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertData {
    pub revert_pull_request: Option<RevertPayload>,
}

/// `pullRequest` is the reverted PR; `revertPullRequest` the new one.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertPayload {
    pub revert_pull_request: Option<PullSummary>,
}
