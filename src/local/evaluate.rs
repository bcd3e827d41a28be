//! Feeds a local diff to the policy core. The policy itself lives in `crate::policy`.
use super::git::read_text_at;
use super::LocalError;
use crate::domain::FileChange;
use crate::policy::config::CONFIG_PATHS;
use crate::policy::{Evaluation, Reason, RepoConfig, Verdict};
use git2::{Oid, Repository};

/// The policy the base has: the first of [`CONFIG_PATHS`] that exists at `commit` (the
/// defaults when none does), and the root `.gitattributes` there. Like the server, the base
/// decides, so a branch cannot loosen its own gate.
pub struct BasePolicy {
    pub config: RepoConfig,
    /// Which of [`CONFIG_PATHS`] it came from; `None` for the defaults.
    pub file: Option<&'static str>,
    pub gitattributes: Option<String>,
}

impl BasePolicy {
    /// The policy at `commit`: `smallbatch check` passes the base's tip, where the server
    /// reads it too (the base branch's head), not the merge-base, which may predate a change
    /// of the policy.
    pub fn at(repo: &Repository, commit: Oid) -> Result<Self, LocalError> {
        let mut config = RepoConfig::default();
        let mut file = None;
        for path in CONFIG_PATHS {
            if let Some(text) = read_text_at(repo, commit, path)? {
                config = RepoConfig::parse(path, &text)?;
                file = Some(path);
                break;
            }
        }
        let gitattributes = read_text_at(repo, commit, ".gitattributes")?;
        Ok(Self {
            config,
            file,
            gitattributes,
        })
    }
}

/// Scores `files` the way the server scores a PR, minus reviews (see
/// [`crate::policy::evaluate_local`]), so the same texts the PR would get are reused.
pub fn evaluate(files: &[FileChange], policy: &BasePolicy) -> Evaluation {
    crate::policy::evaluate_local(files, &policy.config, policy.gitattributes.as_deref())
}

/// Whether the verdict holds the change over the size limit (lines or files): the only thing
/// `smallbatch check` fails on.
pub fn size_exceeded(verdict: &Verdict) -> bool {
    verdict.reasons.iter().any(|reason| {
        matches!(
            reason,
            Reason::Oversized { .. } | Reason::TooManyFiles { .. } | Reason::OverBudget { .. }
        )
    })
}
