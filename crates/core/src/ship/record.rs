//! The durable record of one `/ship`: what was shipped, where it got to, and when.
//! Times are epoch milliseconds from the store's clock. Stored as JSON by the store.
use crate::domain::{AwaitedDeployment, CommitSha, PrRef};
use crate::policy::config::OnRegression;
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
    /// Telemetry answered, but with too little data to call the deploy healthy: no
    /// rollback, the people are told.
    Inconclusive,
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
            Stage::Inconclusive => "inconclusive",
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
    /// Out of bounds, but not yet for `failures` readings in a row.
    Breaching,
    /// Out of bounds for `failures` readings in a row: the metric failed.
    Regressed,
    /// Could not be read.
    Unknown,
    /// Read, but resting on too little data to judge.
    Inconclusive,
}

/// One reading as it is kept and shown: when, which round, and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingRecord {
    pub at_ms: i64,
    /// The round it was taken in, from 1; rounds of a rollback's watch are its own.
    pub check: u32,
    pub rollback: bool,
    #[serde(flatten)]
    pub line: MetricLine,
    /// The bound as a number (`max_increase` times its baseline), for `/metrics`.
    pub limit: Option<f64>,
}

/// A deploy's watch: when it started and ends, and what each round of readings said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Watch {
    pub deployed_at_ms: Option<i64>,
    pub watch_until_ms: Option<i64>,
    /// Pre-deploy values, one per configured metric (same order).
    pub baselines: Vec<Option<f64>>,
    pub last_check: Vec<MetricLine>,
    pub checks_done: u32,
    /// Rounds in which some metric could not be read; any makes the verdict Unverified.
    pub unknown_checks: u32,
    /// Rounds in which some metric rested on too little data; any makes it Inconclusive.
    pub inconclusive_checks: u32,
    /// Per metric: breaching readings in a row so far.
    pub breaches: Vec<u32>,
    /// Per metric: readings that returned a conclusive value.
    pub conclusive: Vec<u32>,
    /// Every reading, oldest first; only the latest [`Watch::READINGS_KEPT`].
    pub readings: Vec<ReadingRecord>,
}

impl Watch {
    /// Readings kept with the record: a day's watch every 10 s would be thousands.
    pub const READINGS_KEPT: usize = 500;
}

/// Redeploying the environment's last healthy deployment after a regression, or on
/// `/rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollback {
    /// Who asked with `/rollback`; `None` when smallbatch rolled back on a regression.
    pub requested_by: Option<String>,
    /// Which rollback of this ship it is, from 1: a failed one may be asked again.
    pub attempt: u32,
    pub requested_at_ms: i64,
    /// `None`: smallbatch judged no earlier deployment healthy, so nothing is redeployed.
    pub target: Option<RollbackTarget>,
    pub stage: RollbackStage,
    /// The rollback deployment, once the forge reported it (GitHub: once created).
    pub deployment_id: Option<u64>,
    pub watch: Watch,
    /// Why it failed, in the user's words.
    pub failure: Option<String>,
    /// The ship's stage when `/rollback` found it not regressed (operating as designed,
    /// not verified, inconclusive, or still watched): what its own watch said. `None`
    /// when the ship had regressed. Delivery metrics count such a rollback as a failure
    /// only within `dora.failure_window` of the deploy, as they do a revert.
    #[serde(default)]
    pub stage_before: Option<Stage>,
}

/// The ship whose deployment a rollback redeploys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackTarget {
    pub ship: i64,
    pub pr: u64,
    pub sha: CommitSha,
    /// Its deployment on the forge, where known.
    pub deployment_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackStage {
    /// Decided; the rollback deployment is started next.
    Starting,
    /// Started; waiting for the deployment to report.
    Deploying,
    /// Deployed; watching until every metric is within its bound again.
    Watching,
    /// Every metric within its bound again: service restored.
    Restored,
    /// Deployed, but the metrics did not come back within the watch.
    NotRestored,
    /// Deployed, with no metrics to tell whether service is back.
    Unverified,
    /// The forge refused the rollback deployment, or it failed.
    Failed,
    /// There was nothing healthy to roll back to.
    NoTarget,
}

impl RollbackStage {
    pub fn finished(self) -> bool {
        !matches!(
            self,
            RollbackStage::Starting | RollbackStage::Deploying | RollbackStage::Watching
        )
    }
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
    #[serde(flatten)]
    pub watch: Watch,
    /// Whether marking the regressed deployment failed was attempted already.
    #[serde(default)]
    pub deployment_marked_failed: bool,
    /// Why the forge refused to mark it failed (GitLab does for deployments its CI made).
    #[serde(default)]
    pub deployment_mark_refused: Option<String>,
    /// Marking it failed went wrong otherwise; the error is in the log.
    #[serde(default)]
    pub deployment_mark_error: bool,
    /// The rollback after a regression or `/rollback`, once decided.
    #[serde(default)]
    pub rollback: Option<Rollback>,
    /// A revert is to be opened and is not yet.
    #[serde(default)]
    pub revert_due: bool,
    /// The forge would not open the revert; the error is in the log.
    #[serde(default)]
    pub revert_error: bool,
    pub verdict_at_ms: Option<i64>,
    /// The one shipping comment, edited as the ship progresses.
    pub comment_id: Option<u64>,
    pub revert_pr: Option<u64>,
    /// When this ship reverts an earlier one: that ship's id.
    pub reverts_ship: Option<i64>,
    /// For a regressed ship: when service came back, by its rollback or by its revert
    /// deployed and healthy.
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

impl ShipRecord {
    /// The deployment the ship waits on to report: its own while deploying, or its
    /// rollback's. A rollback's is matched as its webhook is: of the healthy commit, and
    /// newer than the deployment it replaces.
    pub fn awaited_deployment(&self) -> Option<AwaitedDeployment<'_>> {
        if self.stage == Stage::Deploying {
            return Some(AwaitedDeployment {
                sha: self.merge_sha.as_ref()?,
                environment: &self.environment,
                id: self.deployment_id,
                after: 0,
            });
        }
        let rollback = self.rollback.as_ref()?;
        if rollback.stage != RollbackStage::Deploying {
            return None;
        }
        Some(AwaitedDeployment {
            sha: &rollback.target.as_ref()?.sha,
            environment: &self.environment,
            id: rollback.deployment_id,
            after: self.deployment_id.unwrap_or(0),
        })
    }

    /// Regressed under a version before rollbacks, which wrote no `revert_due`
    /// (`wrote_revert_due` false) and decided the revert from the policy in the step
    /// after the verdict, with the revert not opened yet: it is due now if `policy`
    /// opens reverts, as it was then. A record this version wrote keeps the decision
    /// made with its verdict.
    pub fn revert_left_by_an_older_version(
        &self,
        wrote_revert_due: bool,
        policy: OnRegression,
    ) -> bool {
        !wrote_revert_due
            && self.stage == Stage::Regressed
            && self.rollback.is_none()
            && self.revert_pr.is_none()
            && !self.revert_due
            && !self.revert_error
            && policy != OnRegression::Notify
    }

    /// Nothing is left to do: the verdict is in, and after a regression the deployment
    /// is marked, the rollback over and the revert opened. Until then the store keeps
    /// the ship among the unfinished, where its steps are resumed from.
    pub fn finished(&self) -> bool {
        self.stage.finished()
            && (self.stage != Stage::Regressed
                || (self.deployment_marked_failed
                    && !self.revert_due
                    && self.rollback.as_ref().is_none_or(|r| r.stage.finished())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ship::testing::record;

    fn rolling_back(stage: RollbackStage, deployment: Option<u64>) -> ShipRecord {
        let mut ship = record(Stage::Regressed);
        ship.rollback = Some(Rollback {
            requested_by: None,
            attempt: 1,
            requested_at_ms: 0,
            target: Some(RollbackTarget {
                ship: 2,
                pr: 6,
                sha: CommitSha::new("c".repeat(40)),
                deployment_id: Some(4),
            }),
            stage,
            deployment_id: deployment,
            watch: Watch::default(),
            failure: None,
            stage_before: None,
        });
        ship
    }

    #[test]
    fn a_deploying_ship_awaits_its_own_deployment() {
        let ship = record(Stage::Deploying);
        let awaited = ship.awaited_deployment().unwrap();
        assert_eq!(
            (
                awaited.sha.as_str(),
                awaited.environment,
                awaited.id,
                awaited.after
            ),
            ("b".repeat(40).as_str(), "production", Some(9), 0)
        );
        assert_eq!(record(Stage::Watching).awaited_deployment(), None);
    }

    #[test]
    fn a_rollback_awaits_a_deployment_of_the_healthy_commit_newer_than_the_regressed_one() {
        let ship = rolling_back(RollbackStage::Deploying, None);
        let awaited = ship.awaited_deployment().unwrap();
        assert_eq!(
            (awaited.sha.as_str(), awaited.id, awaited.after),
            ("c".repeat(40).as_str(), None, 9)
        );
        let created = rolling_back(RollbackStage::Deploying, Some(12));
        assert_eq!(created.awaited_deployment().unwrap().id, Some(12));
        let watching = rolling_back(RollbackStage::Watching, Some(12));
        assert_eq!(watching.awaited_deployment(), None);
    }

    #[test]
    fn only_a_record_without_revert_due_has_a_revert_left_by_an_older_version() {
        let mut ship = record(Stage::Regressed);
        ship.revert_pr = None;
        assert!(ship.revert_left_by_an_older_version(false, OnRegression::Revert));
        assert!(ship.revert_left_by_an_older_version(false, OnRegression::Rollback));
        assert!(!ship.revert_left_by_an_older_version(false, OnRegression::Notify));
        assert!(!ship.revert_left_by_an_older_version(true, OnRegression::Revert));
        ship.revert_pr = Some(8);
        assert!(!ship.revert_left_by_an_older_version(false, OnRegression::Revert));
    }
}
