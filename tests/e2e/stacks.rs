//! Stacked changes on both forges: a change based on another change's branch is sized
//! against that branch, named in its stack with the changes below it, and scored again
//! when the change below it changes, merges, or when it is retargeted.
use crate::support::fake_github::{oversized_files, FakeFile};
use crate::support::sha;
use crate::support::world::{acknowledged, GateState, World};

/// What change 8 changes itself: +5/−3.
fn own_files() -> Vec<FakeFile> {
    vec![FakeFile::modified("src/export.rs", 5, 3)]
}

/// Its diff against `main` while change 7 is not merged: 7's files and its own.
fn with_the_change_below() -> Vec<FakeFile> {
    let mut files = oversized_files();
    files.extend(own_files());
    files
}

/// The one guidance comment on change `n`.
fn guidance<W: World>(w: &W, n: u64) -> String {
    let comments = w.bot_comments(n);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    comments[0].clone()
}

/// `words`: how the forge refers to change 7 (`#7`, `!7`), and the name of the snapshot
/// of change 8's comment once it is stacked.
async fn a_stacked_change_is_sized_against_its_base_and_rescored_when_retargeted<W: World>(
    words: (&str, &str),
) {
    let (seven, snapshot) = words;
    let w = W::start().await;
    let (head7, head8) = (sha(7), sha(8));
    w.open(7, &head7, oversized_files()).await;
    w.settle().await;

    // Opened against `main` by mistake, change 8 carries change 7's lines.
    w.add_on(8, &head8, "main", with_the_change_below());
    acknowledged(w.send(&w.opened_hook(8)).await);
    w.settle().await;
    assert_eq!(
        w.gate(&head8),
        (
            GateState::Failed,
            "578 lines: over the 400-line limit; needs 1 approval".into()
        )
    );
    assert_eq!(w.labels(8), ["size/XL"]);
    w.writes();

    // Retargeted onto change 7's branch, only its own +5/−3 count.
    w.retarget(8, "feature-7", own_files()).await;
    w.settle().await;
    assert_eq!(
        w.gate(&head8),
        (GateState::Waiting, "8 lines: needs 1 approval".into())
    );
    assert_eq!(w.labels(8), ["size/XS"]);
    let comment = guidance(&w, 8);
    assert!(
        comment.contains(&format!("#### Stacked on {seven}\n")),
        "{comment}"
    );
    assert!(
        comment.contains(&format!("| {seven} | `feature-7` | 570 |\n")),
        "{comment}"
    );
    assert!(comment.contains("counts **578 lines**"), "{comment}");
    assert_snapshot!(snapshot, comment);
    w.writes();

    // Change 7 shrinks: change 8's stack says so, though change 8 did not change.
    w.push(
        7,
        &sha(70),
        vec![FakeFile::modified("api/handlers.rs", 20, 10)],
    )
    .await;
    w.settle().await;
    let comment = guidance(&w, 8);
    assert!(
        comment.contains(&format!("| {seven} | `feature-7` | 30 |\n")),
        "{comment}"
    );
    assert!(comment.contains("counts **38 lines**"), "{comment}");
    w.writes();

    // Change 7 merges and change 8 is retargeted onto `main`: it is scored again, its
    // stack is gone, and it keeps its size and its label.
    w.merged(7).await;
    w.retarget(8, "main", own_files()).await;
    w.settle().await;
    assert!(
        w.take_calls().iter().any(|c| c.contains("/8/")),
        "change 8 was read again"
    );
    assert_eq!(
        w.gate(&head8),
        (GateState::Waiting, "8 lines: needs 1 approval".into())
    );
    assert_eq!(w.labels(8), ["size/XS"]);
    let comment = guidance(&w, 8);
    assert!(!comment.contains("Stacked on"), "{comment}");
    assert!(
        comment.contains("now counts **8 lines** in 1 file"),
        "{comment}"
    );
    w.writes();
    w.assert_quiet();
}

/// A change opened on a branch no open change has is stacked on nothing, and gets no
/// comment when there is no advice.
async fn a_change_on_a_branch_of_no_open_change_is_not_stacked<W: World>() {
    let w = W::start().await;
    w.add_on(8, &sha(8), "release-2.1", own_files());
    acknowledged(w.send(&w.opened_hook(8)).await);
    w.settle().await;
    assert_eq!(
        w.gate(&sha(8)),
        (GateState::Waiting, "8 lines: needs 1 approval".into())
    );
    assert!(w.bot_comments(8).is_empty());
    w.writes();
    w.assert_quiet();
}

on_both_forges!(
    a_stacked_change_is_sized_against_its_base_and_rescored_when_retargeted(
        ("#7", "stacked_pull_request_comment"),
        ("!7", "stacked_merge_request_note")
    ),
    a_change_on_a_branch_of_no_open_change_is_not_stacked,
);

/// A close the bot missed (its webhook lost) is learnt when the change below is read
/// again: the change above is restacked all the same.
#[tokio::test]
async fn a_missed_close_is_learnt_when_the_change_below_is_read_again() {
    use crate::support::github_world::GitHubWorld;
    let w = GitHubWorld::start().await;
    w.open(7, &sha(7), oversized_files()).await;
    w.add_on(8, &sha(8), "feature-7", own_files());
    acknowledged(w.send(&w.opened_hook(8)).await);
    w.settle().await;
    assert!(guidance(&w, 8).contains("#### Stacked on #7\n"));

    w.update_pr(7, |pr| pr.state = "closed");
    w.say(7, 701, "bob", "/recheck").await;
    let comment = guidance(&w, 8);
    assert!(!comment.contains("Stacked on"), "{comment}");
    assert!(comment.contains("#### All clear"), "{comment}");
    w.writes();
    w.assert_quiet();
}
