//! Labels on a PR, created in the repository with their colour the first time.

use super::{GitHubForge, RepoClient};
use crate::domain::{PrRef, RepoRef};
use crate::forge::github::client::ApiRequest;
use crate::forge::github::models::ErrorBody;
use crate::forge::{ForgeError, ForgeResult, Label};
use http::{Method, StatusCode};
use serde_json::json;

/// Creates `label` in the repository unless it is known to exist.
pub(super) async fn create(gh: &GitHubForge, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()> {
    let api = gh.repo(repo)?;
    gh.known_labels
        .ensure(repo, label.name, create_once(api, label))
        .await
}

/// Creates the label in the repository; one that already exists is left as it is.
async fn create_once(api: RepoClient<'_>, label: &Label<'_>) -> ForgeResult<()> {
    let body =
        json!({ "name": label.name, "color": label.color, "description": label.description });
    let request = ApiRequest::new(Method::POST, api.url(&["labels"])).json(body);
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

pub(super) async fn add(api: RepoClient<'_>, pr: &PrRef, name: &str) -> ForgeResult<()> {
    let number = pr.number.to_string();
    let url = api.url(&["issues", &number, "labels"]);
    let request = ApiRequest::new(Method::POST, url).json(json!({ "labels": [name] }));
    api.send(&request).await?.success()?;
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
