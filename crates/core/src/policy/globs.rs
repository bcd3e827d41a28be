//! Path globs for `size.ignore` and `tests.patterns`, with `.gitignore` semantics (matched by
//! gix-glob, git's own wildmatch): a pattern without a slash matches a file or directory name at
//! any depth, a pattern with a slash is anchored at the repository root, `*` stops at `/` while
//! `**` crosses it, a trailing `/` matches directories only, a file under a matched directory
//! matches too, and a later `!pattern` re-includes what an earlier one matched (last match wins).
use gix_glob::pattern::Case;
use gix_glob::wildmatch::Mode;
use gix_glob::Pattern;

/// A compiled, ordered list of patterns.
#[derive(Debug, Clone, Default)]
pub struct PathGlobs {
    patterns: Vec<(String, Pattern)>,
}

/// A pattern that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob `{pattern}`: {reason}")]
pub struct GlobError {
    pub pattern: String,
    pub reason: String,
}

impl PathGlobs {
    pub fn new(patterns: &[String]) -> Result<Self, GlobError> {
        let patterns = patterns
            .iter()
            .map(|text| compile(text).map(|pattern| (text.clone(), pattern)))
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The pattern that decides `path` is matched (the last one matching it), or `None` when
    /// nothing matches or the last match is a `!` re-include. A leading `/` on `path` is
    /// ignored: paths are relative to the repository root either way.
    pub fn matching(&self, path: &str) -> Option<&str> {
        let (text, pattern) = &self.patterns[self.last_match(path)?];
        (!pattern.is_negative()).then_some(text.as_str())
    }

    /// The index of the last pattern matching `path` or a directory containing it, `!`
    /// patterns included: CODEOWNERS takes its lines' order from here.
    pub fn last_match(&self, path: &str) -> Option<usize> {
        // gix asserts (in debug builds) that the path is relative.
        let candidates = candidates(path.trim_start_matches('/'));
        self.patterns.iter().rposition(|(_, pattern)| {
            candidates.iter().any(|(candidate, is_dir)| {
                pattern.matches_repo_relative_path(
                    candidate.as_bytes().into(),
                    candidate.rfind('/').map(|p| p + 1),
                    Some(*is_dir),
                    Case::Sensitive,
                    Mode::NO_MATCH_SLASH_LITERAL,
                )
            })
        })
    }
}

/// The path itself and every directory containing it: matching a directory matches its files.
fn candidates(path: &str) -> Vec<(&str, bool)> {
    let mut out: Vec<(&str, bool)> = path
        .match_indices('/')
        .map(|(i, _)| (&path[..i], true))
        .filter(|(dir, _)| !dir.is_empty())
        .collect();
    out.push((path, false));
    out
}

fn compile(text: &str) -> Result<Pattern, GlobError> {
    let error = |reason: &str| GlobError {
        pattern: text.to_owned(),
        reason: reason.to_owned(),
    };
    if text.trim().is_empty() || text.trim() == "!" {
        return Err(error("the pattern is empty"));
    }
    if text.starts_with('#') {
        return Err(error(
            "a pattern starting with `#` is a comment in gitignore syntax; escape it as `\\#`",
        ));
    }
    check_syntax(text).map_err(error)?;
    Pattern::from_bytes(text.as_bytes()).ok_or_else(|| error("the pattern is empty"))
}

/// Rejects what wildmatch would silently never match: an unclosed `[` or a dangling `\`.
fn check_syntax(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 == bytes.len() => return Err("it ends with a lone `\\`"),
            b'\\' => i += 2,
            b'[' => {
                let mut j = i + 1;
                if matches!(bytes.get(j), Some(b'!' | b'^')) {
                    j += 1;
                }
                // A `]` right after the opening bracket is a literal member of the class.
                if bytes.get(j) == Some(&b']') {
                    j += 1;
                }
                while j < bytes.len() && bytes[j] != b']' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if j >= bytes.len() {
                    return Err("the character class `[` is never closed");
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(patterns: &[&str]) -> PathGlobs {
        PathGlobs::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn pattern_without_slash_matches_names_at_any_depth() {
        let g = globs(&["*.snap"]);
        assert_eq!(g.matching("a/b/c.snap"), Some("*.snap"));
        assert_eq!(g.matching("c.snap"), Some("*.snap"));
        assert_eq!(g.matching("c.snapx"), None);
    }

    #[test]
    fn pattern_with_slash_is_anchored_and_star_stops_at_slash() {
        let g = globs(&["docs/*.md"]);
        assert_eq!(g.matching("docs/a.md"), Some("docs/*.md"));
        assert_eq!(g.matching("docs/sub/a.md"), None);
        assert_eq!(g.matching("x/docs/a.md"), None);
        let g = globs(&["docs/**/*.md"]);
        assert_eq!(g.matching("docs/sub/deeper/a.md"), Some("docs/**/*.md"));
    }

    #[test]
    fn directory_pattern_matches_everything_below() {
        let g = globs(&["fixtures/"]);
        assert_eq!(g.matching("tests/fixtures/big.json"), Some("fixtures/"));
        assert_eq!(g.matching("fixtures"), None, "a file named like the dir");
        let g = globs(&["/generated"]);
        assert_eq!(g.matching("generated/a.rs"), Some("/generated"));
        assert_eq!(g.matching("src/generated/a.rs"), None);
    }

    /// Found by fuzzing: gix panicked in debug builds on a path starting with `/`.
    #[test]
    fn a_leading_slash_names_the_same_file() {
        let g = globs(&["/generated", "*.snap"]);
        assert_eq!(g.matching("/generated/a.rs"), Some("/generated"));
        assert_eq!(g.matching("//src/a.snap"), Some("*.snap"));
        assert_eq!(g.matching("/src/lib.rs"), None);
        assert_eq!(g.matching("/"), None);
    }

    #[test]
    fn later_negation_reincludes() {
        let g = globs(&["*.json", "!keep.json"]);
        assert_eq!(g.matching("data/a.json"), Some("*.json"));
        assert_eq!(g.matching("data/keep.json"), None);
        let g = globs(&["!keep.json", "*.json"]);
        assert_eq!(g.matching("data/keep.json"), Some("*.json"));
    }

    #[test]
    fn invalid_patterns_are_rejected_with_a_reason() {
        let err = PathGlobs::new(&["src/[ab".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid glob `src/[ab`: the character class `[` is never closed"
        );
        let err = PathGlobs::new(&["  ".to_string()]).unwrap_err();
        assert_eq!(err.reason, "the pattern is empty");
        let err = PathGlobs::new(&["a\\".to_string()]).unwrap_err();
        assert_eq!(err.reason, "it ends with a lone `\\`");
        assert!(PathGlobs::new(&["[]]x".to_string(), "\\[x".to_string()]).is_ok());
    }
}
