//! The members of the teams and groups a PR's owners name, looked up through the forge
//! and kept in memory for a few minutes: membership changes rarely, and a PR is evaluated
//! on every review and push. Each process keeps its own; a change of membership shows
//! within [`TEAM_TTL`].
use super::{Ctx, JobError};
use crate::domain::{PrSnapshot, RepoRef};
use crate::forge::Forge;
use crate::policy::owners::Membership;
use crate::policy::{self, BaseFacts, RepoConfig, Teams};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a team's members are taken as read.
pub const TEAM_TTL: Duration = Duration::from_secs(5 * 60);

/// Team members by (forge and credential, handle), with when they were read.
#[derive(Debug, Default)]
pub struct TeamCache(Mutex<HashMap<(String, String), (Instant, Membership)>>);

impl TeamCache {
    /// Teams are the organization's (or the instance's), seen through the repository's
    /// credential: a GitHub App installation sees its own organization only.
    fn key(repo: &RepoRef, handle: &str) -> (String, String) {
        let credential = match repo.installation {
            Some(id) => format!("{}:{id}", repo.forge.as_str()),
            None => repo.forge.as_str().to_owned(),
        };
        (credential, handle.to_lowercase())
    }

    fn get(&self, repo: &RepoRef, handle: &str) -> Option<Membership> {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (read, membership) = cache.get(&Self::key(repo, handle))?;
        (read.elapsed() < TEAM_TTL).then(|| membership.clone())
    }

    fn put(&self, repo: &RepoRef, handle: &str, membership: Membership) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (read, _)| read.elapsed() < TEAM_TTL);
        cache.insert(Self::key(repo, handle), (Instant::now(), membership));
    }
}

/// Fills `base.teams` with the members of the teams owning `snap`'s counted files. Nothing
/// is asked when the policy names no owners.
pub async fn look_up_teams(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    snap: &PrSnapshot,
    config: &RepoConfig,
    base: &mut BaseFacts,
) -> Result<(), JobError> {
    let mut teams = Teams::default();
    for handle in policy::owner_handles(snap, config, base) {
        let membership = match ctx.teams.get(repo, &handle) {
            Some(known) => known,
            None => {
                let read = forge.team_members(repo, &handle).await?;
                ctx.teams.put(repo, &handle, read.clone());
                read
            }
        };
        teams.insert(&handle, membership);
    }
    base.teams = teams;
    Ok(())
}
