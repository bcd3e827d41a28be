//! Test-only builders for PR snapshots, shared by the policy tests and any other unit test in
//! the crate (`crate::policy::testing`).
use crate::domain::{
    CommitSha, FileChange, FileStatus, PrNumber, PrSnapshot, PrState, Review, ReviewState, User,
};

/// The head commit of every built PR.
pub const HEAD: &str = "1111111111111111111111111111111111111111";
/// An earlier commit of the PR.
pub const OLD: &str = "2222222222222222222222222222222222222222";

pub fn sha(s: &str) -> CommitSha {
    CommitSha::new(s)
}

/// A PR by `author`, open, not a draft, with no files and no reviews.
pub fn pr() -> PrBuilder {
    PrBuilder {
        pr: PrSnapshot {
            number: PrNumber(7),
            title: "Add the thing".to_owned(),
            html_url: "https://github.com/acme/app/pull/7".to_owned(),
            author: User::human("author"),
            state: PrState::Open,
            draft: false,
            head_sha: sha(HEAD),
            head_ref: Some("add-the-thing".to_owned()),
            base_ref: "main".to_owned(),
            base_sha: sha("3333333333333333333333333333333333333333"),
            labels: Vec::new(),
            updated_at: "2026-01-01T00:00:00Z".to_owned(),
            files: Vec::new(),
            total_files: 0,
            total_additions: 0,
            total_deletions: 0,
            reviews: Vec::new(),
            unchanged_since: Vec::new(),
            estimated: Vec::new(),
            status_target: None,
        },
        totals: None,
    }
}

pub struct PrBuilder {
    pr: PrSnapshot,
    totals: Option<(u64, u64, u64)>,
}

impl PrBuilder {
    fn change(mut self, path: &str, status: FileStatus, additions: u64, deletions: u64) -> Self {
        self.pr.files.push(FileChange {
            path: path.to_owned(),
            previous_path: None,
            status,
            additions,
            deletions,
            binary: false,
        });
        self
    }

    /// A modified text file.
    pub fn file(self, path: &str, additions: u64, deletions: u64) -> Self {
        self.change(path, FileStatus::Modified, additions, deletions)
    }

    pub fn added(self, path: &str, additions: u64) -> Self {
        self.change(path, FileStatus::Added, additions, 0)
    }

    pub fn removed(self, path: &str, deletions: u64) -> Self {
        self.change(path, FileStatus::Removed, 0, deletions)
    }

    pub fn renamed(mut self, from: &str, to: &str, additions: u64, deletions: u64) -> Self {
        self = self.change(to, FileStatus::Renamed, additions, deletions);
        if let Some(last) = self.pr.files.last_mut() {
            last.previous_path = Some(from.to_owned());
        }
        self
    }

    pub fn binary(mut self, path: &str) -> Self {
        self = self.change(path, FileStatus::Modified, 0, 0);
        if let Some(last) = self.pr.files.last_mut() {
            last.binary = true;
        }
        self
    }

    pub fn review(mut self, reviewer: User, state: ReviewState, commit: Option<&str>) -> Self {
        self.pr.reviews.push(Review {
            reviewer,
            state,
            commit: commit.map(sha),
        });
        self
    }

    /// `login` approves the head.
    pub fn approve(self, login: &str) -> Self {
        self.review(User::human(login), ReviewState::Approved, Some(HEAD))
    }

    pub fn request_changes(self, login: &str) -> Self {
        self.review(
            User::human(login),
            ReviewState::ChangesRequested,
            Some(HEAD),
        )
    }

    pub fn author(mut self, author: User) -> Self {
        self.pr.author = author;
        self
    }

    pub fn label(mut self, name: &str) -> Self {
        self.pr.labels.push(name.to_owned());
        self
    }

    pub fn draft(mut self) -> Self {
        self.pr.draft = true;
        self
    }

    /// Marks a listed file's counts as the forge's full-length estimate.
    pub fn estimated(mut self, path: &str) -> Self {
        self.pr.estimated.push(path.to_owned());
        self
    }

    pub fn unchanged_since(mut self, commit: &str) -> Self {
        self.pr.unchanged_since.push(sha(commit));
        self
    }

    /// The forge's totals, when they exceed the listed files (its listing cap).
    pub fn totals(mut self, files: u64, additions: u64, deletions: u64) -> Self {
        self.totals = Some((files, additions, deletions));
        self
    }

    pub fn build(mut self) -> PrSnapshot {
        let (files, additions, deletions) = self.totals.unwrap_or_else(|| {
            (
                self.pr.files.len() as u64,
                self.pr.files.iter().map(|f| f.additions).sum(),
                self.pr.files.iter().map(|f| f.deletions).sum(),
            )
        });
        self.pr.total_files = files;
        self.pr.total_additions = additions;
        self.pr.total_deletions = deletions;
        self.pr
    }
}

/// A GitHub base branch with no `.gitattributes` and no CODEOWNERS.
pub fn plain_base() -> crate::policy::BaseFacts {
    crate::policy::BaseFacts::new(crate::domain::ForgeKind::GitHub, None)
}
