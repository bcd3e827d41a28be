//! `smallbatch check` against real repositories built with the git CLI.
//!
//! `git_side` tests exercise repository discovery, base resolution and the diff, and compare
//! the per-file counts with `git diff --numstat` itself. `end_to_end` tests run the whole
//! command and so need the policy core.

use smallbatch::domain::{FileChange, FileStatus};
use smallbatch::local::diff::changed_files;
use smallbatch::local::git::{self, Range};
use smallbatch::local::LocalError;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// A throwaway repository driven through the real `git` CLI.
struct TestRepo {
    dir: TempDir,
}

impl TestRepo {
    fn init(default_branch: &str) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let repo = Self { dir };
        repo.git(&[
            "-c",
            &format!("init.defaultBranch={default_branch}"),
            "init",
            "-q",
        ]);
        repo.configure();
        repo
    }

    /// Clones `origin` (whose HEAD names its default branch) into a new temp dir.
    fn clone_of(origin: &TestRepo) -> Self {
        let dir = TempDir::new().expect("temp dir");
        run_git(
            origin.path(),
            &[
                "clone",
                "-q",
                ".",
                dir.path().to_str().expect("utf-8 temp path"),
            ],
        );
        let repo = Self { dir };
        repo.configure();
        repo
    }

    fn configure(&self) {
        self.git(&["config", "user.name", "Test Author"]);
        self.git(&["config", "user.email", "author@example.com"]);
        self.git(&["config", "commit.gpgsign", "false"]);
        self.git(&["config", "core.autocrlf", "false"]);
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        run_git(self.path(), args)
    }

    fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        fs::create_dir_all(full.parent().expect("file has a parent")).expect("mkdir");
        fs::write(full, contents).expect("write file");
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn rev(&self, spec: &str) -> String {
        self.git(&["rev-parse", spec]).trim().to_owned()
    }

    fn open(&self) -> git2::Repository {
        git::open(self.path()).expect("open test repo")
    }

    fn range(&self, base: Option<&str>) -> Range {
        git::range(&self.open(), base).expect("range")
    }
}

fn run_git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("git prints utf-8")
}

fn numbered_lines(prefix: &str, count: usize) -> String {
    (1..=count)
        .map(|n| format!("{prefix} line {n}\n"))
        .collect()
}

/// One line of `git diff --numstat`, in the shape compared with our `FileChange`s.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Numstat {
    path: String,
    previous_path: Option<String>,
    additions: u64,
    deletions: u64,
    binary: bool,
}

impl From<&FileChange> for Numstat {
    fn from(file: &FileChange) -> Self {
        Self {
            path: file.path.clone(),
            previous_path: file.previous_path.clone(),
            additions: file.additions,
            deletions: file.deletions,
            binary: file.binary,
        }
    }
}

/// Parses `git diff --numstat` output: `-` counts mean binary; renames are printed as
/// `old => new` or with a common prefix/suffix as `pre/{old => new}/suf`.
fn parse_numstat(output: &str) -> Vec<Numstat> {
    let mut entries: Vec<Numstat> = output
        .lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let additions = fields.next().expect("additions field");
            let deletions = fields.next().expect("deletions field");
            let path = fields.next().expect("path field");
            let binary = additions == "-";
            let count = |field: &str| {
                if binary {
                    0
                } else {
                    field.parse().expect("count")
                }
            };
            let (path, previous_path) = parse_numstat_path(path);
            Numstat {
                path,
                previous_path,
                additions: count(additions),
                deletions: count(deletions),
                binary,
            }
        })
        .collect();
    entries.sort();
    entries
}

fn parse_numstat_path(path: &str) -> (String, Option<String>) {
    let Some((left, right)) = path.split_once(" => ") else {
        return (path.to_owned(), None);
    };
    match (left.rfind('{'), right.find('}')) {
        (Some(open), Some(close)) => {
            let (prefix, old) = (&left[..open], &left[open + 1..]);
            let (new, suffix) = (&right[..close], &right[close + 1..]);
            // An empty side leaves `//` behind, as in `src/{ => core}/engine.rs`.
            let join = |middle: &str| format!("{prefix}{middle}{suffix}").replace("//", "/");
            (join(new), Some(join(old)))
        }
        _ => (right.to_owned(), Some(left.to_owned())),
    }
}

/// `git diff --numstat -M`: renames detected whatever the repo's `diff.renames` says.
fn numstat(repo: &TestRepo, from: &str, to: &str) -> Vec<Numstat> {
    parse_numstat(&repo.git(&["diff", "--numstat", "-M", from, to]))
}

fn ours(files: &[FileChange]) -> Vec<Numstat> {
    let mut entries: Vec<Numstat> = files.iter().map(Numstat::from).collect();
    entries.sort();
    entries
}

/// `main` with one file of every kind, then a `feature` branch touching each of them, then
/// one more commit on `main` so that the merge-base is not main's tip.
fn repo_with_every_kind_of_change() -> TestRepo {
    let repo = TestRepo::init("main");
    repo.write(".gitattributes", "generated/** linguist-generated\n");
    repo.write("src/lib.rs", numbered_lines("lib", 20));
    repo.write("src/old.rs", numbered_lines("old", 5));
    repo.write("src/engine.rs", numbered_lines("engine", 30));
    repo.write("docs/guide.md", numbered_lines("guide", 10));
    repo.write("README.txt", numbered_lines("readme", 4));
    repo.write("scripts/run.sh", "#!/bin/sh\necho run\n");
    repo.write("notes.txt", "first\nlast without newline");
    repo.write("vendor/dep/dep.c", numbered_lines("dep", 6));
    repo.write("assets/icon.bin", b"\x89PNG\0\0\x01\x02old");
    repo.commit_all("main: initial");

    repo.git(&["checkout", "-q", "-b", "feature"]);
    // Modified: two lines replaced, three appended.
    let lib = numbered_lines("lib", 20)
        .replace("lib line 3\n", "lib line three\n")
        .replace("lib line 9\n", "lib line nine\n")
        + &numbered_lines("more", 3);
    repo.write("src/lib.rs", lib);
    // Removed.
    fs::remove_file(repo.path().join("src/old.rs")).expect("rm");
    // Pure renames, with and without a common prefix.
    repo.git(&["mv", "docs/guide.md", "docs/manual.md"]);
    repo.git(&["mv", "README.txt", "README.md"]);
    // Rename with edits: 2 of 30 lines changed.
    fs::create_dir_all(repo.path().join("src/core")).expect("mkdir");
    repo.git(&["mv", "src/engine.rs", "src/core/engine.rs"]);
    let engine = numbered_lines("engine", 30).replace("engine line 7\n", "engine line seven\n")
        + "engine line 31\n";
    repo.write("src/core/engine.rs", engine);
    // Mode only.
    let script = repo.path().join("scripts/run.sh");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    // The trailing newline arrives.
    repo.write("notes.txt", "first\nlast without newline\n");
    // Binary: one added, one modified.
    repo.write("assets/logo.bin", b"\0\x01\x02\x03binary\0data");
    repo.write("assets/icon.bin", b"\x89PNG\0\0\x01\x02new");
    // Excluded by the policy: a lock file, a vendored file, a generated file.
    repo.write("Cargo.lock", numbered_lines("lock", 12));
    repo.write("vendor/dep/dep.c", numbered_lines("dep", 8));
    repo.write("generated/schema.rs", numbered_lines("schema", 7));
    // Added source.
    repo.write("src/new.rs", numbered_lines("new", 4));
    repo.commit_all("feature: every kind of change");

    repo.git(&["checkout", "-q", "main"]);
    repo.write("CHANGELOG.md", "moved on\n");
    repo.commit_all("main: later work");
    repo.git(&["checkout", "-q", "feature"]);
    repo
}

fn change(
    path: &str,
    previous_path: Option<&str>,
    status: FileStatus,
    additions: u64,
    deletions: u64,
    binary: bool,
) -> FileChange {
    FileChange {
        path: path.to_owned(),
        previous_path: previous_path.map(str::to_owned),
        status,
        additions,
        deletions,
        binary,
    }
}

mod git_side {
    use super::*;

    #[test]
    fn per_file_counts_equal_git_diff_numstat_on_the_merge_base_range() {
        let repo = repo_with_every_kind_of_change();
        let range = repo.range(None);
        let merge_base = repo.git(&["merge-base", "main", "HEAD"]).trim().to_owned();
        assert_eq!(range.merge_base.to_string(), merge_base);
        assert_eq!(range.head.to_string(), repo.rev("HEAD"));

        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");

        assert_eq!(ours(&files), numstat(&repo, &merge_base, "HEAD"));
    }

    #[test]
    fn every_kind_of_change_is_reported_with_its_status_and_counts() {
        let repo = repo_with_every_kind_of_change();
        let range = repo.range(None);

        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");

        use FileStatus::*;
        assert_eq!(
            files,
            vec![
                change("Cargo.lock", None, Added, 12, 0, false),
                change("README.md", Some("README.txt"), Renamed, 0, 0, false),
                change("assets/icon.bin", None, Modified, 0, 0, true),
                change("assets/logo.bin", None, Added, 0, 0, true),
                change(
                    "docs/manual.md",
                    Some("docs/guide.md"),
                    Renamed,
                    0,
                    0,
                    false
                ),
                change("generated/schema.rs", None, Added, 7, 0, false),
                change("notes.txt", None, Modified, 1, 1, false),
                change("scripts/run.sh", None, Modified, 0, 0, false),
                change(
                    "src/core/engine.rs",
                    Some("src/engine.rs"),
                    Renamed,
                    2,
                    1,
                    false
                ),
                change("src/lib.rs", None, Modified, 5, 2, false),
                change("src/new.rs", None, Added, 4, 0, false),
                change("src/old.rs", None, Removed, 0, 5, false),
                change("vendor/dep/dep.c", None, Modified, 2, 0, false),
            ]
        );
    }

    /// The PR pairs renames whatever the author's config says, so the check does too.
    #[test]
    fn renames_are_detected_even_when_diff_renames_is_off_in_the_repo_config() {
        let repo = repo_with_every_kind_of_change();
        repo.git(&["config", "diff.renames", "false"]);
        let range = repo.range(None);

        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");

        assert!(files.iter().any(|file| file.path == "src/core/engine.rs"
            && file.previous_path.as_deref() == Some("src/engine.rs")
            && file.status == FileStatus::Renamed));
        let merge_base = range.merge_base.to_string();
        assert_eq!(ours(&files), numstat(&repo, &merge_base, "HEAD"));
    }

    /// `-M` finds renames only, as the PR's file list does.
    #[test]
    fn copies_are_not_paired_even_when_diff_renames_is_copies() {
        let repo = TestRepo::init("main");
        repo.write("src/a.rs", numbered_lines("a", 20));
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write("src/a.rs", numbered_lines("a", 21));
        repo.write("src/b.rs", numbered_lines("a", 20));
        repo.commit_all("copy a to b");
        repo.git(&["config", "diff.renames", "copies"]);
        let range = repo.range(None);

        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");

        assert_eq!(
            files,
            vec![
                change("src/a.rs", None, FileStatus::Modified, 1, 0, false),
                change("src/b.rs", None, FileStatus::Added, 20, 0, false),
            ]
        );
        let merge_base = range.merge_base.to_string();
        assert_eq!(ours(&files), numstat(&repo, &merge_base, "HEAD"));
    }

    #[test]
    fn head_on_the_base_itself_has_no_changes() {
        let repo = TestRepo::init("main");
        repo.write("a.txt", "a\n");
        repo.commit_all("main");
        let range = repo.range(None);

        assert_eq!(range.merge_base, range.head);
        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");
        assert_eq!(files, Vec::<FileChange>::new());
    }

    /// A repo whose default branch is `branch`, with `feature` one commit ahead of it.
    fn repo_with_feature_on(branch: &str) -> TestRepo {
        let repo = TestRepo::init(branch);
        repo.write("a.txt", "a\n");
        repo.commit_all("base");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write("b.txt", "b\n");
        repo.commit_all("feature");
        repo
    }

    #[test]
    fn default_base_is_main() {
        let repo = repo_with_feature_on("main");
        let range = repo.range(None);
        assert_eq!(range.base.name, "main");
        assert_eq!(range.base.commit.to_string(), repo.rev("main"));
    }

    #[test]
    fn default_base_falls_back_to_master() {
        let repo = repo_with_feature_on("master");
        let range = repo.range(None);
        assert_eq!(range.base.name, "master");
        assert_eq!(range.merge_base.to_string(), repo.rev("master"));
    }

    #[test]
    fn main_is_preferred_over_master() {
        let repo = repo_with_feature_on("master");
        repo.git(&["branch", "main", "feature"]);
        let range = repo.range(None);
        assert_eq!(range.base.name, "main");
        assert_eq!(range.merge_base.to_string(), repo.rev("feature"));
    }

    #[test]
    fn origin_head_decides_the_default_branch_over_main() {
        let origin = TestRepo::init("trunk");
        origin.write("a.txt", "a\n");
        origin.commit_all("trunk");
        let clone = TestRepo::clone_of(&origin);
        clone.git(&["branch", "main"]);
        clone.git(&["checkout", "-q", "-b", "feature"]);
        clone.write("b.txt", "b\n");
        clone.commit_all("feature");

        let range = clone.range(None);

        assert_eq!(range.base.name, "origin/trunk");
        assert_eq!(range.base.commit.to_string(), clone.rev("origin/trunk"));
    }

    #[test]
    fn origin_main_is_used_when_there_is_no_local_default_branch() {
        let origin = TestRepo::init("main");
        origin.write("a.txt", "a\n");
        origin.commit_all("main");
        let clone = TestRepo::clone_of(&origin);
        clone.git(&["remote", "set-head", "origin", "--delete"]);
        clone.git(&["checkout", "-q", "-b", "feature"]);
        clone.git(&["branch", "-q", "-D", "main"]);

        let range = clone.range(None);

        assert_eq!(range.base.name, "origin/main");
    }

    #[test]
    fn no_default_branch_is_a_clear_error() {
        let repo = repo_with_feature_on("trunk");
        let err = git::range(&repo.open(), None).expect_err("no default branch");
        assert!(matches!(err, LocalError::NoDefaultBranch));
        assert_eq!(
            err.to_string(),
            "no default branch found (tried origin/HEAD, main, master, origin/main, \
             origin/master): pass the branch to compare against with --base REF"
        );
    }

    #[test]
    fn base_option_takes_any_revspec() {
        let repo = repo_with_feature_on("trunk");
        repo.write("c.txt", "c\n");
        repo.commit_all("second feature commit");

        let range = repo.range(Some("HEAD~1"));

        assert_eq!(range.base.name, "HEAD~1");
        assert_eq!(range.merge_base.to_string(), repo.rev("HEAD~1"));
        let files = changed_files(&repo.open(), range.merge_base, range.head).expect("diff");
        assert_eq!(
            files,
            vec![change("c.txt", None, FileStatus::Added, 1, 0, false)]
        );
    }

    #[test]
    fn base_option_overrides_the_default_branch() {
        let repo = repo_with_feature_on("main");
        repo.git(&["tag", "v1", "HEAD"]);
        let range = repo.range(Some("v1"));
        assert_eq!(range.base.name, "v1");
        assert_eq!(range.merge_base, range.head);
    }

    #[test]
    fn unknown_base_names_the_ref_and_the_option() {
        let repo = repo_with_feature_on("main");
        let err = git::range(&repo.open(), Some("no-such-branch")).expect_err("unknown base");
        assert!(
            matches!(&err, LocalError::BaseNotFound { reference } if reference == "no-such-branch")
        );
        assert_eq!(
            err.to_string(),
            "base `no-such-branch` not found (or not a commit): pass an existing branch, tag \
             or commit with --base REF"
        );
    }

    #[test]
    fn unrelated_base_has_no_merge_base() {
        let repo = repo_with_feature_on("main");
        repo.git(&["checkout", "-q", "--orphan", "island"]);
        repo.commit_all("unrelated root");
        let err = git::range(&repo.open(), Some("main")).expect_err("no merge-base");
        assert_eq!(
            err.to_string(),
            "HEAD and `main` have no common ancestor: pass a related base with --base REF"
        );
    }

    #[test]
    fn a_directory_outside_any_repository_is_a_clear_error() {
        let dir = TempDir::new().expect("temp dir");
        let Err(err) = git::open(dir.path()) else {
            panic!("a temp dir is no repository");
        };
        assert!(matches!(&err, LocalError::NotARepository { path } if path == dir.path()));
        assert_eq!(
            err.to_string(),
            format!("{} is not inside a git repository", dir.path().display())
        );
    }

    #[test]
    fn a_subdirectory_finds_its_repository() {
        let repo = repo_with_feature_on("main");
        repo.write("deep/er/file.txt", "x\n");
        let opened = git::open(&repo.path().join("deep/er")).expect("discover");
        let workdir = opened
            .workdir()
            .expect("non-bare")
            .canonicalize()
            .expect("canon");
        assert_eq!(workdir, repo.path().canonicalize().expect("canon"));
    }

    #[test]
    fn a_repository_without_commits_asks_to_commit_first() {
        let repo = TestRepo::init("main");
        let err = git::range(&repo.open(), None).expect_err("unborn");
        assert_eq!(
            err.to_string(),
            "HEAD has no commit yet: `smallbatch check` scores committed work, commit first"
        );
    }

    #[test]
    fn files_are_read_as_the_merge_base_has_them() {
        let repo = TestRepo::init("main");
        repo.write(".smallbatch.yml", "size:\n  max_lines: 100\n");
        repo.write("src/main.rs", "fn main() {}\n");
        repo.commit_all("main policy");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write(".smallbatch.yml", "size:\n  max_lines: 100000\n");
        repo.write(".gitattributes", "*.rs linguist-generated\n");
        repo.commit_all("loosen the gate");
        let range = repo.range(None);
        let opened = repo.open();

        let policy = git::read_text_at(&opened, range.merge_base, ".smallbatch.yml").expect("read");
        let attributes =
            git::read_text_at(&opened, range.merge_base, ".gitattributes").expect("read");
        let directory = git::read_text_at(&opened, range.merge_base, "src").expect("read");

        assert_eq!(policy.as_deref(), Some("size:\n  max_lines: 100\n"));
        assert_eq!(attributes, None);
        assert_eq!(directory, None);
    }
}

/// These run the whole command, so they need the policy core (`crate::policy`).
mod end_to_end {
    use super::*;
    use serde_json::{json, Value};
    use smallbatch::local::evaluate::{evaluate, BasePolicy};
    use smallbatch::local::{run, CheckArgs, CheckOutcome, OutputFormat};
    use smallbatch::policy::comment::GUIDANCE_MARKER;
    use smallbatch::policy::render::check_text;

    fn args(path: &Path, base: Option<&str>, format: OutputFormat) -> CheckArgs {
        CheckArgs {
            base: base.map(str::to_owned),
            format,
            path: PathBuf::from(path),
        }
    }

    fn check(repo: &TestRepo, base: Option<&str>, format: OutputFormat) -> (CheckOutcome, String) {
        let mut out = Vec::new();
        let outcome = run(&args(repo.path(), base, format), &mut out).expect("check runs");
        (outcome, String::from_utf8(out).expect("utf-8 output"))
    }

    fn json_check(repo: &TestRepo) -> (CheckOutcome, Value) {
        let (outcome, out) = check(repo, None, OutputFormat::Json);
        (outcome, serde_json::from_str(&out).expect("valid json"))
    }

    /// `main` limits size to 10 lines; `feature` adds `lines` lines of source.
    fn repo_with_limit_10_and_feature_of(lines: usize) -> TestRepo {
        let repo = TestRepo::init("main");
        repo.write(
            ".smallbatch.yml",
            "size:\n  max_lines: 10\n  warn_lines: 5\n",
        );
        repo.write("README.md", "readme\n");
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write("src/feature.rs", numbered_lines("feature", lines));
        repo.commit_all("feature");
        repo
    }

    /// The owners are read at the base's tip, like the policy: a branch that rewrites
    /// CODEOWNERS does not choose its own reviewers.
    #[test]
    fn the_owners_to_ask_come_from_the_bases_codeowners() {
        let repo = TestRepo::init("main");
        repo.write(".github/smallbatch.yml", "reviews:\n  owners: codeowners\n");
        repo.write(
            ".github/CODEOWNERS",
            "* @lead\n/src/billing/ @carol @acme/billing\ndocs/ @writers\n",
        );
        repo.write("README.md", "readme\n");
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write("src/billing/tax.rs", numbered_lines("tax", 4));
        repo.write("src/billing/invoice.rs", numbered_lines("invoice", 2));
        repo.write("docs/billing.md", numbered_lines("docs", 2));
        repo.write("build.rs", numbered_lines("build", 1));
        repo.write(".github/CODEOWNERS", "* @me\n");
        repo.commit_all("feature");
        let (outcome, out) = check(&repo, None, OutputFormat::Text);
        assert_eq!(outcome, CheckOutcome::WithinLimits);
        let owners: Vec<&str> = out
            .lines()
            .skip_while(|l| *l != "Owners to ask:")
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            owners,
            [
                "Owners to ask:",
                "  .github/CODEOWNERS, build.rs: @lead (.github/CODEOWNERS line 1)",
                "  docs/billing.md: @writers (.github/CODEOWNERS line 3)",
                "  src/billing/invoice.rs, src/billing/tax.rs: @carol or @acme/billing (.github/CODEOWNERS line 2)",
            ],
            "{out}"
        );
    }

    #[test]
    fn a_broken_codeowners_at_the_base_is_an_error_naming_its_line() {
        let repo = TestRepo::init("main");
        repo.write(".smallbatch.yml", "reviews:\n  owners: codeowners\n");
        repo.write("CODEOWNERS", "* @lead\n!docs/ @writers\n");
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo.write("a.rs", "a\n");
        repo.commit_all("feature");
        let err = run(
            &args(repo.path(), None, OutputFormat::Text),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid policy file at the tip of the base: CODEOWNERS:2: `!docs/`: negation"
            ),
            "{err}"
        );
    }

    /// `smallbatch check | head -1`: the reader closes the pipe after the first line, and
    /// the exit code is still the verdict's (1: over the limit), not an error.
    #[test]
    fn a_reader_closing_the_pipe_early_keeps_the_verdicts_exit_code() {
        use std::io::Read;
        use std::process::Stdio;
        // 3,000 files: a listing larger than the pipe's 64 KiB buffer, so writing it must
        // meet the closed pipe.
        let repo = repo_with_limit_10_and_feature_of(1);
        for n in 0..3_000 {
            repo.write(&format!("src/generated_module_{n:05}.rs"), "x\n");
        }
        repo.commit_all("many files");
        let mut child = Command::new(env!("CARGO_BIN_EXE_smallbatch"))
            .arg("check")
            .current_dir(repo.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("smallbatch check starts");
        let mut first = [0u8; 16];
        child
            .stdout
            .take()
            .expect("piped stdout")
            .read_exact(&mut first)
            .expect("the first bytes of the verdict");
        // The pipe's read end is now closed.
        let output = child.wait_with_output().expect("smallbatch check ends");
        assert_eq!(String::from_utf8_lossy(&first), "3,001 lines: ove");
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    }

    #[test]
    fn within_the_limit_exits_0() {
        let repo = repo_with_limit_10_and_feature_of(3);
        let (outcome, report) = json_check(&repo);
        assert_eq!(outcome, CheckOutcome::WithinLimits);
        assert_eq!(outcome.exit_code(), 0);
        assert_eq!(report["exceeded"], json!(false));
        assert_eq!(report["size"]["lines"], json!(3));
    }

    #[test]
    fn over_the_limit_exits_1() {
        let repo = repo_with_limit_10_and_feature_of(50);
        let (outcome, report) = json_check(&repo);
        assert_eq!(outcome, CheckOutcome::SizeExceeded);
        assert_eq!(outcome.exit_code(), 1);
        assert_eq!(report["exceeded"], json!(true));
        assert_eq!(report["size"]["lines"], json!(50));
        assert_eq!(report["size"]["max_lines"], json!(10));
    }

    #[test]
    fn a_branch_cannot_loosen_its_own_gate() {
        let repo = repo_with_limit_10_and_feature_of(50);
        repo.write(
            ".smallbatch.yml",
            "size:\n  max_lines: 100000\n  warn_lines: 5\n",
        );
        repo.commit_all("loosen the gate");
        let (outcome, report) = json_check(&repo);
        assert_eq!(outcome, CheckOutcome::SizeExceeded);
        assert_eq!(report["size"]["max_lines"], json!(10));
    }

    #[test]
    fn too_many_files_exits_1() {
        let repo = TestRepo::init("main");
        repo.write(".smallbatch.yml", "size:\n  max_files: 2\n");
        repo.write("README.md", "readme\n");
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        for name in ["a", "b", "c"] {
            repo.write(&format!("src/{name}.rs"), "fn f() {}\n");
        }
        repo.commit_all("three files");
        let (outcome, report) = json_check(&repo);
        assert_eq!(outcome.exit_code(), 1);
        assert_eq!(report["size"]["counted_files"], json!(3));
        assert_eq!(report["size"]["max_files"], json!(2));
    }

    #[test]
    fn json_reports_every_file_with_its_counts_and_exclusion() {
        let repo = repo_with_every_kind_of_change();
        let (outcome, report) = json_check(&repo);

        assert_eq!(outcome, CheckOutcome::WithinLimits);
        assert_eq!(report["schema_version"], json!(1));
        assert_eq!(report["base"], json!("main"));
        assert_eq!(report["merge_base"], json!(repo.rev("main~1")));
        assert_eq!(report["head"], json!(repo.rev("HEAD")));
        assert_eq!(report["exceeded"], json!(false));
        assert_eq!(report["size"]["max_lines"], json!(400));
        assert_eq!(report["size"]["truncated"], Value::Null);

        let files = report["size"]["files"].as_array().expect("files array");
        let by_path = |path: &str| {
            files
                .iter()
                .find(|file| file["path"] == json!(path))
                .unwrap_or_else(|| panic!("{path} is reported"))
        };
        assert_eq!(files.len(), 13);

        let logo = by_path("assets/logo.bin");
        assert_eq!(
            (&logo["binary"], &logo["additions"], &logo["deletions"]),
            (&json!(true), &json!(0), &json!(0))
        );
        let engine = by_path("src/core/engine.rs");
        assert_eq!(engine["previous_path"], json!("src/engine.rs"));
        assert_eq!(
            (&engine["additions"], &engine["deletions"]),
            (&json!(2), &json!(1))
        );
        let lib = by_path("src/lib.rs");
        assert_eq!((&lib["lines"], &lib["excluded"]), (&json!(7), &Value::Null));

        for (path, kind) in [
            ("Cargo.lock", "lock_file"),
            ("vendor/dep/dep.c", "vendored_path"),
            ("generated/schema.rs", "linguist_generated"),
        ] {
            let file = by_path(path);
            assert_eq!(file["excluded"]["kind"], json!(kind), "{path}");
            assert_eq!(file["lines"], json!(0), "{path}");
        }
    }

    #[test]
    fn text_prints_the_verdict_the_range_the_policy_the_guidance_and_the_files() {
        let repo = repo_with_limit_10_and_feature_of(50);
        let (outcome, out) = check(&repo, None, OutputFormat::Text);

        let opened = repo.open();
        let range = repo.range(None);
        let files = changed_files(&opened, range.merge_base, range.head).expect("diff");
        let eval = evaluate(
            &files,
            &BasePolicy::at(&opened, range.base.commit).expect("policy"),
        );
        let head = format!(
            "{}\nCommitted work from the merge-base {main} with main to HEAD {}.\n\
             Policy: .smallbatch.yml at the tip of main, {main}.\n\n",
            check_text(&eval).title,
            &repo.rev("HEAD")[..7],
            main = &repo.rev("main")[..7],
        );

        assert_eq!(outcome, CheckOutcome::SizeExceeded);
        assert!(out.starts_with(&head), "{out}");
        assert!(out.contains("\nToo large to review well\n"), "{out}");
        assert!(
            out.ends_with("\n     50        0     50  src/feature.rs\n"),
            "{out}"
        );
        for markup in [GUIDANCE_MARKER, "###", "**", "`", "<sub>", "|---"] {
            assert!(!out.contains(markup), "{markup} in {out}");
        }
    }

    #[test]
    fn a_broken_policy_on_the_base_names_its_place() {
        let repo = TestRepo::init("main");
        repo.write(".smallbatch.yml", "size:\n  max_lines: lots\n");
        repo.commit_all("main");
        let mut out = Vec::new();
        let err =
            run(&args(repo.path(), None, OutputFormat::Text), &mut out).expect_err("bad config");
        assert!(matches!(err, LocalError::Config(_)));
        assert!(
            err.to_string()
                .starts_with("invalid policy file at the tip of the base: .smallbatch.yml:2:"),
            "{err}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn github_policy_path_wins_over_the_root_one() {
        let repo = repo_with_limit_10_and_feature_of(50);
        repo.git(&["checkout", "-q", "main"]);
        repo.write(".github/smallbatch.yml", "size:\n  max_lines: 1000\n");
        repo.commit_all("policy under .github");
        repo.git(&["checkout", "-q", "feature"]);
        repo.git(&["rebase", "-q", "main"]);
        let (outcome, report) = json_check(&repo);
        assert_eq!(outcome, CheckOutcome::WithinLimits);
        assert_eq!(report["size"]["max_lines"], json!(1000));
    }

    #[test]
    fn run_reports_a_missing_repository() {
        let dir = TempDir::new().expect("temp dir");
        let mut out = Vec::new();
        let err = run(&args(dir.path(), None, OutputFormat::Json), &mut out).expect_err("no repo");
        assert!(matches!(err, LocalError::NotARepository { .. }));
    }
}
