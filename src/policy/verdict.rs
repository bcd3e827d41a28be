//! Combines size, reviews and tests into the gate's conclusion.
use super::config::RepoConfig;
use super::{ReviewOutcome, SizeScore, TestsOutcome};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Pass,
    /// Blocks, but only waits for something (approvals, a draft): never a failure.
    Wait,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    Oversized { lines: u64, max: u64 },
    TooManyFiles { files: u64, max: u64 },
    ChangesRequested { by: Vec<String> },
    NeedsApprovals { have: u32, need: u32 },
    TestsMissing { blocking: bool },
    Draft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub conclusion: Conclusion,
    pub reasons: Vec<Reason>,
}

pub fn decide(
    draft: bool,
    size: &SizeScore,
    reviews: &ReviewOutcome,
    tests: &TestsOutcome,
    config: &RepoConfig,
) -> Verdict {
    let _ = (draft, size, reviews, tests, config);
    todo!("policy helper")
}
