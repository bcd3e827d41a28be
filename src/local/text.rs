//! What `smallbatch check` prints by default: plain text for a terminal.
//!
//! The verdict, the range and where the policy came from; then the guidance the PR comment
//! would give, without its markup; then every file, counted ones with their counts and the
//! others with the reason they don't count.
use super::evaluate::{owners_to_ask, BasePolicy};
use super::git::Range;
use super::plain::plain_text;
use crate::domain::{FileStatus, ForgeKind};
use crate::policy::codeowners::Owner;
use crate::policy::comment::guidance_comment;
use crate::policy::config::CONFIG_PATHS;
use crate::policy::owners::Source;
use crate::policy::render::check_text;
use crate::policy::{Evaluation, Exclusion, FileOutcome};
use std::io::{self, Write};

pub fn write_text(
    out: &mut dyn Write,
    range: &Range,
    policy: &BasePolicy,
    eval: &Evaluation,
) -> io::Result<()> {
    writeln!(out, "{}", check_text(eval).title)?;
    writeln!(
        out,
        "Committed work from the merge-base {} with {} to HEAD {}.",
        short(&range.merge_base),
        range.base.name,
        short(&range.head),
    )?;
    let tip = format!(
        "the tip of {}, {}",
        range.base.name,
        short(&range.base.commit)
    );
    match policy.file {
        Some(file) => writeln!(out, "Policy: {file} at {tip}.")?,
        None => writeln!(
            out,
            "Policy: the defaults, no {} at {tip}.",
            CONFIG_PATHS.join(" or ")
        )?,
    }
    write_owners(out, eval, policy)?;
    // The forge is not known here; the guidance is worded as on GitHub.
    if let Some(comment) = guidance_comment(eval, ForgeKind::GitHub) {
        writeln!(out, "\n{}", plain_text(&comment))?;
    }
    if eval.size.files.is_empty() {
        return writeln!(out, "\nNo file changed from the merge-base to HEAD.");
    }
    write_counted(out, eval)?;
    write_excluded(out, eval)
}

/// Whom the change will ask, one line per group of files with the same owners.
fn write_owners(out: &mut dyn Write, eval: &Evaluation, policy: &BasePolicy) -> io::Result<()> {
    let owners = owners_to_ask(eval, policy);
    if owners.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nOwners to ask:")?;
    for group in &owners.groups {
        let whom: Vec<String> = group.owners.iter().map(Owner::to_string).collect();
        let whom = match whom.as_slice() {
            [] => "anyone but the author".to_owned(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let whom = match group.need {
            1 => whom,
            n => format!("{n} approvals from {whom}"),
        };
        let source = match &group.source {
            Source::Codeowners {
                file,
                section,
                lines,
            } => {
                let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let word = if lines.len() == 1 { "line" } else { "lines" };
                match section {
                    Some(s) => format!("{file} {word} {}, section [{s}]", lines.join(", ")),
                    None => format!("{file} {word} {}", lines.join(", ")),
                }
            }
            Source::Rule { index } => format!("reviews.rules[{index}]"),
        };
        writeln!(out, "  {}: {whom} ({source})", group.paths.join(", "))?;
    }
    Ok(())
}

/// A table in the shape of `git diff --numstat`, with the lines each file adds to the score.
fn write_counted(out: &mut dyn Write, eval: &Evaluation) -> io::Result<()> {
    let counted: Vec<&FileOutcome> = eval.size.counted().collect();
    if counted.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nCounted: {}, {} (a file counts its added plus deleted lines; a deleted file 1, a \
         binary file 0)",
        files(eval.size.counted_files as usize),
        plural(eval.size.lines, "line", "lines")
    )?;
    for budget in &eval.size.budgets {
        writeln!(
            out,
            "Path budget {}: {} of {} lines in {}, counted apart{}",
            budget.paths.join(", "),
            budget.lines,
            budget.max_lines,
            files(budget.files as usize),
            if budget.over() { ", over" } else { "" }
        )?;
    }
    // git's numstat shows `-` for a binary file's counts.
    let numbers = |f: &FileOutcome| {
        if f.binary {
            ["-".to_owned(), "-".to_owned(), f.lines.to_string()]
        } else {
            [f.additions, f.deletions, f.lines].map(|n| n.to_string())
        }
    };
    let header = ["added", "deleted", "lines"];
    let widths = counted
        .iter()
        .map(|f| numbers(f))
        .fold(header.map(str::len), |widths, row| {
            [0, 1, 2].map(|i| widths[i].max(row[i].len()))
        });
    let [added, deleted, lines] = widths;
    writeln!(
        out,
        "  {:>added$}  {:>deleted$}  {:>lines$}  file",
        header[0], header[1], header[2]
    )?;
    for file in counted {
        let [a, d, l] = numbers(file);
        let mut what = described(file);
        if let Some(budget) = file.budget.and_then(|i| eval.size.budgets.get(i)) {
            what.push_str(&format!(" (budget {})", budget.paths.join(", ")));
        }
        writeln!(out, "  {a:>added$}  {d:>deleted$}  {l:>lines$}  {what}")?;
    }
    Ok(())
}

fn write_excluded(out: &mut dyn Write, eval: &Evaluation) -> io::Result<()> {
    let excluded: Vec<(&FileOutcome, &Exclusion)> = eval.size.excluded().collect();
    if excluded.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNot counted: {}", files(excluded.len()))?;
    for (file, why) in excluded {
        writeln!(out, "  {} ({})", described(file), reason(why))?;
    }
    Ok(())
}

/// The path, and what else the reader should know about the file.
fn described(file: &FileOutcome) -> String {
    let mut text = file.path.clone();
    if let Some(previous) = &file.previous_path {
        text.push_str(&format!(" (from {previous})"));
    }
    if file.status == FileStatus::Removed {
        text.push_str(" (deleted)");
    }
    if file.binary {
        text.push_str(" (binary)");
    }
    text
}

/// Why a file does not count, in the words of the check run's "Not counted" table.
fn reason(why: &Exclusion) -> String {
    match why {
        Exclusion::LockFile => "lock file".to_owned(),
        Exclusion::VendoredPath { dir } => format!("vendored path {dir}"),
        Exclusion::LinguistGenerated => "linguist-generated in .gitattributes".to_owned(),
        Exclusion::LinguistVendored => "linguist-vendored in .gitattributes".to_owned(),
        Exclusion::Ignored { pattern } => format!("size.ignore pattern {pattern}"),
    }
}

fn files(n: usize) -> String {
    plural(n as u64, "file", "files")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn short(oid: &git2::Oid) -> String {
    let full = oid.to_string();
    full[..7.min(full.len())].to_owned()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::FileChange;
    use crate::local::git::Base;
    use crate::policy::{evaluate_local, RepoConfig};
    use git2::Oid;

    /// Fails when `text` holds markdown or HTML that a terminal would show as is.
    pub fn assert_plain(text: &str) {
        for markup in ["##", "**", "`", "<details", "<!--", "<sub", "|---", "| "] {
            assert!(!text.contains(markup), "{markup:?} in:\n{text}");
        }
    }

    fn file(path: &str, status: FileStatus, additions: u64, deletions: u64) -> FileChange {
        FileChange {
            path: path.to_owned(),
            previous_path: None,
            status,
            additions,
            deletions,
            binary: false,
        }
    }

    fn range() -> Range {
        let oid = |digit: &str| Oid::from_str(&digit.repeat(40)).expect("hex");
        Range {
            base: Base {
                name: "main".to_owned(),
                commit: oid("3"),
            },
            merge_base: oid("1"),
            head: oid("2"),
        }
    }

    fn text_of(files: &[FileChange], policy: &BasePolicy) -> String {
        let eval = evaluate_local(files, &policy.config, policy.gitattributes.as_deref());
        let mut out = Vec::new();
        write_text(&mut out, &range(), policy, &eval).expect("write to a Vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert_plain(&text);
        text
    }

    fn policy(file: Option<&'static str>, yaml: &str, gitattributes: Option<&str>) -> BasePolicy {
        BasePolicy {
            config: RepoConfig::parse("policy.yml", yaml).expect("valid policy"),
            file,
            gitattributes: gitattributes.map(str::to_owned),
            codeowners: None,
        }
    }

    #[test]
    fn owners_to_ask_are_listed_per_group_of_files() {
        let files = [
            file("src/billing/a.rs", FileStatus::Modified, 10, 2),
            file("src/billing/b.rs", FileStatus::Added, 5, 0),
            file("db/schema.sql", FileStatus::Modified, 3, 0),
            file("tests/a.rs", FileStatus::Added, 5, 0),
        ];
        let mut policy = policy(
            Some(".github/smallbatch.yml"),
            "reviews:\n  owners: codeowners\n  rules:\n    - paths: ['db/**']\n      \
             required_approvals: 2\n      from: [dba-ann, acme/dba]\n",
            None,
        );
        policy.codeowners = Some(
            crate::policy::CodeOwners::parse(
                ".github/CODEOWNERS",
                "* @lead\n/src/billing/ @carol @acme/billing\n",
                ForgeKind::GitHub,
            )
            .expect("valid CODEOWNERS"),
        );
        let text = text_of(&files, &policy);
        let owners: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "Owners to ask:")
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            owners,
            [
                "Owners to ask:",
                "  src/billing/a.rs, src/billing/b.rs: @carol or @acme/billing (.github/CODEOWNERS line 2)",
                "  db/schema.sql, tests/a.rs: @lead (.github/CODEOWNERS line 1)",
                "  db/schema.sql: 2 approvals from @dba-ann or @acme/dba (reviews.rules[0])",
            ]
        );
    }

    #[test]
    fn over_the_limits_with_every_kind_of_file() {
        use FileStatus::*;
        let files = [
            FileChange {
                previous_path: Some("src/engine.rs".to_owned()),
                ..file("src/core/engine.rs", Renamed, 2, 1)
            },
            file("src/lib.rs", Modified, 300, 20),
            file("src/old.rs", Removed, 0, 5),
            file("web/app.ts", Added, 150, 0),
            FileChange {
                binary: true,
                ..file("assets/logo.png", Added, 0, 0)
            },
            file("Cargo.lock", Modified, 500, 120),
            file("web/node_modules/left-pad/index.js", Added, 10, 0),
            file("generated/api.rs", Added, 900, 0),
            file("legacy/old.rb", Modified, 3, 3),
            file("docs/guide.md", Added, 40, 0),
        ];
        let policy = policy(
            Some(".github/smallbatch.yml"),
            "size:\n  max_files: 4\n  ignore: [\"docs/*.md\"]\n",
            Some("generated/** linguist-generated\nlegacy/** linguist-vendored\n"),
        );
        insta::assert_snapshot!(text_of(&files, &policy));
    }

    #[test]
    fn a_path_budget_counts_apart_and_names_its_files() {
        let files = [
            file(
                "db/migrations/0042_accounts.sql",
                FileStatus::Added,
                2100,
                0,
            ),
            file("src/accounts.rs", FileStatus::Modified, 20, 4),
            file("tests/accounts.rs", FileStatus::Added, 12, 0),
        ];
        let policy = policy(
            Some(".github/smallbatch.yml"),
            "size:\n  paths:\n    - paths: ['db/migrations/']\n      max_lines: 2000\n",
            None,
        );
        insta::assert_snapshot!(text_of(&files, &policy));
    }

    #[test]
    fn within_the_limits_on_the_default_policy() {
        let files = [
            file("src/a.rs", FileStatus::Modified, 10, 2),
            file("tests/a.rs", FileStatus::Added, 5, 0),
        ];
        insta::assert_snapshot!(text_of(&files, &policy(None, "{}", None)));
    }

    #[test]
    fn nothing_committed_since_the_merge_base() {
        let text = text_of(&[], &policy(Some(".smallbatch.yml"), "{}", None));
        insta::assert_snapshot!(text);
    }
}
