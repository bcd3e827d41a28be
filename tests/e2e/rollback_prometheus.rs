//! Rollback first, and verdicts a team can trust, on both forges against a real
//! Prometheus (Debian's `prometheus` package) scraping an app whose gauges the test
//! sets: a regression rolls production back to the last healthy deployment within the
//! check that detects it, opens the revert, and reports service restored with the time
//! it took; too little data is inconclusive; one spike rolls nothing back; a `baseline`
//! series sets the bound; and `/rollback` does the same by hand, for those allowed to
//! ship.
use crate::support::fake_github;
use crate::support::fake_gitlab;
use crate::support::gitlab_world::{deployment_of, job_of};
use crate::support::watched::{Watched, ERRORS, POLICY, REQUESTS};
use crate::support::world::World;
use std::time::Duration;

/// [`POLICY`], with each reading needing at least 100 requests behind it.
const POLICY_WITH_SAMPLES: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: error rate\n      query: app_errors_ratio\n      max: 0.01\n      min_samples:\n        query: app_requests\n        count: 100\n";

/// The new version's p99 latency at most 1.5× the stable version's, read at the same time.
const POLICY_WITH_BASELINE: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: p99 latency\n      query: app_latency_new\n      max_increase: 1.5\n      baseline: app_latency_stable\n";
const LATENCY_NEW: &str = "app_latency_new";
const LATENCY_STABLE: &str = "app_latency_stable";

/// A forge's words for what a rollback does there.
struct Expect<Wr> {
    forge: &'static str,
    /// The writes of the check that detects the regression of change 8.
    rolled_back: fn(&[Wr]),
    /// The writes of `/rollback` of change 8.
    rolled_back_by_hand: fn(&[Wr]),
    /// Whether these writes start a rollback at all.
    any_rollback: fn(&[Wr]) -> bool,
}

fn merge_of(n: u64) -> String {
    format!("{:040x}", 0xeeee_0000_u64 + n)
}

/// GitHub: the regressed Deployment marked failed, a new Deployment of change 7's merge
/// marked as its rollback, the revert PR, then the comment.
fn github_rolled_back(writes: &[fake_github::Write]) {
    use fake_github::Write;
    let [Write::DeploymentStatus { id, state }, Write::RollbackCreated {
        sha,
        environment,
        rollback_of,
    }, Write::RevertOpened { of: 8, .. }, Write::CommentEdited { .. }] = writes
    else {
        panic!("{writes:#?}");
    };
    assert_eq!((state.as_str(), rollback_of), ("failure", id));
    assert_eq!(
        (sha.as_str(), environment.as_str()),
        (merge_of(7).as_str(), "production")
    );
}

fn github_rolled_back_by_hand(writes: &[fake_github::Write]) {
    use fake_github::Write;
    let rollback = writes
        .iter()
        .position(|w| matches!(w, Write::RollbackCreated { sha, .. } if *sha == merge_of(7)));
    let revert = writes
        .iter()
        .position(|w| matches!(w, Write::RevertOpened { of: 8, .. }));
    assert!(
        matches!((rollback, revert), (Some(r), Some(v)) if r < v),
        "{writes:#?}"
    );
}

fn github_any_rollback(writes: &[fake_github::Write]) -> bool {
    writes.iter().any(|w| {
        matches!(
            w,
            fake_github::Write::RollbackCreated { .. }
                | fake_github::Write::RevertOpened { .. }
                | fake_github::Write::DeploymentStatus { .. }
        )
    })
}

/// GitLab: the CI deployment cannot be marked failed (GitLab refuses), the job that
/// deployed change 7 runs again, the revert merge request, then the note.
fn gitlab_rolled_back(writes: &[fake_gitlab::Write]) {
    use fake_gitlab::Write;
    let [Write::JobRetried { job, .. }, Write::BranchCreated { .. }, Write::CommitReverted { sha, .. }, Write::MrOpened { .. }, Write::NoteEdited { .. }] =
        writes
    else {
        panic!("{writes:#?}");
    };
    assert_eq!(*job, job_of(deployment_of(7)));
    assert_eq!(*sha, merge_of(8));
}

fn gitlab_rolled_back_by_hand(writes: &[fake_gitlab::Write]) {
    use fake_gitlab::Write;
    let rollback = writes.iter().position(
        |w| matches!(w, Write::JobRetried { job, .. } if *job == job_of(deployment_of(7))),
    );
    let revert = writes
        .iter()
        .position(|w| matches!(w, Write::MrOpened { .. }));
    assert!(
        matches!((rollback, revert), (Some(r), Some(v)) if r < v),
        "{writes:#?}"
    );
}

fn gitlab_any_rollback(writes: &[fake_gitlab::Write]) -> bool {
    writes.iter().any(|w| {
        matches!(
            w,
            fake_gitlab::Write::JobRetried { .. }
                | fake_gitlab::Write::MrOpened { .. }
                | fake_gitlab::Write::DeploymentUpdated { .. }
        )
    })
}

const GITHUB: Expect<fake_github::Write> = Expect {
    forge: "github",
    rolled_back: github_rolled_back,
    rolled_back_by_hand: github_rolled_back_by_hand,
    any_rollback: github_any_rollback,
};

const GITLAB: Expect<fake_gitlab::Write> = Expect {
    forge: "gitlab",
    rolled_back: gitlab_rolled_back,
    rolled_back_by_hand: gitlab_rolled_back_by_hand,
    any_rollback: gitlab_any_rollback,
};

async fn a_regression_rolls_back_at_once_then_reverts_and_reports_service_restored<W: World>(
    expect: Expect<W::Write>,
) {
    let t = Watched::<W>::start(POLICY).await;
    t.healthy_ship().await;
    t.ship(8, 2).await;
    t.set(ERRORS, 0.034).await;
    t.tick().await;
    assert!(
        !(expect.any_rollback)(&t.w.writes()),
        "one breaching reading rolls nothing back"
    );
    // The second breaching reading in a row: the same check rolls back and reverts.
    t.tick().await;
    (expect.rolled_back)(&t.w.writes());
    assert!(t
        .shipping_comment(8)
        .contains("Waiting for the rollback deployment to report."));

    // The team's CD redeploys change 7; production recovers.
    t.set(ERRORS, 0.002).await;
    t.w.rollback_deployed(7, "success").await;
    t.w.settle().await;
    assert!(t
        .shipping_comment(8)
        .contains("Rolled back. Watching production"));
    t.tick().await;
    t.w.writes();
    let comment = t.shipping_comment(8);
    assert_snapshot!(format!("restored_{}", expect.forge), comment);

    // Time to restore: from the detection to the healthy rollback, a minute's reading and
    // the redeployment later.
    let day = Duration::from_secs(86_400);
    let metrics = smallbatch::report::delivery_metrics(t.w.store(), None, day, day)
        .await
        .unwrap();
    let m = &metrics[0];
    // Change 7, change 8 (failed, once) and the rollback's redeploy (rework).
    let c = &m.counts;
    assert_eq!(
        (c.deployments, c.regressed, c.failed, c.rework),
        (3, 1, 1, 1)
    );
    let restore = m.time_to_restore.as_ref().expect("restored");
    assert_eq!(restore.samples, 1);
    assert!(
        restore.median >= time::Duration::seconds(61)
            && restore.median < time::Duration::minutes(2),
        "{:?}",
        restore.median
    );
    // /metrics shows the latest reading, the rollback's, with its verdict and bound.
    let scraped = reqwest::get(t.w.server_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let labels = format!(
        "repo=\"{}\",environment=\"production\",metric=\"error rate\"",
        m.repo
    );
    for line in [
        format!("smallbatch_ship_reading{{{labels},verdict=\"healthy\"}} 0.002\n"),
        format!("smallbatch_ship_reading_bound{{{labels}}} 0.01\n"),
    ] {
        assert!(scraped.contains(&line), "{line}\n{scraped}");
    }
    let restore = format!(
        "smallbatch_time_to_restore_seconds{{repo=\"{}\",quantile=\"0.5\"}} ",
        m.repo
    );
    assert!(scraped.contains(&restore), "{scraped}");
    // Nothing more happens once service is restored.
    t.w.advance(Duration::from_secs(600)).await;
    assert_eq!(t.w.writes(), []);
    t.w.assert_quiet();
}

async fn too_few_samples_are_inconclusive_never_healthy<W: World>(expect: Expect<W::Write>) {
    let t = Watched::<W>::start(POLICY_WITH_SAMPLES).await;
    t.set(REQUESTS, 3.0).await;
    t.ship(7, 1).await;
    t.tick().await;
    t.tick().await;
    let writes = t.w.writes();
    assert!(!(expect.any_rollback)(&writes), "{writes:#?}");
    let comment = t.shipping_comment(7);
    assert!(comment.contains("### ⚠️ Inconclusive"), "{comment}");
    assert!(!comment.contains("Operating as designed"), "{comment}");
    assert!(
        comment.contains(
            "| 2 | error rate | 0.002 | – | inconclusive: 3 samples, fewer than the 100 needed |"
        ),
        "{comment}"
    );
    let record =
        &t.w.store()
            .ships(None, time::OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap()[0];
    assert_eq!(record.state, "inconclusive");
    t.w.assert_quiet();
}

async fn one_breaching_reading_then_healthy_ones_do_not_roll_back<W: World>(
    expect: Expect<W::Write>,
) {
    let t = Watched::<W>::start(POLICY).await;
    t.healthy_ship().await;
    t.ship(8, 2).await;
    t.set(ERRORS, 0.034).await;
    t.tick().await;
    t.set(ERRORS, 0.002).await;
    t.tick().await;
    let writes = t.w.writes();
    assert!(!(expect.any_rollback)(&writes), "{writes:#?}");
    let comment = t.shipping_comment(8);
    assert!(
        comment.contains("### ✅ Operating as designed"),
        "{comment}"
    );
    assert!(
        comment.contains(
            "| 1 | error rate | 0.034 | max 0.01 | breaching: 0.034 over max 0.01 (3.4×), 1 of 2 readings in a row |\n\
             | 2 | error rate | 0.002 | max 0.01 | ok |"
        ),
        "{comment}"
    );
    t.w.assert_quiet();
}

async fn rollback_by_hand_is_refused_to_readers_and_immediate_for_writers<W: World>(
    expect: Expect<W::Write>,
) {
    let t = Watched::<W>::start(POLICY).await;
    t.healthy_ship().await;
    t.ship(8, 2).await;
    t.tick().await;

    // sam may only read: refused, nothing else happens.
    t.w.say(8, 901, "sam", "/rollback").await;
    let writes = t.w.writes();
    assert!(!(expect.any_rollback)(&writes), "{writes:#?}");
    let refusal = t.w.bot_comments(8).last().unwrap().clone();
    assert!(
        refusal.starts_with("Sorry @sam, `/rollback` needs "),
        "{refusal}"
    );

    // alice may ship: production goes back to change 7 at once, without waiting for a
    // reading, and the revert follows.
    t.w.say(8, 902, "alice", "/rollback").await;
    (expect.rolled_back_by_hand)(&t.w.writes());
    let reply = t.w.bot_comments(8).last().unwrap().clone();
    assert!(
        reply.starts_with("Rolling back **production**: ")
            && reply
                .contains("8 is the change deployed there. Follow it in [its shipping comment]("),
        "{reply}"
    );
    let comment = t.shipping_comment(8);
    assert!(
        comment.contains("@alice asked for a rollback with `/rollback`."),
        "{comment}"
    );
    assert!(
        comment.contains("#### ⏪ Rollback, asked by @alice"),
        "{comment}"
    );

    // Asked again while it runs: said so, nothing redeployed twice.
    t.w.say(8, 903, "bob", "/rollback").await;
    assert!(!(expect.any_rollback)(&t.w.writes()));
    let again = t.w.bot_comments(8).last().unwrap().clone();
    assert!(
        again.starts_with("**production** is already being rolled back."),
        "{again}"
    );

    t.w.rollback_deployed(7, "success").await;
    t.w.settle().await;
    t.tick().await;
    t.w.writes();
    assert!(t.shipping_comment(8).contains("**Service restored**"));
    t.w.assert_quiet();
}

/// With a `baseline` series, the bound moves with it: a slowdown of every version alike
/// (the window before the deploy was faster) is healthy, and only the new version's own
/// slowdown rolls back.
async fn a_baseline_series_read_at_the_same_time_sets_the_bound<W: World>(
    expect: Expect<W::Write>,
) {
    let t = Watched::<W>::start(POLICY_WITH_BASELINE).await;
    t.set(LATENCY_NEW, 0.1).await;
    t.set(LATENCY_STABLE, 0.1).await;
    t.ship(7, 1).await;
    // Traffic doubles for everyone: both versions are three times slower than before the
    // deploy, the new one no slower than the stable one.
    t.set(LATENCY_NEW, 0.3).await;
    t.set(LATENCY_STABLE, 0.3).await;
    t.tick().await;
    t.tick().await;
    let writes = t.w.writes();
    assert!(!(expect.any_rollback)(&writes), "{writes:#?}");
    let comment = t.shipping_comment(7);
    assert!(
        comment.contains("### ✅ Operating as designed"),
        "{comment}"
    );
    assert!(
        comment.contains("| 2 | p99 latency | 0.3 | at most 1.5× the baseline 0.3 | ok |"),
        "{comment}"
    );

    // The next change slows down only its own version: that rolls back to change 7's.
    t.ship(8, 2).await;
    t.set(LATENCY_NEW, 0.9).await;
    t.tick().await;
    let writes = t.w.writes();
    assert!(!(expect.any_rollback)(&writes), "{writes:#?}");
    t.tick().await;
    (expect.rolled_back)(&t.w.writes());
    let comment = t.shipping_comment(8);
    assert!(
        comment.contains("3.0× the baseline 0.3 (max 1.5×), 2 of 2 readings in a row"),
        "{comment}"
    );
    t.w.assert_quiet();
}

on_both_forges!(
    a_baseline_series_read_at_the_same_time_sets_the_bound(GITHUB, GITLAB),
    a_regression_rolls_back_at_once_then_reverts_and_reports_service_restored(GITHUB, GITLAB),
    too_few_samples_are_inconclusive_never_healthy(GITHUB, GITLAB),
    one_breaching_reading_then_healthy_ones_do_not_roll_back(GITHUB, GITLAB),
    rollback_by_hand_is_refused_to_readers_and_immediate_for_writers(GITHUB, GITLAB),
);
