//! The one abstraction both forges implement. The worker speaks only to `dyn Forge`.

pub mod github;
pub mod gitlab;
pub mod retry;
pub mod webhook;

pub use crate::domain::{CheckOutcome, HeadCheck, MergeMethod};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentState, ForgeKind, MergeGroup, Permission, PrNumber,
    PrRef, PrSnapshot, RepoRef, StatusTarget,
};
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
    /// Retrying will not help: bad credentials, a 422, a malformed answer.
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

/// Usage per credential, shared by a forge's client and whoever reports it.
#[derive(Debug, Default)]
pub struct UsageLog(std::sync::Mutex<std::collections::BTreeMap<String, ApiUsage>>);

impl UsageLog {
    /// Counts one answered call; `remaining` is the rate-limit header, when present.
    pub fn record(&self, credential: &str, remaining: Option<&http::HeaderValue>) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let usage = log.entry(credential.to_owned()).or_default();
        usage.calls += 1;
        if let Some(left) = remaining.and_then(|v| v.to_str().ok()?.trim().parse().ok()) {
            usage.rate_limit_remaining = Some(left);
        }
    }

    pub fn snapshot(&self) -> Vec<(String, ApiUsage)> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
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
    /// every review. With `want_unchanged_since`, also which earlier commits of the PR
    /// have the same diff as the head (for `reviews.stale: changed`).
    async fn snapshot(&self, pr: &PrRef, want_unchanged_since: bool) -> ForgeResult<PrSnapshot>;

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

    /// The PRs whose changes a merge queue's group holds, in queue order, the group's
    /// own PR last.
    async fn merge_group_prs(
        &self,
        repo: &RepoRef,
        group: &MergeGroup,
    ) -> ForgeResult<Vec<PrNumber>> {
        let _ = (repo, group);
        Err(unsupported(self.kind(), "merge queues"))
    }

    /// Publishes the gate on a commit that is no PR's head (a merge group's). Never
    /// twice: the bot's run already there is updated, or left alone when it says the
    /// same, so a retried job changes nothing.
    async fn publish_commit_check(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        status: &GateStatus,
    ) -> ForgeResult<()> {
        let _ = (repo, commit, status);
        Err(unsupported(self.kind(), "checks on a commit"))
    }

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

    /// Adds a label, creating it in the repository with its colour if it is missing.
    async fn add_label(&self, pr: &PrRef, label: SizeLabel) -> ForgeResult<()>;

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()>;

    /// API calls and rate-limit budget per credential, for `/metrics`.
    fn api_usage(&self) -> Vec<(String, ApiUsage)> {
        Vec::new()
    }

    /// When the PR's first commit was authored (RFC 3339), for lead time; `None` when
    /// the forge does not say.
    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>> {
        let _ = pr;
        Ok(None)
    }

    /// Acknowledges a command at once: 👀 on GitHub, an award emoji on GitLab.
    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()> {
        let _ = (pr, comment);
        Err(unsupported(self.kind(), "command acknowledgement"))
    }

    /// What `user` may do in the repository.
    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission> {
        let _ = (repo, user);
        Err(unsupported(self.kind(), "permission lookup"))
    }

    /// Mergeability and every other check on `head`.
    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness> {
        let _ = (pr, head);
        Err(unsupported(self.kind(), "merge readiness"))
    }

    /// Merges the PR if its head is still `head` (a racing push makes it fail safely);
    /// returns the merge commit.
    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha> {
        let _ = (pr, head, method);
        Err(unsupported(self.kind(), "merging"))
    }

    /// Starts deploying `sha` to `environment`.
    async fn start_deployment(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
        environment: &str,
        description: &str,
    ) -> ForgeResult<DeploymentStart> {
        let _ = (repo, sha, environment, description);
        Err(unsupported(self.kind(), "deployments"))
    }

    /// Records a deployment's outcome on the forge (e.g. failed after a regression).
    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        description: &str,
    ) -> ForgeResult<()> {
        let _ = (repo, deployment, state, description);
        Err(unsupported(self.kind(), "deployment statuses"))
    }

    /// The webhook deliveries logged since `since`, newest first, reading at most
    /// `max_pages` pages. Empty where the forge keeps no such log for us (GitLab).
    async fn recent_deliveries(
        &self,
        since: time::OffsetDateTime,
        max_pages: usize,
    ) -> ForgeResult<Vec<HookDelivery>> {
        let _ = (since, max_pages);
        Ok(Vec::new())
    }

    /// Asks the forge to deliver the webhook attempt `delivery` again.
    async fn redeliver(&self, delivery: u64) -> ForgeResult<()> {
        let _ = delivery;
        Err(unsupported(self.kind(), "webhook redelivery"))
    }

    /// Opens a PR that reverts `merge_sha` (the merge of `pr`) on its base branch.
    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber> {
        let _ = (pr, merge_sha, title, body);
        Err(unsupported(self.kind(), "reverts"))
    }
}

fn unsupported(kind: ForgeKind, what: &str) -> ForgeError {
    ForgeError::Permanent(format!("{what} is not implemented for {}", kind.as_str()))
}
