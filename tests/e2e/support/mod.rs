//! A small DSL for end-to-end tests: a real smallbatch process wired to a fake GitHub
//! or GitLab, driven with the webhooks each sends ([`world::World`] is what both share),
//! and the smallbatch binary run as an operator runs it.

/// insta's `assert_snapshot!`, reading and writing the snapshots in `tests/snapshots`
/// (named `e2e__<module>__<name>.snap`) rather than beside this binary's sources.
macro_rules! assert_snapshot {
    ($name:expr, $value:expr $(,)?) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($name, $value)
        })
    };
}

pub mod browser;
pub mod fake_github;
pub mod fake_gitlab;
pub mod fake_prometheus;
pub mod github_world;
pub mod gitlab_world;
pub mod in_process;
pub mod kill;
pub mod postgres;
pub mod process;
pub mod real_prometheus;
pub mod sweeper;
pub mod watched;
#[macro_use]
pub mod world;

/// A commit id made of `n`.
pub fn sha(n: u32) -> String {
    format!("{n:040x}")
}

/// The GitHub App's private key the tests sign with.
pub fn test_private_key() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/keys/test-app.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}
