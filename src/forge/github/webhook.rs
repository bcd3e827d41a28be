//! Turns a GitHub webhook delivery (the `X-GitHub-Event` header and the JSON body) into
//! domain events. Pure: signature checking and storage happen in the server.
//!
//! Payload structs name only the fields we read (serde skips the rest) and make each of
//! them optional, so a missing field is reported by its dotted path rather than by
//! serde's bare field name.

use crate::domain::{CommitSha, DomainEvent, InstallationId, PrNumber, PrRef, RepoRef};
use crate::forge::webhook::{decode, ignored, required};
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
        _ => {
            // Still reject garbage, so a broken sender shows up as 400s in its delivery log.
            decode::<IgnoredAny>(body)?;
            Ok(ignored(match event {
                "ping" => "ping: the hook is set up".to_owned(),
                "installation" | "installation_repositories" => {
                    format!("{event}: installations are looked up when needed")
                }
                "issue_comment" => "issue_comment: commands are not supported yet".to_owned(),
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
        // Our own label changes come back as `labeled`/`unlabeled`: reacting would loop.
        "labeled" | "unlabeled" => {
            return Ok(ignored(format!(
                "pull_request.{action}: labels do not change the verdict"
            )))
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
    let touches_policy = commits.iter().any(payload::PushCommit::touches_policy);
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
    use crate::forge::webhook::is_policy_file;
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
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct PullRequest {
        pub number: Option<u64>,
        pub head: Option<Head>,
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
        pub commits: Option<Vec<PushCommit>>,
        pub head_commit: Option<IgnoredAny>,
        pub repository: Option<Repository>,
        pub installation: Option<Installation>,
    }

    #[derive(Deserialize)]
    pub struct PushCommit {
        #[serde(default)]
        added: Vec<String>,
        #[serde(default)]
        modified: Vec<String>,
        #[serde(default)]
        removed: Vec<String>,
    }

    impl PushCommit {
        pub fn touches_policy(&self) -> bool {
            self.added
                .iter()
                .chain(&self.modified)
                .chain(&self.removed)
                .any(|path| is_policy_file(path))
        }
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

    /// A PR as a check run or suite lists it: its head is the commit that was checked.
    #[derive(Deserialize)]
    pub struct CheckPullRequest {
        pub number: Option<u64>,
        pub head: Option<Head>,
    }
}
