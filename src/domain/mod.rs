//! Forge-neutral vocabulary shared by the policy core and the adapters.
//! Nothing here performs I/O.

mod event;
mod ids;
pub mod merge_group;
pub mod millis;
mod permission;
mod snapshot;

pub use event::*;
pub use ids::*;
pub use merge_group::MergeGroup;
pub use permission::*;
pub use snapshot::*;
