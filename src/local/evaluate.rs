//! Feeds a local diff to the policy core. The policy itself lives in `crate::policy`.
use super::git::read_text_at;
use super::LocalError;
use crate::domain::FileChange;
use crate::policy::config::CONFIG_PATHS;
use crate::policy::{Evaluation, Reason, RepoConfig, Verdict};
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
            Reason::Oversized { .. } | Reason::TooManyFiles { .. }
        )
    })
}
