//! A ship recorded by a version before rollbacks, which decided the revert from the
//! policy in the step after the verdict and wrote no `revert_due`: after an upgrade, the
//! step's retry still opens the revert, once.
use crate::support::fake_github;
use crate::support::fake_gitlab;
use crate::support::sha;
use crate::support::world::{ready_to_ship_under, World, SHIP_POLICY};
use serde_json::Value;
use smallbatch::domain::{CommitSha, Delivery, DeliveryId, DomainEvent, PrNumber};
use smallbatch::ship::record::ShipRecord;
use std::time::Duration;

/// Whether a write opened the revert of change 7.
type RevertOf7<Wr> = fn(&Wr) -> bool;

fn github_revert(w: &fake_github::Write) -> bool {
    matches!(w, fake_github::Write::RevertOpened { of: 7, .. })
}

fn gitlab_revert(w: &fake_gitlab::Write) -> bool {
    matches!(w, fake_gitlab::Write::MrOpened { .. })
}

/// Ships change 7 under `notify` until it regresses (nothing opened), then rewrites its
/// record as the older version wrote it, or keeps it, and runs the step again under
/// `revert`, as a retry after the upgrade would.
async fn regressed_then_retried<W: World>(as_older_version: bool) -> (W, Vec<W::Write>) {
    let notify = format!("{SHIP_POLICY}  on_regression: notify\n");
    let w = ready_to_ship_under::<W>(&notify).await;
    w.say(7, 501, "alice", "/ship").await;
    w.deployed(7).await;
    w.settle().await;
    w.prom().set_current(0.034);
    w.advance(Duration::from_secs(61)).await;
    w.advance(Duration::from_secs(61)).await;
    let ship = w
        .store()
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(ship.state, "regressed");
    w.writes();

    let mut data: Value = serde_json::from_str(&ship.data).unwrap();
    if as_older_version {
        for key in [
            "revert_due",
            "rollback",
            "revert_error",
            "deployment_mark_error",
        ] {
            data.as_object_mut().unwrap().remove(key);
        }
    }
    let record: ShipRecord = serde_json::from_value(data.clone()).unwrap();
    w.store()
        .update_ship(
            ship.id,
            ship.version,
            &ship.state,
            ship.finished,
            ship.merge_sha.as_ref(),
            &data.to_string(),
        )
        .await
        .unwrap()
        .expect("saved");
    w.policy_changed_on_main(&format!("{SHIP_POLICY}  on_regression: revert\n"));
    // As the push of that change records it.
    w.store()
        .set_policy_head(&record.pr.repo, "main", &CommitSha::new(sha(0xba5e)))
        .await
        .unwrap();
    let retry = Delivery {
        id: DeliveryId::new("retry-after-upgrade"),
        event: DomainEvent::ShipStep {
            pr: record.pr.clone(),
            ship_id: ship.id,
            after_checks: Some(record.watch.checks_done),
            rollback: None,
        },
    };
    assert_eq!(record.pr.number, PrNumber(7));
    w.store().enqueue(&retry).await.unwrap();
    let w = w.restart().await;
    w.settle().await;
    let writes = w.writes();
    (w, writes)
}

async fn a_regressed_ship_of_an_older_version_still_opens_its_revert<W: World>(
    reverts: RevertOf7<W::Write>,
) {
    let (w, writes) = regressed_then_retried::<W>(true).await;
    assert_eq!(
        writes.iter().filter(|w| reverts(w)).count(),
        1,
        "{writes:#?}"
    );
    let ship = &w
        .store()
        .ships(None, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap()[0];
    assert!(ship.finished);
    assert!(ship.data.contains("\"revert_pr\":"), "{}", ship.data);
    assert!(!ship.data.contains("\"revert_pr\":null"), "{}", ship.data);
}

/// The same record as this version writes it: its verdict decided to notify only, and
/// a policy changed since does not open a revert after the fact.
async fn a_regressed_ship_of_this_version_keeps_its_decision<W: World>(
    reverts: RevertOf7<W::Write>,
) {
    let (_w, writes) = regressed_then_retried::<W>(false).await;
    assert!(!writes.iter().any(reverts), "{writes:#?}");
}

on_both_forges!(
    a_regressed_ship_of_an_older_version_still_opens_its_revert(github_revert, gitlab_revert),
    a_regressed_ship_of_this_version_keeps_its_decision(github_revert, gitlab_revert),
);
