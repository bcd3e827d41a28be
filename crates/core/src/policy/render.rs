//! The check run's title and summary.
use super::config::config_paths;
use super::exempt::SizeExemption;
use super::size::{Exclusion, FileOutcome};
use super::text::{code, count, counted, files, lines, people};
use super::{Conclusion, ConfigError, Evaluation, Reason};
use crate::domain::FileStatus;
use std::fmt::Write;

/// Rows shown per table: a check summary is capped at 65,535 characters by GitHub.
const MAX_ROWS: usize = 50;
/// Test files named before "and N more".
const MAX_TEST_FILES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckText {
    pub title: String,
    pub summary: String,
}

/// One line: the score, approvals when there are any, and what stands in the way.
pub fn check_text(eval: &Evaluation) -> CheckText {
    CheckText {
        title: title(eval),
        summary: summary(eval),
    }
}

fn title(eval: &Evaluation) -> String {
    let mut head = lines(eval.size.lines);
    let approvals = eval.reviews.approvers.len() as u64;
    if approvals > 0 {
        head = format!("{head}, {}", counted(approvals, "approval", "approvals"));
    }
    let mut findings: Vec<String> = eval.verdict.reasons.iter().map(short_reason).collect();
    if eval.verdict.conclusion == Conclusion::Pass {
        findings.insert(0, "ready".to_owned());
    }
    format!("{head}: {}", findings.join("; "))
}

fn short_reason(reason: &Reason) -> String {
    match reason {
        Reason::Draft => "draft".to_owned(),
        Reason::SizeExempt { by } => format!("size rule skipped ({})", exemption_short(by)),
        Reason::Oversized { max, .. } => format!("over the {}-line limit", count(*max)),
        Reason::TooManyFiles { files: n, max } => {
            format!("{}, over the {}-file limit", files(*n), count(*max))
        }
        // Titles are plain text on both forges: no code spans.
        Reason::OverBudget { paths, max, .. } => {
            format!("{} over its {}-line budget", paths.join(", "), count(*max))
        }
        Reason::ChangesRequested { by } => format!("changes requested by {}", people(by)),
        Reason::ReviewsExempt { .. } => "review rule skipped".to_owned(),
        Reason::NeedsApprovals { have, need } => {
            let missing = u64::from(need.saturating_sub(*have));
            let more = if *have > 0 { " more" } else { "" };
            format!(
                "needs {missing}{more} {}",
                if missing == 1 {
                    "approval"
                } else {
                    "approvals"
                }
            )
        }
        Reason::NeedsOwnerApproval { files: n } => {
            format!("needs an owner's approval for {}", files(*n))
        }
        Reason::TestsMissing { blocking: true } => "tests missing".to_owned(),
        Reason::TestsMissing { blocking: false } => "no tests changed".to_owned(),
    }
}

fn summary(eval: &Evaluation) -> String {
    let mut out = String::new();
    verdict_section(&mut out, eval);
    size_section(&mut out, eval);
    reviews_section(&mut out, eval);
    if !eval.reviews.owners.is_empty() {
        super::owners_text::check_section(
            &mut out,
            &eval.reviews.owners,
            eval.size.truncated.is_some(),
        );
    }
    tests_section(&mut out, eval);
    out
}

fn verdict_section(out: &mut String, eval: &Evaluation) {
    let heading = match eval.verdict.conclusion {
        Conclusion::Pass => "Ready",
        Conclusion::Wait => "Waiting",
        Conclusion::Fail => "Failing",
    };
    let _ = writeln!(out, "### {heading}\n");
    if eval.verdict.reasons.is_empty() {
        let _ = writeln!(
            out,
            "- Within the size limit, approved, and nothing outstanding.\n"
        );
        return;
    }
    for reason in &eval.verdict.reasons {
        let _ = writeln!(out, "- {}", long_reason(reason, eval));
    }
    out.push('\n');
}

fn long_reason(reason: &Reason, eval: &Evaluation) -> String {
    match reason {
        Reason::Draft => "**Draft:** nothing is enforced until it is marked ready for review; \
                          the findings below are shown as guidance."
            .to_owned(),
        Reason::Oversized { lines: n, max } => format!(
            "**Too large:** {} counted, over the limit of {} (`size.max_lines`).",
            lines(*n),
            count(*max)
        ),
        Reason::TooManyFiles { files: n, max } => format!(
            "**Too many files:** {} counted, over the limit of {} (`size.max_files`).",
            files(*n),
            count(*max)
        ),
        Reason::OverBudget { paths, lines: n, max } => format!(
            "**Over a path budget:** {} counted under {}, over its budget of {} (`size.paths`).",
            lines(*n),
            budget_name(paths),
            count(*max)
        ),
        Reason::SizeExempt { by } => format!("**Size rule skipped:** {}.", exemption_long(by)),
        Reason::ReviewsExempt { author } => format!(
            "**Review rule skipped:** @{author} is in `exempt.authors` and `exempt.reviews` \
             is on, so no approval is needed."
        ),
        Reason::ChangesRequested { by } => format!(
            "**Changes requested** by {}: waiting for a new review or for the review to be dismissed.",
            people(by)
        ),
        Reason::NeedsApprovals { have, need } => format!(
            "**Needs approval:** {have} of {need} required (`reviews.required_approvals`)."
        ),
        Reason::NeedsOwnerApproval { files: n } => format!(
            "**Needs owners' approval:** {} still {} an approval from one of {} owners; \
             see Owners below for whom to ask.",
            files(*n),
            if *n == 1 { "lacks" } else { "lack" },
            if *n == 1 { "its" } else { "their" }
        ),
        Reason::TestsMissing { blocking } => {
            let source = lines(eval.tests.source_lines);
            if *blocking {
                format!("**Tests missing:** {source} of source changed and no test file did (`tests.required`).")
            } else {
                format!("**No tests changed** (advice only): {source} of source changed and no test file did.")
            }
        }
    }
}

/// The short form of what skipped the size rule, for the title.
fn exemption_short(by: &SizeExemption) -> String {
    match by {
        SizeExemption::Author { login } => format!("author @{login}"),
        SizeExemption::Label { name } => format!("label {name}"),
    }
}

/// What skipped the size rule and the policy key that says so.
pub(crate) fn exemption_long(by: &SizeExemption) -> String {
    match by {
        SizeExemption::Author { login } => {
            format!("the author @{login} is in `exempt.authors`")
        }
        SizeExemption::Label { name } => format!("label {} is in `exempt.labels`", code(name)),
    }
}

fn budget_name(paths: &[String]) -> String {
    paths.iter().map(|p| code(p)).collect::<Vec<_>>().join(", ")
}

fn size_section(out: &mut String, eval: &Evaluation) {
    let size = &eval.size;
    let _ = writeln!(
        out,
        "### Size: {} in {} (`{}`)\n",
        lines(size.lines),
        files(size.counted_files),
        eval.label.name()
    );
    let file_limit = size.max_files.map_or("no file limit".to_owned(), |m| {
        format!("at most {}", files(m))
    });
    let _ = writeln!(
        out,
        "Limit {} (guidance from {}), {file_limit}. A file counts its added plus deleted lines; \
         a deleted file counts 1 line, a binary file 0.\n",
        lines(size.max_lines),
        count(size.warn_lines)
    );
    if !size.budgets.is_empty() {
        out.push_str(
            "Path budgets (`size.paths`): their files count toward them, not the limit.\n\n",
        );
        for b in &size.budgets {
            let _ = writeln!(
                out,
                "- {}: {} of {} lines in {}{}",
                b.name(),
                count(b.lines),
                count(b.max_lines),
                files(b.files),
                if b.over() { ", **over**" } else { "" }
            );
        }
        out.push('\n');
    }

    let counted: Vec<&FileOutcome> = size.counted().collect();
    if !counted.is_empty() {
        out.push_str("| File | Added | Deleted | Counted |\n|---|---:|---:|---:|\n");
        for f in counted.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                file_cell(f, &size.budgets),
                count(f.additions),
                count(f.deletions),
                count(f.lines)
            );
        }
        more_rows(out, counted.len(), "files");
    }

    let excluded: Vec<(&FileOutcome, &Exclusion)> = size.excluded().collect();
    if !excluded.is_empty() {
        let _ = writeln!(out, "**Not counted ({}):**\n", files(excluded.len() as u64));
        out.push_str("| File | Reason |\n|---|---|\n");
        for (f, why) in excluded.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} |",
                file_cell(f, &size.budgets),
                exclusion_text(why)
            );
        }
        more_rows(out, excluded.len(), "files");
    }

    if let Some(t) = size.truncated {
        let _ = writeln!(
            out,
            "> **Listing truncated:** only {} of {} were listed. The {} not listed add {}, \
             counted in full because they cannot be checked for exclusions.\n",
            count(t.listed),
            files(t.total),
            files(t.unlisted_files()),
            lines(t.unlisted_lines)
        );
    }
    if let Some(note) = size.estimated_note() {
        let _ = writeln!(out, "> **Estimated:** {note}\n");
    }
}

fn more_rows(out: &mut String, total: usize, what: &str) {
    if total > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n…and {} more {what}.",
            count((total - MAX_ROWS) as u64)
        );
    }
    out.push('\n');
}

fn file_cell(f: &FileOutcome, budgets: &[super::budgets::BudgetUse]) -> String {
    let mut cell = code(&f.path);
    if let Some(previous) = &f.previous_path {
        let _ = write!(cell, " (from {})", code(previous));
    }
    if f.status == FileStatus::Removed {
        cell.push_str(" (deleted)");
    }
    if f.binary {
        cell.push_str(" (binary)");
    }
    if let Some(budget) = f.budget.and_then(|i| budgets.get(i)) {
        let _ = write!(cell, " (budget {})", budget.name());
    }
    cell
}

pub(crate) fn exclusion_text(why: &Exclusion) -> String {
    match why {
        Exclusion::LockFile => "lock file".to_owned(),
        Exclusion::VendoredPath { dir } => format!("vendored path {}", code(dir)),
        Exclusion::LinguistGenerated => "`linguist-generated` in `.gitattributes`".to_owned(),
        Exclusion::LinguistVendored => "`linguist-vendored` in `.gitattributes`".to_owned(),
        Exclusion::Ignored { pattern } => format!("`size.ignore` pattern {}", code(pattern)),
    }
}

fn reviews_section(out: &mut String, eval: &Evaluation) {
    let r = &eval.reviews;
    let have = counted(r.approvers.len() as u64, "approval", "approvals");
    match &eval.exempt.reviews {
        Some(author) => {
            let _ = writeln!(
                out,
                "### Reviews: {have}, none required for @{author} (`exempt.reviews`)\n"
            );
        }
        None => {
            let _ = writeln!(out, "### Reviews: {have} of {} required\n", r.required);
        }
    }
    if r.approvers.is_empty() {
        out.push_str(
            "- No counted approvals yet (the author's own and bots' reviews don't count).\n",
        );
    } else {
        let _ = writeln!(out, "- Approved by {}", people(&r.approvers));
    }
    if !r.stale.is_empty() {
        let _ = writeln!(
            out,
            "- Not counted, given before the latest changes (`reviews.stale`): {}",
            people(&r.stale)
        );
    }
    if !r.changes_requested_by.is_empty() {
        let _ = writeln!(
            out,
            "- Changes requested by {}",
            people(&r.changes_requested_by)
        );
    }
    out.push('\n');
}

fn tests_section(out: &mut String, eval: &Evaluation) {
    let t = &eval.tests;
    out.push_str("### Tests\n\n");
    if !t.test_files.is_empty() {
        let named: Vec<String> = t
            .test_files
            .iter()
            .take(MAX_TEST_FILES)
            .map(|p| code(p))
            .collect();
        let _ = write!(out, "- Test files changed: {}", named.join(", "));
        if t.test_files.len() > MAX_TEST_FILES {
            let _ = write!(
                out,
                " and {} more",
                count((t.test_files.len() - MAX_TEST_FILES) as u64)
            );
        }
        out.push('\n');
    } else if t.missing {
        let _ = writeln!(
            out,
            "- No test file changed, with {} of source changed (more than {}, `tests.min_lines`){}.",
            lines(t.source_lines),
            count(t.min_lines),
            if t.required { "; tests are required here" } else { "" }
        );
    } else {
        let _ = writeln!(
            out,
            "- No test file changed; {} of source changed, within the {}-line threshold.",
            lines(t.source_lines),
            count(t.min_lines)
        );
    }
}

/// A failing check for a policy file that cannot be used.
/// The failing gate for a broken policy file, naming the places the policy is read from
/// on `forge`.
pub fn config_error_check(err: &ConfigError, forge: crate::domain::ForgeKind) -> CheckText {
    if super::codeowners::is_codeowners(&err.file) {
        return codeowners_error_check(err, forge);
    }
    let place = match (err.line, err.column) {
        (Some(l), Some(c)) => format!("Line {l}, column {c}"),
        (Some(l), None) => format!("Line {l}"),
        _ => "Problem".to_owned(),
    };
    let title = match err.line {
        Some(l) => format!("Invalid policy file {} (line {l})", err.file),
        None => format!("Invalid policy file {}", err.file),
    };
    let defaults = super::RepoConfig::default();
    let change = forge.change_noun();
    let mut summary = format!(
        "The policy file `{}` could not be used, so this {change} was not scored.\n\n\
         **{place}:** {}\n\n\
         ### How to fix\n\n\
         Correct the file on the base branch: the policy is always read from there, so a \
         {change} cannot loosen its own gate. Once the fix is merged, open {change}s are checked \
         again. Delete the file to use the defaults. The policy is read from the first of these that \
         exists: {}.\n\n\
         Every key, with its default:\n\n```yaml\n",
        err.file,
        err.message,
        config_paths(forge).map(|p| format!("`{p}`")).join(", ")
    );
    summary.push_str(&defaults_yaml(&defaults));
    summary.push_str("```\n");
    CheckText { title, summary }
}

/// The failing gate for a CODEOWNERS file that cannot be used (`reviews.owners:
/// codeowners` reads it).
fn codeowners_error_check(err: &ConfigError, forge: crate::domain::ForgeKind) -> CheckText {
    let change = forge.change_noun();
    let (title, place) = match err.line {
        Some(l) => (
            format!("Invalid CODEOWNERS file {} (line {l})", err.file),
            format!("Line {l}"),
        ),
        None => (
            format!("Invalid CODEOWNERS file {}", err.file),
            "Problem".to_owned(),
        ),
    };
    let owners = match forge {
        crate::domain::ForgeKind::GitHub => "`@user`, `@org/team` or an email address",
        crate::domain::ForgeKind::GitLab => {
            "`@user`, `@group`, `@group/subgroup` or an email address; `[Section]` lines \
             start sections"
        }
    };
    let summary = format!(
        "The CODEOWNERS file `{}` could not be used, so this {change} was not scored \
         (`reviews.owners: codeowners` reads it).\n\n\
         **{place}:** {}\n\n\
         ### How to fix\n\n\
         Correct the file on the base branch: owners are always read from there, so a {change} \
         cannot choose its own reviewers. Once the fix is merged, open {change}s are checked \
         again. Each line is a pattern, matched with git's rules (`!` is not allowed), followed \
         by its owners: {owners}. A line without owners leaves its files unowned. The file is \
         read from the first of these that exists: {}.\n",
        err.file,
        err.message,
        super::codeowners::paths(forge)
            .map(|p| format!("`{p}`"))
            .join(", ")
    );
    CheckText { title, summary }
}

fn defaults_yaml(d: &super::RepoConfig) -> String {
    format!(
        "size:\n  max_lines: {}      # fails above this\n  warn_lines: {}     # advises above this\n  \
         max_files: null     # e.g. 50; fails above this\n  ignore: []          # gitignore-style globs that don't count\n  \
         paths: []           # budgets of their own: - paths: [globs]\n                      #   max_lines: 2000\n\
         reviews:\n  required_approvals: {}\n  stale: keep         # keep | dismiss | changed\n  \
         owners: none        # none | codeowners: each file needs one of its owners\n  \
         rules: []           # each: paths, required_approvals, from\n\
         tests:\n  min_lines: {}       # source lines changed before tests are expected\n  \
         required: {}     # fail instead of advising\n  patterns: null      # globs that replace the default test-file patterns\n\
         exempt:\n  authors: []         # logins whose changes skip the size rule\n  \
         labels: []          # labels that skip the size rule\n  \
         reviews: false      # exempt authors need no approval either\n",
        d.size.max_lines,
        d.size.warn_lines,
        d.reviews.required_approvals,
        d.tests.min_lines,
        d.tests.required
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plain_base, pr, PrBuilder};
    use crate::policy::{evaluate, RepoConfig};

    fn title_of(b: PrBuilder) -> String {
        check_text(&evaluate(&b.build(), &RepoConfig::default(), &plain_base())).title
    }

    #[test]
    fn titles_say_the_score_and_what_stands_in_the_way() {
        let tested = |n| pr().file("src/a.rs", n, 0).file("tests/a.rs", 2, 0);
        assert_eq!(
            title_of(tested(310).approve("a").approve("b")),
            "312 lines, 2 approvals: ready"
        );
        assert_eq!(
            title_of(tested(1202).approve("a")),
            "1,204 lines, 1 approval: over the 400-line limit"
        );
        assert_eq!(title_of(tested(10)), "12 lines: needs 1 approval");
        assert_eq!(
            title_of(pr().file("src/a.rs", 1, 0).draft()),
            "1 line: draft; needs 1 approval"
        );
        assert_eq!(
            title_of(pr().file("src/a.rs", 60, 0).approve("a")),
            "60 lines, 1 approval: ready; no tests changed"
        );
    }

    #[test]
    fn an_exempt_author_needing_no_review_is_told_so() {
        use crate::domain::User;
        let mut config = RepoConfig::default();
        config.exempt.authors = vec!["renovate[bot]".into()];
        config.exempt.reviews = true;
        let b = pr()
            .author(User::bot("renovate[bot]"))
            .file("src/a.rs", 900, 0)
            .file("tests/a.rs", 1, 0);
        let text = check_text(&evaluate(&b.build(), &config, &plain_base()));
        assert_eq!(
            text.title,
            "901 lines: ready; size rule skipped (author @renovate[bot]); review rule skipped"
        );
        assert!(text.summary.contains(
            "- **Review rule skipped:** @renovate[bot] is in `exempt.authors` and \
             `exempt.reviews` is on, so no approval is needed.\n"
        ));
        assert!(text.summary.contains(
            "### Reviews: 0 approvals, none required for @renovate[bot] (`exempt.reviews`)\n"
        ));
    }

    #[test]
    fn long_file_tables_are_capped() {
        let mut b = pr().approve("bob");
        for i in 0..120 {
            b = b
                .file(&format!("src/f{i:03}.rs"), 1, 0)
                .file(&format!("vendor/v{i:03}.c"), 1, 0);
        }
        let summary =
            check_text(&evaluate(&b.build(), &RepoConfig::default(), &plain_base())).summary;
        assert!(summary.contains("| `src/f049.rs` | 1 | 0 | 1 |"));
        assert!(!summary.contains("`src/f050.rs`"));
        assert!(!summary.contains("`vendor/v050.c`"));
        assert_eq!(summary.matches("…and 70 more files.").count(), 2);
    }

    #[test]
    fn the_summary_stays_under_githubs_limit_for_a_capped_listing() {
        let mut b = pr();
        for i in 0..3000 {
            b = b.file(
                &format!("some/rather/long/directory/name/file_number_{i}.rs"),
                10,
                10,
            );
        }
        let summary = check_text(&evaluate(
            &b.totals(9000, 90000, 90000).build(),
            &RepoConfig::default(),
            &plain_base(),
        ))
        .summary;
        assert!(summary.len() < 65_535, "{} chars", summary.len());
    }

    #[test]
    fn config_error_without_a_place() {
        let text = config_error_check(
            &ConfigError {
                file: ".smallbatch.yml".into(),
                line: None,
                column: None,
                message: "something".into(),
            },
            crate::domain::ForgeKind::GitLab,
        );
        assert_eq!(text.title, "Invalid policy file .smallbatch.yml");
        assert!(text
            .summary
            .contains("`.gitlab/smallbatch.yml`, `.smallbatch.yml`"));
        assert!(text.summary.contains("**Problem:** something"));
    }

    #[test]
    fn the_documented_defaults_parse_to_the_defaults() {
        let yaml = defaults_yaml(&RepoConfig::default());
        assert_eq!(RepoConfig::parse("x.yml", &yaml), Ok(RepoConfig::default()));
    }
}
