//! The one abstraction both forges implement. The worker speaks only to `dyn Forge`,
//! and to the optional parts only one forge has (`ReviewCommits`, `MergeQueue`,
//! `Deliveries`) through it. Each adapter is split by resource over the shared REST
//! plumbing in [`rest`].

pub mod github;
pub mod gitlab;
pub mod rest;
pub mod retry;
pub mod webhook;

pub use crate::domain::{AwaitedDeployment, CheckOutcome, HeadCheck, MergeMethod};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentRef, DeploymentState, ForgeKind, MergeGroup,
    Permission, PrNumber, PrRef, PrSnapshot, RepoRef, StatusTarget,
};
use crate::policy::owners::Membership;
use crate::policy::{Conclusion, SizeLabel};
use async_trait::async_trait;
use std::time::Duration;

/// The gate's result as a forge shows it: a check run on GitHub, a commit status on GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateStatus {
    pub conclusion: Conclusion,
    /// One line: GitHub's check title, GitLab's status description.
    pub title: String,
    /// Markdown; GitLab has no place for it and links to the PR instead.
    pub summary: String,
    pub details_url: String,
    /// Where GitLab files the status, as the snapshot found it; `None` to look it up.
    pub target: Option<StatusTarget>,
}

/// What the caller knows of the bot's check run on a head, so that publishing neither
/// looks for it needlessly nor creates a second one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OurRun {
    /// This run is ours on the head: it is updated.
    Known(CheckRunId),
    /// No run of ours is on the head: one is created.
    Absent,
    /// One may be (a creation whose answer was lost): it is looked for, then updated or
    /// created.
    MayExist,
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("not found: {0}")]
    NotFound(String),
    /// Worth retrying later: 5xx, timeouts, rate limits.
    #[error("transient forge error: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The forge said no to what was asked, for a reason the user can act on (a merge
    /// refused with 405, 409 or 422): `reason` is shown to them. Not retried.
    #[error("forge error: {reason}")]
    Refused { reason: String },
    /// Retrying will not help: bad credentials, a malformed answer, a refusal nobody
    /// but us can act on. Logged; the user is told only that something went wrong.
    #[error("forge error: {0}")]
    Permanent(String),
}

impl ForgeError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ForgeError::Transient { .. })
    }
}

pub type ForgeResult<T> = Result<T, ForgeError>;

/// API calls made with one credential (a GitHub installation, the GitLab token) since
/// start-up, and the rate-limit budget the forge last reported for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiUsage {
    pub calls: u64,
    pub rate_limit_remaining: Option<u64>,
}

/// Whether a PR can be merged now, apart from the gate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReadiness {
    /// `None` while the forge is still computing it.
    pub mergeable: Option<bool>,
    /// Every other check run and commit status on the head; the bot's own excluded.
    pub checks: Vec<HeadCheck>,
}

/// How a forge deploys a merged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentStart {
    /// A deployment was created (GitHub); the team's CD performs it and reports back.
    Created { id: u64 },
    /// The forge deploys on its own (GitLab: the target branch's pipeline); its
    /// deployment events are followed by commit and environment.
    Following,
}

/// A rollback: a commit deployed before, redeployed in place of a regressed deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackDeployment<'a> {
    pub sha: &'a CommitSha,
    pub environment: &'a str,
    /// The deployment of `sha` that was judged healthy, where known.
    pub healthy: Option<u64>,
    /// The regressed deployment it replaces, where known.
    pub regressed: Option<u64>,
    pub description: &'a str,
}

/// One attempt at delivering a webhook, as the forge logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDelivery {
    /// The forge's id of this attempt; a redelivery is requested by it.
    pub id: u64,
    /// The delivery's id as our intake saw it (`X-GitHub-Delivery`); every redelivery
    /// of one event keeps it.
    pub guid: String,
    /// Whether our endpoint answered 2xx.
    pub succeeded: bool,
}

/// A label as a repository defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    pub name: &'a str,
    /// Hex, without `#`.
    pub color: &'a str,
    pub description: &'a str,
}

impl From<SizeLabel> for Label<'static> {
    fn from(size: SizeLabel) -> Self {
        Label {
            name: size.name(),
            color: size.color(),
            description: size.description(),
        }
    }
}

/// An open PR and its current head, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPr {
    pub number: PrNumber,
    pub head_sha: CommitSha,
}

#[async_trait]
pub trait Forge: Send + Sync {
    fn kind(&self) -> ForgeKind;

    /// The PR as it is now: metadata, every changed file (up to the forge's cap) and
    /// every review. `unchanged_since` is left empty: see [`ReviewCommits`].
    async fn snapshot(&self, pr: &PrRef) -> ForgeResult<PrSnapshot>;

    /// A text file at a commit; `None` when it does not exist there.
    async fn file_at(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> ForgeResult<Option<String>>;

    /// The head commit of a branch.
    async fn branch_head(&self, repo: &RepoRef, branch: &str) -> ForgeResult<CommitSha>;

    /// Open PRs with their heads, up to `limit`; only those whose base is `base` when given.
    async fn open_prs(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        limit: usize,
    ) -> ForgeResult<Vec<OpenPr>>;

    /// Publishes the gate on `head`. `run` is what the caller knows of this bot's check
    /// run there; a known one is updated in place. Returns the run's id (GitLab statuses
    /// have none).
    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        run: OurRun,
    ) -> ForgeResult<Option<CheckRunId>>;

    /// Whether publishing the gate on a new head creates something that a second
    /// creation would duplicate (GitHub's check run), so the caller must track it. A
    /// GitLab commit status is set by name instead.
    fn gate_creates_runs(&self) -> bool {
        false
    }

    /// The bot's comment on the PR carrying `marker`, with its current body.
    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>>;

    /// Posts a comment, retrying failures as any other call.
    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId>;

    /// Posts a comment without sending it twice: after a 5xx or a lost answer it fails
    /// `Transient`, since the comment may exist. See [`Forge::create_marked_comment`].
    async fn create_comment_once(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId>;

    /// Posts the bot's one comment carrying `marker`, never two: when the answer to the
    /// post is lost, the forge is asked whether the comment exists before posting again
    /// (a retried POST that GitHub or GitLab had carried out would duplicate it). Callers
    /// look for an existing comment before the first post.
    async fn create_marked_comment(
        &self,
        pr: &PrRef,
        marker: &str,
        body: &str,
    ) -> ForgeResult<CommentId> {
        match self.create_comment_once(pr, body).await {
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "a comment may have been posted; looking before posting again");
                match self.adopt_comment(pr, marker, body).await? {
                    Some(id) => Ok(id),
                    None => self.create_comment_once(pr, body).await,
                }
            }
            other => other,
        }
    }

    /// The bot's comment carrying `marker`, edited to `body` when it says something
    /// else; `None` when there is none.
    async fn adopt_comment(
        &self,
        pr: &PrRef,
        marker: &str,
        body: &str,
    ) -> ForgeResult<Option<CommentId>> {
        let Some((id, posted)) = self.find_comment(pr, marker).await? else {
            return Ok(None);
        };
        if posted != body {
            self.edit_comment(pr, id, body).await?;
        }
        Ok(Some(id))
    }

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()>;

    /// Creates `label` in the repository unless it is there already. The forge
    /// remembers the labels it has seen, so each is created at most once.
    async fn create_label(&self, repo: &RepoRef, label: &Label<'_>) -> ForgeResult<()>;

    /// Adds the repository's label `name` to the PR. Create it first: a forge makes a
    /// missing label up without the colour and description.
    async fn add_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()>;

    /// Removes label `name` from the PR; one that is not there is no error.
    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()>;

    /// API calls and rate-limit budget per credential, for `/metrics`.
    fn api_usage(&self) -> Vec<(String, ApiUsage)>;

    /// When the PR's first commit was authored (RFC 3339), for lead time; `None` when
    /// the forge does not say.
    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>>;

    /// Acknowledges a command at once: 👀 on GitHub, an award emoji on GitLab.
    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()>;

    /// What `user` may do in the repository.
    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission>;

    /// The logins of the team (GitHub's `org/team`) or group (GitLab's `group` or
    /// `group/subgroup`) that an owner `handle` names, as seen from `repo`; what the forge
    /// answers when it knows none or may not say (`NotFound`, `Forbidden`).
    async fn team_members(&self, repo: &RepoRef, handle: &str) -> ForgeResult<Membership>;

    /// Mergeability and every other check on `head`.
    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness>;

    /// Merges the PR if its head is still `head` (a racing push makes it fail safely);
    /// returns the merge commit.
    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha>;

    /// Starts deploying `sha` to `environment`.
    async fn start_deployment(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
        environment: &str,
        description: &str,
    ) -> ForgeResult<DeploymentStart>;

    /// Redeploys a commit deployed before, in place of a regressed deployment: a new
    /// Deployment on GitHub (marked `payload.smallbatch.rollback_of`), which the team's CD
    /// performs like any other; on GitLab the re-run of the healthy deployment's job, as
    /// its "Rollback environment" button does. Never twice: a rollback an earlier attempt
    /// started is adopted.
    async fn start_rollback(
        &self,
        repo: &RepoRef,
        rollback: &RollbackDeployment<'_>,
    ) -> ForgeResult<DeploymentStart>;

    /// The awaited deployment and its state now; `None` while there is none.
    async fn deployment_now(
        &self,
        repo: &RepoRef,
        awaited: &AwaitedDeployment<'_>,
    ) -> ForgeResult<Option<(DeploymentRef, DeploymentState)>>;

    /// Records a deployment's outcome on the forge (e.g. failed after a regression).
    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        description: &str,
    ) -> ForgeResult<()>;

    /// Opens a PR that reverts `merge_sha` (the merge of `pr`) on its base branch.
    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber>;

    /// Which earlier commits of a PR have the head's diff, where reviews name the commit
    /// they saw (GitHub). GitLab's approvals name none, so it cannot say; a project's
    /// own "remove approvals when commits are added" setting decides there instead.
    fn review_commits(&self) -> Option<&dyn ReviewCommits> {
        None
    }

    /// GitHub's merge queue, where the forge has one.
    fn merge_queue(&self) -> Option<&dyn MergeQueue> {
        None
    }

    /// The log of webhook deliveries to us, where the forge keeps one (GitHub).
    fn deliveries(&self) -> Option<&dyn Deliveries> {
        None
    }
}

/// Review commits compared with the head, for `reviews.stale: changed`.
#[async_trait]
pub trait ReviewCommits: Send + Sync {
    /// The commits of `snap`'s reviews whose diff against the base is the head's: a
    /// review of one of them still holds.
    async fn unchanged_since(&self, pr: &PrRef, snap: &PrSnapshot) -> ForgeResult<Vec<CommitSha>>;
}

/// A merge queue: the groups of PRs it tests together, and the gate's check on a
/// group's commit.
#[async_trait]
pub trait MergeQueue: Send + Sync {
    /// The PRs whose changes a merge queue's group holds, in queue order, the group's
    /// own PR last.
    async fn merge_group_prs(
        &self,
        repo: &RepoRef,
        group: &MergeGroup,
    ) -> ForgeResult<Vec<PrNumber>>;

    /// Publishes the gate on a commit that is no PR's head (a merge group's). Never
    /// twice: the bot's run already there is updated, or left alone when it says the
    /// same, so a retried job changes nothing.
    async fn publish_commit_check(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        status: &GateStatus,
    ) -> ForgeResult<()>;
}

/// The forge's log of its webhook deliveries to us, from which failed ones are asked
/// again (GitHub does not redeliver by itself).
#[async_trait]
pub trait Deliveries: Send + Sync {
    /// The webhook deliveries logged since `since`, newest first, reading at most
    /// `max_pages` pages.
    async fn recent_deliveries(
        &self,
        since: time::OffsetDateTime,
        max_pages: usize,
    ) -> ForgeResult<Vec<HookDelivery>>;

    /// Asks the forge to deliver the webhook attempt `delivery` again.
    async fn redeliver(&self, delivery: u64) -> ForgeResult<()>;
}
