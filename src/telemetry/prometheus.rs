//! Reads production telemetry from Prometheus' HTTP API (`GET /api/v1/query`).
//!
//! What is asked and how the answer reads is pure ([`crate::ship::prometheus_api`]); this
//! is the HTTP around it. A request that gets no answer is a [`Reading::Unreachable`],
//! never an error to propagate: it is something to tell the user, and it is never healthy.

use crate::ship::judge::Reading;
use crate::ship::prometheus_api::{self, baseline_query, unix_seconds};
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

/// A Prometheus server, as the server configuration names it.
#[derive(Debug, Clone)]
pub struct Prometheus {
    query_url: Url,
    http: reqwest::Client,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("the Prometheus URL `{0}` cannot have an API path under it")]
    NotABase(Url),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl Prometheus {
    /// Long enough for a heavy query, short enough that a hung server is reported
    /// well within one watch interval.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// A client for the server at `base`; a path in it (`https://host/prometheus/`) is kept.
    pub fn new(base: Url) -> Result<Self, TelemetryError> {
        Self::with_timeout(base, Self::TIMEOUT)
    }

    pub fn with_timeout(base: Url, timeout: Duration) -> Result<Self, TelemetryError> {
        let mut query_url = base.clone();
        query_url
            .path_segments_mut()
            .map_err(|()| TelemetryError::NotABase(base))?
            .pop_if_empty()
            .extend(["api", "v1", "query"]);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("smallbatch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            query_url,
            http,
            timeout,
        })
    }

    /// `query` evaluated at `at` (the server's now when `None`), read as
    /// [`prometheus_api::reading`] says.
    pub async fn instant(&self, query: &str, at: Option<OffsetDateTime>) -> Reading {
        let mut params = vec![("query", query.to_owned())];
        if let Some(at) = at {
            params.push(("time", unix_seconds(at)));
        }
        let response = match self
            .http
            .get(self.query_url.clone())
            .query(&params)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => return Reading::Unreachable(self.transport_reason(&err)),
        };
        let status = response.status();
        match response.bytes().await {
            Ok(body) => prometheus_api::reading(status, &body),
            Err(err) => Reading::Unreachable(self.transport_reason(&err)),
        }
    }

    /// The metric's value before a deploy: [`baseline_query`] evaluated at `before`.
    pub async fn baseline(&self, query: &str, before: OffsetDateTime, window: Duration) -> Reading {
        self.instant(&baseline_query(query, window), Some(before))
            .await
    }

    /// Why the request got no answer, without the URL: the reason may reach a PR comment
    /// and the server's address is the operator's business.
    fn transport_reason(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            return format!("no answer within {:?}", self.timeout);
        }
        let mut cause: &dyn std::error::Error = err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        if err.is_connect() {
            format!("cannot connect: {cause}")
        } else {
            format!("request failed: {cause}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn vector(values: &[&str]) -> serde_json::Value {
        let result: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"metric": {"instance": format!("web-{i}")}, "value": [1_700_000_000.5, v]}))
            .collect();
        json!({"status": "success", "data": {"resultType": "vector", "result": result}})
    }

    /// The reading of `query` from a server that answers it with `response`.
    async fn read(response: ResponseTemplate) -> Reading {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .and(query_param("query", "errors"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let prometheus = Prometheus::new(server.uri().parse().unwrap()).unwrap();
        prometheus.instant("errors", None).await
    }

    fn json_answer(status: u16, body: serde_json::Value) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(body)
    }

    #[tokio::test]
    async fn one_sample_is_its_value_at_the_asked_time() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/prom/api/v1/query"))
            .and(query_param("query", r#"sum(rate(x{code=~"5.."}[5m]))"#))
            .and(query_param("time", "1700000000.250"))
            .respond_with(json_answer(200, vector(&["0.034"])))
            .expect(1)
            .mount(&server)
            .await;
        let base = format!("{}/prom/", server.uri()).parse().unwrap();
        let prometheus = Prometheus::new(base).unwrap();
        let at = datetime!(2023-11-14 22:13:20.25 UTC);
        assert_eq!(
            prometheus
                .instant(r#"sum(rate(x{code=~"5.."}[5m]))"#, Some(at))
                .await,
            Reading::Value(0.034)
        );
    }

    #[tokio::test]
    async fn answer_shapes_become_readings() {
        assert_eq!(read(json_answer(200, vector(&[]))).await, Reading::NoData);
        assert_eq!(
            read(json_answer(200, vector(&["1", "2", "3"]))).await,
            Reading::Invalid(
                "the query returned 3 series; it must return one (aggregate with sum, max or avg)"
                    .into()
            )
        );
        let scalar = json!({"status": "success", "data": {"resultType": "scalar", "result": [1_700_000_000, "4.5"]}});
        assert_eq!(read(json_answer(200, scalar)).await, Reading::Value(4.5));
        let matrix = json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1_700_000_000, "1"], [1_700_000_001, "2"]]}
        ]}});
        assert_eq!(
            read(json_answer(200, matrix)).await,
            Reading::Invalid("the query returned a range vector; it must return one number".into())
        );
        let string = json!({"status": "success", "data": {"resultType": "string", "result": [1_700_000_000, "hi"]}});
        assert_eq!(
            read(json_answer(200, string)).await,
            Reading::Invalid("the query returned a string; it must return one number".into())
        );
        assert_eq!(
            read(json_answer(200, vector(&["lots"]))).await,
            Reading::Invalid("the sample value `lots` is not a number".into())
        );
    }

    #[tokio::test]
    async fn nan_and_infinities_are_read_as_prometheus_writes_them() {
        assert!(
            matches!(read(json_answer(200, vector(&["NaN"]))).await, Reading::Value(v) if v.is_nan())
        );
        assert_eq!(
            read(json_answer(200, vector(&["+Inf"]))).await,
            Reading::Value(f64::INFINITY)
        );
        assert_eq!(
            read(json_answer(200, vector(&["-Inf"]))).await,
            Reading::Value(f64::NEG_INFINITY)
        );
    }

    #[tokio::test]
    async fn a_refused_query_is_invalid_and_a_failing_server_unreachable() {
        let bad = json!({"status": "error", "errorType": "bad_data", "error": "1:7: parse error: unexpected end of input"});
        assert_eq!(
            read(json_answer(400, bad)).await,
            Reading::Invalid(
                "Prometheus refused the query (bad_data): 1:7: parse error: unexpected end of input"
                    .into()
            )
        );
        let timeout = json!({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"});
        assert_eq!(
            read(json_answer(503, timeout)).await,
            Reading::Unreachable(
                "Prometheus refused the query (timeout): query timed out in expression evaluation"
                    .into()
            )
        );
        let html = ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>");
        assert_eq!(
            read(html).await,
            Reading::Unreachable("HTTP 502 Bad Gateway".into())
        );
        let not_prometheus = ResponseTemplate::new(200).set_body_string("<html>Grafana</html>");
        assert_eq!(
            read(not_prometheus).await,
            Reading::Unreachable("HTTP 200 OK: the answer is not from the Prometheus API".into())
        );
    }

    #[tokio::test]
    async fn a_silent_server_is_unreachable_after_the_timeout() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json_answer(200, vector(&["1"])).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let prometheus =
            Prometheus::with_timeout(server.uri().parse().unwrap(), Duration::from_millis(200))
                .unwrap();
        assert_eq!(
            prometheus.instant("errors", None).await,
            Reading::Unreachable("no answer within 200ms".into())
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_without_naming_the_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let base = format!("http://127.0.0.1:{port}").parse().unwrap();
        let Reading::Unreachable(reason) = Prometheus::new(base).unwrap().instant("up", None).await
        else {
            panic!("expected unreachable");
        };
        assert!(
            reason.starts_with("cannot connect: Connection refused"),
            "{reason}"
        );
        assert!(!reason.contains("127.0.0.1"), "{reason}");
    }

    #[tokio::test]
    async fn the_baseline_averages_the_window_before_the_deploy() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .and(query_param("query", "avg_over_time((rate(x[5m]))[900s:])"))
            .and(query_param("time", "1700000000.000"))
            .respond_with(json_answer(200, vector(&["0.12"])))
            .expect(1)
            .mount(&server)
            .await;
        let prometheus = Prometheus::new(server.uri().parse().unwrap()).unwrap();
        let before = datetime!(2023-11-14 22:13:20 UTC);
        assert_eq!(
            prometheus
                .baseline("rate(x[5m])", before, Duration::from_secs(900))
                .await,
            Reading::Value(0.12)
        );
    }

    #[test]
    fn a_url_that_cannot_take_a_path_is_refused() {
        let err = Prometheus::new("mailto:ops@example.com".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Prometheus URL `mailto:ops@example.com` cannot have an API path under it"
        );
    }
}
