//! End-to-end: chat commands and `/ship` on GitHub, against the fake GitHub and a fake
//! Prometheus; the clock is the store's, moved on by the test.

use crate::support::fake_github::{small_files, FakeFile, Write};
use crate::support::github_world::{GitHubWorld, INSTALLATION, REPO};
use crate::support::sha;
use crate::support::world::{make_ready, ready_to_ship, World, SHIP_POLICY};
use smallbatch::domain::{InstallationId, PrNumber, PrRef, RepoRef};
use std::time::Duration;

/// A world with a small PR 7 by alice, approved by bob, CI green, and the ship policy.
async fn ready_world() -> GitHubWorld {
    ready_to_ship().await
}

fn merge_sha() -> String {
    format!("{:040x}", 0xeeee_0000_u64 + 7)
}

#[tokio::test]
async fn help_is_acknowledged_and_answered_with_the_active_policy() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "Thanks!\n\n/help").await;
    let writes = w.writes();
    assert_eq!(
        writes[0],
        Write::Reacted {
            comment: 501,
            content: "eyes".into()
        }
    );
    assert!(
        matches!(writes[1], Write::CommentCreated { pr: 7, .. }),
        "{writes:#?}"
    );
    assert_eq!(writes.len(), 2);
    assert_snapshot!("help_reply", w.bot_comments(7).last().unwrap());
    w.assert_quiet();
}

#[tokio::test]
async fn unknown_commands_point_to_help_and_quoted_commands_do_nothing() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "/deploy now").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "`/deploy` is not a smallbatch command. Comment `/help` to see the commands."
    );
    w.writes();
    w.say(7, 502, "sam", "> /ship\n\n```\n/override x\n```\n")
        .await;
    assert_eq!(w.writes(), [], "quotes and code are not commands");
    w.assert_quiet();
}

#[tokio::test]
async fn bot_comments_never_run_commands() {
    let w = ready_world().await;
    let payload = w.comment_payload(7, 501, "smallbatch[bot]", "/ship");
    let (status, body) = w.deliver("issue_comment", &payload).await;
    assert_eq!(status, 202);
    assert!(body.contains("ignored"), "{body}");
    w.settle().await;
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}

#[tokio::test]
async fn an_edited_comment_runs_only_its_new_commands() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "/help").await;
    w.writes();
    let mut edited = w.comment_payload(7, 501, "sam", "/help\n/recheck");
    edited["action"] = "edited".into();
    edited["changes"] = serde_json::json!({"body": {"from": "/help"}});
    w.deliver("issue_comment", &edited).await;
    w.settle().await;
    // Only /recheck ran: acknowledged, and the unchanged gate wrote nothing more.
    assert_eq!(
        w.writes(),
        [Write::Reacted {
            comment: 501,
            content: "eyes".into()
        }]
    );
    assert_eq!(w.bot_comments(7).len(), 1, "no second /help reply");
    w.assert_quiet();
}

#[tokio::test]
async fn override_needs_maintain_and_a_reason_is_audited_and_ends_with_a_push() {
    let w = GitHubWorld::start().await;
    w.gh.state().roles.insert("alice".into(), "write".into());
    w.gh.state().roles.insert("maya".into(), "maintain".into());
    let files = vec![FakeFile::added("api/handlers.rs", 450)];
    w.open(9, &sha(1), files.clone()).await;
    w.settle().await;
    assert_eq!(w.gh.latest_check(&sha(1)).conclusion, "failure");
    w.writes();

    w.say(9, 601, "alice", "/override shipping the fix").await;
    assert_eq!(
        w.bot_comments(9).last().unwrap(),
        "Sorry @alice, `/override` needs `maintain` permission on this repository, which you don't have. Ask someone with that permission to run it."
    );
    assert_eq!(
        w.gh.latest_check(&sha(1)).conclusion,
        "failure",
        "a refusal changes nothing"
    );
    w.writes();

    w.say(9, 602, "maya", "/override").await;
    assert!(w
        .bot_comments(9)
        .last()
        .unwrap()
        .starts_with("`/override` needs a reason"));
    w.writes();

    w.say(9, 603, "maya", "/override hotfix for the outage in #123")
        .await;
    let check = w.gh.latest_check(&sha(1));
    assert_eq!(check.conclusion, "success");
    assert_eq!(check.title, "Overridden by @maya: 450 lines: over the 400-line limit; needs 1 approval; no tests changed");
    assert!(
        check.summary.contains("> hotfix for the outage in #123"),
        "{}",
        check.summary
    );
    assert!(w
        .bot_comments(9)
        .last()
        .unwrap()
        .starts_with("Override recorded: the gate passes for `0000000`"));
    let audit = w
        .store
        .overrides(&PrRef {
            repo: RepoRef::github(REPO, InstallationId(INSTALLATION)),
            number: PrNumber(9),
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].head_sha.as_str()),
        ("maya", sha(1).as_str())
    );
    w.writes();

    // A new push ends the override.
    w.update_pr(9, |pr| {
        pr.head_sha = sha(2);
        pr.files.push(FakeFile::added("api/more.rs", 5));
    });
    w.deliver("pull_request", &w.payload("pull_request.synchronize", 9))
        .await;
    w.settle().await;
    assert_eq!(w.gh.latest_check(&sha(2)).conclusion, "failure");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn ship_refuses_with_a_checklist_when_not_ready() {
    let w = GitHubWorld::start().await;
    w.put_policy(SHIP_POLICY);
    w.gh.state().roles.insert("alice".into(), "write".into());
    w.gh.state().commit_checks.insert(
        sha(1),
        vec![("ci/test".into(), "completed".into(), Some("failure".into()))],
    );
    w.open_pr(7, &sha(1), small_files());
    w.say(7, 501, "alice", "/ship").await;
    assert_snapshot!("ship_not_ready", w.bot_comments(7).last().unwrap());
    let writes = w.writes();
    assert!(
        !writes.iter().any(|w| matches!(w, Write::Merged { .. })),
        "{writes:#?}"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn ship_refuses_users_without_write_permission() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "/ship").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "Sorry @sam, `/ship` needs `write` permission on this repository, which you don't have. Ask someone with that permission to run it."
    );
    assert!(!w.writes().iter().any(|w| matches!(w, Write::Merged { .. })));
    w.assert_quiet();
}

/// Ships PR 7 and reports the deployment as successful; returns the shipping comment id.
async fn ship_and_deploy(w: &GitHubWorld) -> u64 {
    w.say(7, 501, "alice", "/ship").await;
    let writes = w.writes();
    let comment = writes
        .iter()
        .find_map(|x| match x {
            Write::CommentCreated { pr: 7, id } => Some(*id),
            _ => None,
        })
        .expect("a shipping comment");
    assert!(writes.contains(&Write::Reacted {
        comment: 501,
        content: "eyes".into()
    }));
    assert!(
        writes.contains(&Write::Merged {
            pr: 7,
            sha: merge_sha(),
            method: "squash".into()
        }),
        "{writes:#?}"
    );
    assert!(writes.contains(&Write::DeploymentCreated {
        sha: merge_sha(),
        environment: "production".into()
    }));
    let deployment = w.gh.state().deployments[0].0;
    let (status, _) = w
        .deliver(
            "deployment_status",
            &w.deployment_payload(deployment, &merge_sha(), "production", "success"),
        )
        .await;
    assert_eq!(status, 202);
    w.settle().await;
    assert_eq!(w.writes(), [Write::CommentEdited { id: comment }]);
    comment
}

#[tokio::test]
async fn ship_merges_deploys_watches_and_reports_healthy_once() {
    let w = ready_world().await;
    let comment = ship_and_deploy(&w).await;
    assert!(w.gh.comment_body(comment).contains(
        "Deployed. Watching production (0 checks so far):\n\nNo reading yet: the first is due \
         1 min after the deployment."
    ));

    w.advance(Duration::from_secs(61)).await;
    assert_eq!(
        w.writes(),
        [Write::CommentEdited { id: comment }],
        "one check, still watching"
    );
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(
        w.writes(),
        [Write::CommentEdited { id: comment }],
        "the verdict"
    );
    assert_snapshot!("ship_healthy", w.gh.comment_body(comment));

    // Nothing more happens once the verdict is in.
    w.advance(Duration::from_secs(600)).await;
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}

#[tokio::test]
async fn a_regression_marks_the_deployment_failed_and_opens_a_revert() {
    let w = ready_world().await;
    let comment = ship_and_deploy(&w).await;
    w.prom.set_current(0.034);
    // One breaching reading waits for a second in a row (`failures: 2`).
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(w.writes(), [Write::CommentEdited { id: comment }]);
    w.advance(Duration::from_secs(61)).await;
    let deployment = w.gh.state().deployments[0].0;
    assert_eq!(
        w.writes(),
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
            Write::CommentEdited { id: comment },
        ]
    );
    assert_snapshot!("ship_regressed", w.gh.comment_body(comment));
    w.advance(Duration::from_secs(600)).await;
    assert_eq!(w.writes(), [], "the verdict is final");
    w.assert_quiet();
}

#[tokio::test]
async fn unreachable_telemetry_is_never_healthy() {
    let w = ready_world().await;
    let comment = ship_and_deploy(&w).await;
    w.prom.set_down(true);
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();
    let body = w.gh.comment_body(comment);
    assert!(!body.contains("Operating as designed"));
    assert_snapshot!("ship_not_verified", body);
    w.assert_quiet();
}

#[tokio::test]
async fn a_restart_during_the_watch_resumes_it_and_posts_the_verdict_once() {
    let w = ready_world().await;
    let comment = ship_and_deploy(&w).await;
    let w = w.restart().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(
        w.writes(),
        [
            Write::CommentEdited { id: comment },
            Write::CommentEdited { id: comment }
        ]
    );
    assert!(w.gh.comment_body(comment).contains("Operating as designed"));
    assert_eq!(
        w.bot_comments(7).len(),
        1,
        "one shipping comment, no second verdict"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_healthy_revert_restores_service_and_delivery_metrics_show_it() {
    let w = ready_world().await;
    ship_and_deploy(&w).await;
    w.prom.set_current(0.034);
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    assert!(w.writes().contains(&Write::RevertOpened {
        of: 7,
        number: 107,
        title: "Revert \"Update the README with new information.\"".into()
    }));

    // Someone approves the revert and ships it; production recovers.
    w.prom.set_current(0.002);
    let revert_head = sha(107);
    w.gh.state().commit_checks.insert(
        revert_head.clone(),
        vec![("ci/test".into(), "completed".into(), Some("success".into()))],
    );
    w.open_pr(
        107,
        &revert_head,
        vec![FakeFile::modified("src/lib.rs", 4, 14)],
    );
    w.review(107, "bob", "APPROVED");
    w.say(107, 701, "alice", "/ship").await;
    let revert_merge = format!("{:040x}", 0xeeee_0000_u64 + 107);
    let deployment = w.gh.state().deployments[1].0;
    w.deliver(
        "deployment_status",
        &w.deployment_payload(deployment, &revert_merge, "production", "success"),
    )
    .await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();

    let metrics = smallbatch::report::delivery_metrics(
        &w.store,
        None,
        Duration::from_secs(30 * 86_400),
        Duration::from_secs(86_400),
    )
    .await
    .unwrap();
    assert_eq!(metrics.len(), 1);
    let m = &metrics[0];
    assert_eq!(m.repo, "octo-org/widgets");
    assert_eq!(
        (
            m.counts.deployments,
            m.counts.healthy,
            m.counts.regressed,
            m.counts.reverts
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(m.change_failure_rate, Some(0.5));
    let restore = m.time_to_restore.as_ref().expect("restored");
    assert_eq!(restore.samples, 1);
    // Restored when the revert's two-minute watch ended, about 2 minutes after the regression.
    assert!(
        restore.median >= time::Duration::minutes(2) && restore.median < time::Duration::minutes(3),
        "{:?}",
        restore.median
    );
    let lead = m
        .lead_time
        .as_ref()
        .expect("lead time of the healthy revert");
    assert!(lead.median >= time::Duration::hours(3), "{:?}", lead.median);

    let scraped = reqwest::get(w.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains("smallbatch_change_failure_ratio{repo=\"octo-org/widgets\"} 0.5"),
        "{scraped}"
    );
    assert!(scraped.contains("smallbatch_queue_depth 0"), "{scraped}");
    w.assert_quiet();
}

#[tokio::test]
async fn a_command_that_fails_transiently_runs_on_the_retry() {
    let w = ready_world().await;
    // The acknowledgement fails four times (the whole in-call retry budget).
    {
        let mut s = w.gh.state();
        for _ in 0..4 {
            s.faults.push_back(wiremock::ResponseTemplate::new(502));
        }
    }
    let payload = w.comment_payload(7, 501, "sam", "/help");
    w.deliver("issue_comment", &payload).await;
    w.settle().await;
    // The job is retried with backoff; let it fall due.
    w.advance(Duration::from_secs(10)).await;
    let writes = w.writes();
    assert!(
        writes.contains(&Write::Reacted {
            comment: 501,
            content: "eyes".into()
        }),
        "{writes:#?}"
    );
    assert!(w
        .bot_comments(7)
        .last()
        .unwrap()
        .starts_with("### smallbatch commands"));
    w.assert_quiet();
}

#[tokio::test]
async fn a_second_ship_links_to_the_shipping_comment_while_shipping_and_once_shipped() {
    let w = ready_world().await;
    let comment = ship_and_deploy(&w).await;
    let link = format!("https://github.com/octo-org/widgets/pull/7#issuecomment-{comment}");

    w.say(7, 502, "alice", "/ship").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        &format!(
            "This pull request is already being shipped (now watching production): see [the shipping comment]({link})."
        )
    );
    let writes = w.writes();
    assert!(
        !writes.iter().any(|x| matches!(x, Write::Merged { .. })),
        "{writes:#?}"
    );

    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    w.writes();
    w.say(7, 503, "alice", "/ship").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        &format!(
            "This pull request is already merged and shipped (operating as designed): see [the shipping comment]({link}). There is nothing left to ship."
        )
    );
    let writes = w.writes();
    assert!(
        matches!(
            writes.as_slice(),
            [
                Write::Reacted { comment: 503, .. },
                Write::CommentCreated { pr: 7, .. }
            ]
        ),
        "only the reply: {writes:#?}"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn ship_on_a_pr_merged_without_it_says_there_is_nothing_to_ship() {
    let w = ready_world().await;
    w.update_pr(7, |pr| pr.state = "merged");
    w.say(7, 501, "alice", "/ship").await;
    assert_eq!(
        w.bot_comments(7).last().unwrap(),
        "This pull request is already merged, so there is nothing to ship."
    );
    assert_eq!(w.writes().len(), 2, "an acknowledgement and the reply");
    w.assert_quiet();
}

#[tokio::test]
async fn a_failed_deployment_says_so_in_words_and_tags_the_requester_and_author() {
    let w = ready_world().await;
    // bob ships alice's PR: both are told.
    w.say(7, 501, "bob", "/ship").await;
    w.writes();
    let deployment = w.gh.state().deployments[0].0;
    w.deliver(
        "deployment_status",
        &w.deployment_payload(deployment, &merge_sha(), "production", "failure"),
    )
    .await;
    w.settle().await;
    let comment = 1002;
    assert_eq!(w.writes(), [Write::CommentEdited { id: comment }]);
    assert_snapshot!("ship_deploy_failed", w.gh.comment_body(comment));
    w.advance(Duration::from_secs(600)).await;
    assert_eq!(w.writes(), [], "nothing is watched");
    w.assert_quiet();
}

/// Ships PR 7 with the merge answered by `status` and `message`, not carried out; returns
/// the shipping comment's text.
async fn ship_with_merge_answered(w: &GitHubWorld, status: u16, message: &str) -> String {
    w.gh.state().refusals.push((
        format!("PUT /repos/{REPO}/pulls/7/merge"),
        wiremock::ResponseTemplate::new(status).set_body_json(serde_json::json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
        })),
    ));
    w.say(7, 501, "alice", "/ship").await;
    let writes = w.writes();
    assert!(
        !writes.iter().any(|x| matches!(x, Write::Merged { .. })),
        "{writes:#?}"
    );
    let comment = writes
        .iter()
        .find_map(|x| match x {
            Write::CommentCreated { pr: 7, id } => Some(*id),
            _ => None,
        })
        .expect("a shipping comment");
    w.gh.comment_body(comment)
}

#[tokio::test]
async fn a_merge_github_refuses_shows_githubs_reason() {
    let w = ready_world().await;
    let body = ship_with_merge_answered(
        &w,
        405,
        "Base branch was modified. Review and try the merge again.",
    )
    .await;
    assert!(body.contains("Not merged"), "{body}");
    assert!(
        body.contains("Base branch was modified. Review and try the merge again."),
        "{body}"
    );
    assert!(!body.contains("Something went wrong"), "{body}");
}

#[tokio::test]
async fn a_merge_that_fails_for_another_reason_says_only_that_something_went_wrong() {
    let w = ready_world().await;
    let body = ship_with_merge_answered(&w, 403, "Resource not accessible by integration").await;
    assert!(body.contains("Not merged"), "{body}");
    assert!(
        body.contains("Something went wrong while merging. The details are in smallbatch's log."),
        "{body}"
    );
    assert!(!body.contains("Resource not accessible"), "{body}");
    assert!(!body.contains("403"), "{body}");
}

/// A rollback deployment that fails is said plainly; the revert is the way back.
#[tokio::test]
async fn a_failed_rollback_deployment_says_service_is_not_restored() {
    let w = ready_world().await;
    ship_and_deploy(&w).await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    make_ready(&w, 8, &sha(2)).await;
    w.say(8, 502, "alice", "/ship").await;
    w.deployed(8).await;
    w.settle().await;
    w.prom.set_current(0.034);
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    let writes = w.writes();
    assert!(
        writes
            .iter()
            .any(|x| matches!(x, Write::RollbackCreated { sha, .. } if *sha == merge_sha())),
        "{writes:#?}"
    );
    w.rollback_deployed(7, "failure").await;
    w.settle().await;
    let comment = w
        .bot_comments(8)
        .into_iter()
        .find(|c| c.contains("## Shipping"))
        .unwrap();
    assert!(
        comment.contains(
            "The rollback deployment to **production** failed. Service is **not** restored: \
             ship the revert, or comment `/rollback` to try again."
        ),
        "{comment}"
    );
    w.advance(Duration::from_secs(600)).await;
    w.writes();
    assert!(w
        .store
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap()
        .iter()
        .all(|s| s.finished));
    w.assert_quiet();
}
