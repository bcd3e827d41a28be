//! `/ship`: merge, deploy, watch production, restore fast. The record, the checklist,
//! the texts and what Prometheus answers are pure; the main crate's worker drives them.
pub mod comment;
pub mod controls;
pub mod facts;
pub mod gauges;
pub mod judge;
pub mod preconditions;
pub mod progress;
pub mod prometheus_api;
pub mod record;
pub mod reverts;
pub mod rollback;
#[cfg(test)]
mod testing;
pub mod text;
