//! Labels on a merge request, created in the project with their colour the first time.

use super::GitLabForge;
use crate::domain::{PrRef, RepoRef};
use crate::forge::gitlab::client::ApiRequest;
use crate::forge::{ForgeResult, Label};
use http::{Method, StatusCode};
use serde_json::json;

/// Creates `label` in the project unless it is known to exist.
pub(super) async fn create(gl: &GitLabForge, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()> {
    gl.known_labels
        .ensure(repo, label.name, create_once(gl, repo, label))
        .await
}

/// Creates the label in the project; one that already exists is left as it is.
async fn create_once(gl: &GitLabForge, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()> {
    let body = json!({
        "name": label.name,
        "color": format!("#{}", label.color),
        "description": label.description,
    });
    let request = ApiRequest::new(Method::POST, gl.project_url(repo, &["labels"])).json(body);
    let response = gl.client.send(&request).await?;
    // "Label already exists".
    if response.status != StatusCode::CONFLICT {
        response.success()?;
    }
    Ok(())
}

pub(super) async fn add(gl: &GitLabForge, pr: &PrRef, name: &str) -> ForgeResult<()> {
    update(gl, pr, "add_labels", name).await
}

/// Removes label `name` from the MR; one that is not there is no error.
pub(super) async fn remove(gl: &GitLabForge, pr: &PrRef, name: &str) -> ForgeResult<()> {
    update(gl, pr, "remove_labels", name).await
}

/// `PUT` the MR with `add_labels` or `remove_labels`, which leave its other labels be.
async fn update(gl: &GitLabForge, pr: &PrRef, field: &str, name: &str) -> ForgeResult<()> {
    let request = ApiRequest::new(Method::PUT, gl.mr_url(pr, &[])).json(json!({ field: name }));
    gl.client.send(&request).await?.success()?;
    Ok(())
}
