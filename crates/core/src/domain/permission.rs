use serde::{Deserialize, Serialize};

/// What a user may do in a repository, ordered from least to most. GitHub's roles map
/// one to one; GitLab's access levels map Guest→Read, Reporter→Triage, Developer→Write,
/// Maintainer→Maintain, Owner→Admin.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Permission::*;

    #[test]
    fn permissions_are_ordered() {
        assert!(
            None < Read && Read < Triage && Triage < Write && Write < Maintain && Maintain < Admin
        );
    }
}
