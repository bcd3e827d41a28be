//! Line counts from GitLab's per-file diffs. GitLab reports no counts of its own, so
//! they are read off the unified diff text, which starts at the first `@@` hunk.
//!
//! Each hunk header says how many old and new lines its body spans; a body that does
//! not add up to its header (a diff cut short, or mangled on the way) is reported as
//! [`DiffCount::Unreadable`] rather than counted short, so the caller can fall back to
//! counting whole files.

/// What a diff text says about a file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffCount {
    Lines {
        additions: u64,
        deletions: u64,
    },
    /// `Binary files a/x and b/y differ`.
    Binary,
    Unreadable,
}

/// Counts the added and removed lines of a per-file unified diff.
pub fn count(diff: &str) -> DiffCount {
    let mut lines = diff.lines().peekable();
    // `git diff` headers, which GitLab leaves out unless asked for a full unidiff.
    while let Some(line) = lines.peek() {
        if line.starts_with("@@") {
            break;
        }
        if line.starts_with("Binary files ") && line.ends_with(" differ") {
            return DiffCount::Binary;
        }
        if !is_file_header(line) {
            return DiffCount::Unreadable;
        }
        lines.next();
    }
    let (mut additions, mut deletions) = (0, 0);
    while let Some(header) = lines.next() {
        let Some((mut old, mut new)) = hunk_header(header) else {
            return DiffCount::Unreadable;
        };
        while old > 0 || new > 0 {
            let Some(line) = lines.next() else {
                return DiffCount::Unreadable;
            };
            // A context line for an empty line may have lost its leading space.
            let (old_side, new_side) = match line.as_bytes().first() {
                Some(b'+') => (0, 1),
                Some(b'-') => (1, 0),
                Some(b' ') | None => (1, 1),
                Some(b'\\') => (0, 0),
                Some(_) => return DiffCount::Unreadable,
            };
            if old < old_side || new < new_side {
                return DiffCount::Unreadable;
            }
            old -= old_side;
            new -= new_side;
            additions += new_side * (1 - old_side);
            deletions += old_side * (1 - new_side);
        }
        // "\ No newline at end of file" after the hunk's last line.
        while lines.peek().is_some_and(|l| l.starts_with('\\')) {
            lines.next();
        }
    }
    DiffCount::Lines {
        additions,
        deletions,
    }
}

fn is_file_header(line: &str) -> bool {
    const HEADERS: &[&str] = &[
        "diff --git ",
        "index ",
        "--- ",
        "+++ ",
        "old mode ",
        "new mode ",
        "new file mode ",
        "deleted file mode ",
        "similarity index ",
        "dissimilarity index ",
        "rename from ",
        "rename to ",
        "copy from ",
        "copy to ",
    ];
    HEADERS.iter().any(|h| line.starts_with(h))
}

/// `@@ -a[,b] +c[,d] @@ ...` → `(b, d)`, each defaulting to 1.
fn hunk_header(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    Some((range_len(old)?, range_len(new)?))
}

fn range_len(range: &str) -> Option<u64> {
    match range.split_once(',') {
        Some((start, len)) => {
            start.parse::<u64>().ok()?;
            len.parse().ok()
        }
        None => range.parse::<u64>().ok().map(|_| 1),
    }
}

/// Lines of a whole file, for counting a file GitLab shows no diff for; `None` when
/// the content is binary (has a NUL byte, as git decides).
pub fn line_count(content: &[u8]) -> Option<u64> {
    if content.contains(&0) {
        return None;
    }
    let newlines = content.iter().filter(|&&b| b == b'\n').count() as u64;
    let unterminated = content.last().is_some_and(|&b| b != b'\n');
    Some(newlines + u64::from(unterminated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(additions: u64, deletions: u64) -> DiffCount {
        DiffCount::Lines {
            additions,
            deletions,
        }
    }

    #[test]
    fn counts_added_and_removed_lines_across_hunks() {
        let diff = "@@ -1,3 +1,4 @@ fn main() {\n a\n-b\n+B\n+B2\n c\n@@ -10,2 +11,0 @@\n-x\n-y\n";
        assert_eq!(count(diff), lines(2, 3));
    }

    #[test]
    fn lines_that_look_like_headers_inside_a_hunk_are_content() {
        // A removed line "-- x" and an added "++ y" read as "--- x"/"+++ y".
        let diff = "@@ -1 +1 @@\n--- x\n+++ y\n";
        assert_eq!(count(diff), lines(1, 1));
    }

    #[test]
    fn no_newline_markers_and_git_headers_are_not_lines() {
        let diff = "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n";
        assert_eq!(count(diff), lines(1, 1));
    }

    #[test]
    fn new_and_deleted_files_use_zero_length_ranges() {
        assert_eq!(count("@@ -0,0 +1,2 @@\n+a\n+b\n"), lines(2, 0));
        assert_eq!(count("@@ -1,2 +0,0 @@\n-a\n-b\n"), lines(0, 2));
    }

    #[test]
    fn binary_notice_is_binary() {
        assert_eq!(
            count("Binary files a/logo.png and b/logo.png differ\n"),
            DiffCount::Binary
        );
        assert_eq!(
            count("Binary files /dev/null and b/logo.png differ"),
            DiffCount::Binary
        );
    }

    #[test]
    fn a_body_short_of_its_header_or_a_bad_header_is_unreadable() {
        assert_eq!(count("@@ -1,3 +1,3 @@\n a\n-b\n"), DiffCount::Unreadable);
        // As in GitLab's API documentation, newlines lost.
        assert_eq!(count("@@ -1 +1 @@ -Title +README"), DiffCount::Unreadable);
        assert_eq!(count("@@ -1.9.7 +1.9.8"), DiffCount::Unreadable);
        assert_eq!(count("something else\n"), DiffCount::Unreadable);
        assert_eq!(count("@@ -1 +1 @@\n-a\n+b\n+c\n"), DiffCount::Unreadable);
    }

    #[test]
    fn an_empty_diff_has_no_lines() {
        assert_eq!(count(""), lines(0, 0));
    }

    #[test]
    fn line_count_counts_an_unterminated_last_line_and_spots_binary() {
        assert_eq!(line_count(b""), Some(0));
        assert_eq!(line_count(b"a\nb\n"), Some(2));
        assert_eq!(line_count(b"a\nb"), Some(2));
        assert_eq!(line_count(b"\x89PNG\0\x01"), None);
    }
}
