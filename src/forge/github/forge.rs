//! [`Forge`] over the GitHub REST API, acting as a GitHub App installation. Each
//! resource has its file; the trait's methods hand over to them.

mod checks;
mod comments;
mod deliveries;
mod deployment_now;
mod labels;
mod merge_queue;
mod pulls;
mod ship;
mod teams;

use super::client::{ApiRequest, ApiResponse, GitHubClient};
use super::{GitHubApp, RetryPolicy, SetupError};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentRef, DeploymentState, ForgeKind, InstallationId,
    Permission, PrNumber, PrRef, PrSnapshot, RepoRef,
};
use crate::forge::rest::KnownLabels;
use crate::forge::{
    ApiUsage, AwaitedDeployment, Deliveries, DeploymentStart, Forge, ForgeError, ForgeResult,
    GateStatus, Label, MergeMethod, MergeQueue, MergeReadiness, OpenPr, OurRun, ReviewCommits,
    RollbackDeployment,
};
use crate::policy::owners::Membership;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

pub use checks::CHECK_NAME;
pub use pulls::FILE_LIST_CAP;

const PER_PAGE: &str = "100";

/// A GitHub App acting on the repositories it is installed on.
#[derive(Debug)]
pub struct GitHubForge {
    client: GitHubClient,
    configured_slug: Option<String>,
    /// `<slug>[bot]`, or `None` when GitHub would not tell (then any Bot account
    /// counts as us when looking for our comment).
    bot_login: OnceCell<Option<String>>,
    known_labels: KnownLabels,
}

impl GitHubForge {
    /// Fails at startup on an unusable private key or API URL. Must be called inside a
    /// Tokio runtime (the HTTP client spawns a task).
    pub fn new(app: GitHubApp) -> Result<Self, SetupError> {
        Self::with_retry_policy(app, RetryPolicy::default())
    }

    pub fn with_retry_policy(app: GitHubApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        Ok(Self {
            client: GitHubClient::new(&app, retry)?,
            configured_slug: app.app_slug,
            bot_login: OnceCell::new(),
            known_labels: KnownLabels::default(),
        })
    }

    /// The client for `repo`'s calls: as the App's installation there.
    fn repo<'a>(&'a self, repo: &'a RepoRef) -> ForgeResult<RepoClient<'a>> {
        RepoClient::new(&self.client, repo)
    }
}

/// One repository's calls: the client acting as the App's installation there, and
/// the repository's part of the API.
#[derive(Debug, Clone, Copy)]
struct RepoClient<'a> {
    client: &'a GitHubClient,
    installation: InstallationId,
    owner: &'a str,
    name: &'a str,
}

impl<'a> RepoClient<'a> {
    fn new(client: &'a GitHubClient, repo: &'a RepoRef) -> ForgeResult<Self> {
        let installation = repo.installation.ok_or_else(|| {
            ForgeError::Permanent(format!(
                "{} has no GitHub App installation id",
                repo.full_name
            ))
        })?;
        let (owner, name) = repo
            .full_name
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                ForgeError::Permanent(format!("{:?} is not an owner/name", repo.full_name))
            })?;
        Ok(Self {
            client,
            installation,
            owner,
            name,
        })
    }

    /// `{api}/repos/{owner}/{name}/{rest...}`.
    fn url(&self, rest: &[&str]) -> Url {
        self.client.endpoint(
            ["repos", self.owner, self.name]
                .into_iter()
                .chain(rest.iter().copied()),
        )
    }

    async fn send(&self, request: &ApiRequest) -> ForgeResult<ApiResponse> {
        self.client.send(self.installation, request).await
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> ForgeResult<T> {
        self.send(&ApiRequest::get(url)).await?.success()?.json()
    }

    /// Every page of a JSON list, at most `limit` items.
    async fn get_all<T: DeserializeOwned>(&self, url: Url, limit: usize) -> ForgeResult<Vec<T>> {
        self.client.get_all(self.installation, url, limit).await
    }

    /// [`get_all`](Self::get_all) for pages that wrap the list in an object.
    async fn get_all_in<P: DeserializeOwned, T>(
        &self,
        url: Url,
        limit: usize,
        items: impl Fn(P) -> Vec<T>,
    ) -> ForgeResult<Vec<T>> {
        self.client
            .get_all_in(self.installation, url, limit, items)
            .await
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn api_usage(&self) -> Vec<(String, ApiUsage)> {
        self.client.usage.snapshot()
    }

    fn gate_creates_runs(&self) -> bool {
        true
    }

    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>> {
        pulls::first_commit_at(self.repo(&pr.repo)?, pr).await
    }

    async fn snapshot(&self, pr: &PrRef) -> ForgeResult<PrSnapshot> {
        pulls::snapshot(self.repo(&pr.repo)?, pr).await
    }

    async fn file_at(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> ForgeResult<Option<String>> {
        pulls::file_at(self.repo(repo)?, commit, path).await
    }

    async fn branch_head(&self, repo: &RepoRef, branch: &str) -> ForgeResult<CommitSha> {
        pulls::branch_head(self.repo(repo)?, branch).await
    }

    async fn open_prs(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        limit: usize,
    ) -> ForgeResult<Vec<OpenPr>> {
        pulls::open(self.repo(repo)?, base, limit).await
    }

    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        run: OurRun,
    ) -> ForgeResult<Option<CheckRunId>> {
        checks::publish_gate(self.repo(&pr.repo)?, head, status, run).await
    }

    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>> {
        comments::find(self, pr, marker).await
    }

    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        comments::post(self.repo(&pr.repo)?, pr, body, true).await
    }

    async fn create_comment_once(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        comments::post(self.repo(&pr.repo)?, pr, body, false).await
    }

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()> {
        comments::edit(self.repo(&pr.repo)?, id, body).await
    }

    async fn create_label(&self, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()> {
        labels::create(self, repo, label).await
    }

    async fn add_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        labels::add(self.repo(&pr.repo)?, pr, name).await
    }

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        labels::remove(self.repo(&pr.repo)?, pr, name).await
    }

    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()> {
        comments::acknowledge(self.repo(&pr.repo)?, comment).await
    }

    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission> {
        comments::permission(self.repo(repo)?, user).await
    }

    async fn team_members(&self, repo: &RepoRef, handle: &str) -> ForgeResult<Membership> {
        teams::members(self.repo(repo)?, handle).await
    }

    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness> {
        checks::merge_readiness(self.repo(&pr.repo)?, pr, head).await
    }

    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha> {
        ship::merge(self.repo(&pr.repo)?, pr, head, method).await
    }

    async fn start_deployment(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
        environment: &str,
        description: &str,
    ) -> ForgeResult<DeploymentStart> {
        ship::start_deployment(self.repo(repo)?, sha, environment, description).await
    }

    async fn start_rollback(
        &self,
        repo: &RepoRef,
        rollback: &RollbackDeployment<'_>,
    ) -> ForgeResult<DeploymentStart> {
        ship::start_rollback(self.repo(repo)?, rollback).await
    }

    async fn deployment_now(
        &self,
        repo: &RepoRef,
        awaited: &AwaitedDeployment<'_>,
    ) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>> {
        deployment_now::deployment_now(self.repo(repo)?, awaited).await
    }

    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        description: &str,
    ) -> ForgeResult<()> {
        ship::set_deployment_state(self.repo(repo)?, deployment, state, description).await
    }

    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber> {
        ship::open_revert(self.repo(&pr.repo)?, pr, merge_sha, title, body).await
    }

    fn review_commits(&self) -> Option<&dyn ReviewCommits> {
        Some(self)
    }

    fn merge_queue(&self) -> Option<&dyn MergeQueue> {
        Some(self)
    }

    fn deliveries(&self) -> Option<&dyn Deliveries> {
        Some(self)
    }
}
