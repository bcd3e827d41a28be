//! Production telemetry, read for `/ship`'s watch.

pub mod prometheus;

pub use prometheus::{Prometheus, TelemetryError};
