//! Forge-neutral vocabulary shared by the policy core and the adapters.
//! Nothing here performs I/O.

mod event;
mod ids;
pub mod merge_group;
mod merging;
pub mod millis;
mod permission;
mod size_label;
mod snapshot;

pub use event::*;
pub use ids::*;
pub use merge_group::MergeGroup;
pub use merging::*;
pub use permission::*;
pub use size_label::SizeLabel;
pub use snapshot::*;
