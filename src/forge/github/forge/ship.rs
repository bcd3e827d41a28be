//! What `/ship` does on GitHub: the merge, the deployment and its statuses, and the
//! rollback and revert after a regression. Each is safe to repeat after an answer that was lost.

use super::{RepoClient, PER_PAGE};
use crate::domain::{CommitSha, DeploymentState, PrNumber, PrRef};
use crate::forge::github::client::ApiRequest;
use crate::forge::github::models;
use crate::forge::rest::{truncate_chars, with_query, Created};
use crate::forge::{DeploymentStart, ForgeError, ForgeResult, MergeMethod, RollbackDeployment};
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use url::Url;

/// GitHub rejects a deployment status description longer than this many characters.
const DEPLOYMENT_DESCRIPTION_MAX_CHARS: usize = 140;
/// Deployments of one commit to one environment read when looking for ours: one page.
const MAX_DEPLOYMENTS_PER_SHA: usize = 100;
/// Open PRs looked through for a revert opened by an earlier attempt: it is among the
/// newest, since it was opened moments before.
const REVERT_LOOKUP_LIMIT: usize = 100;
/// Creates the revert PR the way the "Revert" button does; REST has no equivalent.
const REVERT_MUTATION: &str = "mutation($pullRequestId: ID!, $title: String, $body: String) { \
revertPullRequest(input: {pullRequestId: $pullRequestId, title: $title, body: $body}) { \
revertPullRequest { number } } }";

pub(super) async fn merge(
    api: RepoClient<'_>,
    pr: &PrRef,
    head: &CommitSha,
    method: MergeMethod,
) -> ForgeResult<CommitSha> {
    let number = pr.number.to_string();
    let url = api.url(&["pulls", &number, "merge"]);
    let request = ApiRequest::new(Method::PUT, url)
        .json(json!({ "sha": head.as_str(), "merge_method": merge_method(method) }));
    let response = api.send(&request).await?;
    // Not mergeable (405), head moved (409), invalid (422): GitHub's own words are
    // what the user needs to read.
    if matches!(response.status.as_u16(), 405 | 409 | 422) {
        // A retry after a merge that went through: already merged at this very head.
        let pull: serde_json::Value = api
            .get_json(api.url(&["pulls", &number]))
            .await
            .unwrap_or_default();
        let merged_here = pull["merged"].as_bool() == Some(true)
            && pull["head"]["sha"].as_str() == Some(head.as_str());
        if let (true, Some(sha)) = (merged_here, pull["merge_commit_sha"].as_str()) {
            return Ok(CommitSha::new(sha));
        }
        let message = response.message();
        let reason = if message.is_empty() {
            format!("GitHub refused the merge ({})", response.status)
        } else {
            message
        };
        return Err(ForgeError::Refused { reason });
    }
    let merged: models::MergeResult = response.success()?.json()?;
    Ok(CommitSha::new(merged.sha))
}

fn merge_method(method: MergeMethod) -> &'static str {
    match method {
        MergeMethod::Merge => "merge",
        MergeMethod::Squash => "squash",
        MergeMethod::Rebase => "rebase",
    }
}

pub(super) async fn start_deployment(
    api: RepoClient<'_>,
    sha: &CommitSha,
    environment: &str,
    description: &str,
) -> ForgeResult<DeploymentStart> {
    let ours = |d: &models::Deployment| d.by_smallbatch();
    let payload = json!({ "smallbatch": true });
    create_deployment(api, sha, environment, description, payload, &ours).await
}

/// A new Deployment of the healthy commit, marked with the deployment it rolls back
/// (`payload.smallbatch.rollback_of`): the team's CD performs it like any other.
pub(super) async fn start_rollback(
    api: RepoClient<'_>,
    rollback: &RollbackDeployment<'_>,
) -> ForgeResult<DeploymentStart> {
    let of = rollback.regressed.ok_or_else(|| {
        ForgeError::Permanent(format!(
            "a rollback to {} in {} names no deployment it replaces",
            rollback.sha, rollback.environment
        ))
    })?;
    let ours = |d: &models::Deployment| d.rollback_of() == Some(of);
    let payload = json!({ "smallbatch": { "rollback_of": of } });
    let (sha, environment) = (rollback.sha, rollback.environment);
    create_deployment(api, sha, environment, rollback.description, payload, &ours).await
}

/// Creates one Deployment, never two: a second would run the team's CD twice. An earlier
/// attempt may have created it before failing, so one that is `ours` is looked for first,
/// and a creation whose answer is lost is looked for rather than sent again.
async fn create_deployment(
    api: RepoClient<'_>,
    sha: &CommitSha,
    environment: &str,
    description: &str,
    payload: serde_json::Value,
    ours: &(dyn Fn(&models::Deployment) -> bool + Sync),
) -> ForgeResult<DeploymentStart> {
    if let Some(id) = our_deployment(api, sha, environment, ours).await? {
        return Ok(DeploymentStart::Created { id });
    }
    // No auto-merge of the default branch into the ref, no required contexts: the
    // gate has already judged this exact commit.
    let request = ApiRequest::new(Method::POST, api.url(&["deployments"]))
        .json(json!({
            "ref": sha.as_str(),
            "environment": environment,
            "description": description,
            "auto_merge": false,
            "required_contexts": [],
            "payload": payload,
        }))
        .once();
    let response = match api.send(&request).await {
        Err(e) if e.is_transient() => {
            return match our_deployment(api, sha, environment, ours).await? {
                Some(id) => Ok(DeploymentStart::Created { id }),
                None => Err(e),
            }
        }
        // A conflict or a failed validation (a protected environment, a ref GitHub
        // cannot deploy) is the team's to fix.
        sent => {
            sent?.success_or_refused(&[StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY])?
        }
    };
    // 202 means GitHub merged something first instead of deploying: with
    // `auto_merge: false` it should not happen, and there is no deployment.
    if response.status == StatusCode::ACCEPTED {
        return Err(ForgeError::Permanent(format!(
            "no deployment was created: {}",
            response.message()
        )));
    }
    let deployment: Created = response.json()?;
    Ok(DeploymentStart::Created { id: deployment.id })
}

/// The deployment of `sha` to `environment` that is `ours`, if any; the newest first.
pub(super) async fn our_deployment(
    api: RepoClient<'_>,
    sha: &CommitSha,
    environment: &str,
    ours: &(dyn Fn(&models::Deployment) -> bool + Sync),
) -> ForgeResult<Option<u64>> {
    let url = with_query(
        api.url(&["deployments"]),
        &[
            ("sha", sha.as_str()),
            ("environment", environment),
            ("per_page", PER_PAGE),
        ],
    );
    let listed: Vec<models::Deployment> = api.get_all(url, MAX_DEPLOYMENTS_PER_SHA).await?;
    Ok(listed.into_iter().find(|d| ours(d)).map(|d| d.id))
}

pub(super) async fn set_deployment_state(
    api: RepoClient<'_>,
    deployment: u64,
    state: DeploymentState,
    description: &str,
) -> ForgeResult<()> {
    let id = deployment.to_string();
    let url = api.url(&["deployments", &id, "statuses"]);
    let wanted = state.as_str();
    // Every POST adds a status: one already saying `state` (an earlier attempt whose
    // answer was lost) is not added again.
    if latest_deployment_state(api, &url).await?.as_deref() == Some(wanted) {
        return Ok(());
    }
    let request = ApiRequest::new(Method::POST, url.clone())
        .json(json!({
            "state": wanted,
            "description": truncate_chars(description, DEPLOYMENT_DESCRIPTION_MAX_CHARS),
        }))
        .once();
    match api.send(&request).await {
        Err(e) if e.is_transient() => {
            let latest = latest_deployment_state(api, &url).await?;
            if latest.as_deref() == Some(wanted) {
                Ok(())
            } else {
                Err(e)
            }
        }
        sent => sent?.success().map(|_| ()),
    }
}

/// The newest status of the deployment whose statuses are at `statuses`.
pub(super) async fn latest_deployment_state(
    api: RepoClient<'_>,
    statuses: &Url,
) -> ForgeResult<Option<String>> {
    let url = with_query(statuses.clone(), &[("per_page", "1")]);
    let listed: Vec<models::DeploymentStatus> = api.get_json(url).await?;
    Ok(listed.into_iter().next().map(|s| s.state))
}

/// GitHub reverts the PR's own merge (its `merge_commit_sha`), so `merge_sha` is
/// only compared with it for the log: refusing a revert after a regression over a
/// mismatch would leave the regression in place.
pub(super) async fn open_revert(
    api: RepoClient<'_>,
    pr: &PrRef,
    merge_sha: &CommitSha,
    title: &str,
    body: &str,
) -> ForgeResult<PrNumber> {
    let number = pr.number.to_string();
    let pull: models::PullMergeState = api.get_json(api.url(&["pulls", &number])).await?;
    if pull.merge_commit_sha.as_deref() != Some(merge_sha.as_str()) {
        tracing::warn!(%pr, expected = %merge_sha, found = ?pull.merge_commit_sha, "reverting a PR whose merge commit is not the one shipped");
    }
    // A revert opened by an earlier attempt whose answer was lost is not opened again.
    let marker = revert_marker(merge_sha);
    let base = pull.base.as_ref().map(|b| b.name.as_str());
    if let Some(number) = our_revert(api, base, &marker).await? {
        return Ok(PrNumber(number));
    }
    let body = format!("{body}\n{marker}\n");
    let variables = json!({ "pullRequestId": pull.node_id, "title": title, "body": body });
    let data: models::RevertData = match graphql(api, REVERT_MUTATION, variables).await {
        Err(e) if e.is_transient() => {
            return match our_revert(api, base, &marker).await? {
                Some(number) => Ok(PrNumber(number)),
                None => Err(e),
            }
        }
        sent => sent?,
    };
    let revert = data
        .revert_pull_request
        .and_then(|payload| payload.revert_pull_request)
        .ok_or_else(|| ForgeError::Permanent(format!("GitHub GraphQL: no revert PR for {pr}")))?;
    Ok(PrNumber(revert.number))
}

/// Identifies, in its description, the revert of `merge_sha` this App opened.
fn revert_marker(merge_sha: &CommitSha) -> String {
    format!("<!-- smallbatch:revert:{merge_sha} -->")
}

/// An open revert this App opened, found by the marker in its description among
/// the newest open PRs on `base`.
async fn our_revert(
    api: RepoClient<'_>,
    base: Option<&str>,
    marker: &str,
) -> ForgeResult<Option<u64>> {
    let mut query = vec![
        ("state", "open"),
        ("sort", "created"),
        ("direction", "desc"),
        ("per_page", PER_PAGE),
    ];
    query.extend(base.map(|b| ("base", b)));
    let url = with_query(api.url(&["pulls"]), &query);
    let listed: Vec<models::PullBody> = api.get_all(url, REVERT_LOOKUP_LIMIT).await?;
    Ok(listed
        .into_iter()
        .find(|p| p.body.as_deref().is_some_and(|b| b.contains(marker)))
        .map(|p| p.number))
}

/// Runs one GraphQL mutation; errors in the answer (HTTP 200 all the same) are
/// permanent, with GitHub's messages.
async fn graphql<T: DeserializeOwned>(
    api: RepoClient<'_>,
    query: &str,
    variables: serde_json::Value,
) -> ForgeResult<T> {
    // A mutation whose answer is lost may have happened: sent once.
    let request = ApiRequest::new(Method::POST, api.client.graphql_url())
        .json(json!({ "query": query, "variables": variables }))
        .once();
    let answer: models::GraphQlResponse<T> = api.send(&request).await?.success()?.json()?;
    if !answer.errors.is_empty() {
        let messages: Vec<&str> = answer.errors.iter().map(|e| e.message.as_str()).collect();
        return Err(ForgeError::Permanent(format!(
            "GitHub GraphQL: {}",
            messages.join("; ")
        )));
    }
    answer
        .data
        .ok_or_else(|| ForgeError::Permanent("GitHub GraphQL: an answer without data".into()))
}
