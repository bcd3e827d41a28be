//! GitHub App adapter.
pub mod webhook;
