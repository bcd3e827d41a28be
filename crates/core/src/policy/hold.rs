//! `/hold`: a brake on one change. The gate waits while it is held, naming who holds it
//! and why; the merge queue and `/ship` refuse it too.
use super::command_text::role;
use super::render::CheckText;
use crate::domain::{ForgeKind, Permission};

/// A hold on a change, as the texts show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldNote {
    pub holder: String,
    pub reason: Option<String>,
    /// When it was put on (RFC 3339).
    pub at: String,
}

impl HoldNote {
    /// `@alice (waiting for the freeze to end)`, or `@alice` without a reason.
    pub fn who_and_why(&self) -> String {
        match &self.reason {
            Some(reason) => format!("@{} ({})", self.holder, one_line(reason)),
            None => format!("@{}", self.holder),
        }
    }
}

/// The check on a held change: waiting, the hold first, then the verdict it holds back.
/// `unhold_needs`: who besides the holder may release it.
pub fn held_check(
    original: CheckText,
    note: &HoldNote,
    unhold_needs: Permission,
    forge: ForgeKind,
) -> CheckText {
    let why = match &note.reason {
        Some(reason) => format!("> {}\n\n", one_line(reason)),
        None => String::new(),
    };
    CheckText {
        title: format!("Held by {}: {}", note.who_and_why(), original.title),
        summary: format!(
            "### Held\n\n\
             @{} put this {change} on hold at {}.\n\n{why}\
             Nothing merges it while it is held: not `/ship`, not the merge queue, and not \
             `/override`. `/unhold` releases it: @{}, or anyone with the {} or higher.\n\n{}",
            note.holder,
            note.at,
            note.holder,
            role(unhold_needs, forge),
            original.summary,
            change = forge.change_noun(),
        ),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_check_names_the_holder_and_the_reason_before_the_verdict() {
        let original = CheckText {
            title: "30 lines, 1 approval: ready".into(),
            summary: "### Ready\n".into(),
        };
        let note = HoldNote {
            holder: "maya".into(),
            reason: Some("waiting for the\nfreeze to end".into()),
            at: "2026-11-27T10:00:00Z".into(),
        };
        let text = held_check(original, &note, Permission::Maintain, ForgeKind::GitHub);
        assert_eq!(
            text.title,
            "Held by @maya (waiting for the freeze to end): 30 lines, 1 approval: ready"
        );
        insta::assert_snapshot!(text.summary, @r"
        ### Held

        @maya put this pull request on hold at 2026-11-27T10:00:00Z.

        > waiting for the freeze to end

        Nothing merges it while it is held: not `/ship`, not the merge queue, and not `/override`. `/unhold` releases it: @maya, or anyone with the `maintain` permission or higher.

        ### Ready
        ");
        let gitlab = held_check(
            CheckText {
                title: "t".into(),
                summary: String::new(),
            },
            &HoldNote {
                reason: None,
                ..note
            },
            Permission::Maintain,
            ForgeKind::GitLab,
        );
        assert_eq!(gitlab.title, "Held by @maya: t");
        assert!(gitlab.summary.contains("this merge request on hold"));
        assert!(gitlab.summary.contains("Maintainer role or higher"));
    }
}
