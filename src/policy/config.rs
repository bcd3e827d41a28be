//! The repository's policy file. Read from the base branch, so a PR cannot loosen its own gate.
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
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let _ = (file, text);
        todo!("policy helper")
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
