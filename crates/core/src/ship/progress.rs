//! What one round of telemetry readings means for a watch: each metric's line, the
//! breaches in a row that fail it, and when the watch has a verdict.
use super::judge::{Assessment, MetricVerdict};
use super::record::{MetricLine, MetricStatus, ReadingRecord, Stage, Watch};
use crate::policy::config::{MetricSpec, MinSamples};

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
        MetricVerdict::Inconclusive { value, reason } => (
            String::new(),
            *value,
            MetricStatus::Inconclusive,
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

/// Records one round of readings, one per metric of `specs` (same order), taken at
/// `now_ms`. A breaching reading fails its metric only once it is the `failures`-th in
/// a row; until then it is shown as breaching. A healthy reading ends a run of
/// breaches; one that cannot be judged neither ends nor extends it, so telemetry that
/// drops out cannot hide a regression.
pub fn record_round(
    watch: &mut Watch,
    specs: &[MetricSpec],
    round: &[Assessment],
    now_ms: i64,
    rollback: bool,
) {
    let n = specs.len();
    watch.breaches.resize(n, 0);
    watch.conclusive.resize(n, 0);
    watch.checks_done += 1;
    let mut lines = Vec::with_capacity(n);
    for (i, (spec, assessed)) in specs.iter().zip(round).enumerate() {
        let mut line = metric_line(&spec.name, &assessed.verdict);
        match line.status {
            MetricStatus::Healthy => {
                watch.breaches[i] = 0;
                watch.conclusive[i] += 1;
            }
            MetricStatus::Regressed => {
                watch.breaches[i] += 1;
                watch.conclusive[i] += 1;
                let (now, needed) = (watch.breaches[i], spec.failures);
                if now < needed {
                    line.status = MetricStatus::Breaching;
                }
                if needed > 1 {
                    let by = line.detail.take().unwrap_or_default();
                    line.detail = Some(format!("{by}, {now} of {needed} readings in a row"));
                }
            }
            _ => {}
        }
        watch.readings.push(ReadingRecord {
            at_ms: now_ms,
            check: watch.checks_done,
            rollback,
            line: line.clone(),
            limit: assessed.limit,
        });
        lines.push(line);
    }
    let any = |status: MetricStatus| lines.iter().any(|l| l.status == status);
    if any(MetricStatus::Unknown) {
        watch.unknown_checks += 1;
    } else if any(MetricStatus::Inconclusive) {
        watch.inconclusive_checks += 1;
    }
    let excess = watch.readings.len().saturating_sub(Watch::READINGS_KEPT);
    watch.readings.drain(..excess);
    watch.last_check = lines;
}

/// The stage of a ship after a round was recorded at `now_ms`. A failed metric ends the
/// watch at once. When the watch is over it is healthy only if every round read every
/// metric with enough data: unreadable telemetry leaves it not verified, too little
/// data inconclusive, and with no metrics nothing was watched. A breach that awaits
/// confirmation when the watch ends keeps it going until the breach is confirmed or
/// cleared, at most `failures - 1` more intervals.
pub fn after_check(watch: &Watch, specs: &[MetricSpec], now_ms: i64, interval_ms: i64) -> Stage {
    if watch
        .last_check
        .iter()
        .any(|l| l.status == MetricStatus::Regressed)
    {
        return Stage::Regressed;
    }
    if specs.is_empty() || watch.last_check.is_empty() {
        return Stage::Unverified;
    }
    let until = watch.watch_until_ms.unwrap_or(now_ms);
    let pending = specs.iter().enumerate().any(|(i, spec)| {
        let breaches = watch.breaches.get(i).copied().unwrap_or(0);
        breaches > 0 && now_ms < until + i64::from(spec.failures.saturating_sub(1)) * interval_ms
    });
    if now_ms < until || pending {
        return Stage::Watching;
    }
    let too_few_readings = specs
        .iter()
        .enumerate()
        .any(|(i, spec)| match spec.min_samples {
            Some(MinSamples::Readings(needed)) => {
                watch.conclusive.get(i).copied().unwrap_or(0) < needed
            }
            _ => false,
        });
    let unconfirmed = watch.breaches.iter().any(|&b| b > 0);
    if watch.unknown_checks > 0 {
        Stage::Unverified
    } else if watch.inconclusive_checks > 0 || too_few_readings || unconfirmed {
        Stage::Inconclusive
    } else {
        Stage::Healthy
    }
}

/// Whether the latest round shows service restored: every metric read, with enough
/// data, within its bound.
pub fn restored(watch: &Watch) -> bool {
    !watch.last_check.is_empty()
        && watch
            .last_check
            .iter()
            .all(|l| l.status == MetricStatus::Healthy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::Bound;

    fn specs(failures: u32) -> Vec<MetricSpec> {
        let mut spec = MetricSpec::new("error rate", "errors", Bound::Max(0.01));
        spec.failures = failures;
        vec![spec]
    }

    fn reading(value: f64) -> Assessment {
        let verdict = if value <= 0.01 {
            MetricVerdict::Healthy {
                value,
                bound_text: "max 0.01".into(),
            }
        } else {
            MetricVerdict::Regressed {
                value,
                bound_text: "max 0.01".into(),
                by: format!("{value} over max 0.01"),
            }
        };
        Assessment {
            verdict,
            limit: Some(0.01),
        }
    }

    fn unknown() -> Assessment {
        Assessment {
            verdict: MetricVerdict::Unknown {
                reason: "telemetry unreachable: connection refused".into(),
            },
            limit: None,
        }
    }

    fn inconclusive() -> Assessment {
        Assessment {
            verdict: MetricVerdict::Inconclusive {
                value: Some(0.0),
                reason: "3 samples, fewer than the 100 needed".into(),
            },
            limit: None,
        }
    }

    /// A watch of 3 minutes from 0, fed `rounds` a minute apart; the stage after each.
    fn run(specs: &[MetricSpec], rounds: Vec<Assessment>) -> (Watch, Vec<Stage>) {
        let mut watch = Watch {
            watch_until_ms: Some(180_000),
            ..Watch::default()
        };
        let mut stages = Vec::new();
        for (i, r) in rounds.into_iter().enumerate() {
            let now = (i as i64 + 1) * 60_000;
            record_round(&mut watch, specs, &[r], now, false);
            stages.push(after_check(&watch, specs, now, 60_000));
        }
        (watch, stages)
    }

    #[test]
    fn one_spike_does_not_fail_a_metric() {
        let (watch, stages) = run(
            &specs(2),
            vec![reading(0.03), reading(0.002), reading(0.002)],
        );
        assert_eq!(stages, [Stage::Watching, Stage::Watching, Stage::Healthy]);
        assert_eq!(watch.readings[0].line.status, MetricStatus::Breaching);
        assert_eq!(
            watch.readings[0].line.detail.as_deref(),
            Some("0.03 over max 0.01, 1 of 2 readings in a row")
        );
    }

    #[test]
    fn failures_in_a_row_fail_it_at_once() {
        let (watch, stages) = run(&specs(2), vec![reading(0.03), reading(0.04)]);
        assert_eq!(stages, [Stage::Watching, Stage::Regressed]);
        assert_eq!(watch.last_check[0].status, MetricStatus::Regressed);
        // With `failures: 1`, the first breach fails it, and says nothing of a run.
        let (watch, stages) = run(&specs(1), vec![reading(0.03)]);
        assert_eq!(stages, [Stage::Regressed]);
        assert_eq!(
            watch.last_check[0].detail.as_deref(),
            Some("0.03 over max 0.01")
        );
    }

    #[test]
    fn an_unreadable_reading_neither_ends_nor_extends_a_run() {
        let (_, stages) = run(&specs(2), vec![reading(0.03), unknown(), reading(0.04)]);
        assert_eq!(stages, [Stage::Watching, Stage::Watching, Stage::Regressed]);
    }

    #[test]
    fn a_breach_at_the_end_of_the_watch_is_confirmed_or_cleared_first() {
        let (_, stages) = run(
            &specs(2),
            vec![
                reading(0.002),
                reading(0.002),
                reading(0.03),
                reading(0.002),
            ],
        );
        assert_eq!(
            stages,
            [
                Stage::Watching,
                Stage::Watching,
                Stage::Watching,
                Stage::Healthy
            ]
        );
        let (_, stages) = run(
            &specs(2),
            vec![reading(0.002), reading(0.002), reading(0.03), reading(0.03)],
        );
        assert_eq!(stages[3], Stage::Regressed);
    }

    #[test]
    fn too_little_data_is_inconclusive_never_healthy() {
        let (watch, stages) = run(&specs(2), vec![reading(0.0), inconclusive(), reading(0.0)]);
        assert_eq!(stages[2], Stage::Inconclusive);
        assert_eq!(watch.inconclusive_checks, 1);
        // Too few readings with a value over the watch, by count.
        let mut few = specs(2);
        few[0].min_samples = Some(MinSamples::Readings(3));
        let (_, stages) = run(&few, vec![reading(0.0), unknown(), reading(0.0)]);
        assert_eq!(stages[2], Stage::Unverified);
        let (_, stages) = run(&few, vec![reading(0.0), reading(0.0), reading(0.0)]);
        assert_eq!(stages[2], Stage::Healthy);
    }

    #[test]
    fn unreadable_telemetry_is_not_verified_and_nothing_to_watch_is_neither() {
        let (_, stages) = run(&specs(2), vec![unknown(), reading(0.0), reading(0.0)]);
        assert_eq!(stages[2], Stage::Unverified);
        let watch = Watch::default();
        assert_eq!(after_check(&watch, &[], 0, 60_000), Stage::Unverified);
    }

    #[test]
    fn restored_only_when_every_metric_reads_healthy() {
        let (watch, _) = run(&specs(2), vec![reading(0.03)]);
        assert!(!restored(&watch));
        let (watch, _) = run(&specs(2), vec![reading(0.03), reading(0.002)]);
        assert!(restored(&watch));
        let (watch, _) = run(&specs(2), vec![inconclusive()]);
        assert!(!restored(&watch));
        assert!(!restored(&Watch::default()));
    }

    #[test]
    fn only_the_latest_readings_are_kept() {
        let mut watch = Watch::default();
        for i in 0..Watch::READINGS_KEPT + 3 {
            record_round(&mut watch, &specs(2), &[reading(0.0)], i as i64, false);
        }
        assert_eq!(watch.readings.len(), Watch::READINGS_KEPT);
        assert_eq!(watch.readings[0].check, 4);
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
