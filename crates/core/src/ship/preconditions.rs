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

/// The checklist items that are not met, in `forge`'s words; empty means ship.
pub fn missing(facts: &ShipFacts, forge: ForgeKind) -> Vec<String> {
    let change = forge.change_noun();
    let mut out = Vec::new();
    if !facts.open {
        out.push(format!("The {change} is open (it is closed)."));
    }
    if facts.draft {
        out.push(match forge {
            ForgeKind::GitHub => format!("The {change} is ready for review (it is a draft)."),
            ForgeKind::GitLab => format!("The {change} is marked as ready (it is a draft)."),
        });
    }
    if facts.gate != Conclusion::Pass && !facts.overridden {
        out.push(format!(
            "The smallbatch gate passes (now: {}).",
            facts.gate_title
        ));
    }
    for check in &facts.checks {
        match check.outcome {
            CheckOutcome::Passed => {}
            CheckOutcome::Pending => out.push(format!(
                "`{}` has finished (it is still running).",
                check.name
            )),
            CheckOutcome::Failed => out.push(format!("`{}` passes (it failed).", check.name)),
        }
    }
    // A closed change is never mergeable; reopening it is what is needed.
    match facts.mergeable {
        _ if !facts.open => {}
        Some(true) => {}
        Some(false) => out.push(format!(
            "The {change} can be merged (it has conflicts or is blocked)."
        )),
        None => out.push(format!(
            "{} has worked out whether it can be merged (still checking; try again in a moment).",
            forge.name()
        )),
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
