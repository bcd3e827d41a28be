//! How long a failed job waits before its next attempt.
use std::time::Duration;

const BASE: Duration = Duration::from_secs(5);
const CAP: Duration = Duration::from_secs(15 * 60);

/// Exponential from 5 s, capped at 15 min; the forge's own hint wins when it is longer.
pub fn delay(attempts: u32, hint: Option<Duration>) -> Duration {
    let exp = BASE.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let own = exp.min(CAP);
    hint.map_or(own, |h| h.max(own))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let secs: Vec<u64> = (1..=10).map(|a| delay(a, None).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]);
    }

    #[test]
    fn honours_a_longer_hint_only() {
        assert_eq!(
            delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
        assert_eq!(
            delay(3, Some(Duration::from_secs(1))),
            Duration::from_secs(20)
        );
    }
}
