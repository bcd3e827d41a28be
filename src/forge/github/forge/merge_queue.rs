//! GitHub merge queues: which PRs a merge group holds, and the gate's check on the
//! group's commit.
//!
//! Each queued PR gets a branch `gh-readonly-queue/<base>/pr-<n>-<sha>` whose commit is
//! its merge group: the base branch plus the PRs queued ahead of it plus itself. A group
//! therefore holds its own PR and every PR whose queue branch points into the commits
//! between the group's base and head; [`merge_group::members`] decides that.
use super::checks::{conclusion, our_check_run, send_check_run, SUMMARY_MAX_CHARS};
use super::{GitHubForge, RepoClient, PER_PAGE};
use crate::domain::merge_group::{self, QUEUE_PREFIX};
use crate::domain::{CheckRunId, CommitSha, MergeGroup, PrNumber, RepoRef};
use crate::forge::github::models;
use crate::forge::rest::{truncate_chars, with_query};
use crate::forge::{ForgeResult, GateStatus, MergeQueue};
use async_trait::async_trait;

#[async_trait]
impl MergeQueue for GitHubForge {
    async fn merge_group_prs(
        &self,
        repo: &RepoRef,
        group: &MergeGroup,
    ) -> ForgeResult<Vec<PrNumber>> {
        members(self.repo(repo)?, group).await
    }

    async fn publish_commit_check(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        status: &GateStatus,
    ) -> ForgeResult<()> {
        publish_on_commit(self.repo(repo)?, commit, status).await
    }
}

/// `GET git/matching-refs/heads/gh-readonly-queue/<base>` for the queue's branches
/// and `GET compare/<base_sha>...<head_sha>` for the group's commits, concurrently.
async fn members(api: RepoClient<'_>, group: &MergeGroup) -> ForgeResult<Vec<PrNumber>> {
    let prefix = format!("{QUEUE_PREFIX}{}", group.base_branch);
    // `matching-refs` takes the ref without `refs/`, slashes as path separators.
    let mut segments = vec!["git", "matching-refs"];
    segments.extend(prefix.trim_start_matches("refs/").split('/'));
    let refs_url = api.url(&segments);
    let range = format!("{}...{}", group.base_sha, group.head_sha);
    let compare_url = with_query(api.url(&["compare", &range]), &[("per_page", PER_PAGE)]);
    let (refs, commits) = tokio::try_join!(
        api.get_all::<models::GitRef>(refs_url, usize::MAX),
        api.get_all_in(compare_url, usize::MAX, |page: models::ComparedCommits| {
            page.commits
        }),
    )?;
    let queue: Vec<(String, CommitSha)> = refs
        .into_iter()
        .map(|r| (r.name, CommitSha::new(r.object.sha)))
        .collect();
    let commits: Vec<CommitSha> = commits.into_iter().map(|c| CommitSha::new(c.sha)).collect();
    Ok(merge_group::members(group, &queue, &commits))
}

/// Our check run on `commit`: created once, then updated only when it would say
/// something else. The create is never re-sent blindly: when its answer is lost the
/// run is looked for first, since GitHub may have created it.
async fn publish_on_commit(
    api: RepoClient<'_>,
    commit: &CommitSha,
    status: &GateStatus,
) -> ForgeResult<()> {
    if let Some(run) = our_check_run(api, commit).await? {
        if says(&run, status) {
            return Ok(());
        }
        let id = run.id.map(CheckRunId);
        send_check_run(api, commit, status, id, true).await?;
        return Ok(());
    }
    match send_check_run(api, commit, status, None, false).await {
        Err(e) if e.is_transient() => {
            tracing::info!(error = %e, %commit, "a check run may have been created; looking before creating again");
            match our_check_run(api, commit).await? {
                Some(_) => Ok(()),
                None => Err(e),
            }
        }
        sent => sent.map(|_| ()),
    }
}

/// Whether the listed run already shows `status`.
fn says(run: &models::CheckRun, status: &GateStatus) -> bool {
    let output = run.output.as_ref();
    run.status == "completed"
        && run.conclusion.as_deref() == Some(conclusion(status.conclusion))
        && output.and_then(|o| o.title.as_deref()) == Some(status.title.as_str())
        && output.and_then(|o| o.summary.as_deref())
            == Some(truncate_chars(&status.summary, SUMMARY_MAX_CHARS))
}
