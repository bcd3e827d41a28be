//! End-to-end: chat commands and `/ship` on GitLab, against the fake GitLab and a fake
//! Prometheus; the clock is the store's, moved on by the test. On GitLab `/ship` merges
//! and then follows the deployment the target branch's pipeline reports.
use crate::support;
use crate::support::world::{make_ready, ready_to_ship, team_world, World};

use crate::support::fake_github::{small_files, FakeFile};
use crate::support::fake_gitlab::{merge_commit_sha, Write};
use crate::support::gitlab_world::{
    deployment_of, job_of, GitLabWorld, BASE_SHA, DEPLOYMENT_HOOK, MERGE_REQUEST_HOOK, PROJECT,
};
use crate::support::sha;
use smallbatch::domain::{PrNumber, PrRef, RepoRef};
use std::time::Duration;

/// The deployment id GitLab gives the pipeline's production deployment.
const DEPLOYMENT: u64 = 321;

fn awarded_eyes(note: u64) -> Write {
    Write::Awarded {
        note,
        name: "eyes".into(),
    }
}

/// The body of a GitHub e2e snapshot, to hold the GitLab text to the same words.
fn github_snapshot(name: &str) -> String {
    let path = format!(
        "{}/tests/snapshots/e2e__commands_github__{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    );
    let snap = std::fs::read_to_string(&path).expect(&path);
    let (_, body) = snap
        .split_once("\n---\n")
        .expect("an insta header ends with ---");
    body.trim_end().to_owned()
}

/// A project with the ship policy on `main` and its members: alice (the author) and
/// bob are developers, maya a maintainer, sam a reporter.
async fn project_world() -> GitLabWorld {
    team_world().await
}

/// MR 7 by alice: small, approved by bob, its pipeline green, mergeable; gated once.
async fn ready_world() -> GitLabWorld {
    let w: GitLabWorld = ready_to_ship().await;
    assert_eq!(w.gl.latest_status(&sha(1)).state, "success");
    w
}

/// The id of the one note a list of writes created on MR `iid`.
fn created_note(writes: &[Write], iid: u64) -> u64 {
    let ids: Vec<u64> = writes
        .iter()
        .filter_map(|w| match w {
            Write::NoteCreated { iid: on, id } if *on == iid => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "{writes:#?}");
    ids[0]
}

#[tokio::test]
async fn help_is_acknowledged_and_answered_as_on_github_in_gitlab_roles() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "Thanks!\n\n/help").await;
    let writes = w.writes();
    let reply = created_note(&writes, 7);
    assert_eq!(
        writes,
        [awarded_eyes(501), Write::NoteCreated { iid: 7, id: reply }]
    );
    let body = w.gl.note_body(reply);
    assert_snapshot!("help_reply", body);
    let in_roles = github_snapshot("help_reply")
        .replace("`maintain` permission", "Maintainer role")
        .replace("`write` permission", "Developer role")
        .replace("holds this pull request", "holds this merge request");
    assert_eq!(body.trim_end(), in_roles);
    w.assert_quiet();
}

#[tokio::test]
async fn override_needs_a_maintainer_and_is_audited() {
    let w = project_world().await;
    w.open_mr(9, &sha(1), vec![FakeFile::added("api/handlers.rs", 450)]);
    w.deliver(MERGE_REQUEST_HOOK, &w.mr_hook("open", 9)).await;
    w.settle().await;
    assert_eq!(w.gl.latest_status(&sha(1)).state, "failed");
    w.writes();

    // alice is a Developer (30), not a Maintainer.
    w.say(9, 601, "alice", "/override shipping the fix").await;
    let writes = w.writes();
    let refusal = created_note(&writes, 9);
    assert_eq!(
        writes,
        [
            awarded_eyes(601),
            Write::NoteCreated {
                iid: 9,
                id: refusal
            }
        ]
    );
    assert_eq!(
        w.gl.note_body(refusal),
        "Sorry @alice, `/override` needs the Maintainer role in this project, which you don't have. Ask someone with that role to run it."
    );
    assert_eq!(
        w.gl.latest_status(&sha(1)).state,
        "failed",
        "a refusal changes nothing"
    );
    assert!(w
        .store
        .overrides(&PrRef {
            repo: RepoRef::gitlab(PROJECT),
            number: PrNumber(9),
        })
        .await
        .unwrap()
        .is_empty());

    // maya is a Maintainer (40).
    w.say(9, 602, "maya", "/override hotfix for the outage in #123")
        .await;
    let writes = w.writes();
    let recorded = created_note(&writes, 9);
    let status = w.gl.latest_status(&sha(1));
    assert_eq!(
        writes,
        [
            awarded_eyes(602),
            Write::NoteCreated {
                iid: 9,
                id: recorded
            },
            Write::StatusPosted {
                sha: sha(1),
                state: "success".into(),
                name: "smallbatch".into(),
                description: status.description.clone(),
            },
        ]
    );
    assert!(
        status
            .description
            .starts_with("Overridden by @maya: 450 lines: over the 400-line limit"),
        "{}",
        status.description
    );
    assert!(w
        .gl
        .note_body(recorded)
        .starts_with("Override recorded: the gate passes for `0000000`"));
    let audit = w
        .store
        .overrides(&PrRef {
            repo: RepoRef::gitlab(PROJECT),
            number: PrNumber(9),
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (
            audit[0].actor.as_str(),
            audit[0].head_sha.as_str(),
            audit[0].reason.as_str()
        ),
        ("maya", sha(1).as_str(), "hotfix for the outage in #123")
    );
    w.assert_quiet();
}

#[tokio::test]
async fn ship_refuses_with_a_checklist_when_the_pipeline_failed() {
    let w = project_world().await;
    w.gl.ci_status(&sha(1), "test", "failed");
    w.open_mr(7, &sha(1), small_files());
    w.say(7, 501, "alice", "/ship").await;
    let writes = w.writes();
    let checklist = created_note(&writes, 7);
    assert_eq!(
        writes,
        [
            awarded_eyes(501),
            Write::NoteCreated {
                iid: 7,
                id: checklist
            }
        ],
        "no merge"
    );
    let body = w.gl.note_body(checklist);
    assert_snapshot!("ship_not_ready", body);
    assert_eq!(w.gl.state().mrs[&7].state, "opened");
    w.assert_quiet();
}

/// Ships MR 7 and has its pipeline report the production deployment of the merge
/// commit; returns the shipping note's id.
async fn ship_and_deploy(w: &GitLabWorld) -> u64 {
    w.say(7, 501, "alice", "/ship").await;
    let writes = w.writes();
    let note = created_note(&writes, 7);
    assert_eq!(
        writes,
        [
            awarded_eyes(501),
            Write::NoteCreated { iid: 7, id: note },
            Write::Merged {
                iid: 7,
                head: sha(1),
                squash: true
            },
            Write::NoteEdited { id: note },
        ]
    );
    assert!(
        w.gl.note_body(note)
            .contains("Waiting for the deployment to report."),
        "{}",
        w.gl.note_body(note)
    );

    // The pipeline's deploy job starts: not final, nothing changes.
    let merged = merge_commit_sha(7);
    let running = w.deployment_hook(&merged, "production", "running", DEPLOYMENT);
    assert_eq!(w.deliver(DEPLOYMENT_HOOK, &running).await.0, 202);
    w.settle().await;
    assert_eq!(w.writes(), []);

    let success = w.deployment_hook(&merged, "production", "success", DEPLOYMENT);
    assert_eq!(w.deliver(DEPLOYMENT_HOOK, &success).await.0, 202);
    w.settle().await;
    assert_eq!(w.writes(), [Write::NoteEdited { id: note }]);
    assert!(w
        .gl
        .note_body(note)
        .contains("Deployed. Watching production (0 checks so far)"));
    note
}

#[tokio::test]
async fn ship_merges_follows_the_deployment_and_reports_healthy_once() {
    let w = ready_world().await;
    let note = ship_and_deploy(&w).await;

    w.advance(Duration::from_secs(61)).await;
    assert_eq!(
        w.writes(),
        [Write::NoteEdited { id: note }],
        "one check, still watching"
    );
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(w.writes(), [Write::NoteEdited { id: note }], "the verdict");
    let body = w.gl.note_body(note);
    assert_snapshot!("ship_healthy", body);
    assert_eq!(body.trim_end(), github_snapshot("ship_healthy"));

    // Nothing more happens once the verdict is in.
    w.advance(Duration::from_secs(600)).await;
    assert_eq!(w.writes(), []);
    w.assert_quiet();
}

/// The calls made to update deployment `id`.
fn deployment_updates(w: &GitLabWorld, id: u64) -> Vec<String> {
    let path = format!(
        "PUT /api/v4/projects/{}/deployments/{id}",
        PROJECT.replace('/', "%2F")
    );
    w.gl.take_calls()
        .into_iter()
        .filter(|c| *c == path)
        .collect()
}

/// The writes of opening the revert of MR 7's merge commit as MR 8.
fn revert_opened() -> [Write; 3] {
    let merged = merge_commit_sha(7);
    let branch = format!("smallbatch/revert-7-{}", &merged[..7]);
    [
        Write::BranchCreated {
            name: branch.clone(),
            from: "main".into(),
        },
        Write::CommitReverted {
            sha: merged,
            branch: branch.clone(),
        },
        Write::MrOpened {
            iid: 8,
            source: branch,
            target: "main".into(),
            title: "Revert \"Add invoice export\"".into(),
        },
    ]
}

/// The deployment is the pipeline's, which GitLab's API may not update (403): the
/// attempt is made once and the revert still opens.
#[tokio::test]
async fn a_regression_opens_a_revert_even_though_gitlab_keeps_ci_deployments() {
    let w = ready_world().await;
    let note = ship_and_deploy(&w).await;
    w.gl.take_calls();
    w.prom.set_current(0.034);
    // One breaching reading waits for a second in a row (`failures: 2`).
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(w.writes(), [Write::NoteEdited { id: note }]);
    w.advance(Duration::from_secs(61)).await;
    let mut expected = revert_opened().to_vec();
    expected.push(Write::NoteEdited { id: note });
    assert_eq!(w.writes(), expected);
    assert_eq!(deployment_updates(&w, DEPLOYMENT).len(), 1);
    assert_eq!(w.gl.state().deployments[&DEPLOYMENT].status, "success");
    let revert = w.gl.state().mrs[&8].clone();
    assert_eq!(
        (
            revert.author.as_str(),
            revert.state,
            revert.head_sha == BASE_SHA
        ),
        (support::fake_gitlab::BOT_USERNAME, "opened", false),
        "the revert MR carries the revert commit"
    );
    assert_eq!(
        revert.description,
        "Reverts !7 (`0000000`), which regressed in **production** after deploying:\n\n\
         - **error rate**: 0.034 over max 0.01 (3.4×), 2 of 2 readings in a row\n\n\
         Opened by smallbatch. Ship it with `/ship` to restore service.\n"
    );
    assert_snapshot!("ship_regressed", w.gl.note_body(note));

    w.advance(Duration::from_secs(600)).await;
    assert_eq!(w.writes(), [], "the verdict is final");
    assert_eq!(deployment_updates(&w, DEPLOYMENT), Vec::<String>::new());
    w.assert_quiet();
}

/// A deployment made through the API (no CI job) is marked failed.
#[tokio::test]
async fn a_regression_marks_an_api_deployment_failed_and_opens_a_revert() {
    let w = ready_world().await;
    let note = ship_and_deploy(&w).await;
    w.gl.state().deployments.get_mut(&DEPLOYMENT).unwrap().by_ci = false;
    w.prom.set_current(0.034);
    // One breaching reading waits for a second in a row (`failures: 2`).
    w.advance(Duration::from_secs(61)).await;
    assert_eq!(w.writes(), [Write::NoteEdited { id: note }]);
    w.advance(Duration::from_secs(61)).await;
    let mut expected = vec![Write::DeploymentUpdated {
        id: DEPLOYMENT,
        status: "failed".into(),
    }];
    expected.extend(revert_opened());
    expected.push(Write::NoteEdited { id: note });
    assert_eq!(w.writes(), expected);
    assert_eq!(w.gl.state().deployments[&DEPLOYMENT].status, "failed");
    assert!(w.gl.note_body(note).contains("### 🔴 Regressed"));
    w.assert_quiet();
}

#[tokio::test]
async fn ship_refuses_a_reporter_without_merging() {
    let w = ready_world().await;
    w.say(7, 501, "sam", "/ship").await;
    let writes = w.writes();
    let refusal = created_note(&writes, 7);
    assert_eq!(
        writes,
        [
            awarded_eyes(501),
            Write::NoteCreated {
                iid: 7,
                id: refusal
            }
        ]
    );
    assert_eq!(
        w.gl.note_body(refusal),
        "Sorry @sam, `/ship` needs the Developer role in this project, which you don't have. Ask someone with that role to run it."
    );
    assert_eq!(w.gl.state().mrs[&7].state, "opened");
    w.assert_quiet();
}

#[tokio::test]
async fn a_second_ship_links_to_the_shipping_note_in_gitlab_words() {
    let w = ready_world().await;
    let note = ship_and_deploy(&w).await;
    w.say(7, 502, "alice", "/ship").await;
    let writes = w.writes();
    let reply = created_note(&writes, 7);
    assert_eq!(
        writes,
        [awarded_eyes(502), Write::NoteCreated { iid: 7, id: reply }]
    );
    assert_eq!(
        w.gl.note_body(reply),
        format!(
            "This merge request is already being shipped (now watching production): see \
             [the shipping comment](https://gitlab.example.com/{PROJECT}/-/merge_requests/7#note_{note})."
        )
    );
    w.assert_quiet();
}

#[tokio::test]
async fn a_failed_deployment_says_so_in_words_and_tags_the_requester_and_author() {
    let w = ready_world().await;
    w.say(7, 501, "bob", "/ship").await;
    let note = created_note(&w.writes(), 7);
    let failed = w.deployment_hook(&merge_commit_sha(7), "production", "failed", DEPLOYMENT);
    assert_eq!(w.deliver(DEPLOYMENT_HOOK, &failed).await.0, 202);
    w.settle().await;
    assert_eq!(w.writes(), [Write::NoteEdited { id: note }]);
    let body = w.gl.note_body(note);
    assert!(
        body.ends_with(
            "### ❌ The deployment failed\n\n\
             The deployment to **production** failed.\n\n\
             The change is merged into `main` but is not running in **production**.\n\n\
             cc @alice @bob\n"
        ),
        "{body}"
    );
    w.assert_quiet();
}

/// A rollback GitLab refuses (the healthy deployment's job may not run again) is said
/// in GitLab's words, and the revert is opened all the same.
#[tokio::test]
async fn a_rollback_gitlab_refuses_says_why_and_still_reverts() {
    let w = ready_world().await;
    w.say(7, 501, "alice", "/ship").await;
    w.ci_deployed(7).await;
    w.settle().await;
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    make_ready(&w, 8, &sha(2)).await;
    w.say(8, 502, "alice", "/ship").await;
    w.ci_deployed(8).await;
    w.settle().await;
    w.writes();
    let job = job_of(deployment_of(7));
    w.gl.state().jobs_not_retryable.push(job);
    w.prom.set_current(0.034);
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    let writes = w.writes();
    assert!(
        !writes.iter().any(|x| matches!(x, Write::JobRetried { .. })),
        "{writes:#?}"
    );
    assert!(
        writes.iter().any(|x| matches!(x, Write::MrOpened { .. })),
        "{writes:#?}"
    );
    let note = w
        .bot_comments(8)
        .into_iter()
        .find(|c| c.contains("## Shipping"))
        .unwrap();
    assert!(
        note.contains(&format!(
            "GitLab refused to start the rollback of **production**: job {job} cannot run \
             again (403 Forbidden  - Job is not retryable). Service is **not** restored: ship \
             the revert, or comment `/rollback` to try again."
        )),
        "{note}"
    );
    // The rollback is over: nothing waits for a deployment that will not come.
    let ships = w
        .store
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert!(ships.iter().all(|s| s.finished), "{ships:#?}");
    w.assert_quiet();
}
