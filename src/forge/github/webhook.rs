//! GitHub webhook verification and normalization (written separately).
