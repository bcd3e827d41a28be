//! End-to-end on GitLab: token-checked webhooks into the real router, a fake GitLab
//! behind wiremock, and assertions on exactly what a user would see on the merge
//! request: the `smallbatch` commit status, the guidance note and the size label.

use crate::support::fake_github::{self, oversized_files, small_files, FakeFile};
use crate::support::fake_gitlab::{unified_diff, Write};
use crate::support::github_world::GitHubWorld;
use crate::support::gitlab_world::{
    gitlab_fixture, GitLabWorld, BASE_SHA, MERGE_REQUEST_HOOK, NEXT_SECRET, NOTE_HOOK, PROJECT,
    SECRET,
};
use crate::support::sha;
use crate::support::world::World;
use serde_json::json;
use smallbatch::forge::gitlab::diff::{self, DiffCount};
use wiremock::ResponseTemplate;

const WAITING: &str = "30 lines: needs 1 approval";

fn status(sha: &str, state: &str, description: &str) -> Write {
    Write::StatusPosted {
        sha: sha.into(),
        state: state.into(),
        name: "smallbatch".into(),
        description: description.into(),
    }
}

fn label_created(name: &str, color: &str) -> Write {
    Write::LabelCreated {
        name: name.into(),
        color: color.into(),
    }
}

fn labels_added(iid: u64, name: &str) -> Write {
    Write::LabelsChanged {
        iid,
        add: vec![name.into()],
        remove: vec![],
    }
}

fn labels_removed(iid: u64, name: &str) -> Write {
    Write::LabelsChanged {
        iid,
        add: vec![],
        remove: vec![name.into()],
    }
}

/// The id of the note a write list created; fails when there is none.
fn created_note(writes: &[Write]) -> u64 {
    writes
        .iter()
        .find_map(|w| match w {
            Write::NoteCreated { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no note created: {writes:#?}"))
}

/// Asserts what opening oversized MR 9 at `head` wrote: a failed status, the guidance
/// note (its id returned) and the size label.
fn assert_oversized_opened(w: &GitLabWorld, head: &str, writes: &[Write]) -> u64 {
    let note = created_note(writes);
    assert_eq!(
        writes,
        [
            status(head, "failed", &w.gl.latest_status(head).description),
            Write::NoteCreated { iid: 9, id: note },
            label_created("size/XL", "#ee5500"),
            labels_added(9, "size/XL"),
        ]
    );
    note
}

/// Opens MR `iid` with `files`, delivers `open` and returns the writes it caused.
async fn opened(w: &GitLabWorld, iid: u64, head: &str, files: Vec<FakeFile>) -> Vec<Write> {
    w.open_mr(iid, head, files);
    let (code, body) = w.deliver(MERGE_REQUEST_HOOK, &w.mr_hook("open", iid)).await;
    assert_eq!((code, body.contains("\"queued\"")), (202, true), "{body}");
    w.settle().await;
    w.writes()
}

#[test]
fn generated_diffs_count_as_their_files_lines() {
    let mut binary = FakeFile::modified("logo.png", 0, 0);
    binary.binary = true;
    let mut removed = FakeFile::modified("old.rs", 0, 12);
    removed.status = "removed";
    let cases = [
        (
            FakeFile::modified("a.rs", 14, 4),
            DiffCount::Lines {
                additions: 14,
                deletions: 4,
            },
        ),
        (
            FakeFile::added("b.rs", 260),
            DiffCount::Lines {
                additions: 260,
                deletions: 0,
            },
        ),
        (
            removed,
            DiffCount::Lines {
                additions: 0,
                deletions: 12,
            },
        ),
        (
            FakeFile::modified("c.rs", 0, 0),
            DiffCount::Lines {
                additions: 0,
                deletions: 0,
            },
        ),
        (binary, DiffCount::Binary),
    ];
    for (file, expected) in cases {
        assert_eq!(diff::count(&unified_diff(&file)), expected, "{}", file.path);
    }
    assert_eq!(
        unified_diff(&FakeFile::modified("a.rs", 1, 1)),
        "@@ -1,3 +1,3 @@ fn context() {\n // before\n-let old_1 = 1;\n+let new_1 = 1;\n // after\n"
    );
}

#[tokio::test]
async fn opened_small_mr_waits_for_approval_and_gets_a_size_label() {
    let w = GitLabWorld::start().await;
    let head = sha(1);
    assert_eq!(
        opened(&w, 7, &head, small_files()).await,
        [
            status(&head, "pending", WAITING),
            label_created("size/M", "#eebb00"),
            labels_added(7, "size/M"),
        ]
    );
    let posted = w.gl.latest_status(&head);
    assert_snapshot!("small_mr_status_description", posted.description);
    // No pipeline runs on the head, so the status joins the MR's source branch.
    assert_eq!(posted.git_ref.as_deref(), Some("feature-7"));
    assert_eq!(posted.pipeline_id, None);
    assert_eq!(
        posted.target_url.as_deref(),
        Some("https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7")
    );
    assert_eq!(w.gl.state().mrs[&7].labels, ["size/M"]);
    assert!(
        w.gl.state().notes.is_empty(),
        "no guidance to give, so no note"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_push_that_makes_the_mr_oversized_fails_the_new_head_with_one_note() {
    let w = GitLabWorld::start().await;
    opened(&w, 7, &sha(1), small_files()).await;

    let head = sha(2);
    w.push(7, &head, oversized_files()).await;
    w.settle().await;

    let writes = w.writes();
    let note = created_note(&writes);
    assert_eq!(
        writes,
        [
            status(&head, "failed", &w.gl.latest_status(&head).description),
            Write::NoteCreated { iid: 7, id: note },
            // The old size label goes in one update, the new one is created and added
            // in another.
            labels_removed(7, "size/M"),
            label_created("size/XL", "#ee5500"),
            labels_added(7, "size/XL"),
        ]
    );
    assert_snapshot!(
        "oversized_status_description",
        w.gl.latest_status(&head).description
    );
    assert_snapshot!("oversized_note", w.gl.note_body(note));
    assert_eq!(w.gl.state().mrs[&7].labels, ["size/XL"]);
    assert_eq!(
        w.gl.latest_status(&sha(1)).state,
        "pending",
        "the old head keeps its status"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_reviewer_requesting_changes_fails_the_gate() {
    let w = GitLabWorld::start().await;
    let head = sha(1);
    opened(&w, 7, &head, small_files()).await;

    w.update_mr(7, |mr| mr.approved_by.push("bob".into()));
    w.reviewer(7, "carol", "requested_changes");
    // Submitting a review reaches us as an `update` whose changes name the reviewers.
    let mut hook = w.mr_hook("update", 7);
    let carol = |state: &str| json!([{"id": 88, "name": "Carol", "username": "carol", "state": state, "re_requested": false}]);
    hook["changes"] = json!({"reviewers": {"previous": carol("unreviewed"), "current": carol("requested_changes")}});
    let (code, body) = w.deliver(MERGE_REQUEST_HOOK, &hook).await;
    assert_eq!((code, body.contains("\"queued\"")), (202, true), "{body}");
    w.settle().await;

    let writes = w.writes();
    assert_eq!(
        writes,
        [status(
            &head,
            "failed",
            &w.gl.latest_status(&head).description
        )]
    );
    assert_snapshot!(
        "changes_requested_status_description",
        w.gl.latest_status(&head).description
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_note_without_commands_does_nothing() {
    let w = GitLabWorld::start().await;
    w.open_mr(7, &sha(1), small_files());
    let mut note = gitlab_fixture("note_merge_request");
    note["project"]["path_with_namespace"] = PROJECT.into();
    note["merge_request"]["iid"] = 7.into();
    let (code, body) = w.deliver(NOTE_HOOK, &note).await;
    assert_eq!(code, 202);
    assert!(body.contains("\"queued\""), "{body}");
    w.settle().await;
    assert_eq!(
        w.gl.take_calls(),
        Vec::<String>::new(),
        "no command, no API call"
    );
    assert_eq!(w.store.queue_depth().await.unwrap(), 0);
    w.assert_quiet();
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_and_a_rotated_secret_is_accepted() {
    let w = GitLabWorld::start().await;
    let head = sha(1);
    w.open_mr(7, &head, small_files());
    let body = serde_json::to_vec(&w.mr_hook("open", 7)).unwrap();
    for token in [Some("not-the-secret"), Some(&SECRET[1..]), None] {
        let mut headers = vec![("idempotency-key", "d-1")];
        headers.extend(token.map(|t| ("x-gitlab-token", t)));
        let (code, _) = w.post(MERGE_REQUEST_HOOK, &headers, body.clone()).await;
        assert_eq!(code, 401, "{token:?}");
    }
    w.settle().await;
    assert_eq!(w.gl.take_calls(), Vec::<String>::new());
    assert_eq!(w.store.queue_depth().await.unwrap(), 0);
    assert_eq!(w.store.parked_count().await.unwrap(), 0);

    // The same delivery with the secret being rotated in: stored (it was not before,
    // so not a duplicate) and processed.
    let headers = [("x-gitlab-token", NEXT_SECRET), ("idempotency-key", "d-1")];
    let (code, answer) = w.post(MERGE_REQUEST_HOOK, &headers, body).await;
    assert_eq!(
        (code, answer.contains("\"queued\"")),
        (202, true),
        "{answer}"
    );
    w.settle().await;
    assert_eq!(
        w.writes(),
        [
            status(&head, "pending", WAITING),
            label_created("size/M", "#eebb00"),
            labels_added(7, "size/M"),
        ]
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_redelivery_is_processed_once_by_idempotency_key_or_event_uuid() {
    let w = GitLabWorld::start().await;
    let statuses = |writes: &[Write]| {
        writes
            .iter()
            .filter(|w| matches!(w, Write::StatusPosted { .. }))
            .count()
    };

    // A retried delivery keeps its Idempotency-Key; the key decides.
    w.open_mr(7, &sha(1), small_files());
    let body = serde_json::to_vec(&w.mr_hook("open", 7)).unwrap();
    let mut answers = Vec::new();
    for uuid in ["uuid-a", "uuid-b"] {
        let headers = [
            ("x-gitlab-token", SECRET),
            ("idempotency-key", "key-7"),
            ("x-gitlab-event-uuid", uuid),
        ];
        answers.push(w.post(MERGE_REQUEST_HOOK, &headers, body.clone()).await);
    }
    assert_eq!(answers[0].0, 202);
    assert!(answers[0].1.contains("\"queued\""), "{}", answers[0].1);
    assert_eq!(answers[1].0, 202);
    assert!(answers[1].1.contains("\"duplicate\""), "{}", answers[1].1);
    w.settle().await;
    assert_eq!(statuses(&w.writes()), 1);

    // An older GitLab sends no Idempotency-Key: the event UUID decides.
    w.open_mr(8, &sha(2), small_files());
    let body = serde_json::to_vec(&w.mr_hook("open", 8)).unwrap();
    let headers = [
        ("x-gitlab-token", SECRET),
        ("x-gitlab-event-uuid", "uuid-8"),
    ];
    let first = w.post(MERGE_REQUEST_HOOK, &headers, body.clone()).await;
    let second = w.post(MERGE_REQUEST_HOOK, &headers, body).await;
    assert!(first.1.contains("\"queued\""), "{}", first.1);
    assert!(second.1.contains("\"duplicate\""), "{}", second.1);
    w.settle().await;
    assert_eq!(
        w.writes(),
        [
            status(&sha(2), "pending", WAITING),
            labels_added(8, "size/M")
        ],
        "size/M exists already, so it is only added"
    );
    w.assert_quiet();
}

#[tokio::test]
async fn an_oversized_mr_fixed_by_a_push_gets_its_note_edited_not_a_second_one() {
    let w = GitLabWorld::start().await;
    let head = sha(1);
    let writes = opened(&w, 9, &head, oversized_files()).await;
    let note = assert_oversized_opened(&w, &head, &writes);

    let head2 = sha(2);
    w.push(9, &head2, small_files()).await;
    w.settle().await;
    assert_eq!(
        w.writes(),
        [
            status(&head2, "pending", WAITING),
            Write::NoteEdited { id: note },
            labels_removed(9, "size/XL"),
            label_created("size/M", "#eebb00"),
            labels_added(9, "size/M"),
        ]
    );
    assert_snapshot!("resolved_note", w.gl.note_body(note));
    assert_eq!(w.gl.state().notes.len(), 1, "never a second note");
    w.assert_quiet();
}

#[tokio::test]
async fn a_bad_gateway_and_a_rate_limit_are_retried_until_correct() {
    let w = GitLabWorld::start().await;
    {
        let mut s = w.gl.state();
        s.faults
            .push_back(ResponseTemplate::new(502).set_body_string("502 Bad Gateway"));
        s.faults.push_back(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("ratelimit-remaining", "0")
                .set_body_string("Retry later"),
        );
    }
    let head = sha(1);
    assert_eq!(
        opened(&w, 7, &head, small_files()).await,
        [
            status(&head, "pending", WAITING),
            label_created("size/M", "#eebb00"),
            labels_added(7, "size/M"),
        ]
    );
    assert!(w.gl.state().faults.is_empty(), "both faults were served");
    w.assert_quiet();
}

#[tokio::test]
async fn a_note_whose_answer_was_lost_is_found_not_posted_twice() {
    let w = GitLabWorld::start().await;
    // GitLab creates the note, then answers 500.
    let post = format!("POST {API_PROJECT}/merge_requests/9/notes");
    w.gl.state().lost_answers.push((
        post.clone(),
        ResponseTemplate::new(500).set_body_string("500 Internal Server Error"),
    ));
    let head = sha(1);
    let writes = opened(&w, 9, &head, oversized_files()).await;
    let note = assert_oversized_opened(&w, &head, &writes);
    let calls = w.gl.take_calls();
    assert_eq!(
        calls.iter().filter(|c| **c == post).count(),
        1,
        "{calls:#?}"
    );
    assert_eq!(w.gl.state().notes.len(), 1, "never a second note");

    w.push(9, &sha(2), small_files()).await;
    w.settle().await;
    let writes = w.writes();
    assert!(
        writes.contains(&Write::NoteEdited { id: note }),
        "{writes:#?}"
    );
    assert_eq!(w.gl.state().notes.len(), 1, "never a second note");
    w.assert_quiet();
}

/// The GitLab note and the GitHub comment come from the same renderer: for the same
/// files and reviews their bodies are equal, and equal to the GitHub e2e snapshot.
#[tokio::test]
async fn the_gitlab_note_reads_like_the_github_comment_with_merge_requests() {
    let gl = GitLabWorld::start().await;
    let note = created_note(&opened(&gl, 9, &sha(1), oversized_files()).await);
    let note_body = gl.gl.note_body(note);

    let gh = GitHubWorld::start().await;
    gh.open(9, &sha(1), oversized_files()).await;
    gh.settle().await;
    let comment = gh
        .writes()
        .into_iter()
        .find_map(|w| match w {
            fake_github::Write::CommentCreated { id, .. } => Some(id),
            _ => None,
        })
        .expect("a guidance comment on GitHub");
    // The same words, but GitLab calls the change a merge request.
    let in_gitlab_words = gh
        .gh
        .comment_body(comment)
        .replace("pull request", "merge request");
    assert_eq!(note_body, in_gitlab_words);

    let snap = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/e2e__gate_github__oversized_comment.snap"
    ))
    .unwrap();
    let (_, snapshot_body) = snap
        .split_once("\n---\n")
        .expect("an insta header ends with ---");
    assert_eq!(
        note_body.trim_end(),
        snapshot_body
            .trim_end()
            .replace("pull request", "merge request")
    );
    assert!(!note_body.contains("pull request"), "{note_body}");
    gl.gl.take_writes();
    gl.assert_quiet();
    gh.assert_quiet();
}

/// Our project's API root, its id URL-encoded.
const API_PROJECT: &str = "/api/v4/projects/acme%2Ftools%2Fwidgets";

#[tokio::test]
async fn the_policy_file_is_read_from_the_target_branch_head() {
    let w = GitLabWorld::start().await;
    w.gl.put_file(
        BASE_SHA,
        ".gitlab/smallbatch.yml",
        "size:\n  max_lines: 20\n",
    );
    let head = sha(1);
    let writes = opened(&w, 7, &head, small_files()).await;
    let note = created_note(&writes);
    assert_eq!(
        writes,
        [
            status(
                &head,
                "failed",
                "30 lines: over the 20-line limit; needs 1 approval"
            ),
            Write::NoteCreated { iid: 7, id: note },
            label_created("size/M", "#eebb00"),
            labels_added(7, "size/M"),
        ]
    );
    let reads: Vec<String> =
        w.gl.take_calls()
            .into_iter()
            .filter(|c| c.contains("/repository/"))
            .collect();
    let files = format!("GET {API_PROJECT}/repository/files");
    assert_eq!(
        reads,
        [
            format!("GET {API_PROJECT}/repository/branches/main"),
            format!("{files}/.gitlab%2Fsmallbatch.yml/raw?ref={BASE_SHA}"),
            format!("{files}/.gitattributes/raw?ref={BASE_SHA}"),
        ]
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_long_file_list_is_read_across_pages() {
    let w = GitLabWorld::start().await;
    let mut files: Vec<FakeFile> = (1..=149)
        .map(|i| FakeFile::added(&format!("src/gen_{i:03}.rs"), 1))
        .collect();
    files.push(FakeFile::added("tests/gen_test.rs", 1));
    let head = sha(1);
    assert_eq!(
        opened(&w, 7, &head, files).await,
        [
            status(&head, "pending", "150 lines: needs 1 approval"),
            label_created("size/L", "#ee9900"),
            labels_added(7, "size/L"),
        ]
    );
    let pages: Vec<String> =
        w.gl.take_calls()
            .into_iter()
            .filter(|c| c.contains("/diffs"))
            .collect();
    let diffs = format!("GET {API_PROJECT}/merge_requests/7/diffs?per_page=100");
    assert_eq!(pages, [diffs.clone(), format!("{diffs}&page=2")]);
    w.assert_quiet();
}
