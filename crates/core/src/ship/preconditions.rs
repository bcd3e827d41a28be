//! What must hold before `/ship` merges: checked on the current head, all at once, so
//! the reply is one complete checklist.
use crate::domain::{CheckOutcome, ForgeKind, HeadCheck};
use crate::policy::Conclusion;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipFacts {
    pub open: bool,
    pub draft: bool,
    /// The gate's conclusion on the head, and its title.
    pub gate: Conclusion,
    pub gate_title: String,
    pub overridden: bool,
    pub mergeable: Option<bool>,
    pub checks: Vec<HeadCheck>,
}

/// One line of the checklist: what must hold, said as met or as missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub met: bool,
    pub text: String,
}

impl Item {
    pub fn new(met: bool, met_text: impl Into<String>, missing_text: impl Into<String>) -> Self {
        let text = if met {
            met_text.into()
        } else {
            missing_text.into()
        };
        Self { met, text }
    }
}

/// The checklist items that are not met, in `forge`'s words; empty means ship.
pub fn missing(facts: &ShipFacts, forge: ForgeKind) -> Vec<String> {
    unmet(checklist(facts, forge))
}

/// The texts of the items that are not met.
pub fn unmet(items: Vec<Item>) -> Vec<String> {
    items
        .into_iter()
        .filter(|item| !item.met)
        .map(|item| item.text)
        .collect()
}

/// Every item, met or not, in `forge`'s words: what `/ship --noop` shows.
pub fn checklist(facts: &ShipFacts, forge: ForgeKind) -> Vec<Item> {
    let change = forge.change_noun();
    let mut out = vec![Item::new(
        facts.open,
        format!("The {change} is open."),
        format!("The {change} is open (it is closed)."),
    )];
    out.push(match forge {
        ForgeKind::GitHub => Item::new(
            !facts.draft,
            format!("The {change} is ready for review."),
            format!("The {change} is ready for review (it is a draft)."),
        ),
        ForgeKind::GitLab => Item::new(
            !facts.draft,
            format!("The {change} is marked as ready."),
            format!("The {change} is marked as ready (it is a draft)."),
        ),
    });
    let gate_passes = facts.gate == Conclusion::Pass;
    out.push(Item::new(
        gate_passes || facts.overridden,
        if gate_passes {
            "The smallbatch gate passes.".to_owned()
        } else {
            format!(
                "The smallbatch gate passes (overridden for this commit; its verdict: {}).",
                facts.gate_title
            )
        },
        format!("The smallbatch gate passes (now: {}).", facts.gate_title),
    ));
    for check in &facts.checks {
        out.push(match check.outcome {
            CheckOutcome::Passed => Item::new(true, format!("`{}` passes.", check.name), ""),
            CheckOutcome::Pending => Item::new(
                false,
                "",
                format!("`{}` has finished (it is still running).", check.name),
            ),
            CheckOutcome::Failed => {
                Item::new(false, "", format!("`{}` passes (it failed).", check.name))
            }
        });
    }
    // A closed change is never mergeable; reopening it is what is needed.
    if facts.open {
        out.push(match facts.mergeable {
            Some(mergeable) => Item::new(
                mergeable,
                format!("The {change} can be merged."),
                format!("The {change} can be merged (it has conflicts or is blocked)."),
            ),
            None => Item::new(
                false,
                "",
                format!(
                    "{} has worked out whether it can be merged (still checking; try again in a moment).",
                    forge.name()
                ),
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> ShipFacts {
        ShipFacts {
            open: true,
            draft: false,
            gate: Conclusion::Pass,
            gate_title: "30 lines, 1 approval: ready".into(),
            overridden: false,
            mergeable: Some(true),
            checks: vec![HeadCheck {
                name: "ci/test".into(),
                outcome: CheckOutcome::Passed,
            }],
        }
    }

    #[test]
    fn a_ready_pr_misses_nothing() {
        assert!(missing(&ready(), ForgeKind::GitHub).is_empty());
    }

    #[test]
    fn an_override_stands_in_for_the_gate() {
        let facts = ShipFacts {
            gate: Conclusion::Fail,
            overridden: true,
            ..ready()
        };
        assert!(missing(&facts, ForgeKind::GitHub).is_empty());
    }

    #[test]
    fn every_missing_item_is_listed() {
        let facts = ShipFacts {
            open: true,
            draft: true,
            gate: Conclusion::Wait,
            gate_title: "30 lines: needs 1 approval".into(),
            overridden: false,
            mergeable: None,
            checks: vec![
                HeadCheck {
                    name: "ci/test".into(),
                    outcome: CheckOutcome::Failed,
                },
                HeadCheck {
                    name: "ci/lint".into(),
                    outcome: CheckOutcome::Pending,
                },
            ],
        };
        assert_eq!(
            missing(&facts, ForgeKind::GitHub),
            [
                "The pull request is ready for review (it is a draft).",
                "The smallbatch gate passes (now: 30 lines: needs 1 approval).",
                "`ci/test` passes (it failed).",
                "`ci/lint` has finished (it is still running).",
                "GitHub has worked out whether it can be merged (still checking; try again in a moment).",
            ]
        );
        assert_eq!(
            missing(&facts, ForgeKind::GitLab)[0],
            "The merge request is marked as ready (it is a draft)."
        );
        assert_eq!(
            missing(&facts, ForgeKind::GitLab)[4],
            "GitLab has worked out whether it can be merged (still checking; try again in a moment)."
        );
    }

    #[test]
    fn the_checklist_says_what_holds_too() {
        let facts = ShipFacts {
            gate: Conclusion::Fail,
            gate_title: "450 lines: over the 400-line limit".into(),
            overridden: true,
            ..ready()
        };
        let items = checklist(&facts, ForgeKind::GitLab);
        assert!(items.iter().all(|item| item.met), "{items:#?}");
        let texts: Vec<&str> = items.iter().map(|item| item.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "The merge request is open.",
                "The merge request is marked as ready.",
                "The smallbatch gate passes (overridden for this commit; its verdict: 450 lines: over the 400-line limit).",
                "`ci/test` passes.",
                "The merge request can be merged.",
            ]
        );
    }

    #[test]
    fn a_closed_change_needs_reopening_not_a_mergeability_it_cannot_have() {
        let facts = ShipFacts {
            open: false,
            mergeable: None,
            ..ready()
        };
        assert_eq!(
            missing(&facts, ForgeKind::GitLab),
            ["The merge request is open (it is closed)."]
        );
    }
}
