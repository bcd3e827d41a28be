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
}
