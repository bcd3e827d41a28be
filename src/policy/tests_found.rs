//! Did tests come with the code?
use super::config::TestsConfig;
use super::size::SizeScore;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestsOutcome {
    pub test_files: Vec<String>,
    /// Counted lines of non-test files.
    pub source_lines: u64,
    pub min_lines: u64,
    pub required: bool,
    /// More than `min_lines` of source changed and no test file did.
    pub missing: bool,
}

pub fn check(size: &SizeScore, config: &TestsConfig) -> TestsOutcome {
    let _ = (size, config);
    todo!("policy helper")
}
