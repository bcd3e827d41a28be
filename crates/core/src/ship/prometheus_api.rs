//! Prometheus' HTTP API (`GET /api/v1/query`) in pure terms: the query and time a
//! reading asks for, and the [`Reading`] its answer comes down to. The client that
//! sends them lives with the adapters.
//!
//! Every answer is turned into a reading the judge can state, never an error to
//! propagate: a failing server is something to tell the user, and it is never healthy.

use super::judge::Reading;
use http::StatusCode;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;

/// The query that reads the metric's value before a deploy: `query` averaged over the
/// `window` that ends at the evaluation time, as `avg_over_time((query)[window:])`. An
/// average, not the value at one instant, so that one spike or dip just before the deploy
/// does not set the bar. The subquery's step is the server's evaluation interval. A window
/// under a second is `query` itself.
pub fn baseline_query(query: &str, window: Duration) -> String {
    if window.as_secs() == 0 {
        return query.to_owned();
    }
    format!("avg_over_time(({query})[{}s:])", window.as_secs())
}

/// Prometheus takes fractional Unix seconds; milliseconds are plenty.
pub fn unix_seconds(at: OffsetDateTime) -> String {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    format!("{sign}{}.{:03}", millis / 1000, millis % 1000)
}

/// What an answer with `status` and `body` says. It must come down to one number: an
/// empty answer is [`Reading::NoData`], several series are [`Reading::Invalid`] (picking
/// one, or combining them, is the query's job: `sum`, `max`, `avg`).
pub fn reading(status: StatusCode, body: &[u8]) -> Reading {
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        return Reading::Unreachable(if status.is_success() {
            format!("HTTP {status}: the answer is not from the Prometheus API")
        } else {
            format!("HTTP {status}")
        });
    };
    match answer {
        Answer::Success { data } => data.reading(),
        Answer::Error { error_type, error } => {
            let reason = format!("Prometheus refused the query ({error_type}): {error}");
            // 5xx: the server is overloaded or timed out, not the query's fault.
            if status.is_server_error() {
                Reading::Unreachable(reason)
            } else {
                Reading::Invalid(reason)
            }
        }
    }
}

/// The API's envelope: `{"status": "success", "data": ...}` or an error with its type.
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Answer {
    Success {
        data: Data,
    },
    Error {
        #[serde(rename = "errorType")]
        error_type: String,
        error: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Series>),
    Scalar(Sample),
    Matrix(IgnoredAny),
    String(IgnoredAny),
}

#[derive(Deserialize)]
struct Series {
    value: Sample,
}

/// `[<unix seconds>, "<value>"]`: values are strings so that NaN and ±Inf survive JSON.
#[derive(Deserialize)]
struct Sample(IgnoredAny, String);

impl Data {
    fn reading(self) -> Reading {
        match self {
            Data::Scalar(sample) => sample.reading(),
            Data::Vector(series) => match <[Series; 1]>::try_from(series) {
                Ok([one]) => one.value.reading(),
                Err(series) if series.is_empty() => Reading::NoData,
                Err(series) => Reading::Invalid(format!(
                    "the query returned {} series; it must return one (aggregate with sum, max or avg)",
                    series.len()
                )),
            },
            Data::Matrix(_) => {
                Reading::Invalid("the query returned a range vector; it must return one number".into())
            }
            Data::String(_) => {
                Reading::Invalid("the query returned a string; it must return one number".into())
            }
        }
    }
}

impl Sample {
    fn reading(self) -> Reading {
        // Rust reads Prometheus' `NaN`, `+Inf` and `-Inf` as they are.
        match self.1.parse() {
            Ok(value) => Reading::Value(value),
            Err(_) => Reading::Invalid(format!("the sample value `{}` is not a number", self.1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_sent_as_unix_seconds_with_milliseconds() {
        assert_eq!(
            unix_seconds(datetime!(2023-11-14 22:13:20.0059 UTC)),
            "1700000000.005"
        );
        assert_eq!(unix_seconds(datetime!(1969-12-31 23:59:59.5 UTC)), "-0.500");
    }
}
