//! `smallbatch check`: the gate on a local branch.
//!
//! Scores the committed work of the current branch, from the merge-base of HEAD and the base
//! to HEAD, with the same policy core as the server and the policy (`smallbatch.yml`,
//! `.gitattributes`) as the base's tip has it, as the server reads it. Exits 1 when the size
//! limit is exceeded.
//!
//! - [`git`]: repository discovery, base resolution, merge-base, reading files at a commit
//!   (git2).
//! - [`diff`]: the changed files, counted by `git diff --numstat -M` itself (`numstat` reads
//!   its output).
//! - [`evaluate`]: hands the files and the base's policy to `crate::policy`.
//! - `text` and [`report`]: the plain text and the JSON outputs; `plain` turns the PR
//!   comment's markdown into terminal text.

pub mod diff;
mod error;
pub mod evaluate;
pub mod git;
mod numstat;
mod plain;
pub mod report;
#[cfg(test)]
mod tests_against_git;
mod text;

pub use error::LocalError;

use std::io::Write;
use std::path::PathBuf;

/// Score the current branch like the pull request gate would.
///
/// Only committed work counts: the diff from the merge-base of HEAD and the base to HEAD.
/// Uncommitted and untracked changes are ignored. Files are paired and counted as
/// `git diff --numstat -M` does. The policy (`smallbatch.yml`, `.gitattributes`) is read at the
/// tip of the base, as the server reads it. Exits 1 when the size limit is exceeded.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct CheckArgs {
    /// Branch, tag or commit to compare with (any revspec) [default: origin/HEAD, else main,
    /// master, origin/main, origin/master]
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,

    /// Output format: plain text (the verdict, the guidance and every file with its count or
    /// why it does not count), or a JSON report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// A directory inside the repository to check.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The verdict, the guidance the pull request comment would show, and every file.
    Text,
    /// A stable JSON document: per-file counts, exclusions and the totals.
    Json,
}

/// How the check came out, for the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    WithinLimits,
    /// The size limit (lines or files) is exceeded.
    SizeExceeded,
}

impl CheckOutcome {
    /// 0 within limits, 1 when the size limit is exceeded.
    pub fn exit_code(self) -> i32 {
        match self {
            CheckOutcome::WithinLimits => 0,
            CheckOutcome::SizeExceeded => 1,
        }
    }
}

/// Runs `smallbatch check`: scores HEAD's committed work against the base and writes the
/// report to `out`. Uncommitted changes are not looked at: commit what should be scored.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<CheckOutcome, LocalError> {
    let repo = git::open(&args.path)?;
    let range = git::range(&repo, args.base.as_deref())?;
    let files = diff::changed_files(&repo, range.merge_base, range.head)?;
    let policy = evaluate::BasePolicy::at(&repo, range.base.commit)?;
    let eval = evaluate::evaluate(&files, &policy);
    let exceeded = evaluate::size_exceeded(&eval.verdict);

    match args.format {
        OutputFormat::Text => text::write_text(out, &range, &policy, &eval)?,
        OutputFormat::Json => report::write_json(out, &range, &eval, exceeded)?,
    }
    Ok(if exceeded {
        CheckOutcome::SizeExceeded
    } else {
        CheckOutcome::WithinLimits
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Command {
        Check(CheckArgs),
    }

    fn parse(args: &[&str]) -> CheckArgs {
        let Command::Check(check) = Cli::try_parse_from(args).expect("valid args").command;
        check
    }

    #[test]
    fn defaults_are_text_on_the_current_directory_against_the_default_branch() {
        assert_eq!(
            parse(&["smallbatch", "check"]),
            CheckArgs {
                base: None,
                format: OutputFormat::Text,
                path: PathBuf::from("."),
            }
        );
    }

    #[test]
    fn base_format_and_path_are_taken_from_the_command_line() {
        assert_eq!(
            parse(&[
                "smallbatch",
                "check",
                "--base",
                "origin/dev",
                "--format",
                "json",
                "repo"
            ]),
            CheckArgs {
                base: Some("origin/dev".into()),
                format: OutputFormat::Json,
                path: PathBuf::from("repo"),
            }
        );
    }

    #[test]
    fn help_says_only_committed_work_is_scored() {
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("check")
            .expect("check subcommand")
            .render_long_help()
            .to_string();
        assert!(help.contains("Only committed work counts"), "{help}");
    }

    #[test]
    fn exit_code_is_1_only_when_the_size_limit_is_exceeded() {
        assert_eq!(CheckOutcome::WithinLimits.exit_code(), 0);
        assert_eq!(CheckOutcome::SizeExceeded.exit_code(), 1);
    }
}
