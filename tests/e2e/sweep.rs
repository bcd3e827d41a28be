//! End-to-end: the periodic sweep against the fake forges. Sweeps are run explicitly
//! (the worlds' processes have it disabled) by a second process on the same database,
//! as a replica would; the worlds' workers run what it queues.
use crate::support;
use crate::support::fake_github::{FakeFile, Write};
use crate::support::fake_gitlab;
use crate::support::github_world::{GitHubWorld, INSTALLATION, REPO};
use crate::support::gitlab_world::GitLabWorld;
use crate::support::sha;
use crate::support::sweeper::{github_sweeper, gitlab_sweeper};
use crate::support::world::World;
use serde_json::{json, Value};
use smallbatch::worker::sweep::{SweepReport, Sweeper};
use std::time::Duration;

fn files() -> Vec<FakeFile> {
    vec![
        FakeFile::modified("src/lib.rs", 14, 4),
        FakeFile::added("tests/lib_test.rs", 12),
    ]
}

fn minutes_ago(minutes: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn logged(id: u64, guid: &str, minutes: i64, status_code: u16) -> Value {
    json!({
        "id": id, "guid": guid, "delivered_at": minutes_ago(minutes),
        "redelivery": false, "status_code": status_code,
        "status": if status_code == 202 { "OK" } else { "Service Unavailable" },
        "event": "pull_request", "action": "synchronize",
        "installation_id": INSTALLATION, "repository_id": 1
    })
}

#[tokio::test]
async fn failed_deliveries_are_redelivered_once_and_stored_or_succeeded_ones_never() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), files());
    // Stored and processed, though GitHub logged a timeout (status 0) for it.
    let (status, _) = w
        .deliver_as(
            "pull_request",
            "guid-stored",
            &w.payload("pull_request.opened", 7),
        )
        .await;
    assert_eq!(status, 202);
    w.settle().await;
    w.writes();
    w.gh.state().hook_deliveries = vec![
        logged(14, "guid-failed", 5, 503),
        logged(13, "guid-stored", 8, 0),
        logged(12, "guid-retried", 9, 202),
        logged(11, "guid-retried", 10, 502),
        // Before the first sweep's one-hour look-back.
        logged(10, "guid-ancient", 120, 500),
    ];

    let sweeper = github_sweeper(&w);
    let mut sweeps = Sweeper::default();
    let report = sweeps.sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            redelivered: 1,
            repos: 1,
            requeued: 0,
            pruned: 0,
            resumed: 0,
            deployments_read: 0
        }
    );
    assert_eq!(w.writes(), [Write::Redelivered { id: 14 }]);

    // The redelivery is logged as a success: nothing more to ask for.
    let again = sweeps.sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(again.redelivered, 0);
    w.settle().await;
    w.assert_quiet();
}

#[tokio::test]
async fn a_head_pushed_while_the_bot_was_down_is_evaluated_and_an_unchanged_one_is_left_alone() {
    let w = GitHubWorld::start().await;
    for (number, head) in [(7, sha(1)), (8, sha(3))] {
        w.open(number, &head, files()).await;
    }
    w.settle().await;
    w.writes();
    // Pushed while no webhook reached us.
    w.update_pr(7, |pr| pr.head_sha = sha(2));

    let sweeper = github_sweeper(&w);
    let mut sweeps = Sweeper::default();
    let report = sweeps.sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            redelivered: 0,
            repos: 1,
            requeued: 1,
            pruned: 0,
            resumed: 0,
            deployments_read: 0
        }
    );
    w.settle().await;
    assert_eq!(
        w.writes(),
        [Write::CheckRunCreated {
            head: sha(2),
            conclusion: "action_required".into(),
            title: w.gh.latest_check(&sha(2)).title,
        }]
    );
    assert_eq!(w.gh.latest_check(&sha(3)).head_sha, sha(3));

    // Evaluated now: the next sweep queues nothing and writes nothing.
    assert_eq!(sweeps.sweep(&sweeper.ctx).await.unwrap().requeued, 0);
    w.settle().await;
    w.assert_quiet();

    // Two webhooks and the sweep's job, all completed.
    let scraped = reqwest::get(w.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains("# TYPE smallbatch_job_latency_seconds summary\n"),
        "{scraped}"
    );
    assert!(
        scraped.contains("smallbatch_job_latency_seconds_count 3\n"),
        "{scraped}"
    );
}

#[tokio::test]
async fn a_pr_whose_job_is_still_queued_is_left_to_it_and_fetched_once() {
    // Webhooks acknowledged while the worker is down: PR 7's job waits in the queue,
    // PR 8's delivery never came.
    let w = GitHubWorld::start_intake_only().await;
    w.open_pr(7, &sha(1), files());
    w.open_pr(8, &sha(2), files());
    let (status, _) = w
        .deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    assert_eq!(status, 202);

    let sweeper = github_sweeper(&w);
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            redelivered: 0,
            repos: 1,
            requeued: 1,
            pruned: 0,
            resumed: 0,
            deployments_read: 0
        }
    );
    w.gh.take_calls();

    // The worker starts: each PR is read once, by its one job.
    let w = w.restart().await;
    w.settle().await;
    let calls = w.gh.take_calls();
    for number in [7, 8] {
        let pr = format!("GET /repos/{}/pulls/{number}", REPO);
        assert_eq!(
            calls.iter().filter(|c| **c == pr).count(),
            1,
            "{pr}: {calls:#?}"
        );
    }
    for head in [sha(1), sha(2)] {
        assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    }
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn jobs_completed_a_month_ago_are_pruned_and_their_repository_is_no_longer_swept() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), files());
    let opened = w.payload("pull_request.opened", 7);
    w.deliver("pull_request", &opened).await;
    w.settle().await;
    w.writes();
    w.gh.take_calls();

    w.store
        .advance_clock(Duration::from_secs(30 * 24 * 3600 + 60));
    let sweeper = github_sweeper(&w);
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            redelivered: 0,
            repos: 0,
            requeued: 0,
            pruned: 1,
            resumed: 0,
            deployments_read: 0
        }
    );
    // Only the delivery log was read; no repository is active any more.
    let calls = w.gh.take_calls();
    assert!(
        calls
            .iter()
            .all(|c| c.starts_with("GET /app/hook/deliveries")),
        "{calls:?}"
    );
    assert_eq!(
        Sweeper::default().sweep(&sweeper.ctx).await.unwrap().pruned,
        0
    );
    w.settle().await;
    w.assert_quiet();
}

#[tokio::test]
async fn gitlab_merge_requests_pushed_while_down_are_evaluated() {
    let w = GitLabWorld::start().await;
    for iid in [1, 2] {
        w.open(iid, &sha(iid as u32), files()).await;
    }
    w.settle().await;
    w.writes();
    // The push's webhook never arrives: the bot was down.
    w.update_mr(1, |mr| {
        mr.head_sha = sha(10);
        mr.files = files();
    });

    let sweeper = gitlab_sweeper(&w, w.store.clone());
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            redelivered: 0,
            repos: 1,
            requeued: 1,
            pruned: 0,
            resumed: 0,
            deployments_read: 0
        }
    );
    w.settle().await;
    let writes = w.writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(
        matches!(&writes[0], fake_gitlab::Write::StatusPosted { sha, state, .. } if *sha == support::sha(10) && state == "pending"),
        "{writes:#?}"
    );
    w.assert_quiet();
}

/// A ship's check that kept failing through an outage longer than its retries is parked;
/// the next sweep queues it again, and the watch goes on to its verdict.
#[tokio::test]
async fn a_parked_ship_step_is_resumed_by_the_sweep() {
    let w = support::world::ready_to_ship::<GitHubWorld>().await;
    w.say(7, 501, "alice", "/ship").await;
    w.deployed(7).await;
    w.settle().await;
    w.writes();

    // GitHub answers nothing but 502 for longer than the check's five attempts.
    w.gh.state().dead = true;
    for _ in 0..600 {
        if w.store.parked_count().await.unwrap() == 1 {
            break;
        }
        // Each retry falls due: 5 s, 10 s, 20 s, 40 s after the attempt before.
        if w.store.due_depth(Duration::ZERO).await.unwrap() == 0 {
            w.advance_clock(Duration::from_secs(61));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.store.parked_count().await.unwrap(), 1);
    w.gh.state().dead = false;
    assert_eq!(w.writes(), []);

    let sweeper = github_sweeper(&w);
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(report.resumed, 1);
    w.settle().await;
    assert_eq!(w.store.parked_count().await.unwrap(), 0);
    let comment = w
        .bot_comments(7)
        .into_iter()
        .find(|c| c.contains("## Shipping"))
        .unwrap();
    assert!(
        comment.contains("Watching production (1 check so far)"),
        "{comment}"
    );
    w.advance(Duration::from_secs(61)).await;
    let comment = w
        .bot_comments(7)
        .into_iter()
        .find(|c| c.contains("## Shipping"))
        .unwrap();
    assert!(
        comment.contains("### ✅ Operating as designed"),
        "{comment}"
    );
    // A finished ship's parked steps are left to a human; there are none.
    let again = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!(again.resumed, 0);
    w.writes();
    w.gh.take_calls();
}
