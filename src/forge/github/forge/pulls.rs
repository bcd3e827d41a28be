//! Pull requests: the snapshot the gate scores, open PRs, files and branches at a
//! commit.

use super::{GitHubForge, RepoClient, PER_PAGE};
use crate::domain::{
    CommitSha, FileChange, FileStatus, PrNumber, PrRef, PrSnapshot, PrState, Review, ReviewState,
    User,
};
use crate::forge::github::client::{ApiRequest, RAW};
use crate::forge::github::models::{self, DiffEntry, PullRequest};
use crate::forge::rest::with_query;
use crate::forge::{ForgeError, ForgeResult, OpenPr, ReviewCommits};
use async_trait::async_trait;
use std::collections::HashSet;

/// GitHub lists at most 3,000 files of a pull request.
pub const FILE_LIST_CAP: usize = 3_000;
/// `compare` lists at most 300 files; a longer list cannot be compared reliably.
const COMPARE_FILE_CAP: usize = 300;

#[async_trait]
impl ReviewCommits for GitHubForge {
    async fn unchanged_since(&self, pr: &PrRef, snap: &PrSnapshot) -> ForgeResult<Vec<CommitSha>> {
        let api = self.repo(&pr.repo)?;
        let (base, head) = (snap.base_sha.as_str(), snap.head_sha.as_str());
        unchanged_since(api, base, head, &snap.reviews).await
    }
}

pub(super) async fn snapshot(api: RepoClient<'_>, pr: &PrRef) -> ForgeResult<PrSnapshot> {
    let number = pr.number.to_string();
    let page = [("per_page", PER_PAGE)];
    let pull_url = api.url(&["pulls", &number]);
    let files_url = with_query(api.url(&["pulls", &number, "files"]), &page);
    let reviews_url = with_query(api.url(&["pulls", &number, "reviews"]), &page);
    let (pull, files, reviews) = tokio::try_join!(
        api.get_json::<PullRequest>(pull_url),
        api.get_all::<DiffEntry>(files_url, FILE_LIST_CAP),
        api.get_all::<models::Review>(reviews_url, usize::MAX),
    )?;
    let reviews: Vec<Review> = reviews.into_iter().filter_map(review).collect();
    let head_ref = own_branch(&pull.head, &pr.repo.full_name);
    Ok(PrSnapshot {
        number: PrNumber(pull.number),
        state: pr_state(&pull),
        title: pull.title,
        html_url: pull.html_url,
        author: user(pull.user),
        draft: pull.draft,
        head_sha: CommitSha::new(pull.head.sha),
        head_ref,
        base_ref: pull.base.name,
        base_sha: CommitSha::new(pull.base.sha),
        labels: pull.labels.into_iter().map(|l| l.name).collect(),
        updated_at: pull.updated_at,
        files: files.into_iter().map(file_change).collect(),
        total_files: pull.changed_files,
        total_additions: pull.additions,
        total_deletions: pull.deletions,
        reviews,
        unchanged_since: Vec::new(),
        estimated: vec![],
        status_target: None,
    })
}

/// Review commits whose diff against the merge base equals the head's.
///
/// Equality is per file on (name, status, previous name, patch text, counts): a
/// clean rebase keeps it, while any content change, or a rebase that shifts the
/// lines around a hunk, breaks it (so reviews err towards being stale).
async fn unchanged_since(
    api: RepoClient<'_>,
    base: &str,
    head: &str,
    reviews: &[Review],
) -> ForgeResult<Vec<CommitSha>> {
    let mut seen = HashSet::new();
    let candidates: Vec<&CommitSha> = reviews
        .iter()
        .filter_map(|r| r.commit.as_ref())
        .filter(|c| c.as_str() != head && seen.insert(c.as_str()))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let Some(head_diff) = diff_from_base(api, base, head).await? else {
        return Ok(Vec::new());
    };
    let mut unchanged = Vec::new();
    for commit in candidates {
        match diff_from_base(api, base, commit.as_str()).await {
            Ok(Some(diff)) if diff == head_diff => unchanged.push(commit.clone()),
            // A commit force-pushed away and collected is simply not unchanged.
            Ok(_) | Err(ForgeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(unchanged)
}

/// The diff of `base...commit` (against their merge base), `None` when GitHub's
/// listing is capped and so cannot be compared in full.
async fn diff_from_base(
    api: RepoClient<'_>,
    base: &str,
    commit: &str,
) -> ForgeResult<Option<Vec<DiffEntry>>> {
    let range = format!("{base}...{commit}");
    let comparison: models::Comparison = api.get_json(api.url(&["compare", &range])).await?;
    Ok((comparison.files.len() < COMPARE_FILE_CAP).then_some(comparison.files))
}

pub(super) async fn file_at(
    api: RepoClient<'_>,
    commit: &CommitSha,
    path: &str,
) -> ForgeResult<Option<String>> {
    let mut segments = vec!["contents"];
    segments.extend(path.split('/').filter(|s| !s.is_empty()));
    let url = with_query(api.url(&segments), &[("ref", commit.as_str())]);
    let request = ApiRequest::get(url).accept(RAW);
    match api.send(&request).await?.success() {
        Ok(response) => Ok(Some(response.text())),
        Err(ForgeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn branch_head(api: RepoClient<'_>, branch: &str) -> ForgeResult<CommitSha> {
    // `git/ref` matches the exact ref only (no prefix matches), slashes and all.
    let mut segments = vec!["git", "ref", "heads"];
    segments.extend(branch.split('/'));
    let git_ref: models::GitRef = api.get_json(api.url(&segments)).await?;
    Ok(CommitSha::new(git_ref.object.sha))
}

pub(super) async fn open(
    api: RepoClient<'_>,
    base: Option<&str>,
    limit: usize,
) -> ForgeResult<Vec<OpenPr>> {
    let mut query = vec![("state", "open"), ("per_page", PER_PAGE)];
    query.extend(base.map(|b| ("base", b)));
    let url = with_query(api.url(&["pulls"]), &query);
    let pulls: Vec<models::PullHead> = api.get_all(url, limit).await?;
    Ok(pulls
        .into_iter()
        .map(|p| OpenPr {
            number: PrNumber(p.number),
            head_sha: CommitSha::new(p.head.sha),
        })
        .collect())
}

pub(super) async fn first_commit_at(
    api: RepoClient<'_>,
    pr: &PrRef,
) -> ForgeResult<Option<String>> {
    let number = pr.number.to_string();
    // Listed oldest first: the first entry of the first page is the first commit.
    let url = with_query(
        api.url(&["pulls", &number, "commits"]),
        &[("per_page", "1")],
    );
    let commits: Vec<serde_json::Value> = api.get_json(url).await?;
    Ok(commits
        .first()
        .and_then(|c| c["commit"]["author"]["date"].as_str())
        .map(str::to_owned))
}

/// The head branch when it is in `repo` itself: only such a branch can be another PR's
/// base. A fork's branch, or one whose fork was deleted, is not.
fn own_branch(head: &models::Branch, repo: &str) -> Option<String> {
    head.repo
        .as_ref()
        .filter(|r| r.full_name.eq_ignore_ascii_case(repo))
        .map(|_| head.name.clone())
}

fn user(account: Option<models::Account>) -> User {
    match account {
        Some(a) if a.is_bot() => User::bot(a.login),
        Some(a) => User::human(a.login),
        // GitHub shows deleted accounts as "ghost".
        None => User::human("ghost"),
    }
}

fn file_status(status: &str) -> FileStatus {
    match status {
        "added" => FileStatus::Added,
        "removed" => FileStatus::Removed,
        "modified" => FileStatus::Modified,
        "renamed" => FileStatus::Renamed,
        "copied" => FileStatus::Copied,
        "unchanged" => FileStatus::Unchanged,
        _ => FileStatus::Changed,
    }
}

/// GitHub gives no binary flag. A binary change has no `patch` and zero line counts;
/// so do a pure rename or copy (no content change), which is therefore not binary.
/// An oversized text diff also lacks a patch but keeps its counts. Known ambiguity:
/// adding or deleting an *empty* file also looks binary; either way it has no lines.
fn file_change(entry: DiffEntry) -> FileChange {
    let status = file_status(&entry.status);
    let binary = entry.patch.is_none()
        && entry.additions == 0
        && entry.deletions == 0
        && !matches!(
            status,
            FileStatus::Renamed | FileStatus::Copied | FileStatus::Unchanged
        );
    FileChange {
        path: entry.filename,
        previous_path: entry.previous_filename,
        status,
        additions: entry.additions,
        deletions: entry.deletions,
        binary,
    }
}

fn review(raw: models::Review) -> Option<Review> {
    let state = match raw.state.as_str() {
        "APPROVED" => ReviewState::Approved,
        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
        "COMMENTED" => ReviewState::Commented,
        "DISMISSED" => ReviewState::Dismissed,
        "PENDING" => ReviewState::Pending,
        other => {
            tracing::warn!(state = other, "ignoring a review in an unknown state");
            return None;
        }
    };
    Some(Review {
        reviewer: user(raw.user),
        state,
        commit: raw.commit_id.map(CommitSha::new),
    })
}

fn pr_state(pull: &PullRequest) -> PrState {
    if pull.merged || pull.merged_at.is_some() {
        PrState::Merged
    } else if pull.state == "open" {
        PrState::Open
    } else {
        PrState::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: &str, additions: u64, deletions: u64, patch: Option<&str>) -> DiffEntry {
        DiffEntry {
            filename: "f".into(),
            status: status.into(),
            additions,
            deletions,
            patch: patch.map(str::to_owned),
            previous_filename: None,
        }
    }

    #[test]
    fn only_a_branch_of_the_repository_itself_is_a_head_branch() {
        let head = |repo: Option<&str>| models::Branch {
            name: "feature-7".into(),
            sha: "1".repeat(40),
            repo: repo.map(|full_name| models::RepoName {
                full_name: full_name.into(),
            }),
        };
        let own = own_branch(&head(Some("Acme/Widgets")), "acme/widgets");
        assert_eq!(own.as_deref(), Some("feature-7"));
        assert_eq!(
            own_branch(&head(Some("alice/widgets")), "acme/widgets"),
            None
        );
        assert_eq!(own_branch(&head(None), "acme/widgets"), None);
    }

    #[test]
    fn binary_means_no_patch_and_no_lines_on_a_content_change() {
        assert!(file_change(entry("modified", 0, 0, None)).binary);
        assert!(file_change(entry("added", 0, 0, None)).binary);
        assert!(!file_change(entry("renamed", 0, 0, None)).binary);
        assert!(!file_change(entry("modified", 4000, 0, None)).binary);
        assert!(!file_change(entry("modified", 1, 0, Some("@@ -0,0 +1 @@\n+x"))).binary);
    }
}
