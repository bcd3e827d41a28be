//! GitHub App adapter.
