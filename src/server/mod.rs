//! The HTTP shell: webhook intake, health.
