//! [`Forge`] over the GitLab REST API v4, acting as the token's user.

use super::client::{ApiRequest, ApiResponse, GitLabClient};
use super::diff::{self, DiffCount};
use super::models::{self, DiffEntry, MergeRequest};
use super::{GitLabApp, RetryPolicy, SetupError};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentState, FileChange, FileStatus, ForgeKind,
    Permission, PrNumber, PrRef, PrSnapshot, PrState, RepoRef, Review, ReviewState, StatusTarget,
    User,
};
use crate::forge::rest::{truncate_chars, with_query, Created, KnownLabels};
use crate::forge::{
    CheckOutcome, DeploymentStart, Forge, ForgeError, ForgeResult, GateStatus, HeadCheck,
    MergeMethod, MergeReadiness, OpenPr, OurRun,
};
use crate::policy::{Conclusion, SizeLabel};
use async_trait::async_trait;
use http::{Method, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tokio::sync::OnceCell;
use url::Url;

/// The commit status's name; a merge check can require it by this name.
pub const STATUS_NAME: &str = "smallbatch";
/// The most changed files read from `diffs`; more are reported as a truncated listing.
pub const FILE_LIST_CAP: usize = 3_000;
/// GitLab rejects a status description longer than this.
const DESCRIPTION_MAX_CHARS: usize = 255;
const PER_PAGE: &str = "100";
/// The emoji that acknowledges a command (👀).
const ACK_EMOJI: &str = "eyes";
/// Revert branches are `smallbatch/revert-<iid>-<sha7>`.
const REVERT_BRANCH_PREFIX: &str = "smallbatch/revert-";

/// GitLab through one access token, on the projects that token can reach.
#[derive(Debug)]
pub struct GitLabForge {
    client: GitLabClient,
    /// The token's own username, read once from `GET /user`.
    username: OnceCell<String>,
    known_labels: KnownLabels,
    /// Usernames (lowercased: GitLab's are case-insensitive) to user ids; an id never
    /// changes, so entries never go stale.
    user_ids: Mutex<HashMap<String, u64>>,
}

impl GitLabForge {
    async fn post_note(&self, pr: &PrRef, body: &str, repeatable: bool) -> ForgeResult<CommentId> {
        let mut request = ApiRequest::new(Method::POST, self.mr_url(pr, &["notes"]))
            .json(json!({ "body": body }));
        request.repeatable = repeatable;
        let note: Created = self.client.send(&request).await?.success()?.json()?;
        Ok(CommentId(note.id))
    }

    /// The MR's merge state now, if it can be read; only a hint, so errors are `None`.
    async fn current_merge_state(&self, pr: &PrRef) -> Option<models::MergeState> {
        let response = self
            .client
            .send(&ApiRequest::get(self.mr_url(pr, &[])))
            .await
            .ok()?;
        response.success().ok()?.json().ok()
    }

    /// Fails at startup on an unusable base URL or token.
    pub fn new(app: GitLabApp) -> Result<Self, SetupError> {
        Self::with_retry_policy(app, RetryPolicy::default())
    }

    pub fn with_retry_policy(app: GitLabApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        Ok(Self {
            client: GitLabClient::new(&app, retry)?,
            username: OnceCell::new(),
            known_labels: KnownLabels::default(),
            user_ids: Mutex::default(),
        })
    }

    /// Adds label `name` to the MR, first creating it in the project with `color`
    /// (hex, no `#`) and `description` unless it is known to exist.
    pub async fn apply_label(
        &self,
        pr: &PrRef,
        name: &str,
        color: &str,
        description: &str,
    ) -> ForgeResult<()> {
        self.ensure_label(&pr.repo, name, color, description)
            .await?;
        self.update_labels(pr, "add_labels", name).await
    }

    async fn ensure_label(
        &self,
        repo: &RepoRef,
        name: &str,
        color: &str,
        description: &str,
    ) -> ForgeResult<()> {
        let create = async {
            let body =
                json!({ "name": name, "color": format!("#{color}"), "description": description });
            let request =
                ApiRequest::new(Method::POST, project_url(&self.client, repo, &["labels"]))
                    .json(body);
            let response = self.client.send(&request).await?;
            // "Label already exists".
            if response.status != StatusCode::CONFLICT {
                response.success()?;
            }
            Ok(())
        };
        self.known_labels.ensure(repo, name, create).await
    }

    /// `PUT` the MR with `add_labels` or `remove_labels`, which leave its other labels be.
    async fn update_labels(&self, pr: &PrRef, field: &str, name: &str) -> ForgeResult<()> {
        let request =
            ApiRequest::new(Method::PUT, self.mr_url(pr, &[])).json(json!({ field: name }));
        self.client.send(&request).await?.success()?;
        Ok(())
    }

    /// `/projects/:id/merge_requests/:iid/{rest...}`.
    fn mr_url(&self, pr: &PrRef, rest: &[&str]) -> Url {
        let iid = pr.number.to_string();
        let mut segments = vec!["merge_requests", iid.as_str()];
        segments.extend_from_slice(rest);
        project_url(&self.client, &pr.repo, &segments)
    }

    fn raw_file_url(&self, repo: &RepoRef, commit: &str, path: &str) -> Url {
        with_query(
            project_url(&self.client, repo, &["repository", "files", path, "raw"]),
            &[("ref", commit)],
        )
    }

    /// A file's bytes at a commit; `None` when it does not exist there.
    async fn raw_file(
        &self,
        repo: &RepoRef,
        commit: &str,
        path: &str,
    ) -> ForgeResult<Option<ApiResponse>> {
        let request = ApiRequest::get(self.raw_file_url(repo, commit, path));
        match self.client.send(&request).await?.success() {
            Ok(response) => Ok(Some(response)),
            Err(ForgeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lines of a file at a commit: 0 when absent, `None` when binary.
    async fn file_lines(
        &self,
        repo: &RepoRef,
        commit: &str,
        path: &str,
    ) -> ForgeResult<Option<u64>> {
        Ok(match self.raw_file(repo, commit, path).await? {
            Some(response) => diff::line_count(&response.body),
            None => Some(0),
        })
    }

    /// The token's own username, which our notes carry.
    async fn username(&self) -> ForgeResult<&str> {
        let name = self
            .username
            .get_or_try_init(|| async {
                let me: models::Account =
                    self.client.get_json(self.client.endpoint(["user"])).await?;
                Ok::<_, ForgeError>(me.username)
            })
            .await?;
        Ok(name)
    }

    /// One diff entry as a `FileChange`, and whether its counts are an estimate: when
    /// GitLab would not show (or sent an unreadable) diff, the file is counted whole
    /// from its contents at `base` and `head`.
    async fn file_change(
        &self,
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
                    self.file_lines(repo, head, &entry.new_path).await?
                };
                let old = if entry.new_file {
                    Some(0)
                } else {
                    self.file_lines(repo, base, &entry.old_path).await?
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
    async fn reviewer_states(&self, pr: &PrRef) -> ForgeResult<Vec<models::Reviewer>> {
        match self
            .client
            .get_json::<Vec<models::Reviewer>>(self.mr_url(pr, &["reviewers"]))
            .await
        {
            Err(ForgeError::NotFound(_)) => Ok(Vec::new()),
            other => other,
        }
    }

    /// The id of the user called `username`; `None` when there is none.
    async fn user_id(&self, username: &str) -> ForgeResult<Option<u64>> {
        let key = username.to_lowercase();
        if let Some(id) = self.user_ids().get(&key) {
            return Ok(Some(*id));
        }
        let url = with_query(self.client.endpoint(["users"]), &[("username", username)]);
        let found: Vec<models::UserId> = self.client.get_json(url).await?;
        let Some(user) = found.first() else {
            return Ok(None);
        };
        self.user_ids().insert(key, user.id);
        Ok(Some(user.id))
    }

    fn user_ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // Inserts are atomic, so the map stays valid even if a holder panicked.
        self.user_ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every commit status on `head` but ours, the latest one per name.
    async fn head_checks(&self, repo: &RepoRef, head: &CommitSha) -> ForgeResult<Vec<HeadCheck>> {
        let url = with_query(
            project_url(
                &self.client,
                repo,
                &["repository", "commits", head.as_str(), "statuses"],
            ),
            &[("per_page", PER_PAGE)],
        );
        let statuses = self
            .client
            .get_all::<models::CommitStatus>(url, usize::MAX)
            .await?;
        Ok(latest_per_name(statuses.items)
            .into_iter()
            .map(|status| HeadCheck {
                outcome: check_outcome(&status.status),
                name: status.name,
            })
            .collect())
    }

    /// Creates `branch` at `from` and says whether it did: an existing branch (left by
    /// an earlier attempt) is taken as it is.
    async fn create_branch(&self, repo: &RepoRef, branch: &str, from: &str) -> ForgeResult<bool> {
        let url = with_query(
            project_url(&self.client, repo, &["repository", "branches"]),
            &[("branch", branch), ("ref", from)],
        );
        let response = self
            .client
            .send(&ApiRequest::new(Method::POST, url))
            .await?;
        if response.status == StatusCode::BAD_REQUEST
            && response.message().contains("already exists")
        {
            return Ok(false);
        }
        response.success()?;
        Ok(true)
    }

    /// The open merge request from `source` into `target`, if any.
    async fn open_mr_from(
        &self,
        repo: &RepoRef,
        source: &str,
        target: &str,
    ) -> ForgeResult<Option<PrNumber>> {
        let url = with_query(
            project_url(&self.client, repo, &["merge_requests"]),
            &[
                ("state", "opened"),
                ("source_branch", source),
                ("target_branch", target),
            ],
        );
        let found: Vec<models::MergeRequestSummary> = self.client.get_json(url).await?;
        Ok(found.first().map(|m| PrNumber(m.iid)))
    }
}

fn project_url(client: &GitLabClient, repo: &RepoRef, rest: &[&str]) -> Url {
    client.endpoint(
        ["projects", repo.full_name.as_str()]
            .into_iter()
            .chain(rest.iter().copied()),
    )
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

/// GitLab's access levels as permissions, by threshold so that levels added between
/// them (Planner, 15) get the lesser one: below Guest (No access 0, Minimal access 5)
/// is `None`; Guest (10) and Planner `Read`; Reporter (20) `Triage`; Developer (30)
/// `Write`; Maintainer (40) `Maintain`; Owner (50) and above `Admin`. An invitation
/// not yet accepted grants nothing.
fn access_permission(member: &models::Member) -> Permission {
    if member.state.as_deref().is_some_and(|s| s != "active") {
        return Permission::None;
    }
    match member.access_level {
        50.. => Permission::Admin,
        40.. => Permission::Maintain,
        30.. => Permission::Write,
        20.. => Permission::Triage,
        10.. => Permission::Read,
        _ => Permission::None,
    }
}

/// Whether GitLab would merge now, apart from CI. From `detailed_merge_status`:
/// `mergeable` is `true`; `checking`, `unchecked`, `preparing` and
/// `approvals_syncing` are `None` (still being computed); `ci_must_pass` and
/// `ci_still_running` are `true` because the pipeline's jobs are reported one by one
/// in [`MergeReadiness::checks`], where the caller waits for or refuses them; anything
/// else (`conflict`, `not_approved`, `draft_status`, `discussions_not_resolved`,
/// `need_rebase`, `not_open`, ...) is `false`. Instances before 15.6 only send
/// `merge_status`: `can_be_merged` is `true`, `cannot_be_merged` `false`, the rest
/// (`unchecked`, `checking`, `cannot_be_merged_recheck`) `None`.
fn mergeability(mr: &models::MergeState) -> Option<bool> {
    if let Some(detailed) = mr.detailed_merge_status.as_deref() {
        return match detailed {
            "mergeable" | "ci_must_pass" | "ci_still_running" => Some(true),
            "checking" | "unchecked" | "preparing" | "approvals_syncing" => None,
            _ => Some(false),
        };
    }
    match mr.merge_status.as_deref() {
        Some("can_be_merged") => Some(true),
        Some("cannot_be_merged") => Some(false),
        _ => None,
    }
}

/// A commit status's state as an outcome. Unknown states count as pending: a check
/// we cannot read must not let a merge through.
fn check_outcome(status: &str) -> CheckOutcome {
    match status {
        "success" | "skipped" => CheckOutcome::Passed,
        "failed" | "canceled" | "canceling" => CheckOutcome::Failed,
        // pending, running, created, waiting_for_resource, preparing, scheduled, manual
        _ => CheckOutcome::Pending,
    }
}

/// One status per name, the latest (highest id), ours left out; in name order.
fn latest_per_name(statuses: Vec<models::CommitStatus>) -> Vec<models::CommitStatus> {
    let mut latest: BTreeMap<String, models::CommitStatus> = BTreeMap::new();
    for status in statuses.into_iter().filter(|s| s.name != STATUS_NAME) {
        match latest.get(&status.name) {
            Some(kept) if kept.id >= status.id => {}
            _ => {
                latest.insert(status.name.clone(), status);
            }
        }
    }
    latest.into_values().collect()
}

/// The commit a merge put on the target branch: the merge commit; else the squashed
/// commit (a fast-forward project squashing); else the head itself (a fast-forward
/// project without squashing).
fn merged_commit(mr: models::MergeState) -> Option<String> {
    mr.merge_commit_sha
        .or(mr.squash_commit_sha)
        .or(mr.sha)
        .filter(|sha| !sha.is_empty())
}

/// The deployment statuses GitLab's API can set: `running`, `success`, `failed` and
/// `canceled`. `created` cannot be set again, so pending and queued have none.
fn deployment_status(state: DeploymentState) -> Option<&'static str> {
    match state {
        DeploymentState::InProgress => Some("running"),
        DeploymentState::Success => Some("success"),
        DeploymentState::Failure | DeploymentState::Error => Some("failed"),
        DeploymentState::Inactive => Some("canceled"),
        DeploymentState::Pending | DeploymentState::Queued => None,
    }
}

fn revert_branch(pr: &PrRef, merge_sha: &CommitSha) -> String {
    format!("{REVERT_BRANCH_PREFIX}{}-{}", pr.number, merge_sha.short())
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

/// Where the gate's status on `head` goes: the MR's head pipeline when it runs on `head`
/// (see `publish_gate`), else the MR's source branch.
fn status_target(mr: &MergeRequest, head: &str) -> StatusTarget {
    match mr
        .head_pipeline
        .as_ref()
        .filter(|p| p.sha.as_deref() == Some(head))
    {
        Some(pipeline) => StatusTarget::Pipeline(pipeline.id),
        None if !mr.source_branch.is_empty() => StatusTarget::Branch(mr.source_branch.clone()),
        None => StatusTarget::Commit,
    }
}

fn status_state(conclusion: Conclusion) -> &'static str {
    match conclusion {
        Conclusion::Pass => "success",
        Conclusion::Fail => "failed",
        Conclusion::Wait => "pending",
    }
}

/// GitLab's answer to posting the state a status already has, e.g. "Cannot transition
/// status via :enqueue from :pending".
fn is_repeated_state(response: &ApiResponse) -> bool {
    response.status == StatusCode::BAD_REQUEST
        && response.message().contains("Cannot transition status")
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

#[async_trait]
impl Forge for GitLabForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitLab
    }

    /// GitLab records no commit per approval, so `want_unchanged_since` yields nothing:
    /// the project's own "remove approvals when commits are added" setting governs
    /// whether approvals survive a push, and the approvals read here are the current ones.
    async fn snapshot(&self, pr: &PrRef, _want_unchanged_since: bool) -> ForgeResult<PrSnapshot> {
        let diffs_url = with_query(self.mr_url(pr, &["diffs"]), &[("per_page", PER_PAGE)]);
        let ((mr, reviewers), diffs, approvals) = tokio::try_join!(
            async {
                let mr: MergeRequest = self.client.get_json(self.mr_url(pr, &[])).await?;
                // Review states belong to the MR's reviewers: with none, there are none.
                let reviewers = if mr.reviewers.is_empty() {
                    Vec::new()
                } else {
                    self.reviewer_states(pr).await?
                };
                Ok::<_, ForgeError>((mr, reviewers))
            },
            self.client.get_all::<DiffEntry>(diffs_url, FILE_LIST_CAP),
            self.client
                .get_json::<models::Approvals>(self.mr_url(pr, &["approvals"])),
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
            let (file, is_estimate) = self.file_change(&pr.repo, &base, &head, entry).await?;
            if is_estimate {
                estimated.push(file.path.clone());
            }
            files.push(file);
        }
        let total_additions = files.iter().map(|f| f.additions).sum();
        let total_deletions = files.iter().map(|f| f.deletions).sum();
        Ok(PrSnapshot {
            number: PrNumber(mr.iid),
            title: mr.title,
            html_url: mr.web_url,
            author: user(mr.author),
            state: pr_state(&mr.state),
            draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
            head_sha: CommitSha::new(head),
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

    async fn file_at(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> ForgeResult<Option<String>> {
        let path = path.trim_start_matches('/');
        Ok(self
            .raw_file(repo, commit.as_str(), path)
            .await?
            .map(|response| String::from_utf8_lossy(&response.body).into_owned()))
    }

    async fn branch_head(&self, repo: &RepoRef, branch: &str) -> ForgeResult<CommitSha> {
        let url = project_url(&self.client, repo, &["repository", "branches", branch]);
        let branch: models::Branch = self.client.get_json(url).await?;
        Ok(CommitSha::new(branch.commit.id))
    }

    fn api_usage(&self) -> Vec<(String, crate::forge::ApiUsage)> {
        self.client.usage.snapshot()
    }

    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>> {
        let iid = pr.number.to_string();
        let url = with_query(
            project_url(&self.client, &pr.repo, &["merge_requests", &iid, "commits"]),
            &[("per_page", PER_PAGE)],
        );
        // Listed newest first, so every page is read; RFC 3339 in one zone sorts as text.
        let listing = self
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

    async fn open_prs(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        limit: usize,
    ) -> ForgeResult<Vec<OpenPr>> {
        let mut query = vec![("state", "opened"), ("per_page", PER_PAGE)];
        query.extend(base.map(|b| ("target_branch", b)));
        let url = with_query(project_url(&self.client, repo, &["merge_requests"]), &query);
        let listing = self
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

    /// Sets the `smallbatch` commit status on `head`, attached to the MR's head
    /// pipeline when it runs on `head` (`pipeline_id`): without it GitLab attaches the
    /// status to the newest pipeline of that commit on *any* ref, or opens a new one on
    /// the default ref, which the MR's widget and "pipelines must succeed" may not look
    /// at. With no pipeline on `head` yet, `ref` is the MR's source branch, so that the
    /// external pipeline GitLab creates is one of the MR's pipelines (GitLab finds an
    /// MR's branch pipelines by source branch and commit).
    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        _run: OurRun,
    ) -> ForgeResult<Option<CheckRunId>> {
        let target = match &status.target {
            Some(target) => target.clone(),
            None => {
                let mr: MergeRequest = self.client.get_json(self.mr_url(pr, &[])).await?;
                status_target(&mr, head.as_str())
            }
        };
        let mut body = json!({
            "state": status_state(status.conclusion),
            "name": STATUS_NAME,
            "description": truncate_chars(&status.title, DESCRIPTION_MAX_CHARS),
            "target_url": status.details_url,
        });
        match target {
            StatusTarget::Pipeline(id) => body["pipeline_id"] = json!(id),
            StatusTarget::Branch(branch) => body["ref"] = json!(branch),
            StatusTarget::Commit => {}
        }
        let url = project_url(&self.client, &pr.repo, &["statuses", head.as_str()]);
        let response = self
            .client
            .send(&ApiRequest::new(Method::POST, url).json(body))
            .await?;
        if !is_repeated_state(&response) {
            response.success()?;
        }
        Ok(None)
    }

    /// Our note: carries `marker` and was written by the token's user. System notes
    /// ("added 1 commit", label changes) never match, even if they quote the marker.
    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>> {
        let me = self.username().await?;
        let url = with_query(
            self.mr_url(pr, &["notes"]),
            &[("per_page", PER_PAGE), ("sort", "asc")],
        );
        let notes = self.client.get_all::<models::Note>(url, usize::MAX).await?;
        Ok(notes
            .items
            .into_iter()
            .find(|n| {
                !n.system
                    && n.body.contains(marker)
                    && n.author.as_ref().is_some_and(|a| a.username == me)
            })
            .map(|n| (CommentId(n.id), n.body)))
    }

    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        self.post_note(pr, body, true).await
    }

    async fn create_comment_once(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        self.post_note(pr, body, false).await
    }

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()> {
        let id = id.to_string();
        let request = ApiRequest::new(Method::PUT, self.mr_url(pr, &["notes", &id]))
            .json(json!({ "body": body }));
        self.client.send(&request).await?.success()?;
        Ok(())
    }

    async fn add_label(&self, pr: &PrRef, label: SizeLabel) -> ForgeResult<()> {
        self.apply_label(pr, label.name(), label.color(), label.description())
            .await
    }

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        self.update_labels(pr, "remove_labels", name).await
    }

    /// Awards 👀 (`eyes`) to the command's note. GitLab refuses a second identical award
    /// with 404 "Award Emoji Name has already been taken" on some versions and 400 or
    /// 422 on others; the command is acknowledged either way.
    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()> {
        let id = comment.to_string();
        let request = ApiRequest::new(
            Method::POST,
            self.mr_url(pr, &["notes", &id, "award_emoji"]),
        )
        .json(json!({ "name": ACK_EMOJI }));
        let response = self.client.send(&request).await?;
        if response.status.is_client_error() && response.message().contains("already been taken") {
            return Ok(());
        }
        response.success()?;
        Ok(())
    }

    /// The user's effective access level (direct, or inherited from groups); see
    /// [`access_permission`]. An unknown user or a non-member has `None`.
    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission> {
        let Some(id) = self.user_id(user).await? else {
            return Ok(Permission::None);
        };
        let id = id.to_string();
        let url = project_url(&self.client, repo, &["members", "all", &id]);
        match self.client.get_json::<models::Member>(url).await {
            Ok(member) => Ok(access_permission(&member)),
            Err(ForgeError::NotFound(_)) => Ok(Permission::None),
            Err(e) => Err(e),
        }
    }

    /// Mergeability as [`mergeability`] reads it, and the commit statuses on `head`
    /// (CI jobs and external statuses), the latest per name, ours excluded.
    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness> {
        let (mr, checks) = tokio::try_join!(
            self.client
                .get_json::<models::MergeState>(self.mr_url(pr, &[])),
            self.head_checks(&pr.repo, head),
        )?;
        Ok(MergeReadiness {
            mergeable: mergeability(&mr),
            checks,
        })
    }

    /// Merges with `sha` set to `head`, so that GitLab refuses (409) if the source
    /// branch moved. The merge method is the project's (merge commit, semi-linear or
    /// fast-forward); GitLab only lets a merge choose squashing, so `Rebase` is refused
    /// rather than silently merged another way. GitLab's refusals (405 not mergeable,
    /// 406 conflicts, 409 head moved, 422) come back as `Permanent` with its message.
    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha> {
        let body = match method {
            MergeMethod::Merge => json!({ "sha": head.as_str() }),
            MergeMethod::Squash => json!({ "sha": head.as_str(), "squash": true }),
            MergeMethod::Rebase => {
                return Err(ForgeError::Permanent(format!(
                    "{}!{}: GitLab cannot rebase a single merge; set the project's merge \
                     method to fast-forward and merge with `merge` or `squash`",
                    pr.repo.full_name, pr.number
                )))
            }
        };
        let request = ApiRequest::new(Method::PUT, self.mr_url(pr, &["merge"])).json(body);
        let mr: models::MergeState = match self.client.send(&request).await?.success() {
            Ok(response) => response.json()?,
            Err(refused @ ForgeError::Permanent(_)) => {
                // A retry after a merge that went through: already merged at this head.
                match self.current_merge_state(pr).await {
                    Some(now)
                        if now.state == "merged" && now.sha.as_deref() == Some(head.as_str()) =>
                    {
                        now
                    }
                    _ => return Err(refused),
                }
            }
            Err(e) => return Err(e),
        };
        if mr.state != "merged" {
            return Err(ForgeError::Permanent(format!(
                "{}!{}: GitLab accepted the merge but the merge request is {}",
                pr.repo.full_name, pr.number, mr.state
            )));
        }
        merged_commit(mr).map(CommitSha::new).ok_or_else(|| {
            ForgeError::Permanent(format!(
                "{}!{}: GitLab merged without naming the merged commit",
                pr.repo.full_name, pr.number
            ))
        })
    }

    /// GitLab deploys through the target branch's pipeline on its own; its deployment
    /// events are followed. Nothing is called.
    async fn start_deployment(
        &self,
        _repo: &RepoRef,
        _sha: &CommitSha,
        _environment: &str,
        _description: &str,
    ) -> ForgeResult<DeploymentStart> {
        Ok(DeploymentStart::Following)
    }

    /// `PUT deployments/:id` with the status (see [`deployment_status`]); GitLab keeps
    /// no description on a deployment, so `description` is unused. GitLab only lets
    /// the API update deployments created through the API: one made by a CI job is
    /// refused (403), which comes back as `Permanent` with GitLab's message.
    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        _description: &str,
    ) -> ForgeResult<()> {
        let status = deployment_status(state).ok_or_else(|| {
            ForgeError::Permanent(format!(
                "GitLab cannot set deployment {deployment} of {} back to {state:?}",
                repo.full_name
            ))
        })?;
        let id = deployment.to_string();
        let url = project_url(&self.client, repo, &["deployments", &id]);
        // Already there (an earlier attempt whose answer was lost): GitLab may refuse a
        // transition to the state a deployment is in, so it is not sent again.
        let current: models::DeploymentStatus = self.client.get_json(url.clone()).await?;
        if current.status == status {
            return Ok(());
        }
        let request = ApiRequest::new(Method::PUT, url).json(json!({ "status": status }));
        self.client.send(&request).await?.success()?;
        Ok(())
    }

    /// Branches `smallbatch/revert-<iid>-<sha7>` off the target branch, reverts
    /// `merge_sha` on it (GitLab reverts a merge commit against its first parent, the
    /// target branch, by itself) and opens a merge request that deletes the branch once
    /// merged. A repeated call after a partial failure picks up where it stopped: an
    /// existing branch is reused, and an open merge request from it is returned.
    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber> {
        let mr: models::MergeState = self.client.get_json(self.mr_url(pr, &[])).await?;
        let target = mr.target_branch;
        let branch = revert_branch(pr, merge_sha);
        let created = self.create_branch(&pr.repo, &branch, &target).await?;
        let revert_url = project_url(
            &self.client,
            &pr.repo,
            &["repository", "commits", merge_sha.as_str(), "revert"],
        );
        let response = self
            .client
            .send(&ApiRequest::new(Method::POST, revert_url).json(json!({ "branch": branch })))
            .await?;
        // On a branch left by an earlier attempt the revert is already there, and GitLab
        // says it "cannot revert this commit automatically".
        let already_reverted = !created
            && response.status == StatusCode::BAD_REQUEST
            && response.message().contains("cannot revert this commit");
        if !already_reverted {
            response.success()?;
        }
        let request = ApiRequest::new(
            Method::POST,
            project_url(&self.client, &pr.repo, &["merge_requests"]),
        )
        .json(json!({
            "source_branch": branch,
            "target_branch": target,
            "title": title,
            "description": body,
            "remove_source_branch": true,
        }));
        let response = self.client.send(&request).await?;
        if response.status == StatusCode::CONFLICT {
            if let Some(existing) = self.open_mr_from(&pr.repo, &branch, &target).await? {
                return Ok(existing);
            }
        }
        let created: models::MergeRequestSummary = response.success()?.json()?;
        Ok(PrNumber(created.iid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
