//! The `state` values the setup page sends to GitHub, which GitHub sends back: a
//! callback is taken only with one this server issued within the hour, and only once,
//! so a link made elsewhere cannot complete the setup.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// As long as GitHub's code is valid.
const VALID_FOR: Duration = Duration::from_secs(3600);
/// The page is open to anyone who reaches it; this bounds what they can make it keep.
const AT_MOST: usize = 1000;

#[derive(Default)]
pub struct States(Mutex<HashMap<String, Instant>>);

impl States {
    /// A new unguessable value.
    pub fn issue(&self) -> String {
        let state = format!("{:032x}", rand::random::<u128>());
        let mut issued = self.0.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, at| at.elapsed() < VALID_FOR);
        if issued.len() >= AT_MOST {
            if let Some(oldest) = issued
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(s, _)| s.clone())
            {
                issued.remove(&oldest);
            }
        }
        issued.insert(state.clone(), Instant::now());
        state
    }

    /// Whether `state` was issued within the hour and not redeemed yet; it is not
    /// valid again.
    pub fn redeem(&self, state: &str) -> bool {
        let mut issued = self.0.lock().unwrap_or_else(|e| e.into_inner());
        issued
            .remove(state)
            .is_some_and(|at| at.elapsed() < VALID_FOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_good_once() {
        let states = States::default();
        let a = states.issue();
        let b = states.issue();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(states.redeem(&a));
        assert!(!states.redeem(&a));
        assert!(!states.redeem("made-up"));
        assert!(states.redeem(&b));
    }

    #[test]
    fn a_state_older_than_an_hour_is_refused() {
        let states = States::default();
        let Some(long_ago) = Instant::now().checked_sub(VALID_FOR) else {
            return; // the clock started less than an hour ago: nothing can be that old
        };
        states.0.lock().unwrap().insert("old".into(), long_ago);
        assert!(!states.redeem("old"));
    }

    #[test]
    fn the_oldest_state_makes_room() {
        let states = States::default();
        let first = states.issue();
        for _ in 0..AT_MOST {
            states.issue();
        }
        assert!(!states.redeem(&first));
        assert_eq!(states.0.lock().unwrap().len(), AT_MOST);
    }
}
