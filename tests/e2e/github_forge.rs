//! The GitHub adapter against a mock GitHub (wiremock). Every mock states how often it
//! must be hit, so an extra or missing call fails the test.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde_json::{json, Value};
use smallbatch::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentState, FileChange, FileStatus, InstallationId,
    Permission, PrNumber, PrRef, PrSnapshot, PrState, RepoRef, Review, ReviewState, User,
};
use smallbatch::forge::github::auth::{AppClaims, AppSigner};
use smallbatch::forge::github::{GitHubApp, GitHubForge, RetryPolicy, SetupError};
use smallbatch::forge::{
    CheckOutcome, DeploymentStart, Forge, ForgeError, GateStatus, HeadCheck, Label, MergeMethod,
    MergeReadiness, OurRun,
};
use smallbatch::policy::{Conclusion, SizeLabel};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

const PRIVATE_KEY: &str = include_str!("../keys/test-app.pem");
const PUBLIC_KEY: &str = include_str!("../keys/test-app.pub.pem");
const APP_ID: u64 = 1234;
const INSTALLATION: u64 = 42;
const TOKEN_PATH: &str = "/app/installations/42/access_tokens";

fn app_at(api_url: &str) -> GitHubApp {
    GitHubApp {
        app_id: APP_ID,
        private_key: SecretString::from(PRIVATE_KEY),
        api_url: Url::parse(api_url).unwrap(),
        app_slug: Some("smallbatch".into()),
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

fn forge(server: &MockServer) -> GitHubForge {
    GitHubForge::with_retry_policy(app_at(&server.uri()), fast_retries()).unwrap()
}

fn repo() -> RepoRef {
    RepoRef::github("acme/widgets", InstallationId(INSTALLATION))
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

/// Matches a request authenticated with a valid App JWT for `APP_ID`.
struct AppJwt;

impl Match for AppJwt {
    fn matches(&self, request: &Request) -> bool {
        let Some(token) = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
        jsonwebtoken::decode::<AppClaims>(token, &key, &Validation::new(Algorithm::RS256))
            .is_ok_and(|data| data.claims.iss == APP_ID.to_string())
    }
}

fn token_body(token: &str, lifetime: time::Duration) -> Value {
    let expires_at = (OffsetDateTime::now_utc() + lifetime)
        .format(&Rfc3339)
        .unwrap();
    json!({ "token": token, "expires_at": expires_at, "permissions": {} })
}

/// The installation-token exchange, answering `token` valid for an hour.
fn token_mock(token: &str) -> Mock {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(AppJwt)
        .respond_with(
            ResponseTemplate::new(201).set_body_json(token_body(token, time::Duration::hours(1))),
        )
}

fn contents_path() -> &'static str {
    "/repos/acme/widgets/contents/.github/smallbatch.yml"
}

async fn read_policy_file(forge: &GitHubForge) -> Result<Option<String>, ForgeError> {
    forge
        .file_at(&repo(), &sha('a'), ".github/smallbatch.yml")
        .await
}

#[test]
fn app_jwt_has_github_claims_and_verifies_with_the_public_key() {
    let signer = AppSigner::new(APP_ID, &SecretString::from(PRIVATE_KEY)).unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let jwt = signer.jwt_at(now).unwrap();

    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false; // minted at a fixed past instant
    let decoded = jsonwebtoken::decode::<AppClaims>(
        secrecy::ExposeSecret::expose_secret(&jwt),
        &key,
        &validation,
    )
    .unwrap();

    assert_eq!(decoded.header.alg, Algorithm::RS256);
    assert_eq!(
        decoded.claims,
        AppClaims {
            iat: 1_700_000_000 - 60,
            exp: 1_700_000_000 + 9 * 60,
            iss: "1234".into(),
        }
    );
}

#[tokio::test]
async fn a_bad_private_key_is_a_startup_error_and_keys_never_show_in_debug() {
    let mut app = app_at("https://ghe.example.com/api/v3");
    app.private_key = SecretString::from(
        "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n",
    );
    let err = GitHubForge::new(app).unwrap_err();
    assert!(matches!(err, SetupError::InvalidPrivateKey(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the GitHub App private key is not a usable RSA PEM key: "),
        "{err}"
    );

    let app = app_at("https://ghe.example.com/api/v3");
    let debug = format!("{app:?} {:?}", GitHubForge::new(app.clone()).unwrap());
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(!debug.contains(&PRIVATE_KEY[40..80]), "{debug}");
}

#[test]
fn creating_the_forge_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let err = GitHubForge::new(app_at("https://api.github.com")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not build the HTTP client: it must be created inside a Tokio runtime"
    );
}

#[tokio::test]
async fn installation_token_is_requested_once_and_sent_with_github_headers() {
    let server = MockServer::start().await;
    token_mock("tok-1").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .and(query_param("ref", sha('a').as_str()))
        .and(header("authorization", "Bearer tok-1"))
        .and(header("accept", "application/vnd.github.raw+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(ResponseTemplate::new(200).set_body_string("max_lines: 400\n"))
        .expect(3)
        .mount(&server)
        .await;
    let forge = forge(&server);

    for _ in 0..3 {
        let text = read_policy_file(&forge).await.unwrap();
        assert_eq!(text.as_deref(), Some("max_lines: 400\n"));
    }
    let requests = server.received_requests().await.unwrap();
    // octocrab's default client appends its own value after ours (see client.rs).
    let agent = requests[1].headers.get("user-agent").unwrap();
    assert_eq!(agent, "smallbatch/0.1.0");
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed() {
    let server = MockServer::start().await;
    // Four minutes left is inside the five-minute refresh margin.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(token_body("tok-1", time::Duration::minutes(4))),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock("tok-2")
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    for (token, calls) in [("tok-1", 1), ("tok-2", 2)] {
        Mock::given(method("GET"))
            .and(path(contents_path()))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string("x"))
            .expect(calls)
            .mount(&server)
            .await;
    }
    let forge = forge(&server);

    for _ in 0..3 {
        assert_eq!(
            read_policy_file(&forge).await.unwrap().as_deref(),
            Some("x")
        );
    }
}

#[tokio::test]
async fn a_rejected_token_is_dropped_and_the_call_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(token_body("tok-1", time::Duration::hours(1))),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock("tok-2")
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x"))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        read_policy_file(&forge(&server)).await.unwrap().as_deref(),
        Some("x")
    );
}

#[tokio::test]
async fn a_missing_file_is_none() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(read_policy_file(&forge(&server)).await.unwrap(), None);
}

#[tokio::test]
async fn a_502_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
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
async fn a_persistent_502_becomes_transient_after_the_allowed_attempts() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    match err {
        ForgeError::Transient {
            message,
            retry_after,
        } => {
            assert_eq!(
                message,
                "GET /repos/acme/widgets/contents/.github/smallbatch.yml: 502 Bad Gateway"
            );
            assert_eq!(retry_after, None);
        }
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rate_limited_403_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
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
async fn a_rate_limit_longer_than_the_call_budget_is_handed_to_the_worker() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(120)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_plain_403_is_permanent_with_githubs_message() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: GET /repos/acme/widgets/contents/.github/smallbatch.yml: 403 Forbidden: \
         Resource not accessible by integration"
    );
}

/// `template` with the `X-RateLimit-*` headers GitHub sends on every answer, the window
/// resetting `reset_in` seconds from now.
fn with_rate_limit_headers(
    template: ResponseTemplate,
    remaining: u32,
    reset_in: i64,
) -> ResponseTemplate {
    let reset = OffsetDateTime::now_utc().unix_timestamp() + reset_in;
    template
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", remaining.to_string().as_str())
        .insert_header("x-ratelimit-reset", reset.to_string().as_str())
}

#[tokio::test]
async fn a_403_with_an_exhausted_budget_waits_for_the_reset() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(with_rate_limit_headers(
            ResponseTemplate::new(403).set_body_json(
                json!({"message": "API rate limit exceeded for installation ID 42."}),
            ),
            0,
            1,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
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
async fn a_403_with_budget_left_is_a_permission_error_not_a_wait() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(with_rate_limit_headers(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
            4999,
            60,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let err = read_policy_file(&forge(&server)).await.unwrap_err();
    assert!(matches!(err, ForgeError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn a_502_carrying_rate_limit_headers_is_retried_with_the_ordinary_backoff() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
        .respond_with(with_rate_limit_headers(ResponseTemplate::new(502), 0, 60))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contents_path()))
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
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_github_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let forge =
        GitHubForge::with_retry_policy(app_at(&format!("http://127.0.0.1:{port}")), fast_retries())
            .unwrap();

    let err = read_policy_file(&forge).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // The cause in words, without octocrab's captured backtrace.
    let shown = err.to_string();
    assert!(!shown.contains("Found at"), "{shown}");
    assert!(
        shown.contains("POST /app/installations/") || shown.contains("GET /repos/"),
        "{shown}"
    );
}

fn pull_json(changed_files: u64) -> Value {
    json!({
        "number": 7,
        "title": "Add the widget frobnicator",
        "html_url": "https://github.com/acme/widgets/pull/7",
        "user": { "login": "alice", "type": "User" },
        "state": "open",
        "merged": false,
        "merged_at": null,
        "draft": true,
        "head": { "ref": "frob", "sha": sha('h').as_str(), "repo": { "full_name": "acme/widgets" } },
        "base": { "ref": "main", "sha": sha('b').as_str(), "repo": { "full_name": "acme/widgets" } },
        "labels": [{ "name": "size/M" }, { "name": "bug" }],
        "updated_at": "2026-11-27T04:00:00Z",
        "changed_files": changed_files,
        "additions": 120,
        "deletions": 30
    })
}

fn link_to(server: &MockServer, endpoint: &str, page: u32) -> String {
    format!(
        "<{}{endpoint}?per_page=100&page={page}>; rel=\"next\", <{}{endpoint}?per_page=100&page=9>; rel=\"last\"",
        server.uri(),
        server.uri()
    )
}

async fn mount_page(
    server: &MockServer,
    endpoint: &str,
    page: Option<u32>,
    body: Value,
    next: Option<u32>,
) {
    let mut response = ResponseTemplate::new(200).set_body_json(body);
    if let Some(next) = next {
        response = response.insert_header("link", link_to(server, endpoint, next).as_str());
    }
    let mock = Mock::given(method("GET")).and(path(endpoint.to_owned()));
    let mock = match page {
        Some(p) => mock.and(query_param("page", p.to_string().as_str())),
        None => mock
            .and(query_param("per_page", "100"))
            .and(query_param_is_missing("page")),
    };
    mock.respond_with(response).expect(1).mount(server).await;
}

fn diff_entry(filename: &str, patch: &str) -> Value {
    json!({ "filename": filename, "status": "modified", "additions": 3, "deletions": 1, "patch": patch })
}

#[tokio::test]
async fn snapshot_maps_the_pr_its_paginated_files_reviews_and_unchanged_commits() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull_json(3)))
        .expect(1)
        .mount(&server)
        .await;

    let files = "/repos/acme/widgets/pulls/7/files";
    let renamed = json!([{ "filename": "src/frob.rs", "previous_filename": "src/old.rs",
        "status": "renamed", "additions": 2, "deletions": 1, "patch": "@@ -1 +1,2 @@" }]);
    let binary = json!([{ "filename": "logo.png", "status": "modified",
        "additions": 0, "deletions": 0 }]);
    let removed = json!([{ "filename": "legacy.c", "status": "removed",
        "additions": 0, "deletions": 10, "patch": "@@ -1,10 +0,0 @@" }]);
    mount_page(&server, files, None, renamed, Some(2)).await;
    mount_page(&server, files, Some(2), binary, Some(3)).await;
    mount_page(&server, files, Some(3), removed, None).await;

    let reviews = "/repos/acme/widgets/pulls/7/reviews";
    let page1 = json!([
        { "user": { "login": "bob", "type": "User" }, "state": "APPROVED", "commit_id": sha('o').as_str() },
        { "user": { "login": "ci-bot[bot]", "type": "Bot" }, "state": "COMMENTED", "commit_id": sha('h').as_str() }
    ]);
    let page2 = json!([
        { "user": { "login": "carol", "type": "User" }, "state": "CHANGES_REQUESTED", "commit_id": sha('c').as_str() },
        { "user": null, "state": "DISMISSED", "commit_id": sha('o').as_str() }
    ]);
    mount_page(&server, reviews, None, page1, Some(2)).await;
    mount_page(&server, reviews, Some(2), page2, None).await;

    // 'o' has the head's diff (a clean rebase); 'c' differs in one patch.
    let head_diff = json!({ "files": [diff_entry("src/frob.rs", "@@ -1 +1,3 @@ same")] });
    let changed_diff = json!({ "files": [diff_entry("src/frob.rs", "@@ -1 +1,3 @@ other")] });
    for (commit, body) in [('h', &head_diff), ('o', &head_diff), ('c', &changed_diff)] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/acme/widgets/compare/{}...{}",
                sha('b'),
                sha(commit)
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }

    let forge = forge(&server);
    let mut snapshot = forge.snapshot(&pr()).await.unwrap();
    let commits = forge.review_commits().unwrap();
    snapshot.unchanged_since = commits.unchanged_since(&pr(), &snapshot).await.unwrap();

    assert_eq!(
        snapshot,
        PrSnapshot {
            number: PrNumber(7),
            title: "Add the widget frobnicator".into(),
            html_url: "https://github.com/acme/widgets/pull/7".into(),
            author: User::human("alice"),
            state: PrState::Open,
            draft: true,
            head_sha: sha('h'),
            head_ref: Some("frob".into()),
            base_ref: "main".into(),
            base_sha: sha('b'),
            labels: vec!["size/M".into(), "bug".into()],
            updated_at: "2026-11-27T04:00:00Z".into(),
            files: vec![
                FileChange {
                    path: "src/frob.rs".into(),
                    previous_path: Some("src/old.rs".into()),
                    status: FileStatus::Renamed,
                    additions: 2,
                    deletions: 1,
                    binary: false,
                },
                FileChange {
                    path: "logo.png".into(),
                    previous_path: None,
                    status: FileStatus::Modified,
                    additions: 0,
                    deletions: 0,
                    binary: true,
                },
                FileChange {
                    path: "legacy.c".into(),
                    previous_path: None,
                    status: FileStatus::Removed,
                    additions: 0,
                    deletions: 10,
                    binary: false,
                },
            ],
            total_files: 3,
            total_additions: 120,
            total_deletions: 30,
            reviews: vec![
                Review {
                    reviewer: User::human("bob"),
                    state: ReviewState::Approved,
                    commit: Some(sha('o')),
                },
                Review {
                    reviewer: User::bot("ci-bot[bot]"),
                    state: ReviewState::Commented,
                    commit: Some(sha('h')),
                },
                Review {
                    reviewer: User::human("carol"),
                    state: ReviewState::ChangesRequested,
                    commit: Some(sha('c')),
                },
                Review {
                    reviewer: User::human("ghost"),
                    state: ReviewState::Dismissed,
                    commit: Some(sha('o')),
                },
            ],
            unchanged_since: vec![sha('o')],
            estimated: vec![],
            status_target: None,
        }
    );
}

/// Answers every files page with 100 files and a link to the next page, forever.
struct EndlessFiles {
    base: String,
}

impl Respond for EndlessFiles {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: u32 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .map_or(1, |(_, v)| v.parse().unwrap());
        let files: Vec<Value> = (0..100)
            .map(|i| diff_entry(&format!("f{page}-{i}.rs"), "@@"))
            .collect();
        let next = format!(
            "<{}/repos/acme/widgets/pulls/7/files?per_page=100&page={}>; rel=\"next\"",
            self.base,
            page + 1
        );
        ResponseTemplate::new(200)
            .set_body_json(files)
            .insert_header("link", next.as_str())
    }
}

#[tokio::test]
async fn file_listing_stops_at_githubs_3000_file_cap() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull_json(3500)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7/files"))
        .respond_with(EndlessFiles { base: server.uri() })
        .expect(30)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let snapshot = forge(&server).snapshot(&pr()).await.unwrap();

    assert_eq!(snapshot.files.len(), 3000);
    assert_eq!(snapshot.files[2999].path, "f30-99.rs");
    assert_eq!(snapshot.total_files, 3500);
    assert!(snapshot.files_truncated());
    assert_eq!(snapshot.unchanged_since, Vec::<CommitSha>::new());
}

fn gate(conclusion: Conclusion) -> GateStatus {
    GateStatus {
        conclusion,
        title: "Waiting for 1 more approval".into(),
        summary: "**12 lines** changed".into(),
        details_url: "https://smallbatch.example/acme/widgets/7".into(),
        target: None,
    }
}

/// The lookup `publish_gate` makes when a run of ours may be on the head.
async fn mount_our_runs(server: &MockServer, runs: Value) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/acme/widgets/commits/{}/check-runs",
            sha('h')
        )))
        .and(query_param("check_name", "smallbatch"))
        .and(query_param("filter", "latest"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": runs.as_array().map_or(0, Vec::len),
            "check_runs": runs
        })))
        .expect(1)
        .mount(server)
        .await;
}

/// Creating the run on `sha('h')`, as GitHub answers it.
async fn mount_run_creation(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/check-runs"))
        .and(body_json(json!({
            "name": "smallbatch",
            "head_sha": sha('h').as_str(),
            "status": "completed",
            "conclusion": "action_required",
            "details_url": "https://smallbatch.example/acme/widgets/7",
            "output": { "title": "Waiting for 1 more approval", "summary": "**12 lines** changed" }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 555 })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn publish_gate_creates_a_check_run_with_the_exact_payload_without_looking_first() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    mount_run_creation(&server).await;

    let id = forge(&server)
        .publish_gate(&pr(), &sha('h'), &gate(Conclusion::Wait), OurRun::Absent)
        .await
        .unwrap();
    assert_eq!(id, Some(CheckRunId(555)));
}

#[tokio::test]
async fn publish_gate_looks_for_a_run_that_may_exist_and_creates_one_when_there_is_none() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    mount_our_runs(&server, json!([])).await;
    mount_run_creation(&server).await;

    let id = forge(&server)
        .publish_gate(&pr(), &sha('h'), &gate(Conclusion::Wait), OurRun::MayExist)
        .await
        .unwrap();
    assert_eq!(id, Some(CheckRunId(555)));
}

#[tokio::test]
async fn publish_gate_updates_a_run_left_on_the_head_by_an_attempt_that_died() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    mount_our_runs(
        &server,
        json!([{ "id": 556, "name": "smallbatch", "status": "completed", "conclusion": "failure" }]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/check-runs/556"))
        .and(body_json(json!({
            "name": "smallbatch",
            "status": "completed",
            "conclusion": "action_required",
            "details_url": "https://smallbatch.example/acme/widgets/7",
            "output": { "title": "Waiting for 1 more approval", "summary": "**12 lines** changed" }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 556 })))
        .expect(1)
        .mount(&server)
        .await;

    let id = forge(&server)
        .publish_gate(&pr(), &sha('h'), &gate(Conclusion::Wait), OurRun::MayExist)
        .await
        .unwrap();
    assert_eq!(id, Some(CheckRunId(556)));
}

#[tokio::test]
async fn publish_gate_updates_the_existing_check_run() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/check-runs/555"))
        .and(body_json(json!({
            "name": "smallbatch",
            "status": "completed",
            "conclusion": "success",
            "details_url": "https://smallbatch.example/acme/widgets/7",
            "output": { "title": "Waiting for 1 more approval", "summary": "**12 lines** changed" }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 555 })))
        .expect(1)
        .mount(&server)
        .await;

    let id = forge(&server)
        .publish_gate(
            &pr(),
            &sha('h'),
            &gate(Conclusion::Pass),
            OurRun::Known(CheckRunId(555)),
        )
        .await
        .unwrap();
    assert_eq!(id, Some(CheckRunId(555)));
}

#[tokio::test]
async fn remove_label_percent_encodes_the_slash_and_accepts_an_absent_label() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/7/labels/size%2FXS"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/widgets/issues/7/labels/size%2FXL"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Label does not exist"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    forge.remove_label(&pr(), "size/XS").await.unwrap();
    forge.remove_label(&pr(), "size/XL").await.unwrap();
}

async fn mount_issue_label(server: &MockServer, name: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/labels"))
        .and(body_json(json!({ "labels": [name] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "name": name }])))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_label_is_created_once_then_only_applied() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/labels"))
        .and(body_json(json!({
            "name": "size/XS", "color": "009900", "description": "Denotes a PR that changes 0-9 lines"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "name": "size/XS" })))
        .expect(1)
        .mount(&server)
        .await;
    mount_issue_label(&server, "size/XS", 2).await;
    let forge = forge(&server);

    let label = Label {
        name: "size/XS",
        color: "009900",
        description: "Denotes a PR that changes 0-9 lines",
    };
    for _ in 0..2 {
        forge.create_label(&pr().repo, &label).await.unwrap();
        forge.add_label(&pr(), label.name).await.unwrap();
    }
}

#[tokio::test]
async fn a_label_that_already_exists_is_fine() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/labels"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "Label", "code": "already_exists", "field": "name" }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_issue_label(&server, "size/L", 2).await;
    let forge = forge(&server);

    let label = Label {
        name: "size/L",
        color: "ee9900",
        description: "big",
    };
    for _ in 0..2 {
        forge.create_label(&pr().repo, &label).await.unwrap();
        forge.add_label(&pr(), label.name).await.unwrap();
    }
}

/// Goes through `SizeLabel`, whose texts come from the policy module.
#[tokio::test]
async fn add_label_creates_the_size_label_with_the_policy_colour() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let label = SizeLabel::M;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/labels"))
        .and(body_json(json!({
            "name": label.name(), "color": label.color(), "description": label.description()
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "name": label.name() })))
        .expect(1)
        .mount(&server)
        .await;
    mount_issue_label(&server, label.name(), 1).await;

    let forge = forge(&server);
    forge.create_label(&pr().repo, &label.into()).await.unwrap();
    forge.add_label(&pr(), label.name()).await.unwrap();
}

const MARKER: &str = "<!-- smallbatch:gate -->";

fn comments_json() -> Value {
    json!([
        { "id": 1, "body": format!("> {MARKER}\n> why is this blocked?"),
          "user": { "login": "alice", "type": "User" } },
        { "id": 2, "body": "unrelated bot chatter", "user": { "login": "smallbatch[bot]", "type": "Bot" } },
        { "id": 3, "body": format!("{MARKER}\nSize: M"), "user": { "login": "other[bot]", "type": "Bot" } },
        { "id": 4, "body": format!("{MARKER}\nSize: S"), "user": { "login": "smallbatch[bot]", "type": "Bot" } }
    ])
}

#[tokio::test]
async fn find_comment_ignores_others_quoting_the_marker_and_discovers_the_bot_once() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/app"))
        .and(AppJwt)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": 1234, "slug": "smallbatch" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .and(query_param("per_page", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comments_json()))
        .expect(2)
        .mount(&server)
        .await;
    let mut app = app_at(&server.uri());
    app.app_slug = None;
    let forge = GitHubForge::with_retry_policy(app, fast_retries()).unwrap();

    for _ in 0..2 {
        assert_eq!(
            forge.find_comment(&pr(), MARKER).await.unwrap(),
            Some((CommentId(4), format!("{MARKER}\nSize: S")))
        );
    }
}

#[tokio::test]
async fn comments_are_created_and_edited_in_place() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/issues/7/comments"))
        .and(body_json(json!({ "body": "hello" })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": 99, "body": "hello" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/widgets/issues/comments/99"))
        .and(body_json(json!({ "body": "hello again" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 99 })))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    let id = forge.create_comment(&pr(), "hello").await.unwrap();
    assert_eq!(id, CommentId(99));
    forge.edit_comment(&pr(), id, "hello again").await.unwrap();
}

#[tokio::test]
async fn enterprise_base_url_prefixes_every_path_including_pagination() {
    let server = MockServer::start().await;
    let ghe = format!("{}/api/v3", server.uri());
    Mock::given(method("POST"))
        .and(path(format!("/api/v3{TOKEN_PATH}")))
        .and(AppJwt)
        .respond_with(
            ResponseTemplate::new(201).set_body_json(token_body("tok", time::Duration::hours(1))),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/acme/widgets/git/ref/heads/release/1.x"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ref": "refs/heads/release/1.x", "object": { "sha": sha('r').as_str(), "type": "commit" } })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let pulls = "/api/v3/repos/acme/widgets/pulls";
    let next = format!("<{ghe}/repos/acme/widgets/pulls?state=open&base=release%2F1.x&per_page=100&page=2>; rel=\"next\"");
    Mock::given(method("GET"))
        .and(path(pulls))
        .and(query_param("state", "open"))
        .and(query_param("base", "release/1.x"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([
                    { "number": 3, "head": { "ref": "topic-3", "sha": sha('3').as_str() } },
                    { "number": 5, "head": { "ref": "topic-5", "sha": sha('5').as_str() } }
                ]))
                .insert_header("link", next.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(pulls))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "number": 8, "head": { "ref": "topic-8", "sha": sha('8').as_str() } }
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let forge = GitHubForge::with_retry_policy(app_at(&ghe), fast_retries()).unwrap();

    assert_eq!(
        forge.branch_head(&repo(), "release/1.x").await.unwrap(),
        sha('r')
    );
    let open = forge
        .open_prs(&repo(), Some("release/1.x"), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        open.iter()
            .map(|p| (p.number, p.head_sha.clone()))
            .collect::<Vec<_>>(),
        [
            (PrNumber(3), sha('3')),
            (PrNumber(5), sha('5')),
            (PrNumber(8), sha('8'))
        ]
    );
}

#[tokio::test]
async fn a_validation_error_is_permanent_with_githubs_details() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/widgets/labels"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "Label", "code": "invalid", "field": "color" }]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let label = Label {
        name: "size/XS",
        color: "not-a-colour",
        description: "tiny",
    };
    let err = forge(&server)
        .create_label(&pr().repo, &label)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: POST /repos/acme/widgets/labels: 422 Unprocessable Entity: \
         Validation Failed (color: invalid)"
    );
}

#[tokio::test]
async fn a_repo_without_installation_is_a_permanent_error() {
    let server = MockServer::start().await;
    let mut repo = repo();
    repo.installation = None;

    let err = forge(&server).branch_head(&repo, "main").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: acme/widgets has no GitHub App installation id"
    );
}

// --- Commands and /ship -------------------------------------------------------------

#[tokio::test]
async fn a_command_is_acknowledged_with_eyes_whether_or_not_already_there() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let reactions = "/repos/acme/widgets/issues/comments/492700400/reactions";
    Mock::given(method("POST"))
        .and(path(reactions))
        .and(body_json(json!({ "content": "eyes" })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": 1, "content": "eyes" })),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(reactions))
        .and(body_json(json!({ "content": "eyes" })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": 1, "content": "eyes" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);

    forge
        .acknowledge_command(&pr(), CommentId(492700400))
        .await
        .unwrap();
    forge
        .acknowledge_command(&pr(), CommentId(492700400))
        .await
        .unwrap();
}

async fn mount_permission(server: &MockServer, user: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/acme/widgets/collaborators/{user}/permission"
        )))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn permission_prefers_the_role_and_a_non_collaborator_has_none() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    // GitHub's answer folds maintain into `permission: write`; `role_name` is exact.
    let answer = |permission: &str, role: Option<&str>| {
        let mut body = json!({ "permission": permission, "user": { "login": "someone" } });
        if let Some(role) = role {
            body["role_name"] = json!(role);
        }
        body
    };
    mount_permission(&server, "maya", 200, answer("write", Some("maintain"))).await;
    mount_permission(&server, "trish", 200, answer("read", Some("triage"))).await;
    mount_permission(
        &server,
        "sec",
        200,
        answer("write", Some("security-auditor")),
    )
    .await;
    mount_permission(&server, "old-ghes", 200, answer("admin", None)).await;
    mount_permission(&server, "viewer", 200, answer("none", Some("none"))).await;
    mount_permission(
        &server,
        "forker",
        404,
        json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" }),
    )
    .await;
    let forge = forge(&server);

    for (user, expected) in [
        ("maya", Permission::Maintain),
        ("trish", Permission::Triage),
        ("sec", Permission::Write),
        ("old-ghes", Permission::Admin),
        ("viewer", Permission::None),
        ("forker", Permission::None),
    ] {
        assert_eq!(
            forge.permission(&repo(), user).await.unwrap(),
            expected,
            "{user}"
        );
    }
}

#[tokio::test]
async fn merge_readiness_lists_other_checks_across_pages_and_statuses() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let head = sha('h');
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "node_id": "PR_kwDOAAABc84AAAAB", "mergeable": null,
            "merge_commit_sha": null, "state": "open"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let runs = format!("/repos/acme/widgets/commits/{head}/check-runs");
    let run = |name: &str, status: &str, conclusion: Value| json!({ "id": 1, "name": name, "status": status, "conclusion": conclusion });
    mount_page(
        &server,
        &runs,
        None,
        json!({ "total_count": 5, "check_runs": [
            run("build", "completed", json!("success")),
            run("smallbatch", "completed", json!("action_required")),
            run("lint", "completed", json!("neutral")),
        ]}),
        Some(2),
    )
    .await;
    mount_page(
        &server,
        &runs,
        Some(2),
        json!({ "total_count": 5, "check_runs": [
            run("e2e", "in_progress", Value::Null),
            run("docs", "completed", json!("timed_out")),
        ]}),
        None,
    )
    .await;
    let statuses = format!("/repos/acme/widgets/commits/{head}/status");
    let status = |context: &str, state: &str| json!({ "context": context, "state": state });
    mount_page(
        &server,
        &statuses,
        None,
        json!({ "state": "failure", "sha": head.as_str(), "total_count": 3, "statuses": [
            status("ci/jenkins", "success"),
            status("deploy/preview", "pending"),
            status("security/scan", "error"),
        ]}),
        None,
    )
    .await;

    let readiness = forge(&server).merge_readiness(&pr(), &head).await.unwrap();
    let check = |name: &str, outcome| HeadCheck {
        name: name.to_owned(),
        outcome,
    };
    assert_eq!(
        readiness,
        MergeReadiness {
            mergeable: None,
            checks: vec![
                check("build", CheckOutcome::Passed),
                check("lint", CheckOutcome::Passed),
                check("e2e", CheckOutcome::Pending),
                check("docs", CheckOutcome::Failed),
                check("ci/jenkins", CheckOutcome::Passed),
                check("deploy/preview", CheckOutcome::Pending),
                check("security/scan", CheckOutcome::Failed),
            ],
        }
    );
}

#[tokio::test]
async fn merge_sends_the_expected_head_and_method_and_returns_the_merge_commit() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    for (method_name, merged) in [("squash", 'm'), ("rebase", 'r')] {
        Mock::given(method("PUT"))
            .and(path("/repos/acme/widgets/pulls/7/merge"))
            .and(body_json(
                json!({ "sha": sha('h').as_str(), "merge_method": method_name }),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "sha": sha(merged).as_str(), "merged": true,
                "message": "Pull Request successfully merged"
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let forge = forge(&server);

    assert_eq!(
        forge
            .merge(&pr(), &sha('h'), MergeMethod::Squash)
            .await
            .unwrap(),
        sha('m')
    );
    assert_eq!(
        forge
            .merge(&pr(), &sha('h'), MergeMethod::Rebase)
            .await
            .unwrap(),
        sha('r')
    );
}

#[tokio::test]
async fn a_refused_merge_is_permanent_with_githubs_message_for_the_user() {
    for (status, message) in [
        (405, "Pull Request is not mergeable"),
        (
            409,
            "Head branch was modified. Review and try the merge again.",
        ),
        (422, "Merge commits are not allowed on this repository."),
    ] {
        let server = MockServer::start().await;
        token_mock("tok").expect(1).mount(&server).await;
        Mock::given(method("PUT"))
            .and(path("/repos/acme/widgets/pulls/7/merge"))
            .and(body_json(
                json!({ "sha": sha('h').as_str(), "merge_method": "merge" }),
            ))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
            })))
            .expect(1)
            .mount(&server)
            .await;

        let err = forge(&server)
            .merge(&pr(), &sha('h'), MergeMethod::Merge)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ForgeError::Refused { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.to_string(), format!("forge error: {message}"));
    }
}

#[tokio::test]
async fn a_merge_retried_after_it_went_through_returns_the_merge_commit() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("PUT"))
        .and(path("/repos/acme/widgets/pulls/7/merge"))
        .respond_with(ResponseTemplate::new(405).set_body_json(json!({
            "message": "Pull Request is not mergeable"
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "merged": true, "merge_commit_sha": sha('m').as_str(),
            "head": {"sha": sha('h').as_str()}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let forge = forge(&server);
    // Merged at the head we asked for: the earlier attempt went through.
    assert_eq!(
        forge
            .merge(&pr(), &sha('h'), MergeMethod::Squash)
            .await
            .unwrap(),
        sha('m')
    );
    // Merged at another head: the refusal stands.
    let err = forge
        .merge(&pr(), &sha('x'), MergeMethod::Squash)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "forge error: Pull Request is not mergeable"
    );
}

const DEPLOYMENTS: &str = "/repos/acme/widgets/deployments";

/// Lists the deployments of `sha('m')` to production, `times` times: `listed` as GitHub
/// answers.
async fn deployments_listed(server: &MockServer, listed: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(DEPLOYMENTS))
        .and(query_param("sha", sha('m').as_str()))
        .and(query_param("environment", "production"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

/// Answers `times` deployment creations with `status`.
async fn deployment_posts(server: &MockServer, status: u16, times: u64) {
    Mock::given(method("POST"))
        .and(path(DEPLOYMENTS))
        .respond_with(ResponseTemplate::new(status))
        .expect(times)
        .mount(server)
        .await;
}

/// A deployment as GitHub lists it, with `payload`.
fn listed_deployment(id: u64, payload: Value) -> Value {
    json!({
        "url": format!("https://api.github.com{DEPLOYMENTS}/{id}"),
        "id": id, "node_id": "MDEwOkRlcGxveW1lbnQx", "sha": sha('m').as_str(),
        "ref": sha('m').as_str(), "task": "deploy", "payload": payload,
        "original_environment": "production", "environment": "production",
        "description": "Deploy request from hubot",
        "creator": {"login": "octocat", "id": 1, "type": "User"},
        "created_at": "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z",
        "statuses_url": format!("https://api.github.com{DEPLOYMENTS}/{id}/statuses"),
        "repository_url": "https://api.github.com/repos/acme/widgets",
        "transient_environment": false, "production_environment": true
    })
}

async fn ship_deployment(server: &MockServer) -> Result<DeploymentStart, ForgeError> {
    forge(server)
        .start_deployment(&repo(), &sha('m'), "production", "/ship of #7 by maya")
        .await
}

#[tokio::test]
async fn start_deployment_creates_one_for_the_exact_commit() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    // The team's own deployment of the commit is not ours.
    deployments_listed(&server, json!([listed_deployment(1, json!({}))]), 1).await;
    Mock::given(method("POST"))
        .and(path(DEPLOYMENTS))
        .and(body_json(json!({
            "ref": sha('m').as_str(),
            "environment": "production",
            "description": "/ship of #7 by maya",
            "auto_merge": false,
            "required_contexts": [],
            "payload": { "smallbatch": true }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 145988746, "sha": sha('m').as_str(), "ref": sha('m').as_str(),
            "task": "deploy", "environment": "production"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let started = ship_deployment(&server).await.unwrap();
    assert_eq!(started, DeploymentStart::Created { id: 145988746 });
}

#[tokio::test]
async fn start_deployment_adopts_the_one_an_earlier_attempt_created() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let ours = listed_deployment(145988746, json!({ "smallbatch": true }));
    deployments_listed(&server, json!([ours]), 1).await;
    deployment_posts(&server, 201, 0).await;

    let started = ship_deployment(&server).await.unwrap();
    assert_eq!(started, DeploymentStart::Created { id: 145988746 });
}

#[tokio::test]
async fn a_deployment_whose_answer_was_lost_is_looked_for_not_created_twice() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    // Before the post: none. After the 502: the one GitHub made anyway.
    deployments_listed(&server, json!([]), 1).await;
    let ours = listed_deployment(145988746, json!({ "smallbatch": true }));
    deployments_listed(&server, json!([ours]), 1).await;
    deployment_posts(&server, 502, 1).await;

    let started = ship_deployment(&server).await.unwrap();
    assert_eq!(started, DeploymentStart::Created { id: 145988746 });
}

#[tokio::test]
async fn a_deployment_post_failing_with_nothing_made_is_transient_and_sent_once() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    deployments_listed(&server, json!([]), 2).await;
    deployment_posts(&server, 503, 1).await;

    let err = ship_deployment(&server).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("not repeated"), "{err}");
}

#[tokio::test]
async fn deployment_state_is_set_with_githubs_names_and_a_description_cut_to_140_chars() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let long = format!("Regression: {}", "é".repeat(200));
    let cut: String = long.chars().take(140).collect();
    let statuses = "/repos/acme/widgets/deployments/145988746/statuses";
    statuses_listed(&server, statuses, json!([]), 2).await;
    for (state, description) in [("failure", cut.as_str()), ("in_progress", "watching")] {
        Mock::given(method("POST"))
            .and(path(statuses))
            .and(body_json(
                json!({ "state": state, "description": description }),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({ "id": 1, "state": state })),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let forge = forge(&server);

    forge
        .set_deployment_state(&repo(), 145988746, DeploymentState::Failure, &long)
        .await
        .unwrap();
    forge
        .set_deployment_state(&repo(), 145988746, DeploymentState::InProgress, "watching")
        .await
        .unwrap();
}

/// The newest status of a deployment, looked at before another is posted.
async fn statuses_listed(server: &MockServer, statuses: &str, listed: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(query_param("per_page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_state_the_deployment_already_has_is_not_posted_again() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    let statuses = "/repos/acme/widgets/deployments/145988746/statuses";
    statuses_listed(
        &server,
        statuses,
        json!([{ "id": 2, "state": "failure" }]),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(statuses))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;

    forge(&server)
        .set_deployment_state(&repo(), 145988746, DeploymentState::Failure, "regressed")
        .await
        .unwrap();
}

const REVERT_QUERY: &str = "mutation($pullRequestId: ID!, $title: String, $body: String) { revertPullRequest(input: {pullRequestId: $pullRequestId, title: $title, body: $body}) { revertPullRequest { number } } }";

async fn mount_merged_pull(server: &MockServer, prefix: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/repos/acme/widgets/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "node_id": "PR_kwDOAAABc84AAAAB", "state": "closed",
            "merged": true, "mergeable": null, "merge_commit_sha": sha('m').as_str()
        })))
        .expect(1)
        .mount(server)
        .await;
    open_pulls_listed(server, prefix, json!([]), 1).await;
}

/// The newest open PRs, looked through for a revert opened earlier.
async fn open_pulls_listed(server: &MockServer, prefix: &str, pulls: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/repos/acme/widgets/pulls")))
        .and(query_param("state", "open"))
        .and(query_param("sort", "created"))
        .and(query_param("direction", "desc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pulls))
        .expect(times)
        .mount(server)
        .await;
}

/// The marker the adapter adds to the revert's description, to find it again.
fn revert_marker() -> String {
    format!("<!-- smallbatch:revert:{} -->", sha('m').as_str())
}

fn revert_request() -> Value {
    json!({
        "query": REVERT_QUERY,
        "variables": {
            "pullRequestId": "PR_kwDOAAABc84AAAAB",
            "title": "Revert \"Frobnicate\"",
            "body": format!("Reverts #7: error rate 4.1% after the deploy (baseline 0.3%).\n{}\n", revert_marker())
        }
    })
}

async fn open_revert(forge: &GitHubForge) -> Result<PrNumber, ForgeError> {
    forge
        .open_revert(
            &pr(),
            &sha('m'),
            "Revert \"Frobnicate\"",
            "Reverts #7: error rate 4.1% after the deploy (baseline 0.3%).",
        )
        .await
}

#[tokio::test]
async fn open_revert_uses_the_graphql_mutation_on_the_prs_node_id() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    mount_merged_pull(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", "Bearer tok"))
        .and(body_json(revert_request()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "revertPullRequest": { "revertPullRequest": { "number": 12 } } }
        })))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(open_revert(&forge(&server)).await.unwrap(), PrNumber(12));
}

#[tokio::test]
async fn a_revert_whose_answer_is_lost_is_found_and_not_opened_twice() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "node_id": "PR_kwDOAAABc84AAAAB", "state": "closed",
            "merged": true, "mergeable": null, "merge_commit_sha": sha('m').as_str(),
            "base": { "ref": "main", "sha": sha('b').as_str() }
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Nothing before the mutation; after it, the revert GitHub opened.
    Mock::given(method("GET"))
        .and(path("/repos/acme/widgets/pulls"))
        .and(query_param("base", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let body = format!("Reverts #7\n{}\n", revert_marker());
    open_pulls_listed(
        &server,
        "",
        json!([{ "number": 30, "body": "unrelated" }, { "number": 31, "body": body }]),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(open_revert(&forge(&server)).await.unwrap(), PrNumber(31));
}

#[tokio::test]
async fn on_enterprise_server_graphql_is_beside_the_rest_root() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v3{TOKEN_PATH}")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(token_body("tok", time::Duration::hours(1))),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_merged_pull(&server, "/api/v3").await;
    Mock::given(method("POST"))
        .and(path("/api/graphql"))
        .and(body_json(revert_request()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "revertPullRequest": { "revertPullRequest": { "number": 13 } } }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let ghe = format!("{}/api/v3", server.uri());
    let forge = GitHubForge::with_retry_policy(app_at(&ghe), fast_retries()).unwrap();

    assert_eq!(open_revert(&forge).await.unwrap(), PrNumber(13));
}

#[tokio::test]
async fn graphql_errors_in_a_200_are_permanent_with_their_messages() {
    let server = MockServer::start().await;
    token_mock("tok").expect(1).mount(&server).await;
    mount_merged_pull(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "revertPullRequest": null },
            "errors": [
                { "type": "UNPROCESSABLE", "path": ["revertPullRequest"],
                  "message": "Sorry, this pull request couldn’t be reverted automatically." },
                { "type": "FORBIDDEN", "path": ["revertPullRequest"],
                  "message": "Resource not accessible by integration" }
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = open_revert(&forge(&server)).await.unwrap_err();
    assert!(matches!(err, ForgeError::Permanent(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "forge error: GitHub GraphQL: Sorry, this pull request couldn’t be reverted \
         automatically.; Resource not accessible by integration"
    );
}
