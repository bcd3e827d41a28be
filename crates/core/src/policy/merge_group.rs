//! The gate on a merge queue's group commit: it passes only when every PR in the group
//! passes its own gate (or was overridden), and names each one that does not.
use super::hold::HoldNote;
use super::render::CheckText;
use super::text::{code, count, counted, files, lines, people};
use super::{Conclusion, ConfigError, Evaluation, Reason};
use crate::domain::{CommitSha, PrNumber};
use std::fmt::Write;

/// One PR of a merge group, as its own gate judges it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub number: PrNumber,
    pub url: String,
    pub standing: Standing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// Scored against the base branch's policy; `overridden_by` names who ran
    /// `/override` on the PR's current head, if anyone did; `held` is its `/hold`.
    Evaluated {
        eval: Box<Evaluation>,
        overridden_by: Option<String>,
        held: Option<HoldNote>,
    },
    /// The base branch's policy file cannot be used.
    InvalidPolicy(ConfigError),
    /// Closed or merged while its group was being checked.
    NotOpen,
}

impl Member {
    pub fn passes(&self) -> bool {
        match &self.standing {
            Standing::Evaluated {
                eval,
                overridden_by,
                held,
            } => {
                let published = super::verdict::published(
                    eval.verdict.conclusion,
                    overridden_by.is_some(),
                    held.is_some(),
                );
                published == Conclusion::Pass
            }
            Standing::InvalidPolicy(_) | Standing::NotOpen => false,
        }
    }
}

/// The group check: `Pass` or `Fail` (a queue cannot wait), its title and summary.
/// `members` come in queue order.
pub fn group_check(
    base_branch: &str,
    head: &CommitSha,
    members: &[Member],
) -> (Conclusion, CheckText) {
    let (ready, blocked): (Vec<&Member>, Vec<&Member>) = members.iter().partition(|m| m.passes());
    let total = counted(members.len() as u64, "pull request", "pull requests");
    let (conclusion, title) = if blocked.is_empty() {
        (
            Conclusion::Pass,
            format!("{total} ready: {}", numbers(&ready)),
        )
    } else {
        let title = format!(
            "{} of {total} not ready: {}",
            count(blocked.len() as u64),
            numbers(&blocked)
        );
        (Conclusion::Fail, title)
    };
    let mut summary = String::new();
    if !blocked.is_empty() {
        summary.push_str("### Not ready\n\n");
        for m in &blocked {
            let _ = writeln!(summary, "- {}: {}", link(m), why_not(m));
        }
        summary.push('\n');
    }
    if !ready.is_empty() {
        summary.push_str("### Ready\n\n");
        for m in &ready {
            let _ = writeln!(summary, "- {}: {}", link(m), why_ready(m));
        }
        summary.push('\n');
    }
    let _ = write!(
        summary,
        "The merge queue tests these pull requests together in commit `{}`, to merge into {}. \
         Each one is held to the policy of {}, exactly as on the pull request itself.",
        head.short(),
        code(base_branch),
        code(base_branch)
    );
    if !blocked.is_empty() {
        summary.push_str(
            " A pull request that is not ready fails the whole group: fix it, or override its \
             gate with `/override <reason>`, then queue it again.",
        );
    }
    summary.push('\n');
    (conclusion, CheckText { title, summary })
}

fn numbers(members: &[&Member]) -> String {
    let named: Vec<String> = members.iter().map(|m| format!("#{}", m.number)).collect();
    named.join(", ")
}

fn link(m: &Member) -> String {
    format!("[#{}]({})", m.number, m.url)
}

fn why_ready(m: &Member) -> String {
    match &m.standing {
        Standing::Evaluated {
            overridden_by: Some(actor),
            ..
        } => format!("its gate was overridden by @{actor}"),
        Standing::Evaluated { eval, .. } => format!(
            "{}, {}",
            lines(eval.size.lines),
            counted(eval.reviews.approvers.len() as u64, "approval", "approvals")
        ),
        Standing::InvalidPolicy(_) | Standing::NotOpen => String::new(),
    }
}

/// One line: what keeps the PR out of the merge.
fn why_not(m: &Member) -> String {
    match &m.standing {
        Standing::InvalidPolicy(err) => match err.line {
            Some(l) => format!("invalid policy file {} (line {l})", code(&err.file)),
            None => format!("invalid policy file {}", code(&err.file)),
        },
        Standing::NotOpen => "no longer open".to_owned(),
        Standing::Evaluated {
            held: Some(note), ..
        } => format!("held by {}; `/unhold` releases it", note.who_and_why()),
        Standing::Evaluated { eval, .. } => {
            let blockers: Vec<String> = eval.verdict.reasons.iter().filter_map(blocker).collect();
            if blockers.is_empty() {
                // Every failing or waiting verdict has a reason; kept total all the same.
                "does not pass its gate".to_owned()
            } else {
                blockers.join("; ")
            }
        }
    }
}

fn blocker(reason: &Reason) -> Option<String> {
    Some(match reason {
        Reason::Draft => "draft".to_owned(),
        Reason::Oversized { lines: n, max } => {
            format!(
                "oversized: {}, over the {}-line limit",
                lines(*n),
                count(*max)
            )
        }
        Reason::TooManyFiles { files: n, max } => {
            format!(
                "oversized: {}, over the {}-file limit",
                files(*n),
                count(*max)
            )
        }
        Reason::OverBudget {
            paths,
            lines: n,
            max,
        } => format!(
            "oversized: {} under {}, over its {}-line budget",
            lines(*n),
            paths.iter().map(|p| code(p)).collect::<Vec<_>>().join(", "),
            count(*max)
        ),
        Reason::ChangesRequested { by } => format!("changes requested by {}", people(by)),
        Reason::NeedsApprovals { have, need } => {
            format!("waiting for approval: {have} of {need}")
        }
        Reason::NeedsOwnerApproval { files: n } => {
            format!("waiting for owners' approval of {}", files(*n))
        }
        Reason::TestsMissing { blocking: true } => "tests missing".to_owned(),
        Reason::TestsMissing { blocking: false }
        | Reason::SizeExempt { .. }
        | Reason::ReviewsExempt { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ForgeKind;
    use crate::policy::testing::{pr, PrBuilder};
    use crate::policy::{evaluate, BaseFacts, RepoConfig};

    fn member(number: u64, b: PrBuilder) -> Member {
        scored(number, b, None)
    }

    fn scored(number: u64, b: PrBuilder, overridden_by: Option<&str>) -> Member {
        Member {
            number: PrNumber(number),
            url: format!("https://github.com/octo-org/widgets/pull/{number}"),
            standing: Standing::Evaluated {
                eval: Box::new(evaluate(
                    &b.build(),
                    &RepoConfig::default(),
                    &BaseFacts::new(ForgeKind::GitHub, None),
                )),
                overridden_by: overridden_by.map(str::to_owned),
                held: None,
            },
        }
    }

    fn tested(lines: u64) -> PrBuilder {
        pr().file("src/a.rs", lines, 0).file("tests/a.rs", 10, 0)
    }

    fn render(members: &[Member]) -> (Conclusion, String) {
        let head = CommitSha::new("2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d");
        let (conclusion, text) = group_check("main", &head, members);
        (
            conclusion,
            format!("title: {}\n\n{}", text.title, text.summary),
        )
    }

    #[test]
    fn a_group_of_passing_prs_passes() {
        let (conclusion, text) = render(&[
            member(7, tested(40).approve("bob")),
            member(8, tested(90).approve("bob").approve("carol")),
        ]);
        assert_eq!(conclusion, Conclusion::Pass);
        insta::assert_snapshot!("group_passes", text);
    }

    #[test]
    fn each_pr_that_does_not_pass_is_named_with_why() {
        let broken = Member {
            number: PrNumber(12),
            url: "https://github.com/octo-org/widgets/pull/12".into(),
            standing: Standing::InvalidPolicy(ConfigError {
                file: ".github/smallbatch.yml".into(),
                line: Some(3),
                column: Some(3),
                message: "unknown field `colour`".into(),
            }),
        };
        let (conclusion, text) = render(&[
            member(7, tested(40).approve("bob")),
            member(9, tested(560)),
            member(10, tested(40).approve("bob").request_changes("carol")),
            member(11, tested(40)),
            scored(13, tested(900), Some("maint")),
            broken,
        ]);
        assert_eq!(conclusion, Conclusion::Fail);
        insta::assert_snapshot!("group_fails", text);
    }

    #[test]
    fn waiting_for_approval_is_not_passing() {
        let waiting = member(11, tested(40));
        assert!(!waiting.passes());
        let (conclusion, text) = render(&[waiting]);
        assert_eq!(conclusion, Conclusion::Fail);
        assert!(
            text.starts_with("title: 1 of 1 pull request not ready: #11\n"),
            "{text}"
        );
        assert!(text.contains("- [#11](https://github.com/octo-org/widgets/pull/11): waiting for approval: 0 of 1\n"), "{text}");
    }

    #[test]
    fn an_override_passes_an_oversized_pr() {
        let overridden = scored(13, tested(900), Some("maint"));
        assert!(overridden.passes());
        let (conclusion, text) = render(&[overridden]);
        assert_eq!(conclusion, Conclusion::Pass);
        assert!(text.contains("its gate was overridden by @maint"), "{text}");
    }

    #[test]
    fn a_held_pr_fails_the_group_naming_the_hold_even_when_overridden() {
        let mut held = scored(14, tested(40).approve("bob"), Some("maint"));
        if let Standing::Evaluated { held: hold, .. } = &mut held.standing {
            *hold = Some(HoldNote {
                holder: "maya".into(),
                reason: Some("freeze until Monday".into()),
                at: "2026-11-27T10:00:00Z".into(),
            });
        }
        assert!(!held.passes());
        let (conclusion, text) = render(&[held]);
        assert_eq!(conclusion, Conclusion::Fail);
        assert!(
            text.contains("- [#14](https://github.com/octo-org/widgets/pull/14): held by @maya (freeze until Monday); `/unhold` releases it\n"),
            "{text}"
        );
    }

    #[test]
    fn advice_alone_does_not_block_and_a_closed_pr_does() {
        // 60 source lines and no test: advised, not blocking, so it passes.
        let advised = member(7, pr().file("src/a.rs", 60, 0).approve("bob"));
        assert!(advised.passes());
        let closed = Member {
            number: PrNumber(8),
            url: "u".into(),
            standing: Standing::NotOpen,
        };
        let (conclusion, text) = render(&[advised, closed]);
        assert_eq!(conclusion, Conclusion::Fail);
        assert!(text.contains("- [#8](u): no longer open\n"), "{text}");
    }
}
