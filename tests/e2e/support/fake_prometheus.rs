//! A fake Prometheus HTTP API: every query answers the value the test set, the
//! pre-deploy baseline (`avg_over_time(...)`) its own value; or it is down.
use serde_json::json;
use std::sync::{Arc, Mutex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy)]
pub struct Values {
    pub baseline: f64,
    pub current: f64,
    pub down: bool,
}

#[derive(Clone)]
pub struct FakePrometheus {
    pub server: Arc<MockServer>,
    values: Arc<Mutex<Values>>,
    /// A real Prometheus that smallbatch is pointed at instead of this fake.
    real: Option<String>,
}

impl FakePrometheus {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let values = Arc::new(Mutex::new(Values {
            baseline: 0.002,
            current: 0.002,
            down: false,
        }));
        Mock::given(wiremock::matchers::path("/api/v1/query"))
            .respond_with(Responder {
                values: values.clone(),
            })
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            values,
            real: None,
        }
    }

    /// Points smallbatch at the real Prometheus at `url` instead; the fake's values are
    /// then not read.
    pub async fn real(url: String) -> Self {
        Self {
            real: Some(url),
            ..Self::start().await
        }
    }

    pub fn uri(&self) -> String {
        self.real.clone().unwrap_or_else(|| self.server.uri())
    }

    pub fn set_current(&self, v: f64) {
        self.values.lock().unwrap().current = v;
    }

    pub fn set_down(&self, down: bool) {
        self.values.lock().unwrap().down = down;
    }
}

struct Responder {
    values: Arc<Mutex<Values>>,
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let query = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
            .or_else(|| {
                url::form_urlencoded::parse(&req.body)
                    .find(|(k, _)| k == "query")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        let v = *self.values.lock().unwrap();
        if v.down {
            return ResponseTemplate::new(503).set_body_string("unavailable");
        }
        let value = if query.starts_with("avg_over_time") {
            v.baseline
        } else {
            v.current
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1_764_237_600.0, value.to_string()]}]}
        }))
    }
}
