//! Size: additions + deletions over the files that count, and why the others don't.
use super::config::SizeConfig;
use super::gitattributes::{Linguist, LinguistAttributes};
use super::globs::PathGlobs;
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
    /// Lines this file adds to the score (0 when excluded; 1 for a wholly deleted file).
    pub lines: u64,
    pub excluded: Option<Exclusion>,
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
    /// The score.
    pub lines: u64,
    /// Files that count (not excluded), binary ones included.
    pub counted_files: u64,
    /// Set when the forge listed fewer files than the change has; the unlisted files' lines
    /// and count are included in `lines` and `counted_files`, since they cannot be classified.
    pub truncated: Option<Truncation>,
    pub max_lines: u64,
    pub warn_lines: u64,
    pub max_files: Option<u64>,
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

    pub fn counted(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| f.excluded.is_none())
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
    let files: Vec<FileOutcome> = files.iter().map(|f| rules.outcome(f)).collect();

    let listed = files.len() as u64;
    let truncated = (totals.files > listed).then(|| {
        let listed_raw: u64 = files.iter().map(|f| f.additions + f.deletions).sum();
        Truncation {
            listed,
            total: totals.files,
            unlisted_lines: (totals.additions + totals.deletions).saturating_sub(listed_raw),
        }
    });

    let listed_lines: u64 = files.iter().map(|f| f.lines).sum();
    let listed_counted = files.iter().filter(|f| f.excluded.is_none()).count() as u64;
    SizeScore {
        lines: listed_lines + truncated.map_or(0, |t| t.unlisted_lines),
        counted_files: listed_counted + truncated.map_or(0, |t| t.unlisted_files()),
        files,
        truncated,
        max_lines: config.max_lines,
        warn_lines: config.warn_lines,
        max_files: config.max_files,
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
