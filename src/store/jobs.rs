//! The job queue: acknowledged deliveries, claimed under leases (see the guarantees in
//! the module docs of `store`).
//!
//! Claims cannot race on SQLite: every claim is a write, run by the one writer task, so
//! each sees every claim before it. On PostgreSQL, with several replicas claiming from
//! one database, a claim picks its row with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers never wait on, nor take, the same job. Per-key exclusivity is enforced by the
//! partial unique index `jobs_one_running_per_key`: two claimers that pick different jobs
//! of one key at the same moment both pass the `NOT EXISTS` check under their snapshots,
//! but the second `UPDATE ... SET state = 'running'` blocks on the first's index entry and
//! fails with a unique violation once it commits; `Store::claim` then picks again.

use super::dispatch::Sql;
use super::{millis, Store, StoreError, StoreResult};
use crate::domain::{Delivery, DeliveryId, DomainEvent};
use std::time::Duration;

/// Fencing: the lease holder is the worker whose attempt is still the current one.
macro_rules! fence {
    () => {
        " WHERE id = $2 AND state = 'running' AND attempts = $3"
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New,
    /// The delivery id was seen before; nothing was stored.
    Duplicate,
}

/// A claimed unit of work. Its lease must be completed, retried, parked or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub delivery_id: DeliveryId,
    pub event: DomainEvent,
    /// Attempts so far, including this one.
    pub attempts: u32,
}

/// A claimed row before its event is decoded.
#[derive(sqlx::FromRow)]
struct RawJob {
    id: i64,
    delivery_id: String,
    event: String,
    attempts: i64,
}

/// How a lease ends.
enum Outcome {
    Complete,
    Retry {
        error: String,
        delay_ms: i64,
    },
    Park {
        error: String,
    },
    Release,
    /// Keep the job: extend its lease by `lease_ms` from now.
    Renew {
        lease_ms: i64,
    },
}

/// Claim attempts lost to a concurrent claimer of the same key before giving up for
/// this poll. Each loss means another job was claimed, so the queue is progressing.
const CLAIM_CONFLICT_RETRIES: usize = 16;

impl Store {
    /// Stores the delivery as a queued job, durably, unless its id was seen before.
    pub async fn enqueue(&self, delivery: &Delivery) -> StoreResult<Enqueued> {
        self.enqueue_at(delivery, Duration::ZERO).await
    }

    /// Like [`Store::enqueue`] (and deduplicated with it by delivery id), but the job is
    /// not claimable until `delay` from now. A duplicate changes nothing, not even when
    /// the stored job runs.
    pub async fn enqueue_at(&self, delivery: &Delivery, delay: Duration) -> StoreResult<Enqueued> {
        let delay_ms = millis(delay);
        let event = serde_json::to_string(&delivery.event)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialize event: {e}")))?;
        let key = delivery.event.serial_key();
        let id = delivery.id.as_str().to_owned();
        let offset = self.offset();
        let job = super::intake::NewJob {
            delivery_id: id,
            key,
            event,
            delay_ms,
            offset,
        };
        Ok(if self.intake.enqueue(job).await? {
            Enqueued::New
        } else {
            Enqueued::Duplicate
        })
    }

    /// Claims the oldest runnable job (queued and due, or running under an expired
    /// lease) whose key has no other running job. `None` when nothing is runnable now.
    ///
    /// A job whose stored event no longer decodes is parked with the error and skipped.
    /// Under heavy contention on PostgreSQL `None` can also mean "lost every race this
    /// time"; workers poll, so the job is taken on a later call.
    pub async fn claim(&self, worker: &str, lease: Duration) -> StoreResult<Option<Job>> {
        let lease_ms = millis(lease);
        let mut conflicts = 0;
        loop {
            let offset = self.offset();
            let worker = worker.to_owned();
            let claimed = write_one!(self, |db, dialect| {
                // `attempts` is 32-bit on PostgreSQL: read as 64-bit on both.
                let sql = sql!(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $2, ",
                    "lease_until = ",
                    now!(),
                    " + $3, updated_at = ",
                    now!(),
                    " WHERE id = (",
                    "SELECT j.id FROM jobs j WHERE j.state IN ('queued', 'running') ",
                    "AND ((j.state = 'queued' AND j.run_after <= ",
                    now!(),
                    ") OR (j.state = 'running' AND j.lease_until <= ",
                    now!(),
                    ")) AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.serial_key = j.serial_key ",
                    "AND r.state = 'running' AND r.id <> j.id) ",
                    "ORDER BY j.id LIMIT 1",
                    skip_locked!(),
                    ") ",
                    "RETURNING id, delivery_id, event, CAST(attempts AS BIGINT) AS attempts"
                );
                sqlx::query_as::<_, RawJob>(sql.on(dialect))
                    .bind(offset)
                    .bind(worker)
                    .bind(lease_ms)
                    .fetch_optional(db)
                    .await
            });
            let raw = match claimed {
                Ok(Some(raw)) => raw,
                Ok(None) => return Ok(None),
                // Another claimer just took a job with the same key: pick again.
                Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                    conflicts += 1;
                    if conflicts > CLAIM_CONFLICT_RETRIES {
                        return Ok(None);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            match decode(&raw) {
                Ok(job) => return Ok(Some(job)),
                Err(error) => {
                    tracing::error!(job_id = raw.id, delivery_id = %raw.delivery_id, %error, "parking undecodable job");
                    let attempt = u32::try_from(raw.attempts).unwrap_or(u32::MAX);
                    self.finish(
                        raw.id,
                        attempt,
                        Outcome::Park {
                            error: error.to_string(),
                        },
                    )
                    .await?;
                }
            }
        }
    }

    /// Marks the job done. The row stays so its delivery id remains a known duplicate.
    pub async fn complete(&self, job: &Job) -> StoreResult<()> {
        self.finish(job.id, job.attempts, Outcome::Complete).await
    }

    /// Puts the job back in the queue, runnable again after `delay`.
    pub async fn retry(&self, job: &Job, error: &str, delay: Duration) -> StoreResult<()> {
        let delay_ms = millis(delay);
        let error = error.to_owned();
        self.finish(job.id, job.attempts, Outcome::Retry { error, delay_ms })
            .await
    }

    /// Takes the job out of circulation for a human to look at.
    pub async fn park(&self, job: &Job, error: &str) -> StoreResult<()> {
        let error = error.to_owned();
        self.finish(job.id, job.attempts, Outcome::Park { error })
            .await
    }

    /// Extends the lease of a job still running under this attempt, so a long job is not
    /// taken over; `LeaseLost` when another worker already took it.
    pub async fn renew(&self, job: &Job, lease: Duration) -> StoreResult<()> {
        let lease_ms = millis(lease);
        self.finish(job.id, job.attempts, Outcome::Renew { lease_ms })
            .await
    }

    /// Hands the job back, runnable at once, without counting this attempt (shutdown).
    pub async fn release(&self, job: &Job) -> StoreResult<()> {
        self.finish(job.id, job.attempts, Outcome::Release).await
    }

    /// Applies `outcome` if the job is still running under `attempt`; `LeaseLost`
    /// otherwise.
    async fn finish(&self, job_id: i64, attempt: u32, outcome: Outcome) -> StoreResult<()> {
        let offset = self.offset();
        let applied = write_one!(self, |db, dialect| {
            let mut query = sqlx::query(outcome.sql().on(dialect))
                .bind(offset)
                .bind(job_id)
                .bind(i64::from(attempt));
            match &outcome {
                Outcome::Retry { error, delay_ms } => {
                    query = query.bind(error.as_str()).bind(*delay_ms)
                }
                Outcome::Park { error } => query = query.bind(error.as_str()),
                Outcome::Renew { lease_ms } => query = query.bind(*lease_ms),
                Outcome::Complete | Outcome::Release => {}
            }
            Ok(query.execute(db).await?.rows_affected() == 1)
        })?;
        if applied {
            Ok(())
        } else {
            Err(StoreError::LeaseLost { job_id, attempt })
        }
    }

    /// Jobs still to be processed: queued (due or not) and running.
    pub async fn queue_depth(&self) -> StoreResult<u64> {
        let n: i64 = read!(self, |db| {
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
                .fetch_one(db)
                .await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Jobs running or due within `horizon`; jobs scheduled further ahead are not counted.
    pub async fn due_depth(&self, horizon: Duration) -> StoreResult<u64> {
        let now = self.now_ms().await? + millis(horizon);
        let n: i64 = read!(self, |db| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE state = 'running' OR (state = 'queued' AND run_after <= $1)",
            )
            .bind(now)
            .fetch_one(db)
            .await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Jobs parked for a human to look at.
    pub async fn parked_count(&self) -> StoreResult<u64> {
        let n: i64 = read!(self, |db| {
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'parked'")
                .fetch_one(db)
                .await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How long the oldest queued or running job has been waiting since it was
    /// enqueued; `None` when the queue is empty.
    pub async fn oldest_job_age(&self) -> StoreResult<Option<Duration>> {
        let offset = self.offset();
        let age_ms: Option<i64> = read!(self, |db, dialect| {
            let sql = sql!(
                "SELECT ",
                now!(),
                " - created_at FROM jobs WHERE state IN ('queued', 'running') ORDER BY id LIMIT 1"
            );
            sqlx::query_scalar(sql.on(dialect))
                .bind(offset)
                .fetch_optional(db)
                .await
        })?;
        Ok(age_ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }
}

impl Outcome {
    /// The update that ends (or renews) the lease; it binds `$4` and `$5` as the
    /// outcome's values, after the clock offset, job id and attempt.
    fn sql(&self) -> Sql {
        match self {
            Outcome::Complete => sql!(
                "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ",
                now!(),
                fence!()
            ),
            Outcome::Retry { .. } => sql!(
                "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, ",
                "last_error = $4, run_after = ",
                now!(),
                " + $5, updated_at = ",
                now!(),
                fence!()
            ),
            Outcome::Park { .. } => sql!(
                "UPDATE jobs SET state = 'parked', lease_until = NULL, last_error = $4, updated_at = ",
                now!(),
                fence!()
            ),
            Outcome::Renew { .. } => sql!(
                "UPDATE jobs SET lease_until = ",
                now!(),
                " + $4, updated_at = ",
                now!(),
                fence!()
            ),
            Outcome::Release => sql!(
                "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, ",
                "attempts = attempts - 1, run_after = ",
                now!(),
                ", updated_at = ",
                now!(),
                fence!()
            ),
        }
    }
}

fn decode(raw: &RawJob) -> StoreResult<Job> {
    let event = serde_json::from_str(&raw.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let attempts = u32::try_from(raw.attempts)
        .map_err(|_| StoreError::Corrupt(format!("attempts out of range: {}", raw.attempts)))?;
    Ok(Job {
        id: raw.id,
        delivery_id: DeliveryId::new(raw.delivery_id.clone()),
        event,
        attempts,
    })
}
