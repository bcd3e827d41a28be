//! A deployment read back from GitLab, for a ship whose Deployment Hook was lost or
//! failed: GitLab gives up on a hook that keeps failing.

use super::GitLabForge;
use crate::domain::{DeploymentRef, DeploymentState, RepoRef};
use crate::forge::gitlab::models;
use crate::forge::rest::with_query;
use crate::forge::{AwaitedDeployment, ForgeResult};

/// The environment's newest deployments looked through for a commit's: a CI pipeline
/// deploys it moments after the merge (or the rollback's retry), so it is among them.
const RECENT_DEPLOYMENTS: &str = "20";

/// The awaited deployment and its status. One with a status we cannot act on (`skipped`)
/// is still waited for.
pub(super) async fn deployment_now(
    gl: &GitLabForge,
    repo: &RepoRef,
    awaited: &AwaitedDeployment<'_>,
) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>> {
    let found = match awaited.id {
        Some(id) => {
            let url = gl.project_url(repo, &["deployments", &id.to_string()]);
            let status: models::DeploymentStatus = gl.client.get_json(url).await?;
            Some((id, status.status))
        }
        None => newest(gl, repo, awaited).await?,
    };
    Ok(found.map(|(id, status)| {
        let deployment = DeploymentRef {
            id,
            sha: awaited.sha.clone(),
            environment: awaited.environment.to_owned(),
        };
        let state = models::deployment_state(&status).unwrap_or(DeploymentState::Pending);
        (deployment, state)
    }))
}

/// The newest deployment of the commit to the environment above `after`.
async fn newest(
    gl: &GitLabForge,
    repo: &RepoRef,
    awaited: &AwaitedDeployment<'_>,
) -> ForgeResult<Option<(u64, String)>> {
    let recent = recent_deployments(gl, repo, awaited.environment).await?;
    Ok(recent
        .into_iter()
        .find(|d| d.id > awaited.after && d.sha.as_deref() == Some(awaited.sha.as_str()))
        .map(|d| (d.id, d.status)))
}

/// The environment's newest deployments, newest first. GitLab cannot filter deployments
/// by commit, so callers look through these for theirs.
pub(super) async fn recent_deployments(
    gl: &GitLabForge,
    repo: &RepoRef,
    environment: &str,
) -> ForgeResult<Vec<models::Deployment>> {
    let url = with_query(
        gl.project_url(repo, &["deployments"]),
        &[
            ("environment", environment),
            ("order_by", "id"),
            ("sort", "desc"),
            ("per_page", RECENT_DEPLOYMENTS),
        ],
    );
    gl.client.get_json(url).await
}
