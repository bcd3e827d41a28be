//! The deploy controls' durable state on both backends: one lock per environment, one
//! hold per change, one ship in progress per environment, and the append-only log of
//! ships out of order. The harness is `store`'s.
use crate::store::{run, Db, Kind};
use smallbatch::domain::{CommitSha, InstallationId, PrNumber, PrRef, RepoRef};
use smallbatch::store::StoreError;

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
    an_environment_has_one_lock_whoever_takes_it_first,
    a_change_has_one_hold,
    a_ship_in_progress_holds_its_environment,
    order_overrides_are_append_only_in_the_database,
);

fn pr(repo: &str, number: u64) -> PrRef {
    PrRef {
        repo: RepoRef::github(repo, InstallationId(7)),
        number: PrNumber(number),
    }
}

async fn an_environment_has_one_lock_whoever_takes_it_first(db: Db) {
    let store = db.store().await;
    let (seven, eight) = (pr("acme/widgets", 7), pr("acme/widgets", 8));
    // Taken at once from two changes (two replicas): exactly one holds it.
    let (a, b) = tokio::join!(
        store.lock_environment(&seven, "production", "alice", Some("migration")),
        store.lock_environment(&eight, "production", "bob", None),
    );
    let ((a, a_took), (b, b_took)) = (a.unwrap(), b.unwrap());
    assert!(a_took ^ b_took, "one of them took it");
    assert_eq!(a, b, "both see the same lock");
    let held = store
        .environment_lock(&seven.repo, "production")
        .await
        .unwrap()
        .expect("locked");
    assert_eq!(held, a);
    // Other environments and repositories are free.
    assert_eq!(
        store
            .environment_lock(&seven.repo, "staging")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .environment_lock(&pr("acme/gadgets", 1).repo, "production")
            .await
            .unwrap(),
        None
    );
    // Released once; a second release of the same lock changes nothing.
    assert!(store.unlock_environment(&held).await.unwrap());
    assert!(!store.unlock_environment(&held).await.unwrap());
    let (again, took) = store
        .lock_environment(&eight, "production", "bob", Some("deploy freeze"))
        .await
        .unwrap();
    assert!(took);
    assert_eq!(
        (
            again.holder.as_str(),
            again.reason.as_deref(),
            again.pr_key.as_str()
        ),
        ("bob", Some("deploy freeze"), eight.key().as_str())
    );
    // The old lock's release does not release the new one.
    assert!(!store.unlock_environment(&held).await.unwrap());
    assert_eq!(
        store
            .environment_lock(&seven.repo, "production")
            .await
            .unwrap(),
        Some(again)
    );
}

async fn a_change_has_one_hold(db: Db) {
    let store = db.store().await;
    let seven = pr("acme/widgets", 7);
    let (a, b) = tokio::join!(
        store.hold(&seven, "maya", Some("freeze")),
        store.hold(&seven, "bob", None),
    );
    let ((a, a_put), (b, b_put)) = (a.unwrap(), b.unwrap());
    assert!(a_put ^ b_put, "one of them put it on");
    assert_eq!(a, b);
    assert_eq!(store.hold_on(&seven).await.unwrap(), Some(a.clone()));
    assert_eq!(store.hold_on(&pr("acme/widgets", 8)).await.unwrap(), None);
    assert!(store.unhold(&a).await.unwrap());
    assert!(!store.unhold(&a).await.unwrap());
    assert_eq!(store.hold_on(&seven).await.unwrap(), None);
}

async fn a_ship_in_progress_holds_its_environment(db: Db) {
    let store = db.store().await;
    let (seven, eight) = (pr("acme/widgets", 7), pr("acme/widgets", 8));
    let first = store
        .create_ship(&seven, "production", "merging", "{}")
        .await
        .unwrap();
    assert_eq!(
        store
            .running_ship_to(&seven.repo, "production")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(first.id)
    );
    match store
        .create_ship(&eight, "production", "merging", "{}")
        .await
    {
        Err(StoreError::EnvironmentBusy { id }) => assert_eq!(id, first.id),
        other => panic!("expected EnvironmentBusy, got {other:?}"),
    }
    // Other environments, and other repositories' production, are free.
    store
        .create_ship(&eight, "staging", "merging", "{}")
        .await
        .unwrap();
    store
        .create_ship(&pr("acme/gadgets", 1), "production", "merging", "{}")
        .await
        .unwrap();
    // Once the first ship finishes, the environment is free again...
    let done = store
        .update_ship(first.id, first.version, "healthy", true, None, "{}")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .running_ship_to(&seven.repo, "production")
            .await
            .unwrap(),
        None
    );
    let nine = store
        .create_ship(&pr("acme/widgets", 9), "production", "merging", "{}")
        .await
        .unwrap();
    // ...and reopening it beside the one now running is refused.
    match store
        .update_ship(done.id, done.version, "merging", false, None, "{}")
        .await
    {
        Err(StoreError::EnvironmentBusy { id }) => assert_eq!(id, nine.id),
        other => panic!("expected EnvironmentBusy, got {other:?}"),
    }
}

async fn order_overrides_are_append_only_in_the_database(db: Db) {
    let store = db.store().await;
    let seven = pr("acme/widgets", 7);
    let head = CommitSha::new("a".repeat(40));
    let record = store
        .record_order_override(
            &seven,
            &head,
            "production",
            &["qa", "staging"],
            "maya",
            "staging is down",
        )
        .await
        .unwrap();
    assert_eq!(
        (
            record.environment.as_str(),
            record.skipped.clone(),
            record.actor.as_str(),
            record.reason.as_str(),
            record.head_sha.clone()
        ),
        (
            "production",
            vec!["qa".to_owned(), "staging".to_owned()],
            "maya",
            "staging is down",
            head
        )
    );
    let refused = Err("order overrides are append-only".to_owned());
    assert_eq!(
        db.try_execute("UPDATE order_overrides SET actor = 'mallory'")
            .await,
        refused
    );
    assert_eq!(db.try_execute("DELETE FROM order_overrides").await, refused);
    if db.kind == Kind::Postgres {
        assert_eq!(db.try_execute("TRUNCATE order_overrides").await, refused);
    }
    assert_eq!(store.order_overrides(&seven).await.unwrap(), vec![record]);
    assert_eq!(
        store.order_overrides(&pr("acme/widgets", 8)).await.unwrap(),
        vec![]
    );
}
