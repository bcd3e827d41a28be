//! The members of a group that CODEOWNERS or `reviews.rules` names (`@group`,
//! `@group/subgroup`).

use super::{GitLabForge, PER_PAGE};
use crate::forge::gitlab::models::GroupMember;
use crate::forge::rest::with_query;
use crate::forge::{ForgeError, ForgeResult};
use crate::policy::owners::Membership;
use http::StatusCode;

/// More members than any group that reviews code has; the rest are not read.
const MAX_MEMBERS: usize = 3000;

/// `GET /groups/:id/members/all`, every page: the group's members, inherited ones
/// included, invitations not yet accepted left out. GitLab answers 404 for a group the
/// token cannot see or that does not exist, which is how a single name (`@alice`) turns
/// out to be a user.
pub(super) async fn members(gl: &GitLabForge, handle: &str) -> ForgeResult<Membership> {
    let url = with_query(
        gl.client.endpoint(["groups", handle, "members", "all"]),
        &[("per_page", PER_PAGE)],
    );
    let listed = gl
        .client
        .get_all_or_refused::<GroupMember>(url, MAX_MEMBERS, &[StatusCode::FORBIDDEN])
        .await;
    match listed {
        Ok(listing) => Ok(Membership::Members {
            logins: listing
                .items
                .into_iter()
                .filter(|m| m.membership_state.as_deref() != Some("awaiting"))
                .map(|m| m.username)
                .collect(),
        }),
        Err(ForgeError::NotFound(_)) => Ok(Membership::NotFound),
        Err(ForgeError::Refused { reason }) => {
            tracing::warn!(group = handle, %reason, "may not read the group's members");
            Ok(Membership::Forbidden)
        }
        Err(e) => Err(e),
    }
}
