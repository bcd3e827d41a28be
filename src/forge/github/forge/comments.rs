//! Issue comments: the bot's own, and the commands people write, acknowledged with a
//! reaction and allowed by the commenter's permission.

use super::{GitHubForge, RepoClient, PER_PAGE};
use crate::domain::{CommentId, Permission, PrRef};
use crate::forge::github::client::ApiRequest;
use crate::forge::github::models;
use crate::forge::rest::{with_query, Created};
use crate::forge::{ForgeError, ForgeResult};
use http::Method;
use serde_json::json;

/// The bot's comment carrying `marker`, with its body.
pub(super) async fn find(
    gh: &GitHubForge,
    pr: &PrRef,
    marker: &str,
) -> ForgeResult<Option<(CommentId, String)>> {
    let api = gh.repo(&pr.repo)?;
    let bot = bot_login(gh).await?;
    let number = pr.number.to_string();
    let url = with_query(
        api.url(&["issues", &number, "comments"]),
        &[("per_page", PER_PAGE)],
    );
    let comments: Vec<models::IssueComment> = api.get_all(url, usize::MAX).await?;
    let ours = |author: &Option<models::Account>| match (author, bot) {
        (Some(a), Some(login)) => a.login == login,
        (Some(a), None) => a.is_bot(),
        (None, _) => false,
    };
    Ok(comments
        .into_iter()
        .find(|c| c.body.contains(marker) && ours(&c.user))
        .map(|c| (CommentId(c.id), c.body)))
}

/// The login our comments carry. From settings, else `GET /app` once.
async fn bot_login(gh: &GitHubForge) -> ForgeResult<Option<&str>> {
    let login = gh
        .bot_login
        .get_or_try_init(|| async {
            if let Some(slug) = &gh.configured_slug {
                return Ok(Some(format!("{slug}[bot]")));
            }
            let request = ApiRequest::get(gh.client.endpoint(["app"]));
            match gh.client.send_as_app(&request).await?.success() {
                Ok(response) => {
                    let app: models::App = response.json()?;
                    Ok(Some(format!("{}[bot]", app.slug)))
                }
                // Transient failures propagate (and are not cached); a refusal is
                // not worth failing every job over.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the App's slug; treating any bot as us");
                    Ok::<_, ForgeError>(None)
                }
            }
        })
        .await?;
    Ok(login.as_deref())
}

/// Posts a comment; `repeatable: false` sends it once (see `ApiRequest::repeatable`).
pub(super) async fn post(
    api: RepoClient<'_>,
    pr: &PrRef,
    body: &str,
    repeatable: bool,
) -> ForgeResult<CommentId> {
    let number = pr.number.to_string();
    let url = api.url(&["issues", &number, "comments"]);
    let mut request = ApiRequest::new(Method::POST, url).json(json!({ "body": body }));
    request.repeatable = repeatable;
    let comment: Created = api.send(&request).await?.success()?.json()?;
    Ok(CommentId(comment.id))
}

pub(super) async fn edit(api: RepoClient<'_>, id: CommentId, body: &str) -> ForgeResult<()> {
    let id = id.to_string();
    let url = api.url(&["issues", "comments", &id]);
    let request = ApiRequest::new(Method::PATCH, url).json(json!({ "body": body }));
    api.send(&request).await?.success()?;
    Ok(())
}

/// 👀 on the command's comment.
pub(super) async fn acknowledge(api: RepoClient<'_>, comment: CommentId) -> ForgeResult<()> {
    let id = comment.to_string();
    let url = api.url(&["issues", "comments", &id, "reactions"]);
    let request = ApiRequest::new(Method::POST, url).json(json!({ "content": "eyes" }));
    // 200 when the reaction was already there, 201 when created.
    api.send(&request).await?.success()?;
    Ok(())
}

pub(super) async fn permission(api: RepoClient<'_>, user: &str) -> ForgeResult<Permission> {
    let url = api.url(&["collaborators", user, "permission"]);
    match api.get_json::<models::CollaboratorPermission>(url).await {
        Ok(answer) => Ok(role(&answer)),
        // Not a collaborator, e.g. the author of a PR from a fork.
        Err(ForgeError::NotFound(_)) => Ok(Permission::None),
        Err(e) => Err(e),
    }
}

/// `role_name` is exact for the built-in roles; a custom role is named by the
/// organization, so its base `permission` is used instead.
fn role(answer: &models::CollaboratorPermission) -> Permission {
    let by_name = |name: &str| match name {
        "admin" => Some(Permission::Admin),
        "maintain" => Some(Permission::Maintain),
        "write" => Some(Permission::Write),
        "triage" => Some(Permission::Triage),
        "read" => Some(Permission::Read),
        "none" => Some(Permission::None),
        _ => None,
    };
    answer
        .role_name
        .as_deref()
        .and_then(by_name)
        .or_else(|| by_name(&answer.permission))
        .unwrap_or(Permission::None)
}
