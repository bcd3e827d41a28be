//! Merging a PR: how, and what else on its head must pass first.

// No doc comment: schemars would put it in the policy file's published schema.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

/// Another check or status on a PR's head, as `/ship` needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadCheck {
    pub name: String,
    pub outcome: CheckOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// success, neutral or skipped
    Passed,
    Pending,
    Failed,
}
