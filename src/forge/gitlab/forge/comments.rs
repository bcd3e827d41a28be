//! Notes on a merge request: the bot's own, and the commands people write,
//! acknowledged with an award emoji and allowed by the commenter's access level.

use super::{GitLabForge, PER_PAGE};
use crate::domain::{CommentId, Permission, PrRef, RepoRef};
use crate::forge::gitlab::client::ApiRequest;
use crate::forge::gitlab::models;
use crate::forge::rest::{with_query, Created};
use crate::forge::{ForgeError, ForgeResult};
use http::Method;
use serde_json::json;
use std::collections::HashMap;
use std::sync::MutexGuard;

/// The emoji that acknowledges a command (👀).
const ACK_EMOJI: &str = "eyes";

/// Our note: carries `marker` and was written by the token's user. System notes
/// ("added 1 commit", label changes) never match, even if they quote the marker.
pub(super) async fn find(
    gl: &GitLabForge,
    pr: &PrRef,
    marker: &str,
) -> ForgeResult<Option<(CommentId, String)>> {
    let me = username(gl).await?;
    let url = with_query(
        gl.mr_url(pr, &["notes"]),
        &[("per_page", PER_PAGE), ("sort", "asc")],
    );
    let notes = gl.client.get_all::<models::Note>(url, usize::MAX).await?;
    Ok(notes
        .items
        .into_iter()
        .find(|n| {
            !n.system
                && n.body.contains(marker)
                && n.author.as_ref().is_some_and(|a| a.username == me)
        })
        .map(|n| (CommentId(n.id), n.body)))
}

/// The token's own username, which our notes carry.
async fn username(gl: &GitLabForge) -> ForgeResult<&str> {
    let name = gl
        .username
        .get_or_try_init(|| async {
            let me: models::Account = gl.client.get_json(gl.client.endpoint(["user"])).await?;
            Ok::<_, ForgeError>(me.username)
        })
        .await?;
    Ok(name)
}

/// Posts a note; `repeatable: false` sends it once (see `ApiRequest::repeatable`).
pub(super) async fn post(
    gl: &GitLabForge,
    pr: &PrRef,
    body: &str,
    repeatable: bool,
) -> ForgeResult<CommentId> {
    let mut request =
        ApiRequest::new(Method::POST, gl.mr_url(pr, &["notes"])).json(json!({ "body": body }));
    request.repeatable = repeatable;
    let note: Created = gl.client.send(&request).await?.success()?.json()?;
    Ok(CommentId(note.id))
}

pub(super) async fn edit(
    gl: &GitLabForge,
    pr: &PrRef,
    id: CommentId,
    body: &str,
) -> ForgeResult<()> {
    let id = id.to_string();
    let request =
        ApiRequest::new(Method::PUT, gl.mr_url(pr, &["notes", &id])).json(json!({ "body": body }));
    gl.client.send(&request).await?.success()?;
    Ok(())
}

/// Awards 👀 (`eyes`) to the command's note. GitLab refuses a second identical award
/// with 404 "Award Emoji Name has already been taken" on some versions and 400 or
/// 422 on others; the command is acknowledged either way.
pub(super) async fn acknowledge(
    gl: &GitLabForge,
    pr: &PrRef,
    comment: CommentId,
) -> ForgeResult<()> {
    let id = comment.to_string();
    let request = ApiRequest::new(Method::POST, gl.mr_url(pr, &["notes", &id, "award_emoji"]))
        .json(json!({ "name": ACK_EMOJI }));
    let response = gl.client.send(&request).await?;
    if response.status.is_client_error() && response.message().contains("already been taken") {
        return Ok(());
    }
    response.success()?;
    Ok(())
}

/// The user's effective access level (direct, or inherited from groups); see
/// [`access_permission`]. An unknown user or a non-member has `None`.
pub(super) async fn permission(
    gl: &GitLabForge,
    repo: &RepoRef,
    user: &str,
) -> ForgeResult<Permission> {
    let Some(id) = user_id(gl, user).await? else {
        return Ok(Permission::None);
    };
    let id = id.to_string();
    let url = gl.project_url(repo, &["members", "all", &id]);
    match gl.client.get_json::<models::Member>(url).await {
        Ok(member) => Ok(access_permission(&member)),
        Err(ForgeError::NotFound(_)) => Ok(Permission::None),
        Err(e) => Err(e),
    }
}

/// The id of the user called `username`; `None` when there is none.
async fn user_id(gl: &GitLabForge, username: &str) -> ForgeResult<Option<u64>> {
    let key = username.to_lowercase();
    if let Some(id) = user_ids(gl).get(&key) {
        return Ok(Some(*id));
    }
    let url = with_query(gl.client.endpoint(["users"]), &[("username", username)]);
    let found: Vec<models::UserId> = gl.client.get_json(url).await?;
    let Some(user) = found.first() else {
        return Ok(None);
    };
    user_ids(gl).insert(key, user.id);
    Ok(Some(user.id))
}

fn user_ids(gl: &GitLabForge) -> MutexGuard<'_, HashMap<String, u64>> {
    // Inserts are atomic, so the map stays valid even if a holder panicked.
    gl.user_ids.lock().unwrap_or_else(|e| e.into_inner())
}

/// GitLab's access levels as permissions, by threshold so that levels added between
/// them (Planner, 15) get the lesser one: below Guest (No access 0, Minimal access 5)
/// is `None`; Guest (10) and Planner `Read`; Reporter (20) `Triage`; Developer (30)
/// `Write`; Maintainer (40) `Maintain`; Owner (50) and above `Admin`. An invitation
/// not yet accepted grants nothing.
fn access_permission(member: &models::Member) -> Permission {
    if member.state.as_deref().is_some_and(|s| s != "active") {
        return Permission::None;
    }
    match member.access_level {
        50.. => Permission::Admin,
        40.. => Permission::Maintain,
        30.. => Permission::Write,
        20.. => Permission::Triage,
        10.. => Permission::Read,
        _ => Permission::None,
    }
}
