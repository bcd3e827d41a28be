//! Turns a GitHub webhook delivery (the `X-GitHub-Event` header and the JSON body) into
//! domain events. Pure: signature checking and storage happen in the server.
//!
//! Payload structs name only the fields we read (serde skips the rest) and make each of
//! them optional, so a missing field is reported by its dotted path rather than by
//! serde's bare field name.

use crate::domain::merge_group::QueueRef;
use crate::domain::{
    CommentId, CommitSha, DeploymentRef, DomainEvent, InstallationId, MergeGroup, PostedComment,
    PrNumber, PrRef, RepoRef, User,
};
use crate::forge::github::models::deployment_state;
use crate::forge::webhook::{decode, ignored, required, PushCommit};
use crate::policy::labels::is_size_label;
use serde::de::IgnoredAny;

pub use crate::forge::webhook::{Parsed, WebhookError};

/// The name of the check run the app publishes; re-runs of anyone else's are not ours.
pub const CHECK_RUN_NAME: &str = "smallbatch";

/// GitHub lists at most 20 commits in a push payload; a list that long may be truncated.
const PUSH_COMMITS_CAP: usize = 20;

/// Parses one delivery of `event` (the `X-GitHub-Event` header).
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, WebhookError> {
    match event {
        "pull_request" => pull_request(decode(body)?),
        "pull_request_review" => pull_request_review(decode(body)?),
        "push" => push(decode(body)?),
        "check_run" => check_run(decode(body)?),
        "check_suite" => check_suite(decode(body)?),
        "issue_comment" => issue_comment(decode(body)?),
        "deployment_status" => deployment_status(decode(body)?),
        "merge_group" => merge_group(decode(body)?),
        _ => {
            // Still reject garbage, so a broken sender shows up as 400s in its delivery log.
            decode::<IgnoredAny>(body)?;
            Ok(ignored(match event {
                "ping" => "ping: the hook is set up".to_owned(),
                "installation" | "installation_repositories" => {
                    format!("{event}: installations are looked up when needed")
                }
                _ => format!("{event}: not an event the gate reacts to"),
            }))
        }
    }
}

fn pull_request(payload: payload::PullRequestEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    match action.as_str() {
        "opened" | "reopened" | "synchronize" | "ready_for_review" | "converted_to_draft" => {}
        "edited" if payload.changes.is_some_and(|c| c.base.is_some()) => {}
        "edited" => {
            return Ok(ignored(
                "pull_request.edited: title or body only, the base is unchanged",
            ))
        }
        // A label may be in `exempt.labels`. Our own size labels come back this way too:
        // reacting to those would loop.
        "labeled" | "unlabeled" => {
            let label = required(payload.label, "label")?;
            let name = required(label.name, "label.name")?;
            if is_size_label(&name) {
                return Ok(ignored(format!(
                    "pull_request.{action}: `{name}` is a size label, which smallbatch sets itself"
                )));
            }
        }
        // The PRs stacked on it are re-evaluated, from the store alone; a merged one may
        // also revert a shipped change.
        "closed" => {
            let repo = repo_ref(payload.repository, payload.installation)?;
            return closed(repo, payload.pull_request);
        }
        _ => {
            return Ok(ignored(format!(
                "pull_request.{action}: does not change the verdict"
            )))
        }
    }
    let repo = repo_ref(payload.repository, payload.installation)?;
    let event = pr_changed(repo, payload.pull_request, format!("pull_request.{action}"))?;
    Ok(Parsed::Events(vec![event]))
}

/// A closed pull request: the PRs stacked on it are evaluated again. When it was
/// merged, whether it reverts a shipped one is the worker's to find out as well.
fn closed(
    repo: RepoRef,
    pull_request: Option<payload::PullRequest>,
) -> Result<Parsed, WebhookError> {
    let pull_request = required(pull_request, "pull_request")?;
    let number = required(pull_request.number, "pull_request.number")?;
    let pr = PrRef {
        repo,
        number: PrNumber(number),
    };
    let mut events = vec![DomainEvent::PrClosed { pr: pr.clone() }];
    if pull_request.merged == Some(true) {
        events.push(DomainEvent::ChangeMerged {
            pr,
            title: pull_request.title.unwrap_or_default(),
            body: pull_request.body.unwrap_or_default(),
        });
    }
    Ok(Parsed::Events(events))
}

fn pull_request_review(payload: payload::PullRequestEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if !matches!(action.as_str(), "submitted" | "edited" | "dismissed") {
        return Ok(ignored(format!(
            "pull_request_review.{action}: does not change the verdict"
        )));
    }
    let repo = repo_ref(payload.repository, payload.installation)?;
    let cause = format!("pull_request_review.{action}");
    let event = pr_changed(repo, payload.pull_request, cause)?;
    Ok(Parsed::Events(vec![event]))
}

fn pr_changed(
    repo: RepoRef,
    pull_request: Option<payload::PullRequest>,
    cause: String,
) -> Result<DomainEvent, WebhookError> {
    let pull_request = required(pull_request, "pull_request")?;
    let number = required(pull_request.number, "pull_request.number")?;
    let head = required(pull_request.head, "pull_request.head")?;
    let head_sha = required(head.sha, "pull_request.head.sha")?;
    Ok(DomainEvent::PrChanged {
        pr: PrRef {
            repo,
            number: PrNumber(number),
        },
        head_sha: Some(CommitSha(head_sha)),
        cause,
    })
}

fn push(payload: payload::PushEvent) -> Result<Parsed, WebhookError> {
    let git_ref = required(payload.git_ref, "ref")?;
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(ignored(format!("push to {git_ref}: not a branch")));
    };
    if payload.deleted {
        return Ok(ignored(format!("push: branch {branch} was deleted")));
    }
    let commits = payload.commits.unwrap_or_default();
    // The commit list may not tell the whole story: GitHub lists at most 20 commits, and
    // leaves out `head_commit` when it has none to describe; a forced push may also have
    // dropped commits that changed the policy. Re-evaluating costs API calls, missing a
    // policy change leaves stale verdicts, so assume the worst.
    let list_incomplete = commits.len() >= PUSH_COMMITS_CAP || payload.head_commit.is_none();
    let touches_policy = commits.iter().any(PushCommit::touches_policy);
    if !(list_incomplete || payload.forced || touches_policy) {
        return Ok(ignored(format!("push to {branch}: no policy file changed")));
    }
    let repo = repo_ref(payload.repository, payload.installation)?;
    Ok(Parsed::Events(vec![DomainEvent::PolicyChanged {
        repo,
        branch: branch.to_owned(),
    }]))
}

fn check_run(payload: payload::CheckRunEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if !matches!(action.as_str(), "rerequested" | "requested_action") {
        return Ok(ignored(format!("check_run.{action}: not a re-run request")));
    }
    let check_run = required(payload.check_run, "check_run")?;
    let name = required(check_run.name, "check_run.name")?;
    if name != CHECK_RUN_NAME {
        return Ok(ignored(format!(
            "check_run.{action}: `{name}` is not our check run"
        )));
    }
    let repo = repo_ref(payload.repository, payload.installation)?;
    rerun(
        repo,
        check_run.pull_requests,
        "check_run.pull_requests",
        &format!("check_run.{action}"),
    )
}

fn check_suite(payload: payload::CheckSuiteEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if action != "rerequested" {
        return Ok(ignored(format!(
            "check_suite.{action}: not a re-run request"
        )));
    }
    let check_suite = required(payload.check_suite, "check_suite")?;
    let repo = repo_ref(payload.repository, payload.installation)?;
    rerun(
        repo,
        check_suite.pull_requests,
        "check_suite.pull_requests",
        &format!("check_suite.{action}"),
    )
}

/// A comment created or edited on a PR may carry commands.
///
/// Comments by bots are ignored here, not only in the worker: the bot edits its own
/// guidance comment on every evaluation, and each edit comes back as a delivery that
/// would otherwise become a stored job doing nothing.
fn issue_comment(payload: payload::IssueCommentEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if !matches!(action.as_str(), "created" | "edited") {
        return Ok(ignored(format!(
            "issue_comment.{action}: only new and edited comments carry commands"
        )));
    }
    let issue = required(payload.issue, "issue")?;
    let number = required(issue.number, "issue.number")?;
    if issue.pull_request.is_none() {
        return Ok(ignored(format!(
            "issue_comment.{action}: #{number} is an issue, not a pull request"
        )));
    }
    let comment = required(payload.comment, "comment")?;
    let id = required(comment.id, "comment.id")?;
    let body = required(comment.body, "comment.body")?;
    let author = required(comment.user, "comment.user")?;
    let login = required(author.login, "comment.user.login")?;
    if author.kind.as_deref() == Some("Bot") {
        return Ok(ignored(format!(
            "issue_comment.{action}: {login} is a bot; bots do not command us"
        )));
    }
    let previous_body = payload
        .changes
        .and_then(|c| c.body)
        .and_then(|b| b.from)
        .filter(|_| action == "edited");
    let repo = repo_ref(payload.repository, payload.installation)?;
    Ok(Parsed::Events(vec![DomainEvent::CommentPosted {
        pr: PrRef {
            repo,
            number: PrNumber(number),
        },
        comment: PostedComment {
            id: CommentId(id),
            author: User::human(login),
            body,
            previous_body,
        },
    }]))
}

fn deployment_status(payload: payload::DeploymentStatusEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if action != "created" {
        return Ok(ignored(format!(
            "deployment_status.{action}: not a new deployment state"
        )));
    }
    let status = required(payload.deployment_status, "deployment_status")?;
    let raw_state = required(status.state, "deployment_status.state")?;
    let Some(state) = deployment_state(&raw_state) else {
        return Ok(ignored(format!(
            "deployment_status.created: unknown state `{raw_state}`"
        )));
    };
    let deployment = required(payload.deployment, "deployment")?;
    let id = required(deployment.id, "deployment.id")?;
    let sha = required(deployment.sha, "deployment.sha")?;
    let environment = required(deployment.environment, "deployment.environment")?;
    let repo = repo_ref(payload.repository, payload.installation)?;
    Ok(Parsed::Events(vec![DomainEvent::DeploymentChanged {
        repo,
        deployment: DeploymentRef {
            id,
            sha: CommitSha(sha),
            environment,
        },
        state,
    }]))
}

/// A merge queue asking for the required checks on a group's commit. `destroyed` (the
/// group merged, was dequeued or invalidated) needs nothing: the check stays on a commit
/// no one will merge.
fn merge_group(payload: payload::MergeGroupEvent) -> Result<Parsed, WebhookError> {
    let action = required(payload.action, "action")?;
    if action != "checks_requested" {
        let why = payload
            .reason
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        return Ok(ignored(format!(
            "merge_group.{action}{why}: no checks are requested"
        )));
    }
    let group = required(payload.merge_group, "merge_group")?;
    let head_sha = required(group.head_sha, "merge_group.head_sha")?;
    let head_ref = required(group.head_ref, "merge_group.head_ref")?;
    let base_sha = required(group.base_sha, "merge_group.base_sha")?;
    let base_ref = required(group.base_ref, "merge_group.base_ref")?;
    let base_branch = base_ref.strip_prefix("refs/heads/").unwrap_or(&base_ref);
    let Some(queued) = QueueRef::parse(&head_ref).filter(|q| q.base_branch == base_branch) else {
        return Ok(ignored(format!(
            "merge_group.checks_requested: `{head_ref}` is not a merge queue branch of `{base_ref}`"
        )));
    };
    let repo = repo_ref(payload.repository, payload.installation)?;
    Ok(Parsed::Events(vec![DomainEvent::MergeGroupQueued {
        repo,
        group: MergeGroup {
            head_sha: CommitSha(head_sha),
            head_ref,
            base_sha: CommitSha(base_sha),
            base_branch: queued.base_branch,
            head_pr: queued.pr,
        },
    }]))
}

/// One `PrChanged` per PR a re-run request names.
fn rerun(
    repo: RepoRef,
    pull_requests: Option<Vec<payload::CheckPullRequest>>,
    field: &'static str,
    cause: &str,
) -> Result<Parsed, WebhookError> {
    let pull_requests = required(pull_requests, field)?;
    if pull_requests.is_empty() {
        // GitHub leaves the list empty when the PR's head is in a fork.
        return Ok(ignored(format!("{cause}: no pull request is attached")));
    }
    let events = pull_requests
        .into_iter()
        .map(|pr| {
            let number = required(pr.number, "pull_requests[].number")?;
            let head = required(pr.head, "pull_requests[].head")?;
            let head_sha = required(head.sha, "pull_requests[].head.sha")?;
            Ok(DomainEvent::PrChanged {
                pr: PrRef {
                    repo: repo.clone(),
                    number: PrNumber(number),
                },
                head_sha: Some(CommitSha(head_sha)),
                cause: cause.to_owned(),
            })
        })
        .collect::<Result<_, WebhookError>>()?;
    Ok(Parsed::Events(events))
}

/// The app can only act through an installation, so one is required.
fn repo_ref(
    repository: Option<payload::Repository>,
    installation: Option<payload::Installation>,
) -> Result<RepoRef, WebhookError> {
    let repository = required(repository, "repository")?;
    let full_name = required(repository.full_name, "repository.full_name")?;
    let installation = required(installation, "installation")?;
    let id = required(installation.id, "installation.id")?;
    Ok(RepoRef::github(full_name, InstallationId(id)))
}

/// The slices of GitHub's payloads that the gate reads.
mod payload {
    use super::IgnoredAny;
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Repository {
        pub full_name: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Installation {
        pub id: Option<u64>,
    }

    #[derive(Deserialize)]
    pub struct Head {
        pub sha: Option<String>,
    }

    /// `pull_request` and `pull_request_review` deliveries.
    #[derive(Deserialize)]
    pub struct PullRequestEvent {
        pub action: Option<String>,
        pub pull_request: Option<PullRequest>,
        pub changes: Option<Changes>,
        /// The label a `labeled` or `unlabeled` action added or removed.
        pub label: Option<Label>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct Label {
        pub name: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct PullRequest {
        pub number: Option<u64>,
        pub head: Option<Head>,
        /// Sent with `closed`: whether it was merged rather than closed.
        pub merged: Option<bool>,
        pub title: Option<String>,
        pub body: Option<String>,
    }

    /// What an `edited` action changed; only a new base matters to the gate.
    #[derive(Deserialize)]
    pub struct Changes {
        pub base: Option<IgnoredAny>,
    }

    #[derive(Deserialize)]
    pub struct PushEvent {
        #[serde(rename = "ref")]
        pub git_ref: Option<String>,
        #[serde(default)]
        pub deleted: bool,
        #[serde(default)]
        pub forced: bool,
        pub commits: Option<Vec<crate::forge::webhook::PushCommit>>,
        pub head_commit: Option<IgnoredAny>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct CheckRunEvent {
        pub action: Option<String>,
        pub check_run: Option<CheckRun>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct CheckRun {
        pub name: Option<String>,
        pub pull_requests: Option<Vec<CheckPullRequest>>,
    }

    #[derive(Deserialize)]
    pub struct CheckSuiteEvent {
        pub action: Option<String>,
        pub check_suite: Option<CheckSuite>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct CheckSuite {
        pub pull_requests: Option<Vec<CheckPullRequest>>,
    }

    #[derive(Deserialize)]
    pub struct IssueCommentEvent {
        pub action: Option<String>,
        pub issue: Option<Issue>,
        pub comment: Option<Comment>,
        pub changes: Option<CommentChanges>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    /// PRs are issues; only theirs carry a `pull_request` key.
    #[derive(Deserialize)]
    pub struct Issue {
        pub number: Option<u64>,
        pub pull_request: Option<IgnoredAny>,
    }

    #[derive(Deserialize)]
    pub struct Comment {
        pub id: Option<u64>,
        pub body: Option<String>,
        pub user: Option<Account>,
    }

    #[derive(Deserialize)]
    pub struct Account {
        pub login: Option<String>,
        #[serde(rename = "type")]
        pub kind: Option<String>,
    }

    /// What an `edited` action changed: the body's previous text, when it changed.
    #[derive(Deserialize)]
    pub struct CommentChanges {
        pub body: Option<PreviousText>,
    }

    #[derive(Deserialize)]
    pub struct PreviousText {
        pub from: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct DeploymentStatusEvent {
        pub action: Option<String>,
        pub deployment_status: Option<DeploymentStatus>,
        pub deployment: Option<Deployment>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct DeploymentStatus {
        pub state: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Deployment {
        pub id: Option<u64>,
        pub sha: Option<String>,
        pub environment: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct MergeGroupEvent {
        pub action: Option<String>,
        pub merge_group: Option<MergeGroup>,
        /// Why a group was destroyed: `merged`, `dequeued` or `invalidated`.
        pub reason: Option<String>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct MergeGroup {
        pub head_sha: Option<String>,
        pub head_ref: Option<String>,
        pub base_sha: Option<String>,
        pub base_ref: Option<String>,
    }

    /// A PR as a check run or suite lists it: its head is the commit that was checked.
    #[derive(Deserialize)]
    pub struct CheckPullRequest {
        pub number: Option<u64>,
        pub head: Option<Head>,
    }
}
