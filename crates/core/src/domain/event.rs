use super::{CommentId, CommitSha, DeliveryId, MergeGroup, PrRef, RepoRef, User};
use serde::{Deserialize, Serialize};

/// A webhook, normalized. The adapters produce these; the worker consumes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Something that can change the gate's verdict happened on a PR: it was opened,
    /// pushed to, reviewed, marked ready, retargeted, or a re-run was requested.
    PrChanged {
        pr: PrRef,
        /// The head the event was about, when it says.
        head_sha: Option<CommitSha>,
        /// What happened, for the logs (`pull_request.synchronize`, ...).
        cause: String,
    },
    /// A PR was closed or merged: the PRs stacked on it are evaluated again.
    PrClosed { pr: PrRef },
    /// A push to a branch changed files that the gate reads (the repo policy or
    /// `.gitattributes`): every open PR targeting that branch must be re-evaluated.
    PolicyChanged { repo: RepoRef, branch: String },
    /// A comment on a PR was created or edited; commands in it may need to run.
    CommentPosted { pr: PrRef, comment: PostedComment },
    /// A deployment changed state on the forge (GitHub `deployment_status`, GitLab
    /// deployment events). Matched to a ship by repository, commit and environment.
    DeploymentChanged {
        repo: RepoRef,
        deployment: DeploymentRef,
        state: DeploymentState,
    },
    /// Internal: the next step of a ship is due (a telemetry check, a retry).
    ShipStep {
        pr: PrRef,
        ship_id: i64,
        /// For a telemetry check: the checks recorded when it was scheduled. A retry
        /// that finds more recorded does not check again. `None`: not a check.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_checks: Option<u32>,
        /// A step of the ship's rollback, this attempt of it (its checks count its own
        /// rounds); `None`: of the ship itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rollback: Option<u32>,
    },
    /// A change was merged, by whatever means. Delivery metrics learn from it whether it
    /// reverts a shipped one (a revert made by hand is a failure of what it reverts).
    ChangeMerged {
        pr: PrRef,
        title: String,
        /// The description; empty when there is none.
        body: String,
    },
    /// A merge queue wants the gate's check on a merge group's commit (GitHub
    /// `merge_group.checks_requested`): every PR in the group is checked again.
    MergeGroupQueued { repo: RepoRef, group: MergeGroup },
}

/// A comment as the webhook described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedComment {
    pub id: CommentId,
    pub author: User,
    pub body: String,
    /// For an edit, the body before it: only commands it did not have run.
    pub previous_body: Option<String>,
}

/// One deployment on the forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRef {
    /// GitHub's deployment id, GitLab's deployment id.
    pub id: u64,
    pub sha: CommitSha,
    pub environment: String,
}

/// A deployment a ship waits on, to be read back from the forge when its webhook may
/// have been lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwaitedDeployment<'a> {
    pub sha: &'a CommitSha,
    pub environment: &'a str,
    /// Its id, where smallbatch created it or the forge reported it.
    pub id: Option<u64>,
    /// Otherwise, the newest deployment of `sha` with an id above this one (a
    /// rollback's is newer than the deployment it replaces).
    pub after: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    Pending,
    Queued,
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl DeploymentState {
    /// The state in the forges' own lower-case words (GitHub's, which are ours).
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Pending => "pending",
            DeploymentState::Queued => "queued",
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
            DeploymentState::Inactive => "inactive",
        }
    }

    /// Whether the deployment has finished, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeploymentState::Success
                | DeploymentState::Failure
                | DeploymentState::Error
                | DeploymentState::Inactive
        )
    }
}

impl DomainEvent {
    /// Work with the same key is serialized: two jobs for one PR never run at once.
    pub fn serial_key(&self) -> String {
        match self {
            DomainEvent::PrChanged { pr, .. } | DomainEvent::PrClosed { pr } => pr.key(),
            DomainEvent::PolicyChanged { repo, .. } => repo.key(),
            DomainEvent::CommentPosted { pr, .. }
            | DomainEvent::ShipStep { pr, .. }
            | DomainEvent::ChangeMerged { pr, .. } => pr.key(),
            // Deployment events name no PR; the worker finds the ship and its PR.
            DomainEvent::DeploymentChanged {
                repo, deployment, ..
            } => {
                format!("{}@deploy:{}", repo.key(), deployment.sha)
            }
            // One group at a time per head: a redelivery waits for the first, while other
            // groups (and the PRs' own gates, which it never writes to) run alongside.
            DomainEvent::MergeGroupQueued { repo, group } => {
                format!("{}@merge_group:{}", repo.key(), group.head_sha)
            }
        }
    }
}

/// A verified delivery ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event: DomainEvent,
}
