//! The changed files between two commits, counted exactly like `git diff --numstat A B`.
//!
//! Matches git's defaults: Myers line diff, rename detection per `diff.renames` at 50%
//! similarity, `-`/`-` (here `binary`, 0/0) for content with a NUL byte or a `-diff`
//! attribute. Known limits: `diff.algorithm` (patience, histogram) is not honoured, and
//! libgit2 measures similarity with its own hash, so a pair right at the 50% boundary may
//! pair differently than git.
use super::LocalError;
use crate::domain::{FileChange, FileStatus};
use git2::{Config, Delta, DiffDelta, DiffFindOptions, DiffOptions, Oid, Patch, Repository};

/// What `git diff` pairs up, from the repo's `diff.renames` (git's default: renames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameDetection {
    Off,
    Renames,
    RenamesAndCopies,
}

impl RenameDetection {
    /// Reads `diff.renames` the way git does: unset or true means renames,
    /// `copies`/`copy` adds copies, false turns detection off.
    pub fn from_config(config: &Config) -> Self {
        match config.get_string("diff.renames") {
            Err(_) => Self::Renames,
            Ok(value)
                if value.eq_ignore_ascii_case("copies") || value.eq_ignore_ascii_case("copy") =>
            {
                Self::RenamesAndCopies
            }
            Ok(value) => match Config::parse_bool(value.as_str()) {
                Ok(false) => Self::Off,
                _ => Self::Renames,
            },
        }
    }
}

/// git's default similarity for `-M` and `-C`.
const SIMILARITY_THRESHOLD: u16 = 50;

/// The files changed from `from`'s tree to `to`'s tree, in git's (path) order, with the
/// same per-file additions and deletions as `git diff --numstat from to`.
pub fn changed_files(repo: &Repository, from: Oid, to: Oid) -> Result<Vec<FileChange>, LocalError> {
    let old_tree = repo.find_commit(from)?.tree()?;
    let new_tree = repo.find_commit(to)?.tree()?;
    let mut options = DiffOptions::new();
    let mut diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut options))?;

    let detection = RenameDetection::from_config(&repo.config()?);
    if detection != RenameDetection::Off {
        let mut find = DiffFindOptions::new();
        find.renames(true)
            .copies(detection == RenameDetection::RenamesAndCopies)
            .rename_threshold(SIMILARITY_THRESHOLD)
            .copy_threshold(SIMILARITY_THRESHOLD)
            // git's similarity counts whitespace; libgit2's default ignores leading whitespace.
            .dont_ignore_whitespace(true);
        diff.find_similar(Some(&mut find))?;
    }

    (0..diff.deltas().len())
        .map(|index| {
            let patch = Patch::from_diff(&diff, index)?;
            let delta = match &patch {
                Some(patch) => patch.delta(),
                None => diff
                    .get_delta(index)
                    .ok_or_else(|| git2::Error::from_str("diff delta vanished while reading it"))?,
            };
            // The binary flag is only known once the content was loaded, i.e. from the patch.
            let binary = delta.flags().is_binary();
            let (additions, deletions) = match (&patch, binary) {
                (Some(patch), false) => {
                    let (_context, additions, deletions) = patch.line_stats()?;
                    (additions as u64, deletions as u64)
                }
                _ => (0, 0),
            };
            Ok(file_change(&delta, additions, deletions, binary))
        })
        .collect()
}

fn file_change(delta: &DiffDelta<'_>, additions: u64, deletions: u64, binary: bool) -> FileChange {
    let status = match delta.status() {
        Delta::Added => FileStatus::Added,
        Delta::Deleted => FileStatus::Removed,
        Delta::Modified => FileStatus::Modified,
        Delta::Renamed => FileStatus::Renamed,
        Delta::Copied => FileStatus::Copied,
        Delta::Unmodified => FileStatus::Unchanged,
        // Typechange (file <-> symlink) and the workdir-only states never reach a
        // tree-to-tree diff as anything but a change of the same path.
        _ => FileStatus::Changed,
    };
    let old_path = path_of(&delta.old_file());
    let new_path = path_of(&delta.new_file());
    let (path, previous_path) = match status {
        FileStatus::Removed => (old_path, None),
        FileStatus::Renamed | FileStatus::Copied => (new_path, Some(old_path)),
        _ => (new_path, None),
    };
    FileChange {
        path,
        previous_path,
        status,
        additions,
        deletions,
        binary,
    }
}

/// A repo-relative path with `/` separators; non-UTF-8 bytes are replaced for display.
fn path_of(file: &git2::DiffFile<'_>) -> String {
    file.path_bytes()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}
