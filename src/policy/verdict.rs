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

/// Why the conclusion is what it is. Listed in the order of the variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    Draft,
    Oversized {
        lines: u64,
        max: u64,
    },
    TooManyFiles {
        files: u64,
        max: u64,
    },
    ChangesRequested {
        by: Vec<String>,
    },
    NeedsApprovals {
        have: u32,
        need: u32,
    },
    /// Non-blocking unless `tests.required`; listed either way so the user sees it.
    TestsMissing {
        blocking: bool,
    },
}

impl Reason {
    /// Whether this reason alone fails the check (rather than waiting or advising).
    pub fn fails(&self) -> bool {
        match self {
            Reason::Oversized { .. }
            | Reason::TooManyFiles { .. }
            | Reason::ChangesRequested { .. } => true,
            Reason::TestsMissing { blocking } => *blocking,
            Reason::Draft | Reason::NeedsApprovals { .. } => false,
        }
    }
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
    let mut reasons = Vec::new();
    if draft {
        reasons.push(Reason::Draft);
    }
    if size.oversized() {
        reasons.push(Reason::Oversized {
            lines: size.lines,
            max: size.max_lines,
        });
    }
    if let Some(max) = size.max_files.filter(|_| size.too_many_files()) {
        reasons.push(Reason::TooManyFiles {
            files: size.counted_files,
            max,
        });
    }
    if !reviews.changes_requested_by.is_empty() {
        reasons.push(Reason::ChangesRequested {
            by: reviews.changes_requested_by.clone(),
        });
    }
    if !reviews.approved() {
        reasons.push(Reason::NeedsApprovals {
            have: reviews.approvers.len() as u32,
            need: config.reviews.required_approvals,
        });
    }
    if tests.missing {
        reasons.push(Reason::TestsMissing {
            blocking: config.tests.required,
        });
    }
    // A draft is work in progress: it is scored and advised, never failed.
    let conclusion = if draft {
        Conclusion::Wait
    } else if reasons.iter().any(Reason::fails) {
        Conclusion::Fail
    } else if reasons
        .iter()
        .any(|r| matches!(r, Reason::NeedsApprovals { .. }))
    {
        Conclusion::Wait
    } else {
        Conclusion::Pass
    };
    Verdict {
        conclusion,
        reasons,
    }
}
