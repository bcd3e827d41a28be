//! The one guidance comment: built by named constructors, reconciled against what was posted.
use super::text::{code, count, files, lines, review_time};
use super::Evaluation;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Hidden marker that identifies the bot's guidance comment.
pub const GUIDANCE_MARKER: &str = "<!-- smallbatch:guidance -->";

/// Directories shown in the "where to split" table.
const MAX_GROUPS: usize = 15;

const FOOTER: &str = "<sub>Lock files, vendored and generated files don't count toward the size. \
                      This comment is kept up to date as the pull request changes.</sub>\n";

/// The guidance comment for this evaluation, or `None` when there is no guidance to give.
pub fn guidance_comment(eval: &Evaluation) -> Option<String> {
    let size = &eval.size;
    let needs_guidance = size.oversized()
        || size.over_warn()
        || size.too_many_files()
        || eval.tests.missing
        || size.truncated.is_some();
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
    if size.oversized() {
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
    } else if size.over_warn() {
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
    if let Some(max) = size.max_files.filter(|_| size.too_many_files()) {
        let _ = writeln!(
            out,
            "#### Too many files\n\n\
             **{}** count toward the size, over this repository's limit of **{}**, so {fails} \
             unless fewer files change.\n",
            files(size.counted_files),
            files(max)
        );
    }
    if size.oversized() || size.over_warn() || size.too_many_files() {
        split_table(&mut out, eval);
    }
    if eval.tests.missing {
        tests_guidance(&mut out, eval, fails);
    }
    if let Some(t) = size.truncated {
        let _ = writeln!(
            out,
            "#### File listing truncated\n\n\
             The forge listed only {} of {} changed files. The {} not listed add {}, counted in \
             full because they cannot be checked for lock files or generated code.\n",
            count(t.listed),
            count(t.total),
            files(t.unlisted_files()),
            lines(t.unlisted_lines)
        );
    }
    out.push_str(FOOTER);
    Some(out)
}

/// Counted lines by directory, largest first, so the author sees where a split could go.
fn split_table(out: &mut String, eval: &Evaluation) {
    let counted: Vec<&str> = eval.size.counted().map(|f| f.path.as_str()).collect();
    let top = |path: &str| path.split_once('/').map(|(dir, _)| dir.to_owned());
    let tops: Vec<Option<String>> = counted.iter().map(|p| top(p)).collect();
    // When everything sits in one top-level directory, its subdirectories are the useful split.
    let depth = match tops.first() {
        Some(Some(first)) if tops.iter().all(|t| t.as_deref() == Some(first)) => 2,
        _ => 1,
    };
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in eval.size.counted() {
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
    out.push_str(
        "\nEach group could become its own pull request, ideally one that builds and passes its \
         tests on its own.\n\n",
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
        format!("This repository requires tests (`tests.required`), so {fails} until they are added.")
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
pub fn resolved_comment(eval: &Evaluation) -> String {
    let size = &eval.size;
    format!(
        "{GUIDANCE_MARKER}\n## smallbatch\n\n#### All clear\n\n\
         The earlier advice no longer applies: this pull request now counts **{}** in {}, within \
         this repository's limits (guidance from {}, limit {}). Thanks for keeping it small.\n\n\
         {FOOTER}",
        lines(size.lines),
        files(size.counted_files),
        lines(size.warn_lines),
        lines(size.max_lines)
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
pub fn reconcile(posted: Option<&str>, eval: &Evaluation) -> CommentAction {
    match (posted, guidance_comment(eval)) {
        (None, None) => CommentAction::Keep,
        (None, Some(body)) => CommentAction::Create(body),
        (Some(old), Some(body)) => edit_unless_same(old, body),
        (Some(old), None) => edit_unless_same(old, resolved_comment(eval)),
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
