//! `/ship` on GitHub, interrupted between every two steps: the process dies at each
//! call the ship makes, before GitHub carries it out and, for a write, after (its
//! answer lost), and a new process on the same database finishes the ship. Each ends
//! exactly as the uninterrupted ship: the same writes (one merge, one Deployment, one
//! failure status and one revert when regressed) and the same shipping comment states.

use crate::support::fake_github::{small_files, Write};
use crate::support::kill::{Kill, When};
use crate::support::{sha, World, BASE_SHA, REPO};
use serde_json::Value;
use std::time::Duration;

const POLICY: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: error rate\n      query: sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m]))\n      max: 0.01\n";

/// What the test does to a ship, in order.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// alice comments `/ship`.
    Ship,
    /// The team's CD reports the Deployment successful.
    Deployed,
    /// Production's error rate becomes `0.034`, over the bound.
    Regress,
    /// A minute passes: the next telemetry check falls due.
    Tick,
}

/// Every step of a regressed ship: merge, deploy, one check, the verdict and revert.
const REGRESSED: [Act; 4] = [Act::Ship, Act::Deployed, Act::Regress, Act::Tick];
/// Every step of a healthy ship: merge, deploy, a check while watching, the verdict.
const HEALTHY: [Act; 4] = [Act::Ship, Act::Deployed, Act::Tick, Act::Tick];

/// How a ship ended, as people and GitHub saw it.
#[derive(Debug, PartialEq)]
struct Outcome {
    writes: Vec<Write>,
    /// Every body the shipping comment had, in order.
    comment_states: Vec<String>,
    /// The record's final stage and checks.
    stage: String,
    checks: u64,
}

/// PR 7 by alice, approved by bob, CI green, the ship policy, gated once.
async fn ready_world() -> World {
    let w = World::start().await;
    w.gh.put_file(BASE_SHA, ".github/smallbatch.yml", POLICY);
    {
        let mut s = w.gh.state();
        s.roles.insert("alice".into(), "write".into());
        s.commit_checks.insert(
            sha(1),
            vec![("ci/test".into(), "completed".into(), Some("success".into()))],
        );
    }
    w.open_pr(7, &sha(1), small_files());
    w.review(7, "bob", "APPROVED");
    w.deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    w.settle().await;
    w.writes();
    w.gh.take_calls();
    w.gh.state().comment_history.clear();
    w
}

async fn act(w: &World, act: Act) {
    match act {
        Act::Ship => {
            let payload = w.comment_payload(7, 501, "alice", "/ship");
            assert_eq!(w.deliver("issue_comment", &payload).await.0, 202);
        }
        Act::Deployed => {
            let id = w.gh.state().deployments[0].0;
            let payload = w.deployment_payload(id, &merge_sha(), "production", "success");
            assert_eq!(w.deliver("deployment_status", &payload).await.0, 202);
        }
        Act::Regress => w.prom.set_current(0.034),
        Act::Tick => w.advance_clock(Duration::from_secs(61)),
    }
}

fn merge_sha() -> String {
    format!("{:040x}", 0xeeee_0000_u64 + 7)
}

/// Waits until every due job has run, or the process died; true when it died.
async fn settled_or_dead(w: &World) -> bool {
    for _ in 0..600 {
        if w.gh.state().dead {
            return true;
        }
        if w.store.due_depth(Duration::from_secs(30)).await.unwrap() == 0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs did not settle");
}

/// A new process on the same database, once the dead one has stopped; the job that
/// died is due again a few seconds later.
async fn restarted(mut w: World) -> World {
    w.stop().await;
    {
        let mut s = w.gh.state();
        s.dead = false;
        s.kill = None;
    }
    let w = w.restart().await;
    w.advance(Duration::from_secs(10)).await;
    w
}

/// Runs `acts` on a ready PR, dying at `kill` if given; returns how the ship ended
/// and every call it made.
async fn ship(acts: &[Act], kill: Option<Kill>) -> (Outcome, Vec<String>) {
    let mut w = ready_world().await;
    let killed = kill.is_some();
    w.gh.state().kill = kill;
    for a in acts {
        act(&w, *a).await;
        if settled_or_dead(&w).await {
            w = restarted(w).await;
        }
    }
    assert_eq!(w.store.parked_count().await.unwrap(), 0, "no job parked");
    assert!(!killed || w.gh.state().kill.is_none(), "the process died");
    let ships = w.store.ships(None, 0).await.unwrap();
    assert_eq!(ships.len(), 1);
    let record: Value = serde_json::from_str(&ships[0].data).unwrap();
    let s = w.gh.state();
    assert!(s.unexpected.is_empty(), "{:#?}", s.unexpected);
    let outcome = Outcome {
        writes: s.writes.clone(),
        comment_states: s.comment_history.iter().map(|(_, b)| b.clone()).collect(),
        stage: record["stage"].as_str().unwrap().to_owned(),
        checks: record["checks_done"].as_u64().unwrap(),
    };
    (outcome, s.calls.clone())
}

/// Every point the ship's own calls can be interrupted at: before each call, and after
/// each write. The `/ship` command's calls come before the first look at the PR's
/// comments (for the shipping comment); a death there only repeats the command.
fn kill_points(calls: &[String]) -> Vec<Kill> {
    let comments = format!("GET /repos/{REPO}/issues/7/comments");
    let first = calls
        .iter()
        .position(|c| *c == comments)
        .expect("the ship looks for its comment");
    let mut points = Vec::new();
    for (i, call) in calls.iter().enumerate().skip(first) {
        let nth = calls[..=i].iter().filter(|c| *c == call).count();
        points.push(Kill::new(call, nth, When::Before));
        if !call.starts_with("GET ") {
            points.push(Kill::new(call, nth, When::After));
        }
    }
    points
}

async fn interrupted_everywhere(acts: &[Act], expected_stage: &str) {
    let (baseline, calls) = ship(acts, None).await;
    assert_eq!(baseline.stage, expected_stage);
    let merges = baseline
        .writes
        .iter()
        .filter(|w| matches!(w, Write::Merged { .. }))
        .count();
    let deployments = baseline
        .writes
        .iter()
        .filter(|w| matches!(w, Write::DeploymentCreated { .. }))
        .count();
    assert_eq!((merges, deployments), (1, 1), "{:#?}", baseline.writes);
    let points = kill_points(&calls);
    assert!(points.len() > 10, "{points:#?}");
    for kill in points {
        let label = kill.to_string();
        let (outcome, _) = ship(acts, Some(kill)).await;
        assert_eq!(outcome, baseline, "{label}");
    }
}

#[tokio::test]
async fn a_regressed_ship_interrupted_anywhere_merges_deploys_and_reverts_once() {
    interrupted_everywhere(&REGRESSED, "regressed").await;
    let (regressed, _) = ship(&REGRESSED, None).await;
    let deployment = 1003;
    assert_eq!(
        regressed.writes[regressed.writes.len() - 3..],
        [
            Write::DeploymentStatus {
                id: deployment,
                state: "failure".into()
            },
            Write::RevertOpened {
                of: 7,
                number: 107,
                title: "Revert \"Update the README with new information.\"".into()
            },
            Write::CommentEdited { id: 1002 },
        ]
    );
}

#[tokio::test]
async fn a_healthy_ship_interrupted_anywhere_watches_and_reports_once() {
    interrupted_everywhere(&HEALTHY, "healthy").await;
}

/// One 502 on creating the Deployment, with nothing created: the merge is recorded, the
/// job is retried, and the retry creates the one Deployment and says it is deploying.
#[tokio::test]
async fn a_502_on_creating_the_deployment_still_deploys_once() {
    let w = ready_world().await;
    let create = format!("POST /repos/{REPO}/deployments");
    w.gh.state()
        .refusals
        .push((create.clone(), wiremock::ResponseTemplate::new(502)));
    act(&w, Act::Ship).await;
    // The failed job is due again 5 s later.
    w.settle().await;
    let writes = w.writes();
    assert_eq!(
        writes,
        [
            Write::Reacted {
                comment: 501,
                content: "eyes".into()
            },
            Write::CommentCreated { pr: 7, id: 1002 },
            Write::Merged {
                pr: 7,
                sha: merge_sha(),
                method: "squash".into()
            },
            Write::DeploymentCreated {
                sha: merge_sha(),
                environment: "production".into()
            },
            Write::CommentEdited { id: 1002 },
        ]
    );
    let calls = w.gh.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == create).count(),
        2,
        "{calls:#?}"
    );
    assert_snapshot!("deploying_after_a_502", w.gh.comment_body(1002));

    act(&w, Act::Deployed).await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(w.writes(), vec![Write::CommentEdited { id: 1002 }; 3]);
    assert!(w
        .gh
        .comment_body(1002)
        .contains("### ✅ Operating as designed"));
    assert_eq!(w.gh.state().deployments.len(), 1);
    w.assert_quiet();
}
