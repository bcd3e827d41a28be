//! The repository's policy file. Read from the base branch, so a PR cannot loosen its own gate.
use super::globs::PathGlobs;
use serde::{Deserialize, Serialize};

/// Where the policy file is looked for, in order.
pub const CONFIG_PATHS: [&str; 2] = [".github/smallbatch.yml", ".smallbatch.yml"];

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
        let config: Self = serde_yaml_ng::from_str(text).map_err(located)?;
        config.validate().map_err(|problem| ConfigError {
            file: file.to_owned(),
            line: problem.key.and_then(|key| line_of_key(text, key)),
            column: None,
            message: problem.message,
        })?;
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

/// serde_yaml appends " at line L column C"; the error carries those separately.
fn without_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
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
