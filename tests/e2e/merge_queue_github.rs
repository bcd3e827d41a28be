//! End-to-end: GitHub's merge queue asks for the `smallbatch` check on a merge group's
//! commit; every PR in the group is judged again and one check run answers on that
//! commit, with nothing written to the PRs themselves.

use crate::support::fake_github::{oversized_files, small_files, Write};
use crate::support::github_world::{GitHubWorld, BASE_SHA, INSTALLATION, REPO};
use crate::support::sha;
use crate::support::world::World;
use smallbatch::domain::{CommitSha, InstallationId, PrNumber, PrRef, RepoRef};
use wiremock::ResponseTemplate;

/// Opens PRs #7 (small) and #9 (oversized), both approved, and queues them in that order.
fn two_queued(w: &GitHubWorld) -> Vec<String> {
    w.open_pr(7, &sha(1), small_files());
    w.open_pr(9, &sha(2), oversized_files());
    w.review(7, "bob", "APPROVED");
    w.review(9, "bob", "APPROVED");
    w.queue(&[7, 9])
}

async fn checks_requested(w: &GitHubWorld, head: &str) {
    let payload = w.merge_group_payload("checks_requested", head);
    let (status, body) = w.deliver("merge_group", &payload).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("\"queued\""), "{body}");
    w.settle().await;
}

fn created(head: &str, conclusion: &str, title: &str) -> Write {
    Write::CheckRunCreated {
        head: head.to_owned(),
        conclusion: conclusion.into(),
        title: title.into(),
    }
}

#[tokio::test]
async fn a_group_holding_an_oversized_pr_fails_on_its_commit_naming_that_pr() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    let head = &groups[1];
    checks_requested(&w, head).await;

    // One check run, on the group's commit; no comment, label or check on either PR.
    assert_eq!(
        w.writes(),
        [created(
            head,
            "failure",
            "1 of 2 pull requests not ready: #9"
        )]
    );
    let check = w.gh.latest_check(head);
    assert_snapshot!("group_with_an_oversized_pr", check.summary);

    // Every call one evaluation makes; the per-PR reads run concurrently, so sorted.
    let mut calls = w.gh.take_calls();
    calls.sort();
    let repo = format!("/repos/{REPO}");
    let mut expected = vec![
        "POST /app/installations/4242/access_tokens".to_owned(),
        format!("GET {repo}/git/matching-refs/heads/gh-readonly-queue/main"),
        format!("GET {repo}/compare/{BASE_SHA}...{head}"),
        format!("GET {repo}/pulls/7"),
        format!("GET {repo}/pulls/7/files"),
        format!("GET {repo}/pulls/7/reviews"),
        format!("GET {repo}/pulls/9"),
        format!("GET {repo}/pulls/9/files"),
        format!("GET {repo}/pulls/9/reviews"),
        format!("GET {repo}/git/ref/heads/main"),
        format!("GET {repo}/contents/.github/smallbatch.yml"),
        format!("GET {repo}/contents/.smallbatch.yml"),
        format!("GET {repo}/contents/.gitattributes"),
        format!("GET {repo}/commits/{head}/check-runs"),
        format!("POST {repo}/check-runs"),
    ];
    expected.sort();
    assert_eq!(calls, expected);
    w.assert_quiet();
}

#[tokio::test]
async fn a_group_of_passing_prs_succeeds() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), small_files());
    w.open_pr(8, &sha(2), small_files());
    w.review(7, "bob", "APPROVED");
    w.review(8, "carol", "APPROVED");
    let groups = w.queue(&[7, 8]);

    checks_requested(&w, &groups[1]).await;
    assert_eq!(
        w.writes(),
        [created(
            &groups[1],
            "success",
            "2 pull requests ready: #7, #8"
        )]
    );
    // The first entry's own group holds #7 alone.
    checks_requested(&w, &groups[0]).await;
    assert_eq!(
        w.writes(),
        [created(&groups[0], "success", "1 pull request ready: #7")]
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_held_pr_fails_its_group_naming_the_hold_even_when_overridden() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), small_files());
    w.open_pr(8, &sha(2), small_files());
    w.review(7, "bob", "APPROVED");
    w.review(8, "carol", "APPROVED");
    let groups = w.queue(&[7, 8]);
    let eight = PrRef {
        repo: RepoRef::github(REPO, InstallationId(INSTALLATION)),
        number: PrNumber(8),
    };
    w.store
        .hold(&eight, "maya", Some("freeze until Monday"))
        .await
        .unwrap();
    w.store
        .record_override(&eight, &CommitSha::new(sha(2)), "maint", "urgent", "pass")
        .await
        .unwrap();

    checks_requested(&w, &groups[1]).await;
    assert_eq!(
        w.writes(),
        [created(
            &groups[1],
            "failure",
            "1 of 2 pull requests not ready: #8"
        )]
    );
    let summary = w.gh.latest_check(&groups[1]).summary;
    assert!(
        summary.contains("- [#8](https://github.com/octo-org/widgets/pull/8): held by @maya (freeze until Monday); `/unhold` releases it\n"),
        "{summary}"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn an_overridden_oversized_pr_passes_in_its_group() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    w.store
        .record_override(
            &PrRef {
                repo: RepoRef::github(REPO, InstallationId(INSTALLATION)),
                number: PrNumber(9),
            },
            &CommitSha::new(sha(2)),
            "maint",
            "generated client, reviewed offline",
            "fail: 570 lines over 400",
        )
        .await
        .unwrap();

    checks_requested(&w, &groups[1]).await;
    assert_eq!(
        w.writes(),
        [created(
            &groups[1],
            "success",
            "2 pull requests ready: #7, #9"
        )]
    );
    let summary = w.gh.latest_check(&groups[1]).summary;
    assert!(
        summary.contains(
            "[#9](https://github.com/octo-org/widgets/pull/9): its gate was overridden by @maint"
        ),
        "{summary}"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_pr_waiting_for_approval_fails_its_group() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), small_files());
    w.open_pr(8, &sha(2), small_files());
    w.review(7, "bob", "APPROVED");
    let groups = w.queue(&[7, 8]);

    checks_requested(&w, &groups[1]).await;
    assert_eq!(
        w.writes(),
        [created(
            &groups[1],
            "failure",
            "1 of 2 pull requests not ready: #8"
        )]
    );
    let summary = w.gh.latest_check(&groups[1]).summary;
    assert!(
        summary.contains(
            "[#8](https://github.com/octo-org/widgets/pull/8): waiting for approval: 0 of 1"
        ),
        "{summary}"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_destroyed_group_is_acknowledged_and_ignored() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    let payload = w.merge_group_payload("destroyed", &groups[1]);
    let (status, body) = w.deliver("merge_group", &payload).await;
    assert_eq!(status, 202);
    assert!(body.contains("ignored"), "{body}");
    w.settle().await;
    assert_eq!(w.store.queue_depth().await.unwrap(), 0);
    assert_eq!(w.gh.take_calls(), Vec::<String>::new(), "no job work");
    w.assert_quiet();
}

#[tokio::test]
async fn a_group_checked_again_keeps_its_one_check_run() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    let head = &groups[1];
    checks_requested(&w, head).await;
    let first = w.writes();
    assert_eq!(first.len(), 1, "{first:#?}");

    // A redelivery (or a retry after the run was created) finds the run and, as it
    // says the same, writes nothing.
    checks_requested(&w, head).await;
    assert_eq!(w.writes(), []);

    // What changed since is written into the same run.
    w.update_pr(9, |pr| pr.files = small_files());
    checks_requested(&w, head).await;
    let run = w.gh.latest_check(head);
    assert_eq!(
        w.writes(),
        [Write::CheckRunUpdated {
            id: run.id,
            conclusion: "success".into(),
            title: "2 pull requests ready: #7, #9".into()
        }]
    );
    assert_eq!(w.gh.state().check_runs.len(), 1);
    w.assert_quiet();
}

#[tokio::test]
async fn a_check_run_whose_answer_was_lost_is_found_not_created_twice() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    let head = &groups[1];
    // GitHub creates the run, then answers 502.
    let post = format!("POST /repos/{REPO}/check-runs");
    w.gh.state()
        .lost_answers
        .push((post.clone(), ResponseTemplate::new(502)));
    checks_requested(&w, head).await;

    let calls = w.gh.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == post).count(),
        1,
        "{calls:#?}"
    );
    let lookups = format!("GET /repos/{REPO}/commits/{head}/check-runs");
    assert_eq!(
        calls.iter().filter(|c| **c == lookups).count(),
        2,
        "looked for before creating and after the lost answer: {calls:#?}"
    );
    assert_eq!(
        w.writes(),
        [created(
            head,
            "failure",
            "1 of 2 pull requests not ready: #9"
        )]
    );
    assert_eq!(w.store.parked_count().await.unwrap(), 0);
    w.assert_quiet();
}

#[tokio::test]
async fn prs_ahead_are_found_past_the_first_page_of_the_groups_commits() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    // #7's branch carries 150 commits: the group's commits span two pages of 100.
    {
        let mut s = w.gh.state();
        let mut parent = BASE_SHA.to_owned();
        for i in 0..150u64 {
            let commit = format!("{:040x}", 0xfeed_0000_u64 + i);
            s.parents.insert(commit.clone(), vec![parent]);
            parent = commit;
        }
        s.parents.insert(sha(1), vec![parent]);
    }
    checks_requested(&w, &groups[1]).await;
    let compare = format!("GET /repos/{REPO}/compare/{BASE_SHA}...{}", groups[1]);
    let calls = w.gh.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == compare).count(),
        2,
        "{calls:#?}"
    );
    assert_eq!(
        w.writes(),
        [created(
            &groups[1],
            "failure",
            "1 of 2 pull requests not ready: #9"
        )]
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_group_whose_commit_is_gone_is_dropped_without_a_check() {
    let w = GitHubWorld::start().await;
    let groups = two_queued(&w);
    let payload = w.merge_group_payload("checks_requested", &groups[1]);
    // The group was destroyed and its commit collected before the job ran: compare 404s.
    w.gh.state().parents.remove(&groups[1]);
    w.deliver("merge_group", &payload).await;
    w.settle().await;
    assert_eq!(w.store.parked_count().await.unwrap(), 0);
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}
