//! Who approved, who holds the PR, and which approvals no longer count.
use super::config::ReviewsConfig;
use crate::domain::PrSnapshot;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewOutcome {
    /// Distinct counted approvers, in the order they approved.
    pub approvers: Vec<String>,
    pub changes_requested_by: Vec<String>,
    pub required: u32,
    /// Approvals that no longer count because the head moved (`reviews.stale`).
    pub stale: Vec<String>,
}

impl ReviewOutcome {
    pub fn approved(&self) -> bool {
        self.approvers.len() as u64 >= u64::from(self.required)
    }
}

pub fn tally(pr: &PrSnapshot, config: &ReviewsConfig) -> ReviewOutcome {
    let _ = (pr, config);
    todo!("policy helper")
}
