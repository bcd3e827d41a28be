//! `/ship`: merge, deploy, watch production, restore fast. The record, the checklist
//! and the texts are pure; `crate::worker::ship` drives them.
pub mod preconditions;
pub mod record;
pub mod text;
pub mod judge;
pub mod telemetry;
