//! [`Forge`] over the GitLab REST API v4, acting as the token's user. Each resource has
//! its file; the trait's methods hand over to them.

mod checks;
mod comments;
mod deployment_now;
mod labels;
mod pulls;
mod rollback;
mod ship;
mod teams;

use super::client::GitLabClient;
use super::{GitLabApp, RetryPolicy, SetupError};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentRef, DeploymentState, ForgeKind, Permission,
    PrNumber, PrRef, PrSnapshot, RepoRef,
};
use crate::forge::rest::KnownLabels;
use crate::forge::{
    ApiUsage, AwaitedDeployment, DeploymentStart, Forge, ForgeResult, GateStatus, Label,
    MergeMethod, MergeReadiness, OpenPr, OurRun, RollbackDeployment,
};
use crate::policy::owners::Membership;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::OnceCell;
use url::Url;

pub use checks::STATUS_NAME;
pub use pulls::{is_bot, FILE_LIST_CAP};

const PER_PAGE: &str = "100";

/// GitLab through one access token, on the projects that token can reach.
#[derive(Debug)]
pub struct GitLabForge {
    client: GitLabClient,
    /// The token's own username, read once from `GET /user`.
    username: OnceCell<String>,
    known_labels: KnownLabels,
    /// Usernames (lowercased: GitLab's are case-insensitive) to user ids; an id never
    /// changes, so entries never go stale.
    user_ids: Mutex<HashMap<String, u64>>,
}

impl GitLabForge {
    /// Fails at startup on an unusable base URL or token.
    pub fn new(app: GitLabApp) -> Result<Self, SetupError> {
        Self::with_retry_policy(app, RetryPolicy::default())
    }

    pub fn with_retry_policy(app: GitLabApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        Ok(Self {
            client: GitLabClient::new(&app, retry)?,
            username: OnceCell::new(),
            known_labels: KnownLabels::default(),
            user_ids: Mutex::default(),
        })
    }

    /// `/projects/:id/{rest...}`, the project's path as its id.
    fn project_url(&self, repo: &RepoRef, rest: &[&str]) -> Url {
        self.client.endpoint(
            ["projects", repo.full_name.as_str()]
                .into_iter()
                .chain(rest.iter().copied()),
        )
    }

    /// `/projects/:id/merge_requests/:iid/{rest...}`.
    fn mr_url(&self, pr: &PrRef, rest: &[&str]) -> Url {
        let iid = pr.number.to_string();
        let mut segments = vec!["merge_requests", iid.as_str()];
        segments.extend_from_slice(rest);
        self.project_url(&pr.repo, &segments)
    }
}

#[async_trait]
impl Forge for GitLabForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitLab
    }

    /// The approvals read are the current ones: GitLab records no commit per approval,
    /// so there are no [`ReviewCommits`](crate::forge::ReviewCommits) to compare.
    async fn snapshot(&self, pr: &PrRef) -> ForgeResult<PrSnapshot> {
        pulls::snapshot(self, pr).await
    }

    async fn file_at(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> ForgeResult<Option<String>> {
        pulls::file_at(self, repo, commit, path).await
    }

    async fn branch_head(&self, repo: &RepoRef, branch: &str) -> ForgeResult<CommitSha> {
        pulls::branch_head(self, repo, branch).await
    }

    fn api_usage(&self) -> Vec<(String, ApiUsage)> {
        self.client.usage.snapshot()
    }

    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>> {
        pulls::first_commit_at(self, pr).await
    }

    async fn open_prs(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        limit: usize,
    ) -> ForgeResult<Vec<OpenPr>> {
        pulls::open(self, repo, base, limit).await
    }

    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        _run: OurRun,
    ) -> ForgeResult<Option<CheckRunId>> {
        checks::publish_gate(self, pr, head, status).await?;
        Ok(None)
    }

    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>> {
        comments::find(self, pr, marker).await
    }

    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        comments::post(self, pr, body, true).await
    }

    async fn create_comment_once(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        comments::post(self, pr, body, false).await
    }

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()> {
        comments::edit(self, pr, id, body).await
    }

    async fn create_label(&self, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()> {
        labels::create(self, repo, label).await
    }

    async fn add_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        labels::add(self, pr, name).await
    }

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        labels::remove(self, pr, name).await
    }

    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()> {
        comments::acknowledge(self, pr, comment).await
    }

    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission> {
        comments::permission(self, repo, user).await
    }

    async fn team_members(&self, _repo: &RepoRef, handle: &str) -> ForgeResult<Membership> {
        teams::members(self, handle).await
    }

    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness> {
        checks::merge_readiness(self, pr, head).await
    }

    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha> {
        ship::merge(self, pr, head, method).await
    }

    /// GitLab deploys through the target branch's pipeline on its own; its deployment
    /// events are followed. Nothing is called.
    async fn start_deployment(
        &self,
        _repo: &RepoRef,
        _sha: &CommitSha,
        _environment: &str,
        _description: &str,
    ) -> ForgeResult<DeploymentStart> {
        Ok(DeploymentStart::Following)
    }

    async fn start_rollback(
        &self,
        repo: &RepoRef,
        rollback: &RollbackDeployment<'_>,
    ) -> ForgeResult<DeploymentStart> {
        rollback::start_rollback(self, repo, rollback).await
    }

    /// GitLab keeps no description on a deployment, so `description` is unused.
    async fn deployment_now(
        &self,
        repo: &RepoRef,
        awaited: &AwaitedDeployment<'_>,
    ) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>> {
        deployment_now::deployment_now(self, repo, awaited).await
    }

    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        _description: &str,
    ) -> ForgeResult<()> {
        ship::set_deployment_state(self, repo, deployment, state).await
    }

    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber> {
        ship::open_revert(self, pr, merge_sha, title, body).await
    }
}
