//! Which shipped change a merged one reverts, from what the revert tools write: GitHub's
//! revert button (`Reverts owner/repo#12`), GitLab's (`This reverts merge request !12`),
//! `git revert` (`This reverts commit <sha>.`), smallbatch's own revert (`Reverts #12`),
//! and, failing those, the title they all give (`Revert "<title>"`). A revert made by
//! hand is a failure of the change it reverts all the same.
use crate::domain::ForgeKind;

/// A change smallbatch shipped, as a revert may name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shipped<'a> {
    pub change: u64,
    pub title: &'a str,
    pub merge_sha: Option<&'a str>,
}

/// The change among `shipped` that the merged change (`title`, `body`) reverts. `repo`
/// is the repository's full name, as GitHub's button writes it. Later entries of
/// `shipped` win a tie on the title (pass them oldest first).
pub fn reverted_change(
    forge: ForgeKind,
    repo: &str,
    title: &str,
    body: &str,
    shipped: &[Shipped],
) -> Option<u64> {
    let known = |n: u64| shipped.iter().any(|s| s.change == n).then_some(n);
    let sigil = match forge {
        ForgeKind::GitHub => '#',
        ForgeKind::GitLab => '!',
    };
    for line in body.lines().map(str::trim) {
        let named = line
            .strip_prefix("Reverts ")
            .or_else(|| line.strip_prefix("This reverts merge request "))
            .map(|rest| rest.strip_prefix(repo).unwrap_or(rest))
            .and_then(|rest| rest.strip_prefix(sigil))
            .and_then(leading_number);
        if let Some(n) = named.and_then(known) {
            return Some(n);
        }
        if let Some(sha) = line.strip_prefix("This reverts commit ") {
            let sha: String = sha.chars().take_while(char::is_ascii_hexdigit).collect();
            let by_sha = shipped.iter().find(|s| {
                sha.len() >= 7
                    && s.merge_sha
                        .is_some_and(|m| m.starts_with(&sha) || sha.starts_with(m))
            });
            if let Some(s) = by_sha {
                return Some(s.change);
            }
        }
    }
    let reverted_title = title
        .trim()
        .strip_prefix("Revert \"")
        .and_then(|t| t.strip_suffix('"'))?;
    shipped
        .iter()
        .rev()
        .find(|s| s.title == reverted_title)
        .map(|s| s.change)
}

fn leading_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: [Shipped; 3] = [
        Shipped {
            change: 7,
            title: "Add invoices",
            merge_sha: Some("eeee0007aaaabbbbccccddddeeeeffff00001111"),
        },
        Shipped {
            change: 8,
            title: "Fix the footer",
            merge_sha: None,
        },
        Shipped {
            change: 9,
            title: "Add invoices",
            merge_sha: Some("eeee0009aaaabbbbccccddddeeeeffff00001111"),
        },
    ];

    fn github(title: &str, body: &str) -> Option<u64> {
        reverted_change(ForgeKind::GitHub, "o/r", title, body, &SHIPPED)
    }

    fn gitlab(title: &str, body: &str) -> Option<u64> {
        reverted_change(ForgeKind::GitLab, "g/p", title, body, &SHIPPED)
    }

    #[test]
    fn each_revert_tools_words_name_the_change() {
        // GitHub's revert button.
        assert_eq!(
            github("Revert \"Fix the footer\"", "Reverts o/r#7"),
            Some(7)
        );
        // smallbatch's own revert body.
        assert_eq!(
            github("x", "Reverts #8 (`abc1234`), which regressed"),
            Some(8)
        );
        // GitLab's revert button on a merge request.
        assert_eq!(
            gitlab("Revert \"Add invoices\"", "This reverts merge request !7"),
            Some(7)
        );
        // `git revert` of the merge commit, short or full.
        assert_eq!(
            github("Undo", "Oops.\n\nThis reverts commit eeee0009aaaa."),
            Some(9)
        );
        assert_eq!(
            gitlab(
                "Undo",
                "This reverts commit eeee0007aaaabbbbccccddddeeeeffff00001111."
            ),
            Some(7)
        );
    }

    #[test]
    fn the_title_is_the_last_resort_and_the_latest_ship_wins() {
        assert_eq!(github("Revert \"Add invoices\"", ""), Some(9));
        assert_eq!(
            github("Revert \"Fix the footer\"", "Reverts o/r#99"),
            Some(8)
        );
    }

    #[test]
    fn nothing_else_is_a_revert() {
        assert_eq!(github("Add invoices", "Reverts nothing, see #7"), None);
        assert_eq!(github("Revert \"Something never shipped\"", ""), None);
        assert_eq!(github("x", "This reverts commit eee."), None);
        assert_eq!(github("x", "please look at Reverts #7"), None);
        // Each forge's own reference: `#7` on GitLab is an issue.
        assert_eq!(gitlab("x", "Reverts #7"), None);
    }
}
