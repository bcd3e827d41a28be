//! Reads `git diff --raw --numstat -z`: git's own pairing of files and its counts per file.
//!
//! With `-z` every path is printed as is and ends with a NUL, so spaces, tabs, newlines and
//! non-ASCII names need no unquoting. git prints one raw record per file first (status and
//! paths), then one numstat record per file (counts and paths), in the same order:
//!
//! - raw: `:100644 100644 <sha> <sha> M` NUL `path` NUL, or for a rename or copy
//!   `… R067` NUL `old` NUL `new` NUL;
//! - numstat: `added` TAB `deleted` TAB `path` NUL, or for a rename or copy
//!   `added` TAB `deleted` TAB NUL `old` NUL `new` NUL; a binary file shows `-` for both counts.
use crate::domain::{FileChange, FileStatus};

/// The files of `git diff --raw --numstat -z` output, in git's order. The error says what in
/// the output could not be read.
pub fn parse(output: &[u8]) -> Result<Vec<FileChange>, String> {
    let mut tokens = output.split(|&byte| byte == 0).map(String::from_utf8_lossy);
    let mut statuses: Vec<(FileStatus, Paths)> = Vec::new();
    let mut counts: Vec<(Counts, Paths)> = Vec::new();
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            // Only the end of the output leaves an empty token: no path is empty.
            continue;
        }
        let mut next_path = || {
            tokens
                .next()
                .filter(|path| !path.is_empty())
                .map(|path| path.into_owned())
                .ok_or_else(|| format!("a path is missing after `{token}`"))
        };
        if let Some(raw) = token.strip_prefix(':') {
            let status = raw_status(raw)?;
            let paths = if matches!(status, FileStatus::Renamed | FileStatus::Copied) {
                Paths::Moved(next_path()?, next_path()?)
            } else {
                Paths::One(next_path()?)
            };
            statuses.push((status, paths));
        } else {
            let mut fields = token.splitn(3, '\t');
            let (Some(added), Some(deleted), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("`{token}` is neither a raw nor a numstat record"));
            };
            let counts_of_file = Counts::parse(added, deleted)?;
            let paths = if path.is_empty() {
                Paths::Moved(next_path()?, next_path()?)
            } else {
                Paths::One(path.to_owned())
            };
            counts.push((counts_of_file, paths));
        }
    }
    if statuses.len() != counts.len() {
        return Err(format!(
            "{} files have a status but {} have counts",
            statuses.len(),
            counts.len()
        ));
    }
    statuses
        .into_iter()
        .zip(counts)
        .map(|((status, paths), (counts, counted_paths))| {
            if paths != counted_paths {
                return Err(format!(
                    "the status of {paths:?} came with the counts of {counted_paths:?}"
                ));
            }
            Ok(file_change(status, paths, counts))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Paths {
    One(String),
    /// A rename or copy: the old path, then the new one.
    Moved(String, String),
}

struct Counts {
    additions: u64,
    deletions: u64,
    binary: bool,
}

impl Counts {
    fn parse(added: &str, deleted: &str) -> Result<Self, String> {
        if added == "-" && deleted == "-" {
            return Ok(Self {
                additions: 0,
                deletions: 0,
                binary: true,
            });
        }
        let number = |field: &str| {
            field
                .parse::<u64>()
                .map_err(|_| format!("`{field}` is not a line count"))
        };
        Ok(Self {
            additions: number(added)?,
            deletions: number(deleted)?,
            binary: false,
        })
    }
}

/// The status letter, last in the raw record's header (`R` carries a score: `R067`).
fn raw_status(header: &str) -> Result<FileStatus, String> {
    let letter = header
        .rsplit(' ')
        .next()
        .and_then(|field| field.chars().next())
        .ok_or_else(|| format!("`:{header}` has no status"))?;
    Ok(match letter {
        'A' => FileStatus::Added,
        'D' => FileStatus::Removed,
        'M' => FileStatus::Modified,
        'R' => FileStatus::Renamed,
        'C' => FileStatus::Copied,
        // A type change (file, symlink, submodule) and anything newer keep their path.
        _ => FileStatus::Changed,
    })
}

fn file_change(status: FileStatus, paths: Paths, counts: Counts) -> FileChange {
    let (path, previous_path) = match paths {
        Paths::One(path) => (path, None),
        Paths::Moved(old, new) => (new, Some(old)),
    };
    FileChange {
        path,
        previous_path,
        status,
        additions: counts.additions,
        deletions: counts.deletions,
        binary: counts.binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        path: &str,
        previous_path: Option<&str>,
        status: FileStatus,
        (additions, deletions): (u64, u64),
        binary: bool,
    ) -> FileChange {
        FileChange {
            path: path.to_owned(),
            previous_path: previous_path.map(str::to_owned),
            status,
            additions,
            deletions,
            binary,
        }
    }

    /// Output as git 2.47 prints it for a deletion, a binary change, a cut file, a mode
    /// change, a rename with edits and an exact rename of a path with spaces and accents.
    const OUTPUT: &[u8] = b":100644 000000 1904233 0000000 D\0a.txt\0\
        :100644 100644 d5d0b8b 4a27031 M\0b.bin\0\
        :000000 100644 0000000 1c99002 A\0c.txt\0\
        :100644 100755 45b983b 45b983b M\0keep\0\
        :100644 100644 518c5cb 2d85e0b R067\0gone.txt\0new.txt\0\
        :100644 100644 e8823e1 e8823e1 R100\0sp ace \xc3\xa9.txt\0other\tdir\n\xc3\xbc.txt\0\
        0\t100\ta.txt\0-\t-\tb.bin\x00040\t0\tc.txt\x000\t0\tkeep\0\
        0\t20\t\0gone.txt\0new.txt\0\
        0\t0\t\0sp ace \xc3\xa9.txt\0other\tdir\n\xc3\xbc.txt\0";

    #[test]
    fn every_record_becomes_a_file_with_its_status_and_counts() {
        use FileStatus::*;
        assert_eq!(
            parse(OUTPUT),
            Ok(vec![
                change("a.txt", None, Removed, (0, 100), false),
                change("b.bin", None, Modified, (0, 0), true),
                change("c.txt", None, Added, (40, 0), false),
                change("keep", None, Modified, (0, 0), false),
                change("new.txt", Some("gone.txt"), Renamed, (0, 20), false),
                change(
                    "other\tdir\nü.txt",
                    Some("sp ace é.txt"),
                    Renamed,
                    (0, 0),
                    false
                ),
            ])
        );
    }

    #[test]
    fn no_output_is_no_files() {
        assert_eq!(parse(b""), Ok(Vec::new()));
    }

    #[test]
    fn output_that_does_not_add_up_is_an_error_not_a_guess() {
        let counts_only = b"1\t2\ta.txt\0";
        assert_eq!(
            parse(counts_only),
            Err("0 files have a status but 1 have counts".to_owned())
        );
        let crossed = b":100644 100644 1 2 M\0a.txt\x001\t2\tb.txt\0";
        assert!(parse(crossed).unwrap_err().contains("came with the counts"));
        let cut = b":100644 100644 1 2 R090\0old.txt\0";
        assert_eq!(
            parse(cut),
            Err("a path is missing after `:100644 100644 1 2 R090`".to_owned())
        );
        let words = b":100644 100644 1 2 M\0a.txt\0many\tfew\ta.txt\0";
        assert_eq!(parse(words), Err("`many` is not a line count".to_owned()));
    }
}
