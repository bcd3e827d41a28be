//! The parts of GitLab's REST payloads the adapter reads; every other field is ignored,
//! and optional ones default, so older instances' answers still deserialize.

use crate::domain::DeploymentState;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Account {
    pub username: String,
    /// Present in `GET /user` and some other payloads.
    #[serde(default)]
    pub bot: bool,
}

/// A label: a plain name by default, an object with `with_labels_details`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Name(String),
    Detailed { name: String },
}

impl Label {
    pub fn into_name(self) -> String {
        match self {
            Label::Name(name) | Label::Detailed { name } => name,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DiffRefs {
    pub base_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    pub sha: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MergeRequest {
    pub iid: u64,
    #[serde(default)]
    pub title: String,
    pub web_url: String,
    pub author: Option<Account>,
    pub state: String,
    pub draft: Option<bool>,
    /// `draft` before GitLab 13.x.
    pub work_in_progress: Option<bool>,
    /// The head commit; null while GitLab is still preparing the diff.
    pub sha: Option<String>,
    pub target_branch: String,
    #[serde(default)]
    pub source_branch: String,
    /// The projects of the source and target branches: they differ for a fork's MR.
    pub source_project_id: Option<u64>,
    pub target_project_id: Option<u64>,
    pub diff_refs: Option<DiffRefs>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub updated_at: String,
    /// A count, or `"N+"` past GitLab's limit.
    pub changes_count: Option<String>,
    pub head_pipeline: Option<Pipeline>,
    /// The users asked to review (GitLab 13.8+); their review states are read apart.
    #[serde(default)]
    pub reviewers: Vec<Account>,
}

#[derive(Debug, Deserialize)]
pub struct MergeRequestSummary {
    pub iid: u64,
}

/// An entry of `merge_requests?state=opened` with its head.
#[derive(Debug, Deserialize)]
pub struct MergeRequestHead {
    pub iid: u64,
    /// Null while GitLab is still preparing the diff.
    pub sha: Option<String>,
}

/// An entry of `merge_requests/:iid/diffs`.
#[derive(Debug, Clone, Deserialize)]
pub struct DiffEntry {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub a_mode: String,
    #[serde(default)]
    pub b_mode: String,
    #[serde(default)]
    pub diff: String,
    #[serde(default)]
    pub new_file: bool,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
    #[serde(default)]
    pub too_large: Option<bool>,
    #[serde(default)]
    pub collapsed: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Approver {
    pub user: Account,
}

#[derive(Debug, Deserialize)]
pub struct Approvals {
    #[serde(default)]
    pub approved_by: Vec<Approver>,
}

/// An entry of `merge_requests/:iid/reviewers` (GitLab 17+).
#[derive(Debug, Deserialize)]
pub struct Reviewer {
    pub user: Account,
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Deserialize)]
pub struct Note {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub author: Option<Account>,
    #[serde(default)]
    pub system: bool,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Branch {
    pub commit: Commit,
}

/// The merge-relevant part of `GET /projects/:id/merge_requests/:iid` and of the
/// answer to `PUT .../merge`.
#[derive(Debug, Deserialize)]
pub struct MergeState {
    pub state: String,
    pub target_branch: String,
    /// GitLab 15.6+; `merge_status` before.
    pub detailed_merge_status: Option<String>,
    pub merge_status: Option<String>,
    /// The head commit: after a fast-forward merge, the target branch's new head.
    pub sha: Option<String>,
    pub merge_commit_sha: Option<String>,
    pub squash_commit_sha: Option<String>,
}

/// An entry of `repository/commits/:sha/statuses`: CI jobs and external statuses alike.
#[derive(Debug, Deserialize)]
pub struct CommitStatus {
    pub id: u64,
    pub name: String,
    pub status: String,
}

/// An entry of `GET /users?username=`.
#[derive(Debug, Deserialize)]
pub struct UserId {
    pub id: u64,
}

/// `GET /projects/:id/members/all/:user_id`: direct or inherited membership.
#[derive(Debug, Deserialize)]
pub struct Member {
    pub access_level: u32,
    /// `active`, or `awaiting` for an invitation not yet accepted; absent on old
    /// instances.
    pub state: Option<String>,
}

/// An entry of `GET /groups/:id/members/all`.
#[derive(Debug, Deserialize)]
pub struct GroupMember {
    pub username: String,
    /// `awaiting` for an invitation not yet accepted; absent on old instances.
    pub membership_state: Option<String>,
}

/// GitLab's error body: `{"message": "..."}`, `{"message": {"field": ["..."]}}` for
/// validation errors, or `{"error": "..."}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: serde_json::Value,
    #[serde(default)]
    pub error: Option<String>,
}

/// GitLab's error message, or the start of the body when it has none.
pub fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => body.describe(),
        Err(_) => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

impl ErrorBody {
    pub fn describe(&self) -> String {
        match &self.message {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Object(fields) => fields
                .iter()
                .map(|(field, problems)| format!("{field} {}", flatten(problems)))
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::Value::Null => self.error.clone().unwrap_or_default(),
            other => flatten(other),
        }
    }
}

fn flatten(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(body: &str) -> String {
        serde_json::from_str::<ErrorBody>(body).unwrap().describe()
    }

    #[test]
    fn error_bodies_read_as_one_line() {
        assert_eq!(
            describe(r#"{"message":"401 Unauthorized"}"#),
            "401 Unauthorized"
        );
        assert_eq!(
            describe(r#"{"message":{"title":["can't be blank","is too short"]}}"#),
            "title can't be blank, is too short"
        );
        assert_eq!(
            describe(r#"{"error":"insufficient_scope"}"#),
            "insufficient_scope"
        );
    }
}

/// GitLab's deployment statuses, in ours; `None` for one we cannot act on (`skipped`).
pub fn deployment_state(status: &str) -> Option<DeploymentState> {
    Some(match status {
        "created" | "blocked" => DeploymentState::Pending,
        "running" => DeploymentState::InProgress,
        "success" => DeploymentState::Success,
        "failed" => DeploymentState::Failure,
        "canceled" => DeploymentState::Inactive,
        _ => return None,
    })
}

/// `GET deployments/:id`: the deployment's status (`created`, `running`, `success`...).
#[derive(Debug, Deserialize)]
pub struct DeploymentStatus {
    pub status: String,
}

/// A deployment, as `GET deployments` lists it and `GET deployments/:id` answers.
#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: Option<String>,
    #[serde(default)]
    pub status: String,
    /// The CI/CD job that deployed it; `null` for one created through the API.
    pub deployable: Option<Deployable>,
}

#[derive(Debug, Deserialize)]
pub struct Deployable {
    pub id: u64,
}
