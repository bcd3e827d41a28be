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
    // test_foo.py; tests.rs / tests.py hold a module's tests (Rust, Django)
    let pytest = name.starts_with("test_") && ext == "py";
    let tests_module = stem == "tests" && !ext.is_empty();
    // FooTest.java, FooTests.cs, FooSpec.scala
    let xunit = matches!(
        ext,
        "java" | "kt" | "scala" | "groovy" | "cs" | "swift" | "php"
    ) && ["Test", "Tests", "Spec"]
        .iter()
        .any(|suffix| stem.len() > suffix.len() && stem.ends_with(suffix));
    marked || pytest || tests_module || xunit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::SizeConfig;
    use crate::policy::size::{score, Totals};
    use crate::policy::testing::{pr, PrBuilder};

    fn check_with(b: PrBuilder, config: &TestsConfig) -> TestsOutcome {
        let pr = b.build();
        let size = score(&pr.files, Totals::of(&pr), &SizeConfig::default(), None);
        check(&size, config)
    }

    fn defaults(b: PrBuilder) -> TestsOutcome {
        check_with(b, &TestsConfig::default())
    }

    #[test]
    fn default_conventions() {
        for path in [
            "tests/api.rs",
            "crates/x/tests/it.rs",
            "test/unit.c",
            "spec/models/user.rb",
            "web/__tests__/App.jsx",
            "app/src/test/java/a/B.java",
            "pkg/server_test.go",
            "web/App.test.tsx",
            "web/App.spec.ts",
            "tests_helper/test_api.py",
            "app/models/user_spec.rb",
            "src/main/java/FooTest.java",
            "Lib/FooTests.cs",
            "src/parser/tests.rs",
            "app/tests.py",
        ] {
            assert!(is_default_test_path(path), "{path} is a test");
        }
        for path in [
            "src/lib.rs",
            "src/testing.rs",
            "src/contest/a.rs",
            "test_api.rs",
            "latest.py",
            "Test.java",
            "tests",
        ] {
            assert!(!is_default_test_path(path), "{path} is not a test");
        }
    }

    #[test]
    fn source_over_the_threshold_without_tests_is_missing() {
        let t = defaults(pr().file("src/a.rs", 51, 0));
        assert_eq!((t.source_lines, t.missing), (51, true));
        assert!(t.test_files.is_empty());
    }

    #[test]
    fn exactly_at_the_threshold_is_fine() {
        assert!(!defaults(pr().file("src/a.rs", 50, 0)).missing);
    }

    #[test]
    fn a_changed_test_file_satisfies() {
        let t = defaults(pr().file("src/a.rs", 300, 0).file("tests/a.rs", 1, 0));
        assert_eq!(t.test_files, ["tests/a.rs"]);
        assert_eq!(t.source_lines, 300);
        assert!(!t.missing);
    }

    #[test]
    fn a_deleted_test_does_not_count_as_tests_coming_with_the_code() {
        let t = defaults(pr().file("src/a.rs", 300, 0).removed("tests/old.rs", 40));
        assert!(t.test_files.is_empty());
        assert!(t.missing);
    }

    #[test]
    fn excluded_files_are_neither_source_nor_tests() {
        let t = defaults(
            pr().file("Cargo.lock", 300, 0)
                .file("vendor/x/tests/a.rs", 3, 0),
        );
        assert_eq!(t.source_lines, 0);
        assert!(t.test_files.is_empty());
        assert!(!t.missing);
    }

    #[test]
    fn custom_patterns_replace_the_defaults() {
        let config = TestsConfig {
            patterns: Some(vec!["checks/**".into()]),
            required: true,
            ..TestsConfig::default()
        };
        let t = check_with(
            pr().file("src/a.rs", 100, 0).file("tests/a.rs", 5, 0),
            &config,
        );
        assert!(t.missing, "tests/ is no longer a test directory");
        assert_eq!(t.source_lines, 105);
        assert!(t.required);
        let t = check_with(
            pr().file("src/a.rs", 100, 0).file("checks/a.rs", 5, 0),
            &config,
        );
        assert_eq!(t.test_files, ["checks/a.rs"]);
        assert!(!t.missing);
    }
}
