//! `exempt`: authors and labels that skip the size rule (dependency bots, a release branch
//! merge), and whether exempt authors skip the review rule too.
use crate::domain::PrSnapshot;
use serde::{Deserialize, Serialize};

/// Who and what skips the size rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExemptConfig {
    /// Logins whose changes pass the size rule (`dependabot[bot]`, `renovate[bot]`).
    pub authors: Vec<String>,
    /// Labels that make a change pass the size rule.
    pub labels: Vec<String>,
    /// Exempt authors' changes need no approvals either.
    pub reviews: bool,
}

impl ExemptConfig {
    /// The key at fault and what is wrong, for `RepoConfig::validate`.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, names) in [("authors", &self.authors), ("labels", &self.labels)] {
            if names.iter().any(|n| n.trim().is_empty()) {
                return Err((key, format!("exempt.{key}: an entry is empty")));
            }
        }
        if self.reviews && self.authors.is_empty() {
            return Err((
                "reviews",
                "exempt.reviews: applies to `exempt.authors`, which lists no one".into(),
            ));
        }
        Ok(())
    }
}

/// What skipped the size rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SizeExemption {
    /// The author is in `exempt.authors`.
    Author { login: String },
    /// The change carries a label in `exempt.labels`.
    Label { name: String },
}

/// The rules a change skips.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exemptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeExemption>,
    /// The exempt author whose change needs no approvals (`exempt.reviews`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviews: Option<String>,
}

impl Exemptions {
    pub fn is_none(&self) -> bool {
        self.size.is_none() && self.reviews.is_none()
    }
}

/// The author comes first, then the change's labels in their order. Logins and labels
/// compare case-insensitively, as forges treat them.
pub fn exemptions(pr: &PrSnapshot, config: &ExemptConfig) -> Exemptions {
    let author = &pr.author.login;
    let author_exempt = config
        .authors
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(author));
    let label = || {
        pr.labels.iter().find(|l| {
            config
                .labels
                .iter()
                .any(|e| e.trim().eq_ignore_ascii_case(l))
        })
    };
    let size = if author_exempt {
        Some(SizeExemption::Author {
            login: author.clone(),
        })
    } else {
        label().map(|name| SizeExemption::Label { name: name.clone() })
    };
    Exemptions {
        size,
        reviews: (author_exempt && config.reviews).then(|| author.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::User;
    use crate::policy::testing::pr;

    fn config(authors: &[&str], labels: &[&str], reviews: bool) -> ExemptConfig {
        ExemptConfig {
            authors: authors.iter().map(|s| s.to_string()).collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            reviews,
        }
    }

    const FILE: &str = ".github/smallbatch.yml";

    #[test]
    fn the_exempt_section_parses_and_defaults_to_nobody() {
        use crate::policy::RepoConfig;
        assert_eq!(RepoConfig::default().exempt, ExemptConfig::default());
        let text = "exempt:\n  authors: ['dependabot[bot]', 'renovate[bot]']\n  labels: [dependencies]\n  reviews: true\n";
        let c = RepoConfig::parse(FILE, text).unwrap();
        assert_eq!(
            c.exempt,
            config(
                &["dependabot[bot]", "renovate[bot]"],
                &["dependencies"],
                true
            )
        );
    }

    #[test]
    fn a_bad_exempt_section_is_an_error_at_its_line() {
        use crate::policy::RepoConfig;
        let err = |text: &str| RepoConfig::parse(FILE, text).unwrap_err();
        let e = err("exempt:\n  labels: ['']\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(2), "exempt.labels: an entry is empty")
        );
        let e = err("exempt:\n  labels: [deps]\n  reviews: true\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(3),
                "exempt.reviews: applies to `exempt.authors`, which lists no one"
            )
        );
        let e = err("exempt:\n  users: [bob]\n");
        assert!(
            e.message.starts_with("exempt: unknown field `users`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn nothing_is_exempt_by_default() {
        let p = pr().author(User::bot("dependabot[bot]")).build();
        assert!(exemptions(&p, &ExemptConfig::default()).is_none());
    }

    #[test]
    fn an_exempt_author_skips_the_size_rule_and_the_reviews_only_when_asked() {
        let p = pr().author(User::bot("Dependabot[bot]")).build();
        let by_author = Some(SizeExemption::Author {
            login: "Dependabot[bot]".into(),
        });
        let e = exemptions(&p, &config(&["dependabot[bot]"], &[], false));
        assert_eq!((e.size.clone(), e.reviews), (by_author.clone(), None));
        let e = exemptions(&p, &config(&["dependabot[bot]"], &[], true));
        assert_eq!(
            (e.size, e.reviews),
            (by_author, Some("Dependabot[bot]".into()))
        );
    }

    #[test]
    fn an_exempt_label_skips_the_size_rule_only_and_is_named_as_on_the_change() {
        let p = pr().label("bug").label("Dependencies").build();
        let e = exemptions(&p, &config(&["renovate[bot]"], &["dependencies"], true));
        assert_eq!(
            e,
            Exemptions {
                size: Some(SizeExemption::Label {
                    name: "Dependencies".into()
                }),
                reviews: None,
            }
        );
        assert!(exemptions(&p, &config(&[], &["release"], false)).is_none());
    }

    #[test]
    fn the_author_is_named_before_a_label() {
        let p = pr()
            .author(User::bot("renovate[bot]"))
            .label("dependencies")
            .build();
        let e = exemptions(&p, &config(&["renovate[bot]"], &["dependencies"], false));
        assert_eq!(
            e.size,
            Some(SizeExemption::Author {
                login: "renovate[bot]".into()
            })
        );
    }
}
