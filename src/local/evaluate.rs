//! Feeds a local diff to the policy core. The policy itself lives in `crate::policy`.
use super::git::read_text_at;
use super::LocalError;
use crate::domain::FileChange;
use crate::policy::config::{ReviewsConfig, CONFIG_PATHS};
use crate::policy::size::{self, Totals};
use crate::policy::{
    tests_found, verdict, Evaluation, Reason, RepoConfig, ReviewOutcome, SizeLabel, Verdict,
};
use git2::{Oid, Repository};

/// The policy as the base side of the range has it: the first of [`CONFIG_PATHS`] that exists
/// at `commit` (the defaults when none does), and the root `.gitattributes` there. Like the
/// server, the base decides, so a branch cannot loosen its own gate.
pub struct BasePolicy {
    pub config: RepoConfig,
    pub gitattributes: Option<String>,
}

impl BasePolicy {
    pub fn at(repo: &Repository, commit: Oid) -> Result<Self, LocalError> {
        let mut config = RepoConfig::default();
        for path in CONFIG_PATHS {
            if let Some(text) = read_text_at(repo, commit, path)? {
                config = RepoConfig::parse(path, &text)?;
                break;
            }
        }
        let gitattributes = read_text_at(repo, commit, ".gitattributes")?;
        Ok(Self {
            config,
            gitattributes,
        })
    }
}

/// Scores `files` the way the server scores a PR, minus reviews: a local branch has none,
/// so none are required. The verdict and guidance then speak only of size and tests, and
/// the same policy texts the PR would get are reused unchanged.
pub fn evaluate(files: &[FileChange], policy: &BasePolicy) -> Evaluation {
    let config = RepoConfig {
        reviews: ReviewsConfig {
            required_approvals: 0,
            ..policy.config.reviews.clone()
        },
        ..policy.config.clone()
    };
    let size = size::score(
        files,
        Totals::listed(files),
        &config.size,
        policy.gitattributes.as_deref(),
    );
    let tests = tests_found::check(&size, &config.tests);
    let reviews = ReviewOutcome {
        approvers: Vec::new(),
        changes_requested_by: Vec::new(),
        required: 0,
        stale: Vec::new(),
    };
    let label = SizeLabel::for_lines(size.lines);
    let verdict = verdict::decide(false, &size, &reviews, &tests, &config);
    Evaluation {
        size,
        reviews,
        tests,
        label,
        verdict,
    }
}

/// Whether the verdict holds the change over the size limit (lines or files): the only thing
/// `smallbatch check` fails on.
pub fn size_exceeded(verdict: &Verdict) -> bool {
    verdict.reasons.iter().any(|reason| {
        matches!(
            reason,
            Reason::Oversized { .. } | Reason::TooManyFiles { .. }
        )
    })
}
