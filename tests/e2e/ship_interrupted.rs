//! `/ship` interrupted between every two steps, on both forges: the process dies at each
//! call the ship makes, before the forge carries it out and, for a write, after (its
//! answer lost), and a new process on the same database finishes the ship. Each ends
//! exactly as the uninterrupted ship: the same writes (one merge, one deployment, one
//! rollback deployment and one revert when regressed) and the same shipping comment
//! states, the rollback's included: once its deployment is created, during its watch,
//! and once service is restored.
use crate::support::fake_github;
use crate::support::fake_gitlab;
use crate::support::github_world::{GitHubWorld, REPO};
use crate::support::gitlab_world::{deployment_of, job_of, GitLabWorld};
use crate::support::kill::{Kill, When};
use crate::support::sha;
use crate::support::world::{make_ready, ready_to_ship, World};
use serde_json::Value;
use std::time::Duration;

/// What the test does to a ship, in order.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// alice comments `/ship` on change `n`.
    Ship(u64),
    /// The deployment of change `n`'s merge reports success (on GitLab, one made through
    /// the API, so smallbatch may mark it failed).
    Deployed(u64),
    /// The same, by GitLab's CD job (a rollback runs it again; the API may not mark it).
    CiDeployed(u64),
    /// Production's error rate becomes `0.034`, over the bound.
    Regress,
    /// Production's error rate is back to `0.002`.
    Recover,
    /// The rollback to change `n`'s merge reports success.
    RolledBack(u64),
    /// A minute passes: the next telemetry check falls due.
    Tick,
}

/// Every step of a regressed ship: merge, deploy, a breaching check, the second one in a
/// row with the verdict, the rollback (nothing healthy to return to: none) and revert.
const REGRESSED: [Act; 5] = [
    Act::Ship(7),
    Act::Deployed(7),
    Act::Regress,
    Act::Tick,
    Act::Tick,
];
/// Every step of a healthy ship: merge, deploy, a check while watching, the verdict.
const HEALTHY: [Act; 4] = [Act::Ship(7), Act::Deployed(7), Act::Tick, Act::Tick];
/// Every step of change 8 regressing after change 7 was healthy: merge, deploy, two
/// breaching checks, change 7 redeployed, the revert, the rollback's deployment, its
/// watch, and service restored.
const ROLLED_BACK: [Act; 8] = [
    Act::Ship(8),
    Act::CiDeployed(8),
    Act::Regress,
    Act::Tick,
    Act::Tick,
    Act::Recover,
    Act::RolledBack(7),
    Act::Tick,
];

/// Where the interrupted ship starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// Change 7 ready to ship.
    Ready,
    /// Change 7 shipped and healthy (deployed by the CD job), change 8 ready.
    AfterHealthy,
}

impl Start {
    /// The change the interrupted ship ships.
    fn change(self) -> u64 {
        match self {
            Start::Ready => 7,
            Start::AfterHealthy => 8,
        }
    }
}

/// What a ship's interruption needs of a forge's world besides [`World`].
trait Interruptible: World {
    /// The process dies at `kill` (or at no call).
    fn arm(&self, kill: Option<Kill>);
    /// The kill is still waiting for its call.
    fn armed(&self) -> bool;
    /// The process died at the armed call.
    fn dead(&self) -> bool;
    /// The forge answers again, and nothing is armed.
    fn revive(&self);
    /// Every write, call and unexpected call so far, and every body the shipping comment
    /// had, in order; taking none of them.
    fn record(&self) -> Record<Self::Write>;
    /// Forgets the comment bodies the fake kept so far.
    fn forget_comment_states(&self);
    /// `call` is the ship's first look at change `n`'s comments, for its own.
    fn lists_comments(call: &str, n: u64) -> bool;
    fn is_merge(write: &Self::Write) -> bool;
}

struct Record<W> {
    writes: Vec<W>,
    comment_states: Vec<String>,
    calls: Vec<String>,
    unexpected: Vec<String>,
}

impl Interruptible for GitHubWorld {
    fn arm(&self, kill: Option<Kill>) {
        self.gh.state().kill = kill;
    }

    fn armed(&self) -> bool {
        self.gh.state().kill.is_some()
    }

    fn dead(&self) -> bool {
        self.gh.state().dead
    }

    fn revive(&self) {
        let mut s = self.gh.state();
        s.dead = false;
        s.kill = None;
    }

    fn record(&self) -> Record<fake_github::Write> {
        let s = self.gh.state();
        Record {
            writes: s.writes.clone(),
            comment_states: s.comment_history.iter().map(|(_, b)| b.clone()).collect(),
            calls: s.calls.clone(),
            unexpected: s.unexpected.clone(),
        }
    }

    fn forget_comment_states(&self) {
        self.gh.state().comment_history.clear();
    }

    fn lists_comments(call: &str, n: u64) -> bool {
        call == format!("GET /repos/{REPO}/issues/{n}/comments")
    }

    fn is_merge(write: &fake_github::Write) -> bool {
        matches!(write, fake_github::Write::Merged { .. })
    }
}

impl Interruptible for GitLabWorld {
    fn arm(&self, kill: Option<Kill>) {
        self.gl.state().kill = kill;
    }

    fn armed(&self) -> bool {
        self.gl.state().kill.is_some()
    }

    fn dead(&self) -> bool {
        self.gl.state().dead
    }

    fn revive(&self) {
        let mut s = self.gl.state();
        s.dead = false;
        s.kill = None;
    }

    fn record(&self) -> Record<fake_gitlab::Write> {
        let s = self.gl.state();
        Record {
            writes: s.writes.clone(),
            comment_states: s.note_history.iter().map(|(_, b)| b.clone()).collect(),
            calls: s.calls.clone(),
            unexpected: s.unexpected.clone(),
        }
    }

    fn forget_comment_states(&self) {
        self.gl.state().note_history.clear();
    }

    fn lists_comments(call: &str, n: u64) -> bool {
        call.starts_with("GET ") && call.contains(&format!("/merge_requests/{n}/notes"))
    }

    fn is_merge(write: &fake_gitlab::Write) -> bool {
        matches!(write, fake_gitlab::Write::Merged { .. })
    }
}

/// How a ship ended, as people and the forge saw it.
#[derive(Debug, PartialEq)]
struct Outcome<W> {
    writes: Vec<W>,
    /// Every body the shipping comment had, in order.
    comment_states: Vec<String>,
    /// The record's final stage and checks, and its rollback's stage.
    stage: String,
    checks: u64,
    rollback: Option<String>,
}

/// Change 7 ready to ship (or shipped, and change 8 ready), no calls or comment states
/// left to look at.
async fn ready_world<W: Interruptible>(start: Start) -> W {
    let w = ready_to_ship::<W>().await;
    if start == Start::AfterHealthy {
        for a in [Act::Ship(7), Act::CiDeployed(7), Act::Tick, Act::Tick] {
            act(&w, a).await;
            w.settle().await;
        }
        make_ready(&w, 8, &sha(2)).await;
    }
    w.take_calls();
    w.forget_comment_states();
    w.writes();
    w
}

async fn act<W: World>(w: &W, act: Act) {
    match act {
        Act::Ship(n) => w.comment(n, 494 + n, "alice", "/ship").await,
        Act::Deployed(n) => w.deployed(n).await,
        Act::CiDeployed(n) => w.ci_deployed(n).await,
        Act::Regress => w.prom().set_current(0.034),
        Act::Recover => w.prom().set_current(0.002),
        Act::RolledBack(n) => w.rollback_deployed(n, "success").await,
        Act::Tick => w.advance_clock(Duration::from_secs(61)),
    }
}

/// Waits until every due job has run, or the process died; true when it died.
async fn settled_or_dead<W: Interruptible>(w: &W) -> bool {
    for _ in 0..600 {
        if w.dead() {
            return true;
        }
        if w.store().due_depth(Duration::from_secs(30)).await.unwrap() == 0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs did not settle");
}

/// A new process on the same database, once the dead one has stopped; the job that
/// died is due again a few seconds later.
async fn restarted<W: Interruptible>(mut w: W) -> W {
    w.stop().await;
    w.revive();
    let w = w.restart().await;
    w.advance(Duration::from_secs(10)).await;
    w
}

/// Runs `acts` from `start`, dying at `kill` if given; returns how the ship ended and
/// every call it made.
async fn ship<W: Interruptible>(
    start: Start,
    acts: &[Act],
    kill: Option<Kill>,
) -> (Outcome<W::Write>, Vec<String>) {
    let mut w = ready_world::<W>(start).await;
    let killed = kill.as_ref().map(Kill::to_string);
    w.arm(kill);
    for a in acts {
        act(&w, *a).await;
        if settled_or_dead(&w).await {
            w = restarted(w).await;
        }
    }
    assert_eq!(w.store().parked_count().await.unwrap(), 0, "no job parked");
    assert!(
        killed.is_none() || !w.armed(),
        "the process died: {killed:?}"
    );
    let ships = w
        .store()
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(ships.len() as u64, start.change() - 6);
    let record: Value = serde_json::from_str(&ships.last().unwrap().data).unwrap();
    let seen = w.record();
    assert!(seen.unexpected.is_empty(), "{:#?}", seen.unexpected);
    let outcome = Outcome {
        writes: seen.writes,
        comment_states: seen.comment_states,
        stage: record["stage"].as_str().unwrap().to_owned(),
        checks: record["checks_done"].as_u64().unwrap(),
        rollback: record["rollback"]["stage"].as_str().map(String::from),
    };
    (outcome, seen.calls)
}

/// Every point the ship's own calls can be interrupted at: before each call, and after
/// each write. The `/ship` command's calls come before the first look at the change's
/// comments (for the shipping comment); a death there only repeats the command.
fn kill_points<W: Interruptible>(calls: &[String], change: u64) -> Vec<Kill> {
    let first = calls
        .iter()
        .position(|c| W::lists_comments(c, change))
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

/// The uninterrupted ship, after checking that every interrupted one ends the same.
async fn interrupted_everywhere<W: Interruptible>(
    start: Start,
    acts: &[Act],
    expected_stage: &str,
) -> Outcome<W::Write> {
    let (baseline, calls) = ship::<W>(start, acts, None).await;
    assert_eq!(baseline.stage, expected_stage);
    let merges = baseline.writes.iter().filter(|w| W::is_merge(w)).count();
    assert_eq!(merges, 1, "{:#?}", baseline.writes);
    let points = kill_points::<W>(&calls, start.change());
    assert!(points.len() > 10, "{points:#?}");
    for kill in points {
        let label = kill.to_string();
        let (outcome, _) = ship::<W>(start, acts, Some(kill)).await;
        assert_eq!(outcome, baseline, "{label}");
    }
    baseline
}

/// How each forge's regressed ship ends: GitHub creates the Deployment, marks it
/// failed and opens the revert; GitLab marks the API's deployment failed and opens the
/// revert as a merge request.
fn github_regressed(outcome: Outcome<fake_github::Write>) {
    use fake_github::Write;
    let deployments = outcome
        .writes
        .iter()
        .filter(|w| matches!(w, Write::DeploymentCreated { .. }))
        .count();
    assert_eq!(deployments, 1, "{:#?}", outcome.writes);
    assert_eq!(
        outcome.writes[outcome.writes.len() - 3..],
        [
            Write::DeploymentStatus {
                id: 1003,
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

fn gitlab_regressed(outcome: Outcome<fake_gitlab::Write>) {
    use fake_gitlab::Write;
    let updates: Vec<&Write> = outcome
        .writes
        .iter()
        .filter(|w| matches!(w, Write::DeploymentUpdated { .. } | Write::MrOpened { .. }))
        .collect();
    assert_eq!(updates.len(), 2, "{updates:#?}");
}

/// GitHub: one rollback Deployment of change 7's merge, after the regressed one was
/// marked failed and before the revert.
fn github_rolled_back(outcome: Outcome<fake_github::Write>) {
    use fake_github::Write;
    let rollbacks: Vec<&Write> = outcome
        .writes
        .iter()
        .filter(|w| {
            matches!(
                w,
                Write::RollbackCreated { .. } | Write::RevertOpened { .. }
            )
        })
        .collect();
    assert!(
        matches!(
            rollbacks[..],
            [Write::RollbackCreated { sha, .. }, Write::RevertOpened { of: 8, .. }] if *sha == merge_sha_of(7)
        ),
        "{:#?}",
        outcome.writes
    );
}

/// GitLab: change 7's deployment job run once again, before the revert.
fn gitlab_rolled_back(outcome: Outcome<fake_gitlab::Write>) {
    use fake_gitlab::Write;
    let rollbacks: Vec<&Write> = outcome
        .writes
        .iter()
        .filter(|w| matches!(w, Write::JobRetried { .. } | Write::MrOpened { .. }))
        .collect();
    assert!(
        matches!(
            rollbacks[..],
            [Write::JobRetried { job, .. }, Write::MrOpened { .. }] if *job == job_of(deployment_of(7))
        ),
        "{:#?}",
        outcome.writes
    );
}

async fn a_regressed_ship_interrupted_anywhere_merges_deploys_and_reverts_once<W: Interruptible>(
    then: fn(Outcome<W::Write>),
) {
    then(interrupted_everywhere::<W>(Start::Ready, &REGRESSED, "regressed").await);
}

async fn a_healthy_ship_interrupted_anywhere_watches_and_reports_once<W: Interruptible>() {
    interrupted_everywhere::<W>(Start::Ready, &HEALTHY, "healthy").await;
}

async fn a_rollback_interrupted_anywhere_redeploys_reverts_and_restores_once<W: Interruptible>(
    then: fn(Outcome<W::Write>),
) {
    let outcome = interrupted_everywhere::<W>(Start::AfterHealthy, &ROLLED_BACK, "regressed").await;
    assert_eq!(outcome.rollback.as_deref(), Some("restored"));
    then(outcome);
}

on_both_forges!(
    a_regressed_ship_interrupted_anywhere_merges_deploys_and_reverts_once(
        github_regressed,
        gitlab_regressed
    ),
    a_healthy_ship_interrupted_anywhere_watches_and_reports_once,
    a_rollback_interrupted_anywhere_redeploys_reverts_and_restores_once(
        github_rolled_back,
        gitlab_rolled_back
    ),
);

fn merge_sha_of(n: u64) -> String {
    format!("{:040x}", 0xeeee_0000_u64 + n)
}

fn merge_sha() -> String {
    format!("{:040x}", 0xeeee_0000_u64 + 7)
}

/// One 502 on creating the Deployment, with nothing created: the merge is recorded, the
/// job is retried, and the retry creates the one Deployment and says it is deploying.
#[tokio::test]
async fn a_502_on_creating_the_deployment_still_deploys_once() {
    use fake_github::Write;
    let w = ready_world::<GitHubWorld>(Start::Ready).await;
    let create = format!("POST /repos/{REPO}/deployments");
    w.gh.state()
        .refusals
        .push((create.clone(), wiremock::ResponseTemplate::new(502)));
    act(&w, Act::Ship(7)).await;
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

    act(&w, Act::Deployed(7)).await;
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
