//! Fault tests: the fake GitHub answers a fifth of the calls with 502, answers some
//! late, and imposes a secondary rate limit (403 + `Retry-After`) on every call for a
//! while. The bot must still reach every verdict, write nothing twice, park nothing, and
//! stop calling while the limit holds.
use crate::support;
use crate::support::world::World;

use crate::support::fake_github::{oversized_files, small_files, Chaos, Write};
use crate::support::github_world::{GitHubWorld, BASE_SHA, INSTALLATION, REPO};
use crate::support::sha;
use secrecy::SecretString;
use smallbatch::domain::{InstallationId, RepoRef};
use smallbatch::forge::github::{GitHubApp, GitHubForge, RetryPolicy};
use smallbatch::forge::{Forge, ForgeError};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wiremock::ResponseTemplate;

/// The worker's concurrency in the test world (`support::in_process::settings`).
const CONCURRENCY: usize = 4;
const PRS: u64 = 30;

/// The five kinds of PR in the mix, by PR number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Waiting,
    Approved,
    ChangesRequested,
    Oversized,
    /// Oversized when opened, then split down to a small change.
    Split,
}

impl Kind {
    fn of(number: u64) -> Self {
        match number % 5 {
            0 => Kind::Waiting,
            1 => Kind::Approved,
            2 => Kind::ChangesRequested,
            3 => Kind::Oversized,
            _ => Kind::Split,
        }
    }

    fn conclusion(self) -> &'static str {
        match self {
            Kind::Waiting | Kind::Split => "action_required",
            Kind::Approved => "success",
            Kind::ChangesRequested | Kind::Oversized => "failure",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Oversized => "size/XL",
            _ => "size/M",
        }
    }

    /// Guidance comments the PR should carry: one, kept and edited, once it was oversized.
    fn comments(self) -> usize {
        match self {
            Kind::Oversized | Kind::Split => 1,
            _ => 0,
        }
    }
}

fn numbers() -> impl Iterator<Item = u64> {
    100..100 + PRS
}

/// What a user sees on one PR once everything has run.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    head: String,
    /// (conclusion, title, summary) of every check run on the final head.
    checks: Vec<(String, String, String)>,
    comments: Vec<String>,
    labels: Vec<String>,
}

fn outcomes(w: &GitHubWorld) -> BTreeMap<u64, Outcome> {
    let s = w.gh.state();
    s.prs
        .values()
        .map(|pr| {
            let checks = s
                .check_runs
                .iter()
                .filter(|c| c.head_sha == pr.head_sha)
                .map(|c| (c.conclusion.clone(), c.title.clone(), c.summary.clone()))
                .collect();
            let comments = s
                .comments
                .iter()
                .filter(|c| c.1 == pr.number)
                .map(|c| c.3.clone())
                .collect();
            let mut labels = pr.labels.clone();
            labels.sort();
            let outcome = Outcome {
                head: pr.head_sha.clone(),
                checks,
                comments,
                labels,
            };
            (pr.number, outcome)
        })
        .collect()
}

/// Waits for every job, moving the store clock on whenever only jobs waiting out
/// their retry backoff are left, so retries run without real waiting. The clock moves
/// only while nothing runs, so no lease expires under a running job.
async fn settle_through_retries(w: &GitHubWorld) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if w.store.due_depth(Duration::ZERO).await.unwrap() == 0 {
            if w.store.due_depth(Duration::from_secs(3600)).await.unwrap() == 0 {
                return;
            }
            w.store.advance_clock(Duration::from_secs(5));
        }
        assert!(
            Instant::now() < deadline,
            "jobs did not settle; chaos: {:#?}",
            w.gh.state().chaos.as_ref().map(|c| &c.stats)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the PRs, then reviews and splits them, through real deliveries; settles after
/// each phase (so the order of phases, not of jobs, fixes the outcome).
async fn drive(w: &GitHubWorld) {
    for n in numbers() {
        let files = match Kind::of(n) {
            Kind::Oversized | Kind::Split => oversized_files(),
            _ => small_files(),
        };
        w.open_pr(n, &sha(n as u32), files);
        let (status, _) = w
            .deliver("pull_request", &w.payload("pull_request.opened", n))
            .await;
        assert_eq!(status, 202);
    }
    settle_through_retries(w).await;

    for n in numbers() {
        match Kind::of(n) {
            Kind::Waiting | Kind::Oversized => continue,
            Kind::Approved => w.review(n, "bob", "APPROVED"),
            Kind::ChangesRequested => {
                w.review(n, "bob", "APPROVED");
                w.review(n, "carol", "CHANGES_REQUESTED");
            }
            Kind::Split => {
                w.push(n, &sha(10_000 + n as u32), small_files()).await;
                continue;
            }
        }
        let (status, _) = w
            .deliver(
                "pull_request_review",
                &w.payload("pull_request_review.submitted", n),
            )
            .await;
        assert_eq!(status, 202);
    }
    settle_through_retries(w).await;
}

fn count(writes: &[Write], f: impl Fn(&Write) -> bool) -> usize {
    writes.iter().filter(|w| f(w)).count()
}

#[tokio::test]
async fn under_502s_latency_spikes_and_a_secondary_rate_limit_every_verdict_is_right_once() {
    // The same story against a well-behaved GitHub gives the reference outcome.
    let mut calm = GitHubWorld::start().await;
    drive(&calm).await;
    let expected = outcomes(&calm);
    calm.stop().await;

    let w = GitHubWorld::start().await;
    w.gh.state().chaos = Some(Chaos::new(0x5eed_f00d));
    drive(&w).await;

    // Every verdict is the policy's, published once per head.
    let got = outcomes(&w);
    for n in numbers() {
        let kind = Kind::of(n);
        let outcome = &got[&n];
        assert_eq!(
            outcome.checks.len(),
            1,
            "PR #{n} ({kind:?}): one check run on its head, got {:#?}",
            outcome.checks
        );
        assert_eq!(outcome.checks[0].0, kind.conclusion(), "PR #{n} ({kind:?})");
        assert_eq!(outcome.labels, [kind.label()], "PR #{n} ({kind:?})");
        assert_eq!(
            outcome.comments.len(),
            kind.comments(),
            "PR #{n} ({kind:?})"
        );
    }
    assert_eq!(got, expected, "the same outcome as without faults");
    assert_eq!(w.store.parked_count().await.unwrap(), 0, "no job parked");

    // Nothing was written twice: one comment per PR ever created, each label made once.
    let writes = w.writes();
    for n in numbers() {
        assert_eq!(
            count(
                &writes,
                |x| matches!(x, Write::CommentCreated { pr, .. } if *pr == n)
            ),
            Kind::of(n).comments(),
            "PR #{n}"
        );
    }
    for name in ["size/M", "size/XL"] {
        assert_eq!(
            count(
                &writes,
                |x| matches!(x, Write::LabelCreated { name: l, .. } if l == name)
            ),
            1,
            "{name}"
        );
    }

    // The faults did happen, and the rate limit opened and closed while jobs ran.
    let chaos = w.gh.state().chaos.clone().unwrap();
    let stats = &chaos.stats;
    assert!(chaos.rate_limit_over(), "{stats:#?}");
    assert!(stats.bad_gateways >= stats.calls / 10, "{stats:#?}");
    assert!(stats.spikes > 0, "{stats:#?}");

    // No busy-looping: once told to wait, the client holds back every call of the
    // installation until the limit is over. What reaches the fake during the window is
    // the first 403 and the calls already on the wire when it was answered: the two
    // sent beside it by a snapshot (PR, files and reviews at once) and, rarely, a call
    // of another job sent in the same instant. Without the shared pause every running
    // job, and every job started meanwhile, ran into the limit (10 calls seen).
    assert!(!stats.limited.is_empty(), "{stats:#?}");
    assert!(
        stats.limited.len() <= CONCURRENCY + 2,
        "{} calls during the rate limit: {:#?}",
        stats.limited.len(),
        stats.limited
    );
    // A caller retrying inside the window would ask for the same path again.
    let mut paths: Vec<&str> = stats.limited.iter().map(|(_, p)| p.as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), stats.limited.len(), "{:#?}", stats.limited);
    let s = w.gh.state();
    assert!(s.unexpected.is_empty(), "{:#?}", s.unexpected);
}

const SECONDARY_LIMIT_WITHOUT_WAIT: &str = "You have exceeded a secondary rate limit.";

fn secondary_limit_without_retry_after() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(serde_json::json!({
        "message": SECONDARY_LIMIT_WITHOUT_WAIT,
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    }))
}

#[tokio::test]
async fn a_secondary_limit_without_retry_after_is_waited_out_not_retried_at_once() {
    let gh = support::fake_github::FakeGitHub::start(REPO, BASE_SHA).await;
    let app = GitHubApp {
        app_id: 1,
        private_key: SecretString::from(support::test_private_key()),
        api_url: gh.uri().parse().unwrap(),
        app_slug: Some("smallbatch".into()),
    };
    // The test world's policy: GitHub's advised minute exceeds its 3 s budget per call.
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_total_wait: Duration::from_secs(3),
    };
    let forge = GitHubForge::with_retry_policy(app, policy).unwrap();
    let repo = RepoRef::github(REPO, InstallationId(INSTALLATION));
    assert_eq!(
        forge.branch_head(&repo, "main").await.unwrap().as_str(),
        BASE_SHA
    );
    gh.take_calls();

    gh.state()
        .faults
        .push_back(secondary_limit_without_retry_after());
    let err = forge.branch_head(&repo, "main").await.unwrap_err();
    assert!(
        matches!(
            &err,
            ForgeError::Transient { retry_after: Some(wait), .. } if *wait == Duration::from_secs(60)
        ),
        "{err:?}"
    );
    assert_eq!(
        gh.take_calls(),
        [format!("GET /repos/{REPO}/git/ref/heads/main")],
        "one call, then the minute is handed back, not retried at once"
    );
}

#[tokio::test]
async fn a_job_hitting_a_secondary_limit_without_retry_after_runs_again_a_minute_later() {
    let w = GitHubWorld::start().await;
    let head = sha(1);
    w.open(7, &head, small_files()).await;
    w.settle().await;
    w.writes();
    w.gh.take_calls();

    w.review(7, "bob", "APPROVED");
    w.gh.state()
        .faults
        .push_back(secondary_limit_without_retry_after());
    w.deliver(
        "pull_request_review",
        &w.payload("pull_request_review.submitted", 7),
    )
    .await;
    w.settle().await;
    // The snapshot sends its three reads at once and the first to arrive is limited.
    // Whether the other two reach GitHub before the limited one is answered (and the
    // snapshot dropped) is a race, so only this is fixed: at least one call, each at
    // most once (nothing retried), and nothing published.
    let snapshot = [
        "GET /repos/octo-org/widgets/pulls/7",
        "GET /repos/octo-org/widgets/pulls/7/files",
        "GET /repos/octo-org/widgets/pulls/7/reviews",
    ];
    let mut limited = w.gh.take_calls();
    limited.sort();
    let sent = limited.len();
    limited.dedup();
    assert_eq!(limited.len(), sent, "a call was retried: {limited:?}");
    assert!(!limited.is_empty());
    assert!(
        limited.iter().all(|c| snapshot.contains(&c.as_str())),
        "{limited:?}"
    );
    assert_eq!(w.writes(), [], "nothing published while limited");

    // The job waits out GitHub's advised minute on the store clock: not due before it
    // is up, due once it is.
    w.store.advance_clock(Duration::from_secs(55));
    assert_eq!(w.store.due_depth(Duration::ZERO).await.unwrap(), 0);
    assert_eq!(w.store.due_depth(Duration::from_secs(6)).await.unwrap(), 1);
    // When it runs, the process still holds back its calls: the client keeps GitHub's
    // minute on the real clock, which the test moved only on the store.
    w.advance(Duration::from_secs(6)).await;
    assert_eq!(w.gh.take_calls(), Vec::<String>::new());
    assert_eq!(w.writes(), []);

    // A fresh process (another replica) that never saw the limit runs the job when due:
    // the job was put off by the minute's rest, on a clock the new store handle starts
    // afresh (without the 61 s moved so far).
    let w = w.restart().await;
    w.advance(Duration::from_secs(125)).await;
    assert_eq!(
        w.writes(),
        [Write::CheckRunUpdated {
            id: w.gh.latest_check(&head).id,
            conclusion: "success".into(),
            title: w.gh.latest_check(&head).title,
        }]
    );
    assert_eq!(w.store.parked_count().await.unwrap(), 0);
    w.assert_quiet();
}
