//! The job queue and caches, run identically against SQLite (a fresh temp file) and
//! PostgreSQL (a fresh database per test on the server `support::postgres` finds or
//! starts). Time moves with `Store::advance_clock`,
//! so no test sleeps.

use smallbatch::domain::{
    CheckRunId, CommentId, CommitSha, Delivery, DeliveryId, DomainEvent, InstallationId, PrNumber,
    PrRef, RepoRef,
};
use smallbatch::store::{
    BranchRecord, Enqueued, Job, OverrideRecord, PrRecord, RecordedRun, Store, StoreError,
    StoredShip,
};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use time::OffsetDateTime;

const LEASE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// Where one test's database lives.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) kind: Kind,
    url: String,
}

impl Db {
    pub(crate) async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// Runs raw SQL behind the store's back (to corrupt a row).
    async fn execute(&self, sql: &str) {
        if let Err(e) = self.try_execute(sql).await {
            panic!("{sql}: {e}");
        }
    }

    /// Runs raw SQL behind the store's back, returning the database's error message.
    pub(crate) async fn try_execute(&self, sql: &str) -> Result<(), String> {
        let done = match self.kind {
            Kind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                let done = sqlx::query(sql).execute(&pool).await.map(drop);
                pool.close().await;
                done
            }
            Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                let done = sqlx::query(sql).execute(&pool).await.map(drop);
                pool.close().await;
                done
            }
        };
        done.map_err(|e| match e {
            sqlx::Error::Database(e) => e.message().to_owned(),
            other => other.to_string(),
        })
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
    crate::support::postgres::admin_url().to_owned()
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
pub(crate) async fn run<F, Fut>(kind: Kind, test: F)
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
    enqueue_dedupes_by_delivery_id_after_completion,
    claims_oldest_job_first,
    one_job_per_key_runs_at_a_time,
    expired_lease_is_reclaimed_by_another_worker,
    a_renewed_lease_is_not_taken_over,
    completion_of_a_stale_attempt_is_rejected,
    retried_job_waits_for_its_delay,
    parked_job_leaves_the_queue,
    released_job_is_claimable_at_once_without_counting_the_attempt,
    undecodable_job_is_parked_and_skipped,
    queued_job_survives_reopening,
    concurrent_deliveries_are_each_stored_once,
    concurrent_claimers_take_each_job_once_and_one_per_key,
    contended_keys_are_still_claimed_one_at_a_time,
    concurrent_connects_migrate_a_fresh_database_once,
    file_cache_remembers_contents_and_absence,
    pr_record_is_upserted,
    pr_branches_find_stacks_by_branch_per_repository,
    check_runs_are_recorded_before_and_after_creation,
    oldest_job_age_counts_from_enqueue,
    policy_head_is_per_branch_and_overwritten,
    override_applies_to_its_head_only,
    overrides_are_append_only_in_the_database,
    scheduled_job_waits_for_its_delay,
    scheduled_job_is_deduplicated_with_immediate_ones,
    comment_bodies_are_upserted,
    one_unfinished_ship_per_pr,
    ship_update_is_compare_and_set,
    ship_is_found_by_its_deployment,
    ships_are_listed_by_repo_and_creation_time,
    concurrent_ship_updates_have_one_winner_per_version,
    sweep_lease_has_one_holder_until_it_expires,
    stored_deliveries_are_known_alone_or_split,
    live_jobs_are_the_queued_and_running_ones_of_a_key,
    recent_repos_are_those_with_recent_jobs,
    old_done_jobs_are_pruned_in_batches_and_nothing_else,
    a_write_refused_by_a_constraint_fails_alone,
);

// ---------------------------------------------------------------- helpers

fn repo_ref(full_name: &str) -> RepoRef {
    RepoRef::github(full_name, InstallationId(7))
}

fn pr_ref(repo: &str, number: u64) -> PrRef {
    PrRef {
        repo: repo_ref(repo),
        number: PrNumber(number),
    }
}

fn commit(sha: &str) -> CommitSha {
    CommitSha::new(sha)
}

fn pr_event(repo: &str, number: u64) -> DomainEvent {
    DomainEvent::PrChanged {
        pr: pr_ref(repo, number),
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

async fn enqueue_dedupes_by_delivery_id_after_completion(db: Db) {
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

async fn a_renewed_lease_is_not_taken_over(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "d-1", 1).await;
    let running = claim(&store, "w1").await.unwrap();
    store.advance_clock(LEASE - Duration::from_secs(1));
    store.renew(&running, LEASE).await.unwrap();
    store.advance_clock(Duration::from_secs(2));
    assert_eq!(claim(&store, "w2").await, None, "renewed: still w1's");
    store.advance_clock(LEASE);
    let taken = claim(&store, "w2").await.unwrap();
    assert_eq!((taken.id, taken.attempts), (running.id, 2));
    // The first worker's renewals no longer land.
    assert_lease_lost(store.renew(&running, LEASE).await, running.id, 1);
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

/// Deliveries arriving together (on SQLite, committed in shared transactions), each sent
/// three times: every id is stored once, every sender gets its own answer.
async fn concurrent_deliveries_are_each_stored_once(db: Db) {
    let store = db.store().await;
    let mut sends = Vec::new();
    for _copy in 0..3 {
        for n in 0..100u64 {
            let store = store.clone();
            sends.push(tokio::spawn(async move {
                let id = format!("d-{n}");
                let outcome = store
                    .enqueue(&delivery(&id, pr_event("acme/widgets", n)))
                    .await
                    .unwrap();
                (id, outcome)
            }));
        }
    }
    let mut new_ids = HashMap::<String, u32>::new();
    for send in sends {
        let (id, outcome) = send.await.unwrap();
        if outcome == Enqueued::New {
            *new_ids.entry(id).or_default() += 1;
        }
    }
    assert_eq!(new_ids.len(), 100);
    assert!(new_ids.values().all(|&n| n == 1), "{new_ids:?}");
    assert_eq!(store.queue_depth().await.unwrap(), 100);
    // What was answered as stored is there: each job is claimed with its own event.
    let mut claimed = HashSet::new();
    while let Some(job) = claim(&store, "w1").await {
        let DomainEvent::PrChanged { pr, .. } = &job.event else {
            panic!("{:?}", job.event)
        };
        assert_eq!(job.delivery_id.0, format!("d-{}", pr.number.0));
        claimed.insert(job.delivery_id.0.clone());
        store.complete(&job).await.unwrap();
    }
    assert_eq!(claimed.len(), 100);
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
        &repo_ref("acme/widgets"),
        &commit("0123456789abcdef0123456789abcdef01234567"),
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
                &commit("fedcba9876543210fedcba9876543210fedcba98"),
                ".gitattributes"
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .cached_file(&repo_ref("acme/other"), sha, ".gitattributes")
            .await
            .unwrap(),
        None
    );
}

async fn pr_record_is_upserted(db: Db) {
    let store = db.store().await;
    let key = &pr_ref("acme/widgets", 7);
    assert_eq!(store.pr_record(key).await.unwrap(), None);

    let first = PrRecord {
        head_sha: commit("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        updated_at: "2026-11-27T10:00:00Z".to_owned(),
        check_run_id: None,
        check_fingerprint: None,
        comment_id: Some(42),
        comment_body: Some("Size: XS".to_owned()),
        comment_unconfirmed: false,
    };
    store.save_pr_record(key, &first).await.unwrap();
    assert_eq!(store.pr_record(key).await.unwrap(), Some(first));

    let second = PrRecord {
        head_sha: commit("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        updated_at: "2026-11-27T11:00:00Z".to_owned(),
        // Forge ids use the full u64 range in storage.
        check_run_id: Some(u64::MAX),
        check_fingerprint: Some("pass:size/XS".to_owned()),
        comment_id: Some(1 << 63),
        comment_body: None,
        comment_unconfirmed: true,
    };
    store.save_pr_record(key, &second).await.unwrap();
    assert_eq!(store.pr_record(key).await.unwrap(), Some(second));
    assert_eq!(
        store.pr_record(&pr_ref("acme/widgets", 8)).await.unwrap(),
        None
    );
}

async fn pr_branches_find_stacks_by_branch_per_repository(db: Db) {
    let store = db.store().await;
    let (bottom, top) = (&pr_ref("acme/widgets", 7), &pr_ref("acme/widgets", 8));
    let repo = &bottom.repo;
    assert_eq!(store.pr_branches(bottom).await.unwrap(), None);
    assert_eq!(
        store.open_pr_with_head(repo, "feature-7").await.unwrap(),
        None
    );

    store
        .save_pr_branches(bottom, "feature-7", "main", 570)
        .await
        .unwrap();
    store
        .save_pr_branches(top, "feature-8", "feature-7", 8)
        .await
        .unwrap();
    // Another repository's branch of the same name is no part of this stack.
    let elsewhere = &pr_ref("acme/gadgets", 3);
    store
        .save_pr_branches(elsewhere, "feature-9", "feature-7", 1)
        .await
        .unwrap();
    let seven = BranchRecord {
        number: PrNumber(7),
        head_ref: "feature-7".into(),
        base_ref: "main".into(),
        lines: 570,
        open: true,
    };
    let eight = BranchRecord {
        number: PrNumber(8),
        head_ref: "feature-8".into(),
        base_ref: "feature-7".into(),
        lines: 8,
        open: true,
    };
    assert_eq!(
        store.open_pr_with_head(repo, "feature-7").await.unwrap(),
        Some(seven.clone())
    );
    assert_eq!(
        store.open_prs_on_base(repo, "feature-7").await.unwrap(),
        std::slice::from_ref(&eight)
    );

    // A new score and base replace the old; a closed PR is no one's base any more.
    store
        .save_pr_branches(bottom, "feature-7", "develop", 30)
        .await
        .unwrap();
    store.close_pr_branches(bottom).await.unwrap();
    assert_eq!(
        store.open_pr_with_head(repo, "feature-7").await.unwrap(),
        None
    );
    assert_eq!(
        store.pr_branches(bottom).await.unwrap(),
        Some(BranchRecord {
            base_ref: "develop".into(),
            lines: 30,
            open: false,
            ..seven
        })
    );
    // Saving it again (reopened) opens it.
    store
        .save_pr_branches(bottom, "feature-7", "main", 30)
        .await
        .unwrap();
    assert!(store.pr_branches(bottom).await.unwrap().unwrap().open);
    assert_eq!(
        store.open_prs_on_base(repo, "feature-7").await.unwrap(),
        [eight]
    );
}

async fn check_runs_are_recorded_before_and_after_creation(db: Db) {
    let store = db.store().await;
    let (repo, head) = (
        &repo_ref("acme/widgets"),
        &commit("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    );
    assert_eq!(
        store.recorded_run(repo, head).await.unwrap(),
        RecordedRun::None
    );

    // The first to start a creation on the head is told so; any other must look.
    assert!(store.start_run(repo, head).await.unwrap());
    assert!(!store.start_run(repo, head).await.unwrap());
    assert_eq!(
        store.recorded_run(repo, head).await.unwrap(),
        RecordedRun::Unconfirmed
    );

    // Ids use the full u64 range in storage; a later creation does not forget the run.
    store
        .record_run(repo, head, CheckRunId(u64::MAX))
        .await
        .unwrap();
    assert!(!store.start_run(repo, head).await.unwrap());
    assert_eq!(
        store.recorded_run(repo, head).await.unwrap(),
        RecordedRun::Created(u64::MAX)
    );
    // Recorded without a start first (a run found on the forge), and per repository.
    store
        .record_run(repo, &commit("b"), CheckRunId(7))
        .await
        .unwrap();
    assert_eq!(
        store.recorded_run(repo, &commit("b")).await.unwrap(),
        RecordedRun::Created(7)
    );
    assert_eq!(
        store
            .recorded_run(&repo_ref("acme/other"), head)
            .await
            .unwrap(),
        RecordedRun::None
    );
}

async fn policy_head_is_per_branch_and_overwritten(db: Db) {
    let store = db.store().await;
    let repo = &repo_ref("acme/widgets");
    assert_eq!(store.policy_head(repo, "main").await.unwrap(), None);
    store
        .set_policy_head(repo, "main", &commit("a1"))
        .await
        .unwrap();
    store
        .set_policy_head(repo, "release", &commit("b1"))
        .await
        .unwrap();
    store
        .set_policy_head(repo, "main", &commit("a2"))
        .await
        .unwrap();
    assert_eq!(
        store.policy_head(repo, "main").await.unwrap(),
        Some(commit("a2"))
    );
    assert_eq!(
        store.policy_head(repo, "release").await.unwrap(),
        Some(commit("b1"))
    );
    assert_eq!(
        store
            .policy_head(&repo_ref("acme/other"), "main")
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

// ---------------------------------------------------------------- chat commands and ships

const HEAD_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEAD_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const MERGE_1: &str = "1111111111111111111111111111111111111111";
const MERGE_2: &str = "2222222222222222222222222222222222222222";
const WIDGETS: &str = "github:acme/widgets";
const PR_7: &str = "github:acme/widgets#7";

async fn override_applies_to_its_head_only(db: Db) {
    let store = db.store().await;
    assert_eq!(
        store
            .override_for(&pr_ref("acme/widgets", 7), &commit(HEAD_A))
            .await
            .unwrap(),
        None
    );

    let before = store.now().await.unwrap();
    let first = store
        .record_override(
            &pr_ref("acme/widgets", 7),
            &commit(HEAD_A),
            "alice",
            "hotfix for the outage",
            "fail: 612 lines over 400",
        )
        .await
        .unwrap();
    assert_eq!(
        OverrideRecord {
            id: first.id,
            created_at: first.created_at,
            ..first.clone()
        },
        OverrideRecord {
            id: first.id,
            pr_key: PR_7.to_owned(),
            head_sha: commit(HEAD_A),
            actor: "alice".to_owned(),
            reason: "hotfix for the outage".to_owned(),
            overridden: "fail: 612 lines over 400".to_owned(),
            created_at: first.created_at,
        }
    );
    assert!(
        (before..before + Duration::from_secs(60)).contains(&first.created_at),
        "created at {} (now was {before})",
        first.created_at
    );

    store.advance_clock(Duration::from_secs(60));
    let second = store
        .record_override(
            &pr_ref("acme/widgets", 7),
            &commit(HEAD_A),
            "bob",
            "reviewed offline",
            "fail: no approving review",
        )
        .await
        .unwrap();
    assert!(second.created_at >= first.created_at + Duration::from_secs(60));
    // The latest override of the head is the one that counts.
    assert_eq!(
        store
            .override_for(&pr_ref("acme/widgets", 7), &commit(HEAD_A))
            .await
            .unwrap(),
        Some(second.clone())
    );
    // A new push is another head: nothing carries over. Nor to another PR.
    assert_eq!(
        store
            .override_for(&pr_ref("acme/widgets", 7), &commit(HEAD_B))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .override_for(&pr_ref("acme/widgets", 8), &commit(HEAD_A))
            .await
            .unwrap(),
        None
    );

    let third = store
        .record_override(
            &pr_ref("acme/widgets", 7),
            &commit(HEAD_B),
            "alice",
            "still urgent",
            "fail: 700 lines over 400",
        )
        .await
        .unwrap();
    assert_eq!(
        store.overrides(&pr_ref("acme/widgets", 7)).await.unwrap(),
        vec![first, second, third]
    );
    assert_eq!(
        store.overrides(&pr_ref("acme/widgets", 8)).await.unwrap(),
        vec![]
    );
}

async fn overrides_are_append_only_in_the_database(db: Db) {
    let store = db.store().await;
    let record = store
        .record_override(
            &pr_ref("acme/widgets", 7),
            &commit(HEAD_A),
            "alice",
            "hotfix",
            "fail: 612 lines over 400",
        )
        .await
        .unwrap();

    let refused = Err("overrides are append-only".to_owned());
    assert_eq!(
        db.try_execute("UPDATE overrides SET actor = 'mallory'")
            .await,
        refused
    );
    assert_eq!(db.try_execute("DELETE FROM overrides").await, refused);
    if db.kind == Kind::Postgres {
        assert_eq!(db.try_execute("TRUNCATE overrides").await, refused);
    }
    assert_eq!(
        store.overrides(&pr_ref("acme/widgets", 7)).await.unwrap(),
        vec![record]
    );
}

async fn scheduled_job_waits_for_its_delay(db: Db) {
    let store = db.store().await;
    let later = delivery("d-later", pr_event("acme/widgets", 1));
    assert_eq!(
        store
            .enqueue_at(&later, Duration::from_secs(600))
            .await
            .unwrap(),
        Enqueued::New
    );
    enqueue_pr(&store, "d-now", 2).await;
    assert_eq!(store.queue_depth().await.unwrap(), 2);

    // The older scheduled job is not due, so the newer immediate one goes first.
    let now = claim(&store, "w1").await.unwrap();
    assert_eq!(now.delivery_id.as_str(), "d-now");
    assert_eq!(claim(&store, "w1").await, None);
    store.complete(&now).await.unwrap();

    store.advance_clock(Duration::from_secs(599));
    assert_eq!(claim(&store, "w1").await, None);

    store.advance_clock(Duration::from_secs(2));
    let due = claim(&store, "w1").await.unwrap();
    assert_eq!(
        (due.delivery_id.as_str(), due.attempts, &due.event),
        ("d-later", 1, &later.event)
    );
}

async fn scheduled_job_is_deduplicated_with_immediate_ones(db: Db) {
    let store = db.store().await;
    let hour = Duration::from_secs(3600);
    let immediate = delivery("d-1", pr_event("acme/widgets", 1));
    let scheduled = delivery("d-2", pr_event("acme/widgets", 2));
    assert_eq!(store.enqueue(&immediate).await.unwrap(), Enqueued::New);
    assert_eq!(
        store.enqueue_at(&immediate, hour).await.unwrap(),
        Enqueued::Duplicate
    );
    assert_eq!(
        store.enqueue_at(&scheduled, hour).await.unwrap(),
        Enqueued::New
    );
    assert_eq!(
        store.enqueue_at(&scheduled, Duration::ZERO).await.unwrap(),
        Enqueued::Duplicate
    );
    assert_eq!(
        store.enqueue(&scheduled).await.unwrap(),
        Enqueued::Duplicate
    );
    assert_eq!(store.queue_depth().await.unwrap(), 2);

    // Neither duplicate moved anything: d-1 is due now, d-2 only in an hour.
    let first = claim(&store, "w1").await.unwrap();
    assert_eq!(first.delivery_id.as_str(), "d-1");
    assert_eq!(claim(&store, "w1").await, None);
    store.complete(&first).await.unwrap();
    store.advance_clock(hour + Duration::from_secs(1));
    let second = claim(&store, "w1").await.unwrap();
    assert_eq!(second.delivery_id.as_str(), "d-2");
}

async fn comment_bodies_are_upserted(db: Db) {
    let store = db.store().await;
    let pr = &PrRef {
        repo: RepoRef::gitlab("acme/widgets"),
        number: PrNumber(7),
    };
    let key = CommentId(1001);
    assert_eq!(store.comment_body(pr, key).await.unwrap(), None);

    store.remember_comment(pr, key, "/ship").await.unwrap();
    assert_eq!(
        store.comment_body(pr, key).await.unwrap().as_deref(),
        Some("/ship")
    );
    store
        .remember_comment(pr, key, "/ship\n/override hotfix for the outage")
        .await
        .unwrap();
    assert_eq!(
        store.comment_body(pr, key).await.unwrap().as_deref(),
        Some("/ship\n/override hotfix for the outage")
    );
    assert_eq!(store.comment_body(pr, CommentId(1002)).await.unwrap(), None);
}

async fn create_ship(store: &Store, pr: &PrRef, environment: &str) -> StoredShip {
    store
        .create_ship(pr, environment, "queued", r#"{"step":"queued"}"#)
        .await
        .unwrap()
}

/// Moves the ship to `state`, expecting nobody else to have updated it.
async fn advance_ship(
    store: &Store,
    ship: &StoredShip,
    state: &str,
    finished: bool,
    merge_sha: Option<&str>,
) -> StoredShip {
    store
        .update_ship(
            ship.id,
            ship.version,
            state,
            finished,
            merge_sha.map(commit).as_ref(),
            &ship.data,
        )
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("ship {} moved past version {}", ship.id, ship.version))
}

fn assert_ship_in_progress<T: std::fmt::Debug>(result: Result<T, StoreError>, id: i64) {
    match result {
        Err(StoreError::ShipInProgress { id: active }) => assert_eq!(active, id),
        other => panic!("expected ShipInProgress {{ id: {id} }}, got {other:?}"),
    }
}

async fn one_unfinished_ship_per_pr(db: Db) {
    let store = db.store().await;
    let before = store.now().await.unwrap();
    let first = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    assert_eq!(
        first,
        StoredShip {
            id: first.id,
            version: 1,
            pr_key: PR_7.to_owned(),
            repo_key: WIDGETS.to_owned(),
            state: "queued".to_owned(),
            finished: false,
            merge_sha: None,
            environment: "production".to_owned(),
            data: r#"{"step":"queued"}"#.to_owned(),
            created_at: first.created_at,
            updated_at: first.created_at,
        }
    );
    assert!((before..before + Duration::from_secs(60)).contains(&first.created_at));
    assert_eq!(store.ship(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.active_ship(&pr_ref("acme/widgets", 7)).await.unwrap(),
        Some(first.clone())
    );

    assert_ship_in_progress(
        store
            .create_ship(&pr_ref("acme/widgets", 7), "staging", "queued", "{}")
            .await,
        first.id,
    );
    // Another PR ships independently, to another environment (one in progress holds
    // its environment: see `store_controls`).
    let other = create_ship(&store, &pr_ref("acme/widgets", 8), "staging").await;
    assert_ne!(other.id, first.id);

    let done = advance_ship(&store, &first, "deployed", true, Some(MERGE_1)).await;
    assert_eq!(
        store.active_ship(&pr_ref("acme/widgets", 7)).await.unwrap(),
        None
    );
    let second = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    assert_eq!((second.version, second.finished), (1, false));
    assert_eq!(
        store.active_ship(&pr_ref("acme/widgets", 7)).await.unwrap(),
        Some(second.clone())
    );

    // Reopening the finished ship beside the new one is refused too, and changes nothing.
    assert_ship_in_progress(
        store
            .update_ship(done.id, done.version, "queued", false, None, "{}")
            .await,
        second.id,
    );
    assert_eq!(store.ship(done.id).await.unwrap(), Some(done));
}

async fn ship_update_is_compare_and_set(db: Db) {
    let store = db.store().await;
    let created = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    store.advance_clock(Duration::from_secs(5));

    let merging = store
        .update_ship(
            created.id,
            1,
            "merging",
            false,
            None,
            r#"{"step":"merging"}"#,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        merging,
        StoredShip {
            version: 2,
            state: "merging".to_owned(),
            data: r#"{"step":"merging"}"#.to_owned(),
            updated_at: merging.updated_at,
            ..created.clone()
        }
    );
    assert!(merging.updated_at >= created.created_at + Duration::from_secs(5));

    // A writer that read version 1 lost the race: nothing is written.
    assert_eq!(
        store
            .update_ship(created.id, 1, "failed", true, None, "{}")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.ship(created.id).await.unwrap(), Some(merging.clone()));

    let deploying = store
        .update_ship(
            created.id,
            2,
            "deploying",
            false,
            Some(&commit(MERGE_1)),
            r#"{"step":"deploying"}"#,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (deploying.version, deploying.merge_sha.clone()),
        (3, Some(commit(MERGE_1)))
    );
    assert_eq!(store.ship(created.id).await.unwrap(), Some(deploying));

    // No such ship: nothing to update.
    assert_eq!(
        store
            .update_ship(created.id + 1000, 1, "merging", false, None, "{}")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.ship(created.id + 1000).await.unwrap(), None);
}

async fn ship_is_found_by_its_deployment(db: Db) {
    let store = db.store().await;
    let lookup = |sha: &'static str, env: &'static str| {
        let store = store.clone();
        async move {
            store
                .ship_for_deployment(&repo_ref("acme/widgets"), &commit(sha), env)
                .await
                .unwrap()
                .map(|ship| ship.id)
        }
    };

    let unmerged = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    assert_eq!(lookup(MERGE_1, "production").await, None);
    // Finished ships are found too: a late deployment status still belongs to them.
    let finished = advance_ship(&store, &unmerged, "deployed", true, Some(MERGE_1)).await;
    assert_eq!(lookup(MERGE_1, "production").await, Some(finished.id));

    // A newer ship of the same commit and environment takes over.
    let newer = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    let newer = advance_ship(&store, &newer, "deploying", false, Some(MERGE_1)).await;
    assert_eq!(lookup(MERGE_1, "production").await, Some(newer.id));

    let staging = create_ship(&store, &pr_ref("acme/widgets", 8), "staging").await;
    let staging = advance_ship(&store, &staging, "deploying", false, Some(MERGE_1)).await;
    assert_eq!(lookup(MERGE_1, "staging").await, Some(staging.id));
    assert_eq!(lookup(MERGE_1, "production").await, Some(newer.id));

    assert_eq!(lookup(MERGE_1, "qa").await, None);
    assert_eq!(lookup(MERGE_2, "production").await, None);
    assert_eq!(
        store
            .ship_for_deployment(&repo_ref("acme/other"), &commit(MERGE_1), "production")
            .await
            .unwrap(),
        None
    );
}

async fn ships_are_listed_by_repo_and_creation_time(db: Db) {
    let store = db.store().await;
    let other_repo = &repo_ref("acme/gadgets");
    let hour = Duration::from_secs(3600);
    let a1 = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;
    store.advance_clock(hour);
    let b1 = create_ship(&store, &pr_ref("acme/gadgets", 1), "production").await;
    store.advance_clock(hour);
    let a2 = create_ship(&store, &pr_ref("acme/widgets", 8), "staging").await;

    assert_eq!(
        store.ships(None, OffsetDateTime::UNIX_EPOCH).await.unwrap(),
        vec![a1.clone(), b1.clone(), a2.clone()]
    );
    assert_eq!(
        store
            .ships(Some(&repo_ref("acme/widgets")), OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    // `since` is inclusive.
    assert_eq!(
        store.ships(None, b1.created_at).await.unwrap(),
        vec![b1.clone(), a2.clone()]
    );
    assert_eq!(
        store
            .ships(Some(&repo_ref("acme/widgets")), b1.created_at)
            .await
            .unwrap(),
        vec![a2.clone()]
    );
    assert_eq!(
        store
            .ships(Some(other_repo), b1.created_at + Duration::from_millis(1))
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .ships(Some(&repo_ref("acme/none")), OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap(),
        vec![]
    );
}

/// Eight tasks each advance one ship three times, re-reading whenever they lose: every
/// version must be won by exactly one task.
async fn concurrent_ship_updates_have_one_winner_per_version(db: Db) {
    const TASKS: usize = 8;
    const WINS_EACH: usize = 3;
    let store = db.store().await;
    let ship = create_ship(&store, &pr_ref("acme/widgets", 7), "production").await;

    let winners = Arc::new(Mutex::new(HashMap::<i64, usize>::new()));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, winners) = (store.clone(), winners.clone());
        tasks.push(tokio::spawn(async move {
            let mut wins = 0;
            while wins < WINS_EACH {
                let current = store.ship(ship.id).await.unwrap().unwrap();
                let data = format!(r#"{{"task":{task}}}"#);
                let updated = store
                    .update_ship(ship.id, current.version, "deploying", false, None, &data)
                    .await
                    .unwrap();
                let Some(updated) = updated else {
                    tokio::task::yield_now().await;
                    continue;
                };
                assert_eq!(updated.version, current.version + 1);
                let earlier = winners.lock().unwrap().insert(current.version, task);
                assert_eq!(earlier, None, "version {} won twice", current.version);
                wins += 1;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let total = (TASKS * WINS_EACH) as i64;
    let winners = winners.lock().unwrap().clone();
    let mut versions: Vec<i64> = winners.keys().copied().collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=total).collect::<Vec<_>>());
    let last = store.ship(ship.id).await.unwrap().unwrap();
    assert_eq!(last.version, total + 1);
    assert_eq!(last.data, format!(r#"{{"task":{}}}"#, winners[&total]));
}

async fn sweep_lease_has_one_holder_until_it_expires(db: Db) {
    let store = db.store().await;
    let ttl = Duration::from_secs(600);
    assert!(store.try_lease("sweep", "a", ttl).await.unwrap());
    assert!(!store.try_lease("sweep", "b", ttl).await.unwrap());
    // The holder renews its own lease.
    assert!(store.try_lease("sweep", "a", ttl).await.unwrap());
    store.advance_clock(Duration::from_secs(599));
    assert!(!store.try_lease("sweep", "b", ttl).await.unwrap());
    store.advance_clock(Duration::from_secs(1));
    assert!(store.try_lease("sweep", "b", ttl).await.unwrap());
    assert!(!store.try_lease("sweep", "a", ttl).await.unwrap());
    // Leases are independent by name.
    assert!(store.try_lease("other", "a", ttl).await.unwrap());
}

async fn stored_deliveries_are_known_alone_or_split(db: Db) {
    let store = db.store().await;
    enqueue_pr(&store, "github:one", 1).await;
    enqueue_pr(&store, "github:many/0", 2).await;
    enqueue_pr(&store, "github:many/1", 3).await;
    assert!(store
        .has_delivery(&DeliveryId::new("github:one"))
        .await
        .unwrap());
    assert!(store
        .has_delivery(&DeliveryId::new("github:many"))
        .await
        .unwrap());
    assert!(!store
        .has_delivery(&DeliveryId::new("github:on"))
        .await
        .unwrap());
    assert!(!store
        .has_delivery(&DeliveryId::new("github:other"))
        .await
        .unwrap());
}

async fn live_jobs_are_the_queued_and_running_ones_of_a_key(db: Db) {
    let store = db.store().await;
    let key = |number: u64| pr_event("acme/widgets", number).serial_key();
    // Done, parked, or never seen: nothing still to run.
    enqueue_pr(&store, "done", 1).await;
    let job = claim(&store, "w1").await.unwrap();
    store.complete(&job).await.unwrap();
    enqueue_pr(&store, "parked", 2).await;
    let job = claim(&store, "w1").await.unwrap();
    store.park(&job, "broken").await.unwrap();
    for number in [1, 2, 9] {
        assert!(
            !store.has_live_job(&key(number)).await.unwrap(),
            "#{number}"
        );
    }

    // Queued (even for later), then running, then retried: still to run.
    store
        .enqueue_at(
            &delivery("later", pr_event("acme/widgets", 3)),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert!(store.has_live_job(&key(3)).await.unwrap());
    enqueue_pr(&store, "now", 4).await;
    assert!(store.has_live_job(&key(4)).await.unwrap());
    let running = claim(&store, "w1").await.unwrap();
    assert_eq!(running.delivery_id.as_str(), "now");
    assert!(store.has_live_job(&key(4)).await.unwrap());
    store
        .retry(&running, "502", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.has_live_job(&key(4)).await.unwrap());
    assert!(!store.has_live_job("github:acme/widgets#40").await.unwrap());
}

async fn recent_repos_are_those_with_recent_jobs(db: Db) {
    let store = db.store().await;
    store
        .enqueue(&delivery("old", pr_event("acme/old", 1)))
        .await
        .unwrap();
    store.advance_clock(Duration::from_secs(8 * 24 * 3600));
    enqueue_pr(&store, "a", 1).await;
    enqueue_pr(&store, "b", 2).await;
    let gitlab = DomainEvent::PolicyChanged {
        repo: RepoRef::gitlab("group/tool"),
        branch: "main".into(),
    };
    store.enqueue(&delivery("c", gitlab)).await.unwrap();
    let mut keys: Vec<(String, Option<InstallationId>)> = store
        .recent_repos(Duration::from_secs(7 * 24 * 3600))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key(), r.installation))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            ("github:acme/widgets".to_owned(), Some(InstallationId(7))),
            ("gitlab:group/tool".to_owned(), None),
        ]
    );
}

async fn old_done_jobs_are_pruned_in_batches_and_nothing_else(db: Db) {
    const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);
    let store = db.store().await;
    for (id, number) in [("done-1", 1), ("done-2", 2), ("done-3", 3)] {
        enqueue_pr(&store, id, number).await;
        let job = claim(&store, "w1").await.unwrap();
        store.complete(&job).await.unwrap();
    }
    enqueue_pr(&store, "parked", 4).await;
    let job = claim(&store, "w1").await.unwrap();
    store.park(&job, "cannot decode").await.unwrap();
    enqueue_pr(&store, "running", 5).await;
    let running = store.claim("w1", 2 * MONTH).await.unwrap().unwrap();
    enqueue_pr(&store, "queued", 5).await;

    store.advance_clock(MONTH + Duration::from_secs(1));
    enqueue_pr(&store, "recent", 6).await;
    let job = claim(&store, "w1").await.unwrap();
    assert_eq!(job.delivery_id.as_str(), "recent");
    store.complete(&job).await.unwrap();

    // Oldest first, a batch at a time.
    assert_eq!(store.prune_done_jobs(MONTH, 2).await.unwrap(), 2);
    assert_eq!(store.prune_done_jobs(MONTH, 2).await.unwrap(), 1);
    assert_eq!(store.prune_done_jobs(MONTH, 2).await.unwrap(), 0);

    // A pruned delivery is new again; everything else is as it was.
    for (id, known) in [
        ("done-1", false),
        ("done-3", false),
        ("parked", true),
        ("running", true),
        ("queued", true),
        ("recent", true),
    ] {
        assert_eq!(
            store.has_delivery(&DeliveryId::new(id)).await.unwrap(),
            known,
            "{id}"
        );
    }
    assert_eq!(store.parked_count().await.unwrap(), 1);
    store.complete(&running).await.unwrap();
    assert_eq!(
        claim(&store, "w1").await.unwrap().delivery_id.as_str(),
        "queued"
    );
}

/// On SQLite, writes sent together share one transaction: one that breaks a constraint
/// is refused alone, and the others are committed.
async fn a_write_refused_by_a_constraint_fails_alone(db: Db) {
    let store = db.store().await;
    let first = store
        .create_ship(&pr_ref("acme/widgets", 1), "production", "merging", "{}")
        .await
        .unwrap();
    let job = delivery("d-alone", pr_event("acme/widgets", 3));
    let (pr_1, pr_2) = (pr_ref("acme/widgets", 1), pr_ref("acme/widgets", 2));
    let (again, other, queued) = tokio::join!(
        store.create_ship(&pr_1, "production", "merging", "{}"),
        store.create_ship(&pr_2, "staging", "merging", "{}"),
        store.enqueue(&job),
    );
    assert_ship_in_progress(again, first.id);
    let other = other.unwrap();
    assert_eq!(queued.unwrap(), Enqueued::New);
    assert_eq!(
        store
            .active_ship(&pr_ref("acme/widgets", 2))
            .await
            .unwrap()
            .map(|s| s.id),
        Some(other.id)
    );
    assert!(store
        .has_delivery(&DeliveryId::new("d-alone"))
        .await
        .unwrap());
}
