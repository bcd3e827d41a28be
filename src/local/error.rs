//! Everything that can stop `smallbatch check`, each with a message that says what to do.
use crate::policy::ConfigError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{} is not inside a git repository", path.display())]
    NotARepository { path: PathBuf },

    #[error("HEAD has no commit yet: `smallbatch check` scores committed work, commit first")]
    UnbornHead,

    #[error(
        "base `{reference}` not found (or not a commit): pass an existing branch, tag or \
         commit with --base REF"
    )]
    BaseNotFound { reference: String },

    #[error(
        "no default branch found (tried origin/HEAD, main, master, origin/main, origin/master): \
         pass the branch to compare against with --base REF"
    )]
    NoDefaultBranch,

    #[error("HEAD and `{base}` have no common ancestor: pass a related base with --base REF")]
    NoMergeBase { base: String },

    /// The policy file at the base's tip is broken; shown as `file:line:col: message`.
    #[error("invalid policy file at the tip of the base: {0}")]
    Config(#[from] ConfigError),

    #[error("git: {0}")]
    Git(#[from] git2::Error),

    #[error(
        "`git` was not found on PATH: `smallbatch check` counts lines with git's own \
         `git diff --numstat -M`; install git or put it on PATH"
    )]
    GitNotFound,

    #[error("cannot run `git`: {0}")]
    GitNotRun(std::io::Error),

    #[error("`git diff` failed ({status}): {stderr}")]
    GitFailed { status: String, stderr: String },

    #[error("cannot read the output of `git diff`: {0}")]
    GitOutput(String),

    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}
