//! Owners' approval (`reviews.owners: codeowners`) on both forges: who counts, whom the
//! check and the comment name, and what it costs in calls. GitHub's teams and GitLab's
//! groups play the same part; each forge's names and words are passed as data.
use crate::gate::{calls_of_opening, github_opening, gitlab_opening};
use crate::support::fake_github::{self, small_files};
use crate::support::fake_gitlab;
use crate::support::github_world::GitHubWorld;
use crate::support::gitlab_world::GitLabWorld;
use crate::support::sha;
use crate::support::world::World;

const POLICY: &str = "reviews:\n  owners: codeowners\n";

/// Every file: the lead or the team; the sources: carol or the team. `small_files()`
/// changes `src/lib.rs` and `tests/lib_test.rs`.
fn codeowners(team: &str) -> String {
    format!("# Everything: the lead or the reviewers.\n* @lead @{team}\n/src/ @carol @{team}\n")
}

/// A forge's names: its team of reviewers, and a team it does not know.
#[derive(Clone, Copy)]
struct Names {
    team: &'static str,
    ghost: &'static str,
}

const GITHUB: Names = Names {
    team: "octo-org/reviewers",
    ghost: "octo-org/ghosts",
};
const GITLAB: Names = Names {
    team: "acme/reviewers",
    ghost: "acme/ghosts",
};

/// A gate verdict, in neither forge's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Waiting,
    Passed,
}

/// Reads the verdict on a head, as [`github_gate`] and [`gitlab_gate`] do.
type GateOf<W> = fn(&W, &str) -> (Gate, String);
/// The writes a forge is expected to have seen.
type WritesOf<W> = fn(&W) -> Vec<<W as World>::Write>;
/// The calls one opening is expected to cost.
type CallsOf = fn(u64) -> Vec<String>;

/// The verdict on `head` as the forge shows it, and its one line.
fn github_gate(w: &GitHubWorld, head: &str) -> (Gate, String) {
    let run = w.gh.latest_check(head);
    let gate = match run.conclusion.as_str() {
        "action_required" => Gate::Waiting,
        "success" => Gate::Passed,
        other => panic!("unexpected conclusion {other}"),
    };
    (gate, run.title)
}

fn gitlab_gate(w: &GitLabWorld, head: &str) -> (Gate, String) {
    let status = w.gl.latest_status(head);
    let gate = match status.state.as_str() {
        "pending" => Gate::Waiting,
        "success" => Gate::Passed,
        other => panic!("unexpected state {other}"),
    };
    (gate, status.description)
}

/// A world with the policy, CODEOWNERS and a team of 120 (more than one page of
/// members), with change 7 by alice opened and gated.
async fn owned_world<W: World>(names: Names) -> W {
    let w = W::start().await;
    w.put_policy(POLICY);
    w.put_codeowners(&codeowners(names.team));
    let mut members: Vec<String> = (1..120).map(|i| format!("member{i}")).collect();
    members.push("dave".into());
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    w.put_team(names.team, &members);
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    w
}

async fn a_non_owners_approval_leaves_the_change_waiting_and_names_whom_to_ask<W: World>(
    (names, gate, approved, snapshot): (Names, GateOf<W>, WritesOf<W>, &str),
) {
    let w = owned_world::<W>(names).await;
    w.writes();
    w.approve(7, "bob").await;
    w.settle().await;
    // Nothing changed for the owners, so the comment stays as it was.
    assert_eq!(w.writes(), approved(&w));
    let (verdict, title) = gate(&w, &sha(1));
    assert_eq!(verdict, Gate::Waiting, "{title}");
    assert!(
        title.ends_with("needs an owner's approval for 2 files"),
        "{title}"
    );
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_snapshot!(snapshot, comments[0]);
    w.assert_quiet();
}

/// GitHub's check run counts the approval and still waits for the owners.
fn github_still_waiting(w: &GitHubWorld) -> Vec<fake_github::Write> {
    let id = w.gh.latest_check(&sha(1)).id;
    vec![fake_github::Write::CheckRunUpdated {
        id,
        conclusion: "action_required".into(),
        title: "30 lines, 1 approval: needs an owner's approval for 2 files".into(),
    }]
}

/// GitLab's status stays `pending`, which it would not take twice: nothing is written,
/// and its description still says what it said on opening.
fn gitlab_still_waiting(w: &GitLabWorld) -> Vec<fake_gitlab::Write> {
    assert_eq!(
        w.gl.latest_status(&sha(1)).description,
        "30 lines: needs 1 approval; needs an owner's approval for 2 files"
    );
    vec![]
}

/// dave has no role on the repository at all: an owner counts whatever their permission.
async fn a_team_members_approval_passes<W: World>(
    (names, gate, resolved): (Names, GateOf<W>, WritesOf<W>),
) {
    let w = owned_world::<W>(names).await;
    w.writes();
    w.approve(7, "dave").await;
    w.settle().await;
    assert_eq!(w.writes(), resolved(&w));
    assert_eq!(
        gate(&w, &sha(1)),
        (Gate::Passed, "30 lines, 1 approval: ready".to_owned())
    );
    let comment = &w.bot_comments(7)[0];
    assert!(comment.contains("#### All clear"), "{comment}");
    w.assert_quiet();
}

/// GitHub updates its check run and edits the comment to say all is clear.
fn github_resolved(w: &GitHubWorld) -> Vec<fake_github::Write> {
    let s = w.gh.state();
    let run = s.check_runs.iter().find(|c| c.head_sha == sha(1)).unwrap();
    let comment = s.comments.iter().find(|c| c.1 == 7).unwrap();
    vec![
        fake_github::Write::CheckRunUpdated {
            id: run.id,
            conclusion: "success".into(),
            title: "30 lines, 1 approval: ready".into(),
        },
        fake_github::Write::CommentEdited { id: comment.0 },
    ]
}

/// GitLab gets a `success` status and the note edited to say all is clear.
fn gitlab_resolved(w: &GitLabWorld) -> Vec<fake_gitlab::Write> {
    let note = w.gl.state().notes.iter().find(|n| n.iid == 7).unwrap().id;
    vec![
        fake_gitlab::Write::StatusPosted {
            sha: sha(1),
            state: "success".into(),
            name: "smallbatch".into(),
            description: "30 lines, 1 approval: ready".into(),
        },
        fake_gitlab::Write::NoteEdited { id: note },
    ]
}

async fn an_unknown_team_leaves_its_files_waiting_and_says_so<W: World>(
    (names, gate, note): (Names, GateOf<W>, &str),
) {
    let w = W::start().await;
    w.put_policy(POLICY);
    w.put_codeowners(&format!("* @{}\n", names.ghost));
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    w.writes();
    w.approve(7, "bob").await;
    w.settle().await;
    w.writes();
    let (verdict, title) = gate(&w, &sha(1));
    assert_eq!(verdict, Gate::Waiting, "{title}");
    let comment = &w.bot_comments(7)[0];
    assert!(
        comment.contains(&format!(
            "- `src/lib.rs` and `tests/lib_test.rs`: ask @{}",
            names.ghost
        )),
        "{comment}"
    );
    assert!(
        comment.contains(&format!("- @{}: {note}", names.ghost)),
        "{comment}"
    );
    w.assert_quiet();
}

/// The first evaluation reads CODEOWNERS where the forge keeps it and each owner's
/// members once; a second change costs what any change with a comment due costs, as
/// both are cached.
async fn owners_are_read_once_then_cost_no_call<W: World>(
    (names, owner_calls, opening): (Names, &[&str], CallsOf),
) {
    let w = W::start().await;
    w.put_policy(POLICY);
    w.put_codeowners(&codeowners(names.team));
    w.put_team(names.team, &["dave"]);
    w.open(1, &sha(100), small_files()).await;
    w.settle().await;
    let read: Vec<String> = w
        .take_calls()
        .into_iter()
        .filter(|c| c.contains("CODEOWNERS") || c.contains("/teams/") || c.contains("/groups/"))
        .collect();
    assert_eq!(read, owner_calls);
    w.writes();

    let calls = calls_of_opening(&w, 7, &sha(1), small_files()).await;
    assert_eq!(calls, opening(7));
    w.writes();
    w.assert_quiet();
}

/// `reviews.rules`: the sources need two approvals from the team; a non-member's does
/// not count, and whom to ask is named until a second member approves.
async fn a_rule_counts_only_approvals_from_whom_it_names<W: World>(
    (names, gate): (Names, GateOf<W>),
) {
    let w = W::start().await;
    w.put_policy(&format!(
        "reviews:\n  rules:\n    - paths: ['src/**']\n      required_approvals: 2\n      \
         from: ['{}']\n",
        names.team
    ));
    w.put_team(names.team, &["dave", "erin"]);
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    w.approve(7, "bob").await;
    w.settle().await;
    w.approve(7, "dave").await;
    w.settle().await;
    w.writes();
    assert_eq!(gate(&w, &sha(1)).0, Gate::Waiting);
    let comment = &w.bot_comments(7)[0];
    assert!(
        comment.contains(&format!(
            "- `src/lib.rs`: 1 more approval from @{}; approved by @dave (`reviews.rules[0]`)",
            names.team
        )),
        "{comment}"
    );
    w.approve(7, "erin").await;
    w.settle().await;
    w.writes();
    assert_eq!(
        gate(&w, &sha(1)),
        (Gate::Passed, "30 lines, 3 approvals: ready".to_owned())
    );
    w.assert_quiet();
}

/// A CODEOWNERS line that cannot be used fails the check, naming the file and the line,
/// instead of silently dropping an owner.
async fn a_broken_codeowners_fails_the_check_at_its_line<W: World>(
    (failed, file): (fn(&W, &str) -> String, &str),
) {
    let w = W::start().await;
    w.put_policy(POLICY);
    w.put_codeowners("* @lead\n!vendor/ @nobody\n");
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    w.writes();
    assert_eq!(
        failed(&w, &sha(1)),
        format!("Invalid CODEOWNERS file {file} (line 2)")
    );
    w.assert_quiet();
}

/// The title of a failing check run.
fn github_failed(w: &GitHubWorld, head: &str) -> String {
    let run = w.gh.latest_check(head);
    assert_eq!(run.conclusion, "failure");
    assert!(
        run.summary
            .contains("**Line 2:** `!vendor/`: negation (`!`) is not allowed in CODEOWNERS"),
        "{}",
        run.summary
    );
    run.title
}

/// The description of a failed status.
fn gitlab_failed(w: &GitLabWorld, head: &str) -> String {
    let status = w.gl.latest_status(head);
    assert_eq!(status.state, "failed");
    status.description
}

const GITHUB_OWNER_CALLS: &[&str] = &[
    "GET /repos/octo-org/widgets/contents/.github/CODEOWNERS",
    "GET /orgs/octo-org/teams/reviewers/members",
];

/// GitLab's order of places: the root, `docs/`, then `.gitlab/`. Any single name may be
/// a group there, so the users are asked about too (404: a user), in the order of the
/// files they own.
const GITLAB_OWNER_CALLS: &[&str] = &[
    "GET /api/v4/projects/acme%2Ftools%2Fwidgets/repository/files/CODEOWNERS/raw?ref=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0",
    "GET /api/v4/projects/acme%2Ftools%2Fwidgets/repository/files/docs%2FCODEOWNERS/raw?ref=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0",
    "GET /api/v4/projects/acme%2Ftools%2Fwidgets/repository/files/.gitlab%2FCODEOWNERS/raw?ref=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0",
    "GET /api/v4/groups/carol/members/all?per_page=100",
    "GET /api/v4/groups/acme%2Freviewers/members/all?per_page=100",
    "GET /api/v4/groups/lead/members/all?per_page=100",
];

on_both_forges!(
    a_non_owners_approval_leaves_the_change_waiting_and_names_whom_to_ask(
        (
            GITHUB,
            github_gate,
            github_still_waiting,
            "waiting_for_owners_github"
        ),
        (
            GITLAB,
            gitlab_gate,
            gitlab_still_waiting,
            "waiting_for_owners_gitlab"
        )
    ),
    a_team_members_approval_passes(
        (GITHUB, github_gate, github_resolved),
        (GITLAB, gitlab_gate, gitlab_resolved)
    ),
    an_unknown_team_leaves_its_files_waiting_and_says_so(
        (
            GITHUB,
            github_gate,
            "GitHub found no such team, or the app cannot see it"
        ),
        (
            GITLAB,
            gitlab_gate,
            "GitLab found no such group, or the bot's token cannot see it"
        )
    ),
    a_rule_counts_only_approvals_from_whom_it_names((GITHUB, github_gate), (GITLAB, gitlab_gate)),
    a_broken_codeowners_fails_the_check_at_its_line(
        (github_failed, ".github/CODEOWNERS"),
        (gitlab_failed, ".gitlab/CODEOWNERS")
    ),
    owners_are_read_once_then_cost_no_call(
        (GITHUB, GITHUB_OWNER_CALLS, |n| github_opening(n, true)),
        (GITLAB, GITLAB_OWNER_CALLS, |n| gitlab_opening(n, true))
    ),
);

/// Without the organization permission "Members: read", GitHub refuses to list a team's
/// members: the team's files wait, and the check says what permission is missing.
#[tokio::test]
async fn without_the_members_permission_the_check_says_what_to_grant() {
    let w = GitHubWorld::start().await;
    w.put_policy(POLICY);
    w.put_codeowners(&codeowners(GITHUB.team));
    w.put_team(GITHUB.team, &["dave"]);
    w.gh.state().no_members_permission = true;
    w.open(7, &sha(1), small_files()).await;
    w.settle().await;
    w.writes();
    w.approve(7, "dave").await;
    w.settle().await;
    w.writes();
    let run = w.gh.latest_check(&sha(1));
    assert_eq!(run.conclusion, "action_required", "{}", run.title);
    assert!(
        run.summary.contains(
            "- @octo-org/reviewers: the app may not read this team's members; grant it the \
             organization permission \"Members: read\""
        ),
        "{}",
        run.summary
    );
    w.assert_quiet();
}
