//! Size: additions + deletions over the files that count, and why the others don't.
use super::budgets::{self, BudgetUse};
use super::config::SizeConfig;
use super::gitattributes::{Linguist, LinguistAttributes};
use super::globs::PathGlobs;
use super::text::files;
use crate::domain::{FileChange, FileStatus, PrSnapshot};
use serde::Serialize;

/// What the forge says about the whole change, including files past its listing cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub files: u64,
    pub additions: u64,
    pub deletions: u64,
}

impl Totals {
    pub fn of(pr: &PrSnapshot) -> Self {
        Self {
            files: pr.total_files,
            additions: pr.total_additions,
            deletions: pr.total_deletions,
        }
    }

    /// For a complete file list (a local diff): the totals are the list's own.
    pub fn listed(files: &[FileChange]) -> Self {
        Self {
            files: files.len() as u64,
            additions: files.iter().map(|f| f.additions).sum(),
            deletions: files.iter().map(|f| f.deletions).sum(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exclusion {
    LockFile,
    VendoredPath { dir: String },
    LinguistGenerated,
    LinguistVendored,
    Ignored { pattern: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    pub path: String,
    pub previous_path: Option<String>,
    pub status: FileStatus,
    pub additions: u64,
    pub deletions: u64,
    pub binary: bool,
    /// Lines this file counts (0 when excluded; 1 for a wholly deleted file): toward the
    /// score, or toward its budget.
    pub lines: u64,
    pub excluded: Option<Exclusion>,
    /// The `size.paths` budget (its index) the file counts toward instead of the score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<usize>,
}

/// Files the forge did not list because of its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Truncation {
    pub listed: u64,
    pub total: u64,
    /// Lines of the unlisted files, from the forge's totals; counted in full.
    pub unlisted_lines: u64,
}

impl Truncation {
    pub fn unlisted_files(&self) -> u64 {
        self.total.saturating_sub(self.listed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeScore {
    pub files: Vec<FileOutcome>,
    /// The score: counted lines outside every `size.paths` budget.
    pub lines: u64,
    /// Files that count toward the score (not excluded, under no budget), binary ones included.
    pub counted_files: u64,
    /// Set when the forge listed fewer files than the change has; the unlisted files' lines
    /// and count are included in `lines` and `counted_files`, since they cannot be classified.
    pub truncated: Option<Truncation>,
    /// Counted files whose lines are upper-bound estimates: the forge showed no diff for
    /// them, so they count at their full length (see `PrSnapshot::estimated`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub estimated: Vec<String>,
    pub max_lines: u64,
    pub warn_lines: u64,
    pub max_files: Option<u64>,
    /// Each `size.paths` budget's use, in the policy's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetUse>,
}

impl SizeScore {
    pub fn oversized(&self) -> bool {
        self.lines > self.max_lines
    }

    /// Over the guidance threshold but within the limit.
    pub fn over_warn(&self) -> bool {
        self.lines > self.warn_lines && !self.oversized()
    }

    pub fn too_many_files(&self) -> bool {
        self.max_files.is_some_and(|max| self.counted_files > max)
    }

    /// Keeps, of the forge's estimated paths, those that count toward the size.
    pub fn with_estimated(mut self, paths: &[String]) -> Self {
        self.estimated = self
            .counted()
            .filter(|f| paths.contains(&f.path))
            .map(|f| f.path.clone())
            .collect();
        self
    }

    /// The sentence that owns up to estimated counts, when there are any.
    pub fn estimated_note(&self) -> Option<String> {
        let n = self.estimated.len() as u64;
        let (was, they, their) = if n == 1 {
            ("was", "it is", "its")
        } else {
            ("were", "they are", "their")
        };
        (n > 0).then(|| {
            format!(
                "{} {was} too large for GitLab to show a diff; {they} counted at {their} full length.",
                files(n)
            )
        })
    }

    /// Files that count, toward the score or toward a budget.
    pub fn counted(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| f.excluded.is_none())
    }

    /// Files that count toward the score (under no budget).
    pub fn scored(&self) -> impl Iterator<Item = &FileOutcome> {
        self.counted().filter(|f| f.budget.is_none())
    }

    /// The budgets whose paths hold more lines than they allow.
    pub fn budgets_over(&self) -> impl Iterator<Item = &BudgetUse> {
        self.budgets.iter().filter(|b| b.over())
    }

    pub fn excluded(&self) -> impl Iterator<Item = (&FileOutcome, &Exclusion)> {
        self.files
            .iter()
            .filter_map(|f| f.excluded.as_ref().map(|why| (f, why)))
    }
}

/// Lock files, matched by file name in any directory.
pub const LOCK_FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "bun.lock",
    "deno.lock",
    "go.sum",
    "go.work.sum",
    "poetry.lock",
    "Pipfile.lock",
    "pdm.lock",
    "uv.lock",
    "Gemfile.lock",
    "composer.lock",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "Package.resolved",
    "Cartfile.resolved",
    "flake.lock",
    "packages.lock.json",
    "paket.lock",
    "gradle.lockfile",
    "buildscript-gradle.lockfile",
    "conan.lock",
    "shard.lock",
];

/// Directory names whose contents are someone else's code.
pub const VENDORED_DIRS: &[&str] = &["vendor", "third_party", "node_modules"];

/// Scores the listed files. `config.ignore` must have been validated (by `RepoConfig::parse`);
/// an invalid pattern there excludes nothing rather than failing.
pub fn score(
    files: &[FileChange],
    totals: Totals,
    config: &SizeConfig,
    gitattributes: Option<&str>,
) -> SizeScore {
    let rules = ExclusionRules {
        attributes: gitattributes.map(LinguistAttributes::parse),
        ignore: PathGlobs::new(&config.ignore).unwrap_or_default(),
    };
    let mut files: Vec<FileOutcome> = files.iter().map(|f| rules.outcome(f)).collect();
    let budgets = budgets::assign(&mut files, &config.paths);

    let listed = files.len() as u64;
    let truncated = (totals.files > listed).then(|| {
        let listed_raw: u64 = files.iter().map(|f| f.additions + f.deletions).sum();
        Truncation {
            listed,
            total: totals.files,
            unlisted_lines: (totals.additions + totals.deletions).saturating_sub(listed_raw),
        }
    });

    let scored = || {
        files
            .iter()
            .filter(|f| f.excluded.is_none() && f.budget.is_none())
    };
    let listed_lines: u64 = scored().map(|f| f.lines).sum();
    let listed_counted = scored().count() as u64;
    SizeScore {
        lines: listed_lines + truncated.map_or(0, |t| t.unlisted_lines),
        counted_files: listed_counted + truncated.map_or(0, |t| t.unlisted_files()),
        files,
        truncated,
        estimated: Vec::new(),
        max_lines: config.max_lines,
        warn_lines: config.warn_lines,
        max_files: config.max_files,
        budgets,
    }
}

struct ExclusionRules {
    attributes: Option<LinguistAttributes>,
    ignore: PathGlobs,
}

impl ExclusionRules {
    fn outcome(&self, file: &FileChange) -> FileOutcome {
        let excluded = self.exclusion(&file.path);
        let lines = if excluded.is_some() {
            0
        } else if file.status == FileStatus::Removed {
            // Deleting a whole file is one decision for the reviewer, not N lines to read.
            1
        } else if file.binary {
            0
        } else {
            file.additions + file.deletions
        };
        FileOutcome {
            path: file.path.clone(),
            previous_path: file.previous_path.clone(),
            status: file.status,
            additions: file.additions,
            deletions: file.deletions,
            binary: file.binary,
            lines,
            excluded,
            budget: None,
        }
    }

    /// The first reason that applies, in a fixed order.
    fn exclusion(&self, path: &str) -> Option<Exclusion> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if LOCK_FILES.contains(&name) {
            return Some(Exclusion::LockFile);
        }
        if let Some(dir) = vendored_dir(path) {
            return Some(Exclusion::VendoredPath { dir });
        }
        match self.attributes.as_ref().and_then(|a| a.classify(path)) {
            Some(Linguist::Generated) => return Some(Exclusion::LinguistGenerated),
            Some(Linguist::Vendored) => return Some(Exclusion::LinguistVendored),
            None => {}
        }
        self.ignore
            .matching(path)
            .map(|pattern| Exclusion::Ignored {
                pattern: pattern.to_owned(),
            })
    }
}

/// The path up to and including the first vendored directory, e.g. `web/node_modules/`.
fn vendored_dir(path: &str) -> Option<String> {
    let mut end = 0;
    let mut components = path.split('/').peekable();
    while let Some(component) = components.next() {
        end += component.len() + 1;
        // The last component is the file itself, not a directory.
        if components.peek().is_some() && VENDORED_DIRS.contains(&component) {
            return Some(path[..end].to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{pr, PrBuilder};

    fn scored(b: PrBuilder) -> SizeScore {
        scored_with(b, &SizeConfig::default(), None)
    }

    fn scored_with(b: PrBuilder, config: &SizeConfig, attrs: Option<&str>) -> SizeScore {
        let pr = b.build();
        score(&pr.files, Totals::of(&pr), config, attrs)
    }

    fn lines_of(s: &SizeScore) -> Vec<(&str, u64)> {
        s.files.iter().map(|f| (f.path.as_str(), f.lines)).collect()
    }

    fn exclusion_of<'a>(s: &'a SizeScore, path: &str) -> Option<&'a Exclusion> {
        s.files.iter().find(|f| f.path == path)?.excluded.as_ref()
    }

    #[test]
    fn estimated_files_that_count_are_named_in_one_sentence() {
        let s = scored(
            pr().file("big.sql", 900, 800)
                .file("Cargo.lock", 5000, 0)
                .file("a.rs", 1, 0),
        );
        assert_eq!(s.estimated_note(), None);
        let paths = ["big.sql".to_owned(), "Cargo.lock".to_owned()];
        let s = s.with_estimated(&paths);
        assert_eq!(s.estimated, ["big.sql"]);
        assert_eq!(
            s.estimated_note().as_deref(),
            Some(
                "1 file was too large for GitLab to show a diff; it is counted at its full length."
            )
        );
        let two = scored(pr().file("a.sql", 9, 0).file("b.sql", 9, 0))
            .with_estimated(&["a.sql".to_owned(), "b.sql".to_owned()]);
        assert_eq!(
            two.estimated_note().as_deref(),
            Some("2 files were too large for GitLab to show a diff; they are counted at their full length.")
        );
    }

    #[test]
    fn additions_plus_deletions_are_the_score() {
        let s = scored(pr().file("src/a.rs", 10, 5).added("src/b.rs", 20));
        assert_eq!(lines_of(&s), [("src/a.rs", 15), ("src/b.rs", 20)]);
        assert_eq!((s.lines, s.counted_files, s.truncated), (35, 2, None));
    }

    #[test]
    fn a_deleted_file_counts_one_line() {
        let s = scored(pr().removed("old/big.rs", 900));
        assert_eq!(lines_of(&s), [("old/big.rs", 1)]);
        assert_eq!(s.lines, 1);
    }

    #[test]
    fn binary_files_count_zero_lines_but_are_listed_and_counted_as_files() {
        let s = scored(pr().binary("logo.png").file("a.rs", 3, 0));
        assert_eq!(lines_of(&s), [("logo.png", 0), ("a.rs", 3)]);
        assert!(s.files[0].binary);
        assert_eq!((s.lines, s.counted_files), (3, 2));
    }

    #[test]
    fn renames_count_their_edits_only() {
        let s = scored(
            pr().renamed("a.rs", "b.rs", 0, 0)
                .renamed("c.rs", "d.rs", 4, 2),
        );
        assert_eq!(lines_of(&s), [("b.rs", 0), ("d.rs", 6)]);
        assert_eq!(s.files[1].previous_path.as_deref(), Some("c.rs"));
    }

    #[test]
    fn lock_files_are_excluded_by_name_in_any_directory() {
        let s = scored(
            pr().file("Cargo.lock", 500, 20)
                .file("web/package-lock.json", 3000, 10)
                .file("go.sum", 40, 0)
                .file("app/gradle.lockfile", 5, 5)
                .file("docs/Cargo.lock.md", 7, 0),
        );
        assert_eq!(s.lines, 7);
        assert_eq!(s.counted_files, 1);
        assert_eq!(
            exclusion_of(&s, "web/package-lock.json"),
            Some(&Exclusion::LockFile)
        );
        assert_eq!(exclusion_of(&s, "docs/Cargo.lock.md"), None);
    }

    #[test]
    fn vendored_directories_are_excluded_at_any_depth() {
        let s = scored(
            pr().file("vendor/lib.c", 100, 0)
                .file("web/node_modules/x/index.js", 50, 0)
                .file("a/third_party/b/c.h", 10, 0)
                .file("src/vendor.rs", 3, 0),
        );
        assert_eq!(s.lines, 3);
        assert_eq!(
            exclusion_of(&s, "web/node_modules/x/index.js"),
            Some(&Exclusion::VendoredPath {
                dir: "web/node_modules/".into()
            })
        );
        assert_eq!(
            exclusion_of(&s, "a/third_party/b/c.h"),
            Some(&Exclusion::VendoredPath {
                dir: "a/third_party/".into()
            })
        );
    }

    #[test]
    fn gitattributes_exclude_generated_and_vendored_files() {
        let attrs = "/gen/** linguist-generated\ngen/manual.rs -linguist-generated\nlibs/** linguist-vendored\n";
        let s = scored_with(
            pr().file("gen/api.rs", 300, 0)
                .file("gen/manual.rs", 4, 0)
                .file("src/gen/x.rs", 5, 0)
                .file("libs/a.js", 80, 0),
            &SizeConfig::default(),
            Some(attrs),
        );
        assert_eq!(
            exclusion_of(&s, "gen/api.rs"),
            Some(&Exclusion::LinguistGenerated)
        );
        assert_eq!(
            exclusion_of(&s, "libs/a.js"),
            Some(&Exclusion::LinguistVendored)
        );
        assert_eq!(
            lines_of(&s),
            [
                ("gen/api.rs", 0),
                ("gen/manual.rs", 4),
                ("src/gen/x.rs", 5),
                ("libs/a.js", 0)
            ]
        );
        assert_eq!(s.lines, 9);
    }

    #[test]
    fn size_ignore_globs_exclude_and_name_the_pattern() {
        let config = SizeConfig {
            ignore: vec!["*.snap".into(), "docs/".into(), "!docs/keep.md".into()],
            ..SizeConfig::default()
        };
        let s = scored_with(
            pr().file("src/snapshots/a.snap", 50, 0)
                .file("docs/guide/intro.md", 30, 0)
                .file("docs/keep.md", 2, 0)
                .file("src/a.rs", 1, 0),
            &config,
            None,
        );
        assert_eq!(
            exclusion_of(&s, "src/snapshots/a.snap"),
            Some(&Exclusion::Ignored {
                pattern: "*.snap".into()
            })
        );
        assert_eq!(
            exclusion_of(&s, "docs/guide/intro.md"),
            Some(&Exclusion::Ignored {
                pattern: "docs/".into()
            })
        );
        assert_eq!(s.lines, 3);
    }

    #[test]
    fn the_first_applicable_exclusion_is_reported() {
        let config = SizeConfig {
            ignore: vec!["**".into()],
            ..SizeConfig::default()
        };
        let s = scored_with(
            pr().file("vendor/Cargo.lock", 5, 0),
            &config,
            Some("* linguist-generated"),
        );
        assert_eq!(
            exclusion_of(&s, "vendor/Cargo.lock"),
            Some(&Exclusion::LockFile)
        );
    }

    #[test]
    fn unlisted_files_past_the_cap_count_in_full() {
        // 3,000 listed files of 3 lines each; the forge says 3,400 files and 10,000 lines.
        let mut b = pr();
        for i in 0..3000 {
            b = b.file(&format!("src/f{i}.rs"), 2, 1);
        }
        let s = scored(b.totals(3400, 8000, 2000));
        assert_eq!(
            s.truncated,
            Some(Truncation {
                listed: 3000,
                total: 3400,
                unlisted_lines: 1000
            })
        );
        assert_eq!(s.lines, 9000 + 1000);
        assert_eq!(s.counted_files, 3400);
    }

    #[test]
    fn listed_excluded_files_are_subtracted_at_their_raw_size() {
        // Excluded listed files are subtracted with their raw counts, so they stay excluded.
        let s = scored(
            pr().file("Cargo.lock", 900, 100)
                .file("a.rs", 10, 0)
                .totals(5, 1200, 100),
        );
        assert_eq!(s.truncated.map(|t| t.unlisted_lines), Some(290));
        assert_eq!(s.lines, 300);
    }

    #[test]
    fn inconsistent_totals_never_go_negative() {
        let s = scored(pr().file("a.rs", 10, 0).totals(2, 3, 0));
        assert_eq!(s.truncated.map(|t| t.unlisted_lines), Some(0));
        assert_eq!(s.lines, 10);
    }

    #[test]
    fn complete_listing_is_not_truncated() {
        let pr = pr().file("a.rs", 1, 1).build();
        let s = score(
            &pr.files,
            Totals::listed(&pr.files),
            &SizeConfig::default(),
            None,
        );
        assert_eq!(s.truncated, None);
    }

    #[test]
    fn limits_are_compared_strictly() {
        let at = |lines: u64| scored(pr().file("a.rs", lines, 0));
        assert!(!at(400).oversized());
        assert!(at(401).oversized());
        assert!(!at(200).over_warn());
        assert!(at(201).over_warn());
        assert!(!at(401).over_warn());
        let config = SizeConfig {
            max_files: Some(1),
            ..SizeConfig::default()
        };
        assert!(
            !scored_with(pr().file("a", 1, 0).file("Cargo.lock", 1, 0), &config, None)
                .too_many_files()
        );
        assert!(scored_with(pr().file("a", 1, 0).file("b", 1, 0), &config, None).too_many_files());
    }
}
