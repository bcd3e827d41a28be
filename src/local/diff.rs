//! The changed files between two commits, as `git diff --numstat -M` counts them.
//!
//! git itself does the counting. Which deleted and added files form a rename decides the
//! counts (a rename cut to 40 lines is `40 0` and `0 100` to git, not one file losing 60),
//! and git's rules (exact renames first, then similarity by diffcore-delta's span hashing,
//! paired at 50% of the larger file) are the ones the forge's PR file list follows; libgit2
//! scores similarity its own way and pairs differently. `-M` is passed explicitly, so
//! `diff.renames` in the user's config changes nothing; everything else (`.gitattributes`
//! `-diff`, `diff.algorithm`) applies as it does to the user's own `git diff`.
use super::{numstat, LocalError};
use crate::domain::FileChange;
use git2::{Oid, Repository};
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::process::Command;

/// The files changed from `from`'s tree to `to`'s tree, in git's order (by path), with the
/// same pairing and per-file additions and deletions as `git diff --numstat -M from to`.
pub fn changed_files(repo: &Repository, from: Oid, to: Oid) -> Result<Vec<FileChange>, LocalError> {
    let output = git_diff(OsStr::new("git"), repo, from, to)?;
    numstat::parse(&output).map_err(LocalError::GitOutput)
}

/// Runs `program diff --raw --numstat -z -M from to` on `repo`, whichever directory the
/// caller is in and whatever `GIT_DIR` says: the repository is the one git2 opened.
fn git_diff(program: &OsStr, repo: &Repository, from: Oid, to: Oid) -> Result<Vec<u8>, LocalError> {
    let mut command = Command::new(program);
    command.arg(prefixed("--git-dir=", repo.path().as_os_str()));
    match repo.workdir() {
        // The work tree's `.gitattributes` can mark files binary, as for `git diff`.
        Some(workdir) => command
            .arg(prefixed("--work-tree=", workdir.as_os_str()))
            .current_dir(workdir),
        None => command.current_dir(repo.path()),
    };
    command.args([
        "diff",
        "--raw",
        "--numstat",
        "-z",
        "-M",
        // A `diff.relative` config would hide the files outside the current directory.
        "--no-relative",
        "--no-ext-diff",
        "--no-color",
    ]);
    command.arg(from.to_string()).arg(to.to_string());

    let output = command.output().map_err(|err| match err.kind() {
        ErrorKind::NotFound => LocalError::GitNotFound,
        _ => LocalError::GitNotRun(err),
    })?;
    if !output.status.success() {
        return Err(LocalError::GitFailed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output.stdout)
}

fn prefixed(option: &str, value: &OsStr) -> OsString {
    let mut arg = OsString::from(option);
    arg.push(value);
    arg
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    #[test]
    fn without_git_on_the_path_the_error_says_so() {
        let dir = TempDir::new().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("init");
        let missing = dir.path().join("no-such-git");

        let err = git_diff(missing.as_os_str(), &repo, Oid::zero(), Oid::zero())
            .expect_err("no git to run");

        assert!(matches!(err, LocalError::GitNotFound), "{err:?}");
        assert_eq!(
            err.to_string(),
            "`git` was not found on PATH: `smallbatch check` counts lines with git's own \
             `git diff --numstat -M`; install git or put it on PATH"
        );
    }

    #[test]
    fn a_failing_git_shows_what_git_said() {
        let dir = TempDir::new().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("init");

        let err = git_diff(OsStr::new("git"), &repo, Oid::zero(), Oid::zero())
            .expect_err("no such commits");

        let LocalError::GitFailed { stderr, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            stderr.contains("0000000000000000000000000000000000000000"),
            "{stderr}"
        );
        assert!(
            err.to_string()
                .starts_with("`git diff` failed (exit status: 128): "),
            "{err}"
        );
    }
}
