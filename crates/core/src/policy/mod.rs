//! The policy core: size, reviews, tests, the verdict and every text a user reads.
//! Pure functions only: no I/O, no async, no clocks. Adapters feed it snapshots and
//! carry out the decisions it returns.

pub mod budgets;
pub mod command_text;
pub mod comment;
pub mod config;
pub mod exempt;
pub mod gitattributes;
pub mod globs;
pub mod labels;
pub mod merge_group;
pub mod render;
pub mod reviews;
pub mod schema;
pub mod size;
#[cfg(test)]
mod snapshot_tests;
pub mod stack;
#[cfg(test)]
pub(crate) mod testing;
pub mod tests_found;
mod text;
pub mod verdict;

pub use crate::domain::SizeLabel;
pub use config::{ConfigError, RepoConfig};
pub use exempt::{Exemptions, SizeExemption};
pub use labels::LabelPlan;
pub use reviews::ReviewOutcome;
pub use size::{Exclusion, FileOutcome, SizeScore};
pub use stack::StackedPr;
pub use tests_found::TestsOutcome;
pub use verdict::{Conclusion, Reason, Verdict};

use crate::domain::{FileChange, PrSnapshot};
use serde::Serialize;

/// Everything the gate decides about one PR at one head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub size: SizeScore,
    pub reviews: ReviewOutcome,
    pub tests: TestsOutcome,
    pub label: SizeLabel,
    pub verdict: Verdict,
    /// The rules the change skips (`exempt`).
    #[serde(skip_serializing_if = "Exemptions::is_none")]
    pub exempt: Exemptions,
    /// The open changes below this one, nearest first, when it is stacked on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackedPr>,
}

impl Evaluation {
    /// The same evaluation, knowing the changes below it (`stack`, nearest first).
    pub fn with_stack(mut self, stack: Vec<StackedPr>) -> Self {
        self.stack = stack;
        self
    }
}

/// Scores a PR. `gitattributes` is the text of `.gitattributes` on the base branch.
pub fn evaluate(pr: &PrSnapshot, config: &RepoConfig, gitattributes: Option<&str>) -> Evaluation {
    let size = size::score(&pr.files, size::Totals::of(pr), &config.size, gitattributes)
        .with_estimated(&pr.estimated);
    let reviews = reviews::tally(pr, &config.reviews);
    let exempt = exempt::exemptions(pr, &config.exempt);
    conclude(pr.draft, size, reviews, exempt, config)
}

/// Scores a local change (`smallbatch check`) by the same rules, minus reviews: a branch
/// that was never pushed has none, so none are required and the verdict speaks only of
/// size and tests.
pub fn evaluate_local(
    files: &[FileChange],
    config: &RepoConfig,
    gitattributes: Option<&str>,
) -> Evaluation {
    let size = size::score(
        files,
        size::Totals::listed(files),
        &config.size,
        gitattributes,
    );
    let reviews = ReviewOutcome {
        approvers: Vec::new(),
        changes_requested_by: Vec::new(),
        required: 0,
        stale: Vec::new(),
    };
    conclude(false, size, reviews, Exemptions::default(), config)
}

fn conclude(
    draft: bool,
    size: SizeScore,
    reviews: ReviewOutcome,
    exempt: Exemptions,
    config: &RepoConfig,
) -> Evaluation {
    let tests = tests_found::check(&size, &config.tests);
    let label = SizeLabel::for_lines(size.lines);
    let verdict = verdict::decide(draft, &size, &reviews, &tests, &exempt, config);
    Evaluation {
        size,
        reviews,
        tests,
        label,
        verdict,
        exempt,
        stack: Vec::new(),
    }
}
