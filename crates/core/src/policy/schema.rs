//! The policy file's JSON Schema, generated from the very types the parser reads, so
//! the two cannot drift apart (`smallbatch schema`; held against the parser by
//! `tests/e2e/policy_schema.rs`).
use super::config::RepoConfig;

/// The schema, draft 2020-12, for editors' YAML plugins.
pub fn policy_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RepoConfig);
    schema.insert(
        "title".into(),
        "smallbatch policy (.github/smallbatch.yml, .gitlab/smallbatch.yml or .smallbatch.yml)"
            .into(),
    );
    schema.to_value()
}
