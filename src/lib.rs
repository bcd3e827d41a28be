//! smallbatch keeps pull/merge requests small and peer-reviewed.
//!
//! Layout: `domain` and `policy` are the pure core; `forge`, `store`, `server`,
//! `worker` and `local` are the adapters around it.

pub mod app;
pub mod commands;
pub mod domain;
pub mod dora;
pub mod forge;
pub mod local;
pub mod logging;
pub mod policy;
pub mod report;
pub mod server;
pub mod settings;
pub mod ship;
pub mod store;
pub mod telemetry;
pub mod worker;
