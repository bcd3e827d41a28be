//! `/ship`: merge, deploy, watch production, restore fast. The record, the checklist,
//! the texts and what Prometheus answers are pure; `crate::worker::ship` drives them.
pub mod facts;
pub mod judge;
pub mod preconditions;
pub mod progress;
pub mod prometheus_api;
pub mod record;
pub mod text;

/// The Prometheus client, at the path it had before it moved to the adapters.
pub use crate::telemetry::prometheus as telemetry;
