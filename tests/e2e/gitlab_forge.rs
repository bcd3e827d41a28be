//! The GitLab adapter against a mock GitLab (wiremock). Every mock states how often it
//! must be hit, so an extra or missing call fails the test.

use secrecy::SecretString;
use serde_json::{json, Value};
use smallbatch::domain::{
    CommentId, CommitSha, DeploymentState, FileChange, FileStatus, ForgeKind, Permission, PrNumber,
    PrRef, PrSnapshot, PrState, RepoRef, Review, ReviewState, StatusTarget, User,
};
use smallbatch::forge::gitlab::{GitLabApp, GitLabForge, RetryPolicy, SetupError};
use smallbatch::forge::{
    CheckOutcome, DeploymentStart, Forge, ForgeError, GateStatus, HeadCheck, MergeMethod,
    MergeReadiness, OurRun,
};
use smallbatch::policy::{Conclusion, SizeLabel};
use std::time::Duration;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const TOKEN: &str = "glpat-test-token-0123456789";
/// `acme/tools/widgets`, URL-encoded as GitLab's project id.
const PROJECT: &str = "/api/v4/projects/acme%2Ftools%2Fwidgets";
const MR: &str = "/api/v4/projects/acme%2Ftools%2Fwidgets/merge_requests/7";

fn app_at(base_url: &str) -> GitLabApp {
    GitLabApp {
        base_url: Url::parse(base_url).unwrap(),
        token: SecretString::from(TOKEN),
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total_wait: Duration::from_secs(5),
    }
}

fn forge(server: &MockServer) -> GitLabForge {
    GitLabForge::with_retry_policy(app_at(&server.uri()), fast_retries()).unwrap()
}

fn project(full_name: &str) -> RepoRef {
    RepoRef {
        forge: ForgeKind::GitLab,
        full_name: full_name.into(),
        installation: None,
    }
}

fn repo() -> RepoRef {
    project("acme/tools/widgets")
}

fn pr() -> PrRef {
    PrRef {
        repo: repo(),
        number: PrNumber(7),
    }
}

fn sha(c: char) -> CommitSha {
    CommitSha::new(c.to_string().repeat(40))
}

fn fixture(name: &str) -> Value {
    let file = format!("{}/fixtures/gitlab/api/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn get(endpoint: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(endpoint.to_owned()))
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// `GET .../repository/files/<path>/raw?ref=<commit>` answering `content`.
async fn mount_raw(server: &MockServer, project: &str, file: &str, commit: &str, content: &str) {
    let encoded = file.replace('/', "%2F");
    get(&format!("{project}/repository/files/{encoded}/raw"))
        .and(query_param("ref", commit))
        .respond_with(ResponseTemplate::new(200).set_body_string(content))
        .expect(1)
        .mount(server)
        .await;
}

/// No approvals. The reviewers' states are read only when the MR lists reviewers.
async fn mount_no_approvals(server: &MockServer, mr: &str) {
    get(&format!("{mr}/approvals"))
        .respond_with(ok_json(json!({ "approved_by": [] })))
        .expect(1)
        .mount(server)
        .await;
}

/// An instance older than GitLab 17 has no reviewer states.
async fn mount_no_reviewer_states(server: &MockServer, mr: &str) {
    get(&format!("{mr}/reviewers"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({ "message": "404 Not found" })),
        )
        .expect(1)
        .mount(server)
        .await;
}

async fn read_policy_file(forge: &GitLabForge) -> Result<Option<String>, ForgeError> {
    forge
        .file_at(&repo(), &sha('a'), ".gitlab/smallbatch.yml")
        .await
}

const POLICY_FILE: &str =
    "/api/v4/projects/acme%2Ftools%2Fwidgets/repository/files/.gitlab%2Fsmallbatch.yml/raw";

#[tokio::test]
async fn snapshot_of_a_real_merge_request_counts_unreadable_diffs_from_the_files() {
    let server = MockServer::start().await;
    let api_project = "/api/v4/projects/gitlab-org%2Fgitlab-ee";
    let mr = format!("{api_project}/merge_requests/14656");
    get(&mr)
        .respond_with(ok_json(fixture("get_merge_request.json")))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{mr}/diffs"))
        .and(query_param("per_page", "100"))
        .respond_with(ok_json(fixture("list_merge_request_diff.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_no_approvals(&server, &mr).await;
    // The fixture's MR lists a reviewer.
    mount_no_reviewer_states(&server, &mr).await;
    // The fixture's diffs lost their newlines ("@@ -1 +1 @@ -Title +README"), so their
    // lines are counted from the files at the head and at the merge base.
    let head = "8e0b45049b6253b8984cde9241830d2851168142";
    let base = "dd692733bb84bc3e9e862e66c099daec2fa00c83";
    mount_raw(&server, api_project, "README", head, "README\n").await;
    mount_raw(&server, api_project, "README", base, "Title\n").await;
    mount_raw(&server, api_project, "VERSION", head, "1.9.8\n").await;
    mount_raw(&server, api_project, "VERSION", base, "1.9.7\n").await;

    let mr_ref = PrRef {
        repo: project("gitlab-org/gitlab-ee"),
        number: PrNumber(14656),
    };
    let snapshot = forge(&server).snapshot(&mr_ref).await.unwrap();

    let modified = |path: &str| FileChange {
        path: path.into(),
        previous_path: None,
        status: FileStatus::Modified,
        additions: 1,
        deletions: 1,
        binary: false,
    };
    assert_eq!(
        snapshot,
        PrSnapshot {
            number: PrNumber(14656),
            title: "Add deletion support for designs".into(),
            html_url: "https://gitlab.com/gitlab-org/gitlab-ee/merge_requests/14656".into(),
            author: User::human("alexkalderimis"),
            state: PrState::Open,
            draft: true,
            head_sha: CommitSha::new(head),
            head_ref: Some("delete-designs-v2".into()),
            base_ref: "master".into(),
            base_sha: CommitSha::new(base),
            labels: [
                "GitLab Enterprise Edition",
                "backend",
                "database",
                "database::reviewed",
                "design management",
                "feature",
                "frontend",
                "group::knowledge",
                "missed:12.1",
            ]
            .map(String::from)
            .to_vec(),
            updated_at: "2019-08-20T09:09:56.690Z".into(),
            files: vec![modified("README"), modified("VERSION")],
            // `changes_count` says 35 while the recorded listing holds 2: a truncated listing.
            total_files: 35,
            total_additions: 2,
            total_deletions: 2,
            reviews: vec![],
            unchanged_since: vec![],
            estimated: vec!["README".into(), "VERSION".into()],
            // The head pipeline runs on the head: the gate's status joins it.
            status_target: Some(StatusTarget::Pipeline(77056819)),
        }
    );
    assert!(snapshot.files_truncated());
}

fn mr_json(changes_count: &str) -> Value {
    json!({
        "iid": 7,
        "title": "Frobnicate the widgets",
        "web_url": "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7",
        "author": { "id": 1, "username": "alice" },
        "state": "opened",
        "work_in_progress": false,
        "sha": sha('h').as_str(),
        "source_branch": "frob",
        "target_branch": "main",
        "diff_refs": { "base_sha": sha('b').as_str(), "head_sha": sha('h').as_str(), "start_sha": sha('b').as_str() },
        "labels": ["size/M"],
        "updated_at": "2026-11-27T04:00:00.000Z",
        "changes_count": changes_count,
        "head_pipeline": null
    })
}

fn entry(old: &str, new: &str, diff: &str) -> Value {
    json!({
        "old_path": old, "new_path": new, "a_mode": "100644", "b_mode": "100644",
        "diff": diff, "new_file": false, "renamed_file": false, "deleted_file": false
    })
}

fn with(mut value: Value, field: &str, flag: bool) -> Value {
    value[field] = json!(flag);
    value
}

fn change(path: &str, status: FileStatus, additions: u64, deletions: u64) -> FileChange {
    FileChange {
        path: path.into(),
        previous_path: None,
        status,
        additions,
        deletions,
        binary: false,
    }
}

#[tokio::test]
async fn snapshot_reads_paginated_diffs_estimates_hidden_ones_and_maps_reviews() {
    let server = MockServer::start().await;
    let mut mr = mr_json("9");
    mr["reviewers"] = json!([
        { "id": 3, "username": "carol" },
        { "id": 4, "username": "dave" },
        { "id": 5, "username": "erin" }
    ]);
    get(MR)
        .and(header("private-token", TOKEN))
        .respond_with(ok_json(mr))
        .expect(1)
        .mount(&server)
        .await;

    let diffs = format!("{MR}/diffs");
    let page1 = json!([
        entry(
            "src/a.rs",
            "src/a.rs",
            "@@ -1,2 +1,3 @@ fn a() {\n a\n-b\n+B\n+C\n"
        ),
        with(
            entry("src/new.rs", "src/new.rs", "@@ -0,0 +1,2 @@\n+x\n+y\n"),
            "new_file",
            true
        ),
        with(
            entry("src/old_name.rs", "src/new_name.rs", ""),
            "renamed_file",
            true
        ),
        with(
            entry("gone.c", "gone.c", "@@ -1,2 +0,0 @@\n-a\n-b\n"),
            "deleted_file",
            true
        ),
    ]);
    let page2 = json!([
        entry(
            "logo.png",
            "logo.png",
            "Binary files a/logo.png and b/logo.png differ\n"
        ),
        entry("icon.ico", "icon.ico", ""),
        with(
            with(entry("db/seed.sql", "db/seed.sql", ""), "too_large", true),
            "collapsed",
            true
        ),
        with(
            with(entry("db/new.sql", "db/new.sql", ""), "collapsed", true),
            "new_file",
            true
        ),
        with(
            json!({ "old_path": "img/new.png", "new_path": "img/new.png", "a_mode": "0",
                    "b_mode": "100644", "diff": "" }),
            "new_file",
            true,
        ),
    ]);
    get(&diffs)
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .respond_with(ok_json(page1).insert_header("x-next-page", "2"))
        .expect(1)
        .mount(&server)
        .await;
    get(&diffs)
        .and(query_param("per_page", "100"))
        .and(query_param("page", "2"))
        .respond_with(ok_json(page2).insert_header("x-next-page", ""))
        .expect(1)
        .mount(&server)
        .await;
    mount_raw(
        &server,
        PROJECT,
        "db/seed.sql",
        sha('h').as_str(),
        "1\n2\n3",
    )
    .await;
    mount_raw(&server, PROJECT, "db/seed.sql", sha('b').as_str(), "1\n2\n").await;
    mount_raw(
        &server,
        PROJECT,
        "db/new.sql",
        sha('h').as_str(),
        "a\nb\nc\nd\n",
    )
    .await;

    get(&format!("{MR}/approvals"))
        .respond_with(ok_json(json!({ "approved_by": [
            { "user": { "username": "bob" } },
            { "user": { "username": "carol" } },
            { "user": { "username": "project_12_bot_3f9a" } },
            { "user": { "username": "renovate", "bot": true } }
        ] })))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{MR}/reviewers"))
        .respond_with(ok_json(json!([
            { "user": { "username": "carol" }, "state": "requested_changes" },
            { "user": { "username": "dave" }, "state": "unreviewed" },
            { "user": { "username": "erin" }, "state": "reviewed" }
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let forge = forge(&server);
    assert!(forge.review_commits().is_none());
    let snapshot = forge.snapshot(&pr()).await.unwrap();

    let mut renamed = change("src/new_name.rs", FileStatus::Renamed, 0, 0);
    renamed.previous_path = Some("src/old_name.rs".into());
    let mut logo = change("logo.png", FileStatus::Modified, 0, 0);
    logo.binary = true;
    let mut icon = change("icon.ico", FileStatus::Modified, 0, 0);
    icon.binary = true;
    let mut new_png = change("img/new.png", FileStatus::Added, 0, 0);
    new_png.binary = true;
    assert_eq!(
        snapshot.files,
        vec![
            change("src/a.rs", FileStatus::Modified, 2, 1),
            change("src/new.rs", FileStatus::Added, 2, 0),
            renamed,
            change("gone.c", FileStatus::Removed, 0, 2),
            logo,
            icon,
            change("db/seed.sql", FileStatus::Modified, 3, 2),
            change("db/new.sql", FileStatus::Added, 4, 0),
            new_png,
        ]
    );
    // A whole new file's length is its exact diff; only seed.sql is an upper bound.
    assert_eq!(snapshot.estimated, ["db/seed.sql"]);
    assert_eq!(
        (
            snapshot.total_files,
            snapshot.total_additions,
            snapshot.total_deletions
        ),
        (9, 11, 5)
    );
    assert!(!snapshot.files_truncated());
    assert_eq!(
        (snapshot.state, snapshot.draft, snapshot.base_ref.as_str()),
        (PrState::Open, false, "main")
    );
    let review = |reviewer: User, state| Review {
        reviewer,
        state,
        commit: None,
    };
    // Approvals first, then current reviewer states, so carol's request for changes
    // (her present state) is the one the policy keeps.
    assert_eq!(
        snapshot.reviews,
        vec![
            review(User::human("bob"), ReviewState::Approved),
            review(User::human("carol"), ReviewState::Approved),
            review(User::bot("project_12_bot_3f9a"), ReviewState::Approved),
            review(User::bot("renovate"), ReviewState::Approved),
            review(User::human("carol"), ReviewState::ChangesRequested),
            review(User::human("erin"), ReviewState::Commented),
        ]
    );
    // GitLab has no per-approval commit: its own approval-reset setting governs staleness.
    assert_eq!(snapshot.unchanged_since, Vec::<CommitSha>::new());
}

#[tokio::test]
async fn a_changes_count_past_gitlabs_limit_marks_the_listing_truncated() {
    let server = MockServer::start().await;
    get(MR)
        .respond_with(ok_json(mr_json("2+")))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{MR}/diffs"))
        .respond_with(ok_json(json!([
            entry("a.rs", "a.rs", "@@ -1 +1 @@\n-a\n+b\n"),
            entry("b.rs", "b.rs", "@@ -1 +1 @@\n-a\n+b\n")
        ])))
        .expect(1)
        .mount(&server)
        .await;
    mount_no_approvals(&server, MR).await;

    let snapshot = forge(&server).snapshot(&pr()).await.unwrap();

    assert_eq!((snapshot.files.len(), snapshot.total_files), (2, 3));
    assert!(snapshot.files_truncated());
}

#[tokio::test]
async fn a_merge_request_whose_diff_is_not_ready_is_transient() {
    let server = MockServer::start().await;
    let mut mr = mr_json("0");
    mr["diff_refs"] = Value::Null;
    get(MR)
        .respond_with(ok_json(mr))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{MR}/diffs"))
        .respond_with(ok_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    mount_no_approvals(&server, MR).await;

    let err = forge(&server).snapshot(&pr()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "transient forge error: acme/tools/widgets!7: GitLab has not prepared the merge request's diff yet"
    );
}

#[tokio::test]
async fn file_at_reads_the_raw_file_with_the_token_and_a_missing_file_is_none() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .and(query_param("ref", sha('a').as_str()))
        .and(header("private-token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_string("max_lines: 400\n"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(POLICY_FILE)
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({ "message": "404 File Not Found" })),
        )
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    assert_eq!(
        read_policy_file(&forge).await.unwrap().as_deref(),
        Some("max_lines: 400\n")
    );
    assert_eq!(read_policy_file(&forge).await.unwrap(), None);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("user-agent").unwrap(),
        "smallbatch/0.1.0"
    );
}

#[tokio::test]
async fn a_502_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(200).set_body_string("x"))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        read_policy_file(&forge(&server)).await.unwrap().as_deref(),
        Some("x")
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(200).set_body_string("x"))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        read_policy_file(&forge(&server)).await.unwrap().as_deref(),
        Some("x")
    );
}

#[tokio::test]
async fn a_rate_limit_reset_beyond_the_call_budget_is_handed_to_the_worker() {
    let server = MockServer::start().await;
    let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    get(POLICY_FILE)
        .respond_with(
            ResponseTemplate::new(429).insert_header("ratelimit-reset", reset.to_string().as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::Transient { retry_after: Some(d), .. } if d >= Duration::from_secs(3590)
        ),
        "{err:?}"
    );
}

/// `template` with the `RateLimit-*` headers gitlab.com sends on every answer, the
/// window resetting `reset_in` seconds from now.
fn with_rate_limit_headers(
    template: ResponseTemplate,
    remaining: u32,
    reset_in: i64,
) -> ResponseTemplate {
    let reset = time::OffsetDateTime::now_utc().unix_timestamp() + reset_in;
    template
        .insert_header("ratelimit-limit", "2000")
        .insert_header("ratelimit-remaining", remaining.to_string().as_str())
        .insert_header("ratelimit-reset", reset.to_string().as_str())
}

#[tokio::test]
async fn a_502_carrying_rate_limit_headers_is_retried_with_the_ordinary_backoff() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(with_rate_limit_headers(
            ResponseTemplate::new(502),
            1999,
            60,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(POLICY_FILE)
        .respond_with(with_rate_limit_headers(
            ResponseTemplate::new(200).set_body_string("x"),
            1998,
            60,
        ))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;

    let start = std::time::Instant::now();
    assert_eq!(
        read_policy_file(&forge(&server)).await.unwrap().as_deref(),
        Some("x")
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );

    // Still failing after every attempt: handed back with no wait of its own, so the
    // worker's short backoff applies, not the window's reset.
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(with_rate_limit_headers(
            ResponseTemplate::new(502),
            1999,
            60,
        ))
        .expect(3)
        .mount(&server)
        .await;
    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::Transient {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_waits_for_the_rate_limit_reset() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(with_rate_limit_headers(ResponseTemplate::new(429), 0, 1))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(200).set_body_string("x"))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;

    let start = std::time::Instant::now();
    assert_eq!(
        read_policy_file(&forge(&server)).await.unwrap().as_deref(),
        Some("x")
    );
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_persistent_5xx_becomes_transient_after_the_allowed_attempts() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;

    match read_policy_file(&forge(&server)).await.unwrap_err() {
        ForgeError::Transient {
            message,
            retry_after,
        } => {
            assert_eq!(
                message,
                format!("GET {POLICY_FILE}: 503 Service Unavailable")
            );
            assert_eq!(retry_after, None);
        }
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[tokio::test]
async fn a_401_is_permanent_with_gitlabs_message() {
    let server = MockServer::start().await;
    get(POLICY_FILE)
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "message": "401 Unauthorized" })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("forge error: GET {POLICY_FILE}: 401 Unauthorized: 401 Unauthorized")
    );
}

#[tokio::test]
async fn an_unreachable_gitlab_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let forge =
        GitLabForge::with_retry_policy(app_at(&format!("http://127.0.0.1:{port}")), fast_retries())
            .unwrap();

    let err = read_policy_file(&forge).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn branch_head_and_open_merge_requests() {
    let server = MockServer::start().await;
    get(&format!("{PROJECT}/repository/branches/release%2F1.0"))
        .respond_with(ok_json(
            json!({ "name": "release/1.0", "commit": { "id": sha('r').as_str() } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let list = format!("{PROJECT}/merge_requests");
    get(&list)
        .and(query_param("state", "opened"))
        .and(query_param("target_branch", "release/1.0"))
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ok_json(json!([
                { "iid": 3, "sha": sha('3').as_str() },
                { "iid": 5, "sha": sha('5').as_str() }
            ]))
            .insert_header("x-next-page", "2"),
        )
        .expect(1)
        .mount(&server)
        .await;
    get(&list)
        .and(query_param("state", "opened"))
        .and(query_param("page", "2"))
        .respond_with(
            ok_json(json!([{ "iid": 9, "sha": sha('9').as_str() }]))
                .insert_header("x-next-page", ""),
        )
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    assert_eq!(
        forge.branch_head(&repo(), "release/1.0").await.unwrap(),
        sha('r')
    );
    let open = forge
        .open_prs(&repo(), Some("release/1.0"), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        open.iter()
            .map(|p| (p.number, p.head_sha.clone()))
            .collect::<Vec<_>>(),
        [
            (PrNumber(3), sha('3')),
            (PrNumber(5), sha('5')),
            (PrNumber(9), sha('9'))
        ]
    );
}

fn gate(conclusion: Conclusion) -> GateStatus {
    GateStatus {
        conclusion,
        title: "Waiting for 1 more approval".into(),
        summary: "**12 lines** changed".into(),
        details_url: "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7".into(),
        target: None,
    }
}

#[tokio::test]
async fn publish_gate_posts_a_commit_status_for_each_conclusion() {
    let server = MockServer::start().await;
    let mut on_pipeline = mr_json("1");
    on_pipeline["head_pipeline"] = json!({ "id": 901, "sha": sha('h').as_str() });
    get(MR)
        .respond_with(ok_json(on_pipeline))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    // No pipeline on the head yet: the status names the MR's source branch.
    get(MR)
        .respond_with(ok_json(mr_json("1")))
        .with_priority(2)
        .expect(2)
        .mount(&server)
        .await;
    let statuses = format!("{PROJECT}/statuses/{}", sha('h'));
    let expected = [
        json!({ "state": "success", "pipeline_id": 901 }),
        json!({ "state": "failed", "ref": "frob" }),
        json!({ "state": "pending", "ref": "frob" }),
    ];
    for extra in &expected {
        let mut body = json!({
            "name": "smallbatch",
            "description": "Waiting for 1 more approval",
            "target_url": "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7"
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Mock::given(method("POST"))
            .and(path(statuses.clone()))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 1 })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let forge = forge(&server);

    for conclusion in [Conclusion::Pass, Conclusion::Fail, Conclusion::Wait] {
        let id = forge
            .publish_gate(&pr(), &sha('h'), &gate(conclusion), OurRun::Absent)
            .await
            .unwrap();
        assert_eq!(id, None);
    }
}

#[tokio::test]
async fn publish_gate_files_the_status_where_the_snapshot_found_without_reading_the_mr() {
    let server = MockServer::start().await;
    let statuses = format!("{PROJECT}/statuses/{}", sha('h'));
    let targets = [
        (StatusTarget::Pipeline(902), json!({ "pipeline_id": 902 })),
        (
            StatusTarget::Branch("frob".into()),
            json!({ "ref": "frob" }),
        ),
        (StatusTarget::Commit, json!({})),
    ];
    for (_, extra) in &targets {
        let mut body = json!({
            "state": "pending",
            "name": "smallbatch",
            "description": "Waiting for 1 more approval",
            "target_url": "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7"
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Mock::given(method("POST"))
            .and(path(statuses.clone()))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 1 })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let forge = forge(&server);

    for (target, _) in targets {
        let mut status = gate(Conclusion::Wait);
        status.target = Some(target);
        forge
            .publish_gate(&pr(), &sha('h'), &status, OurRun::Absent)
            .await
            .unwrap();
    }
    // Any other call (the MR read) would have had no mock and failed the publish.
}

#[tokio::test]
async fn publish_gate_accepts_gitlabs_refusal_to_repeat_a_state_and_cuts_the_description() {
    let server = MockServer::start().await;
    get(MR)
        .respond_with(ok_json(mr_json("1")))
        .expect(2)
        .mount(&server)
        .await;
    let statuses = format!("{PROJECT}/statuses/{}", sha('h'));
    let long_title = "é".repeat(300);
    Mock::given(method("POST"))
        .and(path(statuses.clone()))
        .and(body_json(json!({
            "state": "pending",
            "name": "smallbatch",
            "description": "é".repeat(255),
            "target_url": "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7",
            "ref": "frob"
        })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "message": "Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(statuses))
        .and(body_json(json!({
            "state": "failed",
            "name": "smallbatch",
            "description": "Waiting for 1 more approval",
            "target_url": "https://gitlab.example.com/acme/tools/widgets/-/merge_requests/7",
            "ref": "frob"
        })))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({ "message": "400 Bad request - target_url is invalid" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    let mut status = gate(Conclusion::Wait);
    status.title = long_title;
    assert_eq!(
        forge
            .publish_gate(&pr(), &sha('h'), &status, OurRun::Absent)
            .await
            .unwrap(),
        None
    );
    let err = forge
        .publish_gate(&pr(), &sha('h'), &gate(Conclusion::Fail), OurRun::Absent)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "forge error: POST {PROJECT}/statuses/{}: 400 Bad Request: 400 Bad request - target_url is invalid",
            sha('h')
        )
    );
}

#[tokio::test]
async fn find_comment_takes_our_own_note_only() {
    let server = MockServer::start().await;
    get("/api/v4/user")
        .respond_with(ok_json(
            json!({ "id": 50, "username": "smallbatch-bot", "bot": true }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let marker = "<!-- smallbatch:guidance -->";
    let notes = format!("{MR}/notes");
    get(&notes)
        .and(query_param("per_page", "100"))
        .and(query_param("sort", "asc"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ok_json(json!([
                { "id": 1, "body": format!("> {marker}\n> why is this here?"), "author": { "username": "alice" }, "system": false },
                { "id": 2, "body": format!("changed the description {marker}"), "author": { "username": "smallbatch-bot" }, "system": true }
            ]))
            .insert_header("x-next-page", "2"),
        )
        .expect(2)
        .mount(&server)
        .await;
    get(&notes)
        .and(query_param("page", "2"))
        .respond_with(
            ok_json(json!([
                { "id": 3, "body": "unrelated", "author": { "username": "smallbatch-bot" }, "system": false },
                { "id": 4, "body": format!("{marker}\n## smallbatch"), "author": { "username": "smallbatch-bot" }, "system": false }
            ]))
            .insert_header("x-next-page", ""),
        )
        .expect(2)
        .mount(&server)
        .await;
    let forge = forge(&server);

    for _ in 0..2 {
        assert_eq!(
            forge.find_comment(&pr(), marker).await.unwrap(),
            Some((CommentId(4), format!("{marker}\n## smallbatch")))
        );
    }
}

#[tokio::test]
async fn create_and_edit_comment_send_the_exact_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MR}/notes")))
        .and(body_json(json!({ "body": "hello" })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": 77, "body": "hello" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{MR}/notes/77")))
        .and(body_json(json!({ "body": "hello again" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 77 })))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    let id = forge.create_comment(&pr(), "hello").await.unwrap();
    assert_eq!(id, CommentId(77));
    forge.edit_comment(&pr(), id, "hello again").await.unwrap();
}

#[tokio::test]
async fn labels_are_created_once_with_their_colour_then_added_and_removed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/labels")))
        .and(body_json(json!({
            "name": "size/M",
            "color": "#eebb00",
            "description": "Denotes a PR that changes 30-99 lines, ignoring generated files."
        })))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({ "message": "Label already exists" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(MR))
        .and(body_json(json!({ "add_labels": "size/M" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(mr_json("1")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(MR))
        .and(body_json(json!({ "remove_labels": "size/L" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(mr_json("1")))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    for _ in 0..2 {
        forge
            .create_label(&pr().repo, &SizeLabel::M.into())
            .await
            .unwrap();
        forge.add_label(&pr(), SizeLabel::M.name()).await.unwrap();
    }
    forge.remove_label(&pr(), "size/L").await.unwrap();
}

#[tokio::test]
async fn a_label_creation_refused_for_another_reason_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/labels")))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({ "message": "403 Forbidden" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = forge(&server)
        .create_label(&pr().repo, &SizeLabel::XS.into())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("forge error: POST {PROJECT}/labels: 403 Forbidden: 403 Forbidden")
    );
}

#[tokio::test]
async fn the_token_never_shows_in_debug_and_bad_settings_fail_at_startup() {
    let app = app_at("https://gitlab.example.com");
    let debug = format!("{app:?} {:?}", GitLabForge::new(app.clone()).unwrap());
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(!debug.contains("0123456789"), "{debug}");

    let err = GitLabForge::new(app_at("mailto:ops@example.com")).unwrap_err();
    assert!(matches!(err, SetupError::InvalidBaseUrl { .. }), "{err:?}");
    let mut empty = app_at("https://gitlab.example.com");
    empty.token = SecretString::from("");
    assert_eq!(
        GitLabForge::new(empty).unwrap_err().to_string(),
        "the GitLab token is not usable: it must be non-empty printable ASCII"
    );
}

#[tokio::test]
async fn a_self_managed_instance_under_a_path_prefix_is_reached_under_it() {
    let server = MockServer::start().await;
    get("/gitlab/api/v4/projects/acme%2Ftools%2Fwidgets/repository/branches/main")
        .respond_with(ok_json(json!({ "commit": { "id": sha('m').as_str() } })))
        .expect(1)
        .mount(&server)
        .await;
    let forge = GitLabForge::with_retry_policy(
        app_at(&format!("{}/gitlab/", server.uri())),
        fast_retries(),
    )
    .unwrap();

    assert_eq!(forge.branch_head(&repo(), "main").await.unwrap(), sha('m'));
}

// ---- Commands and /ship ----

const EE_PROJECT: &str = "/api/v4/projects/gitlab-org%2Fgitlab-ee";
const EE_MR: &str = "/api/v4/projects/gitlab-org%2Fgitlab-ee/merge_requests/14656";
/// `sha` (the head) of `api/get_merge_request.json`.
const EE_HEAD: &str = "8e0b45049b6253b8984cde9241830d2851168142";

/// The merge request of `api/get_merge_request.json`.
fn ee_mr() -> PrRef {
    PrRef {
        repo: project("gitlab-org/gitlab-ee"),
        number: PrNumber(14656),
    }
}

/// `api/get_merge_request.json` with each `(field, value)` of `edits` set.
fn ee_mr_with(edits: &[(&str, Value)]) -> Value {
    let mut mr = fixture("get_merge_request.json");
    for (field, value) in edits {
        mr[*field] = value.clone();
    }
    mr
}

fn error_json(status: u16, message: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
}

#[tokio::test]
async fn acknowledging_a_command_awards_eyes_and_a_repeated_award_is_fine() {
    let server = MockServer::start().await;
    let award = format!("{MR}/notes/1244/award_emoji");
    Mock::given(method("POST"))
        .and(path(award.clone()))
        .and(body_json(json!({ "name": "eyes" })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "id": 4, "name": "eyes", "awardable_id": 1244 })),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(award))
        .and(body_json(json!({ "name": "eyes" })))
        .respond_with(error_json(
            404,
            json!("404 Award Emoji Name has already been taken"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    forge
        .acknowledge_command(&pr(), CommentId(1244))
        .await
        .unwrap();
    forge
        .acknowledge_command(&pr(), CommentId(1244))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_acknowledgement_refused_for_another_reason_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MR}/notes/1244/award_emoji")))
        .respond_with(error_json(403, json!("403 Forbidden")))
        .expect(1)
        .mount(&server)
        .await;

    let err = forge(&server)
        .acknowledge_command(&pr(), CommentId(1244))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("forge error: POST {MR}/notes/1244/award_emoji: 403 Forbidden: 403 Forbidden")
    );
}

#[tokio::test]
async fn permission_reads_the_effective_access_level_and_caches_the_user_id() {
    let server = MockServer::start().await;
    get("/api/v4/users")
        .and(query_param("username", "alice"))
        .respond_with(ok_json(
            json!([{ "id": 42, "username": "alice", "name": "Alice", "state": "active" }]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{PROJECT}/members/all/42"))
        .respond_with(ok_json(json!({
            "id": 42, "username": "alice", "state": "active", "access_level": 30
        })))
        .expect(2)
        .mount(&server)
        .await;
    let forge = forge(&server);

    assert_eq!(
        forge.permission(&repo(), "alice").await.unwrap(),
        Permission::Write
    );
    // GitLab's usernames are case-insensitive: the cached id serves "Alice" too.
    assert_eq!(
        forge.permission(&repo(), "Alice").await.unwrap(),
        Permission::Write
    );
}

#[tokio::test]
async fn each_access_level_maps_to_its_permission() {
    let cases = [
        (0, Permission::None),
        (5, Permission::None),
        (10, Permission::Read),
        (15, Permission::Read),
        (20, Permission::Triage),
        (30, Permission::Write),
        (40, Permission::Maintain),
        (50, Permission::Admin),
    ];
    for (level, expected) in cases {
        let server = MockServer::start().await;
        get("/api/v4/users")
            .and(query_param("username", "bob"))
            .respond_with(ok_json(json!([{ "id": 7, "username": "bob" }])))
            .expect(1)
            .mount(&server)
            .await;
        get(&format!("{PROJECT}/members/all/7"))
            .respond_with(ok_json(json!({ "id": 7, "access_level": level })))
            .expect(1)
            .mount(&server)
            .await;

        assert_eq!(
            forge(&server).permission(&repo(), "bob").await.unwrap(),
            expected,
            "access level {level}"
        );
    }
}

#[tokio::test]
async fn strangers_non_members_and_pending_invitations_have_no_permission() {
    let server = MockServer::start().await;
    get("/api/v4/users")
        .and(query_param("username", "nobody"))
        .respond_with(ok_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v4/users")
        .and(query_param("username", "outsider"))
        .respond_with(ok_json(json!([{ "id": 8, "username": "outsider" }])))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{PROJECT}/members/all/8"))
        .respond_with(error_json(404, json!("404 Not found")))
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v4/users")
        .and(query_param("username", "invited"))
        .respond_with(ok_json(json!([{ "id": 9, "username": "invited" }])))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("{PROJECT}/members/all/9"))
        .respond_with(ok_json(
            json!({ "id": 9, "access_level": 40, "state": "awaiting" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    for user in ["nobody", "outsider", "invited"] {
        assert_eq!(
            forge.permission(&repo(), user).await.unwrap(),
            Permission::None,
            "{user}"
        );
    }
}

#[tokio::test]
async fn merge_readiness_reads_mergeability_and_the_latest_status_per_name_over_pages() {
    let server = MockServer::start().await;
    get(EE_MR)
        .respond_with(ok_json(fixture("get_merge_request.json")))
        .expect(1)
        .mount(&server)
        .await;
    let statuses = format!("{EE_PROJECT}/repository/commits/{EE_HEAD}/statuses");
    get(&statuses)
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ok_json(json!([
                { "id": 13, "name": "smallbatch", "status": "success", "sha": EE_HEAD },
                { "id": 10, "name": "build", "status": "running", "sha": EE_HEAD },
                { "id": 11, "name": "rspec", "status": "failed", "sha": EE_HEAD },
                { "id": 14, "name": "deploy", "status": "manual", "sha": EE_HEAD }
            ]))
            .insert_header("x-next-page", "2"),
        )
        .expect(1)
        .mount(&server)
        .await;
    get(&statuses)
        .and(query_param("per_page", "100"))
        .and(query_param("page", "2"))
        .respond_with(
            ok_json(json!([
                { "id": 12, "name": "build", "status": "success", "sha": EE_HEAD },
                { "id": 15, "name": "danger-review", "status": "skipped", "sha": EE_HEAD },
                { "id": 16, "name": "eslint", "status": "canceled", "sha": EE_HEAD }
            ]))
            .insert_header("x-next-page", ""),
        )
        .expect(1)
        .mount(&server)
        .await;

    let readiness = forge(&server)
        .merge_readiness(&ee_mr(), &CommitSha::new(EE_HEAD))
        .await
        .unwrap();

    let check = |name: &str, outcome| HeadCheck {
        name: name.into(),
        outcome,
    };
    assert_eq!(
        readiness,
        MergeReadiness {
            mergeable: Some(true),
            checks: vec![
                check("build", CheckOutcome::Passed),
                check("danger-review", CheckOutcome::Passed),
                check("deploy", CheckOutcome::Pending),
                check("eslint", CheckOutcome::Failed),
                check("rspec", CheckOutcome::Failed),
            ],
        }
    );
}

#[tokio::test]
async fn mergeability_follows_gitlabs_detailed_merge_status() {
    let cases = [
        (json!("checking"), json!("checking"), None),
        (json!("unchecked"), json!("unchecked"), None),
        (json!("preparing"), json!("unchecked"), None),
        // CI is reported check by check, not as mergeability.
        (
            json!("ci_still_running"),
            json!("can_be_merged"),
            Some(true),
        ),
        (json!("ci_must_pass"), json!("can_be_merged"), Some(true)),
        (json!("conflict"), json!("cannot_be_merged"), Some(false)),
        (json!("not_approved"), json!("can_be_merged"), Some(false)),
        (json!("draft_status"), json!("can_be_merged"), Some(false)),
        // Before GitLab 15.6 there is only `merge_status`.
        (Value::Null, json!("can_be_merged"), Some(true)),
        (Value::Null, json!("cannot_be_merged"), Some(false)),
        (Value::Null, json!("cannot_be_merged_recheck"), None),
    ];
    for (detailed, merge_status, expected) in cases {
        let server = MockServer::start().await;
        get(EE_MR)
            .respond_with(ok_json(ee_mr_with(&[
                ("detailed_merge_status", detailed.clone()),
                ("merge_status", merge_status.clone()),
            ])))
            .expect(1)
            .mount(&server)
            .await;
        get(&format!(
            "{EE_PROJECT}/repository/commits/{EE_HEAD}/statuses"
        ))
        .respond_with(ok_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;

        let readiness = forge(&server)
            .merge_readiness(&ee_mr(), &CommitSha::new(EE_HEAD))
            .await
            .unwrap();
        assert_eq!(
            readiness,
            MergeReadiness {
                mergeable: expected,
                checks: vec![]
            },
            "{detailed} / {merge_status}"
        );
    }
}

/// `PUT .../merge` with exactly `body`, answering `response`.
async fn mount_merge(server: &MockServer, body: Value, response: ResponseTemplate) {
    Mock::given(method("PUT"))
        .and(path(format!("{EE_MR}/merge")))
        .and(body_json(body))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn merge_pins_the_head_and_returns_the_commit_it_put_on_the_target() {
    let merge_commit = sha('m');
    let squashed = sha('s');
    let cases = [
        // A merge commit.
        (
            MergeMethod::Merge,
            json!({ "sha": EE_HEAD }),
            vec![
                ("merge_commit_sha", json!(merge_commit.as_str())),
                ("squash_commit_sha", Value::Null),
            ],
            merge_commit.clone(),
        ),
        // Squashed, then a merge commit: the merge commit is on the target.
        (
            MergeMethod::Squash,
            json!({ "sha": EE_HEAD, "squash": true }),
            vec![
                ("merge_commit_sha", json!(merge_commit.as_str())),
                ("squash_commit_sha", json!(squashed.as_str())),
            ],
            merge_commit.clone(),
        ),
        // Squashed on a fast-forward project: the squashed commit.
        (
            MergeMethod::Squash,
            json!({ "sha": EE_HEAD, "squash": true }),
            vec![
                ("merge_commit_sha", Value::Null),
                ("squash_commit_sha", json!(squashed.as_str())),
            ],
            squashed.clone(),
        ),
        // Fast-forward without squashing: the head itself.
        (
            MergeMethod::Merge,
            json!({ "sha": EE_HEAD }),
            vec![
                ("merge_commit_sha", Value::Null),
                ("squash_commit_sha", Value::Null),
            ],
            CommitSha::new(EE_HEAD),
        ),
    ];
    for (method, body, mut edits, expected) in cases {
        let server = MockServer::start().await;
        edits.push(("state", json!("merged")));
        mount_merge(&server, body, ok_json(ee_mr_with(&edits))).await;

        let merged = forge(&server)
            .merge(&ee_mr(), &CommitSha::new(EE_HEAD), method)
            .await
            .unwrap();
        assert_eq!(merged, expected, "{method:?} {edits:?}");
    }
}

#[tokio::test]
async fn gitlabs_refusals_to_merge_are_permanent_with_its_message() {
    let cases = [
        (405, json!("405 Method Not Allowed")),
        (406, json!("Branch cannot be merged")),
        (
            409,
            json!("SHA does not match HEAD of source branch: 1234abcd"),
        ),
        (422, json!("Failed to squash. Should be done manually.")),
    ];
    for (status, message) in cases {
        let server = MockServer::start().await;
        mount_merge(
            &server,
            json!({ "sha": EE_HEAD }),
            error_json(status, message.clone()),
        )
        .await;

        let err = forge(&server)
            .merge(&ee_mr(), &CommitSha::new(EE_HEAD), MergeMethod::Merge)
            .await
            .unwrap_err();
        // GitLab's words only: the request line is for the log.
        assert_eq!(
            err.to_string(),
            format!("forge error: {}", message.as_str().unwrap())
        );
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn a_merge_retried_after_it_went_through_returns_the_merge_commit() {
    let server = MockServer::start().await;
    mount_merge(
        &server,
        json!({ "sha": EE_HEAD }),
        error_json(405, json!("405 Method Not Allowed")),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(EE_MR))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "state": "merged", "target_branch": "main", "sha": EE_HEAD,
            "merge_commit_sha": sha('m').as_str(), "squash_commit_sha": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let merged = forge(&server)
        .merge(&ee_mr(), &CommitSha::new(EE_HEAD), MergeMethod::Merge)
        .await
        .unwrap();
    assert_eq!(merged, sha('m'));
}

#[tokio::test]
async fn a_rebase_merge_is_refused_without_calling_gitlab() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ok_json(json!({})))
        .expect(0)
        .mount(&server)
        .await;

    let err = forge(&server)
        .merge(&ee_mr(), &CommitSha::new(EE_HEAD), MergeMethod::Rebase)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: gitlab-org/gitlab-ee!14656: GitLab cannot rebase a single merge; set the \
         project's merge method to fast-forward and merge with `merge` or `squash`"
    );
}

#[tokio::test]
async fn a_merge_gitlab_accepted_but_did_not_complete_is_an_error() {
    let server = MockServer::start().await;
    mount_merge(
        &server,
        json!({ "sha": EE_HEAD }),
        ok_json(fixture("get_merge_request.json")),
    )
    .await;

    let err = forge(&server)
        .merge(&ee_mr(), &CommitSha::new(EE_HEAD), MergeMethod::Merge)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: gitlab-org/gitlab-ee!14656: GitLab accepted the merge but the merge \
         request is opened"
    );
}

#[tokio::test]
async fn deployments_are_followed_not_started() {
    let server = MockServer::start().await;

    let start = forge(&server)
        .start_deployment(&repo(), &sha('m'), "production", "ship !7")
        .await
        .unwrap();

    assert_eq!(start, DeploymentStart::Following);
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn set_deployment_state_sends_the_status_gitlab_accepts() {
    let cases = [
        (DeploymentState::InProgress, "running"),
        (DeploymentState::Success, "success"),
        (DeploymentState::Failure, "failed"),
        (DeploymentState::Error, "failed"),
        (DeploymentState::Inactive, "canceled"),
    ];
    for (state, status) in cases {
        let server = MockServer::start().await;
        deployment_is(&server, "created").await;
        Mock::given(method("PUT"))
            .and(path(format!("{PROJECT}/deployments/15")))
            .and(body_json(json!({ "status": status })))
            .respond_with(ok_json(json!({ "id": 15, "status": status })))
            .expect(1)
            .mount(&server)
            .await;

        forge(&server)
            .set_deployment_state(&repo(), 15, state, "regression in error rate")
            .await
            .unwrap();
    }
}

/// Deployment 15 as `GET deployments/15` shows it.
async fn deployment_is(server: &MockServer, status: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/deployments/15")))
        .respond_with(ok_json(json!({ "id": 15, "status": status })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_status_the_deployment_already_has_is_not_sent_again() {
    let server = MockServer::start().await;
    deployment_is(&server, "failed").await;
    Mock::given(method("PUT"))
        .respond_with(ok_json(json!({})))
        .expect(0)
        .mount(&server)
        .await;

    forge(&server)
        .set_deployment_state(&repo(), 15, DeploymentState::Failure, "regression")
        .await
        .unwrap();
}

#[tokio::test]
async fn set_deployment_state_refusals_are_permanent() {
    let server = MockServer::start().await;
    deployment_is(&server, "success").await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/deployments/15")))
        .and(body_json(json!({ "status": "failed" })))
        .respond_with(error_json(
            403,
            json!("403 Forbidden - Deployments created using GitLab CI can not be updated using the API"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    let err = forge
        .set_deployment_state(&repo(), 15, DeploymentState::Failure, "regression")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: 403 Forbidden - \
         Deployments created using GitLab CI can not be updated using the API"
    );
    // `created` cannot be set again: nothing is sent.
    let err = forge
        .set_deployment_state(&repo(), 15, DeploymentState::Pending, "")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: GitLab cannot set deployment 15 of acme/tools/widgets back to Pending"
    );
}

const REVERT_BRANCH: &str = "smallbatch/revert-14656-ccccccc";

/// `POST .../repository/branches?branch=<revert branch>&ref=master`, answering `response`.
async fn mount_branch(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("{EE_PROJECT}/repository/branches")))
        .and(query_param("branch", REVERT_BRANCH))
        .and(query_param("ref", "master"))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_revert(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!(
            "{EE_PROJECT}/repository/commits/{}/revert",
            sha('c')
        )))
        .and(body_json(json!({ "branch": REVERT_BRANCH })))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_open_mr(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("{EE_PROJECT}/merge_requests")))
        .and(body_json(json!({
            "source_branch": REVERT_BRANCH,
            "target_branch": "master",
            "title": "Revert !14656",
            "description": "The error rate regressed after !14656.",
            "remove_source_branch": true,
        })))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_target_branch(server: &MockServer) {
    get(EE_MR)
        .respond_with(ok_json(ee_mr_with(&[("state", json!("merged"))])))
        .expect(1)
        .mount(server)
        .await;
}

async fn open_revert(server: &MockServer) -> Result<PrNumber, ForgeError> {
    forge(server)
        .open_revert(
            &ee_mr(),
            &sha('c'),
            "Revert !14656",
            "The error rate regressed after !14656.",
        )
        .await
}

#[tokio::test]
async fn open_revert_branches_off_the_target_reverts_and_opens_a_merge_request() {
    let server = MockServer::start().await;
    mount_target_branch(&server).await;
    mount_branch(
        &server,
        ResponseTemplate::new(201).set_body_json(json!({
            "name": REVERT_BRANCH, "commit": { "id": sha('t').as_str() }
        })),
    )
    .await;
    mount_revert(
        &server,
        ResponseTemplate::new(201).set_body_json(json!({
            "id": sha('r').as_str(),
            "title": "Revert \"Add deletion support for designs\"",
            "parent_ids": [sha('t').as_str()]
        })),
    )
    .await;
    mount_open_mr(
        &server,
        ResponseTemplate::new(201).set_body_json(json!({ "iid": 14700, "state": "opened" })),
    )
    .await;

    assert_eq!(open_revert(&server).await.unwrap(), PrNumber(14700));
}

#[tokio::test]
async fn open_revert_picks_up_after_an_earlier_partial_attempt() {
    let server = MockServer::start().await;
    mount_target_branch(&server).await;
    mount_branch(&server, error_json(400, json!("Branch already exists"))).await;
    mount_revert(
        &server,
        error_json(
            400,
            json!("Sorry, we cannot revert this commit automatically. This commit may already have been reverted, or a more recent commit may have updated some of its content."),
        ),
    )
    .await;
    mount_open_mr(
        &server,
        error_json(
            409,
            json!(["Another open merge request already exists for this source branch: !14700"]),
        ),
    )
    .await;
    get(&format!("{EE_PROJECT}/merge_requests"))
        .and(query_param("state", "opened"))
        .and(query_param("source_branch", REVERT_BRANCH))
        .and(query_param("target_branch", "master"))
        .respond_with(ok_json(json!([{ "iid": 14700 }])))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(open_revert(&server).await.unwrap(), PrNumber(14700));
}

#[tokio::test]
async fn a_revert_that_does_not_apply_on_a_fresh_branch_is_an_error() {
    let server = MockServer::start().await;
    mount_target_branch(&server).await;
    mount_branch(
        &server,
        ResponseTemplate::new(201).set_body_json(json!({
            "name": REVERT_BRANCH, "commit": { "id": sha('t').as_str() }
        })),
    )
    .await;
    mount_revert(
        &server,
        error_json(
            400,
            json!("Sorry, we cannot revert this commit automatically."),
        ),
    )
    .await;

    let err = open_revert(&server).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "forge error: POST {EE_PROJECT}/repository/commits/{}/revert: 400 Bad Request: \
             Sorry, we cannot revert this commit automatically.",
            sha('c')
        )
    );
}

#[tokio::test]
async fn a_revert_refused_for_another_reason_on_an_existing_branch_is_an_error() {
    let server = MockServer::start().await;
    mount_target_branch(&server).await;
    mount_branch(&server, error_json(400, json!("Branch already exists"))).await;
    mount_revert(
        &server,
        error_json(400, json!("You are not allowed to push into this branch")),
    )
    .await;

    let err = open_revert(&server).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "forge error: POST {EE_PROJECT}/repository/commits/{}/revert: 400 Bad Request: \
             You are not allowed to push into this branch",
            sha('c')
        )
    );
}
