//! `policy::globs::PathGlobs` (`size.ignore`, `tests.patterns`) on patterns and paths.
//!
//! Input: one pattern per line, then a NUL, then one path per line to match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smallbatch::policy::globs::PathGlobs;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (patterns, paths) = text.split_once('\0').unwrap_or((&text, "src/main.rs"));
    let patterns: Vec<String> = patterns.lines().map(str::to_owned).collect();
    let Ok(globs) = PathGlobs::new(&patterns) else {
        return;
    };
    for path in paths.lines() {
        if let Some(pattern) = globs.matching(path) {
            // The decisive pattern is one of ours, and never a `!` re-include.
            assert!(
                patterns.iter().any(|p| p == pattern),
                "unknown pattern {pattern:?}"
            );
            assert!(
                !pattern.starts_with('!'),
                "re-include {pattern:?} reported as a match"
            );
        }
    }
});
