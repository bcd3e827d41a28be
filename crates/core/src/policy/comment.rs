//! The one guidance comment: built by named constructors, reconciled against what was posted.
use super::text::{code, count, files, lines, review_time};
use super::Evaluation;
use crate::domain::ForgeKind;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Hidden marker that identifies the bot's guidance comment.
pub const GUIDANCE_MARKER: &str = "<!-- smallbatch:guidance -->";

/// Directories shown in the "where to split" table.
const MAX_GROUPS: usize = 15;

fn footer(forge: ForgeKind) -> String {
    format!(
        "<sub>Lock files, vendored and generated files don't count toward the size. \
         This comment is kept up to date as the {} changes.</sub>\n",
        forge.change_noun()
    )
}

/// The guidance comment for this evaluation, in `forge`'s words, or `None` when there
/// is no guidance to give.
pub fn guidance_comment(eval: &Evaluation, forge: ForgeKind) -> Option<String> {
    let size = &eval.size;
    // An exempt change skips the size rule, and so its advice.
    let size_rule = eval.exempt.size.is_none();
    let over_budget: Vec<_> = size.budgets_over().filter(|_| size_rule).collect();
    let size_advice = size_rule && (size.oversized() || size.over_warn() || size.too_many_files());
    // `exempt.reviews` waives the owners' approval too.
    let owners_waiting =
        eval.exempt.reviews.is_none() && eval.reviews.owners.waiting().next().is_some();
    let needs_guidance = size_advice
        || !over_budget.is_empty()
        || eval.tests.missing
        || size.truncated.is_some()
        || owners_waiting
        || !eval.stack.is_empty();
    if !needs_guidance {
        return None;
    }
    let mut out = format!("{GUIDANCE_MARKER}\n## smallbatch\n\n");
    let draft = eval.verdict.reasons.contains(&super::Reason::Draft);
    // A draft is never failed; say what will happen once it is ready.
    let fails = if draft {
        "the check will fail once it is ready for review"
    } else {
        "the check fails"
    };
    if draft {
        out.push_str(
            "This is a draft: nothing is enforced until it is ready for review, \
             but this advice already applies.\n\n",
        );
    }
    if let Some(stack) = super::stack::section(eval, forge, "####") {
        out.push_str(&stack);
    }
    if size_rule && size.oversized() {
        let _ = writeln!(
            out,
            "#### Too large to review well\n\n\
             **{}** count toward the size, over this repository's limit of **{}**, so {fails} \
             unless the change gets smaller. Reviewing it would take {} (at about 500 lines an \
             hour), and long reviews catch far fewer problems.\n",
            lines(size.lines),
            lines(size.max_lines),
            review_time(size.lines)
        );
    } else if size_rule && size.over_warn() {
        let _ = writeln!(
            out,
            "#### Getting large\n\n\
             **{}** count toward the size: within the limit of {}, but above the {} where \
             reviews get harder. Reviewing it would take {} (at about 500 lines an hour). If it \
             does more than one thing, consider splitting it.\n",
            lines(size.lines),
            lines(size.max_lines),
            lines(size.warn_lines),
            review_time(size.lines)
        );
    }
    if let Some(max) = size
        .max_files
        .filter(|_| size_rule && size.too_many_files())
    {
        let _ = writeln!(
            out,
            "#### Too many files\n\n\
             **{}** count toward the size, over this repository's limit of **{}**, so {fails} \
             unless fewer files change.\n",
            files(size.counted_files),
            files(max)
        );
    }
    for budget in &over_budget {
        let _ = writeln!(
            out,
            "#### Over a path budget\n\n\
             **{}** under {} count toward their own budget of **{}** (`size.paths`), so \
             {fails} unless fewer lines change there.\n",
            lines(budget.lines),
            budget.name(),
            lines(budget.max_lines)
        );
    }
    if size_advice {
        split_table(&mut out, eval, forge);
    }
    if owners_waiting {
        let waits = if draft {
            "the check will wait once it is ready for review"
        } else {
            "the check waits"
        };
        super::owners_text::comment_section(&mut out, &eval.reviews.owners, waits);
    }
    if eval.tests.missing {
        tests_guidance(&mut out, eval, fails);
    }
    if let Some(t) = size.truncated {
        let _ = writeln!(
            out,
            "#### File listing truncated\n\n\
             Only {} of {} changed files were listed. The {} not listed add {}, counted in \
             full because they cannot be checked for lock files or generated code.\n",
            count(t.listed),
            count(t.total),
            files(t.unlisted_files()),
            lines(t.unlisted_lines)
        );
    }
    if let Some(note) = size.estimated_note() {
        let _ = writeln!(out, "#### Sizes estimated\n\n{note}\n");
    }
    out.push_str(&footer(forge));
    Some(out)
}

/// Counted lines by directory, largest first, so the author sees where a split could go.
fn split_table(out: &mut String, eval: &Evaluation, forge: ForgeKind) {
    // Files under a `size.paths` budget are not what makes the change too large.
    let counted: Vec<&str> = eval.size.scored().map(|f| f.path.as_str()).collect();
    let top = |path: &str| path.split_once('/').map(|(dir, _)| dir.to_owned());
    let tops: Vec<Option<String>> = counted.iter().map(|p| top(p)).collect();
    // When everything sits in one top-level directory, its subdirectories are the useful split.
    let depth = match tops.first() {
        Some(Some(first)) if tops.iter().all(|t| t.as_deref() == Some(first)) => 2,
        _ => 1,
    };
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in eval.size.scored() {
        let group = group_of(&f.path, depth);
        let entry = groups.entry(group).or_default();
        entry.0 += 1;
        entry.1 += f.lines;
    }
    // Directories of only binary files or pure renames are nothing to split off.
    let mut groups: Vec<(String, (u64, u64))> =
        groups.into_iter().filter(|(_, (_, l))| *l > 0).collect();
    if groups.len() < 2 {
        return;
    }
    groups.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(&b.0)));

    out.push_str("**Where to split:** counted lines by directory.\n\n");
    out.push_str("| Directory | Files | Lines |\n|---|---:|---:|\n");
    for (group, (n, l)) in groups.iter().take(MAX_GROUPS) {
        let _ = writeln!(out, "| {group} | {} | {} |", count(*n), count(*l));
    }
    if groups.len() > MAX_GROUPS {
        let _ = writeln!(
            out,
            "\n…and {} more directories.",
            groups.len() - MAX_GROUPS
        );
    }
    let _ = write!(
        out,
        "\nEach group could become its own {}, ideally one that builds and passes its \
         tests on its own.\n\n",
        forge.change_noun()
    );
}

/// `src/` for depth 1, `src/policy/` for depth 2; files above that depth stay in their parent.
fn group_of(path: &str, depth: usize) -> String {
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len() - 1];
    if dirs.is_empty() {
        return "(root)".to_owned();
    }
    code(&format!("{}/", dirs[..dirs.len().min(depth)].join("/")))
}

fn tests_guidance(out: &mut String, eval: &Evaluation, fails: &str) {
    let t = &eval.tests;
    let recognised = match &t.patterns {
        Some(patterns) => format!(
            "files matching this repository's `tests.patterns`: {}",
            patterns
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "files under `tests/`, `test/`, `spec/` or `__tests__/`, or named like \
                 `*_test.*`, `*.test.*`, `*.spec.*`, `test_*.py`, `tests.rs`, `*_spec.rb` or `FooTest.java`"
            .to_owned(),
    };
    let consequence = if t.required {
        format!(
            "This repository requires tests (`tests.required`), so {fails} until they are added."
        )
    } else {
        "If the change truly needs none, say why in the description.".to_owned()
    };
    let _ = writeln!(
        out,
        "#### Tests missing\n\n\
         **{}** of source changed, more than {}, but no test file did. Please add or update tests \
         that cover the change (tests are {recognised}). {consequence}\n",
        lines(t.source_lines),
        lines(t.min_lines)
    );
}

/// What an earlier guidance comment becomes once its problems are fixed.
pub fn resolved_comment(eval: &Evaluation, forge: ForgeKind) -> String {
    let size = &eval.size;
    if let Some(by) = &eval.exempt.size {
        // Within the limits or not, the size no longer holds the change.
        return format!(
            "{GUIDANCE_MARKER}\n## smallbatch\n\n#### Size rule skipped\n\n\
             The earlier advice no longer applies: {}, so this {}'s {} are not held to \
             this repository's size limits.\n\n{}",
            super::render::exemption_long(by),
            forge.change_noun(),
            lines(size.lines),
            footer(forge)
        );
    }
    format!(
        "{GUIDANCE_MARKER}\n## smallbatch\n\n#### All clear\n\n\
         The earlier advice no longer applies: this {} now counts **{}** in {}, within \
         this repository's limits (guidance from {}, limit {}). Thanks for keeping it small.\n\n\
         {}",
        forge.change_noun(),
        lines(size.lines),
        files(size.counted_files),
        lines(size.warn_lines),
        lines(size.max_lines),
        footer(forge)
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    Create(String),
    Edit(String),
    Keep,
}

/// Decides what to do given the body last posted (if any). Bodies compare ignoring line-ending
/// and trailing-whitespace differences a forge may introduce.
pub fn reconcile(posted: Option<&str>, eval: &Evaluation, forge: ForgeKind) -> CommentAction {
    match (posted, guidance_comment(eval, forge)) {
        (None, None) => CommentAction::Keep,
        (None, Some(body)) => CommentAction::Create(body),
        (Some(old), Some(body)) => edit_unless_same(old, body),
        (Some(old), None) => edit_unless_same(old, resolved_comment(eval, forge)),
    }
}

fn edit_unless_same(old: &str, new: String) -> CommentAction {
    if normalized(old) == normalized(&new) {
        CommentAction::Keep
    } else {
        CommentAction::Edit(new)
    }
}

fn normalized(body: &str) -> String {
    body.replace("\r\n", "\n").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{plain_base, pr, PrBuilder};
    use crate::policy::{evaluate, RepoConfig};

    // GitHub's words; GitLab's are checked where they differ.
    fn guidance_comment(eval: &Evaluation) -> Option<String> {
        super::guidance_comment(eval, ForgeKind::GitHub)
    }

    fn resolved_comment(eval: &Evaluation) -> String {
        super::resolved_comment(eval, ForgeKind::GitHub)
    }

    fn reconcile(posted: Option<&str>, eval: &Evaluation) -> CommentAction {
        super::reconcile(posted, eval, ForgeKind::GitHub)
    }

    #[test]
    fn on_gitlab_the_change_is_a_merge_request() {
        let body = super::guidance_comment(&large(), ForgeKind::GitLab).unwrap();
        assert!(body.contains("its own merge request"), "{body}");
        assert!(body.contains("as the merge request changes"), "{body}");
        assert!(!body.contains("pull request"), "{body}");
        let resolved = super::resolved_comment(&small(), ForgeKind::GitLab);
        assert!(
            resolved.contains("this merge request now counts"),
            "{resolved}"
        );
        assert!(!resolved.contains("pull request"), "{resolved}");
    }

    fn eval(b: PrBuilder) -> Evaluation {
        evaluate(&b.build(), &RepoConfig::default(), &plain_base())
    }

    fn small() -> Evaluation {
        eval(pr().file("src/a.rs", 20, 0).approve("bob"))
    }

    fn large() -> Evaluation {
        eval(pr().file("src/a.rs", 500, 0).file("tests/a.rs", 5, 0))
    }

    /// The split table's rows: (group, files, lines).
    fn split_rows(body: &str) -> Vec<String> {
        body.lines()
            .skip_while(|l| !l.starts_with("| Directory"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn no_guidance_for_a_small_tested_change() {
        assert_eq!(guidance_comment(&small()), None);
    }

    #[test]
    fn guidance_starts_with_the_marker() {
        let body = guidance_comment(&large()).unwrap();
        assert!(body.starts_with(GUIDANCE_MARKER));
        assert!(body.contains(
            "**505 lines** count toward the size, over this repository's limit of **400 lines**"
        ));
        assert!(body.contains("about 1 h"));
    }

    #[test]
    fn split_groups_by_top_level_directory_with_the_root_apart() {
        let e = eval(
            pr().file("web/a.ts", 300, 0)
                .file("api/b.rs", 100, 0)
                .file("api/c/d.rs", 50, 0)
                .file("build.rs", 60, 0)
                .binary("img/x.png"),
        );
        assert_eq!(
            split_rows(&guidance_comment(&e).unwrap()),
            [
                "| `web/` | 1 | 300 |",
                "| `api/` | 2 | 150 |",
                "| (root) | 1 | 60 |"
            ]
        );
    }

    #[test]
    fn split_uses_the_second_level_when_everything_shares_the_first() {
        let e = eval(
            pr().file("src/a/x.rs", 100, 0)
                .file("src/b/y.rs", 200, 0)
                .file("src/b/z/w.rs", 100, 0)
                .file("src/lib.rs", 20, 0),
        );
        assert_eq!(
            split_rows(&guidance_comment(&e).unwrap()),
            [
                "| `src/b/` | 2 | 300 |",
                "| `src/a/` | 1 | 100 |",
                "| `src/` | 1 | 20 |"
            ]
        );
    }

    #[test]
    fn over_warn_lines_gives_softer_guidance() {
        let body = guidance_comment(&eval(pr().file("src/a.rs", 250, 0).file(
            "tests/a.rs",
            1,
            0,
        )))
        .unwrap();
        assert!(body.contains("#### Getting large"));
        assert!(!body.contains("Too large"));
    }

    #[test]
    fn reconcile_creates_only_when_there_is_guidance() {
        assert_eq!(reconcile(None, &small()), CommentAction::Keep);
        let body = guidance_comment(&large()).unwrap();
        assert_eq!(reconcile(None, &large()), CommentAction::Create(body));
    }

    #[test]
    fn reconcile_edits_only_when_the_text_differs() {
        let body = guidance_comment(&large()).unwrap();
        assert_eq!(reconcile(Some(&body), &large()), CommentAction::Keep);
        let as_stored = format!("{}\r\n", body.replace('\n', "\r\n"));
        assert_eq!(reconcile(Some(&as_stored), &large()), CommentAction::Keep);
        assert_eq!(
            reconcile(Some("<!-- smallbatch:guidance -->\nold"), &large()),
            CommentAction::Edit(body)
        );
    }

    #[test]
    fn an_exempt_change_gets_no_size_advice_and_its_old_advice_says_why() {
        let mut config = RepoConfig::default();
        config.exempt.labels = vec!["release-merge".into()];
        let e = evaluate(
            &pr()
                .file("src/a.rs", 900, 0)
                .file("tests/a.rs", 5, 0)
                .label("release-merge")
                .build(),
            &config,
            &crate::policy::testing::plain_base(),
        );
        assert_eq!(guidance_comment(&e), None);
        let old = guidance_comment(&large()).unwrap();
        let CommentAction::Edit(body) = reconcile(Some(&old), &e) else {
            panic!("the old advice is edited");
        };
        assert!(
            body.contains(
                "#### Size rule skipped\n\nThe earlier advice no longer applies: label \
             `release-merge` is in `exempt.labels`, so this pull request's 905 lines are not \
             held to this repository's size limits."
            ),
            "{body}"
        );
    }

    #[test]
    fn reconcile_resolves_a_comment_whose_problems_are_fixed_once() {
        let resolved = resolved_comment(&small());
        assert!(resolved.starts_with(GUIDANCE_MARKER));
        assert!(resolved.contains("now counts **20 lines** in 1 file"));
        let old = guidance_comment(&large()).unwrap();
        assert_eq!(
            reconcile(Some(&old), &small()),
            CommentAction::Edit(resolved.clone())
        );
        assert_eq!(reconcile(Some(&resolved), &small()), CommentAction::Keep);
    }
}
