//! What one telemetry check means for a ship: keep watching, or the verdict.
use super::judge::MetricVerdict;
use super::record::{MetricLine, MetricStatus, Stage};

/// A metric's verdict as the shipping comment shows it.
pub fn metric_line(name: &str, verdict: &MetricVerdict) -> MetricLine {
    let (bound, value, status, detail) = match verdict {
        MetricVerdict::Healthy { value, bound_text } => (
            bound_text.clone(),
            Some(*value),
            MetricStatus::Healthy,
            None,
        ),
        MetricVerdict::Regressed {
            value,
            bound_text,
            by,
        } => (
            bound_text.clone(),
            Some(*value),
            MetricStatus::Regressed,
            Some(by.clone()),
        ),
        MetricVerdict::Unknown { reason } => (
            String::new(),
            None,
            MetricStatus::Unknown,
            Some(reason.clone()),
        ),
    };
    MetricLine {
        name: name.to_owned(),
        bound,
        value,
        status,
        detail,
    }
}

/// The stage after a check. Any regressed metric ends the watch at once. When the watch
/// is over, it was healthy only if every check read every metric: telemetry that could
/// not be read never counts as healthy, and with no metrics nothing was watched.
pub fn after_check(check: &[MetricLine], unknown_checks: u32, watch_over: bool) -> Stage {
    if check.iter().any(|l| l.status == MetricStatus::Regressed) {
        Stage::Regressed
    } else if check.is_empty() {
        Stage::Unverified
    } else if !watch_over {
        Stage::Watching
    } else if unknown_checks == 0 {
        Stage::Healthy
    } else {
        Stage::Unverified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(status: MetricStatus) -> MetricLine {
        MetricLine {
            name: "m".into(),
            bound: "max 1".into(),
            value: Some(0.5),
            status,
            detail: None,
        }
    }

    #[test]
    fn a_regression_ends_the_watch_at_once() {
        let check = [line(MetricStatus::Healthy), line(MetricStatus::Regressed)];
        assert_eq!(after_check(&check, 0, false), Stage::Regressed);
    }

    #[test]
    fn healthy_only_when_the_watch_is_over_and_every_check_could_read() {
        let check = [line(MetricStatus::Healthy)];
        assert_eq!(after_check(&check, 0, false), Stage::Watching);
        assert_eq!(after_check(&check, 0, true), Stage::Healthy);
        assert_eq!(after_check(&check, 1, true), Stage::Unverified);
    }

    #[test]
    fn unknown_readings_keep_watching_then_are_not_verified() {
        let check = [line(MetricStatus::Unknown)];
        assert_eq!(after_check(&check, 1, false), Stage::Watching);
        assert_eq!(after_check(&check, 2, true), Stage::Unverified);
    }

    #[test]
    fn nothing_to_watch_is_not_verified() {
        assert_eq!(after_check(&[], 0, true), Stage::Unverified);
        assert_eq!(after_check(&[], 0, false), Stage::Unverified);
    }

    #[test]
    fn verdicts_become_lines() {
        let l = metric_line(
            "error rate",
            &MetricVerdict::Regressed {
                value: 0.034,
                bound_text: "max 0.01".into(),
                by: "3.4×".into(),
            },
        );
        assert_eq!(l.status, MetricStatus::Regressed);
        assert_eq!((l.value, l.detail.as_deref()), (Some(0.034), Some("3.4×")));
    }
}
