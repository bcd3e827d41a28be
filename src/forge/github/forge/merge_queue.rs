//! GitHub merge queues: which PRs a merge group holds, and the gate's check on the
//! group's commit.
//!
//! Each queued PR gets a branch `gh-readonly-queue/<base>/pr-<n>-<sha>` whose commit is
//! its merge group: the base branch plus the PRs queued ahead of it plus itself. A group
//! therefore holds its own PR and every PR whose queue branch points into the commits
//! between the group's base and head; [`merge_group::members`] decides that.
use super::{
    conclusion, installation, models, truncate_chars, with_query, GitHubForge, PER_PAGE,
    SUMMARY_MAX_CHARS,
};
use crate::domain::merge_group::{self, QUEUE_PREFIX};
use crate::domain::{CheckRunId, CommitSha, MergeGroup, PrNumber, RepoRef};
use crate::forge::{ForgeResult, GateStatus};

impl GitHubForge {
    /// `GET git/matching-refs/heads/gh-readonly-queue/<base>` for the queue's branches
    /// and `GET compare/<base_sha>...<head_sha>` for the group's commits, concurrently.
    pub(super) async fn queue_members(
        &self,
        repo: &RepoRef,
        group: &MergeGroup,
    ) -> ForgeResult<Vec<PrNumber>> {
        let installation = installation(repo)?;
        let prefix = format!("{QUEUE_PREFIX}{}", group.base_branch);
        // `matching-refs` takes the ref without `refs/`, slashes as path separators.
        let mut segments = vec!["git", "matching-refs"];
        segments.extend(prefix.trim_start_matches("refs/").split('/'));
        let refs_url = self.repo_url(repo, &segments)?;
        let range = format!("{}...{}", group.base_sha, group.head_sha);
        let compare_url = with_query(
            self.repo_url(repo, &["compare", &range])?,
            &[("per_page", PER_PAGE)],
        );
        let (refs, commits) = tokio::try_join!(
            self.client
                .get_all::<models::GitRef>(installation, refs_url, usize::MAX),
            self.client.get_all_in(
                installation,
                compare_url,
                usize::MAX,
                |page: models::ComparedCommits| page.commits
            ),
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
    pub(super) async fn publish_on_commit(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        status: &GateStatus,
    ) -> ForgeResult<()> {
        let installation = installation(repo)?;
        if let Some(run) = self.our_check_run(installation, repo, commit).await? {
            if says(&run, status) {
                return Ok(());
            }
            let id = run.id.map(CheckRunId);
            self.send_check_run(installation, repo, commit, status, id, true)
                .await?;
            return Ok(());
        }
        match self
            .send_check_run(installation, repo, commit, status, None, false)
            .await
        {
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, %commit, "a check run may have been created; looking before creating again");
                match self.our_check_run(installation, repo, commit).await? {
                    Some(_) => Ok(()),
                    None => Err(e),
                }
            }
            sent => sent.map(|_| ()),
        }
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
