//! `policy::RepoConfig::parse` and `parse_for` on policy files (YAML).
//!
//! Errors are shown to users with a line number: rendering them must not panic, and a
//! line must exist in the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smallbatch::domain::ForgeKind;
use smallbatch::policy::{ConfigError, RepoConfig};

const FILE: &str = ".github/smallbatch.yml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = RepoConfig::parse(FILE, text);
    if let Err(error) = &parsed {
        check_error(error, text);
    }
    for forge in [ForgeKind::GitHub, ForgeKind::GitLab] {
        match RepoConfig::parse_for(forge, FILE, text) {
            Ok(config) => assert!(
                parsed.is_ok(),
                "{forge:?} accepted what parse refused: {config:?}"
            ),
            Err(error) => check_error(&error, text),
        }
    }
});

fn check_error(error: &ConfigError, text: &str) {
    let message = error.to_string();
    assert!(
        message.contains(FILE),
        "error does not name the file: {message}"
    );
    if let Some(line) = error.line {
        assert!(
            line >= 1 && line <= yaml_lines(text),
            "line {line} in {message}"
        );
    }
}

/// The last line an error can point at. libyaml counts `\r\n`, `\n`, `\r`, NEL, LS and PS as
/// breaks, and at the end of input it starts one more line when the last has no break: an
/// unterminated construct is reported there.
fn yaml_lines(text: &str) -> usize {
    let breaks = text
        .replace("\r\n", "\n")
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count();
    breaks + 2
}
