//! The repository's policy file. Read from the base branch, so a PR cannot loosen its own gate.
use super::globs::PathGlobs;
use serde::{Deserialize, Serialize};

/// Where the policy file is looked for on GitHub, in order.
pub const CONFIG_PATHS: [&str; 2] = [".github/smallbatch.yml", ".smallbatch.yml"];
/// Where the policy file is looked for on GitLab, in order.
pub const GITLAB_CONFIG_PATHS: [&str; 2] = [".gitlab/smallbatch.yml", ".smallbatch.yml"];

/// The policy file locations for a forge, in the order they are tried.
pub fn config_paths(forge: crate::domain::ForgeKind) -> [&'static str; 2] {
    match forge {
        crate::domain::ForgeKind::GitHub => CONFIG_PATHS,
        crate::domain::ForgeKind::GitLab => GITLAB_CONFIG_PATHS,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoConfig {
    pub size: SizeConfig,
    pub reviews: ReviewsConfig,
    pub tests: TestsConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SizeConfig {
    pub max_lines: u64,
    pub warn_lines: u64,
    pub max_files: Option<u64>,
    pub ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewsConfig {
    pub required_approvals: u32,
    pub stale: StaleReviews,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReviews {
    #[default]
    Keep,
    Dismiss,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestsConfig {
    pub min_lines: u64,
    pub required: bool,
    /// Replaces the default test-file patterns when set.
    pub patterns: Option<Vec<String>>,
}

/// A broken policy file, reported to the user with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}{}: {message}", location(*line, *column))]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl RepoConfig {
    /// Parses and validates a policy file. `file` names it in errors.
    ///
    /// An empty file, or one of only comments, means all defaults. Unknown keys, wrong types
    /// and inconsistent values (see [`RepoConfig::validate`]) are errors, never ignored.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let located = |err: serde_yaml_ng::Error| {
            let location = err.location();
            ConfigError {
                file: file.to_owned(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: without_location(&err.to_string()),
            }
        };
        // A document with no content deserializes as null, not as an empty mapping.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(located)?;
        if value.is_null() {
            return Ok(Self::default());
        }
        let mut config: Self = serde_yaml_ng::from_str(text).map_err(located)?;
        let warn_given = value
            .get("size")
            .and_then(|s| s.get("warn_lines"))
            .is_some();
        if !warn_given {
            // Lowering only the limit keeps the warning below it, as the defaults do.
            config.size.warn_lines = config.size.warn_lines.min(config.size.max_lines / 2);
        }
        config.validate().map_err(|problem| ConfigError {
            file: file.to_owned(),
            line: problem.key.and_then(|key| line_of_key(text, key)),
            column: None,
            message: problem.message,
        })?;
        Ok(config)
    }

    /// Parses a policy file for a repository on `forge`, refusing settings that forge
    /// cannot honour rather than silently ignoring them.
    pub fn parse_for(
        forge: crate::domain::ForgeKind,
        file: &str,
        text: &str,
    ) -> Result<Self, ConfigError> {
        let config = Self::parse(file, text)?;
        if forge == crate::domain::ForgeKind::GitLab && config.reviews.stale != StaleReviews::Keep {
            return Err(ConfigError {
                file: file.to_owned(),
                line: line_of_key(text, "stale"),
                column: None,
                message: "reviews.stale: only `keep` works on GitLab, whose approvals do not say \
                          which commit was approved; to drop approvals on a push, turn on the \
                          project setting \"Remove all approvals when commits are added\""
                    .to_owned(),
            });
        }
        Ok(config)
    }

    /// Checks what types alone cannot: limits that contradict each other, globs that don't compile.
    fn validate(&self) -> Result<(), Problem> {
        let size = &self.size;
        if size.max_lines == 0 {
            return Err(Problem::at(
                "max_lines",
                "size.max_lines must be at least 1",
            ));
        }
        if size.warn_lines > size.max_lines {
            return Err(Problem::at(
                "warn_lines",
                format!(
                    "size.warn_lines ({}) must not be greater than size.max_lines ({})",
                    size.warn_lines, size.max_lines
                ),
            ));
        }
        if size.max_files == Some(0) {
            return Err(Problem::at(
                "max_files",
                "size.max_files must be at least 1 (leave it out for no limit)",
            ));
        }
        PathGlobs::new(&size.ignore)
            .map_err(|e| Problem::at("ignore", format!("size.ignore: {e}")))?;
        if let Some(patterns) = &self.tests.patterns {
            if patterns.is_empty() {
                return Err(Problem::at(
                    "patterns",
                    "tests.patterns is empty, so no file could count as a test; \
                     leave it out to use the defaults",
                ));
            }
            PathGlobs::new(patterns)
                .map_err(|e| Problem::at("patterns", format!("tests.patterns: {e}")))?;
        }
        Ok(())
    }
}

/// A semantic error and the key it is about, to point at its line.
struct Problem {
    key: Option<&'static str>,
    message: String,
}

impl Problem {
    fn at(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key: Some(key),
            message: message.into(),
        }
    }
}

/// The 1-based line where `key:` first appears (block style), if it does.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// serde_yaml puts the error's own " at line L column C" in its message; the error carries
/// those separately. A later location (where an enclosing construct started) stays.
fn without_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest
        .strip_prefix(" column ")
        .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    format!("{}{rest}", &message[..start])
}

impl Default for SizeConfig {
    fn default() -> Self {
        Self {
            max_lines: 400,
            warn_lines: 200,
            max_files: None,
            ignore: Vec::new(),
        }
    }
}

impl Default for ReviewsConfig {
    fn default() -> Self {
        Self {
            required_approvals: 1,
            stale: StaleReviews::Keep,
        }
    }
}

impl Default for TestsConfig {
    fn default() -> Self {
        Self {
            min_lines: 50,
            required: false,
            patterns: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = ".github/smallbatch.yml";

    fn err(text: &str) -> ConfigError {
        RepoConfig::parse(FILE, text).unwrap_err()
    }

    #[test]
    fn empty_or_comment_only_files_mean_defaults() {
        for text in ["", "\n\n", "# nothing here\n  # still nothing\n", "---\n"] {
            assert_eq!(
                RepoConfig::parse(FILE, text),
                Ok(RepoConfig::default()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = RepoConfig::default();
        assert_eq!(
            (d.size.max_lines, d.size.warn_lines, d.size.max_files),
            (400, 200, None)
        );
        assert_eq!(
            (d.reviews.required_approvals, d.reviews.stale),
            (1, StaleReviews::Keep)
        );
        assert_eq!(
            (d.tests.min_lines, d.tests.required, d.tests.patterns),
            (50, false, None)
        );
    }

    #[test]
    fn a_full_file_parses_and_omitted_keys_keep_defaults() {
        let text = "size:\n  max_lines: 800\n  max_files: 40\n  ignore: ['*.snap', 'docs/']\n\
                    reviews:\n  stale: changed\n\
                    tests:\n  required: true\n  patterns: ['checks/**']\n";
        let c = RepoConfig::parse(FILE, text).unwrap();
        assert_eq!(c.size.max_lines, 800);
        assert_eq!(c.size.warn_lines, 200);
        assert_eq!(c.size.max_files, Some(40));
        assert_eq!(c.size.ignore, ["*.snap", "docs/"]);
        assert_eq!(c.reviews.stale, StaleReviews::Changed);
        assert_eq!(c.reviews.required_approvals, 1);
        assert!(c.tests.required);
        assert_eq!(c.tests.patterns, Some(vec!["checks/**".to_owned()]));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let e = err("size:\n  max_lines: 300\n  max_line: 100\n");
        assert_eq!(e.file, FILE);
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert!(
            e.message
                .starts_with("size: unknown field `max_line`, expected one of"),
            "{}",
            e.message
        );
        let e = err("sizes:\n  max_lines: 300\n");
        assert_eq!(e.line, Some(1));
        assert!(
            e.message.starts_with("unknown field `sizes`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_wrong_type_is_an_error_with_its_place() {
        let e = err("size:\n  max_lines: lots\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("invalid type: string \"lots\""),
            "{}",
            e.message
        );
        let e = err("reviews:\n  stale: sometimes\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("unknown variant `sometimes`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn gitlab_refuses_stale_modes_it_cannot_enforce() {
        use crate::domain::ForgeKind;
        let text = "reviews:\n  stale: dismiss\n";
        assert!(RepoConfig::parse_for(ForgeKind::GitHub, "f.yml", text).is_ok());
        let e =
            RepoConfig::parse_for(ForgeKind::GitLab, ".gitlab/smallbatch.yml", text).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .starts_with("reviews.stale: only `keep` works on GitLab"),
            "{}",
            e.message
        );
        let keep = "reviews:\n  stale: keep\n";
        assert!(RepoConfig::parse_for(ForgeKind::GitLab, "f.yml", keep).is_ok());
    }

    #[test]
    fn default_warning_follows_a_lowered_limit() {
        let c = RepoConfig::parse("f.yml", "size:\n  max_lines: 150\n").unwrap();
        assert_eq!((c.size.max_lines, c.size.warn_lines), (150, 75));
        let c = RepoConfig::parse("f.yml", "size:\n  max_lines: 1000\n").unwrap();
        assert_eq!((c.size.max_lines, c.size.warn_lines), (1000, 200));
    }

    #[test]
    fn warn_lines_over_max_lines_is_an_error_at_its_line() {
        let e = err("size:\n  max_lines: 100\n  warn_lines: 150\n");
        assert_eq!(
            e,
            ConfigError {
                file: FILE.into(),
                line: Some(3),
                column: None,
                message: "size.warn_lines (150) must not be greater than size.max_lines (100)"
                    .into(),
            }
        );
        assert_eq!(
            e.to_string(),
            ".github/smallbatch.yml:3: size.warn_lines (150) must not be greater than size.max_lines (100)"
        );
    }

    #[test]
    fn zero_limits_are_errors() {
        let e = err("size:\n  max_lines: 0\n  warn_lines: 0\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "size.max_lines must be at least 1")
        );
        let e = err("size:\n  max_files: 0\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "size.max_files must be at least 1 (leave it out for no limit)"
        );
    }

    #[test]
    fn invalid_globs_are_errors() {
        let e = err("size:\n  ignore:\n    - 'gen/[ab'\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.message,
            "size.ignore: invalid glob `gen/[ab`: the character class `[` is never closed"
        );
        let e = err("tests:\n  patterns: []\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.starts_with("tests.patterns is empty"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_yaml_is_an_error_with_its_place() {
        let e = err("size:\n  max_lines: [1\n");
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert_eq!(
            e.message,
            "did not find expected ',' or ']', while parsing a flow sequence at line 2 column 14"
        );
    }
}
