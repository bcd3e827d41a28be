//! Reads the repository's policy and `.gitattributes` from the base commit.
//! Both are cached by commit: content at a commit never changes, so a PR re-evaluated
//! on the same base costs no API call.
use super::{Ctx, JobError};
use crate::domain::{CommitSha, RepoRef};
use crate::forge::Forge;
use crate::policy::config::config_paths;
use crate::policy::{ConfigError, RepoConfig};

pub struct RepoPolicy {
    pub config: Result<RepoConfig, ConfigError>,
    pub gitattributes: Option<String>,
}

/// The commit of `branch` whose policy applies: the branch head as of the last policy
/// change seen (kept current by push events), looked up once when unknown. A PR's own
/// base commit is not used: it dates from the PR's last push and would miss later changes.
pub async fn policy_commit(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    branch: &str,
) -> Result<CommitSha, JobError> {
    if let Some(sha) = ctx.store.policy_head(repo, branch).await? {
        return Ok(sha);
    }
    refresh_policy_commit(ctx, forge, repo, branch).await
}

/// Records the branch's current head as the commit to read its policy at.
pub async fn refresh_policy_commit(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    branch: &str,
) -> Result<CommitSha, JobError> {
    let head = forge.branch_head(repo, branch).await?;
    ctx.store.set_policy_head(repo, branch, &head).await?;
    Ok(head)
}

pub async fn load(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    base: &CommitSha,
) -> Result<RepoPolicy, JobError> {
    let mut config = Ok(RepoConfig::default());
    for path in config_paths(repo.forge) {
        if let Some(text) = file_at(ctx, forge, repo, base, path).await? {
            config = RepoConfig::parse_for(repo.forge, path, &text);
            break;
        }
    }
    let gitattributes = file_at(ctx, forge, repo, base, ".gitattributes").await?;
    Ok(RepoPolicy {
        config,
        gitattributes,
    })
}

async fn file_at(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    commit: &CommitSha,
    path: &str,
) -> Result<Option<String>, JobError> {
    if let Some(cached) = ctx.store.cached_file(repo, commit, path).await? {
        return Ok(cached);
    }
    let content = forge.file_at(repo, commit, path).await?;
    ctx.store
        .cache_file(repo, commit, path, content.as_deref())
        .await?;
    Ok(content)
}
