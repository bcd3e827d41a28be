//! A deployment that finished while its webhook was lost (GitHub does not redeliver by
//! itself; GitLab gives up on a failing hook): the sweep reads it back from the forge,
//! and the ship goes on as the webhook would have taken it, once.
use crate::support::sha;
use crate::support::world::{make_ready, ready_to_ship, World};
use smallbatch::worker::sweep::Sweeper;
use std::time::Duration;

const TICK: Duration = Duration::from_secs(61);

fn shipping_comment<W: World>(w: &W, n: u64) -> String {
    w.bot_comments(n)
        .into_iter()
        .find(|c| c.contains("## Shipping"))
        .expect("a shipping comment")
}

/// One sweep by a second process; how many deployment events it queued.
async fn sweep_reads<W: World>(w: &W) -> usize {
    let sweeper = w.sweeper();
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    w.settle().await;
    report.deployments_read
}

async fn a_deployment_whose_webhook_was_lost_is_read_back_by_the_sweep<W: World>() {
    let w = ready_to_ship::<W>().await;
    w.say(7, 501, "alice", "/ship").await;
    w.settle().await;
    let comment = shipping_comment(&w, 7);
    assert!(
        comment.contains("Waiting for the deployment to report."),
        "{comment}"
    );

    w.deployed_unannounced(7);
    // Within a minute the webhook is left to come.
    assert_eq!(sweep_reads(&w).await, 0);
    w.advance_clock(TICK);
    assert_eq!(sweep_reads(&w).await, 1);
    let comment = shipping_comment(&w, 7);
    assert!(comment.contains("Watching production"), "{comment}");

    // Neither a second sweep nor the webhook arriving late does anything more.
    w.writes();
    assert_eq!(sweep_reads(&w).await, 0);
    w.deployed(7).await;
    w.settle().await;
    assert_eq!(w.writes(), []);

    w.advance(TICK).await;
    w.advance(TICK).await;
    let comment = shipping_comment(&w, 7);
    assert!(
        comment.contains("### ✅ Operating as designed"),
        "{comment}"
    );
}

async fn a_rollback_whose_webhook_was_lost_is_read_back_and_restores_service<W: World>() {
    let w = ready_to_ship::<W>().await;
    w.say(7, 501, "alice", "/ship").await;
    w.settle().await;
    w.ci_deployed(7).await;
    w.settle().await;
    w.advance(TICK).await;
    w.advance(TICK).await;
    make_ready(&w, 8, &sha(2)).await;
    w.say(8, 502, "alice", "/ship").await;
    w.settle().await;
    w.ci_deployed(8).await;
    w.settle().await;
    w.prom().set_current(0.034);
    w.advance(TICK).await;
    w.advance(TICK).await;
    let comment = shipping_comment(&w, 8);
    assert!(
        comment.contains("Waiting for the rollback deployment to report."),
        "{comment}"
    );

    w.prom().set_current(0.002);
    w.rollback_deployed_unannounced(7, "success");
    w.advance_clock(TICK);
    assert_eq!(sweep_reads(&w).await, 1);
    w.advance(TICK).await;
    let comment = shipping_comment(&w, 8);
    assert!(comment.contains("**Service restored**"), "{comment}");
    assert_eq!(sweep_reads(&w).await, 0);
}

/// A Deployment deleted on GitHub answers 404: that ship is left waiting (and logged),
/// and the sweep goes on with the rest of the repository.
#[tokio::test]
async fn a_deployment_deleted_on_github_leaves_the_sweep_going() {
    use crate::support::github_world::GitHubWorld;
    let w = ready_to_ship::<GitHubWorld>().await;
    w.say(7, 501, "alice", "/ship").await;
    w.settle().await;
    w.gh.state().deployments.clear();
    w.advance_clock(TICK);
    let sweeper = w.sweeper();
    let report = Sweeper::default().sweep(&sweeper.ctx).await.unwrap();
    assert_eq!((report.repos, report.deployments_read), (1, 0));
    let comment = shipping_comment(&w, 7);
    assert!(
        comment.contains("Waiting for the deployment to report."),
        "{comment}"
    );
    w.writes();
    w.assert_quiet();
}

on_both_forges!(
    a_deployment_whose_webhook_was_lost_is_read_back_by_the_sweep,
    a_rollback_whose_webhook_was_lost_is_read_back_and_restores_service,
);
