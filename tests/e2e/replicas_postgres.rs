//! Three `smallbatch serve` replicas on one PostgreSQL database and one fake GitHub:
//! 2,000 signed deliveries for 200 PRs, shuffled, with redeliveries, spread over the
//! replicas, one replica SIGKILLed halfway. Every PR must end with the right check on its
//! final head, one guidance comment where one is due, and no side effect done twice.
//!
//! Runs on the PostgreSQL server `support::postgres` finds or starts; a fresh database is
//! created and dropped.

use crate::support::fake_github::{FakeFile, FakeGitHub, FakePr, FakeReview, Write, BOT_LOGIN};
use crate::support::github_world::{self, BASE_SHA, INSTALLATION, REPO, SECRET};
use crate::support::process::{cpu_secs, timed_alone, Database, Replica};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use smallbatch::server::signature::sign_sha256;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPLICAS: usize = 3;
const PRS: u64 = 200;
const SENDS: usize = 2_000;
/// Sends before replica 0 is killed.
const KILL_AFTER: usize = 1_000;
const IN_FLIGHT: usize = 16;
const LEASE_SECS: u64 = 3;
const SEED: u64 = 0x5eed_2026;

/// Jobs `replica` holds a lease on right now.
async fn leases(pool: &sqlx::PgPool, replica: &Replica) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running' AND worker LIKE $1")
        .bind(format!("%-{}-%", replica.pid()))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How big a PR is: each class stays within one size label whatever its pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// 15-24 lines: size/S, no guidance.
    Small,
    /// 130-175 lines: size/L, under the 200-line warning, no guidance.
    Medium,
    /// 620-710 lines: size/XL, over the 400-line maximum: fails, guidance due.
    Oversized,
}

impl Class {
    fn files(self, number: u64, pushes: u64) -> Vec<FakeFile> {
        let (code, tests) = match self {
            Class::Small => (10 + pushes, 5),
            Class::Medium => (120 + 5 * pushes, 10),
            Class::Oversized => (600 + 10 * pushes, 20),
        };
        vec![
            FakeFile::modified(&format!("src/pr{number}.rs"), code, 0),
            FakeFile::added(&format!("tests/pr{number}.rs"), tests),
        ]
    }

    fn label(self) -> &'static str {
        match self {
            Class::Small => "size/S",
            Class::Medium => "size/L",
            Class::Oversized => "size/XL",
        }
    }
}

/// What a delivery tells of, applied to the fake GitHub just before its first send.
#[derive(Debug, Clone, Copy)]
enum Change {
    Opened,
    /// A new head commit with slightly different files.
    Pushed,
    /// An approval by the given reviewer.
    Approved(&'static str),
}

struct Planned {
    id: String,
    pr: u64,
    change: Change,
}

struct Plan {
    classes: BTreeMap<u64, Class>,
    unique: Vec<Planned>,
    /// Indexes into `unique`, each once plus the redeliveries, shuffled.
    sends: Vec<usize>,
}

fn plan(rng: &mut StdRng) -> Plan {
    let mut classes = BTreeMap::new();
    let mut unique = Vec::new();
    for pr in 1..=PRS {
        let class = match rng.random_range(0..3) {
            0 => Class::Small,
            1 => Class::Medium,
            _ => Class::Oversized,
        };
        classes.insert(pr, class);
        let mut changes = vec![Change::Opened];
        changes.extend((0..rng.random_range(5..=9)).map(|_| Change::Pushed));
        changes.extend(
            ["bob", "carol"][..rng.random_range(0..=2)]
                .iter()
                .map(|r| Change::Approved(r)),
        );
        for change in changes {
            unique.push(Planned {
                id: format!("72d3162e-cc78-11e3-81ab-{:012x}", unique.len() + 1),
                pr,
                change,
            });
        }
    }
    assert!(unique.len() < SENDS, "{} unique deliveries", unique.len());
    let mut sends: Vec<usize> = (0..unique.len()).collect();
    sends.extend((unique.len()..SENDS).map(|_| rng.random_range(0..unique.len())));
    sends.shuffle(rng);
    Plan {
        classes,
        unique,
        sends,
    }
}

fn open_prs(gh: &FakeGitHub, plan: &Plan) {
    let mut s = gh.state();
    for (&number, &class) in &plan.classes {
        s.prs.insert(
            number,
            FakePr {
                number,
                author: "alice".into(),
                draft: false,
                state: "open",
                head_sha: head_sha(number, 0),
                head_ref: format!("feature-{}", number),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                labels: vec![],
                files: class.files(number, 0),
                reviews: vec![],
                version: 1,
            },
        );
    }
}

fn head_sha(pr: u64, pushes: u64) -> String {
    format!("{pr:020x}{pushes:020x}")
}

/// Applies the change to the fake (as GitHub would before sending the webhook) and
/// returns the event name and signed-over body of its delivery.
fn apply(
    gh: &FakeGitHub,
    plan: &Plan,
    planned: &Planned,
    pushes: &mut u64,
) -> (&'static str, Vec<u8>) {
    let mut s = gh.state();
    let pr = s.prs.get_mut(&planned.pr).unwrap();
    let (event, fixture) = match planned.change {
        Change::Opened => ("pull_request", "pull_request.opened"),
        Change::Pushed => {
            *pushes += 1;
            pr.head_sha = head_sha(planned.pr, *pushes);
            pr.files = plan.classes[&planned.pr].files(planned.pr, *pushes);
            ("pull_request", "pull_request.synchronize")
        }
        Change::Approved(reviewer) => {
            pr.reviews.push(FakeReview {
                user: reviewer.into(),
                state: "APPROVED",
                commit: pr.head_sha.clone(),
            });
            ("pull_request_review", "pull_request_review.submitted")
        }
    };
    pr.version += 1;
    let mut payload: Value = github_world::fixture(fixture);
    payload["repository"]["full_name"] = REPO.into();
    payload["repository"]["name"] = "widgets".into();
    payload["repository"]["owner"]["login"] = "octo-org".into();
    payload["installation"]["id"] = INSTALLATION.into();
    payload["pull_request"]["number"] = planned.pr.into();
    payload["pull_request"]["head"]["sha"] = pr.head_sha.clone().into();
    if let Change::Approved(reviewer) = planned.change {
        payload["review"]["state"] = "approved".into();
        payload["review"]["user"]["login"] = reviewer.into();
        payload["review"]["commit_id"] = pr.head_sha.clone().into();
    }
    (event, serde_json::to_vec(&payload).unwrap())
}

/// What the sending side saw.
#[derive(Default)]
struct Sent {
    queued: AtomicUsize,
    duplicate: AtomicUsize,
    /// Sends that failed on the killed replica and went to a live one instead.
    resent: AtomicUsize,
    /// Set just before replica 0 is killed.
    dead: AtomicBool,
}

/// Posts one delivery; a replica that does not acknowledge it (it was killed) is
/// replaced by a live one, as a redelivery from GitHub's log would be.
async fn send(
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
    sent: Arc<Sent>,
    mut target: usize,
    event: &'static str,
    id: String,
    body: Arc<Vec<u8>>,
) {
    let signature = sign_sha256(SECRET.as_bytes(), &body);
    for attempt in 0..10 {
        let answer = http
            .post(format!("{}/webhooks/github", bases[target]))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", &id)
            .header("x-hub-signature-256", &signature)
            .body(body.as_ref().clone())
            .send()
            .await;
        match answer {
            Ok(resp) if resp.status() == 202 => {
                let ack: Value = resp.json().await.unwrap();
                let counter = match ack["status"].as_str() {
                    Some("queued") => &sent.queued,
                    Some("duplicate") => &sent.duplicate,
                    other => panic!("delivery {id}: unexpected acknowledgement {other:?}"),
                };
                counter.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(resp) if target != 0 => {
                panic!("delivery {id} to replica {target}: {}", resp.status())
            }
            Err(e) if target != 0 => panic!("delivery {id} to replica {target}: {e}"),
            _ => {
                assert!(
                    sent.dead.load(Ordering::SeqCst) || attempt > 0,
                    "delivery {id}: replica 0 failed while alive"
                );
                sent.resent.fetch_add(1, Ordering::SeqCst);
                target = 1 + attempt % (REPLICAS - 1);
            }
        }
    }
    panic!("delivery {id} never acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_process_2000_deliveries_exactly_once_despite_a_sigkill() {
    let _timing = timed_alone().await;
    let db = Database::create().await;
    let outcome = tokio::spawn(scenario(db.url.clone())).await;
    db.drop_it().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn scenario(db_url: String) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let plan = plan(&mut rng);
    let gh = FakeGitHub::start(REPO, BASE_SHA).await;
    open_prs(&gh, &plan);

    let dir = tempfile::tempdir().unwrap();
    let lease = LEASE_SECS.to_string();
    let lease = lease.as_str();
    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|i| {
            Replica::spawn(
                dir.path(),
                i,
                &db_url,
                &gh,
                &[
                    ("SMALLBATCH_WORKER__LEASE_SECS", lease),
                    // Only deliveries make jobs here: a sweep would add its own (for heads
                    // pushed just before their delivery) and blur the exact job count.
                    ("SMALLBATCH_SWEEP__INTERVAL_SECS", "0"),
                ],
            )
        })
        .collect();
    let http = reqwest::Client::new();
    for r in &replicas {
        r.wait_healthy(&http).await;
    }
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();

    let bases = Arc::new(replicas.iter().map(|r| r.base.clone()).collect::<Vec<_>>());
    let sent = Arc::new(Sent::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    let mut bodies: HashMap<usize, (&'static str, Arc<Vec<u8>>)> = HashMap::new();
    let mut pushes: HashMap<u64, u64> = HashMap::new();
    let mut leased_at_kill: Vec<i64> = Vec::new();
    let mut killed_after = 0;
    let mut cpu_at_kill = None;
    let started = Instant::now();
    for (n, &index) in plan.sends.iter().enumerate() {
        // Halfway, and once replica 0 is in the middle of a job, so there is work to take over.
        if n >= KILL_AFTER
            && !sent.dead.load(Ordering::SeqCst)
            && leases(&pool, &replicas[0]).await > 0
        {
            cpu_at_kill = replicas[0].cpu_secs();
            sent.dead.store(true, Ordering::SeqCst);
            replicas[0].signal("-KILL");
            killed_after = n;
            leased_at_kill = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE state = 'running' AND worker LIKE $1 ORDER BY id",
            )
            .bind(format!("%-{}-%", replicas[0].pid()))
            .fetch_all(&pool)
            .await
            .unwrap();
        }
        let planned = &plan.unique[index];
        let (event, body) = bodies
            .entry(index)
            .or_insert_with(|| {
                let pushes = pushes.entry(planned.pr).or_default();
                let (event, body) = apply(&gh, &plan, planned, pushes);
                (event, Arc::new(body))
            })
            .clone();
        let target = if sent.dead.load(Ordering::SeqCst) {
            rng.random_range(1..REPLICAS)
        } else {
            rng.random_range(0..REPLICAS)
        };
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (http, bases, sent, id) = (
            http.clone(),
            bases.clone(),
            sent.clone(),
            planned.id.clone(),
        );
        tasks.spawn(async move {
            send(http, bases, sent, target, event, id, body).await;
            drop(permit);
        });
        while let Some(done) = tasks.try_join_next() {
            done.unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let sending = started.elapsed();
    assert!(
        sent.dead.load(Ordering::SeqCst),
        "replica 0 never held a lease after {KILL_AFTER} sends"
    );

    let mut drained = false;
    for _ in 0..600 {
        let live: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")
                .fetch_one(&pool)
                .await
                .unwrap();
        if live == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    assert!(
        drained,
        "the queue did not drain in 60 s; logs of replica 1:\n{}",
        replicas[1].logs()
    );

    // Figures first, so a failing assertion below still shows them.
    let per_worker: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT worker, count(*) FROM jobs WHERE state = 'done' GROUP BY worker ORDER BY worker",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let per_replica: Vec<i64> = replicas
        .iter()
        .map(|r| {
            per_worker
                .iter()
                .filter(|(w, _)| w.as_deref().is_some_and(|w| r.owns(w)))
                .map(|(_, n)| n)
                .sum()
        })
        .collect();
    let finished_at_kill: Vec<(i64, String, String, String, i32)> = sqlx::query_as(
        "SELECT id, serial_key, state, coalesce(worker, ''), attempts FROM jobs \
         WHERE id = ANY($1) ORDER BY id",
    )
    .bind(&leased_at_kill)
    .fetch_all(&pool)
    .await
    .unwrap();
    let reattempted: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE attempts > 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let writes = gh.take_writes();
    let count = |f: &dyn Fn(&Write) -> bool| writes.iter().filter(|w| f(w)).count();
    println!("replicas:            {REPLICAS} (lease {LEASE_SECS} s, 4 workers each)");
    println!(
        "deliveries sent:     {SENDS} ({} unique, {} redeliveries) for {PRS} PRs",
        plan.unique.len(),
        SENDS - plan.unique.len()
    );
    println!(
        "acknowledged:        {} queued, {} duplicate, {} resent after the kill",
        sent.queued.load(Ordering::SeqCst),
        sent.duplicate.load(Ordering::SeqCst),
        sent.resent.load(Ordering::SeqCst)
    );
    println!(
        "sending:             {:.2} s ({:.0} deliveries/s)",
        sending.as_secs_f64(),
        SENDS as f64 / sending.as_secs_f64()
    );
    println!(
        "wall (to drained):   {:.2} s ({:.0} deliveries/s)",
        wall.as_secs_f64(),
        SENDS as f64 / wall.as_secs_f64()
    );
    println!(
        "jobs done per replica: {per_replica:?} (replica 0 SIGKILLed after {killed_after} sends)"
    );
    let secs = |cpu: Option<f64>| cpu.map_or("?".to_owned(), |s| format!("{s:.1} s"));
    let cpu: Vec<String> = std::iter::once(cpu_at_kill)
        .chain(replicas[1..].iter().map(Replica::cpu_secs))
        .map(secs)
        .collect();
    println!(
        "CPU time:            replicas {}; test process (fake GitHub, sender) {}",
        cpu.join(", "),
        secs(cpu_secs(std::process::id()))
    );
    println!(
        "taken over:          {} jobs leased by replica 0 at the kill: {:?}",
        leased_at_kill.len(),
        finished_at_kill
    );
    println!("jobs attempted more than once: {reattempted}");
    println!("GitHub API calls:    {}", gh.state().calls.len());
    println!(
        "GitHub writes:       {} check runs created, {} updated, {} comments created, {} edited, {} labels added",
        count(&|w| matches!(w, Write::CheckRunCreated { .. })),
        count(&|w| matches!(w, Write::CheckRunUpdated { .. })),
        count(&|w| matches!(w, Write::CommentCreated { .. })),
        count(&|w| matches!(w, Write::CommentEdited { .. })),
        count(&|w| matches!(w, Write::LabelAdded { .. })),
    );

    // Every delivery was stored once, and every job finished; none parked.
    let (jobs, ids, parked, done): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT delivery_id), \
         count(*) FILTER (WHERE state = 'parked'), count(*) FILTER (WHERE state = 'done') FROM jobs",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let unique = plan.unique.len() as i64;
    assert_eq!((jobs, ids, parked, done), (unique, unique, 0, unique));
    assert!(!leased_at_kill.is_empty());
    assert!(
        per_replica.iter().skip(1).all(|&n| n > 0),
        "load not spread: {per_replica:?}"
    );
    assert_eq!(per_replica.iter().sum::<i64>(), unique, "{per_worker:?}");
    for (id, _, state, worker, _) in &finished_at_kill {
        assert_eq!(state, "done", "job {id}");
        assert!(
            !replicas[0].owns(worker),
            "job {id} was left to the dead replica"
        );
    }

    assert_every_pr_settled_once(&gh, &plan, &writes);

    for r in &replicas[1..] {
        r.signal("-TERM");
    }
    for r in replicas.iter_mut().skip(1) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = r.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "replica did not stop:\n{}",
                r.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "exit {status:?}:\n{}", r.logs());
    }
    pool.close().await;
}

/// From the fake's final state and its write log: the right check on every final head,
/// one guidance comment where due, one size label, no check run created twice on a head.
fn assert_every_pr_settled_once(gh: &FakeGitHub, plan: &Plan, writes: &[Write]) {
    let s = gh.state();
    assert!(
        s.unexpected.is_empty(),
        "unexpected calls: {:?}",
        s.unexpected
    );
    for (&number, &class) in &plan.classes {
        let pr = &s.prs[&number];
        let approved = !pr.reviews.is_empty();
        let expected = match (class, approved) {
            (Class::Oversized, _) => "failure",
            (_, true) => "success",
            (_, false) => "action_required",
        };
        let latest = s
            .check_runs
            .iter()
            .rev()
            .find(|c| c.head_sha == pr.head_sha)
            .unwrap_or_else(|| panic!("PR #{number}: no check on its final head"));
        assert_eq!(latest.conclusion, expected, "PR #{number} ({class:?})");

        let created: Vec<&Write> = writes
            .iter()
            .filter(|w| matches!(w, Write::CommentCreated { pr, .. } if *pr == number))
            .collect();
        let guidance = usize::from(class == Class::Oversized);
        assert_eq!(created.len(), guidance, "PR #{number}: {created:?}");
        let comments: Vec<&str> = s
            .comments
            .iter()
            .filter(|c| c.1 == number && c.2 == BOT_LOGIN)
            .map(|c| c.3.as_str())
            .collect();
        assert_eq!(comments.len(), guidance, "PR #{number}");
        if let Some(body) = comments.first() {
            assert!(
                body.starts_with(smallbatch::policy::comment::GUIDANCE_MARKER),
                "{body}"
            );
        }

        let added: Vec<&Write> = writes
            .iter()
            .filter(|w| matches!(w, Write::LabelAdded { pr, .. } | Write::LabelRemoved { pr, .. } if *pr == number))
            .collect();
        assert_eq!(
            added,
            vec![&Write::LabelAdded {
                pr: number,
                name: class.label().into()
            }],
            "PR #{number}"
        );
        assert_eq!(pr.labels, vec![class.label().to_owned()], "PR #{number}");
    }
    let mut created_per_head: BTreeMap<&str, usize> = BTreeMap::new();
    for w in writes {
        if let Write::CheckRunCreated { head, .. } = w {
            *created_per_head.entry(head.as_str()).or_default() += 1;
        }
    }
    let twice: Vec<_> = created_per_head.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        twice.is_empty(),
        "check runs created twice on a head: {twice:?}"
    );
}
