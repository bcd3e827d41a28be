use super::{CommitSha, PrNumber};
use serde::{Deserialize, Serialize};

/// A person or bot account on the forge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub login: String,
    pub is_bot: bool,
}

impl User {
    pub fn human(login: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            is_bot: false,
        }
    }
    pub fn bot(login: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            is_bot: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Removed,
    Renamed,
    Copied,
    Changed,
    Unchanged,
}

/// One file of a change, as the forge (or `git diff --numstat`) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    /// The old path of a rename or copy.
    pub previous_path: Option<String>,
    pub status: FileStatus,
    pub additions: u64,
    pub deletions: u64,
    /// Binary files have no line counts.
    pub binary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer: User,
    pub state: ReviewState,
    /// The commit the review was given on, where the forge reports it.
    pub commit: Option<CommitSha>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    Open,
    Closed,
    Merged,
}

/// Everything the policy needs to know about a pull request, fetched by a forge adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrSnapshot {
    pub number: PrNumber,
    pub title: String,
    pub html_url: String,
    pub author: User,
    pub state: PrState,
    pub draft: bool,
    pub head_sha: CommitSha,
    /// The head branch, when it is in the PR's own repository: only such a branch can be
    /// another PR's base (a stack). `None` for a fork's branch.
    #[serde(default)]
    pub head_ref: Option<String>,
    pub base_ref: String,
    pub base_sha: CommitSha,
    pub labels: Vec<String>,
    /// Monotonic version of the PR on the forge (its `updated_at`, RFC 3339);
    /// used to refuse stale writes.
    pub updated_at: String,
    /// Changed files, in the forge's order.
    pub files: Vec<FileChange>,
    /// The number of changed files the forge says the PR has; may exceed `files.len()`
    /// when the forge's listing is capped (GitHub: 3,000 files).
    pub total_files: u64,
    /// The forge's own totals over all files, including those past the listing cap.
    pub total_additions: u64,
    pub total_deletions: u64,
    /// Reviews in chronological order.
    pub reviews: Vec<Review>,
    /// Earlier commits of this PR whose diff against the merge base equals the head's;
    /// filled only when the repo's `reviews.stale` is `changed`.
    pub unchanged_since: Vec<CommitSha>,
    /// Paths whose counts are upper-bound estimates because the forge would not show
    /// their diff (GitLab's `too_large`/`collapsed` files): counted at their full
    /// length at the head (added) and at the base (deleted).
    #[serde(default)]
    pub estimated: Vec<String>,
    /// Where the forge files the gate's status on this head, when it must be told
    /// (GitLab); read with the PR so publishing need not read it again.
    #[serde(default)]
    pub status_target: Option<StatusTarget>,
}

/// Where GitLab attaches a commit status (see the GitLab adapter's `publish_gate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusTarget {
    /// The MR's head pipeline, which runs on the head.
    Pipeline(u64),
    /// No pipeline on the head yet: the MR's source branch.
    Branch(String),
    /// Neither is known: the commit alone.
    Commit,
}

impl PrSnapshot {
    pub fn files_truncated(&self) -> bool {
        (self.files.len() as u64) < self.total_files
    }
}
