//! A deployment read back from GitHub, for a ship whose `deployment_status` webhook
//! was lost: GitHub does not redeliver by itself.

use super::{RepoClient, PER_PAGE};
use crate::domain::{DeploymentRef, DeploymentState};
use crate::forge::github::models;
use crate::forge::rest::with_query;
use crate::forge::{AwaitedDeployment, ForgeResult};

/// The awaited deployment's newest status. A deployment with no status yet is pending,
/// as GitHub shows it.
pub(super) async fn deployment_now(
    api: RepoClient<'_>,
    awaited: &AwaitedDeployment<'_>,
) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>> {
    let id = match awaited.id {
        Some(id) => id,
        None => match newest(api, awaited).await? {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    let url = with_query(
        api.url(&["deployments", &id.to_string(), "statuses"]),
        &[("per_page", "1")],
    );
    let newest: Vec<models::DeploymentStatus> = api.get_json(url).await?;
    let state = match newest.first() {
        // A state GitHub adds later is not one we can act on: still waiting.
        Some(status) => models::deployment_state(&status.state).unwrap_or(DeploymentState::Pending),
        None => DeploymentState::Pending,
    };
    let deployment = DeploymentRef {
        id,
        sha: awaited.sha.clone(),
        environment: awaited.environment.to_owned(),
    };
    Ok(Some((deployment, state)))
}

/// The newest deployment of the commit to the environment above `after`; GitHub lists
/// newest first.
async fn newest(api: RepoClient<'_>, awaited: &AwaitedDeployment<'_>) -> ForgeResult<Option<u64>> {
    let url = with_query(
        api.url(&["deployments"]),
        &[
            ("sha", awaited.sha.as_str()),
            ("environment", awaited.environment),
            ("per_page", PER_PAGE),
        ],
    );
    let listed: Vec<models::Deployment> = api.get_json(url).await?;
    Ok(listed
        .into_iter()
        .map(|d| d.id)
        .find(|id| *id > awaited.after))
}
