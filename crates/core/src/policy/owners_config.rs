//! `reviews.owners` and `reviews.rules`: whose approval which files need, on top of the
//! number of approvals.
use super::codeowners::Owner;
use super::globs::PathGlobs;
use crate::domain::ForgeKind;
use serde::{Deserialize, Serialize};

/// Where files' owners come from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OwnersSource {
    /// No owner's approval is required.
    #[default]
    None,
    /// Each counted file needs an approval from one of its owners in the base branch's
    /// CODEOWNERS.
    Codeowners,
}

/// Files matching `paths` need `required_approvals` approvals from the people `from` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRule {
    /// Globs (gitignore semantics); the rule applies when a counted file matches one.
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub required_approvals: u32,
    /// Users (`alice` or `@alice`) and teams (`org/team` on GitHub, `group/subgroup` on
    /// GitLab) whose approvals count; empty: anyone's.
    #[serde(default)]
    pub from: Vec<String>,
}

fn one() -> u32 {
    1
}

impl ReviewRule {
    /// Whom the rule names, as owners; the `@` is optional in `from`.
    pub fn owners(&self, forge: ForgeKind) -> Vec<Owner> {
        self.from
            .iter()
            .filter_map(|f| rule_owner(f, forge).ok())
            .collect()
    }
}

fn rule_owner(text: &str, forge: ForgeKind) -> Result<Owner, String> {
    let text = text.trim();
    if text.contains('@') {
        Owner::parse(text, forge)
    } else {
        Owner::parse(&format!("@{text}"), forge)
    }
}

/// Checks the rules in `forge`'s terms (GitLab allows nested groups); on error, the key
/// to point at and the message.
pub(super) fn validate(rules: &[ReviewRule], forge: ForgeKind) -> Result<(), String> {
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("reviews.rules[{i}]");
        if rule.paths.is_empty() {
            return Err(format!(
                "{at}.paths is empty, so the rule could never apply"
            ));
        }
        PathGlobs::new(&rule.paths).map_err(|e| format!("{at}.paths: {e}"))?;
        if rule.required_approvals == 0 {
            return Err(format!(
                "{at}.required_approvals must be at least 1 (leave the rule out to require nothing)"
            ));
        }
        for from in &rule.from {
            rule_owner(from, forge).map_err(|e| format!("{at}.from: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RepoConfig;

    const FILE: &str = ".github/smallbatch.yml";

    #[test]
    fn owners_and_rules_parse_with_their_defaults() {
        let c = RepoConfig::parse(FILE, "").unwrap();
        assert_eq!(c.reviews.owners, OwnersSource::None);
        assert!(c.reviews.rules.is_empty());
        let text = "reviews:\n  owners: codeowners\n  rules:\n    - paths: ['db/**']\n      \
                    required_approvals: 2\n      from: ['@dba', 'acme/dba', 'ann@example.com']\n    \
                    - paths: ['*.sql']\n";
        let c = RepoConfig::parse(FILE, text).unwrap();
        assert_eq!(c.reviews.owners, OwnersSource::Codeowners);
        assert_eq!(c.reviews.rules[1].required_approvals, 1);
        assert!(c.reviews.rules[1].from.is_empty());
        assert_eq!(
            c.reviews.rules[0].owners(ForgeKind::GitHub),
            [
                Owner::Handle("dba".into()),
                Owner::Handle("acme/dba".into()),
                Owner::Email("ann@example.com".into())
            ]
        );
    }

    fn err(text: &str) -> (Option<usize>, String) {
        let e = RepoConfig::parse(FILE, text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn bad_rules_are_errors_at_the_rules_key() {
        assert_eq!(
            err("reviews:\n  rules:\n    - paths: []\n"),
            (
                Some(2),
                "reviews.rules[0].paths is empty, so the rule could never apply".into()
            )
        );
        assert_eq!(
            err("reviews:\n  rules:\n    - paths: ['a']\n    - paths: ['db/[x']\n").1,
            "reviews.rules[1].paths: invalid glob `db/[x`: the character class `[` is never closed"
        );
        assert_eq!(
            err("reviews:\n  rules:\n    - paths: ['a']\n      required_approvals: 0\n").1,
            "reviews.rules[0].required_approvals must be at least 1 (leave the rule out to require nothing)"
        );
        let (line, message) = err("reviews:\n  rules:\n    - paths: ['a']\n      from: ['a b']\n");
        assert_eq!(line, Some(2));
        assert!(
            message.starts_with("reviews.rules[0].from: `@a b` is not an owner"),
            "{message}"
        );
        let (line, message) = err("reviews:\n  owners: github\n");
        assert_eq!(line, Some(2));
        assert!(message.contains("unknown variant `github`"), "{message}");
        let (_, message) = err("reviews:\n  rules:\n    - paths: ['a']\n      team: x\n");
        assert!(message.contains("unknown field `team`"), "{message}");
    }

    #[test]
    fn nested_groups_are_gitlab_only() {
        let text = "reviews:\n  rules:\n    - paths: ['a']\n      from: ['acme/db/admins']\n";
        assert!(RepoConfig::parse_for(ForgeKind::GitLab, "f.yml", text).is_ok());
        let e = RepoConfig::parse_for(ForgeKind::GitHub, "f.yml", text).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .starts_with("reviews.rules[0].from: `@acme/db/admins` is not an owner"),
            "{}",
            e.message
        );
    }
}
