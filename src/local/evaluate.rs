//! Feeds a local diff to the policy core. The policy itself lives in `crate::policy`.
use super::git::read_text_at;
use super::LocalError;
use crate::domain::{FileChange, ForgeKind};
use crate::policy::codeowners::{self, CodeOwners};
use crate::policy::config::{OwnersSource, CONFIG_PATHS};
use crate::policy::{Evaluation, OwnersOutcome, Reason, RepoConfig, Verdict};
use git2::{Oid, Repository};

/// The policy the base has: the first of [`CONFIG_PATHS`] that exists at `commit` (the
/// defaults when none does), and the root `.gitattributes` there. Like the server, the base
/// decides, so a branch cannot loosen its own gate.
pub struct BasePolicy {
    pub config: RepoConfig,
    /// Which of [`CONFIG_PATHS`] it came from; `None` for the defaults.
    pub file: Option<&'static str>,
    pub gitattributes: Option<String>,
    /// CODEOWNERS, when the policy asks for owners (`reviews.owners: codeowners`).
    pub codeowners: Option<CodeOwners>,
}

/// Where CODEOWNERS is looked for locally, the forge being unknown: GitHub's places in
/// GitHub's order, then GitLab's own.
const CODEOWNERS_PATHS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

impl BasePolicy {
    /// The policy at `commit`: `smallbatch check` passes the base's tip, where the server
    /// reads it too (the base branch's head), not the merge-base, which may predate a change
    /// of the policy.
    pub fn at(repo: &Repository, commit: Oid) -> Result<Self, LocalError> {
        let mut config = RepoConfig::default();
        let mut file = None;
        let mut policy_text = String::new();
        for path in CONFIG_PATHS {
            if let Some(text) = read_text_at(repo, commit, path)? {
                config = RepoConfig::parse(path, &text)?;
                file = Some(path);
                policy_text = text;
                break;
            }
        }
        let gitattributes = read_text_at(repo, commit, ".gitattributes")?;
        let mut codeowners = None;
        if config.reviews.owners == OwnersSource::Codeowners {
            let mut found = None;
            for path in CODEOWNERS_PATHS {
                if let Some(text) = read_text_at(repo, commit, path)? {
                    found = Some((path, text));
                    break;
                }
            }
            let Some((path, text)) = found else {
                let file = file.unwrap_or(CONFIG_PATHS[0]);
                return Err(codeowners::missing(file, &policy_text, ForgeKind::GitHub).into());
            };
            codeowners = Some(CodeOwners::parse(path, &text, dialect(path))?);
        }
        Ok(Self {
            config,
            file,
            gitattributes,
            codeowners,
        })
    }
}

/// Scores `files` the way the server scores a PR, minus reviews (see
/// [`crate::policy::evaluate_local`]), so the same texts the PR would get are reused.
pub fn evaluate(files: &[FileChange], policy: &BasePolicy) -> Evaluation {
    crate::policy::evaluate_local(files, &policy.config, policy.gitattributes.as_deref())
}

/// A CODEOWNERS in `.gitlab/` is GitLab's, with its sections; elsewhere it is read as
/// GitHub reads it.
fn dialect(path: &str) -> ForgeKind {
    if path.starts_with(".gitlab/") {
        ForgeKind::GitLab
    } else {
        ForgeKind::GitHub
    }
}

/// Whom the change will ask for approval, by the base's CODEOWNERS and `reviews.rules`.
pub fn owners_to_ask(eval: &Evaluation, policy: &BasePolicy) -> OwnersOutcome {
    let forge = policy
        .codeowners
        .as_ref()
        .map_or(ForgeKind::GitHub, |c| dialect(c.file()));
    crate::policy::owners_to_ask(eval, &policy.config, policy.codeowners.as_ref(), forge)
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
