//! A deployment read back from GitHub, for a ship whose `deployment_status` webhook
//! was lost: GitHub does not redeliver by itself.

use super::ship::{latest_deployment_state, our_deployment};
use super::RepoClient;
use crate::domain::{DeploymentRef, DeploymentState};
use crate::forge::github::models;
use crate::forge::{AwaitedDeployment, ForgeResult};

/// The awaited deployment's newest status: when smallbatch did not create it, the
/// newest of the commit to the environment above `after` (GitHub lists newest first).
/// A deployment with no status yet, or with a state GitHub adds later, is pending.
pub(super) async fn deployment_now(
    api: RepoClient<'_>,
    awaited: &AwaitedDeployment<'_>,
) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>> {
    let newer = |d: &models::Deployment| d.id > awaited.after;
    let id = match awaited.id {
        Some(id) => id,
        None => match our_deployment(api, awaited.sha, awaited.environment, &newer).await? {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    let statuses = api.url(&["deployments", &id.to_string(), "statuses"]);
    let state = latest_deployment_state(api, &statuses)
        .await?
        .and_then(|state| models::deployment_state(&state))
        .unwrap_or(DeploymentState::Pending);
    let deployment = DeploymentRef {
        id,
        sha: awaited.sha.clone(),
        environment: awaited.environment.to_owned(),
    };
    Ok(Some((deployment, state)))
}
