//! The end-to-end tests, one binary: the support code compiles once, and scenarios both
//! forges share are written once (`on_both_forges!`).
#[macro_use]
mod support;

mod commands_github;
mod commands_gitlab;
mod container;
mod controls;
mod crash_recovery;
mod deployments_read;
mod faults_github;
mod gate;
mod gate_github;
mod gate_gitlab;
mod gate_owners;
mod gate_rules;
mod github_forge;
mod github_webhook;
mod gitlab_forge;
mod gitlab_webhook;
mod local_check;
mod merge_queue_github;
mod policy_schema;
mod replicas_postgres;
mod rollback_prometheus;
mod serve_binary;
mod setup_page;
mod ship_interrupted;
mod ship_upgraded;
mod stacks;
mod store;
mod store_controls;
mod sweep;
mod telemetry_prometheus;
mod web_pages;
mod web_pages_browser;
