//! The forge-neutral part of retrying a REST call: how often, how long to wait between
//! attempts, and when to give up and hand a `Transient` error back to the worker, which
//! reschedules the job. Each client decides for itself *which* answers are worth retrying.

use crate::forge::{ForgeError, ForgeResult};
use http::header::RETRY_AFTER;
use http::HeaderMap;
use rand::Rng;
use std::time::Duration;
use time::OffsetDateTime;

/// How hard one call tries before handing a transient failure back to the worker,
/// which reschedules the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, with jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The most one call sleeps in total; a longer `Retry-After` is returned to the
    /// worker instead of being slept through.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(30),
        }
    }
}

/// An attempt worth repeating, as a client judged it.
pub(crate) struct Failed {
    pub message: String,
    /// How long the forge asked us to wait, if it did.
    pub retry_after: Option<Duration>,
    /// A 5xx or no answer: the request may have been carried out.
    pub may_have_applied: bool,
}

/// Counts the attempts of one call and sleeps between them.
pub(crate) struct Backoff<'a> {
    policy: &'a RetryPolicy,
    /// The forge's name, for the log line.
    forge: &'static str,
    failures: u32,
    waited: Duration,
}

impl<'a> Backoff<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy, forge: &'static str) -> Self {
        Self {
            policy,
            forge,
            failures: 0,
            waited: Duration::ZERO,
        }
    }

    /// Sleeps before the next attempt (`retry_after` when the forge named a wait), or
    /// gives up with `Transient` once the attempts or the wait budget are spent.
    pub(crate) async fn wait(
        &mut self,
        message: String,
        retry_after: Option<Duration>,
    ) -> ForgeResult<()> {
        self.failures += 1;
        let delay = retry_after.unwrap_or_else(|| self.jittered_delay());
        if self.failures >= self.policy.max_attempts
            || self.waited + delay > self.policy.max_total_wait
        {
            return Err(ForgeError::Transient {
                message,
                retry_after,
            });
        }
        tracing::warn!(
            forge = self.forge,
            %message,
            delay_ms = delay.as_millis() as u64,
            "retrying forge call"
        );
        tokio::time::sleep(delay).await;
        self.waited += delay;
        Ok(())
    }

    /// After `failed`: waits before the next attempt, or gives up with `Transient`. A
    /// request that is not `repeatable` is not sent again when it may have been
    /// carried out.
    pub(crate) async fn retry(&mut self, failed: Failed, repeatable: bool) -> ForgeResult<()> {
        if failed.may_have_applied && !repeatable {
            return Err(not_repeated(failed.message, failed.retry_after));
        }
        self.wait(failed.message, failed.retry_after).await
    }

    /// Waits out a pause the forge imposed on calls made elsewhere (a rate limit another
    /// call ran into) before this call is sent; it counts against the wait budget but is
    /// not a failed attempt. Past the budget, the wait goes back to the worker.
    pub(crate) async fn pause(&mut self, message: String, wait: Duration) -> ForgeResult<()> {
        if self.waited + wait > self.policy.max_total_wait {
            return Err(ForgeError::Transient {
                message,
                retry_after: Some(wait),
            });
        }
        tracing::debug!(forge = self.forge, %message, delay_ms = wait.as_millis() as u64, "waiting out a rate limit");
        tokio::time::sleep(wait).await;
        self.waited += wait;
        Ok(())
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so that
    /// callers failing together do not retry together.
    fn jittered_delay(&self) -> Duration {
        let exponent = self.failures.saturating_sub(1).min(16);
        let full = self
            .policy
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.policy.max_delay);
        let half = full / 2;
        let millis = half.as_millis() as u64;
        half + Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// The error for a request that must not be repeated (it creates something each time)
/// after a failure that may have taken effect: a 5xx, or an answer that never came. The
/// caller looks for what it asked for before asking again.
pub(crate) fn not_repeated(message: String, retry_after: Option<Duration>) -> ForgeError {
    ForgeError::Transient {
        message: format!("{message} (not repeated: it may have taken effect)"),
        retry_after,
    }
}

/// A header's value as trimmed text, when it is valid ASCII.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// `Retry-After` in delta-seconds, the form GitHub and GitLab send.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_str(headers, RETRY_AFTER.as_str())?
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The wait until a rate-limit window resets, from a header holding the reset instant
/// in Unix seconds.
pub(crate) fn until_reset(
    headers: &HeaderMap,
    name: &str,
    now: OffsetDateTime,
) -> Option<Duration> {
    let reset = header_str(headers, name)?.parse::<i64>().ok()?;
    // One more second: the reset time is rounded down.
    let secs = (reset - now.unix_timestamp()).max(0) as u64 + 1;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn retry_after_reads_delta_seconds_only() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 7 ")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn until_reset_rounds_up_and_never_goes_negative() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let reset =
            |v: &str| until_reset(&headers(&[("ratelimit-reset", v)]), "ratelimit-reset", now);
        assert_eq!(reset("1030"), Some(Duration::from_secs(31)));
        assert_eq!(reset("900"), Some(Duration::from_secs(1)));
        assert_eq!(reset("x"), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        let mut backoff = Backoff::new(&policy, "test");
        let mut bounds = Vec::new();
        for _ in 0..4 {
            backoff.failures += 1;
            bounds.push(backoff.jittered_delay().as_millis());
        }
        assert!((50..=100).contains(&bounds[0]), "{bounds:?}");
        assert!((100..=200).contains(&bounds[1]), "{bounds:?}");
        assert!((150..=300).contains(&bounds[2]), "{bounds:?}");
        assert!((150..=300).contains(&bounds[3]), "{bounds:?}");
    }

    #[tokio::test]
    async fn exhausted_attempts_or_budget_become_transient_with_the_wait() {
        let policy = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_total_wait: Duration::from_secs(5),
        };
        let mut backoff = Backoff::new(&policy, "test");
        backoff.wait("first".into(), None).await.unwrap();
        let err = backoff.wait("second".into(), None).await.unwrap_err();
        assert!(
            matches!(&err, ForgeError::Transient { message, retry_after: None } if message == "second"),
            "{err:?}"
        );

        let mut backoff = Backoff::new(&policy, "test");
        let err = backoff
            .wait("limited".into(), Some(Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ForgeError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(60)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_pause_is_slept_within_the_budget_and_handed_back_beyond_it() {
        let policy = RetryPolicy {
            max_total_wait: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        let mut backoff = Backoff::new(&policy, "test");
        let start = std::time::Instant::now();
        backoff
            .pause("paused".into(), Duration::from_millis(30))
            .await
            .unwrap();
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(backoff.failures, 0, "a pause is not a failed attempt");

        let err = backoff
            .pause("still paused".into(), Duration::from_millis(30))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ForgeError::Transient { message, retry_after: Some(d) } if message == "still paused" && *d == Duration::from_millis(30)),
            "{err:?}"
        );
    }
}
