//! The policy core: size, reviews, tests, the verdict and every text a user reads.
//! Pure functions only: no I/O, no async, no clocks. Adapters feed it snapshots and
//! carry out the decisions it returns.

pub mod budgets;
pub mod codeowners;
#[cfg(test)]
mod codeowners_against_git;
pub mod command_text;
pub mod comment;
pub mod config;
pub mod exempt;
pub mod gitattributes;
pub mod globs;
pub mod hold;
pub mod labels;
pub mod merge_group;
pub mod owners;
pub mod owners_config;
mod owners_text;
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
pub use codeowners::CodeOwners;
pub use config::{ConfigError, RepoConfig};
pub use exempt::{Exemptions, SizeExemption};
pub use labels::LabelPlan;
pub use owners::{OwnersOutcome, Teams};
pub use reviews::ReviewOutcome;
pub use size::{Exclusion, FileOutcome, SizeScore};
pub use stack::StackedPr;
pub use tests_found::TestsOutcome;
pub use verdict::{Conclusion, Reason, Verdict};

use crate::domain::{FileChange, ForgeKind, PrSnapshot};
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

/// What the base branch says besides the policy file, and what the forge says of the
/// teams its owners name.
#[derive(Debug, Clone)]
pub struct BaseFacts {
    /// Whose words to use: teams are GitHub's, groups GitLab's.
    pub forge: ForgeKind,
    /// `.gitattributes`, for generated and vendored files.
    pub gitattributes: Option<String>,
    /// CODEOWNERS, when `reviews.owners` is `codeowners`.
    pub codeowners: Option<CodeOwners>,
    pub teams: Teams,
}

impl BaseFacts {
    pub fn new(forge: ForgeKind, gitattributes: Option<String>) -> Self {
        Self {
            forge,
            gitattributes,
            codeowners: None,
            teams: Teams::default(),
        }
    }
}

/// Scores a PR against `config` and what its base branch says.
pub fn evaluate(pr: &PrSnapshot, config: &RepoConfig, base: &BaseFacts) -> Evaluation {
    let size = score_size(pr, config, base);
    let mut reviews = reviews::tally(pr, &config.reviews);
    let paths: Vec<&str> = size.counted().map(|f| f.path.as_str()).collect();
    reviews.owners = owners::check(
        &paths,
        &pr.author.login,
        &reviews.approvers,
        &config.reviews,
        base.codeowners.as_ref(),
        &base.teams,
        base.forge,
    );
    let exempt = exempt::exemptions(pr, &config.exempt);
    conclude(pr.draft, size, reviews, exempt, config)
}

/// The teams and groups whose members [`evaluate`] needs in `base.teams`: those owning
/// the PR's counted files.
pub fn owner_handles(pr: &PrSnapshot, config: &RepoConfig, base: &BaseFacts) -> Vec<String> {
    let size = score_size(pr, config, base);
    let paths: Vec<&str> = size.counted().map(|f| f.path.as_str()).collect();
    owners::handles_to_resolve(
        &paths,
        &config.reviews,
        base.codeowners.as_ref(),
        base.forge,
    )
}

fn score_size(pr: &PrSnapshot, config: &RepoConfig, base: &BaseFacts) -> SizeScore {
    size::score(
        &pr.files,
        size::Totals::of(pr),
        &config.size,
        base.gitattributes.as_deref(),
    )
    .with_estimated(&pr.estimated)
}

/// Whom a local change will ask (`smallbatch check`): every owner group its counted files
/// have, none approved yet.
pub fn owners_to_ask(
    eval: &Evaluation,
    config: &RepoConfig,
    codeowners: Option<&CodeOwners>,
    forge: ForgeKind,
) -> OwnersOutcome {
    let paths: Vec<&str> = eval.size.counted().map(|f| f.path.as_str()).collect();
    owners::check(
        &paths,
        "",
        &[],
        &config.reviews,
        codeowners,
        &Teams::default(),
        forge,
    )
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
        owners: OwnersOutcome::default(),
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
