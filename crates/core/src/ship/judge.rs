//! Judges one metric reading against its bound, and a round of verdicts as a whole.
//! Pure: the readings come from [`super::prometheus_api`].
//!
//! Anything that cannot be measured is [`MetricVerdict::Unknown`], never healthy: a deploy
//! that took the telemetry down with it must not pass its watch.

use crate::policy::config::{Bound, MetricSpec, MinSamples};

/// What the telemetry server said about one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Exactly one sample. May be NaN or infinite as Prometheus reports it; judged as no data.
    Value(f64),
    /// The query matched no series.
    NoData,
    /// The server could not be asked: connection refused, timeout, a 5xx, not a Prometheus API.
    Unreachable(String),
    /// The server answered, but not with one number: a bad query, several series.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricVerdict {
    Healthy {
        value: f64,
        /// The bound as the user reads it: `max 0.01`, `at most 1.5× the pre-deploy 0.12`.
        bound_text: String,
    },
    Regressed {
        value: f64,
        bound_text: String,
        /// How far over: `0.034 over max 0.01 (3.4×)`, `2.1× the pre-deploy 0.12 (max 1.5×)`.
        by: String,
    },
    Unknown {
        reason: String,
    },
    /// Read, but resting on too little data: never healthy.
    Inconclusive {
        value: Option<f64>,
        reason: String,
    },
}

/// Everything one reading of a metric rests on, as the telemetry server answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub current: Reading,
    /// The metric's average over the window before the deploy.
    pub pre_deploy: Option<f64>,
    /// The metric's `baseline` query, read at the same time.
    pub beside: Option<Reading>,
    /// The metric's `min_samples.query`, read at the same time.
    pub samples: Option<Reading>,
}

/// A reading judged, with the bound as a number where it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub verdict: MetricVerdict,
    pub limit: Option<f64>,
}

/// Judges one reading with everything the metric asks for: too few samples make it
/// inconclusive whatever its value; with a `baseline` query, `max_increase` is relative
/// to that series now rather than to the pre-deploy window.
pub fn assess(spec: &MetricSpec, inputs: Inputs) -> Assessment {
    let value = match &inputs.current {
        Reading::Value(v) if v.is_finite() => Some(*v),
        _ => None,
    };
    if let (Some(MinSamples::Query { count, .. }), Some(samples)) =
        (&spec.min_samples, &inputs.samples)
    {
        let short = |reason: String| Assessment {
            verdict: MetricVerdict::Inconclusive { value, reason },
            limit: None,
        };
        match samples {
            Reading::Value(n) if n.is_finite() && n >= count => {}
            Reading::Value(n) if n.is_finite() => {
                return short(format!(
                    "{} samples, fewer than the {} needed",
                    number(*n),
                    number(*count)
                ))
            }
            Reading::Value(_) | Reading::NoData => {
                return short("the samples query returned no data".into())
            }
            Reading::Unreachable(reason) => {
                return Assessment {
                    verdict: unknown(format!("telemetry unreachable: {reason}")),
                    limit: None,
                }
            }
            Reading::Invalid(reason) => {
                return Assessment {
                    verdict: unknown(format!("min_samples.query: {reason}")),
                    limit: None,
                }
            }
        }
    }
    let (baseline, what) = match (&spec.baseline, inputs.beside) {
        (Some(_), Some(Reading::Value(v))) if v.is_finite() => (Some(v), "baseline"),
        (Some(_), Some(Reading::Unreachable(reason))) => {
            return Assessment {
                verdict: unknown(format!("telemetry unreachable: {reason}")),
                limit: None,
            }
        }
        (Some(_), Some(Reading::Invalid(reason))) => {
            return Assessment {
                verdict: unknown(format!("baseline: {reason}")),
                limit: None,
            }
        }
        // The series to compare with is gone (no previous version running): too little
        // data, not a failure to read.
        (Some(_), _) => {
            return Assessment {
                verdict: MetricVerdict::Inconclusive {
                    value,
                    reason: "the baseline query returned no data".into(),
                },
                limit: None,
            }
        }
        (None, _) => (inputs.pre_deploy, "pre-deploy"),
    };
    let limit = match spec.bound {
        Bound::Max(v) | Bound::Min(v) => Some(v),
        Bound::MaxIncrease(f) => baseline.filter(|b| b.is_finite()).map(|b| f * b),
    };
    Assessment {
        verdict: judge_against(spec, baseline, what, inputs.current),
        limit,
    }
}

/// The state of the deploy after one round of readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    Healthy,
    Regressed,
    /// Some metric could not be judged, and none regressed.
    Unknown,
    /// No metrics are configured: nothing was watched, so nothing can be said.
    NotWatched,
}

/// Judges `current` against `spec`'s bound. `baseline` is the metric's pre-deploy value,
/// needed only by [`Bound::MaxIncrease`]; a non-finite baseline counts as missing.
///
/// Values exactly on a bound are healthy. For `max_increase`, the allowed value is
/// `factor × baseline`: a pre-deploy value of 0 therefore allows only 0 after the deploy
/// (a ratio to zero has no meaning, and zero errors turning into some errors is what the bound
/// is there to catch; use `max` for metrics that are zero in normal times). A negative
/// baseline makes a factor meaningless and is judged unknown.
pub fn judge(spec: &MetricSpec, baseline: Option<f64>, current: Reading) -> MetricVerdict {
    judge_against(spec, baseline, "pre-deploy", current)
}

/// [`judge`], with `what` naming the value `max_increase` compares with.
fn judge_against(
    spec: &MetricSpec,
    baseline: Option<f64>,
    what: &str,
    current: Reading,
) -> MetricVerdict {
    let value = match current {
        Reading::Value(v) if v.is_finite() => v,
        Reading::Value(v) => {
            return unknown(format!(
                "the query returned {}, not a number",
                prometheus_text(v)
            ))
        }
        Reading::NoData => return unknown("the query returned no data"),
        Reading::Unreachable(reason) => return unknown(format!("telemetry unreachable: {reason}")),
        Reading::Invalid(reason) => return unknown(reason),
    };
    match spec.bound {
        Bound::Max(max) => {
            let bound_text = format!("max {max}");
            if value <= max {
                return MetricVerdict::Healthy { value, bound_text };
            }
            let by = format!(
                "{} over max {max}{}",
                number_apart(value, max),
                ratio_note(value, max)
            );
            MetricVerdict::Regressed {
                value,
                bound_text,
                by,
            }
        }
        Bound::Min(min) => {
            let bound_text = format!("min {min}");
            if value >= min {
                return MetricVerdict::Healthy { value, bound_text };
            }
            let by = format!(
                "{} under min {min}{}",
                number(value),
                ratio_note(value, min)
            );
            MetricVerdict::Regressed {
                value,
                bound_text,
                by,
            }
        }
        Bound::MaxIncrease(factor) => {
            let Some(baseline) = baseline.filter(|b| b.is_finite()) else {
                return unknown(format!("no {what} value to compare with"));
            };
            if baseline < 0.0 {
                return unknown(format!(
                    "the {what} value {} is negative, so a factor of it means nothing",
                    number(baseline)
                ));
            }
            let bound_text = format!("at most {factor}× the {what} {}", number(baseline));
            if value <= factor * baseline {
                return MetricVerdict::Healthy { value, bound_text };
            }
            let by = if baseline == 0.0 {
                format!("{} where the {what} value was 0", number(value))
            } else {
                format!(
                    "{}× the {what} {} (max {factor}×)",
                    ratio(value / baseline),
                    number(baseline)
                )
            };
            MetricVerdict::Regressed {
                value,
                bound_text,
                by,
            }
        }
    }
}

/// Any regression outweighs everything; then anything unknown or inconclusive; an empty
/// round was not watched.
pub fn overall(verdicts: &[MetricVerdict]) -> Overall {
    let any = |f: fn(&MetricVerdict) -> bool| verdicts.iter().any(f);
    if verdicts.is_empty() {
        Overall::NotWatched
    } else if any(|v| matches!(v, MetricVerdict::Regressed { .. })) {
        Overall::Regressed
    } else if any(|v| {
        matches!(
            v,
            MetricVerdict::Unknown { .. } | MetricVerdict::Inconclusive { .. }
        )
    }) {
        Overall::Unknown
    } else {
        Overall::Healthy
    }
}

fn unknown(reason: impl Into<String>) -> MetricVerdict {
    MetricVerdict::Unknown {
        reason: reason.into(),
    }
}

/// ` (3.4×)` when both numbers are positive, so the factor reads as a size; nothing otherwise.
fn ratio_note(value: f64, bound: f64) -> String {
    if value > 0.0 && bound > 0.0 {
        format!(" ({}×)", ratio(value / bound))
    } else {
        String::new()
    }
}

/// A factor to one decimal: `3.4`, `12.0`.
fn ratio(factor: f64) -> String {
    format!("{factor:.1}")
}

/// A measured value for people: three significant digits, whole numbers from 1000 on.
pub fn number(value: f64) -> String {
    significant(value, 3)
}

/// [`number`], with as many more digits as it takes not to read as the bound it crossed.
fn number_apart(value: f64, bound: f64) -> String {
    (3..=17)
        .map(|digits| significant(value, digits))
        .find(|text| text.parse::<f64>().ok() != Some(bound))
        .unwrap_or_else(|| value.to_string())
}

fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 17) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// NaN and infinities as Prometheus writes them.
fn prometheus_text(value: f64) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bound: Bound) -> MetricSpec {
        MetricSpec::new("error rate", "errors", bound)
    }

    fn inputs(current: f64) -> Inputs {
        Inputs {
            current: Reading::Value(current),
            pre_deploy: Some(0.1),
            beside: None,
            samples: None,
        }
    }

    #[test]
    fn too_few_samples_are_inconclusive_whatever_the_value() {
        let mut s = spec(Bound::Max(0.01));
        s.min_samples = Some(MinSamples::Query {
            query: "requests".into(),
            count: 100.0,
        });
        let few = Inputs {
            samples: Some(Reading::Value(12.0)),
            ..inputs(0.0)
        };
        assert_eq!(
            assess(&s, few).verdict,
            MetricVerdict::Inconclusive {
                value: Some(0.0),
                reason: "12 samples, fewer than the 100 needed".into()
            }
        );
        let none = Inputs {
            samples: Some(Reading::NoData),
            ..inputs(0.5)
        };
        assert!(matches!(
            assess(&s, none).verdict,
            MetricVerdict::Inconclusive { .. }
        ));
        let enough = Inputs {
            samples: Some(Reading::Value(100.0)),
            ..inputs(0.5)
        };
        let judged = assess(&s, enough);
        assert!(matches!(judged.verdict, MetricVerdict::Regressed { .. }));
        assert_eq!(judged.limit, Some(0.01));
        let down = Inputs {
            samples: Some(Reading::Unreachable("connection refused".into())),
            ..inputs(0.0)
        };
        assert_eq!(
            assess(&s, down).verdict,
            unknown("telemetry unreachable: connection refused")
        );
    }

    #[test]
    fn a_baseline_series_replaces_the_pre_deploy_window() {
        let mut s = spec(Bound::MaxIncrease(1.5));
        s.baseline = Some("errors{version=\"old\"}".into());
        let beside = |b: Reading| Inputs {
            beside: Some(b),
            ..inputs(0.3)
        };
        let judged = assess(&s, beside(Reading::Value(0.1)));
        assert_eq!(
            judged.verdict,
            regressed(
                0.3,
                "at most 1.5× the baseline 0.1",
                "3.0× the baseline 0.1 (max 1.5×)"
            )
        );
        assert!((judged.limit.unwrap() - 0.15).abs() < 1e-12);
        assert_eq!(
            assess(&s, beside(Reading::Value(0.25))).verdict,
            healthy(0.3, "at most 1.5× the baseline 0.25")
        );
        assert_eq!(
            assess(&s, beside(Reading::NoData)).verdict,
            MetricVerdict::Inconclusive {
                value: Some(0.3),
                reason: "the baseline query returned no data".into()
            }
        );
        // Without a baseline query, the pre-deploy value is the one compared with.
        let plain = spec(Bound::MaxIncrease(1.5));
        assert_eq!(
            assess(&plain, inputs(0.3)).verdict,
            regressed(
                0.3,
                "at most 1.5× the pre-deploy 0.1",
                "3.0× the pre-deploy 0.1 (max 1.5×)"
            )
        );
    }

    fn healthy(value: f64, bound_text: &str) -> MetricVerdict {
        MetricVerdict::Healthy {
            value,
            bound_text: bound_text.into(),
        }
    }

    fn regressed(value: f64, bound_text: &str, by: &str) -> MetricVerdict {
        MetricVerdict::Regressed {
            value,
            bound_text: bound_text.into(),
            by: by.into(),
        }
    }

    fn unknown(reason: &str) -> MetricVerdict {
        MetricVerdict::Unknown {
            reason: reason.into(),
        }
    }

    #[test]
    fn max_is_healthy_up_to_and_on_the_bound() {
        let s = spec(Bound::Max(0.01));
        assert_eq!(
            judge(&s, None, Reading::Value(0.004)),
            healthy(0.004, "max 0.01")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(0.01)),
            healthy(0.01, "max 0.01")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(0.0)),
            healthy(0.0, "max 0.01")
        );
    }

    #[test]
    fn max_regresses_above_the_bound_and_says_by_how_much() {
        let s = spec(Bound::Max(0.01));
        assert_eq!(
            judge(&s, None, Reading::Value(0.034)),
            regressed(0.034, "max 0.01", "0.034 over max 0.01 (3.4×)")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(0.010_01)),
            regressed(0.010_01, "max 0.01", "0.01001 over max 0.01 (1.0×)")
        );
        // A bound of zero has no factor to speak of.
        assert_eq!(
            judge(&spec(Bound::Max(0.0)), None, Reading::Value(2.0)),
            regressed(2.0, "max 0", "2 over max 0")
        );
    }

    #[test]
    fn min_is_healthy_down_to_the_bound_and_regresses_below() {
        let s = spec(Bound::Min(0.99));
        assert_eq!(
            judge(&s, None, Reading::Value(0.99)),
            healthy(0.99, "min 0.99")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(1.0)),
            healthy(1.0, "min 0.99")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(0.5)),
            regressed(0.5, "min 0.99", "0.5 under min 0.99 (0.5×)")
        );
        assert_eq!(
            judge(&s, None, Reading::Value(-1.0)),
            regressed(-1.0, "min 0.99", "-1 under min 0.99")
        );
    }

    #[test]
    fn max_increase_compares_with_the_pre_deploy_value() {
        let s = spec(Bound::MaxIncrease(1.5));
        let bound = "at most 1.5× the pre-deploy 0.12";
        assert_eq!(
            judge(&s, Some(0.12), Reading::Value(0.15)),
            healthy(0.15, bound)
        );
        // Exactly on the bound.
        assert_eq!(
            judge(&s, Some(0.5), Reading::Value(0.75)),
            healthy(0.75, "at most 1.5× the pre-deploy 0.5")
        );
        assert_eq!(
            judge(&s, Some(0.12), Reading::Value(0.1)),
            healthy(0.1, bound)
        );
        assert_eq!(
            judge(&s, Some(0.12), Reading::Value(0.252)),
            regressed(0.252, bound, "2.1× the pre-deploy 0.12 (max 1.5×)")
        );
    }

    #[test]
    fn max_increase_over_a_zero_baseline_allows_only_zero() {
        let s = spec(Bound::MaxIncrease(2.0));
        let bound = "at most 2× the pre-deploy 0";
        assert_eq!(
            judge(&s, Some(0.0), Reading::Value(0.0)),
            healthy(0.0, bound)
        );
        assert_eq!(
            judge(&s, Some(0.0), Reading::Value(0.003)),
            regressed(0.003, bound, "0.003 where the pre-deploy value was 0")
        );
    }

    #[test]
    fn max_increase_without_a_usable_baseline_is_unknown() {
        let s = spec(Bound::MaxIncrease(1.5));
        let missing = unknown("no pre-deploy value to compare with");
        assert_eq!(judge(&s, None, Reading::Value(0.1)), missing);
        assert_eq!(judge(&s, Some(f64::NAN), Reading::Value(0.1)), missing);
        assert_eq!(judge(&s, Some(f64::INFINITY), Reading::Value(0.1)), missing);
        assert_eq!(
            judge(&s, Some(-2.0), Reading::Value(0.1)),
            unknown("the pre-deploy value -2 is negative, so a factor of it means nothing")
        );
    }

    #[test]
    fn readings_that_are_not_numbers_are_unknown_never_healthy() {
        for bound in [Bound::Max(1.0), Bound::Min(0.0), Bound::MaxIncrease(1.5)] {
            let s = spec(bound);
            let b = Some(1.0);
            assert_eq!(
                judge(&s, b, Reading::Value(f64::NAN)),
                unknown("the query returned NaN, not a number")
            );
            assert_eq!(
                judge(&s, b, Reading::Value(f64::INFINITY)),
                unknown("the query returned +Inf, not a number")
            );
            assert_eq!(
                judge(&s, b, Reading::Value(f64::NEG_INFINITY)),
                unknown("the query returned -Inf, not a number")
            );
            assert_eq!(
                judge(&s, b, Reading::NoData),
                unknown("the query returned no data")
            );
            assert_eq!(
                judge(&s, b, Reading::Unreachable("connection refused".into())),
                unknown("telemetry unreachable: connection refused")
            );
            assert_eq!(
                judge(
                    &s,
                    b,
                    Reading::Invalid("the query returned 3 series".into())
                ),
                unknown("the query returned 3 series")
            );
        }
    }

    #[test]
    fn numbers_read_with_three_significant_digits() {
        for (value, text) in [
            (0.0, "0"),
            (0.034_12, "0.0341"),
            (0.12, "0.12"),
            (1.0, "1"),
            (12.345, "12.3"),
            (123.456, "123"),
            (98_765.4, "98765"),
            (-0.5, "-0.5"),
            (0.000_012_34, "0.0000123"),
        ] {
            assert_eq!(number(value), text, "{value}");
        }
    }

    #[test]
    fn overall_ranks_regressed_over_unknown_over_healthy() {
        let ok = healthy(1.0, "max 2");
        let bad = regressed(3.0, "max 2", "3 over max 2 (1.5×)");
        let unsure = unknown("the query returned no data");
        assert_eq!(overall(&[]), Overall::NotWatched);
        assert_eq!(overall(std::slice::from_ref(&ok)), Overall::Healthy);
        assert_eq!(overall(&[ok.clone(), ok.clone()]), Overall::Healthy);
        assert_eq!(overall(&[ok.clone(), unsure.clone()]), Overall::Unknown);
        assert_eq!(overall(std::slice::from_ref(&unsure)), Overall::Unknown);
        assert_eq!(overall(&[ok.clone(), bad.clone()]), Overall::Regressed);
        assert_eq!(overall(&[unsure, bad.clone(), ok]), Overall::Regressed);
        assert_eq!(overall(&[bad]), Overall::Regressed);
    }
}
