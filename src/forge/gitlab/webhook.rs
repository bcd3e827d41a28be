//! Turns a GitLab webhook delivery (the `X-Gitlab-Event` header and the JSON body) into
//! domain events. Pure: token checking and storage happen in the server.
//!
//! As for GitHub, payload structs name only the fields we read and make each optional,
//! so a missing field is reported by its dotted path.

use super::forge::is_bot;
use crate::domain::{
    CommentId, CommitSha, DeploymentRef, DomainEvent, PostedComment, PrNumber, PrRef, RepoRef, User,
};
use crate::forge::webhook::{decode, ignored, required, PushCommit};
use serde::de::IgnoredAny;

pub use crate::forge::webhook::{Parsed, WebhookError};

/// Parses one delivery of `event` (the `X-Gitlab-Event` header).
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, WebhookError> {
    match event {
        "Merge Request Hook" => merge_request(decode(body)?),
        "Push Hook" => push(decode(body)?),
        "Note Hook" | "Confidential Note Hook" => note(event, decode(body)?),
        "System Hook" => system_hook(body),
        "Deployment Hook" => deployment(decode(body)?),
        _ => {
            // Still reject garbage, so a broken sender shows up as 400s in its hook log.
            decode::<IgnoredAny>(body)?;
            Ok(ignored(match event {
                "Pipeline Hook" | "Job Hook" => {
                    format!("{event}: CI does not change the verdict")
                }
                "Tag Push Hook" => format!("{event}: tags have no merge requests"),
                _ => format!("{event}: not an event the gate reacts to"),
            }))
        }
    }
}

/// An instance's system hook sends project events with the payload a project hook would
/// send, under one header; the payload's `object_kind` tells them apart.
fn system_hook(body: &[u8]) -> Result<Parsed, WebhookError> {
    let kind: payload::Kind = decode(body)?;
    match kind.object_kind.as_deref() {
        Some("merge_request") => merge_request(decode(body)?),
        Some("push") => push(decode(body)?),
        _ => {
            let name = kind.object_kind.or(kind.event_name);
            Ok(ignored(format!(
                "System Hook: `{}` is not an event the gate reacts to",
                name.as_deref().unwrap_or("unnamed")
            )))
        }
    }
}

fn merge_request(payload: payload::MergeRequestEvent) -> Result<Parsed, WebhookError> {
    let attributes = required(payload.object_attributes, "object_attributes")?;
    let cause = match attributes.action.as_deref() {
        // Old GitLab versions send no action: assume an update that matters.
        None => "merge_request".to_owned(),
        Some(
            action @ ("open" | "reopen" | "approved" | "unapproved" | "approval" | "unapproval"),
        ) => {
            format!("merge_request.{action}")
        }
        Some("update")
            if attributes.oldrev.is_some()
                || payload.changes.is_some_and(|c| c.affects_verdict()) =>
        {
            "merge_request.update".to_owned()
        }
        // Title, description, assignees, size labels... Our own size labels come back
        // this way: reacting would loop.
        Some("update") => {
            return Ok(ignored(
                "merge_request.update: no new commits, and no change of draft status, \
                 target branch, reviewers or labels other than size labels",
            ))
        }
        // The MRs stacked on it are re-evaluated, from the store alone; a merged one may
        // also revert a shipped change.
        Some(action @ ("close" | "merge")) => {
            return closed(action == "merge", payload.project, attributes)
        }
        Some(action) => {
            return Ok(ignored(format!(
                "merge_request.{action}: does not change the verdict"
            )))
        }
    };
    let repo = repo_ref(payload.project)?;
    let iid = required(attributes.iid, "object_attributes.iid")?;
    // GitLab sends `last_commit: null` for a merge request without commits.
    let head_sha = attributes
        .last_commit
        .map(|commit| required(commit.id, "object_attributes.last_commit.id"))
        .transpose()?;
    Ok(Parsed::Events(vec![DomainEvent::PrChanged {
        pr: PrRef {
            repo,
            number: PrNumber(iid),
        },
        head_sha: head_sha.map(CommitSha),
        cause,
    }]))
}

/// A closed or merged merge request: the MRs stacked on it are evaluated again. When it
/// was merged, whether it reverts a shipped one is the worker's to find out as well.
/// One without an iid (GitLab's group hooks have sent such) cannot be named: ignored.
fn closed(
    merged: bool,
    project: Option<payload::Project>,
    attributes: payload::MergeRequestAttributes,
) -> Result<Parsed, WebhookError> {
    let action = if merged { "merge" } else { "close" };
    let Some(iid) = attributes.iid else {
        return Ok(ignored(format!(
            "merge_request.{action}: no `object_attributes.iid` to name the merge request"
        )));
    };
    let pr = PrRef {
        repo: repo_ref(project)?,
        number: PrNumber(iid),
    };
    let mut events = vec![DomainEvent::PrClosed { pr: pr.clone() }];
    if merged {
        events.push(DomainEvent::ChangeMerged {
            pr,
            title: attributes.title.unwrap_or_default(),
            body: attributes.description.unwrap_or_default(),
        });
    }
    Ok(Parsed::Events(events))
}

fn push(payload: payload::PushEvent) -> Result<Parsed, WebhookError> {
    let git_ref = required(payload.git_ref, "ref")?;
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(ignored(format!("push to {git_ref}: not a branch")));
    };
    let after = required(payload.after, "after")?;
    if is_null_sha(&after) {
        return Ok(ignored(format!("push: branch {branch} was deleted")));
    }
    let commits = payload.commits.unwrap_or_default();
    // GitLab lists at most 20 commits and counts them all in `total_commits_count`.
    // Re-evaluating costs API calls, missing a policy change leaves stale verdicts, so a
    // truncated list is assumed to touch the policy.
    let list_incomplete = payload
        .total_commits_count
        .is_some_and(|total| total > commits.len());
    let touches_policy = commits.iter().any(PushCommit::touches_policy);
    if !(list_incomplete || touches_policy) {
        return Ok(ignored(format!("push to {branch}: no policy file changed")));
    }
    let repo = repo_ref(payload.project)?;
    Ok(Parsed::Events(vec![DomainEvent::PolicyChanged {
        repo,
        branch: branch.to_owned(),
    }]))
}

/// Git's all-zero object name, which stands for "no commit" (SHA-1 or SHA-256).
fn is_null_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// A comment on a merge request, created or edited, for the commands in it. GitLab
/// sends no previous body on an edit: the worker remembers the bodies it has read.
/// System notes ("added 1 commit") are GitLab's own, never commands.
fn note(event: &str, payload: payload::NoteEvent) -> Result<Parsed, WebhookError> {
    let attributes = required(payload.object_attributes, "object_attributes")?;
    let noteable = required(attributes.noteable_type, "object_attributes.noteable_type")?;
    if noteable != "MergeRequest" {
        return Ok(ignored(format!(
            "{event}: not a merge request comment ({noteable})"
        )));
    }
    if attributes.system == Some(true) {
        return Ok(ignored(format!("{event}: a system note")));
    }
    // Older GitLab versions send no action, and then only for new notes.
    match attributes.action.as_deref() {
        None | Some("create" | "update") => {}
        Some(action) => {
            return Ok(ignored(format!(
                "{event}: `{action}` is not a new or edited comment"
            )))
        }
    }
    let id = required(attributes.id, "object_attributes.id")?;
    let body = required(attributes.note, "object_attributes.note")?;
    let repo = repo_ref(payload.project)?;
    let merge_request = required(payload.merge_request, "merge_request")?;
    let iid = required(merge_request.iid, "merge_request.iid")?;
    let user = required(payload.user, "user")?;
    let username = required(user.username, "user.username")?;
    let author = if is_bot(&username) {
        User::bot(username)
    } else {
        User::human(username)
    };
    Ok(Parsed::Events(vec![DomainEvent::CommentPosted {
        pr: PrRef {
            repo,
            number: PrNumber(iid),
        },
        comment: PostedComment {
            id: CommentId(id),
            author,
            body,
            previous_body: None,
        },
    }]))
}

/// A deployment changed state. GitLab's payload names the commit only by `short_sha`
/// and `commit_url` (`.../-/commit/<sha>`); the full sha is the URL's last segment,
/// accepted only when it is hexadecimal and starts with `short_sha`.
fn deployment(payload: payload::DeploymentEvent) -> Result<Parsed, WebhookError> {
    let status = required(payload.status, "status")?;
    let Some(state) = super::models::deployment_state(&status) else {
        return Ok(ignored(format!(
            "Deployment Hook: unknown deployment status `{status}`"
        )));
    };
    let id = required(payload.deployment_id, "deployment_id")?;
    let environment = required(payload.environment, "environment")?;
    let short_sha = required(payload.short_sha, "short_sha")?;
    let commit_url = required(payload.commit_url, "commit_url")?;
    let sha = commit_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|sha| {
            sha.len() >= short_sha.len()
                && sha.starts_with(short_sha.as_str())
                && sha.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .ok_or(WebhookError::MissingField("commit_url"))?;
    let repo = repo_ref(payload.project)?;
    Ok(Parsed::Events(vec![DomainEvent::DeploymentChanged {
        repo,
        deployment: DeploymentRef {
            id,
            sha: CommitSha::new(sha),
            environment,
        },
        state,
    }]))
}

fn repo_ref(project: Option<payload::Project>) -> Result<RepoRef, WebhookError> {
    let project = required(project, "project")?;
    let path = required(project.path_with_namespace, "project.path_with_namespace")?;
    Ok(RepoRef::gitlab(path))
}

/// The slices of GitLab's payloads that the gate reads.
mod payload {
    use super::IgnoredAny;
    use serde::Deserialize;

    /// What a system hook delivery is about.
    #[derive(Deserialize)]
    pub struct Kind {
        pub object_kind: Option<String>,
        pub event_name: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Project {
        pub path_with_namespace: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct MergeRequestEvent {
        pub project: Option<Project>,
        pub object_attributes: Option<MergeRequestAttributes>,
        pub changes: Option<MergeRequestChanges>,
    }

    #[derive(Deserialize)]
    pub struct MergeRequestAttributes {
        pub iid: Option<u64>,
        pub action: Option<String>,
        /// The previous head, sent only when an update brought new commits.
        pub oldrev: Option<String>,
        pub last_commit: Option<Commit>,
        pub title: Option<String>,
        pub description: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Commit {
        pub id: Option<String>,
    }

    /// The fields an update changed, as `{previous, current}`; only these matter to the
    /// gate. `work_in_progress` is what GitLab before 13.x calls `draft`. `reviewers`
    /// changes when a review is submitted ("Request changes", "Reviewed"), which GitLab
    /// sends only as an `update`. A label may be in `exempt.labels`.
    #[derive(Deserialize)]
    pub struct MergeRequestChanges {
        draft: Option<IgnoredAny>,
        work_in_progress: Option<IgnoredAny>,
        target_branch: Option<IgnoredAny>,
        reviewers: Option<IgnoredAny>,
        labels: Option<LabelChange>,
    }

    impl MergeRequestChanges {
        pub fn affects_verdict(&self) -> bool {
            self.draft.is_some()
                || self.work_in_progress.is_some()
                || self.target_branch.is_some()
                || self.reviewers.is_some()
                || self.labels.as_ref().is_some_and(LabelChange::beyond_size)
        }
    }

    #[derive(Deserialize)]
    pub struct LabelChange {
        #[serde(default)]
        previous: Vec<Label>,
        #[serde(default)]
        current: Vec<Label>,
    }

    #[derive(Deserialize)]
    pub struct Label {
        title: Option<String>,
    }

    impl LabelChange {
        /// Whether a label other than a size label was added or removed.
        fn beyond_size(&self) -> bool {
            let titles = |labels: &[Label]| -> Vec<String> {
                labels.iter().filter_map(|l| l.title.clone()).collect()
            };
            let (before, after) = (titles(&self.previous), titles(&self.current));
            before
                .iter()
                .filter(|t| !after.contains(t))
                .chain(after.iter().filter(|t| !before.contains(t)))
                .any(|t| !crate::policy::labels::is_size_label(t))
        }
    }

    #[derive(Deserialize)]
    pub struct PushEvent {
        #[serde(rename = "ref")]
        pub git_ref: Option<String>,
        pub after: Option<String>,
        pub commits: Option<Vec<crate::forge::webhook::PushCommit>>,
        pub total_commits_count: Option<usize>,
        pub project: Option<Project>,
    }

    #[derive(Deserialize)]
    pub struct NoteEvent {
        pub project: Option<Project>,
        pub user: Option<Account>,
        pub object_attributes: Option<NoteAttributes>,
        pub merge_request: Option<NoteMergeRequest>,
    }

    #[derive(Deserialize)]
    pub struct Account {
        pub username: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct NoteAttributes {
        pub id: Option<u64>,
        /// `MergeRequest`, `Issue`, `Commit` or `Snippet`.
        pub noteable_type: Option<String>,
        /// The comment's text, where commands are read.
        pub note: Option<String>,
        /// GitLab's own notes: commits pushed, labels changed...
        pub system: Option<bool>,
        /// `create` or `update`; absent on older GitLab versions.
        pub action: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct NoteMergeRequest {
        pub iid: Option<u64>,
    }

    #[derive(Deserialize)]
    pub struct DeploymentEvent {
        pub status: Option<String>,
        pub deployment_id: Option<u64>,
        pub environment: Option<String>,
        pub short_sha: Option<String>,
        pub commit_url: Option<String>,
        pub project: Option<Project>,
    }
}
