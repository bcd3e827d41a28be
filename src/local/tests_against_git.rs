//! `smallbatch check` on real repositories built with the git CLI. Every case compares the
//! per-file counts with `git diff --numstat -M` on the same range, parsed here from git's
//! human output (not the `-z` output the check reads).
use super::{diff, git, run, CheckArgs, CheckOutcome, OutputFormat};
use crate::domain::{FileChange, FileStatus};
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// A throwaway repository on `main`, driven through the git CLI.
struct TestRepo {
    dir: TempDir,
}

impl TestRepo {
    fn new() -> Self {
        let repo = Self {
            dir: TempDir::new().expect("temp dir"),
        };
        repo.git(&["-c", "init.defaultBranch=main", "init", "-q"]);
        for (key, value) in [
            ("user.name", "Test Author"),
            ("user.email", "author@example.com"),
            ("commit.gpgsign", "false"),
            ("core.autocrlf", "false"),
        ] {
            repo.git(&["config", key, value]);
        }
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            // Fixed dates, so that the commits (and the snapshots' shas) are the same each run.
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("git prints utf-8")
    }

    fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        fs::write(full, contents).expect("write");
    }

    fn remove(&self, path: &str) {
        fs::remove_file(self.path().join(path)).expect("rm");
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// `main` with `files`, then a `feature` branch checked out.
    fn with_feature_branch_from(files: &[(&str, &str)]) -> Self {
        let repo = Self::new();
        for (path, contents) in files {
            repo.write(path, contents);
        }
        repo.commit_all("main");
        repo.git(&["checkout", "-q", "-b", "feature"]);
        repo
    }

    fn rev(&self, spec: &str) -> String {
        self.git(&["rev-parse", spec]).trim().to_owned()
    }

    /// Our files for merge-base(main, HEAD)..HEAD, and git's numstat of the same range.
    fn ours_and_gits(&self) -> (Vec<Numstat>, Vec<Numstat>) {
        let repo = git::open(self.path()).expect("open");
        let range = git::range(&repo, Some("main")).expect("range");
        let files = diff::changed_files(&repo, range.merge_base, range.head).expect("diff");
        let merge_base = range.merge_base.to_string();
        let gits = self.git(&[
            "-c",
            "core.quotePath=false",
            "diff",
            "--numstat",
            "-M",
            &merge_base,
            "HEAD",
        ]);
        (
            sorted(files.iter().map(Numstat::from)),
            parse_numstat(&gits),
        )
    }

    fn files(&self) -> Vec<FileChange> {
        let repo = git::open(self.path()).expect("open");
        let range = git::range(&repo, Some("main")).expect("range");
        diff::changed_files(&repo, range.merge_base, range.head).expect("diff")
    }

    fn check(&self, base: &str, format: OutputFormat) -> (CheckOutcome, String) {
        let args = CheckArgs {
            base: Some(base.to_owned()),
            format,
            path: self.path().to_path_buf(),
        };
        let mut out = Vec::new();
        let outcome = run(&args, &mut out).expect("check runs");
        (outcome, String::from_utf8(out).expect("utf-8"))
    }

    fn json_check(&self, base: &str) -> (CheckOutcome, serde_json::Value) {
        let (outcome, out) = self.check(base, OutputFormat::Json);
        (outcome, serde_json::from_str(&out).expect("json"))
    }
}

/// Lines of one length, `{prefix} line 001` and on, so that shares of lines are shares of bytes.
fn lines(prefix: &str, range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|n| format!("{prefix} line {n:03}\n")).collect()
}

/// One line of `git diff --numstat`; `None` counts are git's `-` for a binary file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Numstat {
    path: String,
    previous_path: Option<String>,
    additions: Option<u64>,
    deletions: Option<u64>,
}

impl Numstat {
    fn new(path: &str, previous_path: Option<&str>, counts: Option<(u64, u64)>) -> Self {
        Self {
            path: path.to_owned(),
            previous_path: previous_path.map(str::to_owned),
            additions: counts.map(|c| c.0),
            deletions: counts.map(|c| c.1),
        }
    }
}

impl From<&FileChange> for Numstat {
    fn from(file: &FileChange) -> Self {
        let counts = (!file.binary).then_some((file.additions, file.deletions));
        Self::new(&file.path, file.previous_path.as_deref(), counts)
    }
}

fn sorted(entries: impl Iterator<Item = Numstat>) -> Vec<Numstat> {
    let mut entries: Vec<Numstat> = entries.collect();
    entries.sort();
    entries
}

/// `added TAB deleted TAB path`, the path being `old => new` or `pre/{old => new}/suf` for a
/// rename, and the counts `-` for a binary file.
fn parse_numstat(output: &str) -> Vec<Numstat> {
    sorted(output.lines().map(|line| {
        let mut fields = line.splitn(3, '\t');
        let (added, deleted, path) = (
            fields.next().expect("added"),
            fields.next().expect("deleted"),
            fields.next().expect("path"),
        );
        let counts = (added != "-").then(|| {
            (
                added.parse().expect("a count"),
                deleted.parse().expect("a count"),
            )
        });
        let (path, previous_path) = renamed_path(path);
        Numstat::new(&path, previous_path.as_deref(), counts)
    }))
}

fn renamed_path(path: &str) -> (String, Option<String>) {
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

/// The issue's case: libgit2 paired these as one renamed file losing 60 lines.
#[test]
fn a_file_renamed_and_cut_to_less_than_half_is_a_deletion_and_an_addition() {
    let repo = TestRepo::with_feature_branch_from(&[("a.txt", &lines("kept", 1..=100))]);
    repo.git(&["mv", "a.txt", "b.txt"]);
    repo.write("b.txt", lines("kept", 1..=40));
    repo.commit_all("rename and cut");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [
            Numstat::new("a.txt", None, Some((0, 100))),
            Numstat::new("b.txt", None, Some((40, 0))),
        ]
    );
}

/// Half of the deleted file's bytes reappear: git's 50% threshold, reached.
#[test]
fn a_deleted_file_whose_lines_reappear_at_half_is_a_rename() {
    let repo = TestRepo::with_feature_branch_from(&[("old.txt", &lines("moved", 1..=100))]);
    repo.remove("old.txt");
    repo.write("new.txt", lines("moved", 1..=50) + &lines("added", 1..=10));
    repo.commit_all("half the lines move");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [Numstat::new("new.txt", Some("old.txt"), Some((10, 50)))]
    );
    assert_eq!(repo.files()[0].status, FileStatus::Renamed);
}

/// 45% of the deleted file reappears: no rename for git (libgit2 paired these, 10 added and
/// 55 deleted).
#[test]
fn a_deleted_file_whose_lines_reappear_at_less_than_half_is_no_rename() {
    let repo = TestRepo::with_feature_branch_from(&[("old.txt", &lines("moved", 1..=100))]);
    repo.remove("old.txt");
    repo.write("new.txt", lines("moved", 1..=45) + &lines("added", 1..=10));
    repo.commit_all("some lines move");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [
            Numstat::new("new.txt", None, Some((55, 0))),
            Numstat::new("old.txt", None, Some((0, 100))),
        ]
    );
    let statuses: Vec<FileStatus> = repo.files().iter().map(|f| f.status).collect();
    assert_eq!(statuses, [FileStatus::Added, FileStatus::Removed]);
}

#[test]
fn exact_renames_count_nothing() {
    let repo = TestRepo::with_feature_branch_from(&[
        ("docs/guide.md", &lines("guide", 1..=10)),
        ("src/a.rs", &lines("a", 1..=3)),
    ]);
    repo.git(&["mv", "docs/guide.md", "manual.md"]);
    repo.git(&["mv", "src/a.rs", "src/b.rs"]);
    repo.commit_all("renames");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [
            Numstat::new("manual.md", Some("docs/guide.md"), Some((0, 0))),
            Numstat::new("src/b.rs", Some("src/a.rs"), Some((0, 0))),
        ]
    );
}

#[test]
fn binary_files_have_no_line_counts() {
    let repo = TestRepo::with_feature_branch_from(&[
        ("icon.png", "\u{89}PNG\0\0old"),
        (".gitattributes", "*.dat -diff\n"),
        ("table.dat", "text git is told not to diff\n"),
    ]);
    repo.write("icon.png", "\u{89}PNG\0\0new");
    repo.write("logo.bin", "\0\x01\x02binary\0");
    repo.write("table.dat", "text git is told not to diff\nmore\n");
    repo.commit_all("binaries");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [
            Numstat::new("icon.png", None, None),
            Numstat::new("logo.bin", None, None),
            Numstat::new("table.dat", None, None),
        ]
    );
}

#[test]
fn paths_with_spaces_and_accents_come_through_as_they_are() {
    let repo = TestRepo::with_feature_branch_from(&[("src/ü ö.rs", &lines("umlaut", 1..=20))]);
    repo.git(&["mv", "src/ü ö.rs", "src/ä b.rs"]);
    repo.write("src/ä b.rs", lines("umlaut", 1..=21));
    repo.write("docs/with space/naïve résumé.md", "hello\n");
    repo.commit_all("odd names");

    let (ours, gits) = repo.ours_and_gits();

    assert_eq!(ours, gits);
    assert_eq!(
        ours,
        [
            Numstat::new("docs/with space/naïve résumé.md", None, Some((1, 0))),
            Numstat::new("src/ä b.rs", Some("src/ü ö.rs"), Some((1, 0))),
        ]
    );
}

#[test]
fn tabs_and_newlines_in_a_path_survive() {
    let repo = TestRepo::with_feature_branch_from(&[("README", "readme\n")]);
    repo.write("a\tb\nc.txt", "one\ntwo\n");
    repo.commit_all("a name git would quote");

    let files = repo.files();

    assert_eq!(
        files.iter().map(Numstat::from).collect::<Vec<_>>(),
        [Numstat::new("a\tb\nc.txt", None, Some((2, 0)))]
    );
}

/// `main` at 100 lines with `feature` adding 30 lines, then `main`'s policy is changed to
/// `tip_policy`, so the merge-base and the base's tip disagree.
fn repo_whose_policy_changed_after_branching(tip_policy: &str) -> TestRepo {
    let repo = TestRepo::with_feature_branch_from(&[(
        ".smallbatch.yml",
        "size:\n  max_lines: 100\n  warn_lines: 50\n",
    )]);
    repo.write("src/feature.rs", lines("feature", 1..=30));
    repo.write("generated/api.rs", lines("generated", 1..=30));
    repo.commit_all("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write(".smallbatch.yml", tip_policy);
    repo.commit_all("main changes its policy");
    repo.git(&["checkout", "-q", "feature"]);
    repo
}

#[test]
fn the_policy_is_read_at_the_base_tip_not_at_the_merge_base() {
    let repo =
        repo_whose_policy_changed_after_branching("size:\n  max_lines: 10\n  warn_lines: 5\n");
    repo.write(".gitattributes", "*.rs linguist-generated\n");
    repo.commit_all("the branch cannot loosen the gate either");

    let (outcome, report) = repo.json_check("main");

    assert_eq!(outcome, CheckOutcome::SizeExceeded);
    assert_eq!(report["size"]["max_lines"], 10);
    // 30 + 30 + the branch's one-line `.gitattributes`, which excludes nothing: only the
    // tip's would, and the tip has none.
    assert_eq!(report["size"]["lines"], 61);
    assert_eq!(report["merge_base"], repo.rev("main~1"));
    let (ours, gits) = repo.ours_and_gits();
    assert_eq!(ours, gits);
}

#[test]
fn a_policy_loosened_on_the_base_applies_at_once() {
    let repo =
        repo_whose_policy_changed_after_branching("size:\n  max_lines: 1000\n  warn_lines: 500\n");
    repo.git(&["checkout", "-q", "main"]);
    repo.write(".gitattributes", "generated/** linguist-generated\n");
    repo.commit_all("main marks generated code");
    repo.git(&["checkout", "-q", "feature"]);

    let (outcome, report) = repo.json_check("main");

    assert_eq!(outcome, CheckOutcome::WithinLimits);
    assert_eq!(report["size"]["max_lines"], 1000);
    // The tip's `.gitattributes` too: the generated file does not count.
    assert_eq!(report["size"]["lines"], 30);
    let generated = &report["size"]["files"][0];
    assert_eq!(generated["path"], "generated/api.rs");
    assert_eq!(generated["excluded"]["kind"], "linguist_generated");
}

#[test]
fn a_commit_as_base_is_its_own_tip() {
    let repo = repo_whose_policy_changed_after_branching("size:\n  max_lines: 10\n");
    let merge_base = repo.rev("main~1");

    let (outcome, report) = repo.json_check(&merge_base);

    assert_eq!(outcome, CheckOutcome::WithinLimits);
    assert_eq!(report["size"]["max_lines"], 100);
}

#[test]
fn the_text_names_the_policy_file_and_the_tip_it_was_read_at() {
    let repo = repo_whose_policy_changed_after_branching("size:\n  max_lines: 10\n");
    let tip = repo.rev("main");

    let (_, text) = repo.check("main", OutputFormat::Text);

    let policy_line = format!("Policy: .smallbatch.yml at the tip of main, {}.", &tip[..7]);
    assert!(text.lines().any(|line| line == policy_line), "{text}");
}

/// `main` with one file of each kind, a `feature` branch changing each, and `main` moved on.
fn repo_with_every_kind_of_change() -> TestRepo {
    let repo = TestRepo::with_feature_branch_from(&[
        (
            ".smallbatch.yml",
            "size:\n  max_lines: 50\n  warn_lines: 30\n  ignore: [\"docs/*.md\"]\n",
        ),
        (".gitattributes", "generated/** linguist-generated\n"),
        ("src/lib.rs", &lines("lib", 1..=20)),
        ("src/old.rs", &lines("old", 1..=5)),
        ("src/engine.rs", &lines("engine", 1..=30)),
        ("assets/icon.bin", "\u{89}PNG\0\0old"),
        ("vendor/dep/dep.c", &lines("dep", 1..=6)),
    ]);
    repo.write("src/lib.rs", lines("lib", 1..=20) + &lines("more", 1..=30));
    repo.remove("src/old.rs");
    repo.remove("src/engine.rs");
    repo.write("src/core/engine.rs", lines("engine", 1..=31));
    repo.write("assets/icon.bin", "\u{89}PNG\0\0new");
    repo.write("Cargo.lock", lines("lock", 1..=12));
    repo.write("vendor/dep/dep.c", lines("dep", 1..=8));
    repo.write("generated/schema.rs", lines("schema", 1..=7));
    repo.write("docs/guide.md", lines("guide", 1..=9));
    repo.write("web/app.ts", lines("app", 1..=25));
    repo.commit_all("feature: every kind of change");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("CHANGELOG.md", "moved on\n");
    repo.commit_all("main: later work");
    repo.git(&["checkout", "-q", "feature"]);
    repo
}

#[test]
fn every_kind_of_change_counts_as_git_counts_it() {
    let repo = repo_with_every_kind_of_change();
    let (ours, gits) = repo.ours_and_gits();
    assert_eq!(ours, gits);
}

#[test]
fn the_text_report_of_a_real_branch() {
    let repo = repo_with_every_kind_of_change();

    let (outcome, text) = repo.check("main", OutputFormat::Text);

    assert_eq!(outcome, CheckOutcome::SizeExceeded);
    super::text::tests::assert_plain(&text);
    insta::with_settings!({ filters => vec![(r"\b[0-9a-f]{7}\b", "[sha]")] }, {
        insta::assert_snapshot!(text);
    });
}
