//! CODEOWNERS matching held against git itself: for a table of patterns and paths, the
//! line that decides each path is asked of the real `git check-attr` in a scratch
//! repository, and compared with [`CodeOwners`].
//!
//! Git is asked, not a copy of its answers: each CODEOWNERS line `pattern @uN` becomes the
//! attributes line `pattern line=N`, so `git check-attr line` names the last line matching
//! a path. Attributes never reach into a matched directory, while CODEOWNERS does (`apps/`
//! owns `apps/a.js`); so git is asked about the path and about each directory holding it
//! (`apps/`, whose trailing slash tells git it is a directory), and the latest line among
//! their answers decides. Negation is refused by both.
use super::codeowners::CodeOwners;
use crate::domain::ForgeKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// (as CODEOWNERS writes it, as .gitattributes writes it). `*` stays first in every
/// order, as the usual fallback owner.
const PATTERNS: &[(&str, &str)] = &[
    ("*", "*"),
    ("*.rs", "*.rs"),
    ("/build/logs/", "/build/logs/"),
    ("apps/", "apps/"),
    ("/apps/github", "/apps/github"),
    ("docs/*", "docs/*"),
    ("docs/**/*.md", "docs/**/*.md"),
    ("**/logs", "**/logs"),
    ("src/**", "src/**"),
    ("a/**/b", "a/**/b"),
    ("/README.md", "/README.md"),
    ("README.md", "README.md"),
    ("lib/*.c", "lib/*.c"),
    ("?.txt", "?.txt"),
    ("[abc].txt", "[abc].txt"),
    ("my\\ docs/*.md", "\"my docs/*.md\""),
    ("\\#notes", "\\#notes"),
    ("foo/bar/", "foo/bar/"),
    ("**/generated/", "**/generated/"),
    ("/*.md", "/*.md"),
    ("tests", "tests"),
    ("src/*/mod.rs", "src/*/mod.rs"),
    ("*.min.js", "*.min.js"),
    ("/vendor", "/vendor"),
    ("deep/**", "deep/**"),
];

const PATHS: &[&str] = &[
    "README.md",
    "docs/README.md",
    "src/lib.rs",
    "src/a/mod.rs",
    "src/a/b/mod.rs",
    "build/logs/x.log",
    "x/build/logs/y.log",
    "build/logs",
    "apps/a.js",
    "x/apps/b.js",
    "apps",
    "apps/github/c.rb",
    "apps/githubx/d.rb",
    "docs/a.md",
    "docs/sub/b.md",
    "docs/sub/c.txt",
    "logs/l",
    "a/logs",
    "a/b/logs/x",
    "a/b",
    "a/x/y/b",
    "a/b/c",
    "lib/x.c",
    "lib/sub/x.c",
    "a.txt",
    "ab.txt",
    "b.txt",
    "d.txt",
    "my docs/a.md",
    "my docs/sub/a.md",
    "#notes",
    "x/#notes",
    "foo/bar/baz",
    "foo/bar",
    "x/foo/bar/y",
    "generated/g.rs",
    "a/generated/g.rs",
    "generated",
    "tests/t.rs",
    "src/tests/t.rs",
    "tests",
    "web/app.min.js",
    "vendor/v.c",
    "src/vendor/v.c",
    "x/vendor/v.c",
    "deep/a/b/c.rs",
    "index.html",
];

/// A scratch git repository, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "smallbatch-codeowners-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let scratch = Self(dir);
        let status = scratch.git().args(["init", "-q", "."]).status().unwrap();
        assert!(status.success(), "git init failed");
        scratch
    }

    /// git in the scratch repository, blind to the user's and the system's config (a
    /// global attributes file would change the answers).
    fn git(&self) -> Command {
        let mut git = Command::new("git");
        git.current_dir(&self.0)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", &self.0);
        git
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path and every directory holding it, directories with a trailing `/`.
fn candidates(path: &str) -> Vec<String> {
    let mut out: Vec<String> = path
        .match_indices('/')
        .map(|(i, _)| format!("{}/", &path[..i]))
        .collect();
    out.push(path.to_owned());
    out
}

/// For each path, the last line of `order` that git says matches it or a directory
/// holding it.
fn git_answers(scratch: &Scratch, order: &[usize]) -> BTreeMap<String, Option<usize>> {
    let attributes: String = order
        .iter()
        .enumerate()
        .map(|(i, &p)| format!("{} line={}\n", PATTERNS[p].1, i + 1))
        .collect();
    std::fs::write(scratch.path().join(".gitattributes"), attributes).unwrap();
    let asked: Vec<String> = PATHS
        .iter()
        .flat_map(|p| candidates(p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut child = scratch
        .git()
        .args(["-c", "core.quotepath=off", "check-attr", "--stdin", "line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git is installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(asked.join("\n").as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "git check-attr failed");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let by_candidate: BTreeMap<&str, Option<usize>> = stdout
        .lines()
        .map(|l| {
            let (path, value) = l.rsplit_once(": line: ").expect(l);
            (path, value.parse().ok())
        })
        .collect();
    assert_eq!(by_candidate.len(), asked.len(), "{stdout}");
    PATHS
        .iter()
        .map(|p| {
            let last = candidates(p)
                .iter()
                .filter_map(|c| by_candidate[c.as_str()])
                .max();
            (p.to_string(), last)
        })
        .collect()
}

fn ours(order: &[usize]) -> BTreeMap<String, Option<usize>> {
    let text: String = order
        .iter()
        .enumerate()
        .map(|(i, &p)| format!("{} @u{}\n", PATTERNS[p].0, i + 1))
        .collect();
    let owners = CodeOwners::parse("CODEOWNERS", &text, ForgeKind::GitHub).unwrap();
    PATHS
        .iter()
        .map(|p| (p.to_string(), owners.deciding_lines(p)[0]))
        .collect()
}

/// Orders of [`PATTERNS`]: as listed, reversed, and shuffled by a fixed seed, `*` first.
fn orders() -> Vec<Vec<usize>> {
    let rest: Vec<usize> = (1..PATTERNS.len()).collect();
    let mut orders = vec![rest.clone(), rest.iter().rev().copied().collect()];
    let mut seed: u64 = 0x5eed;
    for _ in 0..4 {
        let mut shuffled = rest.clone();
        for i in (1..shuffled.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            shuffled.swap(i, (seed >> 33) as usize % (i + 1));
        }
        orders.push(shuffled);
    }
    orders
        .into_iter()
        .map(|o| std::iter::once(0).chain(o).collect())
        .collect()
}

#[test]
fn the_deciding_line_is_the_one_git_finds() {
    let scratch = Scratch::new("oracle");
    for order in orders() {
        let expected = git_answers(&scratch, &order);
        let got = ours(&order);
        let wrong: Vec<String> = PATHS
            .iter()
            .filter(|p| expected[**p] != got[**p])
            .map(|p| {
                format!(
                    "{p}: git says line {:?}, we say {:?}",
                    expected[*p], got[*p]
                )
            })
            .collect();
        let listing: Vec<&str> = order.iter().map(|&p| PATTERNS[p].0).collect();
        assert!(wrong.is_empty(), "order {listing:?}:\n{}", wrong.join("\n"));
    }
}

/// The table is worth holding against git only if it tells the rules apart: some paths
/// are decided by a later line than the fallback, some by a directory, some by nothing
/// but the fallback.
#[test]
fn the_table_exercises_anchors_directories_and_the_last_match() {
    let scratch = Scratch::new("table");
    let order = &orders()[0];
    let expected = git_answers(&scratch, order);
    let decided_by = |path: &str| expected[path].map(|line| PATTERNS[order[line - 1]].0);
    assert_eq!(decided_by("index.html"), Some("*"));
    assert_eq!(
        decided_by("x/apps/b.js"),
        Some("apps/"),
        "unanchored directory"
    );
    assert_eq!(
        decided_by("apps/github/c.rb"),
        Some("/apps/github"),
        "a later line wins"
    );
    assert_eq!(decided_by("x/vendor/v.c"), Some("*"), "anchored");
    assert_eq!(decided_by("lib/sub/x.c"), Some("*"), "`*` stops at `/`");
    assert_eq!(decided_by("x/build/logs/y.log"), Some("**/logs"));
    assert_eq!(
        decided_by("build/logs/x.log"),
        Some("**/logs"),
        "later than `/build/logs/`"
    );
    assert_eq!(
        decided_by("build/logs"),
        Some("**/logs"),
        "a file named like a directory"
    );
    assert_eq!(decided_by("docs/README.md"), Some("README.md"));
    assert_eq!(decided_by("README.md"), Some("/*.md"));
}
