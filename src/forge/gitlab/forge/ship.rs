//! What `/ship` does on GitLab: the merge, the deployment's status, and the revert
//! after a regression. GitLab deploys through the target branch's pipeline by itself.

use super::GitLabForge;
use crate::domain::{CommitSha, DeploymentState, PrNumber, PrRef, RepoRef};
use crate::forge::gitlab::client::ApiRequest;
use crate::forge::gitlab::models;
use crate::forge::rest::with_query;
use crate::forge::{ForgeError, ForgeResult, MergeMethod};
use http::{Method, StatusCode};
use serde_json::json;

/// How GitLab refuses a merge: 405 not mergeable (draft, closed, pipeline, approvals),
/// 406 conflicts, 409 head moved, 422 cannot be merged.
const MERGE_REFUSALS: [StatusCode; 4] = [
    StatusCode::METHOD_NOT_ALLOWED,
    StatusCode::NOT_ACCEPTABLE,
    StatusCode::CONFLICT,
    StatusCode::UNPROCESSABLE_ENTITY,
];
/// Revert branches are `smallbatch/revert-<iid>-<sha7>`.
const REVERT_BRANCH_PREFIX: &str = "smallbatch/revert-";

/// Merges with `sha` set to `head`, so that GitLab refuses (409) if the source
/// branch moved. The merge method is the project's (merge commit, semi-linear or
/// fast-forward); GitLab only lets a merge choose squashing, so `Rebase` is refused
/// rather than silently merged another way. GitLab's refusals (405 not mergeable,
/// 406 conflicts, 409 head moved, 422) come back as `Refused` with its message.
pub(super) async fn merge(
    gl: &GitLabForge,
    pr: &PrRef,
    head: &CommitSha,
    method: MergeMethod,
) -> ForgeResult<CommitSha> {
    let body = match method {
        MergeMethod::Merge => json!({ "sha": head.as_str() }),
        MergeMethod::Squash => json!({ "sha": head.as_str(), "squash": true }),
        MergeMethod::Rebase => {
            return Err(ForgeError::Refused {
                reason: format!(
                    "{}!{}: GitLab cannot rebase a single merge; set the project's merge \
                     method to fast-forward and merge with `merge` or `squash`",
                    pr.repo.full_name, pr.number
                ),
            })
        }
    };
    let request = ApiRequest::new(Method::PUT, gl.mr_url(pr, &["merge"])).json(body);
    let sent = gl.client.send(&request).await?;
    let mr: models::MergeState = match sent.success_or_refused(&MERGE_REFUSALS) {
        Ok(response) => response.json()?,
        Err(failed @ (ForgeError::Refused { .. } | ForgeError::Permanent(_))) => {
            // A retry after a merge that went through: already merged at this head.
            match current_merge_state(gl, pr).await {
                Some(now) if now.state == "merged" && now.sha.as_deref() == Some(head.as_str()) => {
                    now
                }
                _ => return Err(failed),
            }
        }
        Err(e) => return Err(e),
    };
    if mr.state != "merged" {
        return Err(ForgeError::Permanent(format!(
            "{}!{}: GitLab accepted the merge but the merge request is {}",
            pr.repo.full_name, pr.number, mr.state
        )));
    }
    merged_commit(mr).map(CommitSha::new).ok_or_else(|| {
        ForgeError::Permanent(format!(
            "{}!{}: GitLab merged without naming the merged commit",
            pr.repo.full_name, pr.number
        ))
    })
}

/// The MR's merge state now, if it can be read; only a hint, so errors are `None`.
async fn current_merge_state(gl: &GitLabForge, pr: &PrRef) -> Option<models::MergeState> {
    let response = gl
        .client
        .send(&ApiRequest::get(gl.mr_url(pr, &[])))
        .await
        .ok()?;
    response.success().ok()?.json().ok()
}

/// `PUT deployments/:id` with the status (see [`deployment_status`]). GitLab only lets
/// the API update deployments created through the API: one made by a CI job is
/// refused (403), which comes back as `Refused` with GitLab's message.
pub(super) async fn set_deployment_state(
    gl: &GitLabForge,
    repo: &RepoRef,
    deployment: u64,
    state: DeploymentState,
) -> ForgeResult<()> {
    let status = deployment_status(state).ok_or_else(|| {
        ForgeError::Permanent(format!(
            "GitLab cannot set deployment {deployment} of {} back to {state:?}",
            repo.full_name
        ))
    })?;
    let id = deployment.to_string();
    let url = gl.project_url(repo, &["deployments", &id]);
    // Already there (an earlier attempt whose answer was lost): GitLab may refuse a
    // transition to the state a deployment is in, so it is not sent again.
    let current: models::DeploymentStatus = gl.client.get_json(url.clone()).await?;
    if current.status == status {
        return Ok(());
    }
    let request = ApiRequest::new(Method::PUT, url).json(json!({ "status": status }));
    gl.client
        .send(&request)
        .await?
        .success_or_refused(&[StatusCode::FORBIDDEN])?;
    Ok(())
}

/// Branches `smallbatch/revert-<iid>-<sha7>` off the target branch, reverts
/// `merge_sha` on it (GitLab reverts a merge commit against its first parent, the
/// target branch, by itself) and opens a merge request that deletes the branch once
/// merged. A repeated call after a partial failure picks up where it stopped: an
/// existing branch is reused, and an open merge request from it is returned.
pub(super) async fn open_revert(
    gl: &GitLabForge,
    pr: &PrRef,
    merge_sha: &CommitSha,
    title: &str,
    body: &str,
) -> ForgeResult<PrNumber> {
    let mr: models::MergeState = gl.client.get_json(gl.mr_url(pr, &[])).await?;
    let target = mr.target_branch;
    let branch = revert_branch(pr, merge_sha);
    let created = create_branch(gl, &pr.repo, &branch, &target).await?;
    let revert_url = gl.project_url(
        &pr.repo,
        &["repository", "commits", merge_sha.as_str(), "revert"],
    );
    let response = gl
        .client
        .send(&ApiRequest::new(Method::POST, revert_url).json(json!({ "branch": branch })))
        .await?;
    // On a branch left by an earlier attempt the revert is already there, and GitLab
    // says it "cannot revert this commit automatically".
    let already_reverted = !created
        && response.status == StatusCode::BAD_REQUEST
        && response.message().contains("cannot revert this commit");
    if !already_reverted {
        response.success()?;
    }
    let request = ApiRequest::new(Method::POST, gl.project_url(&pr.repo, &["merge_requests"]))
        .json(json!({
            "source_branch": branch,
            "target_branch": target,
            "title": title,
            "description": body,
            "remove_source_branch": true,
        }));
    let response = gl.client.send(&request).await?;
    if response.status == StatusCode::CONFLICT {
        if let Some(existing) = open_mr_from(gl, &pr.repo, &branch, &target).await? {
            return Ok(existing);
        }
    }
    let created: models::MergeRequestSummary = response.success()?.json()?;
    Ok(PrNumber(created.iid))
}

/// Creates `branch` at `from` and says whether it did: an existing branch (left by
/// an earlier attempt) is taken as it is.
async fn create_branch(
    gl: &GitLabForge,
    repo: &RepoRef,
    branch: &str,
    from: &str,
) -> ForgeResult<bool> {
    let url = with_query(
        gl.project_url(repo, &["repository", "branches"]),
        &[("branch", branch), ("ref", from)],
    );
    let response = gl.client.send(&ApiRequest::new(Method::POST, url)).await?;
    if response.status == StatusCode::BAD_REQUEST && response.message().contains("already exists") {
        return Ok(false);
    }
    response.success()?;
    Ok(true)
}

/// The open merge request from `source` into `target`, if any.
async fn open_mr_from(
    gl: &GitLabForge,
    repo: &RepoRef,
    source: &str,
    target: &str,
) -> ForgeResult<Option<PrNumber>> {
    let url = with_query(
        gl.project_url(repo, &["merge_requests"]),
        &[
            ("state", "opened"),
            ("source_branch", source),
            ("target_branch", target),
        ],
    );
    let found: Vec<models::MergeRequestSummary> = gl.client.get_json(url).await?;
    Ok(found.first().map(|m| PrNumber(m.iid)))
}

/// The commit a merge put on the target branch: the merge commit; else the squashed
/// commit (a fast-forward project squashing); else the head itself (a fast-forward
/// project without squashing).
fn merged_commit(mr: models::MergeState) -> Option<String> {
    mr.merge_commit_sha
        .or(mr.squash_commit_sha)
        .or(mr.sha)
        .filter(|sha| !sha.is_empty())
}

/// The deployment statuses GitLab's API can set: `running`, `success`, `failed` and
/// `canceled`. `created` cannot be set again, so pending and queued have none.
fn deployment_status(state: DeploymentState) -> Option<&'static str> {
    match state {
        DeploymentState::InProgress => Some("running"),
        DeploymentState::Success => Some("success"),
        DeploymentState::Failure | DeploymentState::Error => Some("failed"),
        DeploymentState::Inactive => Some("canceled"),
        DeploymentState::Pending | DeploymentState::Queued => None,
    }
}

fn revert_branch(pr: &PrRef, merge_sha: &CommitSha) -> String {
    format!("{REVERT_BRANCH_PREFIX}{}-{}", pr.number, merge_sha.short())
}
