//! Stacked changes: a change whose base branch is another open change's head branch. It is
//! sized against that base (what it asks reviewers to read), and its texts name the changes
//! below it with their sizes, and the stack's total.
use super::text::{code, count, lines};
use super::Evaluation;
use crate::domain::{ForgeKind, PrNumber};
use serde::Serialize;
use std::fmt::Write;

/// An open change below this one in its stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackedPr {
    pub number: PrNumber,
    /// Its head branch: the base of the change above it.
    pub branch: String,
    /// Its score when it was last evaluated.
    pub lines: u64,
}

/// Counted lines of the change and of every change below it.
pub fn total(eval: &Evaluation) -> u64 {
    eval.size.lines + eval.stack.iter().map(|p| p.lines).sum::<u64>()
}

/// How a forge refers to one of its changes in text: `#12` on GitHub, `!12` on GitLab.
fn reference(forge: ForgeKind, number: PrNumber) -> String {
    match forge {
        ForgeKind::GitHub => format!("#{number}"),
        ForgeKind::GitLab => format!("!{number}"),
    }
}

/// The section naming the stack, for the check and the guidance comment; `None` when the
/// change is on no other.
pub fn section(eval: &Evaluation, forge: ForgeKind, heading: &str) -> Option<String> {
    let below = eval.stack.first()?;
    let noun = forge.change_noun();
    let mut out = format!(
        "{heading} Stacked on {}\n\n\
         This {noun} is based on {}'s branch {}, not on the branch it will finally merge \
         into, so only its own changes count: **{}**. The {noun}s below it, nearest first:\n\n\
         | {} | Branch | Lines |\n|---|---|---:|\n",
        reference(forge, below.number),
        reference(forge, below.number),
        code(&below.branch),
        lines(eval.size.lines),
        capitalized(noun),
    );
    for pr in &eval.stack {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            reference(forge, pr.number),
            code(&pr.branch),
            count(pr.lines)
        );
    }
    let _ = write!(
        out,
        "\nThe whole stack, this {noun} included, counts **{}**. Merge from the bottom up; \
         each {noun} is scored again when it is retargeted.\n\n",
        lines(total(eval))
    );
    Some(out)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plain_base, pr};
    use crate::policy::{evaluate, RepoConfig};

    fn stacked() -> Evaluation {
        let snap = pr().file("src/c.rs", 5, 3).build();
        evaluate(&snap, &RepoConfig::default(), &plain_base()).with_stack(vec![
            StackedPr {
                number: PrNumber(12),
                branch: "feature-b".into(),
                lines: 180,
            },
            StackedPr {
                number: PrNumber(11),
                branch: "feature-a".into(),
                lines: 1_200,
            },
        ])
    }

    #[test]
    fn the_stack_is_named_nearest_first_with_its_total() {
        let text = section(&stacked(), ForgeKind::GitHub, "####").unwrap();
        assert!(text.starts_with("#### Stacked on #12\n"), "{text}");
        assert!(text.contains("based on #12's branch `feature-b`"), "{text}");
        assert!(
            text.contains("only its own changes count: **8 lines**"),
            "{text}"
        );
        assert!(
            text.contains("| #12 | `feature-b` | 180 |\n| #11 | `feature-a` | 1,200 |\n"),
            "{text}"
        );
        assert!(text.contains("counts **1,388 lines**"), "{text}");
        assert_eq!(total(&stacked()), 1_388);
    }

    #[test]
    fn on_gitlab_the_stack_is_of_merge_requests() {
        let text = section(&stacked(), ForgeKind::GitLab, "###").unwrap();
        assert!(text.starts_with("### Stacked on !12\n"), "{text}");
        assert!(
            text.contains("| Merge request | Branch | Lines |"),
            "{text}"
        );
        assert!(!text.contains("pull request"), "{text}");
    }

    #[test]
    fn no_stack_no_section() {
        let e = evaluate(&pr().build(), &RepoConfig::default(), &plain_base());
        assert_eq!(section(&e, ForgeKind::GitHub, "####"), None);
    }
}
