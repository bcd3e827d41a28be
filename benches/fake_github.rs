//! The fake GitHub of the end-to-end tests as a standalone server, for
//! `benches/intake_vs_probot.sh`: smallbatch's worker evaluates the deliveries it receives
//! against it while the intake is measured, as in production. It serves PRs 1..=PRS of
//! the tests' repository (each a small, tested change) and prints its URL, then runs until
//! its standard input closes.
//!
//!   cargo bench --bench fake_github -- PRS
#![allow(dead_code)]

#[path = "../tests/e2e/support/fake_github.rs"]
mod fake_github;
#[path = "../tests/e2e/support/kill.rs"]
mod kill;

use fake_github::{small_files, FakeGitHub, FakePr};
use std::io::Read;

const REPO: &str = "octo-org/widgets";
const BASE_SHA: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

fn main() {
    // `cargo bench` passes `--bench`; the PR count is the first number.
    let prs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(64);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let gh = runtime.block_on(FakeGitHub::start(REPO, BASE_SHA));
    {
        let mut s = gh.state();
        for number in 1..=prs {
            s.prs.insert(
                number,
                FakePr {
                    number,
                    author: "alice".into(),
                    draft: false,
                    state: "open",
                    head_sha: format!("{number:040x}"),
                    head_ref: format!("feature-{number}"),
                    base_ref: "main".into(),
                    base_sha: BASE_SHA.into(),
                    labels: vec![],
                    files: small_files(),
                    reviews: vec![],
                    version: 1,
                },
            );
        }
    }
    println!("FAKE_GITHUB_URL={}", gh.uri());
    // Runs until the bench script closes our standard input (or dies).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let s = gh.state();
    eprintln!(
        "fake GitHub: {} calls, {} writes, {} unexpected",
        s.calls.len(),
        s.writes.len(),
        s.unexpected.len()
    );
}
