//! The gate's scenarios both forges share, run on each through `on_both_forges!`; the
//! API calls they expect are in each forge's words. What only one forge has, or says
//! in words of its own, is in `gate_github.rs` and `gate_gitlab.rs`.
use crate::support::fake_github::{oversized_files, small_files, FakeFile};
use crate::support::sha;
use crate::support::world::{acknowledged, World};

/// The calls of one evaluation: the snapshot's concurrent reads sorted (their order is
/// not fixed), then every later call in the order it was made.
fn in_order(mut calls: Vec<String>) -> Vec<String> {
    let reads = calls.iter().take_while(|c| c.starts_with("GET ")).count();
    calls[..reads].sort();
    calls
}

/// Opens change `n` at `head` and returns the calls its evaluation made, after a change
/// of the same size class was evaluated: the token, the base commit's policy and the
/// size label are known, as in a running process.
async fn calls_of_opening<W: World>(
    w: &W,
    n: u64,
    head: &str,
    files: Vec<FakeFile>,
) -> Vec<String> {
    w.open(1, &sha(100), files.clone()).await;
    w.settle().await;
    w.writes();
    w.take_calls();

    w.open(n, head, files).await;
    w.settle().await;
    in_order(w.take_calls())
}

async fn opening_a_clean_change_costs_five_calls_in_steady_state<W: World>(
    expected: fn(u64) -> Vec<String>,
) {
    let w = W::start().await;
    let calls = calls_of_opening(&w, 7, &sha(1), small_files()).await;
    assert_eq!(calls, expected(7));
    w.writes();
    w.assert_quiet();
}

async fn opening_an_oversized_change_costs_six_calls_in_steady_state<W: World>(
    expected: fn(u64) -> Vec<String>,
) {
    let w = W::start().await;
    let calls = calls_of_opening(&w, 9, &sha(1), oversized_files()).await;
    assert_eq!(calls, expected(9));
    w.writes();
    w.assert_quiet();
}

/// GitHub: the PR, its files and reviews; the check run, the guidance comment when
/// one is due, and the label.
fn github_opening(n: u64, guidance: bool) -> Vec<String> {
    let repo = "/repos/octo-org/widgets";
    let mut calls = vec![
        format!("GET {repo}/pulls/{n}"),
        format!("GET {repo}/pulls/{n}/files"),
        format!("GET {repo}/pulls/{n}/reviews"),
        format!("POST {repo}/check-runs"),
    ];
    if guidance {
        calls.push(format!("POST {repo}/issues/{n}/comments"));
    }
    calls.push(format!("POST {repo}/issues/{n}/labels"));
    calls
}

/// GitLab: the MR, its approvals and diffs; the commit status, the guidance note when
/// one is due, and the labels set by updating the MR.
fn gitlab_opening(n: u64, guidance: bool) -> Vec<String> {
    let project = "/api/v4/projects/acme%2Ftools%2Fwidgets";
    let mr = format!("{project}/merge_requests/{n}");
    let mut calls = vec![
        format!("GET {mr}"),
        format!("GET {mr}/approvals"),
        format!("GET {mr}/diffs?per_page=100"),
        format!("POST {project}/statuses/{}", sha(1)),
    ];
    if guidance {
        calls.push(format!("POST {mr}/notes"));
    }
    calls.push(format!("PUT {mr}"));
    calls
}

async fn a_change_that_no_longer_exists_is_dropped_not_retried<W: World>() {
    let w = W::start().await;
    w.add(7, &sha(1), small_files());
    let opened = w.opened_hook(7);
    w.forget(7);
    acknowledged(w.send(&opened).await);
    w.settle().await;
    assert_eq!(w.store().parked_count().await.unwrap(), 0);
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}

on_both_forges!(
    opening_a_clean_change_costs_five_calls_in_steady_state(
        |n| github_opening(n, false),
        |n| gitlab_opening(n, false)
    ),
    opening_an_oversized_change_costs_six_calls_in_steady_state(
        |n| github_opening(n, true),
        |n| gitlab_opening(n, true)
    ),
    a_change_that_no_longer_exists_is_dropped_not_retried,
);
