//! The one abstraction both forges implement. The worker speaks only to `dyn Forge`.

pub mod github;
pub mod gitlab;
pub mod retry;
pub mod webhook;

use crate::domain::{
    CheckRunId, CommentId, CommitSha, ForgeKind, PrNumber, PrRef, PrSnapshot, RepoRef,
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

    /// Open PRs whose base is `branch`.
    async fn open_prs(&self, repo: &RepoRef, branch: &str) -> ForgeResult<Vec<PrNumber>>;

    /// Publishes the gate on `head`. `existing` is the check run this bot already
    /// created on that head, if any; it is updated in place. Returns the run's id
    /// (GitLab statuses have none).
    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        existing: Option<CheckRunId>,
    ) -> ForgeResult<Option<CheckRunId>>;

    /// The bot's comment on the PR carrying `marker`, with its current body.
    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>>;

    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId>;

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()>;

    /// Adds a label, creating it in the repository with its colour if it is missing.
    async fn add_label(&self, pr: &PrRef, label: SizeLabel) -> ForgeResult<()>;

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()>;
}
