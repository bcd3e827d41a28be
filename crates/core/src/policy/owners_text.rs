//! How owners' approvals read, in the check's summary and in the guidance comment: which
//! files still wait, whom to ask, and which owners cannot count.
use super::codeowners::Owner;
use super::owners::{OwnerGroup, OwnersOutcome, Source, Unresolved, Why};
use super::text::{code, count, counted, people};
use crate::domain::ForgeKind;
use std::fmt::Write;

/// Paths named in one line before "and N more files".
const MAX_PATHS: usize = 10;
/// Groups listed before "and N more".
const MAX_GROUPS: usize = 30;

/// `.github/CODEOWNERS` line 2, `CODEOWNERS` lines 3 and 7 (section Docs), `reviews.rules[0]`.
pub fn source(source: &Source) -> String {
    match source {
        Source::Codeowners {
            file,
            section,
            lines,
        } => {
            let numbers: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let lines = match numbers.as_slice() {
                [one] => format!("line {one}"),
                [init @ .., last] => format!("lines {} and {last}", init.join(", ")),
                [] => String::new(),
            };
            match section {
                Some(s) => format!("{} {lines}, section [{s}]", code(file)),
                None => format!("{} {lines}", code(file)),
            }
        }
        Source::Rule { index } => format!("`reviews.rules[{index}]`"),
    }
}

/// `` `a.rs` ``, `` `a.rs` and `b.rs` ``, `` `a.rs`, `b.rs` … and 3 more files ``.
fn paths(paths: &[String]) -> String {
    let named: Vec<String> = paths.iter().take(MAX_PATHS).map(|p| code(p)).collect();
    let rest = paths.len().saturating_sub(MAX_PATHS) as u64;
    match (named.as_slice(), rest) {
        ([one], 0) => one.clone(),
        ([init @ .., last], 0) => format!("{} and {last}", init.join(", ")),
        (all, rest) => format!(
            "{} and {} more {}",
            all.join(", "),
            count(rest),
            if rest == 1 { "file" } else { "files" }
        ),
    }
}

/// `@alice or @org/team`.
pub fn either(owners: &[Owner]) -> String {
    let named: Vec<String> = owners.iter().map(Owner::to_string).collect();
    match named.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What a waiting group still needs, and from whom.
fn needs(g: &OwnerGroup) -> String {
    let missing = u64::from(g.need).saturating_sub(g.approved_by.len() as u64);
    let word = if missing == 1 {
        "approval"
    } else {
        "approvals"
    };
    let approvals = if g.approved_by.is_empty() {
        format!("{} {word}", count(missing))
    } else {
        format!("{} more {word}", count(missing))
    };
    let mut text = if g.owners.is_empty() {
        format!("{approvals} from anyone but the author")
    } else if g.ask.is_empty() {
        format!(
            "{approvals}, and no other owner can give it: name more owners, or override the gate"
        )
    } else if missing == 1 && g.approved_by.is_empty() {
        format!("ask {}", either(&g.ask))
    } else {
        format!("{approvals} from {}", either(&g.ask))
    };
    if !g.approved_by.is_empty() {
        let _ = write!(text, "; approved by {}", people(&g.approved_by));
    }
    text
}

/// Why an owner's approvals cannot count, in `forge`'s words.
fn unresolved(u: &Unresolved, forge: ForgeKind) -> String {
    let owner = &u.owner;
    match (u.why, forge) {
        (Why::Email, _) => format!(
            "{owner}: approvals carry usernames, not email addresses; name this owner by @username"
        ),
        (Why::NotFound, ForgeKind::GitHub) => format!(
            "{owner}: GitHub found no such team, or the app cannot see it (it needs the \
             organization permission \"Members: read\"); its members' approvals cannot count"
        ),
        (Why::Forbidden, ForgeKind::GitHub) => format!(
            "{owner}: the app may not read this team's members; grant it the organization \
             permission \"Members: read\""
        ),
        (Why::NotFound, ForgeKind::GitLab) => format!(
            "{owner}: GitLab found no such group, or the bot's token cannot see it; its \
             members' approvals cannot count"
        ),
        (Why::Forbidden, ForgeKind::GitLab) => {
            format!("{owner}: the bot's token may not read this group's members")
        }
    }
}

/// The check summary's section: every group, waiting or approved.
pub fn check_section(out: &mut String, owners: &OwnersOutcome, truncated: bool) {
    let approved = owners.groups.iter().filter(|g| !g.waiting()).count() as u64;
    let _ = writeln!(
        out,
        "### Owners: {} of {} approved\n",
        count(approved),
        counted(owners.groups.len() as u64, "group", "groups")
    );
    // Waiting first: that is what the reader came for.
    let mut ordered: Vec<&OwnerGroup> = owners.waiting().collect();
    ordered.extend(owners.groups.iter().filter(|g| !g.waiting()));
    for g in ordered.iter().take(MAX_GROUPS) {
        if g.waiting() {
            let _ = writeln!(
                out,
                "- **Waiting:** {}: {} ({}).",
                paths(&g.paths),
                needs(g),
                source(&g.source)
            );
        } else {
            let _ = writeln!(
                out,
                "- **Approved:** {} by {} ({}).",
                paths(&g.paths),
                people(&g.approved_by),
                source(&g.source)
            );
        }
    }
    more_groups(out, ordered.len());
    unresolved_notes(out, owners);
    if truncated {
        out.push_str("\nOnly the listed files could be matched against their owners.\n");
    }
    out.push('\n');
}

/// The guidance comment's section: only what still waits.
pub fn comment_section(out: &mut String, owners: &OwnersOutcome, waits: &str) {
    let _ = writeln!(
        out,
        "#### Waiting for owners\n\n\
         These files still need an approval from one of their owners, so {waits} until they \
         have it:\n"
    );
    let waiting: Vec<&OwnerGroup> = owners.waiting().collect();
    for g in waiting.iter().take(MAX_GROUPS) {
        let _ = writeln!(
            out,
            "- {}: {} ({})",
            paths(&g.paths),
            needs(g),
            source(&g.source)
        );
    }
    more_groups(out, waiting.len());
    unresolved_notes(out, owners);
    out.push('\n');
}

fn more_groups(out: &mut String, total: usize) {
    if total > MAX_GROUPS {
        let _ = writeln!(out, "- …and {} more.", count((total - MAX_GROUPS) as u64));
    }
}

fn unresolved_notes(out: &mut String, owners: &OwnersOutcome) {
    let notes = owners.unresolved();
    if notes.is_empty() {
        return;
    }
    out.push_str("\n**Owners whose approvals cannot count:**\n\n");
    for u in notes {
        let _ = writeln!(out, "- {}", unresolved(u, owners.forge));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_path_lists_are_cut() {
        let many: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
        assert_eq!(
            paths(&many),
            "`f0`, `f1`, `f2`, `f3`, `f4`, `f5`, `f6`, `f7`, `f8`, `f9` and 2 more files"
        );
        assert_eq!(paths(&many[..2]), "`f0` and `f1`");
        assert_eq!(paths(&many[..1]), "`f0`");
    }

    #[test]
    fn sources_name_the_file_lines_and_section() {
        let s = Source::Codeowners {
            file: "CODEOWNERS".into(),
            section: Some("Docs".into()),
            lines: vec![3, 7, 9],
        };
        assert_eq!(source(&s), "`CODEOWNERS` lines 3, 7 and 9, section [Docs]");
        assert_eq!(source(&Source::Rule { index: 1 }), "`reviews.rules[1]`");
    }
}
