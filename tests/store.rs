//! The job queue and caches, run identically against SQLite (a fresh temp file) and
//! PostgreSQL (a fresh database per test at `SMALLBATCH_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Time moves with `Store::advance_clock`,
//! so no test sleeps.

use smallbatch::domain::{
    Delivery, DeliveryId, DomainEvent, InstallationId, PrNumber, PrRef, RepoRef,
};
use smallbatch::store::{Enqueued, Job, PrRecord, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

const LEASE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Where one test's database lives.
#[derive(Clone, Debug)]
struct Db {
    kind: Kind,
    url: String,
}

impl Db {
    async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// Runs raw SQL behind the store's back (to corrupt a row).
    async fn execute(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}

/// Owns a test database for the length of one test and removes it afterwards.
struct Fixture {
    db: Db,
    _dir: Option<TempDir>,
    /// PostgreSQL: the admin URL and the name of the database to drop.
    pg: Option<(String, String)>,
}

fn postgres_admin_url() -> String {
    std::env::var("SMALLBATCH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Fixture {
    async fn new(kind: Kind) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("smallbatch.db");
                Self {
                    db: Db {
                        kind,
                        url: format!("sqlite://{}", path.display()),
                    },
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Kind::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("smallbatch_t_{:016x}", rand::random::<u64>());
                let pool = sqlx::PgPool::connect(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&format!("/{name}"));
                Self {
                    db: Db {
                        kind,
                        url: url.to_string(),
                    },
                    _dir: None,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    async fn teardown(self) {
        if let Some((admin, name)) = self.pg {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// Runs `test` on a fresh database of `kind`, dropping the database even if it fails.
async fn run<F, Fut>(kind: Kind, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fixture = Fixture::new(kind).await;
    let outcome = tokio::spawn(test(fixture.db.clone())).await;
    fixture.teardown().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Declares `<test>::sqlite` and `<test>::postgres` for each async test function.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::{run, Kind};

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run(Kind::Sqlite, super::$name).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                run(Kind::Postgres, super::$name).await
            }
        }
    )*};
}

on_both_backends!(
    enqueue_dedupes_by_delivery_id_forever,
    claims_oldest_job_first,
    one_job_per_key_runs_at_a_time,
    expired_lease_is_reclaimed_by_another_worker,
    completion_of_a_stale_attempt_is_rejected,
    retried_job_waits_for_its_delay,
    parked_job_leaves_the_queue,
    released_job_is_claimable_at_once_without_counting_the_attempt,
    undecodable_job_is_parked_and_skipped,
    queued_job_survives_reopening,
    concurrent_claimers_take_each_job_once_and_one_per_key,
    contended_keys_are_still_claimed_one_at_a_time,
    concurrent_connects_migrate_a_fresh_database_once,
    file_cache_remembers_contents_and_absence,
    pr_record_is_upserted,
    oldest_job_age_counts_from_enqueue,
    policy_head_is_per_branch_and_overwritten,
);

// ---------------------------------------------------------------- helpers

fn pr_event(repo: &str, number: u64) -> DomainEvent {
    DomainEvent::PrChanged {
        pr: PrRef {
            repo: RepoRef::github(repo, InstallationId(7)),
            number: PrNumber(number),
        },
        head_sha: None,
        cause: "pull_request.synchronize".to_owned(),
    }
}

fn delivery(id: &str, event: DomainEvent) -> Delivery {
    Delivery {
        id: DeliveryId::new(id),
        event,
    }
}

async fn enqueue_pr(store: &Store, id: &str, number: u64) {
    let outcome = store
        .enqueue(&delivery(id, pr_event("acme/widgets", number)))
        .await
        .unwrap();
    assert_eq!(outcome, Enqueued::New, "enqueue {id}");
}

async fn claim(store: &Store, worker: &str) -> Option<Job> {
    store.claim(worker, LEASE).await.unwrap()
}

/// The delivery ids of the jobs claimed, in order, until nothing is claimable.
fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.delivery_id.as_str()).collect()
}

fn assert_lease_lost(result: Result<(), StoreError>, job_id: i64, attempt: u32) {
    match result {
        Err(StoreError::LeaseLost {
            job_id: lost_id,
            attempt: lost_attempt,
        }) => assert_eq!((lost_id, lost_attempt), (job_id, attempt)),
        other => panic!("expected LeaseLost for job {job_id} attempt {attempt}, got {other:?}"),
    }
}

// ---------------------------------------------------------------- tests

async fn enqueue_dedupes_by_delivery_id_forever(db: Db) {
    let store = db.store().await;
    let first = delivery("d-1", pr_event("acme/widgets", 1));
    assert_eq!(store.enqueue(&first).await.unwrap(), Enqueued::New);

    // Same id, different payload: still a duplicate, nothing stored.
    let replay = delivery("d-1", pr_event("acme/widgets", 2));
    assert_eq!(store.enqueue(&replay).await.unwrap(), Enqueued::Duplicate);
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    let job = claim(&store, "w1").await.unwrap();
    assert_eq!(job.event, first.event);
    store.complete(&job).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 0);

    // Completed deliveries are still remembered.
    assert_eq!(store.enqueue(&first).await.unwrap(), Enqueued::Duplicate);
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    assert_eq!(claim(&store, "w1").await, None);
}

async fn claims_oldest_job_first(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-a", 1).await;
    enqueue_pr(&store, "d-b", 2).await;
    enqueue_pr(&store, "d-c", 3).await;

    let mut claimed = Vec::new();
    while let Some(job) = claim(&store, "w1").await {
        claimed.push(job);
    }
    assert_eq!(ids(&claimed), ["d-a", "d-b", "d-c"]);
    assert_eq!(claimed[1].event, pr_event("acme/widgets", 2));
    assert!(claimed.iter().all(|j| j.attempts == 1));
    assert_eq!(store.queue_depth().await.unwrap(), 3);
}

async fn one_job_per_key_runs_at_a_time(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "pr1-a", 1).await;
    enqueue_pr(&store, "pr1-b", 1).await;
    enqueue_pr(&store, "pr2-a", 2).await;

    let first = claim(&store, "w1").await.unwrap();
    assert_eq!(first.delivery_id.as_str(), "pr1-a");
    // pr1-b waits behind the running pr1-a; the other PR's job goes ahead.
    let second = claim(&store, "w2").await.unwrap();
    assert_eq!(second.delivery_id.as_str(), "pr2-a");
    assert_eq!(claim(&store, "w3").await, None);

    store.complete(&first).await.unwrap();
    let third = claim(&store, "w3").await.unwrap();
    assert_eq!(third.delivery_id.as_str(), "pr1-b");
}

async fn expired_lease_is_reclaimed_by_another_worker(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    enqueue_pr(&store, "d-2", 1).await;

    let crashed = claim(&store, "w1").await.unwrap();
    assert_eq!((crashed.delivery_id.as_str(), crashed.attempts), ("d-1", 1));
    store.advance_clock(LEASE - Duration::from_secs(1));
    assert_eq!(claim(&store, "w2").await, None, "lease still valid");

    store.advance_clock(Duration::from_secs(2));
    let reclaimed = claim(&store, "w2").await.unwrap();
    assert_eq!(reclaimed.id, crashed.id);
    assert_eq!(reclaimed.attempts, 2);
    // The reclaimed job holds its key again: d-2 still waits.
    assert_eq!(claim(&store, "w3").await, None);
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

async fn completion_of_a_stale_attempt_is_rejected(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    let stale = claim(&store, "w1").await.unwrap();
    store.advance_clock(LEASE + Duration::from_secs(1));
    let current = claim(&store, "w2").await.unwrap();
    assert_eq!((current.id, current.attempts), (stale.id, 2));

    // The slow first worker finishes late: none of its outcomes may land.
    assert_lease_lost(store.complete(&stale).await, stale.id, 1);
    assert_lease_lost(
        store.retry(&stale, "late", Duration::ZERO).await,
        stale.id,
        1,
    );
    assert_lease_lost(store.park(&stale, "late").await, stale.id, 1);
    assert_lease_lost(store.release(&stale).await, stale.id, 1);
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    store.complete(&current).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    // Completing twice is also a lost lease: the job is no longer running.
    assert_lease_lost(store.complete(&current).await, current.id, 2);
}

async fn retried_job_waits_for_its_delay(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    let job = claim(&store, "w1").await.unwrap();
    store
        .retry(&job, "GitHub said 502", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 1);
    assert_eq!(claim(&store, "w1").await, None);

    store.advance_clock(Duration::from_secs(59));
    assert_eq!(claim(&store, "w1").await, None);

    store.advance_clock(Duration::from_secs(2));
    let again = claim(&store, "w2").await.unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
}

async fn parked_job_leaves_the_queue(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    enqueue_pr(&store, "d-2", 1).await;
    let job = claim(&store, "w1").await.unwrap();
    store.park(&job, "policy file is invalid").await.unwrap();

    assert_eq!(store.queue_depth().await.unwrap(), 1);
    assert_eq!(store.parked_count().await.unwrap(), 1);
    // The parked job no longer holds its key, and is never handed out again.
    let next = claim(&store, "w1").await.unwrap();
    assert_eq!(next.delivery_id.as_str(), "d-2");
    store.complete(&next).await.unwrap();
    store.advance_clock(Duration::from_secs(24 * 3600));
    assert_eq!(claim(&store, "w1").await, None);
    assert_eq!(
        store
            .enqueue(&delivery("d-1", pr_event("acme/widgets", 1)))
            .await
            .unwrap(),
        Enqueued::Duplicate
    );
}

async fn released_job_is_claimable_at_once_without_counting_the_attempt(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    let job = claim(&store, "w1").await.unwrap();
    store.release(&job).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    let again = claim(&store, "w2").await.unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 1));
}

async fn undecodable_job_is_parked_and_skipped(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-bad", 1).await;
    enqueue_pr(&store, "d-good", 2).await;
    db.execute(r#"UPDATE jobs SET event = '{"kind":"renamed_event"}' WHERE delivery_id = 'd-bad'"#)
        .await;

    let job = claim(&store, "w1").await.unwrap();
    assert_eq!(job.delivery_id.as_str(), "d-good");
    assert_eq!(store.parked_count().await.unwrap(), 1);
    assert_eq!(store.queue_depth().await.unwrap(), 1);
    assert_eq!(claim(&store, "w1").await, None);
}

async fn queued_job_survives_reopening(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    store.close().await;
    drop(store);

    let reopened = db.store().await;
    assert_eq!(reopened.queue_depth().await.unwrap(), 1);
    let job = claim(&reopened, "w1").await.unwrap();
    assert_eq!(job.delivery_id.as_str(), "d-1");
    assert_eq!(job.event, pr_event("acme/widgets", 1));
}

async fn concurrent_claimers_take_each_job_once_and_one_per_key(db: Db) {
    claim_concurrently(&db.store().await, 200, 20, 8).await;
}

/// Many claimers racing for few keys: most picks collide on a key just taken.
async fn contended_keys_are_still_claimed_one_at_a_time(db: Db) {
    claim_concurrently(&db.store().await, 60, 2, 8).await;
}

/// Enqueues `jobs` jobs spread over `keys` PRs and drains them with `claimers` tasks,
/// asserting that each job is claimed exactly once and no key ever runs twice at once.
async fn claim_concurrently(store: &Store, jobs: u64, keys: u64, claimers: usize) {
    for n in 0..jobs {
        enqueue_pr(store, &format!("d-{n}"), n % keys).await;
    }

    let running_keys = Arc::new(Mutex::new(HashSet::new()));
    let claims = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let mut tasks = Vec::new();
    for w in 0..claimers {
        let (store, running_keys, claims) = (store.clone(), running_keys.clone(), claims.clone());
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            loop {
                let Some(job) = store.claim(&worker, LEASE).await.unwrap() else {
                    if store.queue_depth().await.unwrap() == 0 {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                };
                let key = job.event.serial_key();
                assert!(
                    running_keys.lock().unwrap().insert(key.clone()),
                    "two jobs of {key} running at once"
                );
                *claims
                    .lock()
                    .unwrap()
                    .entry(job.delivery_id.0.clone())
                    .or_default() += 1;
                tokio::task::yield_now().await;
                // Free the key in our bookkeeping before the store can hand it out again.
                running_keys.lock().unwrap().remove(&key);
                store.complete(&job).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let claims = claims.lock().unwrap();
    assert_eq!(claims.len() as u64, jobs);
    assert!(
        claims.values().all(|&n| n == 1),
        "claimed more than once: {:?}",
        claims.iter().filter(|(_, &n)| n != 1).collect::<Vec<_>>()
    );
}

async fn concurrent_connects_migrate_a_fresh_database_once(db: Db) {
    let connects: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap().expect("concurrent connect"));
    }
    enqueue_pr(&stores[0], "d-1", 1).await;
    for store in &stores {
        assert_eq!(store.queue_depth().await.unwrap(), 1);
    }
}

async fn file_cache_remembers_contents_and_absence(db: Db) {
    let store = db.store().await;
    let (repo, sha) = (
        "github:acme/widgets",
        "0123456789abcdef0123456789abcdef01234567",
    );
    assert_eq!(
        store
            .cached_file(repo, sha, ".smallbatch.yml")
            .await
            .unwrap(),
        None
    );

    store
        .cache_file(repo, sha, ".smallbatch.yml", Some("size:\n  xs: 10\n"))
        .await
        .unwrap();
    store
        .cache_file(repo, sha, ".gitattributes", None)
        .await
        .unwrap();
    assert_eq!(
        store
            .cached_file(repo, sha, ".smallbatch.yml")
            .await
            .unwrap(),
        Some(Some("size:\n  xs: 10\n".to_owned()))
    );
    assert_eq!(
        store
            .cached_file(repo, sha, ".gitattributes")
            .await
            .unwrap(),
        Some(None)
    );
    // Contents at a commit never change: the first write stands.
    store
        .cache_file(repo, sha, ".gitattributes", Some("*.lock -diff\n"))
        .await
        .unwrap();
    assert_eq!(
        store
            .cached_file(repo, sha, ".gitattributes")
            .await
            .unwrap(),
        Some(None)
    );
    // Keyed by commit and repository too.
    assert_eq!(
        store
            .cached_file(
                repo,
                "fedcba9876543210fedcba9876543210fedcba98",
                ".gitattributes"
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .cached_file("github:acme/other", sha, ".gitattributes")
            .await
            .unwrap(),
        None
    );
}

async fn pr_record_is_upserted(db: Db) {
    let store = db.store().await;
    let key = "github:acme/widgets#7";
    assert_eq!(store.pr_record(key).await.unwrap(), None);

    let first = PrRecord {
        head_sha: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
        updated_at: "2026-11-27T10:00:00Z".to_owned(),
        check_run_id: None,
        check_fingerprint: None,
        comment_id: Some(42),
        comment_body: Some("Size: XS".to_owned()),
    };
    store.save_pr_record(key, &first).await.unwrap();
    assert_eq!(store.pr_record(key).await.unwrap(), Some(first));

    let second = PrRecord {
        head_sha: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".to_owned(),
        updated_at: "2026-11-27T11:00:00Z".to_owned(),
        // Forge ids use the full u64 range in storage.
        check_run_id: Some(u64::MAX),
        check_fingerprint: Some("pass:size/XS".to_owned()),
        comment_id: Some(1 << 63),
        comment_body: None,
    };
    store.save_pr_record(key, &second).await.unwrap();
    assert_eq!(store.pr_record(key).await.unwrap(), Some(second));
    assert_eq!(
        store.pr_record("github:acme/widgets#8").await.unwrap(),
        None
    );
}

async fn policy_head_is_per_branch_and_overwritten(db: Db) {
    let store = db.store().await;
    let repo = "github:acme/widgets";
    assert_eq!(store.policy_head(repo, "main").await.unwrap(), None);
    store.set_policy_head(repo, "main", "a1").await.unwrap();
    store.set_policy_head(repo, "release", "b1").await.unwrap();
    store.set_policy_head(repo, "main", "a2").await.unwrap();
    assert_eq!(
        store.policy_head(repo, "main").await.unwrap().as_deref(),
        Some("a2")
    );
    assert_eq!(
        store.policy_head(repo, "release").await.unwrap().as_deref(),
        Some("b1")
    );
    assert_eq!(
        store
            .policy_head("github:acme/other", "main")
            .await
            .unwrap(),
        None
    );
}

async fn oldest_job_age_counts_from_enqueue(db: Db) {
    let store = db.store().await;
    assert_eq!(store.oldest_job_age().await.unwrap(), None);
    enqueue_pr(&store, "d-1", 1).await;
    store.advance_clock(Duration::from_secs(3600));
    let age = store.oldest_job_age().await.unwrap().unwrap();
    // The test's own run time adds a little to the hour it skipped.
    assert!(
        age >= Duration::from_secs(3600) && age < Duration::from_secs(3660),
        "age {age:?}"
    );
}

#[tokio::test]
async fn other_urls_are_rejected() {
    for url in ["mysql://localhost/db", "smallbatch.db", ""] {
        match Store::connect(url).await {
            Err(StoreError::UnsupportedUrl(u)) => assert_eq!(u, url),
            other => panic!("{url}: expected UnsupportedUrl, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn in_memory_sqlite_keeps_one_database() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    enqueue_pr(&store, "d-1", 1).await;
    // Several calls in a row must see the same in-memory database.
    assert_eq!(store.queue_depth().await.unwrap(), 1);
    let job = claim(&store, "w1").await.unwrap();
    assert_eq!(job.delivery_id.as_str(), "d-1");
}
