//! The members of a team that CODEOWNERS or `reviews.rules` names (`@org/team`).

use super::{RepoClient, PER_PAGE};
use crate::forge::github::models::Account;
use crate::forge::rest::with_query;
use crate::forge::{ForgeError, ForgeResult};
use crate::policy::owners::Membership;
use http::StatusCode;

/// More members than any team that reviews code has; the rest are not read.
const MAX_MEMBERS: usize = 3000;

/// `GET /orgs/{org}/teams/{team_slug}/members`, every page: the team's members, those of
/// its child teams included. The App needs the organization permission "Members: read";
/// without it GitHub answers 403, and 404 for a team it cannot see or that does not exist.
pub(super) async fn members(api: RepoClient<'_>, handle: &str) -> ForgeResult<Membership> {
    let Some((org, slug)) = handle.split_once('/') else {
        // A single name is a user on GitHub, never a team.
        return Ok(Membership::NotFound);
    };
    let url = with_query(
        api.client.endpoint(["orgs", org, "teams", slug, "members"]),
        &[("per_page", PER_PAGE)],
    );
    let listed = api
        .client
        .get_all_or_refused::<Account>(api.installation, url, MAX_MEMBERS, &[StatusCode::FORBIDDEN])
        .await;
    match listed {
        Ok(accounts) => Ok(Membership::Members {
            logins: accounts.into_iter().map(|a| a.login).collect(),
        }),
        Err(ForgeError::NotFound(_)) => Ok(Membership::NotFound),
        Err(ForgeError::Refused { reason }) => {
            tracing::warn!(team = handle, %reason, "may not read the team's members");
            Ok(Membership::Forbidden)
        }
        Err(e) => Err(e),
    }
}
