//! Merge requests: the snapshot the gate scores, open MRs, files and branches at a
//! commit, and who wrote what (bots included).

use super::checks::status_target;
use super::{GitLabForge, PER_PAGE};
use crate::domain::{
    CommitSha, FileChange, FileStatus, PrNumber, PrRef, PrSnapshot, PrState, RepoRef, Review,
    ReviewState, User,
};
use crate::forge::gitlab::client::{ApiRequest, ApiResponse};
use crate::forge::gitlab::diff::{self, DiffCount};
use crate::forge::gitlab::models::{self, DiffEntry, MergeRequest};
use crate::forge::rest::with_query;
use crate::forge::{ForgeError, ForgeResult, OpenPr};
use url::Url;

/// The most changed files read from `diffs`; more are reported as a truncated listing.
pub const FILE_LIST_CAP: usize = 3_000;

pub(super) async fn snapshot(gl: &GitLabForge, pr: &PrRef) -> ForgeResult<PrSnapshot> {
    let diffs_url = with_query(gl.mr_url(pr, &["diffs"]), &[("per_page", PER_PAGE)]);
    let ((mr, reviewers), diffs, approvals) = tokio::try_join!(
        async {
            let mr: MergeRequest = gl.client.get_json(gl.mr_url(pr, &[])).await?;
            // Review states belong to the MR's reviewers: with none, there are none.
            let reviewers = if mr.reviewers.is_empty() {
                Vec::new()
            } else {
                reviewer_states(gl, pr).await?
            };
            Ok::<_, ForgeError>((mr, reviewers))
        },
        gl.client.get_all::<DiffEntry>(diffs_url, FILE_LIST_CAP),
        gl.client
            .get_json::<models::Approvals>(gl.mr_url(pr, &["approvals"])),
    )?;
    let reviews = reviews(approvals, reviewers);
    let head = mr.sha.clone().ok_or_else(|| not_ready(pr))?;
    let status_target = status_target(&mr, &head);
    let base = mr
        .diff_refs
        .as_ref()
        .and_then(|d| d.base_sha.clone())
        .ok_or_else(|| not_ready(pr))?;

    let total_files = total_files(
        mr.changes_count.as_deref(),
        diffs.items.len(),
        diffs.truncated,
    );
    let mut files = Vec::with_capacity(diffs.items.len());
    let mut estimated = Vec::new();
    for entry in diffs.items {
        let (file, is_estimate) = file_change(gl, &pr.repo, &base, &head, entry).await?;
        if is_estimate {
            estimated.push(file.path.clone());
        }
        files.push(file);
    }
    let total_additions = files.iter().map(|f| f.additions).sum();
    let total_deletions = files.iter().map(|f| f.deletions).sum();
    let head_ref = own_branch(&mr);
    Ok(PrSnapshot {
        number: PrNumber(mr.iid),
        title: mr.title,
        html_url: mr.web_url,
        author: user(mr.author),
        state: pr_state(&mr.state),
        draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
        head_sha: CommitSha::new(head),
        head_ref,
        base_ref: mr.target_branch,
        base_sha: CommitSha::new(base),
        labels: mr
            .labels
            .into_iter()
            .map(models::Label::into_name)
            .collect(),
        updated_at: mr.updated_at,
        files,
        total_files,
        total_additions,
        total_deletions,
        reviews,
        unchanged_since: Vec::new(),
        estimated,
        status_target: Some(status_target),
    })
}

/// One diff entry as a `FileChange`, and whether its counts are an estimate: when
/// GitLab would not show (or sent an unreadable) diff, the file is counted whole
/// from its contents at `base` and `head`.
async fn file_change(
    gl: &GitLabForge,
    repo: &RepoRef,
    base: &str,
    head: &str,
    entry: DiffEntry,
) -> ForgeResult<(FileChange, bool)> {
    let status = file_status(&entry);
    let previous_path = (status == FileStatus::Renamed).then(|| entry.old_path.clone());
    let hidden = entry.too_large == Some(true) || entry.collapsed == Some(true);
    let counted = if hidden && entry.diff.is_empty() {
        DiffCount::Unreadable
    } else {
        diff::count(&entry.diff)
    };
    let change = |additions, deletions, binary| FileChange {
        path: entry.new_path.clone(),
        previous_path: previous_path.clone(),
        status,
        additions,
        deletions,
        binary,
    };
    match counted {
        DiffCount::Binary => Ok((change(0, 0, true), false)),
        DiffCount::Lines {
            additions: 0,
            deletions: 0,
        } if entry.diff.is_empty() => Ok((change(0, 0, looks_binary(&entry)), false)),
        DiffCount::Lines {
            additions,
            deletions,
        } => Ok((change(additions, deletions, false), false)),
        DiffCount::Unreadable => {
            if !hidden {
                tracing::warn!(path = %entry.new_path, "unreadable diff; counting the whole file");
            }
            let new = if entry.deleted_file {
                Some(0)
            } else {
                file_lines(gl, repo, head, &entry.new_path).await?
            };
            let old = if entry.new_file {
                Some(0)
            } else {
                file_lines(gl, repo, base, &entry.old_path).await?
            };
            // A whole added or deleted file is its exact diff; only a file that
            // exists on both sides is an upper-bound estimate.
            let estimate = !entry.new_file && !entry.deleted_file;
            Ok(match (new, old) {
                (Some(additions), Some(deletions)) => {
                    (change(additions, deletions, false), estimate)
                }
                _ => (change(0, 0, true), false),
            })
        }
    }
}

/// Each reviewer's current state (GitLab 17+; before it, there is none to read).
async fn reviewer_states(gl: &GitLabForge, pr: &PrRef) -> ForgeResult<Vec<models::Reviewer>> {
    match gl
        .client
        .get_json::<Vec<models::Reviewer>>(gl.mr_url(pr, &["reviewers"]))
        .await
    {
        Err(ForgeError::NotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

fn raw_file_url(gl: &GitLabForge, repo: &RepoRef, commit: &str, path: &str) -> Url {
    with_query(
        gl.project_url(repo, &["repository", "files", path, "raw"]),
        &[("ref", commit)],
    )
}

/// A file's bytes at a commit; `None` when it does not exist there.
async fn raw_file(
    gl: &GitLabForge,
    repo: &RepoRef,
    commit: &str,
    path: &str,
) -> ForgeResult<Option<ApiResponse>> {
    let request = ApiRequest::get(raw_file_url(gl, repo, commit, path));
    match gl.client.send(&request).await?.success() {
        Ok(response) => Ok(Some(response)),
        Err(ForgeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lines of a file at a commit: 0 when absent, `None` when binary.
async fn file_lines(
    gl: &GitLabForge,
    repo: &RepoRef,
    commit: &str,
    path: &str,
) -> ForgeResult<Option<u64>> {
    Ok(match raw_file(gl, repo, commit, path).await? {
        Some(response) => diff::line_count(&response.body),
        None => Some(0),
    })
}

pub(super) async fn file_at(
    gl: &GitLabForge,
    repo: &RepoRef,
    commit: &CommitSha,
    path: &str,
) -> ForgeResult<Option<String>> {
    let path = path.trim_start_matches('/');
    Ok(raw_file(gl, repo, commit.as_str(), path)
        .await?
        .map(|response| String::from_utf8_lossy(&response.body).into_owned()))
}

pub(super) async fn branch_head(
    gl: &GitLabForge,
    repo: &RepoRef,
    branch: &str,
) -> ForgeResult<CommitSha> {
    let url = gl.project_url(repo, &["repository", "branches", branch]);
    let branch: models::Branch = gl.client.get_json(url).await?;
    Ok(CommitSha::new(branch.commit.id))
}

pub(super) async fn first_commit_at(gl: &GitLabForge, pr: &PrRef) -> ForgeResult<Option<String>> {
    let iid = pr.number.to_string();
    let url = with_query(
        gl.project_url(&pr.repo, &["merge_requests", &iid, "commits"]),
        &[("per_page", PER_PAGE)],
    );
    // Listed newest first, so every page is read; RFC 3339 in one zone sorts as text.
    let listing = gl
        .client
        .get_all::<serde_json::Value>(url, usize::MAX)
        .await?;
    let mut dates: Vec<time::OffsetDateTime> = listing
        .items
        .iter()
        .filter_map(|c| c["authored_date"].as_str().or(c["created_at"].as_str()))
        .filter_map(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok()
        })
        .collect();
    dates.sort();
    Ok(dates.first().and_then(|d| {
        d.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }))
}

pub(super) async fn open(
    gl: &GitLabForge,
    repo: &RepoRef,
    base: Option<&str>,
    limit: usize,
) -> ForgeResult<Vec<OpenPr>> {
    let mut query = vec![("state", "opened"), ("per_page", PER_PAGE)];
    query.extend(base.map(|b| ("target_branch", b)));
    let url = with_query(gl.project_url(repo, &["merge_requests"]), &query);
    let listing = gl
        .client
        .get_all::<models::MergeRequestHead>(url, limit)
        .await?;
    // An MR whose head GitLab has not computed yet has nothing to score; its next
    // push brings it back.
    Ok(listing
        .items
        .into_iter()
        .filter_map(|m| {
            Some(OpenPr {
                number: PrNumber(m.iid),
                head_sha: CommitSha::new(m.sha?),
            })
        })
        .collect())
}

/// Bot accounts: flagged `bot`, project and group access tokens' users
/// (`project_123_bot`, `group_7_bot_<hex>`), and `ghost`, which stands in for
/// deleted users.
pub fn is_bot(username: &str) -> bool {
    username == "ghost" || is_token_bot(username)
}

/// `^(project|group)_\d+_bot(_[0-9a-f]+)?$`.
fn is_token_bot(username: &str) -> bool {
    let Some(rest) = username
        .strip_prefix("project_")
        .or_else(|| username.strip_prefix("group_"))
    else {
        return false;
    };
    let Some((id, rest)) = rest.split_once("_bot") else {
        return false;
    };
    let hex_suffix = match rest.strip_prefix('_') {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        None => rest.is_empty(),
    };
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && hex_suffix
}

/// The source branch when it is in the target project itself: only such a branch can
/// be another MR's target. A fork's branch is not.
fn own_branch(mr: &MergeRequest) -> Option<String> {
    let same_project =
        mr.source_project_id.is_some() && mr.source_project_id == mr.target_project_id;
    (same_project && !mr.source_branch.is_empty()).then(|| mr.source_branch.clone())
}

fn user(account: Option<models::Account>) -> User {
    match account {
        Some(a) if a.bot || is_bot(&a.username) => User::bot(a.username),
        Some(a) => User::human(a.username),
        None => User::bot("ghost"),
    }
}

fn file_status(entry: &DiffEntry) -> FileStatus {
    if entry.new_file {
        FileStatus::Added
    } else if entry.deleted_file {
        FileStatus::Removed
    } else if entry.renamed_file {
        FileStatus::Renamed
    } else {
        FileStatus::Modified
    }
}

/// An empty diff GitLab did not hide: a pure rename or mode change has no lines, and
/// anything else is taken as binary. Known ambiguity: adding or deleting an *empty*
/// file looks the same; either way it has no lines.
fn looks_binary(entry: &DiffEntry) -> bool {
    // An added or deleted file's missing side has mode "0": not a mode change.
    let mode_change = !entry.new_file && !entry.deleted_file && entry.a_mode != entry.b_mode;
    !entry.renamed_file && !mode_change
}

fn pr_state(state: &str) -> PrState {
    match state {
        "merged" => PrState::Merged,
        "closed" => PrState::Closed,
        // "opened", and "locked": a merge in progress, still open until it lands.
        _ => PrState::Open,
    }
}

/// `changes_count` as a file total: `"35"` → 35, `"1000+"` → more than 1000, which
/// is at least one more than we listed when we listed no more than 1000.
fn total_files(changes_count: Option<&str>, listed: usize, listing_truncated: bool) -> u64 {
    let listed = listed as u64;
    let at_least = listed + u64::from(listing_truncated);
    match changes_count.map(str::trim) {
        Some(count) => match count.strip_suffix('+') {
            Some(n) => match n.parse::<u64>() {
                Ok(n) if listed <= n => at_least.max(n + 1),
                _ => at_least,
            },
            None => count.parse::<u64>().map_or(at_least, |n| n.max(at_least)),
        },
        None => at_least,
    }
}

/// Approvals, then each reviewer's current state, so that under the policy's "latest per
/// reviewer" rule a reviewer's present state (GitLab 17+) wins over an approval it has
/// since replaced.
fn reviews(approvals: models::Approvals, reviewers: Vec<models::Reviewer>) -> Vec<Review> {
    let approved = approvals.approved_by.into_iter().map(|a| Review {
        reviewer: user(Some(a.user)),
        state: ReviewState::Approved,
        commit: None,
    });
    let current = reviewers.into_iter().filter_map(|r| {
        let state = match r.state.as_str() {
            "requested_changes" => ReviewState::ChangesRequested,
            "approved" => ReviewState::Approved,
            "reviewed" => ReviewState::Commented,
            // unreviewed, review_started, unapproved: no verdict of their own.
            _ => return None,
        };
        Some(Review {
            reviewer: user(Some(r.user)),
            state,
            commit: None,
        })
    });
    approved.chain(current).collect()
}

fn not_ready(mr: &PrRef) -> ForgeError {
    ForgeError::Transient {
        message: format!(
            "{}!{}: GitLab has not prepared the merge request's diff yet",
            mr.repo.full_name, mr.number
        ),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_branch_of_the_project_itself_is_a_head_branch() {
        let mr = |source_project: u64| -> MergeRequest {
            let mut v: serde_json::Value = serde_json::from_str(include_str!(
                "../../../../fixtures/gitlab/api/get_merge_request.json"
            ))
            .unwrap();
            v["source_project_id"] = source_project.into();
            serde_json::from_value(v).unwrap()
        };
        // The recorded MR is from its own project (278964).
        assert_eq!(
            own_branch(&mr(278964)).as_deref(),
            Some("delete-designs-v2")
        );
        assert_eq!(own_branch(&mr(31337)), None);
    }

    #[test]
    fn token_users_and_ghost_are_bots() {
        for bot in [
            "project_123_bot",
            "group_7_bot",
            "project_42_bot_0a1f",
            "ghost",
        ] {
            assert!(is_bot(bot), "{bot}");
        }
        for human in [
            "alice",
            "project_bot",
            "project_12_bot_",
            "project_12_bot_XYZ",
            "group_x_bot",
            "project_1_botany",
            "my_project_1_bot",
        ] {
            assert!(!is_bot(human), "{human}");
        }
    }

    #[test]
    fn changes_count_plus_means_more_files_than_listed() {
        assert_eq!(total_files(Some("35"), 35, false), 35);
        assert_eq!(total_files(Some("1000+"), 1000, false), 1001);
        assert_eq!(total_files(Some("1000+"), 1200, false), 1200);
        assert_eq!(total_files(Some("5000+"), 3000, true), 5001);
        assert_eq!(total_files(None, 3000, true), 3001);
        assert_eq!(total_files(Some("junk"), 2, false), 2);
    }
}
