//! Labels on a PR, created in the repository with their colour the first time.

use super::{GitHubForge, RepoClient};
use crate::domain::PrRef;
use crate::forge::github::client::ApiRequest;
use crate::forge::github::models::ErrorBody;
use crate::forge::{ForgeError, ForgeResult};
use http::{Method, StatusCode};
use serde_json::json;

/// Adds label `name` to the PR, first creating it in the repository with `color`
/// (hex, no `#`) and `description` unless it is known to exist.
pub(super) async fn apply(
    gh: &GitHubForge,
    pr: &PrRef,
    name: &str,
    color: &str,
    description: &str,
) -> ForgeResult<()> {
    let api = gh.repo(&pr.repo)?;
    let create = create(api, name, color, description);
    gh.known_labels.ensure(&pr.repo, name, create).await?;
    let number = pr.number.to_string();
    let url = api.url(&["issues", &number, "labels"]);
    let request = ApiRequest::new(Method::POST, url).json(json!({ "labels": [name] }));
    api.send(&request).await?.success()?;
    Ok(())
}

/// Creates the label in the repository; one that already exists is left as it is.
async fn create(
    api: RepoClient<'_>,
    name: &str,
    color: &str,
    description: &str,
) -> ForgeResult<()> {
    let request = ApiRequest::new(Method::POST, api.url(&["labels"]))
        .json(json!({ "name": name, "color": color, "description": description }));
    let response = api.send(&request).await?;
    let already_exists = response.status == StatusCode::UNPROCESSABLE_ENTITY
        && ErrorBody::of(&response.body)
            .errors
            .iter()
            .any(|e| e.code == "already_exists");
    if !already_exists {
        response.success()?;
    }
    Ok(())
}

/// Removes label `name` from the PR; one that is not there is no error.
pub(super) async fn remove(api: RepoClient<'_>, pr: &PrRef, name: &str) -> ForgeResult<()> {
    let number = pr.number.to_string();
    let url = api.url(&["issues", &number, "labels", name]);
    match api
        .send(&ApiRequest::new(Method::DELETE, url))
        .await?
        .success()
    {
        Ok(_) | Err(ForgeError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
