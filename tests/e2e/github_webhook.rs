//! GitHub webhook parsing against real deliveries (fixtures/github, see its README).

use serde_json::{json, Value};
use smallbatch::domain::{
    CommentId, CommitSha, DeploymentRef, DeploymentState, DomainEvent, InstallationId, MergeGroup,
    PostedComment, PrNumber, PrRef, RepoRef, User,
};
use smallbatch::forge::github::webhook::{parse, Parsed, WebhookError};
use std::path::{Path, PathBuf};

const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/github")
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

fn hello_world() -> RepoRef {
    RepoRef::github("Codertocat/Hello-World", InstallationId(1))
}

fn pr_changed(repo: RepoRef, number: u64, head_sha: &str, cause: &str) -> DomainEvent {
    DomainEvent::PrChanged {
        pr: PrRef {
            repo,
            number: PrNumber(number),
        },
        head_sha: Some(CommitSha::new(head_sha)),
        cause: cause.to_owned(),
    }
}

fn events(events: Vec<DomainEvent>) -> Parsed {
    Parsed::Events(events)
}

fn ignored(reason: &str) -> Parsed {
    Parsed::Ignored {
        reason: reason.to_owned(),
    }
}

#[test]
fn every_fixture_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures/github exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        // `<event>.<action>.json` or `<event>.json`.
        let event = file_name.split('.').next().expect("split yields one item");
        let body = std::fs::read(&path).expect("readable fixture");
        if let Err(e) = parse(event, &body) {
            panic!("{file_name} failed to parse as `{event}`: {e}");
        }
        seen += 1;
    }
    assert!(seen >= 29, "only {seen} fixtures found");
}

#[test]
fn pull_request_actions_that_change_the_verdict() {
    for action in [
        "opened",
        "synchronize",
        "reopened",
        "ready_for_review",
        "converted_to_draft",
    ] {
        let cause = format!("pull_request.{action}");
        assert_eq!(
            parse_fixture("pull_request", &cause),
            events(vec![pr_changed(hello_world(), 2, HEAD_SHA, &cause)]),
        );
    }
}

#[test]
fn pull_request_head_sha_is_the_payloads() {
    let mut payload = fixture("pull_request.synchronize");
    payload["pull_request"]["head"]["sha"] = json!("1111111111111111111111111111111111111111");
    payload["number"] = json!(7);
    payload["pull_request"]["number"] = json!(7);
    assert_eq!(
        parse_value("pull_request", &payload).unwrap(),
        events(vec![pr_changed(
            hello_world(),
            7,
            "1111111111111111111111111111111111111111",
            "pull_request.synchronize",
        )]),
    );
}

#[test]
fn pull_request_edited_counts_only_when_retargeted() {
    let mut payload = fixture("pull_request.opened");
    payload["action"] = json!("edited");
    payload["changes"] = json!({"title": {"from": "Update the README"}});
    assert_eq!(
        parse_value("pull_request", &payload).unwrap(),
        ignored("pull_request.edited: title or body only, the base is unchanged"),
    );

    payload["changes"] = json!({"base": {"ref": {"from": "develop"}, "sha": {"from": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}}});
    assert_eq!(
        parse_value("pull_request", &payload).unwrap(),
        events(vec![pr_changed(
            hello_world(),
            2,
            HEAD_SHA,
            "pull_request.edited"
        )]),
    );
}

#[test]
fn pull_request_actions_that_do_not_change_the_verdict() {
    let cases = [
        (
            "pull_request.assigned",
            "pull_request.assigned: does not change the verdict",
        ),
        (
            "pull_request.review_requested",
            "pull_request.review_requested: does not change the verdict",
        ),
    ];
    for (name, reason) in cases {
        assert_eq!(
            parse_fixture("pull_request", name),
            ignored(reason),
            "{name}"
        );
    }
}

#[test]
fn a_label_change_is_evaluated_unless_it_is_a_size_label() {
    // The fixtures add and remove `bug`, which `exempt.labels` may name.
    for action in ["labeled", "unlabeled"] {
        let cause = format!("pull_request.{action}");
        assert_eq!(
            parse_fixture("pull_request", &cause),
            events(vec![pr_changed(hello_world(), 2, HEAD_SHA, &cause)]),
        );
        // The bot's own size labels come back as these actions: they are not evaluated.
        let mut ours = fixture(&cause);
        ours["label"]["name"] = json!("size/XL");
        assert_eq!(
            parse_value("pull_request", &ours).unwrap(),
            ignored(&format!(
                "pull_request.{action}: `size/XL` is a size label, which smallbatch sets itself"
            )),
        );
        ours.as_object_mut().unwrap().remove("label");
        let err = parse_value("pull_request", &ours).unwrap_err();
        assert_eq!(err.to_string(), "payload is missing `label`");
    }
}

#[test]
fn a_closed_pull_request_restacks_the_ones_above_it() {
    assert_eq!(
        parse_fixture("pull_request", "pull_request.closed"),
        events(vec![DomainEvent::PrClosed {
            pr: PrRef {
                repo: hello_world(),
                number: PrNumber(2),
            },
        }]),
    );
}

#[test]
fn pull_request_review_changes() {
    for action in ["submitted", "dismissed"] {
        let cause = format!("pull_request_review.{action}");
        assert_eq!(
            parse_fixture("pull_request_review", &cause),
            events(vec![pr_changed(hello_world(), 2, HEAD_SHA, &cause)]),
        );
    }

    let mut edited = fixture("pull_request_review.submitted");
    edited["action"] = json!("edited");
    edited["changes"] = json!({"body": {"from": "Looks good"}});
    assert_eq!(
        parse_value("pull_request_review", &edited).unwrap(),
        events(vec![pr_changed(
            hello_world(),
            2,
            HEAD_SHA,
            "pull_request_review.edited"
        )]),
    );
}

#[test]
fn push_changing_a_policy_file_re_evaluates_the_branch() {
    let policy_changed = events(vec![DomainEvent::PolicyChanged {
        repo: hello_world(),
        branch: "master".to_owned(),
    }]);
    for (list, path) in [
        ("modified", ".github/smallbatch.yml"),
        ("added", ".smallbatch.yml"),
        ("added", ".gitlab/smallbatch.yml"),
        ("removed", ".gitattributes"),
    ] {
        let mut payload = fixture("push");
        payload["commits"][0][list]
            .as_array_mut()
            .expect("commit file lists are arrays")
            .push(json!(path));
        assert_eq!(
            parse_value("push", &payload).unwrap(),
            policy_changed,
            "{list} {path}"
        );
    }
}

#[test]
fn push_without_policy_files_is_ignored() {
    assert_eq!(
        parse_fixture("push", "push"),
        ignored("push to master: no policy file changed"),
    );

    // Only the root `.gitattributes` is read by the gate.
    let mut payload = fixture("push");
    payload["commits"][0]["modified"] = json!(["docs/.gitattributes", "src/.smallbatch.yml"]);
    assert_eq!(
        parse_value("push", &payload).unwrap(),
        ignored("push to master: no policy file changed"),
    );
}

#[test]
fn push_whose_commit_list_may_be_incomplete_re_evaluates_the_branch() {
    let policy_changed = events(vec![DomainEvent::PolicyChanged {
        repo: hello_world(),
        branch: "master".to_owned(),
    }]);

    let mut capped = fixture("push");
    let commit = capped["commits"][0].clone();
    capped["commits"] = Value::Array(vec![commit; 20]);
    assert_eq!(parse_value("push", &capped).unwrap(), policy_changed);

    let mut headless = fixture("push");
    headless["head_commit"] = Value::Null;
    assert_eq!(parse_value("push", &headless).unwrap(), policy_changed);

    let mut forced = fixture("push");
    forced["forced"] = json!(true);
    assert_eq!(parse_value("push", &forced).unwrap(), policy_changed);
}

#[test]
fn push_to_a_tag_or_a_deleted_branch_is_ignored() {
    assert_eq!(
        parse_fixture("push", "push.tag_deleted"),
        ignored("push to refs/tags/simple-tag: not a branch"),
    );

    let mut deleted = fixture("push");
    deleted["deleted"] = json!(true);
    deleted["head_commit"] = Value::Null;
    deleted["commits"] = json!([]);
    assert_eq!(
        parse_value("push", &deleted).unwrap(),
        ignored("push: branch master was deleted"),
    );
}

#[test]
fn check_run_rerequested_for_our_check_re_evaluates_each_pr() {
    let mut payload = fixture("check_run.rerequested");
    payload["check_run"]["name"] = json!("smallbatch");
    let suite = fixture("check_suite.rerequested");
    let pr = suite["check_suite"]["pull_requests"][0].clone();
    let mut other = pr.clone();
    other["number"] = json!(3);
    other["head"]["sha"] = json!("2222222222222222222222222222222222222222");
    payload["check_run"]["pull_requests"] = json!([pr, other]);

    let repo = RepoRef::github("github/hello-world", InstallationId(1));
    assert_eq!(
        parse_value("check_run", &payload).unwrap(),
        events(vec![
            pr_changed(repo.clone(), 2, HEAD_SHA, "check_run.rerequested"),
            pr_changed(
                repo,
                3,
                "2222222222222222222222222222222222222222",
                "check_run.rerequested"
            ),
        ]),
    );
}

#[test]
fn check_run_requested_action_for_our_check_re_evaluates_the_pr() {
    let mut payload = fixture("check_run.requested_action");
    payload["check_run"]["name"] = json!("smallbatch");
    assert_eq!(
        parse_value("check_run", &payload).unwrap(),
        events(vec![pr_changed(
            RepoRef::github("electron/electron", InstallationId(690857)),
            26764,
            "5bd5f196a46b8222fb7484f05faba41a73cf34bd",
            "check_run.requested_action",
        )]),
    );
}

#[test]
fn check_runs_that_are_not_ours_or_not_reruns_are_ignored() {
    assert_eq!(
        parse_fixture("check_run", "check_run.rerequested"),
        ignored("check_run.rerequested: `randscape` is not our check run"),
    );
    assert_eq!(
        parse_fixture("check_run", "check_run.requested_action"),
        ignored("check_run.requested_action: `API Review` is not our check run"),
    );
    assert_eq!(
        parse_fixture("check_run", "check_run.completed"),
        ignored("check_run.completed: not a re-run request"),
    );

    // Ours, but GitHub attached no PR (it does so for heads in forks).
    let mut payload = fixture("check_run.rerequested");
    payload["check_run"]["name"] = json!("smallbatch");
    assert_eq!(
        parse_value("check_run", &payload).unwrap(),
        ignored("check_run.rerequested: no pull request is attached"),
    );
}

#[test]
fn check_suite_rerequested_re_evaluates_its_prs() {
    assert_eq!(
        parse_fixture("check_suite", "check_suite.rerequested"),
        events(vec![pr_changed(
            RepoRef::github("Codertocat/Hello-World", InstallationId(957387)),
            2,
            HEAD_SHA,
            "check_suite.rerequested"
        )]),
    );
    assert_eq!(
        parse_fixture("check_suite", "check_suite.requested"),
        ignored("check_suite.requested: not a re-run request"),
    );
}

#[test]
fn events_the_gate_does_not_react_to_are_ignored() {
    let cases = [
        ("ping", "ping", "ping: the hook is set up"),
        (
            "installation",
            "installation.created",
            "installation: installations are looked up when needed",
        ),
        (
            "installation_repositories",
            "installation_repositories.added",
            "installation_repositories: installations are looked up when needed",
        ),
        ("star", "ping", "star: not an event the gate reacts to"),
    ];
    for (event, name, reason) in cases {
        assert_eq!(parse_fixture(event, name), ignored(reason), "{event}");
    }
}

/// The upstream comment examples are on an issue; GitHub marks a PR's issue with this
/// key (the shape of a real delivery's `issue.pull_request`).
fn on_a_pull_request(mut payload: Value) -> Value {
    let number = payload["issue"]["number"].clone();
    payload["issue"]["pull_request"] = json!({
        "url": format!("https://api.github.com/repos/Codertocat/Hello-World/pulls/{number}"),
        "html_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}"),
        "diff_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}.diff"),
        "patch_url": format!("https://github.com/Codertocat/Hello-World/pull/{number}.patch"),
        "merged_at": null,
    });
    payload
}

fn comment_posted(body: &str, previous_body: Option<&str>) -> Parsed {
    events(vec![DomainEvent::CommentPosted {
        pr: PrRef {
            repo: hello_world(),
            number: PrNumber(1),
        },
        comment: PostedComment {
            id: CommentId(492700400),
            author: User::human("Codertocat"),
            body: body.to_owned(),
            previous_body: previous_body.map(str::to_owned),
        },
    }])
}

#[test]
fn a_new_comment_on_a_pull_request_is_posted() {
    let payload = on_a_pull_request(fixture("issue_comment.created"));
    assert_eq!(
        parse_value("issue_comment", &payload).unwrap(),
        comment_posted(
            "You are totally right! I'll get this fixed right away.",
            None
        ),
    );
}

#[test]
fn an_edited_comment_carries_its_previous_body() {
    let payload = on_a_pull_request(fixture("issue_comment.edited"));
    assert_eq!(
        parse_value("issue_comment", &payload).unwrap(),
        comment_posted(
            "You are totally right! I'll get this fixed today.",
            Some("You are totally right! I'll get this fixed right away."),
        ),
    );

    // An edit that did not touch the body (GitHub sends no `changes.body`).
    let mut untouched = payload;
    untouched["changes"] = json!({});
    assert_eq!(
        parse_value("issue_comment", &untouched).unwrap(),
        comment_posted("You are totally right! I'll get this fixed today.", None),
    );
}

#[test]
fn comments_on_plain_issues_deleted_comments_and_bots_are_ignored() {
    assert_eq!(
        parse_fixture("issue_comment", "issue_comment.created"),
        ignored("issue_comment.created: #1 is an issue, not a pull request"),
    );
    assert_eq!(
        parse_fixture("issue_comment", "issue_comment.edited"),
        ignored("issue_comment.edited: #1 is an issue, not a pull request"),
    );
    let deleted = on_a_pull_request(fixture("issue_comment.deleted"));
    assert_eq!(
        parse_value("issue_comment", &deleted).unwrap(),
        ignored("issue_comment.deleted: only new and edited comments carry commands"),
    );

    // Our own guidance comment comes back on every edit; so do other bots' comments.
    let mut ours = on_a_pull_request(fixture("issue_comment.edited"));
    ours["comment"]["user"]["login"] = json!("smallbatch[bot]");
    ours["comment"]["user"]["type"] = json!("Bot");
    assert_eq!(
        parse_value("issue_comment", &ours).unwrap(),
        ignored("issue_comment.edited: smallbatch[bot] is a bot; bots do not command us"),
    );
}

#[test]
fn a_comment_without_a_body_names_the_field() {
    let mut payload = on_a_pull_request(fixture("issue_comment.created"));
    payload["comment"]["body"] = Value::Null;
    let err = parse_value("issue_comment", &payload).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `comment.body`");
}

fn deployment_changed(environment: &str, state: DeploymentState) -> Parsed {
    events(vec![DomainEvent::DeploymentChanged {
        repo: hello_world(),
        deployment: DeploymentRef {
            id: 145988746,
            sha: CommitSha::new("f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
            environment: environment.to_owned(),
        },
        state,
    }])
}

#[test]
fn deployment_statuses_become_deployment_changes() {
    assert_eq!(
        parse_fixture("deployment_status", "deployment_status.created"),
        deployment_changed("production", DeploymentState::Success),
    );
    assert_eq!(
        parse_fixture("deployment_status", "deployment_status.in_progress"),
        deployment_changed("github-pages", DeploymentState::InProgress),
    );

    for (github, state) in [
        ("pending", DeploymentState::Pending),
        ("queued", DeploymentState::Queued),
        ("failure", DeploymentState::Failure),
        ("error", DeploymentState::Error),
        ("inactive", DeploymentState::Inactive),
    ] {
        let mut payload = fixture("deployment_status.created");
        payload["deployment_status"]["state"] = json!(github);
        assert_eq!(
            parse_value("deployment_status", &payload).unwrap(),
            deployment_changed("production", state),
            "{github}"
        );
    }
}

#[test]
fn unknown_deployment_states_are_ignored_and_a_deployment_needs_its_sha() {
    let mut payload = fixture("deployment_status.created");
    payload["deployment_status"]["state"] = json!("waiting");
    assert_eq!(
        parse_value("deployment_status", &payload).unwrap(),
        ignored("deployment_status.created: unknown state `waiting`"),
    );

    let mut payload = fixture("deployment_status.created");
    payload["deployment"]
        .as_object_mut()
        .expect("deployment is an object")
        .remove("sha");
    let err = parse_value("deployment_status", &payload).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `deployment.sha`");
}

#[test]
fn a_merge_group_asking_for_checks_is_queued_for_its_head_pr() {
    assert_eq!(
        parse_fixture("merge_group", "merge_group.checks_requested"),
        events(vec![DomainEvent::MergeGroupQueued {
            repo: RepoRef::github("octo-org/octo-repo", InstallationId(1)),
            group: MergeGroup {
                head_sha: CommitSha::new("2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d"),
                head_ref: "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64".into(),
                base_sha: CommitSha::new("380387fbc80638b734a49e1be1c4dfec1c01b33c"),
                base_branch: "main".into(),
                head_pr: PrNumber(104),
            },
        }]),
    );
}

#[test]
fn a_destroyed_merge_group_is_ignored_with_its_reason() {
    assert_eq!(
        parse_fixture("merge_group", "merge_group.destroyed"),
        ignored("merge_group.destroyed (merged): no checks are requested"),
    );
}

#[test]
fn a_merge_group_on_a_branch_that_is_not_the_queues_is_ignored() {
    let mut payload = fixture("merge_group.checks_requested");
    payload["merge_group"]["head_ref"] = json!("refs/heads/feature");
    assert_eq!(
        parse_value("merge_group", &payload).unwrap(),
        ignored("merge_group.checks_requested: `refs/heads/feature` is not a merge queue branch of `refs/heads/main`"),
    );
    // The queue branch must be the base's own.
    payload["merge_group"]["head_ref"] = json!(
        "refs/heads/gh-readonly-queue/develop/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64"
    );
    assert!(matches!(
        parse_value("merge_group", &payload).unwrap(),
        Parsed::Ignored { .. }
    ));
}

#[test]
fn a_merge_group_without_its_base_commit_names_the_field() {
    let mut payload = fixture("merge_group.checks_requested");
    payload["merge_group"]
        .as_object_mut()
        .expect("merge_group is an object")
        .remove("base_sha");
    let err = parse_value("merge_group", &payload).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `merge_group.base_sha`");
}

#[test]
fn malformed_json_is_rejected_for_every_event() {
    for event in ["pull_request", "push", "merge_group", "ping", "star"] {
        let err = parse(event, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedJson(_)),
            "{event}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "malformed JSON payload: expected value at line 1 column 1"
        );
        let truncated = parse(event, b"{\"action\": \"opened\",").unwrap_err();
        assert!(
            matches!(truncated, WebhookError::MalformedJson(_)),
            "{event}: {truncated:?}"
        );
    }
}

#[test]
fn pull_request_without_a_number_names_the_field() {
    let mut payload = fixture("pull_request.opened");
    payload["pull_request"]
        .as_object_mut()
        .expect("pull_request is an object")
        .remove("number");
    let err = parse_value("pull_request", &payload).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::MissingField("pull_request.number")
    ));
    assert_eq!(err.to_string(), "payload is missing `pull_request.number`");
}

#[test]
fn a_merged_pull_request_restacks_and_is_told_with_its_title_and_body() {
    let mut payload = fixture("pull_request.closed");
    payload["pull_request"]["merged"] = json!(true);
    payload["pull_request"]["title"] = json!("Revert \"Add invoices\"");
    payload["pull_request"]["body"] = json!("Reverts Codertocat/Hello-World#1");
    let pr = PrRef {
        repo: RepoRef::github("Codertocat/Hello-World", InstallationId(1)),
        number: PrNumber(2),
    };
    assert_eq!(
        parse_value("pull_request", &payload).unwrap(),
        Parsed::Events(vec![
            DomainEvent::PrClosed { pr: pr.clone() },
            DomainEvent::ChangeMerged {
                pr,
                title: "Revert \"Add invoices\"".into(),
                body: "Reverts Codertocat/Hello-World#1".into(),
            }
        ])
    );
    // No body is an empty one.
    payload["pull_request"]["body"] = Value::Null;
    let Parsed::Events(events) = parse_value("pull_request", &payload).unwrap() else {
        panic!("an event");
    };
    assert!(matches!(&events[1], DomainEvent::ChangeMerged { body, .. } if body.is_empty()));
}

#[test]
fn acting_without_an_installation_is_an_error() {
    let mut payload = fixture("pull_request.opened");
    payload
        .as_object_mut()
        .expect("payload is an object")
        .remove("installation");
    let err = parse_value("pull_request", &payload).unwrap_err();
    assert_eq!(err.to_string(), "payload is missing `installation`");

    // Events we ignore need no installation.
    payload["action"] = json!("assigned");
    assert_eq!(
        parse_value("pull_request", &payload).unwrap(),
        ignored("pull_request.assigned: does not change the verdict"),
    );
}

#[test]
fn a_field_of_the_wrong_type_is_an_invalid_shape() {
    let mut payload = fixture("pull_request.opened");
    payload["pull_request"]["number"] = json!("2");
    let err = parse_value("pull_request", &payload).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidShape(_)), "{err:?}");
}
