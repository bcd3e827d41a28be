//! GitLab webhook parsing against real payloads: the project's `fixtures/gitlab` (see its
//! README) and every upstream payload in `fixtures/gitlab/webhooks`.

use serde_json::{json, Value};
use smallbatch::domain::{
    CommentId, CommitSha, DeploymentRef, DeploymentState, DomainEvent, PostedComment, PrNumber,
    PrRef, RepoRef, User,
};
use smallbatch::forge::gitlab::webhook::{parse, Parsed, WebhookError};
use std::path::{Path, PathBuf};

/// `object_attributes.last_commit.id` of `merge_request.json`.
const HEAD_SHA: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

const MERGE_REQUEST_HOOK: &str = "Merge Request Hook";
const PUSH_HOOK: &str = "Push Hook";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gitlab")
}

/// go-gitlab's webhook test data, every file as upstream names it.
fn upstream_dir() -> PathBuf {
    fixtures_dir().join("webhooks")
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn parse_value(event: &str, payload: &Value) -> Result<Parsed, WebhookError> {
    parse(
        event,
        &serde_json::to_vec(payload).expect("a Value serializes"),
    )
}

fn parse_fixture(event: &str, name: &str) -> Parsed {
    parse_value(event, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn gitlab_test() -> RepoRef {
    RepoRef::gitlab("gitlabhq/gitlab-test")
}

fn pr_changed(repo: RepoRef, iid: u64, head_sha: Option<&str>, cause: &str) -> Parsed {
    Parsed::Events(vec![DomainEvent::PrChanged {
        pr: PrRef {
            repo,
            number: PrNumber(iid),
        },
        head_sha: head_sha.map(CommitSha::new),
        cause: cause.to_owned(),
    }])
}

fn opened_with(action: &str) -> Value {
    let mut payload = fixture("merge_request");
    payload["object_attributes"]["action"] = json!(action);
    payload
}

fn policy_changed(branch: &str) -> Parsed {
    Parsed::Events(vec![DomainEvent::PolicyChanged {
        repo: RepoRef::gitlab("mike/diaspora"),
        branch: branch.to_owned(),
    }])
}

/// `push.json` lists 2 of 4 commits; this one lists them all, so only their files count.
fn complete_push() -> Value {
    let mut payload = fixture("push");
    payload["total_commits_count"] = json!(2);
    payload
}

fn ignored(reason: &str) -> Parsed {
    Parsed::Ignored {
        reason: reason.to_owned(),
    }
}

/// The `X-Gitlab-Event` header GitLab sends with a payload, told by the payload's
/// `object_kind` (or, for group events that have none, its `event_name`):
///
/// | `object_kind` / `event_name` | `X-Gitlab-Event` |
/// | --- | --- |
/// | `merge_request` | `Merge Request Hook` |
/// | `note` | `Note Hook` |
/// | `push` | `Push Hook` |
/// | `tag_push` | `Tag Push Hook` |
/// | `pipeline` | `Pipeline Hook` |
/// | `build` | `Job Hook` |
/// | `deployment` | `Deployment Hook` |
/// | `issue` | `Issue Hook` |
/// | `wiki_page` | `Wiki Page Hook` |
/// | `release` | `Release Hook` |
/// | `feature_flag` | `Feature Flag Hook` |
/// | `access_token` | `Resource Access Token Hook` |
/// | `user_add_to_group` (and other member events) | `Member Hook` |
/// | `subgroup_create` / `subgroup_destroy` | `Subgroup Hook` |
fn event_header(payload: &Value) -> &'static str {
    let kind = payload["object_kind"]
        .as_str()
        .or_else(|| payload["event_name"].as_str())
        .expect("a payload names its kind");
    match kind {
        "merge_request" => "Merge Request Hook",
        "note" => "Note Hook",
        "push" => "Push Hook",
        "tag_push" => "Tag Push Hook",
        "pipeline" => "Pipeline Hook",
        "build" => "Job Hook",
        "deployment" => "Deployment Hook",
        "issue" => "Issue Hook",
        "wiki_page" => "Wiki Page Hook",
        "release" => "Release Hook",
        "feature_flag" => "Feature Flag Hook",
        "access_token" => "Resource Access Token Hook",
        "user_add_to_group" | "user_remove_from_group" | "user_update_for_group" => "Member Hook",
        "subgroup_create" | "subgroup_destroy" => "Subgroup Hook",
        other => panic!("no X-Gitlab-Event known for `{other}`: add it to the table"),
    }
}

/// Parses every `*.json` in `dir` under its header, and again as a system hook delivery;
/// returns how many there were.
fn parse_every_payload_in(dir: &Path) -> usize {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?} must exist (it holds real GitLab payloads): {e}"));
    let mut seen = 0;
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let body = std::fs::read(&path).expect("readable fixture");
        let payload: Value = serde_json::from_slice(&body).expect("fixtures are JSON");
        let header = event_header(&payload);
        for event in [header, "System Hook"] {
            if let Err(e) = parse(event, &body) {
                panic!("{path:?} failed to parse as `{event}`: {e}");
            }
        }
        seen += 1;
    }
    seen
}

#[test]
fn every_upstream_payload_parses() {
    let seen = parse_every_payload_in(&upstream_dir());
    assert!(
        seen >= 21,
        "only {seen} payloads found in {:?}",
        upstream_dir()
    );
}

#[test]
fn every_fixture_parses() {
    let seen = parse_every_payload_in(&fixtures_dir());
    assert!(seen >= 10, "only {seen} fixtures found");
}

#[test]
fn merge_request_open_is_evaluated() {
    assert_eq!(
        parse_fixture(MERGE_REQUEST_HOOK, "merge_request"),
        pr_changed(gitlab_test(), 1, Some(HEAD_SHA), "merge_request.open"),
    );
}

#[test]
fn merge_request_actions_that_change_the_verdict() {
    for action in ["reopen", "approved", "unapproved", "approval", "unapproval"] {
        assert_eq!(
            parse_value(MERGE_REQUEST_HOOK, &opened_with(action)).unwrap(),
            pr_changed(
                gitlab_test(),
                1,
                Some(HEAD_SHA),
                &format!("merge_request.{action}")
            ),
            "{action}"
        );
    }
}

#[test]
fn merge_request_update_with_new_commits_is_evaluated() {
    assert_eq!(
        parse_fixture(MERGE_REQUEST_HOOK, "merge_request.update"),
        pr_changed(
            RepoRef::gitlab("test/woodpecker"),
            2,
            Some("0ab96a10266b95b4b533dcfd98738015fbe70889"),
            "merge_request.update",
        ),
    );

    let mut pushed = opened_with("update");
    pushed["object_attributes"]["oldrev"] = json!("95790bf891e76fee5e1747ab589903a6a1f80f22");
    pushed["changes"] = json!({});
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &pushed).unwrap(),
        pr_changed(gitlab_test(), 1, Some(HEAD_SHA), "merge_request.update"),
    );
}

#[test]
fn merge_request_update_of_draft_status_or_target_branch_is_evaluated() {
    for changes in [
        json!({"draft": {"previous": true, "current": false}}),
        json!({"work_in_progress": {"previous": false, "current": true}}),
        json!({"target_branch": {"previous": "develop", "current": "master"}}),
        // The real payload's label swap (API for Platform): `exempt.labels` may name either.
        fixture("merge_request")["changes"].clone(),
        json!({"labels": {"previous": [], "current": [{"id": 7, "title": "dependencies"}]}}),
    ] {
        let mut payload = opened_with("update");
        payload["changes"] = changes.clone();
        assert_eq!(
            parse_value(MERGE_REQUEST_HOOK, &payload).unwrap(),
            pr_changed(gitlab_test(), 1, Some(HEAD_SHA), "merge_request.update"),
            "{changes}"
        );
    }
}

#[test]
fn merge_request_update_of_nothing_the_gate_reads_is_ignored() {
    let reason = "merge_request.update: no new commits, and no change of draft status, \
                  target branch, reviewers or labels other than size labels";

    // Our own size labelling comes back as a label change: it must not loop.
    let mut labels = opened_with("update");
    let label = |title: &str| json!({"id": 9, "title": title, "color": "#ee0701", "project_id": 14, "type": "ProjectLabel"});
    labels["changes"] = json!({"labels": {
        "previous": [label("API"), label("size/XS")],
        "current": [label("API"), label("size/M")],
    }});
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &labels).unwrap(),
        ignored(reason)
    );

    let mut title = opened_with("update");
    title["changes"] = json!({
        "title": {"previous": "MS-Viewport", "current": "MS-Viewport v2"},
        "description": {"previous": "", "current": "Now with a description"},
    });
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &title).unwrap(),
        ignored(reason)
    );

    let mut no_changes = opened_with("update");
    no_changes
        .as_object_mut()
        .expect("payload is an object")
        .remove("changes");
    no_changes["object_attributes"]["oldrev"] = Value::Null;
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &no_changes).unwrap(),
        ignored(reason)
    );
}

#[test]
fn a_closed_merge_request_restacks_and_a_merged_one_is_told_too() {
    let pr = PrRef {
        repo: gitlab_test(),
        number: PrNumber(1),
    };
    let closed = DomainEvent::PrClosed { pr: pr.clone() };
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &opened_with("close")).unwrap(),
        Parsed::Events(vec![closed.clone()]),
    );
    let mut merged = opened_with("merge");
    merged["object_attributes"]["description"] = json!("This reverts merge request !3");
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &merged).unwrap(),
        Parsed::Events(vec![
            closed,
            DomainEvent::ChangeMerged {
                pr,
                title: "MS-Viewport".into(),
                body: "This reverts merge request !3".into(),
            }
        ])
    );
    // Upstream's merge payload has its keys mangled (`"iid "`): nothing names the MR.
    assert_eq!(
        parse_fixture(MERGE_REQUEST_HOOK, "merge_request.merge"),
        ignored("merge_request.merge: no `object_attributes.iid` to name the merge request"),
    );
}

#[test]
fn merge_request_without_an_action_is_evaluated() {
    let mut payload = fixture("merge_request");
    payload["object_attributes"]
        .as_object_mut()
        .expect("object_attributes is an object")
        .remove("action");
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &payload).unwrap(),
        pr_changed(gitlab_test(), 1, Some(HEAD_SHA), "merge_request"),
    );
}

#[test]
fn merge_request_without_commits_has_no_head() {
    let mut payload = fixture("merge_request");
    payload["object_attributes"]["last_commit"] = Value::Null;
    assert_eq!(
        parse_value(MERGE_REQUEST_HOOK, &payload).unwrap(),
        pr_changed(gitlab_test(), 1, None, "merge_request.open"),
    );
}

#[test]
fn merge_request_without_an_iid_names_the_field() {
    let mut payload = fixture("merge_request");
    payload["object_attributes"]
        .as_object_mut()
        .expect("object_attributes is an object")
        .remove("iid");
    let err = parse_value(MERGE_REQUEST_HOOK, &payload).unwrap_err();
    assert!(
        matches!(err, WebhookError::MissingField("object_attributes.iid")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "payload is missing `object_attributes.iid`"
    );
}

#[test]
fn merge_request_without_a_project_path_names_the_field() {
    let mut payload = fixture("merge_request");
    payload["project"]["path_with_namespace"] = Value::Null;
    let err = parse_value(MERGE_REQUEST_HOOK, &payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "payload is missing `project.path_with_namespace`"
    );
}

#[test]
fn a_field_of_the_wrong_type_is_an_invalid_shape() {
    let mut payload = fixture("merge_request");
    payload["object_attributes"]["iid"] = json!("1");
    let err = parse_value(MERGE_REQUEST_HOOK, &payload).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidShape(_)), "{err:?}");
}

#[test]
fn push_changing_a_policy_file_re_evaluates_the_branch() {
    for (list, path) in [
        ("modified", ".gitlab/smallbatch.yml"),
        ("added", ".smallbatch.yml"),
        ("removed", ".github/smallbatch.yml"),
        ("modified", ".gitattributes"),
    ] {
        let mut payload = complete_push();
        payload["commits"][1][list]
            .as_array_mut()
            .expect("commit file lists are arrays")
            .push(json!(path));
        assert_eq!(
            parse_value(PUSH_HOOK, &payload).unwrap(),
            policy_changed("master"),
            "{list} {path}"
        );
    }
}

#[test]
fn push_without_policy_files_is_ignored() {
    assert_eq!(
        parse_value(PUSH_HOOK, &complete_push()).unwrap(),
        ignored("push to master: no policy file changed"),
    );

    // Only the root `.gitattributes` and the known policy paths are read by the gate.
    let mut nested = complete_push();
    nested["commits"][0]["modified"] = json!(["docs/.gitattributes", "src/.smallbatch.yml"]);
    assert_eq!(
        parse_value(PUSH_HOOK, &nested).unwrap(),
        ignored("push to master: no policy file changed"),
    );
}

#[test]
fn truncated_push_re_evaluates_the_branch() {
    // The real payload lists 2 commits of `total_commits_count: 4`, none touching policy.
    let payload = fixture("push");
    assert_eq!(payload["total_commits_count"], json!(4));
    assert_eq!(parse_fixture(PUSH_HOOK, "push"), policy_changed("master"));

    // GitLab's cap of 20 commits.
    let mut capped = complete_push();
    let commit = capped["commits"][0].clone();
    capped["commits"] = Value::Array(vec![commit; 20]);
    capped["total_commits_count"] = json!(21);
    assert_eq!(
        parse_value(PUSH_HOOK, &capped).unwrap(),
        policy_changed("master")
    );
}

#[test]
fn push_to_a_tag_or_a_deleted_branch_is_ignored() {
    assert_eq!(
        parse_fixture(PUSH_HOOK, "tag_push"),
        ignored("push to refs/tags/v1.0.0: not a branch"),
    );

    let mut deleted = fixture("push");
    deleted["ref"] = json!("refs/heads/feature/old");
    deleted["after"] = json!("0000000000000000000000000000000000000000");
    deleted["checkout_sha"] = Value::Null;
    deleted["commits"] = json!([]);
    deleted["total_commits_count"] = json!(0);
    assert_eq!(
        parse_value(PUSH_HOOK, &deleted).unwrap(),
        ignored("push: branch feature/old was deleted"),
    );
}

#[test]
fn push_without_after_names_the_field() {
    let mut payload = fixture("push");
    payload
        .as_object_mut()
        .expect("payload is an object")
        .remove("after");
    let err = parse_value(PUSH_HOOK, &payload).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `after`");
}

/// The event `note_merge_request.json` stands for, with `body` as the note.
fn comment_posted(body: &str, author: User) -> Parsed {
    Parsed::Events(vec![DomainEvent::CommentPosted {
        pr: PrRef {
            repo: RepoRef::gitlab("gitlab-org/gitlab-test"),
            number: PrNumber(1),
        },
        comment: PostedComment {
            id: CommentId(1244),
            author,
            body: body.to_owned(),
            previous_body: None,
        },
    }])
}

fn note_with(field: &str, value: Value) -> Value {
    let mut payload = fixture("note_merge_request");
    payload["object_attributes"][field] = value;
    payload
}

#[test]
fn a_new_merge_request_comment_is_posted_for_its_commands() {
    assert_eq!(
        parse_fixture("Note Hook", "note_merge_request"),
        comment_posted("This MR needs work.", User::human("root")),
    );
    // Internal notes arrive under their own header and carry commands all the same.
    assert_eq!(
        parse_fixture("Confidential Note Hook", "note_merge_request"),
        comment_posted("This MR needs work.", User::human("root")),
    );
}

#[test]
fn an_edited_comment_is_posted_without_its_previous_body() {
    let mut edited = note_with("action", json!("update"));
    edited["object_attributes"]["note"] = json!("/ship production");
    assert_eq!(
        parse_value("Note Hook", &edited).unwrap(),
        comment_posted("/ship production", User::human("root")),
    );
}

#[test]
fn a_comment_without_an_action_is_a_new_one() {
    let mut old_gitlab = fixture("note_merge_request");
    old_gitlab["object_attributes"]
        .as_object_mut()
        .expect("object_attributes is an object")
        .remove("action");
    assert_eq!(
        parse_value("Note Hook", &old_gitlab).unwrap(),
        comment_posted("This MR needs work.", User::human("root")),
    );
}

#[test]
fn a_comment_by_a_project_token_is_a_bots() {
    let mut by_bot = fixture("note_merge_request");
    by_bot["user"]["username"] = json!("project_5_bot_0a1f");
    assert_eq!(
        parse_value("Note Hook", &by_bot).unwrap(),
        comment_posted("This MR needs work.", User::bot("project_5_bot_0a1f")),
    );
}

#[test]
fn system_notes_and_other_actions_are_ignored() {
    assert_eq!(
        parse_value("Note Hook", &note_with("system", json!(true))).unwrap(),
        ignored("Note Hook: a system note"),
    );
    assert_eq!(
        parse_value("Note Hook", &note_with("action", json!("delete"))).unwrap(),
        ignored("Note Hook: `delete` is not a new or edited comment"),
    );
}

#[test]
fn comments_on_issues_commits_and_snippets_are_ignored() {
    assert_eq!(
        parse_fixture("Note Hook", "note_issue"),
        ignored("Note Hook: not a merge request comment (Issue)"),
    );
    for (name, noteable) in [("note_commit", "Commit"), ("note_snippet", "Snippet")] {
        let body = std::fs::read(upstream_dir().join(format!("{name}.json"))).expect("exists");
        assert_eq!(
            parse("Note Hook", &body).unwrap(),
            ignored(&format!(
                "Note Hook: not a merge request comment ({noteable})"
            )),
            "{name}"
        );
    }
}

#[test]
fn a_merge_request_comment_missing_what_commands_need_names_the_field() {
    let mut no_iid = fixture("note_merge_request");
    no_iid["merge_request"]
        .as_object_mut()
        .expect("merge_request is an object")
        .remove("iid");
    let err = parse_value("Note Hook", &no_iid).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `merge_request.iid`");

    let err = parse_value("Note Hook", &note_with("id", Value::Null)).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `object_attributes.id`");

    let mut no_user = fixture("note_merge_request");
    no_user["user"]
        .as_object_mut()
        .expect("user is an object")
        .remove("username");
    let err = parse_value("Note Hook", &no_user).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `user.username`");
}

/// `commit_url`'s last segment in `deployment.json`; the payload has no full sha field.
const DEPLOYED_SHA: &str = "279484c09fbe69ededfced8c1bb6e6d24616b468";

fn deployment_changed(state: DeploymentState) -> Parsed {
    Parsed::Events(vec![DomainEvent::DeploymentChanged {
        repo: RepoRef::gitlab("root/test-deployment-webhooks"),
        deployment: DeploymentRef {
            id: 15,
            sha: CommitSha::new(DEPLOYED_SHA),
            environment: "staging".into(),
        },
        state,
    }])
}

fn deployment_with(field: &str, value: Value) -> Value {
    let mut payload = fixture("deployment");
    payload[field] = value;
    payload
}

#[test]
fn a_deployment_event_names_the_deployment_its_commit_and_state() {
    assert_eq!(
        parse_fixture("Deployment Hook", "deployment"),
        deployment_changed(DeploymentState::Success),
    );
    for (status, state) in [
        ("created", DeploymentState::Pending),
        ("blocked", DeploymentState::Pending),
        ("running", DeploymentState::InProgress),
        ("success", DeploymentState::Success),
        ("failed", DeploymentState::Failure),
        ("canceled", DeploymentState::Inactive),
    ] {
        assert_eq!(
            parse_value("Deployment Hook", &deployment_with("status", json!(status))).unwrap(),
            deployment_changed(state),
            "{status}"
        );
    }
    assert_eq!(
        parse_value(
            "Deployment Hook",
            &deployment_with("status", json!("exploded"))
        )
        .unwrap(),
        ignored("Deployment Hook: unknown deployment status `exploded`"),
    );
}

#[test]
fn a_deployment_whose_commit_url_does_not_end_in_its_sha_is_rejected() {
    for url in [
        "http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/",
        "http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/abcdef0123",
        "http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/279484c0zz",
    ] {
        let err = parse_value(
            "Deployment Hook",
            &deployment_with("commit_url", json!(url)),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "payload is missing `commit_url`", "{url}");
    }
    let err = parse_value(
        "Deployment Hook",
        &deployment_with("deployment_id", Value::Null),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `deployment_id`");
}

#[test]
fn events_the_gate_does_not_react_to_are_ignored() {
    let cases = [
        (
            "Pipeline Hook",
            "pipeline",
            "Pipeline Hook: CI does not change the verdict",
        ),
        (
            "Job Hook",
            "job",
            "Job Hook: CI does not change the verdict",
        ),
        (
            "Tag Push Hook",
            "tag_push",
            "Tag Push Hook: tags have no merge requests",
        ),
        (
            "Emoji Hook",
            "note_issue",
            "Emoji Hook: not an event the gate reacts to",
        ),
    ];
    for (event, name, reason) in cases {
        assert_eq!(parse_fixture(event, name), ignored(reason), "{event}");
    }
}

#[test]
fn system_hook_deliveries_are_read_by_their_object_kind() {
    assert_eq!(
        parse_fixture("System Hook", "merge_request"),
        pr_changed(gitlab_test(), 1, Some(HEAD_SHA), "merge_request.open"),
    );
    assert_eq!(
        parse_fixture("System Hook", "push"),
        policy_changed("master")
    );
    assert_eq!(
        parse_fixture("System Hook", "tag_push"),
        ignored("System Hook: `tag_push` is not an event the gate reacts to"),
    );

    let member = std::fs::read(upstream_dir().join("member.json")).expect("member.json exists");
    assert_eq!(
        parse("System Hook", &member).unwrap(),
        ignored("System Hook: `user_add_to_group` is not an event the gate reacts to"),
    );
}

#[test]
fn malformed_json_is_rejected_for_every_event() {
    for event in [
        "Merge Request Hook",
        "Push Hook",
        "Note Hook",
        "System Hook",
        "Pipeline Hook",
        "Emoji Hook",
    ] {
        let err = parse(event, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedJson(_)),
            "{event}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "malformed JSON payload: expected value at line 1 column 1"
        );
        let truncated = parse(event, b"{\"object_kind\": \"merge_request\",").unwrap_err();
        assert!(
            matches!(truncated, WebhookError::MalformedJson(_)),
            "{event}: {truncated:?}"
        );
    }
}
