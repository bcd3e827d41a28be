//! Reads the repository's policy, `.gitattributes` and, when the policy asks for owners,
//! CODEOWNERS from the base commit. Files are cached by commit: content at a commit never
//! changes, so a PR re-evaluated on the same base costs no API call.
use super::{Ctx, JobError};
use crate::domain::{CommitSha, RepoRef};
use crate::forge::Forge;
use crate::policy::codeowners::{self, CodeOwners};
use crate::policy::config::{config_paths, OwnersSource};
use crate::policy::{BaseFacts, ConfigError, RepoConfig};

pub struct RepoPolicy {
    /// A broken CODEOWNERS, or a missing one the policy asks for, is an error here too.
    pub config: Result<RepoConfig, ConfigError>,
    /// `.gitattributes` and CODEOWNERS; no teams looked up yet (see `owners`).
    pub base: BaseFacts,
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
    let mut policy_file = None;
    for path in config_paths(repo.forge) {
        if let Some(text) = file_at(ctx, forge, repo, base, path).await? {
            config = RepoConfig::parse_for(repo.forge, path, &text);
            policy_file = Some((path, text));
            break;
        }
    }
    let gitattributes = file_at(ctx, forge, repo, base, ".gitattributes").await?;
    let mut facts = BaseFacts::new(repo.forge, gitattributes);
    let wants_owners = matches!(&config, Ok(c) if c.reviews.owners == OwnersSource::Codeowners);
    if wants_owners {
        match first_codeowners(ctx, forge, repo, base).await? {
            Some((path, text)) => match CodeOwners::parse(path, &text, repo.forge) {
                Ok(parsed) => facts.codeowners = Some(parsed),
                Err(e) => config = Err(e),
            },
            None => {
                let (file, text) = policy_file.unwrap_or_default();
                config = Err(codeowners::missing(file, &text, repo.forge));
            }
        }
    }
    Ok(RepoPolicy {
        config,
        base: facts,
    })
}

/// The first CODEOWNERS in the forge's own order of places.
async fn first_codeowners(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    commit: &CommitSha,
) -> Result<Option<(&'static str, String)>, JobError> {
    for path in codeowners::paths(repo.forge) {
        if let Some(text) = file_at(ctx, forge, repo, commit, path).await? {
            return Ok(Some((path, text)));
        }
    }
    Ok(None)
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
