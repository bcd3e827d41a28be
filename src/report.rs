//! Delivery metrics from the bot's own ship records: `smallbatch report` and `/metrics`.
use crate::dora::{self, RepoMetrics};
use crate::ship::facts;
use crate::ship::record::ShipRecord;
use crate::store::{Store, StoreResult};
use time::OffsetDateTime;

/// The four keys and rework rate per repository over `[now - since, now)`; `repo`
/// filters by `owner/name`. A deploy reverted or rolled back within `failure_window`
/// after it deployed counts as failed.
pub async fn delivery_metrics(
    store: &Store,
    repo: Option<&str>,
    since: std::time::Duration,
    failure_window: std::time::Duration,
) -> StoreResult<Vec<RepoMetrics>> {
    let now = store.now().await?;
    // A period reaching before any date can: from the epoch, before every ship.
    let from = time::Duration::try_from(since)
        .ok()
        .and_then(|since| now.checked_sub(since))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // A ship counts in the period it deployed in; it may have started a little before.
    let started_since = from.saturating_sub(time::Duration::days(7));
    let ships: Vec<(i64, ShipRecord)> = store
        .ships(None, started_since)
        .await?
        .into_iter()
        .filter_map(|s| match serde_json::from_str(&s.data) {
            Ok(record) => Some((s.id, record)),
            Err(e) => {
                tracing::warn!(ship = s.id, error = %e, "unreadable ship record skipped");
                None
            }
        })
        .collect();
    let mut facts = facts::facts(&ships);
    if let Some(repo) = repo {
        facts.retain(|f| f.repo == repo);
    }
    let window = time::Duration::try_from(failure_window).unwrap_or(dora::DEFAULT_FAILURE_WINDOW);
    Ok(dora::compute(&facts, from, now, window))
}

/// The latest reading of each watched metric among the ships started within `within`.
pub async fn latest_readings(
    store: &Store,
    within: std::time::Duration,
) -> StoreResult<Vec<crate::ship::gauges::Latest>> {
    let now = store.now().await?;
    let since = time::Duration::try_from(within)
        .ok()
        .and_then(|w| now.checked_sub(w))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let ships: Vec<ShipRecord> = store
        .ships(None, since)
        .await?
        .into_iter()
        .filter_map(|s| serde_json::from_str(&s.data).ok())
        .collect();
    Ok(crate::ship::gauges::latest(&ships))
}
