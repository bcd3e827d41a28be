//! What smallbatch records about one `/ship`: the input of every DORA key.
use time::OffsetDateTime;

/// Production telemetry's judgement of a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    Regressed,
    /// Telemetry was unreachable: the deploy happened but nobody judged it.
    Unknown,
}

/// One shipped PR, as smallbatch saw it. Timestamps are `None` until the step
/// happened; a ship whose merge failed has no `merged_at`/`deployed_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipFact {
    pub repo: String,
    pub pr: u64,
    /// Lines changed, as scored by the size policy.
    pub lines: u64,
    pub approvals: u32,
    pub first_commit_at: Option<OffsetDateTime>,
    pub merged_at: Option<OffsetDateTime>,
    /// Set once the change reached production; the one field that makes a
    /// ship a deployment.
    pub deployed_at: Option<OffsetDateTime>,
    /// `None` while telemetry is still being watched.
    pub verdict: Option<Verdict>,
    pub verdict_at: Option<OffsetDateTime>,
    /// The PR this one reverts, for smallbatch's own revert PRs.
    pub reverts: Option<u64>,
    /// When a revert of this regressed deploy was deployed and judged healthy.
    pub restored_at: Option<OffsetDateTime>,
    /// When a change reverting this one merged, whoever made it (smallbatch's revert,
    /// GitHub's or GitLab's revert button, `git revert` by hand).
    pub reverted_at: Option<OffsetDateTime>,
    /// When this deployment was rolled back.
    pub rolled_back_at: Option<OffsetDateTime>,
    /// An unplanned deployment, made to fix a failure: a revert or a rollback.
    pub rework: bool,
}
