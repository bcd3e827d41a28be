//! End-to-end: signed webhooks into the real router, a fake GitHub behind wiremock,
//! and assertions on exactly what a user would see.

use crate::support::fake_github::{oversized_files, small_files, FakeFile, Write};
use crate::support::github_world::{fixture, GitHubWorld, BASE_SHA, INSTALLATION, REPO, SECRET};
use crate::support::sha;
use crate::support::world::World;
use wiremock::ResponseTemplate;

fn label(name: &str, color: &str) -> Write {
    Write::LabelCreated {
        name: name.into(),
        color: color.into(),
    }
}

/// Asserts what opening oversized PR `pr` at `head` wrote: a failing check, the guidance
/// comment (its id returned) and the size label.
fn assert_oversized_opened(w: &GitHubWorld, pr: u64, head: &str) -> u64 {
    let writes = w.writes();
    let comment_id = match &writes[1] {
        Write::CommentCreated { pr: on, id } if *on == pr => *id,
        other => panic!("expected the guidance comment, got {other:?}"),
    };
    assert_eq!(
        writes,
        [
            Write::CheckRunCreated {
                head: head.to_owned(),
                conclusion: "failure".into(),
                title: w.gh.latest_check(head).title
            },
            Write::CommentCreated { pr, id: comment_id },
            label("size/XL", "ee5500"),
            Write::LabelAdded {
                pr,
                name: "size/XL".into()
            },
        ]
    );
    comment_id
}

#[tokio::test]
async fn opened_small_pr_waits_for_approval_and_gets_a_size_label() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());

    let (status, _) = w
        .deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    assert_eq!(status, 202);
    w.settle().await;

    assert_eq!(
        w.writes(),
        [
            Write::CheckRunCreated {
                head: head.clone(),
                conclusion: "action_required".into(),
                title: w.gh.latest_check(&head).title,
            },
            label("size/M", "eebb00"),
            Write::LabelAdded {
                pr: 7,
                name: "size/M".into()
            },
        ]
    );
    let check = w.gh.latest_check(&head);
    assert_snapshot!("small_pr_check_title", check.title);
    assert_snapshot!("small_pr_check_summary", check.summary);
    assert!(
        w.gh.state().comments.is_empty(),
        "no guidance to give, so no comment"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn self_approval_and_bot_approval_do_not_count() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    w.review(7, "alice", "APPROVED");
    w.review(7, "dependabot[bot]", "APPROVED");
    w.deliver(
        "pull_request_review",
        &w.payload("pull_request_review.submitted", 7),
    )
    .await;
    w.settle().await;
    assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn changes_requested_fails_the_gate() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    w.review(7, "bob", "APPROVED");
    w.review(7, "carol", "CHANGES_REQUESTED");
    w.deliver(
        "pull_request_review",
        &w.payload("pull_request_review.submitted", 7),
    )
    .await;
    w.settle().await;
    let check = w.gh.latest_check(&head);
    assert_eq!(check.conclusion, "failure");
    assert_snapshot!("changes_requested_check_summary", check.summary);
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn oversized_pr_fails_with_one_guidance_comment_edited_when_fixed() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open(9, &head, oversized_files()).await;
    w.settle().await;

    let comment_id = assert_oversized_opened(&w, 9, &head);
    assert_snapshot!("oversized_comment", w.gh.comment_body(comment_id));
    assert_snapshot!("oversized_check_summary", w.gh.latest_check(&head).summary);

    // The same event again (a different delivery) changes nothing.
    w.deliver("pull_request", &w.payload("pull_request.synchronize", 9))
        .await;
    w.settle().await;
    assert_eq!(w.writes(), []);

    // The author splits the PR: the new head passes the size rule, the comment says so.
    let head2 = sha(2);
    w.push(9, &head2, small_files()).await;
    w.settle().await;
    assert_eq!(
        w.writes(),
        [
            Write::CheckRunCreated {
                head: head2.clone(),
                conclusion: "action_required".into(),
                title: w.gh.latest_check(&head2).title
            },
            Write::CommentEdited { id: comment_id },
            Write::LabelRemoved {
                pr: 9,
                name: "size/XL".into()
            },
            label("size/M", "eebb00"),
            Write::LabelAdded {
                pr: 9,
                name: "size/M".into()
            },
        ]
    );
    assert_snapshot!("resolved_comment", w.gh.comment_body(comment_id));
    assert_eq!(w.gh.state().comments.len(), 1, "never a second comment");
    w.assert_quiet();
}

#[tokio::test]
async fn replayed_delivery_is_processed_once() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, oversized_files());
    let payload = w.payload("pull_request.opened", 7);
    let (s1, b1) = w.deliver_as("pull_request", "d-1", &payload).await;
    let (s2, b2) = w.deliver_as("pull_request", "d-1", &payload).await;
    assert_eq!((s1, s2), (202, 202));
    assert!(b1.contains("\"queued\""), "{b1}");
    assert!(b2.contains("\"duplicate\""), "{b2}");
    w.settle().await;
    let writes = w.writes();
    assert_eq!(
        writes
            .iter()
            .filter(|w| matches!(w, Write::CheckRunCreated { .. }))
            .count(),
        1
    );
    assert_eq!(
        writes
            .iter()
            .filter(|w| matches!(w, Write::CommentCreated { .. }))
            .count(),
        1
    );
    w.assert_quiet();
}

#[tokio::test]
async fn bad_or_missing_signature_is_refused_and_does_nothing() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), small_files());
    let body = serde_json::to_vec(&w.payload("pull_request.opened", 7)).unwrap();
    let (status, _) = w
        .post("pull_request", "d-1", Some("sha256=00"), body.clone())
        .await;
    assert_eq!(status, 401);
    let (status, _) = w.post("pull_request", "d-2", None, body).await;
    assert_eq!(status, 401);
    w.settle().await;
    assert_eq!(w.gh.take_calls(), Vec::<String>::new());
    assert_eq!(w.store.queue_depth().await.unwrap(), 0);
    w.assert_quiet();
}

#[tokio::test]
async fn malformed_json_is_400_and_unhandled_events_are_acknowledged() {
    let w = GitHubWorld::start().await;
    let sig = smallbatch::server::signature::sign_sha256(SECRET.as_bytes(), b"{not json");
    let (status, _) = w
        .post("pull_request", "d-1", Some(&sig), b"{not json".to_vec())
        .await;
    assert_eq!(status, 400);

    let (status, body) = w.deliver("ping", &fixture("ping")).await;
    assert_eq!(status, 202);
    assert!(body.contains("ignored"), "{body}");
    let (status, _) = w.deliver("gollum", &serde_json::json!({"pages": []})).await;
    assert_eq!(status, 202);
    w.settle().await;
    w.assert_quiet();
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let w = GitHubWorld::start().await;
    let body = vec![b' '; smallbatch::server::MAX_WEBHOOK_BYTES + 1];
    let sig = smallbatch::server::signature::sign_sha256(SECRET.as_bytes(), &body);
    let (status, _) = w.post("pull_request", "d-1", Some(&sig), body).await;
    assert_eq!(status, 413);
    w.assert_quiet();
}

#[tokio::test]
async fn acknowledged_jobs_survive_a_restart() {
    let mut w = GitHubWorld::start_intake_only().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    let (status, _) = w
        .deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    assert_eq!(status, 202);
    w.stop().await;
    assert_eq!(
        w.gh.take_calls(),
        Vec::<String>::new(),
        "nothing processed before the restart"
    );

    let w = w.restart().await;
    w.settle().await;
    assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    assert_eq!(w.writes().len(), 3);
    w.assert_quiet();
}

#[tokio::test]
async fn transient_api_failures_are_retried_until_correct() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    {
        let mut s = w.gh.state();
        s.faults.push_back(ResponseTemplate::new(502));
        s.faults.push_back(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(
                    serde_json::json!({"message": "You have exceeded a secondary rate limit."}),
                ),
        );
        s.faults.push_back(ResponseTemplate::new(503));
    }
    w.deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    w.settle().await;
    let writes = w.writes();
    assert_eq!(
        writes
            .iter()
            .filter(|w| matches!(w, Write::CheckRunCreated { .. }))
            .count(),
        1
    );
    assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    w.assert_quiet();
}

#[tokio::test]
async fn broken_repo_config_fails_the_check_with_its_location() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.gh.put_file(
        BASE_SHA,
        ".github/smallbatch.yml",
        "size:\n  max_lines: 300\n  colour: blue\n",
    );
    w.open(7, &head, small_files()).await;
    w.settle().await;
    let check = w.gh.latest_check(&head);
    assert_eq!(check.conclusion, "failure");
    assert_snapshot!(
        "config_error_check",
        format!("{}\n\n{}", check.title, check.summary)
    );
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn repo_config_is_read_from_the_base_commit_once() {
    let w = GitHubWorld::start().await;
    w.gh.put_file(
        BASE_SHA,
        ".github/smallbatch.yml",
        "size:\n  max_lines: 20\n  warn_lines: 10\n",
    );
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    assert_eq!(
        w.gh.latest_check(&sha(1)).conclusion,
        "failure",
        "30 lines over a 20-line limit"
    );
    let config_reads = |calls: &[String]| calls.iter().filter(|c| c.contains("/contents/")).count();
    assert_eq!(
        config_reads(&w.gh.take_calls()),
        2,
        "policy file and .gitattributes"
    );

    w.deliver("pull_request", &w.payload("pull_request.synchronize", 7))
        .await;
    w.settle().await;
    assert_eq!(config_reads(&w.gh.take_calls()), 0, "cached by commit");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn health_endpoints_answer() {
    let w = GitHubWorld::start().await;
    let r = reqwest::get(w.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(w.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_late_event_for_an_old_head_gates_the_current_head_only() {
    let w = GitHubWorld::start().await;
    let (old, new) = (sha(1), sha(2));
    w.open_pr(7, &old, small_files());
    w.update_pr(7, |pr| {
        pr.head_sha = new.clone();
        pr.files = oversized_files();
    });
    // The delivery for the old head arrives after the push that replaced it.
    let mut late = w.payload("pull_request.opened", 7);
    late["pull_request"]["head"]["sha"] = old.clone().into();
    w.deliver("pull_request", &late).await;
    w.deliver("pull_request", &w.payload("pull_request.synchronize", 7))
        .await;
    w.settle().await;
    let checks: Vec<String> =
        w.gh.state()
            .check_runs
            .iter()
            .map(|c| c.head_sha.clone())
            .collect();
    assert_eq!(
        checks,
        std::slice::from_ref(&new),
        "no verdict is ever written for the superseded head"
    );
    assert_eq!(w.gh.latest_check(&new).conclusion, "failure");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn a_policy_change_on_the_base_branch_re_evaluates_open_prs() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open(7, &head, small_files()).await;
    w.settle().await;
    let run = w.gh.latest_check(&head).id;
    w.writes();

    // Someone merges a stricter policy into main.
    let main_after = sha(100);
    w.gh.put_file(
        &main_after,
        ".github/smallbatch.yml",
        "size:\n  max_lines: 20\n",
    );
    w.gh.state()
        .branches
        .insert("main".into(), main_after.clone());
    let mut push = fixture("push");
    push["ref"] = "refs/heads/main".into();
    push["after"] = main_after.clone().into();
    push["repository"]["full_name"] = REPO.into();
    push["installation"]["id"] = INSTALLATION.into();
    push["commits"][0]["modified"] = serde_json::json!([".github/smallbatch.yml"]);
    let (status, _) = w.deliver("push", &push).await;
    assert_eq!(status, 202);
    w.settle().await;

    let writes = w.writes();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert_eq!(
        writes[0],
        Write::CheckRunUpdated {
            id: run,
            conclusion: "failure".into(),
            title: w.gh.latest_check(&head).title
        }
    );
    assert!(matches!(writes[1], Write::CommentCreated { pr: 7, .. }));
    assert_eq!(
        w.gh.latest_check(&head).title,
        "30 lines: over the 20-line limit; needs 1 approval"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn re_running_the_check_re_evaluates_without_writing_what_has_not_changed() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open(7, &head, small_files()).await;
    w.settle().await;
    w.writes();
    w.gh.take_calls();

    let mut rerun = fixture("check_run.rerequested");
    rerun["check_run"]["name"] = "smallbatch".into();
    rerun["check_run"]["pull_requests"] = serde_json::json!([{
        "url": format!("https://api.github.com/repos/{}/pulls/7", REPO),
        "id": 1, "number": 7,
        "head": {"ref": "feature", "sha": head, "repo": {"id": 1, "url": "https://api.github.com/repos/x", "name": "widgets"}},
        "base": {"ref": "main", "sha": BASE_SHA, "repo": {"id": 1, "url": "https://api.github.com/repos/x", "name": "widgets"}}
    }]);
    rerun["repository"]["full_name"] = REPO.into();
    rerun["installation"]["id"] = INSTALLATION.into();
    let (status, _) = w.deliver("check_run", &rerun).await;
    assert_eq!(status, 202);
    w.settle().await;
    // The three reads run concurrently; their order is not fixed.
    let mut calls = w.gh.take_calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GET /repos/octo-org/widgets/pulls/7",
            "GET /repos/octo-org/widgets/pulls/7/files",
            "GET /repos/octo-org/widgets/pulls/7/reviews",
        ]
    );
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}

#[tokio::test]
async fn a_deleted_guidance_comment_is_posted_again_when_guidance_changes() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open(9, &head, oversized_files()).await;
    w.settle().await;
    w.writes();
    w.gh.state().comments.clear();

    w.update_pr(9, |pr| {
        pr.head_sha = sha(2);
        pr.files.push(FakeFile::added("api/more.rs", 50));
    });
    w.deliver("pull_request", &w.payload("pull_request.synchronize", 9))
        .await;
    w.settle().await;
    let writes = w.writes();
    assert!(
        writes
            .iter()
            .any(|w| matches!(w, Write::CommentCreated { pr: 9, .. })),
        "{writes:#?}"
    );
    assert_eq!(w.gh.state().comments.len(), 1);
    w.assert_quiet();
}

#[tokio::test]
async fn a_guidance_comment_whose_answer_was_lost_is_found_not_posted_twice() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(9, &head, oversized_files());
    // GitHub posts the comment, then answers 502.
    let post = format!("POST /repos/{}/issues/9/comments", REPO);
    let list = format!("GET /repos/{}/issues/9/comments", REPO);
    w.gh.state()
        .lost_answers
        .push((post.clone(), ResponseTemplate::new(502)));
    w.deliver("pull_request", &w.payload("pull_request.opened", 9))
        .await;
    w.settle().await;

    // The post is not repeated: the bot lists the comments, finds its own and goes on.
    let calls = w.gh.take_calls();
    let after_post: Vec<&String> = calls.iter().skip_while(|c| **c != post).collect();
    assert_eq!(
        after_post.iter().filter(|c| ***c == post).count(),
        1,
        "{calls:#?}"
    );
    assert!(after_post.contains(&&list), "{calls:#?}");
    let comment_id = assert_oversized_opened(&w, 9, &head);
    assert_eq!(w.gh.state().comments.len(), 1);

    // The found comment is the one on record: a fix edits it.
    w.push(9, &sha(2), small_files()).await;
    w.settle().await;
    let writes = w.writes();
    assert!(
        writes.contains(&Write::CommentEdited { id: comment_id }),
        "{writes:#?}"
    );
    assert_eq!(w.gh.state().comments.len(), 1, "never a second comment");
    w.assert_quiet();
}

#[tokio::test]
async fn a_check_run_whose_answer_was_lost_is_found_not_created_twice() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    // GitHub creates the run, then answers 502.
    let post = format!("POST /repos/{}/check-runs", REPO);
    w.gh.state()
        .lost_answers
        .push((post.clone(), ResponseTemplate::new(502)));
    w.deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    w.settle().await;

    // Not sent again: the bot looks for its run on the head and updates it.
    let calls = w.gh.take_calls();
    let after_post: Vec<&str> = calls
        .iter()
        .skip_while(|c| **c != post)
        .map(String::as_str)
        .collect();
    let id = w.gh.latest_check(&head).id;
    assert_eq!(
        after_post[..3],
        [
            post.as_str(),
            &format!("GET /repos/{}/commits/{head}/check-runs", REPO),
            &format!("PATCH /repos/{}/check-runs/{id}", REPO),
        ],
        "{calls:#?}"
    );
    assert_eq!(w.gh.state().check_runs.len(), 1, "never a second run");
    assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn a_check_run_creation_left_unconfirmed_is_looked_for_by_the_next_attempt() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(7, &head, small_files());
    // The run is created and its answer lost, and GitHub fails every lookup of this
    // attempt: the job ends not knowing whether its run exists.
    let post = format!("POST /repos/{}/check-runs", REPO);
    let lookup = format!("GET /repos/{}/commits/{head}/check-runs", REPO);
    {
        let mut s = w.gh.state();
        s.lost_answers
            .push((post.clone(), ResponseTemplate::new(502)));
        for _ in 0..4 {
            s.lost_answers
                .push((lookup.clone(), ResponseTemplate::new(502)));
        }
    }
    w.deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    w.settle().await;

    // The retried job finds the run on the head from the store's record and updates it.
    let calls = w.gh.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == post).count(),
        1,
        "{calls:#?}"
    );
    assert_eq!(
        calls.iter().filter(|c| **c == lookup).count(),
        5,
        "{calls:#?}"
    );
    assert_eq!(w.gh.state().check_runs.len(), 1, "never a second run");
    assert_eq!(w.gh.latest_check(&head).conclusion, "action_required");
    w.writes();
    w.assert_quiet();
}

#[tokio::test]
async fn a_guidance_comment_left_unconfirmed_is_looked_for_by_the_next_attempt() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open_pr(9, &head, oversized_files());
    // The comment is posted and its answer lost, and every lookup of this attempt fails.
    let post = format!("POST /repos/{}/issues/9/comments", REPO);
    let list = format!("GET /repos/{}/issues/9/comments", REPO);
    {
        let mut s = w.gh.state();
        s.lost_answers
            .push((post.clone(), ResponseTemplate::new(502)));
        for _ in 0..4 {
            s.lost_answers
                .push((list.clone(), ResponseTemplate::new(502)));
        }
    }
    w.deliver("pull_request", &w.payload("pull_request.opened", 9))
        .await;
    w.settle().await;

    let calls = w.gh.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == post).count(),
        1,
        "{calls:#?}"
    );
    assert_eq!(w.gh.state().comments.len(), 1, "never a second comment");

    // The comment the retry found is the one on record: a fix edits it.
    let comment_id = w.gh.state().comments[0].0;
    w.writes();
    w.push(9, &sha(2), small_files()).await;
    w.settle().await;
    let writes = w.writes();
    assert!(
        writes.contains(&Write::CommentEdited { id: comment_id }),
        "{writes:#?}"
    );
    assert_eq!(w.gh.state().comments.len(), 1, "never a second comment");
    w.assert_quiet();
}

#[tokio::test]
async fn metrics_count_verdicts_and_api_calls_per_installation() {
    let w = GitHubWorld::start().await;
    w.open_pr(7, &sha(1), small_files());
    w.open_pr(9, &sha(2), oversized_files());
    w.deliver("pull_request", &w.payload("pull_request.opened", 7))
        .await;
    w.deliver("pull_request", &w.payload("pull_request.opened", 9))
        .await;
    w.settle().await;
    w.writes();
    let calls = w.gh.take_calls();
    let scraped = reqwest::get(w.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains("smallbatch_verdicts_total{result=\"wait\"} 1"),
        "{scraped}"
    );
    assert!(
        scraped.contains("smallbatch_verdicts_total{result=\"fail\"} 1"),
        "{scraped}"
    );
    // Every call but the token exchange (made as the App) is counted for the installation.
    let installation_calls = calls
        .iter()
        .filter(|c| !c.contains("/access_tokens") && !c.ends_with(" /app"))
        .count();
    assert!(
        scraped.contains(&format!(
            "smallbatch_api_calls_total{{forge=\"github\",credential=\"installation {}\"}} {installation_calls}",
            INSTALLATION
        )),
        "{installation_calls} calls; {scraped}"
    );
    assert!(
        scraped.contains(
            "smallbatch_rate_limit_remaining{forge=\"github\",credential=\"installation 4242\"} "
        ),
        "{scraped}"
    );
    w.assert_quiet();
}
