//! The durable record of one `/ship`: what was shipped, where it got to, and when.
//! Times are epoch milliseconds from the store's clock. Stored as JSON by the store.
use crate::domain::{CommitSha, PrRef};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Preconditions passed; merging.
    Merging,
    /// Merged; the deployment is started (or an earlier attempt's adopted) next.
    Merged,
    /// The deployment started; waiting for it to report.
    Deploying,
    /// Deployed; watching telemetry until `watch_until`.
    Watching,
    /// Operating as designed for the whole watch.
    Healthy,
    /// A metric broke its bound.
    Regressed,
    /// Telemetry could not be read for the whole watch: neither healthy nor regressed.
    Unverified,
    /// The deployment itself failed.
    DeployFailed,
    /// Merging failed (a racing push, a conflict): nothing was deployed.
    MergeFailed,
}

impl Stage {
    pub fn finished(self) -> bool {
        !matches!(
            self,
            Stage::Merging | Stage::Merged | Stage::Deploying | Stage::Watching
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Merging => "merging",
            Stage::Merged => "merged",
            Stage::Deploying => "deploying",
            Stage::Watching => "watching",
            Stage::Healthy => "healthy",
            Stage::Regressed => "regressed",
            Stage::Unverified => "unverified",
            Stage::DeployFailed => "deploy_failed",
            Stage::MergeFailed => "merge_failed",
        }
    }
}

/// One metric's latest reading, as the shipping comment shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricLine {
    pub name: String,
    /// The bound in words: `≤ 0.01`, `≤ 1.5× the pre-deploy 0.12`.
    pub bound: String,
    pub value: Option<f64>,
    pub status: MetricStatus,
    /// Why it is not healthy: `0.034 over max 0.01 (3.4×)`, `Prometheus unreachable: …`.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    Healthy,
    Regressed,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipRecord {
    pub pr: PrRef,
    /// The branch merged into; its policy governs every step.
    pub base_ref: String,
    pub title: String,
    pub head_sha: CommitSha,
    pub environment: String,
    pub requested_by: String,
    pub author: String,
    pub reviewers: Vec<String>,
    /// Batch size (counted lines) and approvals at ship time, for delivery metrics.
    pub lines: u64,
    pub approvals: u32,
    pub first_commit_at_ms: Option<i64>,
    pub requested_at_ms: i64,
    pub stage: Stage,
    pub merge_sha: Option<CommitSha>,
    pub merged_at_ms: Option<i64>,
    pub deployment_id: Option<u64>,
    pub deployed_at_ms: Option<i64>,
    pub watch_until_ms: Option<i64>,
    /// Pre-deploy values, one per configured metric (same order).
    pub baselines: Vec<Option<f64>>,
    pub last_check: Vec<MetricLine>,
    pub checks_done: u32,
    /// Checks in which some metric could not be read; any makes the verdict Unverified.
    #[serde(default)]
    pub unknown_checks: u32,
    /// Whether marking the regressed deployment failed was attempted already.
    #[serde(default)]
    pub deployment_marked_failed: bool,
    /// Why the forge refused to mark it failed (GitLab does for deployments its CI made).
    #[serde(default)]
    pub deployment_mark_refused: Option<String>,
    pub verdict_at_ms: Option<i64>,
    /// The one shipping comment, edited as the ship progresses.
    pub comment_id: Option<u64>,
    pub revert_pr: Option<u64>,
    /// When this ship reverts an earlier one: that ship's id.
    pub reverts_ship: Option<i64>,
    /// For a regressed ship: when its revert was deployed and healthy.
    pub restored_at_ms: Option<i64>,
    /// What went wrong, in the user's words (merge refused, deploy failed).
    pub failure: Option<String>,
    /// The environment order this ship skipped (`/ship <env> --override <reason>`).
    #[serde(default)]
    pub order_override: Option<OrderSkip>,
    /// Shipped to an environment before the last of `ship.environments`: a rehearsal of
    /// the production deployment, which delivery metrics do not count.
    #[serde(default)]
    pub rehearsal: bool,
    /// A later change that reverts this one merged (by hand or through smallbatch): which
    /// and when. A failure for delivery metrics when within `dora.failure_window`.
    #[serde(default)]
    pub reverted: Option<RevertedBy>,
}

/// Who shipped out of order, why, and which environments the commit skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSkip {
    pub by: String,
    pub reason: String,
    pub skipped: Vec<String>,
}

/// The merged change that reverted a shipped one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevertedBy {
    pub change: u64,
    pub merged_at_ms: i64,
}
