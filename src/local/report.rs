//! What `smallbatch check --format json` prints (the text format is in `super::text`).
use super::git::Range;
use crate::policy::{Evaluation, SizeScore, TestsOutcome};
use serde::Serialize;
use std::io::{self, Write};

/// The JSON document of `smallbatch check --format json`. Fields are only ever added;
/// a change of meaning bumps `schema_version`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// 1 for this shape.
    pub schema_version: u32,
    /// The base as named: the `--base` revspec or the default branch found (`main`, `origin/main`).
    pub base: &'a str,
    /// The full sha of the merge-base of HEAD and the base: the old side of the diff.
    pub merge_base: String,
    /// The full sha of HEAD: the new side of the diff.
    pub head: String,
    /// The size limit (lines or files) is exceeded; the exit code is 1 exactly then.
    pub exceeded: bool,
    /// The policy's `SizeScore`. Per file (`files`): path, previous_path, additions,
    /// deletions, binary, lines (what it adds to the score) and excluded (null when counted,
    /// else `{"kind": ...}` saying why) and budget (the index in `budgets` of the
    /// `size.paths` budget it counts toward instead of the score, absent when none).
    /// Totals: lines, counted_files (both outside every budget), max_lines, warn_lines,
    /// max_files, and `budgets` (each budget's paths, max_lines, lines and files; absent
    /// when the policy has none); `truncated` is always null, a local diff being complete.
    pub size: &'a SizeScore,
    pub tests: &'a TestsOutcome,
}

pub const JSON_SCHEMA_VERSION: u32 = 1;

pub fn write_json(
    out: &mut dyn Write,
    range: &Range,
    eval: &Evaluation,
    exceeded: bool,
) -> io::Result<()> {
    let report = JsonReport {
        schema_version: JSON_SCHEMA_VERSION,
        base: &range.base.name,
        merge_base: range.merge_base.to_string(),
        head: range.head.to_string(),
        exceeded,
        size: &eval.size,
        tests: &eval.tests,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
