//! A router that can be replaced while it serves, so the setup page can hand over to
//! the webhook routes without a restart. A request is routed by the router current when
//! it arrives; one already routed finishes where it started.
use axum::extract::Request;
use axum::Router;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

#[derive(Clone)]
pub struct Switch(Arc<RwLock<Router>>);

impl Switch {
    pub fn new(router: Router) -> Self {
        Self(Arc::new(RwLock::new(router)))
    }

    /// From now on, requests go to `router`.
    pub fn set(&self, router: Router) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = router;
    }

    /// The router to serve: it hands each request to the current one.
    pub fn router(&self) -> Router {
        let current = self.0.clone();
        Router::new().fallback(move |request: Request| {
            let router = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            router.oneshot(request)
        })
    }
}
