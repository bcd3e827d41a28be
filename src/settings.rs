//! Process settings from `smallbatch.toml` and `SMALLBATCH_*` environment variables.
