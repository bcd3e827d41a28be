//! A rollback on GitLab: the healthy deployment's job run again, as the environment
//! page's "Rollback environment" button does (GitLab's documented rollback). The
//! re-run deploys that commit and reports through the same deployment events.
use super::GitLabForge;
use crate::domain::RepoRef;
use crate::forge::gitlab::client::ApiRequest;
use crate::forge::gitlab::models;
use crate::forge::{DeploymentStart, ForgeError, ForgeResult, RollbackDeployment};
use http::{Method, StatusCode};

/// `POST jobs/:job_id/retry` of the job behind the healthy deployment
/// (`GET deployments/:id`, its `deployable`). Never twice: a deployment of the healthy
/// commit to the environment newer than the regressed one is a rollback already under
/// way (an earlier attempt's, or someone's button), and is followed instead.
pub(super) async fn start_rollback(
    gl: &GitLabForge,
    repo: &RepoRef,
    rollback: &RollbackDeployment<'_>,
) -> ForgeResult<DeploymentStart> {
    let healthy = rollback.healthy.ok_or_else(|| ForgeError::Refused {
        reason: format!(
            "smallbatch did not see which deployment put `{}` in {}, so it has no job to run again",
            rollback.sha.short(),
            rollback.environment
        ),
    })?;
    let after = rollback.regressed.unwrap_or(healthy);
    if under_way(gl, repo, rollback, after).await? {
        return Ok(DeploymentStart::Following);
    }
    let id = healthy.to_string();
    let response = gl
        .client
        .send(&ApiRequest::get(
            gl.project_url(repo, &["deployments", &id]),
        ))
        .await?;
    if response.status == StatusCode::NOT_FOUND {
        return Err(ForgeError::Refused {
            reason: format!("GitLab no longer has deployment {healthy}"),
        });
    }
    let deployment: models::Deployment = response.success()?.json()?;
    let Some(job) = deployment.deployable else {
        return Err(ForgeError::Refused {
            reason: format!(
                "deployment {healthy} was not made by a CI/CD job, so there is no job to run again"
            ),
        });
    };
    let job = job.id.to_string();
    let request =
        ApiRequest::new(Method::POST, gl.project_url(repo, &["jobs", &job, "retry"])).once();
    let response = match gl.client.send(&request).await {
        Err(e) if e.is_transient() => {
            return if under_way(gl, repo, rollback, after).await? {
                Ok(DeploymentStart::Following)
            } else {
                Err(e)
            }
        }
        sent => sent?,
    };
    // 403: the job may not run again (archived, or the project forbids retrying
    // deployment jobs); 404: it is gone. Either is the team's to know, in GitLab's words.
    if matches!(
        response.status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ) {
        return Err(ForgeError::Refused {
            reason: format!("job {job} cannot run again ({})", response.message()),
        });
    }
    response.success()?;
    Ok(DeploymentStart::Following)
}

/// A deployment of the rollback's commit to its environment newer than deployment `after`.
async fn under_way(
    gl: &GitLabForge,
    repo: &RepoRef,
    rollback: &RollbackDeployment<'_>,
    after: u64,
) -> ForgeResult<bool> {
    let recent = super::deployment_now::recent_deployments(gl, repo, rollback.environment).await?;
    Ok(recent
        .iter()
        .any(|d| d.id > after && d.sha.as_deref() == Some(rollback.sha.as_str())))
}
