//! `/ship`: merge, deploy, watch production, restore fast. The record, the checklist
//! and the texts are pure; `crate::worker::ship` drives them.
pub mod facts;
pub mod judge;
pub mod preconditions;
pub mod progress;
pub mod record;
pub mod telemetry;
pub mod text;
