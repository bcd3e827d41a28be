//! `/ship` on GitLab, interrupted between every two steps, as on GitHub
//! (`ship_interrupted_github.rs`): the process dies before each call the ship makes
//! and after each write, and a new process finishes the ship with the same writes (one
//! merge, one deployment update and one revert when regressed) and the same note states.
use crate::support;

use crate::support::fake_github::small_files;
use crate::support::fake_gitlab::{merge_commit_sha, Write};
use crate::support::gitlab_world::{GitLabWorld, BASE_SHA, DEPLOYMENT_HOOK, MERGE_REQUEST_HOOK};
use crate::support::kill::{Kill, When};
use crate::support::sha;
use serde_json::Value;
use std::time::Duration;

const POLICY: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: error rate\n      query: sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m]))\n      max: 0.01\n";

/// The deployment id GitLab gives the pipeline's production deployment.
const DEPLOYMENT: u64 = 321;

#[derive(Debug, Clone, Copy)]
enum Act {
    /// alice comments `/ship`.
    Ship,
    /// The target branch's pipeline reports the deployment of the merge successful;
    /// it was made through the API, so smallbatch may mark it failed.
    Deployed,
    /// Production's error rate becomes `0.034`, over the bound.
    Regress,
    /// A minute passes: the next telemetry check falls due.
    Tick,
}

const REGRESSED: [Act; 4] = [Act::Ship, Act::Deployed, Act::Regress, Act::Tick];
const HEALTHY: [Act; 4] = [Act::Ship, Act::Deployed, Act::Tick, Act::Tick];

#[derive(Debug, PartialEq)]
struct Outcome {
    writes: Vec<Write>,
    note_states: Vec<String>,
    stage: String,
    checks: u64,
}

/// MR 7 by alice, approved by bob, its pipeline green, the ship policy, gated once.
async fn ready_world() -> GitLabWorld {
    let w = GitLabWorld::start().await;
    w.gl.put_file(BASE_SHA, ".gitlab/smallbatch.yml", POLICY);
    w.gl.state().members.insert("alice".into(), 30);
    w.gl.ci_status(&sha(1), "test", "success");
    w.open_mr(7, &sha(1), small_files());
    w.approve(7, "bob");
    w.deliver(MERGE_REQUEST_HOOK, &w.mr_hook("open", 7)).await;
    w.settle().await;
    w.writes();
    w.gl.take_calls();
    w.gl.state().note_history.clear();
    w
}

async fn act(w: &GitLabWorld, act: Act) {
    match act {
        Act::Ship => {
            w.gl.put_note(7, 501, "alice", "/ship");
            let hook = w.note_hook(7, 501, "alice", "/ship");
            assert_eq!(
                w.deliver(support::gitlab_world::NOTE_HOOK, &hook).await.0,
                202
            );
        }
        Act::Deployed => {
            let merged = merge_commit_sha(7);
            let hook = w.deployment_hook(&merged, "production", "success", DEPLOYMENT);
            w.gl.state().deployments.get_mut(&DEPLOYMENT).unwrap().by_ci = false;
            assert_eq!(w.deliver(DEPLOYMENT_HOOK, &hook).await.0, 202);
        }
        Act::Regress => w.prom.set_current(0.034),
        Act::Tick => w.advance_clock(Duration::from_secs(61)),
    }
}

/// Waits until every due job has run, or the process died; true when it died.
async fn settled_or_dead(w: &GitLabWorld) -> bool {
    for _ in 0..600 {
        if w.gl.state().dead {
            return true;
        }
        if w.store.due_depth(Duration::from_secs(30)).await.unwrap() == 0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs did not settle");
}

async fn restarted(mut w: GitLabWorld) -> GitLabWorld {
    w.stop().await;
    {
        let mut s = w.gl.state();
        s.dead = false;
        s.kill = None;
    }
    let w = w.restart().await;
    w.advance(Duration::from_secs(10)).await;
    w
}

async fn ship(acts: &[Act], kill: Option<Kill>) -> (Outcome, Vec<String>) {
    let mut w = ready_world().await;
    let killed = kill.is_some();
    w.gl.state().kill = kill;
    for a in acts {
        act(&w, *a).await;
        if settled_or_dead(&w).await {
            w = restarted(w).await;
        }
    }
    assert_eq!(w.store.parked_count().await.unwrap(), 0, "no job parked");
    assert!(!killed || w.gl.state().kill.is_none(), "the process died");
    let ships = w.store.ships(None, 0).await.unwrap();
    assert_eq!(ships.len(), 1);
    let record: Value = serde_json::from_str(&ships[0].data).unwrap();
    let s = w.gl.state();
    assert!(s.unexpected.is_empty(), "{:#?}", s.unexpected);
    let outcome = Outcome {
        writes: s.writes.clone(),
        note_states: s.note_history.iter().map(|(_, b)| b.clone()).collect(),
        stage: record["stage"].as_str().unwrap().to_owned(),
        checks: record["checks_done"].as_u64().unwrap(),
    };
    (outcome, s.calls.clone())
}

/// Before each of the ship's calls, and after each write; the ship's calls start with
/// its look for the shipping note.
fn kill_points(calls: &[String]) -> Vec<Kill> {
    let first = calls
        .iter()
        .position(|c| c.starts_with("GET ") && c.contains("/merge_requests/7/notes"))
        .expect("the ship looks for its note");
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

async fn interrupted_everywhere(acts: &[Act], expected_stage: &str) -> Outcome {
    let (baseline, calls) = ship(acts, None).await;
    assert_eq!(baseline.stage, expected_stage);
    let merges = baseline
        .writes
        .iter()
        .filter(|w| matches!(w, Write::Merged { .. }))
        .count();
    assert_eq!(merges, 1, "{:#?}", baseline.writes);
    let points = kill_points(&calls);
    assert!(points.len() > 10, "{points:#?}");
    for kill in points {
        let label = kill.to_string();
        let (outcome, _) = ship(acts, Some(kill)).await;
        assert_eq!(outcome, baseline, "{label}");
    }
    baseline
}

#[tokio::test]
async fn a_regressed_ship_interrupted_anywhere_merges_marks_and_reverts_once() {
    let baseline = interrupted_everywhere(&REGRESSED, "regressed").await;
    let updates: Vec<&Write> = baseline
        .writes
        .iter()
        .filter(|w| matches!(w, Write::DeploymentUpdated { .. } | Write::MrOpened { .. }))
        .collect();
    assert_eq!(updates.len(), 2, "{updates:#?}");
}

#[tokio::test]
async fn a_healthy_ship_interrupted_anywhere_watches_and_reports_once() {
    interrupted_everywhere(&HEALTHY, "healthy").await;
}
