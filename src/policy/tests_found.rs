//! Did tests come with the code?
use super::config::TestsConfig;
use super::globs::PathGlobs;
use super::size::SizeScore;
use crate::domain::FileStatus;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestsOutcome {
    pub test_files: Vec<String>,
    /// Counted lines of non-test files.
    pub source_lines: u64,
    pub min_lines: u64,
    pub required: bool,
    /// The repository's own test-file globs, when they replace the defaults.
    pub patterns: Option<Vec<String>>,
    /// More than `min_lines` of source changed and no test file did.
    pub missing: bool,
}

/// Classifies the counted files as tests or source. Excluded files are neither. A deleted test
/// file is not a test that came with the code. Files past the forge's listing cap cannot be
/// classified, so only listed files are looked at.
pub fn check(size: &SizeScore, config: &TestsConfig) -> TestsOutcome {
    let custom = config
        .patterns
        .as_ref()
        .map(|patterns| PathGlobs::new(patterns).unwrap_or_default());
    let is_test = |path: &str| match &custom {
        Some(globs) => globs.matching(path).is_some(),
        None => is_default_test_path(path),
    };
    let mut test_files = Vec::new();
    let mut source_lines = 0;
    for file in size.counted() {
        if is_test(&file.path) {
            if file.status != FileStatus::Removed {
                test_files.push(file.path.clone());
            }
        } else {
            source_lines += file.lines;
        }
    }
    TestsOutcome {
        missing: test_files.is_empty() && source_lines > config.min_lines,
        test_files,
        source_lines,
        min_lines: config.min_lines,
        required: config.required,
        patterns: config.patterns.clone(),
    }
}

/// Directories whose files are tests, at any depth (`src/test/` included).
const TEST_DIRS: &[&str] = &["tests", "test", "spec", "__tests__"];

/// The default test-file conventions of the common ecosystems.
pub fn is_default_test_path(path: &str) -> bool {
    let mut components: Vec<&str> = path.split('/').collect();
    let name = components.pop().unwrap_or_default();
    if components.iter().any(|dir| TEST_DIRS.contains(dir)) {
        return true;
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    // foo_test.go, foo.test.ts, foo.spec.js, foo_spec.rb
    let marked = ["_test.", ".test.", ".spec.", "_spec."]
        .iter()
        .any(|mark| name.contains(mark));
    // test_foo.py
    let pytest = name.starts_with("test_") && ext == "py";
    // FooTest.java, FooTests.cs, FooSpec.scala
    let xunit = matches!(
        ext,
        "java" | "kt" | "scala" | "groovy" | "cs" | "swift" | "php"
    ) && ["Test", "Tests", "Spec"]
        .iter()
        .any(|suffix| stem.len() > suffix.len() && stem.ends_with(suffix));
    marked || pytest || xunit
}
