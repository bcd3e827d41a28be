//! A merged change that reverts a shipped one, however it was made (smallbatch's revert,
//! the forge's revert button, `git revert` by hand): the shipped change's deployments
//! are marked reverted, for delivery metrics to count them as failed when the revert
//! came within `dora.failure_window`.
use super::controls::repo_ships;
use super::{load, save, Ctx, JobError};
use crate::domain::{millis, PrRef};
use crate::ship::record::RevertedBy;
use crate::ship::reverts::{reverted_change, Shipped};

/// Attempts at marking one ship when other steps keep updating it.
const MARK_ATTEMPTS: usize = 5;

pub async fn change_merged(ctx: &Ctx, pr: &PrRef, title: &str, body: &str) -> Result<(), JobError> {
    let ships = repo_ships(ctx, &pr.repo).await?;
    // Only what reached a merge can be reverted; a change never reverts itself.
    let candidates: Vec<(i64, &crate::ship::record::ShipRecord)> = ships
        .all
        .iter()
        .filter(|(_, r)| r.pr != *pr && r.merge_sha.is_some())
        .map(|(id, r)| (*id, r))
        .collect();
    let shipped: Vec<Shipped> = candidates
        .iter()
        .map(|(_, r)| Shipped {
            change: r.pr.number.0,
            title: &r.title,
            merge_sha: r.merge_sha.as_ref().map(|s| s.as_str()),
        })
        .collect();
    let Some(change) = reverted_change(pr.repo.forge, &pr.repo.full_name, title, body, &shipped)
    else {
        return Ok(());
    };
    let merged_at_ms = millis::of(ctx.store.now().await?);
    let reverted = RevertedBy {
        change: pr.number.0,
        merged_at_ms,
    };
    for (id, _) in candidates.iter().filter(|(_, r)| r.pr.number.0 == change) {
        mark(ctx, *id, reverted).await?;
    }
    tracing::info!(%pr, reverts = change, "a merged change reverts a shipped one");
    Ok(())
}

/// Marks ship `id` reverted, once: a redelivery or a second revert changes nothing.
async fn mark(ctx: &Ctx, id: i64, reverted: RevertedBy) -> Result<(), JobError> {
    for _ in 0..MARK_ATTEMPTS {
        let Some((stored, mut record)) = load(ctx, id).await? else {
            return Ok(());
        };
        if record.reverted.is_some() {
            return Ok(());
        }
        record.reverted = Some(reverted);
        if save(ctx, &stored, &record).await?.is_some() {
            return Ok(());
        }
    }
    tracing::warn!(ship = id, "ship kept changing; not marked reverted");
    Ok(())
}
