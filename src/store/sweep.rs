//! What the periodic sweep and `/metrics` ask of the store: known deliveries, live jobs per
//! key, recently active repositories, a lease so one replica sweeps at a time, and job latencies.

use super::{from_ms, millis, to_ms, Store, StoreError, StoreResult};
use crate::domain::{DeliveryId, DomainEvent, RepoRef};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

impl Store {
    /// Whether a delivery with this id was stored, alone or as the first of several
    /// events ([`DeliveryId::part`]).
    pub async fn has_delivery(&self, delivery_id: &DeliveryId) -> StoreResult<bool> {
        let first_of_many = delivery_id.part(0);
        let n: i64 = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE delivery_id = $1 OR delivery_id = $2",
            )
            .bind(delivery_id.as_str())
            .bind(first_of_many.as_str())
            .fetch_one(db)
            .await
        })?;
        Ok(n > 0)
    }

    /// Whether a job with this serial key is queued (due or not) or running: its work
    /// is still to come, so the sweep need not queue more for the key.
    pub async fn has_live_job(&self, serial_key: &str) -> StoreResult<bool> {
        let n: i64 = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs \
                 WHERE serial_key = $1 AND state IN ('queued', 'running')",
            )
            .bind(serial_key)
            .fetch_one(db)
            .await
        })?;
        Ok(n > 0)
    }

    /// Parked jobs that are steps of a ship: `(job id, ship id)`, oldest first.
    pub async fn parked_ship_steps(&self) -> StoreResult<Vec<(i64, i64)>> {
        let rows: Vec<(i64, String)> = read!(self, |db| {
            sqlx::query_as(
                "SELECT id, event FROM jobs WHERE state = 'parked' AND delivery_id LIKE 'ship:%' \
                 ORDER BY id",
            )
            .fetch_all(db)
            .await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(job, event)| match serde_json::from_str(&event) {
                Ok(DomainEvent::ShipStep { ship_id, .. }) => Some((job, ship_id)),
                _ => None,
            })
            .collect())
    }

    /// Puts a parked job back in the queue, due now, as if it were new: its attempts
    /// start again. `false` when it is no longer parked.
    pub async fn requeue_parked(&self, job_id: i64) -> StoreResult<bool> {
        let offset = self.offset();
        write_one!(self, |db, dialect| {
            let sql = sql!(
                "UPDATE jobs SET state = 'queued', attempts = 0, worker = NULL, run_after = ",
                now!(),
                ", updated_at = ",
                now!(),
                " WHERE id = $2 AND state = 'parked'"
            );
            Ok(sqlx::query(sql.on(dialect))
                .bind(offset)
                .bind(job_id)
                .execute(db)
                .await?
                .rows_affected()
                == 1)
        })
    }

    /// The repositories named by jobs enqueued within `within`, each once, in no
    /// particular order. A GitHub repository carries the installation of its latest job.
    pub async fn recent_repos(&self, within: Duration) -> StoreResult<Vec<RepoRef>> {
        let since = self.now_ms().await? - millis(within);
        // The latest job per key is enough: every job of a key names the same repository.
        let events: Vec<String> = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT event FROM jobs WHERE id IN \
                 (SELECT MAX(id) FROM jobs WHERE created_at >= $1 GROUP BY serial_key) \
                 ORDER BY id DESC",
            )
            .bind(since)
            .fetch_all(db)
            .await
        })?;
        let mut seen = HashSet::new();
        let mut repos = Vec::new();
        for text in events {
            let event: DomainEvent = match serde_json::from_str(&text) {
                Ok(event) => event,
                // Parked by the worker when claimed; it names no usable repository.
                Err(e) => {
                    tracing::debug!(error = %e, "undecodable job skipped");
                    continue;
                }
            };
            let repo = event_repo(event);
            if seen.insert(repo.key()) {
                repos.push(repo);
            }
        }
        Ok(repos)
    }

    /// Takes or renews the lease `name` for `holder` until `ttl` from now. `false` when
    /// another holder's lease has not expired yet.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> StoreResult<bool> {
        let now = self.now_ms().await?;
        let until = now.saturating_add(millis(ttl));
        let (name, holder) = (name.to_owned(), holder.to_owned());
        write_one!(self, |db| {
            let done = sqlx::query(
                "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
                 WHERE leases.until_ms <= $4 OR leases.holder = excluded.holder",
            )
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives the lease `name` up at once, if `holder` still has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        write_one!(self, |db| {
            sqlx::query("UPDATE leases SET until_ms = 0 WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(db)
                .await?;
            Ok(())
        })
    }

    /// The time recorded under `name` by [`Store::set_mark`], on the store's clock.
    /// Marks share the leases table: a mark is a row whose `until_ms` is a moment.
    pub async fn mark(&self, name: &str) -> StoreResult<Option<OffsetDateTime>> {
        let at: Option<i64> = read!(self, |db| {
            sqlx::query_scalar("SELECT until_ms FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(db)
                .await
        })?;
        at.map(from_ms).transpose()
    }

    /// Records `at` under `name`, by `holder`, replacing any earlier mark.
    pub async fn set_mark(&self, name: &str, holder: &str, at: OffsetDateTime) -> StoreResult<()> {
        let (name, holder, at_ms) = (name.to_owned(), holder.to_owned(), to_ms(at));
        write_one!(self, |db| {
            sqlx::query(
                "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms",
            )
            .bind(name)
            .bind(holder)
            .bind(at_ms)
            .execute(db)
            .await?;
            Ok(())
        })
    }

    /// Deletes up to `batch` completed jobs enqueued more than `kept` ago, oldest first,
    /// and returns how many went. Queued, running and parked jobs stay. A pruned
    /// delivery id is no longer recognised as a duplicate, so `kept` must outlast every
    /// redelivery window (GitHub redelivers for three days).
    pub async fn prune_done_jobs(&self, kept: Duration, batch: u32) -> StoreResult<u64> {
        let before = self.now_ms().await? - millis(kept);
        let batch = i64::from(batch);
        write_one!(self, |db| {
            let done = sqlx::query(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
                 WHERE state = 'done' AND created_at < $1 ORDER BY id LIMIT $2)",
            )
            .bind(before)
            .bind(batch)
            .execute(db)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// Enqueue-to-completion times of the jobs enqueued within `within` and completed,
    /// shortest first.
    pub async fn job_latencies(&self, within: Duration) -> StoreResult<Vec<Duration>> {
        let since = self.now_ms().await? - millis(within);
        let rows: Vec<i64> = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT updated_at - created_at FROM jobs \
                 WHERE created_at >= $1 AND state = 'done' ORDER BY 1",
            )
            .bind(since)
            .fetch_all(db)
            .await
        })?;
        rows.into_iter()
            .map(|ms| {
                u64::try_from(ms).map(Duration::from_millis).map_err(|_| {
                    StoreError::Corrupt(format!("job completed before enqueue: {ms} ms"))
                })
            })
            .collect()
    }
}

fn event_repo(event: DomainEvent) -> RepoRef {
    match event {
        DomainEvent::PrChanged { pr, .. }
        | DomainEvent::PrClosed { pr }
        | DomainEvent::CommentPosted { pr, .. }
        | DomainEvent::ShipStep { pr, .. }
        | DomainEvent::ChangeMerged { pr, .. } => pr.repo,
        DomainEvent::PolicyChanged { repo, .. }
        | DomainEvent::DeploymentChanged { repo, .. }
        | DomainEvent::MergeGroupQueued { repo, .. } => repo,
    }
}
