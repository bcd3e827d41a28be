//! The deploy controls on both forges, against a real Prometheus (Debian's
//! `prometheus` package): `/lock` and `/unlock`, the order of `ship.environments`,
//! `/ship --noop` and `/hold`. What each forge says or calls in its
//! own words is passed to the scenarios as data.
use crate::support::fake_github::{small_files, FakeFile};
use crate::support::github_world::GitHubWorld;
use crate::support::gitlab_world::GitLabWorld;
use crate::support::sha;
use crate::support::watched::{Watched, POLICY};
use crate::support::world::{make_ready, World};
use smallbatch::domain::{PrNumber, PrRef};
use std::time::Duration;

/// [`POLICY`] with staging before production.
fn ordered_policy() -> String {
    format!("{POLICY}  environments: [staging, production]\n")
}

/// Change 7 ready to ship under `policy`, in a world whose smallbatch reads a real
/// Prometheus scraping a healthy app; the Prometheus lives as long as the result.
async fn ready<W: World>(policy: &str) -> Watched<W> {
    let t = Watched::<W>::start(policy).await;
    make_ready(&t.w, 7, &sha(1)).await;
    t
}

/// What the scenarios need to know of a forge beyond the [`World`] verbs.
struct Forge<W: World> {
    /// The change's noun: "pull request" or "merge request".
    change: &'static str,
    /// Whether a write merged change `n`.
    merged: fn(&W::Write, u64) -> bool,
    /// The gate on `head`: its state as the forge shows it, and its title.
    gate: fn(&W, &str) -> (String, String),
    /// The state of a gate that waits, and of one that passes.
    waiting: &'static str,
    passing: &'static str,
    /// The repository key and change of `n`, to look at the store.
    change_ref: fn(&W, u64) -> PrRef,
    /// What the forge's revert button writes in the revert of change 7.
    reverts_7: &'static str,
}

fn on_github() -> Forge<GitHubWorld> {
    use crate::support::fake_github::Write;
    Forge {
        change: "pull request",
        merged: |w, n| matches!(w, Write::Merged { pr, .. } if *pr == n),
        gate: |w, head| {
            let check = w.gh.latest_check(head);
            (check.conclusion, check.title)
        },
        waiting: "action_required",
        passing: "success",
        change_ref: |_, n| PrRef {
            repo: smallbatch::domain::RepoRef::github(
                crate::support::github_world::REPO,
                smallbatch::domain::InstallationId(crate::support::github_world::INSTALLATION),
            ),
            number: PrNumber(n),
        },
        reverts_7: "Reverts octo-org/widgets#7",
    }
}

fn on_gitlab() -> Forge<GitLabWorld> {
    use crate::support::fake_gitlab::Write;
    Forge {
        change: "merge request",
        merged: |w, n| matches!(w, Write::Merged { iid, .. } if *iid == n),
        gate: |w, head| {
            let s = w.gl.state();
            let status = s
                .statuses
                .iter()
                .rev()
                .find(|st| st.sha == head && st.name == "smallbatch")
                .expect("a smallbatch status")
                .clone();
            (status.state, status.description)
        },
        waiting: "pending",
        passing: "success",
        change_ref: |_, n| PrRef {
            repo: smallbatch::domain::RepoRef::gitlab(crate::support::gitlab_world::PROJECT),
            number: PrNumber(n),
        },
        reverts_7: "Revert \"Add invoice export\"\n\nThis reverts merge request !7",
    }
}

fn merges<W: World>(f: &Forge<W>, writes: &[W::Write], n: u64) -> bool {
    writes.iter().any(|w| (f.merged)(w, n))
}

async fn a_locked_environment_refuses_another_persons_ship<W: World>(f: Forge<W>) {
    let t = ready::<W>(POLICY).await;
    let w = &t.w;
    w.say(7, 501, "bob", "/lock production db migration, see #12")
        .await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "🔒 @bob locked **production** (db migration, see #12). Until `/unlock production`, no one else can `/ship` to it."
    );
    w.writes();

    w.say(7, 502, "alice", "/ship").await;
    let reply = w.bot_comments(7).last().unwrap().clone();
    let (head, tail) = reply
        .split_once(" since ")
        .expect("the lock's time is named");
    assert_eq!(
        head,
        "Not shipping to **production** yet. Still needed:\n\n- [ ] **production** is not locked by someone else (locked by @bob (db migration, see #12)"
    );
    assert!(
        tail.ends_with(
            "; `/unlock production` releases it).\n\nComment `/ship` again once these are done."
        ),
        "{reply}"
    );
    assert!(!merges(&f, &w.writes(), 7), "nothing merged");

    // Someone who neither holds the lock nor maintains cannot release it...
    w.say(7, 503, "alice", "/unlock").await;
    assert!(
        w.bot_comments(7).last().unwrap().starts_with(
            "Sorry @alice, **production** is locked by @bob (db migration, see #12) since "
        ),
        "{:?}",
        w.bot_comments(7).last()
    );
    w.writes();
    // ...its holder can, and then the ship goes ahead.
    w.say(7, 504, "bob", "/unlock production").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "🔓 @bob unlocked **production**. Anyone may `/ship` to it again."
    );
    w.say(7, 505, "alice", "/ship").await;
    assert!(merges(&f, &w.writes(), 7), "shipped once unlocked");
    w.assert_quiet();
}

async fn the_lock_holder_ships_and_a_ship_in_progress_holds_the_environment<W: World>(f: Forge<W>) {
    let t = ready::<W>(POLICY).await;
    let w = &t.w;
    w.say(7, 501, "alice", "/lock").await;
    w.say(7, 502, "alice", "/ship").await;
    assert!(merges(&f, &w.writes(), 7), "the holder ships");

    // Change 8 is ready too, but change 7's ship is still running in production.
    w.ci_passed(&sha(2));
    w.open(8, &sha(2), small_files()).await;
    w.settle().await;
    w.approve(8, "alice").await;
    w.settle().await;
    w.writes();
    w.say(8, 601, "bob", "/ship").await;
    let reply = w.bot_comments(8).last().unwrap().clone();
    let change7 = if f.change == "pull request" {
        "#7"
    } else {
        "!7"
    };
    assert!(
        reply.contains(
            "- [ ] **production** is not locked by someone else (locked by @alice since "
        ),
        "{reply}"
    );
    assert!(
        reply.contains(&format!(
            "- [ ] No other {} is being shipped to **production** ({change7}, shipped by @alice, is still in progress: deploying).",
            f.change
        )),
        "{reply}"
    );
    assert!(!merges(&f, &w.writes(), 8), "nothing merged");
    w.assert_quiet();
}

async fn ship_production_before_staging_is_refused_with_the_reason<W: World>(f: Forge<W>) {
    let t = ready::<W>(&ordered_policy()).await;
    let w = &t.w;
    w.say(7, 501, "alice", "/ship production").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "Not shipping to **production** yet. Still needed:\n\n\
         - [ ] `0000000` shipped to **staging** first and operated as designed (it has not been \
         shipped there). Ship it there with `/ship staging`, or skip the order with \
         `/ship production --override <reason>`.\n\nComment `/ship` again once these are done."
    );
    assert!(!merges(&f, &w.writes(), 7), "nothing merged");

    // An environment outside the order is refused by name.
    w.say(7, 502, "alice", "/ship qa").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "Not shipping: `qa` is not one of this repository's environments (`ship.environments`: `staging`, `production`)."
    );
    w.writes();

    // Staging first: merged there, deployed, healthy for the whole watch.
    w.say(7, 503, "alice", "/ship staging").await;
    assert!(merges(&f, &w.writes(), 7));
    w.deployed_to(7, "staging").await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();

    // Production then deploys the same merge commit, without merging again.
    w.say(7, 504, "alice", "/ship production").await;
    assert!(
        !merges(&f, &w.writes(), 7),
        "merged once, by the staging ship"
    );
    w.deployed_to(7, "production").await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();
    let ships = w
        .store()
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    let stages: Vec<(&str, &str)> = ships
        .iter()
        .map(|s| (s.environment.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(stages, [("staging", "healthy"), ("production", "healthy")]);
    // Only production's deploy is a deployment for delivery metrics.
    let metrics = smallbatch::report::delivery_metrics(
        w.store(),
        None,
        Duration::from_secs(86_400),
        Duration::from_secs(86_400),
    )
    .await
    .unwrap();
    assert_eq!(metrics[0].counts.deployments, 1);
    w.assert_quiet();
}

async fn an_order_override_needs_a_reason_and_maintainers_and_is_audited<W: World>(f: Forge<W>) {
    let t = ready::<W>(&ordered_policy()).await;
    let w = &t.w;
    w.say(7, 501, "alice", "/ship production --override").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "`--override` needs a reason, for the audit log: for example `/ship production --override hotfix for the outage in #123`. Comment `/help` to see the commands."
    );
    w.say(
        7,
        502,
        "alice",
        "/ship production --override staging is down",
    )
    .await;
    assert!(
        w.bot_comments(7)
            .last()
            .unwrap()
            .starts_with("Sorry @alice, `/ship --override` needs "),
        "{:?}",
        w.bot_comments(7).last()
    );
    assert!(!merges(&f, &w.writes(), 7));

    w.say(
        7,
        503,
        "maya",
        "/ship production --override staging is down",
    )
    .await;
    assert!(merges(&f, &w.writes(), 7), "shipped out of order");
    let audit = w
        .store()
        .order_overrides(&(f.change_ref)(w, 7))
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (
            audit[0].actor.as_str(),
            audit[0].reason.as_str(),
            audit[0].environment.as_str(),
            audit[0].skipped.clone()
        ),
        (
            "maya",
            "staging is down",
            "production",
            vec!["staging".to_owned()]
        )
    );
    let shipping = w.bot_comments(7).last().unwrap().clone();
    assert!(
        shipping.contains("Out of order: @maya skipped **staging** (staging is down)."),
        "{shipping}"
    );
    w.assert_quiet();
}

/// `expected`: the calls, in the forge's words; `reply`: the reply's snapshot.
async fn ship_noop_makes_no_write_call<W: World>(
    (expected, reply): (fn(&W) -> Vec<String>, &'static str),
) {
    let t = ready::<W>(POLICY).await;
    let w = &t.w;
    w.take_calls();
    w.say(7, 501, "alice", "/ship --noop").await;
    let mut calls = w.take_calls();
    // The reads run partly concurrently: their order is not fixed, the write comes last.
    let last = calls.pop().expect("calls");
    calls.sort();
    calls.push(last);
    assert_eq!(calls, expected(w));
    let writes = w.writes();
    assert_eq!(writes.len(), 1, "the reply is the only write: {writes:#?}");
    assert_snapshot!(reply, w.bot_comments(7).last().unwrap());
    let ships = w
        .store()
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert!(ships.is_empty(), "no ship started");
    w.assert_quiet();
}

async fn a_hold_keeps_the_gate_pending_across_a_push<W: World>(f: Forge<W>) {
    let t = ready::<W>(POLICY).await;
    let w = &t.w;
    assert_eq!(
        (f.gate)(w, &sha(1)),
        (
            f.passing.to_owned(),
            "30 lines, 1 approval: ready".to_owned()
        )
    );

    w.say(7, 501, "maya", "/hold freeze until Monday").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        &format!(
            "✋ @maya (freeze until Monday) put this {} on hold. Nothing merges it until `/unhold`: not `/ship`, not the merge queue, not `/override`. The smallbatch check waits until then.",
            f.change
        )
    );
    let held = (
        f.waiting.to_owned(),
        "Held by @maya (freeze until Monday): 30 lines, 1 approval: ready".to_owned(),
    );
    assert_eq!((f.gate)(w, &sha(1)), held);
    w.writes();

    // A push is another head; the hold stays on the change.
    w.push(7, &sha(2), vec![FakeFile::modified("README.md", 25, 6)])
        .await;
    w.settle().await;
    let (state, title) = (f.gate)(w, &sha(2));
    assert_eq!(state, f.waiting);
    assert!(
        title.starts_with("Held by @maya (freeze until Monday): "),
        "{title}"
    );
    w.writes();

    // Neither `/ship` nor `/override` passes it.
    w.say(7, 502, "maya", "/override the release needs it")
        .await;
    assert_eq!((f.gate)(w, &sha(2)).0, f.waiting);
    w.say(7, 503, "alice", "/ship").await;
    assert!(
        w.bot_comments(7).last().unwrap().contains(&format!(
            "- [ ] No one holds the {} (held by @maya (freeze until Monday); `/unhold` releases it).",
            f.change
        )),
        "{:?}",
        w.bot_comments(7).last()
    );
    assert!(!merges(&f, &w.writes(), 7));

    // Only its holder, or a maintainer, releases it.
    w.say(7, 504, "alice", "/unhold").await;
    assert!(w
        .bot_comments(7)
        .last()
        .unwrap()
        .starts_with(&format!("Sorry @alice, this {} is held by @maya", f.change)));
    assert_eq!((f.gate)(w, &sha(2)).0, f.waiting);
    w.say(7, 505, "maya", "/unhold").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        &format!(
            "@maya released the hold on this {}. The gate decides again.",
            f.change
        )
    );
    // The override of this head counts again once the hold is off.
    let (state, title) = (f.gate)(w, &sha(2));
    assert_eq!(state, f.passing);
    assert!(title.starts_with("Overridden by @maya: "), "{title}");
    w.writes();
    w.assert_quiet();
}

async fn a_revert_made_by_hand_counts_the_shipped_change_as_failed_once<W: World>(f: Forge<W>) {
    let t = ready::<W>(POLICY).await;
    let w = &t.w;
    w.say(7, 501, "alice", "/ship").await;
    w.deployed(7).await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();
    let counts = |w: &W| {
        let store = w.store().clone();
        async move {
            let metrics = smallbatch::report::delivery_metrics(
                &store,
                None,
                Duration::from_secs(86_400),
                Duration::from_secs(86_400),
            )
            .await
            .unwrap();
            let c = metrics[0].counts;
            (c.deployments, c.healthy, c.failed, c.reverted)
        }
    };
    assert_eq!(counts(w).await, (1, 1, 0, 0), "healthy after the watch");

    // An hour later someone reverts it with the forge's button and merges the revert.
    w.advance(Duration::from_secs(3600)).await;
    w.merged_by_hand(9, "Revert \"an earlier change\"", f.reverts_7)
        .await;
    w.settle().await;
    assert_eq!(counts(w).await, (1, 0, 1, 1), "failed: reverted by hand");
    // A second revert of the same change counts nothing more.
    w.merged_by_hand(10, "Revert \"an earlier change\"", f.reverts_7)
        .await;
    w.settle().await;
    assert_eq!(counts(w).await, (1, 0, 1, 1), "counted once");
    // A merge that reverts nothing shipped changes nothing.
    w.merged_by_hand(11, "Add a footer", "Reverts nothing.")
        .await;
    w.settle().await;
    assert_eq!(counts(w).await, (1, 0, 1, 1));
    assert_eq!(w.writes(), [], "nothing is written to the forge");
    w.assert_quiet();
}

/// The calls of `/ship --noop` on GitHub: the PR with its files and reviews (for the
/// commands), the commenter's permission, the PR's mergeability and its head's checks,
/// and the one reply (the base's policy is cached by then). No reaction: the reply
/// acknowledges the command.
fn github_noop_calls(_: &GitHubWorld) -> Vec<String> {
    let repo = "/repos/octo-org/widgets";
    let mut calls: Vec<String> = vec![
        format!("GET {repo}/collaborators/alice/permission"),
        format!("GET {repo}/commits/{}/check-runs", sha(1)),
        format!("GET {repo}/commits/{}/status", sha(1)),
        format!("GET {repo}/pulls/7"),
        format!("GET {repo}/pulls/7"),
        format!("GET {repo}/pulls/7/files"),
        format!("GET {repo}/pulls/7/reviews"),
    ];
    calls.sort();
    calls.push(format!("POST {repo}/issues/7/comments"));
    calls
}

/// The same on GitLab: the MR with its approvals and diffs, the commenter's role, the
/// MR's mergeability and its head's statuses, and the one reply.
fn gitlab_noop_calls(_: &GitLabWorld) -> Vec<String> {
    let project = "/api/v4/projects/acme%2Ftools%2Fwidgets";
    let mr = format!("{project}/merge_requests/7");
    let mut calls: Vec<String> = vec![
        format!("GET {mr}"),
        format!("GET {mr}"),
        format!("GET {mr}/approvals"),
        format!("GET {mr}/diffs?per_page=100"),
        // alice's id, then her role (306218 is her id in the fake).
        "GET /api/v4/users?username=alice".to_owned(),
        format!("GET {project}/members/all/306218"),
        format!(
            "GET {project}/repository/commits/{}/statuses?per_page=100",
            sha(1)
        ),
    ];
    calls.sort();
    calls.push(format!("POST {mr}/notes"));
    calls
}

on_both_forges!(
    a_locked_environment_refuses_another_persons_ship(on_github(), on_gitlab()),
    the_lock_holder_ships_and_a_ship_in_progress_holds_the_environment(on_github(), on_gitlab()),
    ship_production_before_staging_is_refused_with_the_reason(on_github(), on_gitlab()),
    an_order_override_needs_a_reason_and_maintainers_and_is_audited(on_github(), on_gitlab()),
    ship_noop_makes_no_write_call(
        (github_noop_calls, "noop_github"),
        (gitlab_noop_calls, "noop_gitlab")
    ),
    a_hold_keeps_the_gate_pending_across_a_push(on_github(), on_gitlab()),
    a_revert_made_by_hand_counts_the_shipped_change_as_failed_once(on_github(), on_gitlab()),
);
