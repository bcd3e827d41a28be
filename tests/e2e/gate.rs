//! The gate's scenarios both forges share, run on each through `on_both_forges!`; the
//! API calls they expect are in each forge's words. What only one forge has, or says
//! in words of its own, is in `gate_github.rs` and `gate_gitlab.rs`.
use crate::support::fake_github::{self, oversized_files, small_files, FakeFile};
use crate::support::fake_gitlab;
use crate::support::github_world::GitHubWorld;
use crate::support::gitlab_world::GitLabWorld;
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
pub(crate) async fn calls_of_opening<W: World>(
    w: &W,
    n: u64,
    head: &str,
    files: Vec<FakeFile>,
) -> Vec<String> {
    w.open(1, &sha(100), files.clone()).await;
    w.settle().await;
    w.writes();
    w.take_calls();

    w.add(n, head, files);
    let (status, body) = w.send(&w.opened_hook(n)).await;
    assert_eq!((status, body.contains("\"queued\"")), (202, true), "{body}");
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
pub(crate) fn github_opening(n: u64, guidance: bool) -> Vec<String> {
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
pub(crate) fn gitlab_opening(n: u64, guidance: bool) -> Vec<String> {
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

/// A gate verdict, in neither forge's words.
#[derive(Debug, Clone, Copy)]
enum Gate {
    Waiting,
    Passed,
}

async fn approval_passes_the_gate_and_its_withdrawal_waits_again<W: World>(
    verdict: fn(&W, &str, Gate) -> W::Write,
) {
    let w = W::start().await;
    let head = sha(1);
    w.open(7, &head, small_files()).await;
    w.settle().await;
    w.writes();

    w.approve(7, "bob").await;
    w.settle().await;
    assert_eq!(w.writes(), [verdict(&w, &head, Gate::Passed)]);

    w.withdraw_approval(7, "bob").await;
    w.settle().await;
    assert_eq!(w.writes(), [verdict(&w, &head, Gate::Waiting)]);
    assert!(w.bot_comments(7).is_empty(), "no guidance to give");
    w.assert_quiet();
}

/// GitHub updates the check run it created on the head.
fn github_verdict(w: &GitHubWorld, head: &str, gate: Gate) -> fake_github::Write {
    let first =
        w.gh.state()
            .check_runs
            .iter()
            .find(|c| c.head_sha == head)
            .map(|c| c.id);
    fake_github::Write::CheckRunUpdated {
        id: first.expect("the check run created on opening"),
        conclusion: match gate {
            Gate::Waiting => "action_required",
            Gate::Passed => "success",
        }
        .into(),
        title: w.gh.latest_check(head).title,
    }
}

/// GitLab gets a new `smallbatch` commit status on the head.
fn gitlab_verdict(_: &GitLabWorld, head: &str, gate: Gate) -> fake_gitlab::Write {
    let (state, description) = match gate {
        Gate::Waiting => ("pending", "30 lines: needs 1 approval"),
        Gate::Passed => ("success", "30 lines, 1 approval: ready"),
    };
    fake_gitlab::Write::StatusPosted {
        sha: head.into(),
        state: state.into(),
        name: "smallbatch".into(),
        description: description.into(),
    }
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
    approval_passes_the_gate_and_its_withdrawal_waits_again(github_verdict, gitlab_verdict),
);
