//! smallbatch keeps pull/merge requests small and peer-reviewed.
//!
//! Layout: the pure core (`domain`, `policy`, `commands`, `dora`, `ship`'s decisions and
//! texts) is the `smallbatch-core` crate in `crates/core`, re-exported here under its
//! old paths; it cannot name the adapters. `forge`, `store`, `server`, `worker`,
//! `telemetry` and `local` are the adapters around it.

pub use smallbatch_core::{commands, domain, dora, policy};

pub mod app;
pub mod forge;
pub mod local;
pub mod logging;
pub mod report;
pub mod server;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod worker;
pub mod worker_runtime;

/// `/ship`: the core's pure part, plus the Prometheus client at its old path.
pub mod ship {
    pub use crate::telemetry::prometheus as telemetry;
    pub use smallbatch_core::ship::*;
}
