//! Combines size, reviews and tests into the gate's conclusion.
use super::config::RepoConfig;
use super::exempt::{Exemptions, SizeExemption};
use super::{ReviewOutcome, SizeScore, TestsOutcome};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Pass,
    /// Blocks, but only waits for something (approvals, a draft): never a failure.
    Wait,
    Fail,
}

/// Why the conclusion is what it is. Listed in the order of the variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    Draft,
    /// The size rule was skipped (`exempt.authors`, `exempt.labels`); never blocks.
    SizeExempt {
        by: SizeExemption,
    },
    Oversized {
        lines: u64,
        max: u64,
    },
    TooManyFiles {
        files: u64,
        max: u64,
    },
    /// The lines under a `size.paths` budget (named by its globs) exceed it.
    OverBudget {
        paths: Vec<String>,
        lines: u64,
        max: u64,
    },
    ChangesRequested {
        by: Vec<String>,
    },
    /// The review rule was skipped for an exempt author (`exempt.reviews`); never blocks.
    ReviewsExempt {
        author: String,
    },
    NeedsApprovals {
        have: u32,
        need: u32,
    },
    /// Counted files still lacking an approval from one of their owners.
    NeedsOwnerApproval {
        files: u64,
    },
    /// Non-blocking unless `tests.required`; listed either way so the user sees it.
    TestsMissing {
        blocking: bool,
    },
}

impl Reason {
    /// Whether this reason alone fails the check (rather than waiting or advising).
    pub fn fails(&self) -> bool {
        match self {
            Reason::Oversized { .. }
            | Reason::TooManyFiles { .. }
            | Reason::OverBudget { .. }
            | Reason::ChangesRequested { .. } => true,
            Reason::TestsMissing { blocking } => *blocking,
            Reason::Draft
            | Reason::SizeExempt { .. }
            | Reason::ReviewsExempt { .. }
            | Reason::NeedsApprovals { .. }
            | Reason::NeedsOwnerApproval { .. } => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub conclusion: Conclusion,
    pub reasons: Vec<Reason>,
}

/// What the gate publishes once people have spoken: a hold (`/hold`) makes it wait
/// whatever the verdict, and an override (`/override`) cannot lift it, because a hold is
/// a brake someone pulled on purpose; otherwise an override passes it.
pub fn published(verdict: Conclusion, overridden: bool, held: bool) -> Conclusion {
    if held {
        Conclusion::Wait
    } else if overridden {
        Conclusion::Pass
    } else {
        verdict
    }
}

pub fn decide(
    draft: bool,
    size: &SizeScore,
    reviews: &ReviewOutcome,
    tests: &TestsOutcome,
    exempt: &Exemptions,
    config: &RepoConfig,
) -> Verdict {
    let mut reasons = Vec::new();
    if draft {
        reasons.push(Reason::Draft);
    }
    match &exempt.size {
        Some(by) => reasons.push(Reason::SizeExempt { by: by.clone() }),
        None => size_reasons(size, &mut reasons),
    }
    if !reviews.changes_requested_by.is_empty() {
        reasons.push(Reason::ChangesRequested {
            by: reviews.changes_requested_by.clone(),
        });
    }
    if let Some(author) = &exempt.reviews {
        reasons.push(Reason::ReviewsExempt {
            author: author.clone(),
        });
    } else if !reviews.approved() {
        reasons.push(Reason::NeedsApprovals {
            have: reviews.approvers.len() as u32,
            need: config.reviews.required_approvals,
        });
    }
    // `exempt.reviews` waives the owners' approval as it waives the others.
    let files = reviews.owners.waiting_paths();
    if files > 0 && exempt.reviews.is_none() {
        reasons.push(Reason::NeedsOwnerApproval { files });
    }
    if tests.missing {
        reasons.push(Reason::TestsMissing {
            blocking: config.tests.required,
        });
    }
    // A draft is work in progress: it is scored and advised, never failed.
    let conclusion = if draft {
        Conclusion::Wait
    } else if reasons.iter().any(Reason::fails) {
        Conclusion::Fail
    } else if reasons.iter().any(|r| {
        matches!(
            r,
            Reason::NeedsApprovals { .. } | Reason::NeedsOwnerApproval { .. }
        )
    }) {
        Conclusion::Wait
    } else {
        Conclusion::Pass
    };
    Verdict {
        conclusion,
        reasons,
    }
}

/// What the size rule holds against the change: its lines, its files, each budget.
fn size_reasons(size: &SizeScore, reasons: &mut Vec<Reason>) {
    if size.oversized() {
        reasons.push(Reason::Oversized {
            lines: size.lines,
            max: size.max_lines,
        });
    }
    if let Some(max) = size.max_files.filter(|_| size.too_many_files()) {
        reasons.push(Reason::TooManyFiles {
            files: size.counted_files,
            max,
        });
    }
    for budget in size.budgets_over() {
        reasons.push(Reason::OverBudget {
            paths: budget.paths.clone(),
            lines: budget.lines,
            max: budget.max_lines,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ForgeKind, User};
    use crate::policy::config::RepoConfig;
    use crate::policy::testing::{pr, PrBuilder};
    use crate::policy::{evaluate, BaseFacts};

    fn verdict(b: PrBuilder, config: &RepoConfig) -> Verdict {
        evaluate(&b.build(), config, &BaseFacts::new(ForgeKind::GitHub, None)).verdict
    }

    fn tested(lines: u64) -> PrBuilder {
        pr().file("src/a.rs", lines, 0).file("tests/a.rs", 1, 0)
    }

    #[test]
    fn small_approved_tested_change_passes() {
        let v = verdict(tested(100).approve("bob"), &RepoConfig::default());
        assert_eq!(
            v,
            Verdict {
                conclusion: Conclusion::Pass,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn only_missing_approvals_waits() {
        let v = verdict(tested(100), &RepoConfig::default());
        assert_eq!(v.conclusion, Conclusion::Wait);
        assert_eq!(v.reasons, [Reason::NeedsApprovals { have: 0, need: 1 }]);
    }

    #[test]
    fn oversized_fails_even_when_approved() {
        let v = verdict(tested(400).approve("bob"), &RepoConfig::default());
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(
            v.reasons,
            [Reason::Oversized {
                lines: 401,
                max: 400
            }]
        );
    }

    #[test]
    fn too_many_files_fails() {
        let mut config = RepoConfig::default();
        config.size.max_files = Some(1);
        let v = verdict(tested(10).approve("bob"), &config);
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(v.reasons, [Reason::TooManyFiles { files: 2, max: 1 }]);
    }

    #[test]
    fn changes_requested_fails() {
        let v = verdict(
            tested(10).approve("bob").request_changes("carol"),
            &RepoConfig::default(),
        );
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(
            v.reasons,
            [Reason::ChangesRequested {
                by: vec!["carol".into()]
            }]
        );
    }

    #[test]
    fn missing_tests_advise_unless_required() {
        let untested = || pr().file("src/a.rs", 100, 0).approve("bob");
        let v = verdict(untested(), &RepoConfig::default());
        assert_eq!(v.conclusion, Conclusion::Pass);
        assert_eq!(v.reasons, [Reason::TestsMissing { blocking: false }]);
        let mut config = RepoConfig::default();
        config.tests.required = true;
        let v = verdict(untested(), &config);
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(v.reasons, [Reason::TestsMissing { blocking: true }]);
    }

    #[test]
    fn every_reason_is_listed_in_a_stable_order() {
        let mut config = RepoConfig::default();
        config.size.max_files = Some(1);
        config.tests.required = true;
        config.reviews.required_approvals = 2;
        let b = pr()
            .file("src/a.rs", 500, 0)
            .file("src/b.rs", 1, 0)
            .approve("bob")
            .request_changes("carol");
        let v = verdict(b, &config);
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(
            v.reasons,
            [
                Reason::Oversized {
                    lines: 501,
                    max: 400
                },
                Reason::TooManyFiles { files: 2, max: 1 },
                Reason::ChangesRequested {
                    by: vec!["carol".into()]
                },
                Reason::NeedsApprovals { have: 1, need: 2 },
                Reason::TestsMissing { blocking: true },
            ]
        );
    }

    #[test]
    fn a_draft_waits_and_never_fails_but_lists_its_findings() {
        let v = verdict(
            pr().file("src/a.rs", 900, 0)
                .request_changes("carol")
                .draft(),
            &RepoConfig::default(),
        );
        assert_eq!(v.conclusion, Conclusion::Wait);
        assert_eq!(
            v.reasons,
            [
                Reason::Draft,
                Reason::Oversized {
                    lines: 900,
                    max: 400
                },
                Reason::ChangesRequested {
                    by: vec!["carol".into()]
                },
                Reason::NeedsApprovals { have: 0, need: 1 },
                Reason::TestsMissing { blocking: false },
            ]
        );
        let v = verdict(tested(5).approve("bob").draft(), &RepoConfig::default());
        assert_eq!(
            v,
            Verdict {
                conclusion: Conclusion::Wait,
                reasons: vec![Reason::Draft]
            }
        );
    }

    #[test]
    fn a_hold_waits_whatever_the_verdict_or_an_override() {
        use Conclusion::*;
        for verdict in [Pass, Wait, Fail] {
            assert_eq!(published(verdict, false, true), Wait);
            assert_eq!(published(verdict, true, true), Wait);
            assert_eq!(published(verdict, true, false), Pass);
            assert_eq!(published(verdict, false, false), verdict);
        }
    }

    #[test]
    fn an_exempt_author_passes_the_size_rule_but_still_waits_for_review() {
        let mut config = RepoConfig::default();
        config.exempt.authors = vec!["dependabot[bot]".into()];
        config.size.max_files = Some(1);
        let bot = || {
            pr().author(User::bot("dependabot[bot]"))
                .file("package.json", 1500, 1500)
                .file("src/a.rs", 1, 0)
        };
        let v = verdict(bot(), &config);
        assert_eq!(v.conclusion, Conclusion::Wait);
        let by = SizeExemption::Author {
            login: "dependabot[bot]".into(),
        };
        assert_eq!(
            v.reasons,
            [
                Reason::SizeExempt { by: by.clone() },
                Reason::NeedsApprovals { have: 0, need: 1 },
                Reason::TestsMissing { blocking: false },
            ]
        );
        config.exempt.reviews = true;
        let v = verdict(bot(), &config);
        assert_eq!(v.conclusion, Conclusion::Pass);
        assert_eq!(
            v.reasons,
            [
                Reason::SizeExempt { by },
                Reason::ReviewsExempt {
                    author: "dependabot[bot]".into()
                },
                Reason::TestsMissing { blocking: false },
            ]
        );
        // A change request still holds an exempt author's change.
        let v = verdict(bot().request_changes("carol"), &config);
        assert_eq!(v.conclusion, Conclusion::Fail);
    }

    #[test]
    fn exempt_reviews_waive_the_owners_approval_too() {
        use crate::policy::CodeOwners;
        let mut config = RepoConfig::parse("t.yml", "reviews:\n  owners: codeowners\n").unwrap();
        config.exempt.authors = vec!["renovate[bot]".into()];
        let base = BaseFacts {
            codeowners: Some(
                CodeOwners::parse("CODEOWNERS", "* @lead\n", ForgeKind::GitHub).unwrap(),
            ),
            ..BaseFacts::new(ForgeKind::GitHub, None)
        };
        let change = || {
            pr().author(User::bot("renovate[bot]"))
                .file("package.json", 3, 3)
                .build()
        };
        let v = evaluate(&change(), &config, &base).verdict;
        assert!(
            v.reasons.contains(&Reason::NeedsOwnerApproval { files: 1 }),
            "{v:?}"
        );
        config.exempt.reviews = true;
        let v = evaluate(&change(), &config, &base).verdict;
        assert_eq!(v.conclusion, Conclusion::Pass, "{v:?}");
        assert!(!v
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::NeedsOwnerApproval { .. })));
    }

    #[test]
    fn an_exempt_label_passes_the_size_rule_and_is_named() {
        let mut config = RepoConfig::default();
        config.exempt.labels = vec!["release-merge".into()];
        let v = verdict(tested(3000).label("release-merge").approve("bob"), &config);
        assert_eq!(v.conclusion, Conclusion::Pass);
        assert_eq!(
            v.reasons,
            [Reason::SizeExempt {
                by: SizeExemption::Label {
                    name: "release-merge".into()
                }
            }]
        );
    }

    #[test]
    fn a_budget_overrun_fails_and_names_the_budget() {
        let config = RepoConfig::parse(
            "t.yml",
            "size:\n  paths:\n    - paths: ['db/migrations/**']\n      max_lines: 2000\n",
        )
        .unwrap();
        let b = || tested(40).approve("bob");
        let v = verdict(b().added("db/migrations/0001.sql", 2000), &config);
        assert_eq!(v.conclusion, Conclusion::Pass);
        let v = verdict(b().added("db/migrations/0001.sql", 2001), &config);
        assert_eq!(v.conclusion, Conclusion::Fail);
        assert_eq!(
            v.reasons,
            [Reason::OverBudget {
                paths: vec!["db/migrations/**".into()],
                lines: 2001,
                max: 2000
            }]
        );
    }

    #[test]
    fn zero_required_approvals_need_none() {
        let mut config = RepoConfig::default();
        config.reviews.required_approvals = 0;
        assert_eq!(verdict(tested(5), &config).conclusion, Conclusion::Pass);
    }
}
