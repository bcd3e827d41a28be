//! DORA's four keys (deployment frequency, lead time for changes, change
//! failure rate, time to restore) and its fifth metric, rework rate, per
//! repository, from smallbatch's own `/ship` records, joined with batch size.
//! Pure: time is passed in.
mod bands;
mod dashboard;
mod fact;
mod metrics;
pub(crate) mod prometheus;
mod since;
mod stats;
mod table;

pub use bands::{Bands, DurationBand, FailureRateBand, FrequencyBand, INSUFFICIENT_DATA};
pub use dashboard::{repo_cards, KeyRow, RepoCard, SizeRow};
pub use fact::{ShipFact, Verdict};
pub use metrics::{
    compute, DeployCounts, DurationSummary, RepoMetrics, SizeBucket, Unrestored,
    DEFAULT_FAILURE_WINDOW,
};
pub use prometheus::render_prometheus;
pub use since::{parse_since, SinceError};
pub use table::render_table;

#[cfg(test)]
mod tests;
