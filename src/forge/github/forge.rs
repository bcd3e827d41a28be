//! [`Forge`] over the GitHub REST API, acting as a GitHub App installation.

mod merge_queue;

use super::client::{ApiRequest, GitHubClient, RAW};
use super::models::{self, CheckRunBody, CheckRunOutput, DiffEntry, ErrorBody, PullRequest};
use super::{GitHubApp, RetryPolicy, SetupError};
use crate::domain::{
    CheckRunId, CommentId, CommitSha, DeploymentState, FileChange, FileStatus, ForgeKind,
    InstallationId, MergeGroup, Permission, PrNumber, PrRef, PrSnapshot, PrState, RepoRef, Review,
    ReviewState, User,
};
use crate::forge::rest::{truncate_chars, with_query, Created, KnownLabels};
use crate::forge::{
    CheckOutcome, DeploymentStart, Forge, ForgeError, ForgeResult, GateStatus, HeadCheck,
    HookDelivery, MergeMethod, MergeReadiness, OpenPr, OurRun,
};
use crate::policy::{Conclusion, SizeLabel};
use async_trait::async_trait;
use http::{Method, StatusCode};
use serde_json::json;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use url::Url;

/// The check run's name; branch protection requires it by this name.
pub const CHECK_NAME: &str = "smallbatch";
/// GitHub lists at most 3,000 files of a pull request.
pub const FILE_LIST_CAP: usize = 3_000;
/// `compare` lists at most 300 files; a longer list cannot be compared reliably.
const COMPARE_FILE_CAP: usize = 300;
/// GitHub rejects a check-run summary longer than this many characters.
const SUMMARY_MAX_CHARS: usize = 65_535;
const PER_PAGE: &str = "100";
/// GitHub rejects a deployment status description longer than this many characters.
const DEPLOYMENT_DESCRIPTION_MAX_CHARS: usize = 140;
/// Deployments of one commit to one environment read when looking for ours: one page.
const MAX_DEPLOYMENTS_PER_SHA: usize = 100;
/// Open PRs looked through for a revert opened by an earlier attempt: it is among the
/// newest, since it was opened moments before.
const REVERT_LOOKUP_LIMIT: usize = 100;
/// Creates the revert PR the way the "Revert" button does; REST has no equivalent.
const REVERT_MUTATION: &str = "mutation($pullRequestId: ID!, $title: String, $body: String) { \
revertPullRequest(input: {pullRequestId: $pullRequestId, title: $title, body: $body}) { \
revertPullRequest { number } } }";

/// A GitHub App acting on the repositories it is installed on.
#[derive(Debug)]
pub struct GitHubForge {
    client: GitHubClient,
    configured_slug: Option<String>,
    /// `<slug>[bot]`, or `None` when GitHub would not tell (then any Bot account
    /// counts as us when looking for our comment).
    bot_login: OnceCell<Option<String>>,
    known_labels: KnownLabels,
}

impl GitHubForge {
    /// Fails at startup on an unusable private key or API URL. Must be called inside a
    /// Tokio runtime (the HTTP client spawns a task).
    pub fn new(app: GitHubApp) -> Result<Self, SetupError> {
        Self::with_retry_policy(app, RetryPolicy::default())
    }

    pub fn with_retry_policy(app: GitHubApp, retry: RetryPolicy) -> Result<Self, SetupError> {
        Ok(Self {
            client: GitHubClient::new(&app, retry)?,
            configured_slug: app.app_slug,
            bot_login: OnceCell::new(),
            known_labels: KnownLabels::default(),
        })
    }

    /// Adds label `name` to the PR, first creating it in the repository with `color`
    /// (hex, no `#`) and `description` unless it is known to exist.
    pub async fn apply_label(
        &self,
        pr: &PrRef,
        name: &str,
        color: &str,
        description: &str,
    ) -> ForgeResult<()> {
        let installation = installation(&pr.repo)?;
        self.ensure_label(installation, &pr.repo, name, color, description)
            .await?;
        let number = pr.number.to_string();
        let url = self.repo_url(&pr.repo, &["issues", &number, "labels"])?;
        let request = ApiRequest::new(Method::POST, url).json(json!({ "labels": [name] }));
        self.client.send(installation, &request).await?.success()?;
        Ok(())
    }

    async fn ensure_label(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
        name: &str,
        color: &str,
        description: &str,
    ) -> ForgeResult<()> {
        let create = async {
            let url = self.repo_url(repo, &["labels"])?;
            let request = ApiRequest::new(Method::POST, url)
                .json(json!({ "name": name, "color": color, "description": description }));
            let response = self.client.send(installation, &request).await?;
            let already_exists = response.status == StatusCode::UNPROCESSABLE_ENTITY
                && ErrorBody::of(&response.body)
                    .errors
                    .iter()
                    .any(|e| e.code == "already_exists");
            if !already_exists {
                response.success()?;
            }
            Ok(())
        };
        self.known_labels.ensure(repo, name, create).await
    }

    /// `{api}/repos/{owner}/{name}/{rest...}`.
    fn repo_url(&self, repo: &RepoRef, rest: &[&str]) -> ForgeResult<Url> {
        let (owner, name) = repo
            .full_name
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                ForgeError::Permanent(format!("{:?} is not an owner/name", repo.full_name))
            })?;
        Ok(self.client.endpoint(
            ["repos", owner, name]
                .into_iter()
                .chain(rest.iter().copied()),
        ))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        installation: InstallationId,
        url: Url,
    ) -> ForgeResult<T> {
        self.client
            .send(installation, &ApiRequest::get(url))
            .await?
            .success()?
            .json()
    }

    /// The login our comments carry. From settings, else `GET /app` once.
    async fn bot_login(&self) -> ForgeResult<Option<&str>> {
        let login = self
            .bot_login
            .get_or_try_init(|| async {
                if let Some(slug) = &self.configured_slug {
                    return Ok(Some(format!("{slug}[bot]")));
                }
                let request = ApiRequest::get(self.client.endpoint(["app"]));
                match self.client.send_as_app(&request).await?.success() {
                    Ok(response) => {
                        let app: models::App = response.json()?;
                        Ok(Some(format!("{}[bot]", app.slug)))
                    }
                    // Transient failures propagate (and are not cached); a refusal is
                    // not worth failing every job over.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the App's slug; treating any bot as us");
                        Ok::<_, ForgeError>(None)
                    }
                }
            })
            .await?;
        Ok(login.as_deref())
    }

    /// The diff of `base...commit` (against their merge base), `None` when GitHub's
    /// listing is capped and so cannot be compared in full.
    async fn diff_from_base(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
        base: &str,
        commit: &str,
    ) -> ForgeResult<Option<Vec<DiffEntry>>> {
        let range = format!("{base}...{commit}");
        let comparison: models::Comparison = self
            .get_json(installation, self.repo_url(repo, &["compare", &range])?)
            .await?;
        Ok((comparison.files.len() < COMPARE_FILE_CAP).then_some(comparison.files))
    }

    /// Review commits whose diff against the merge base equals the head's.
    ///
    /// Equality is per file on (name, status, previous name, patch text, counts): a
    /// clean rebase keeps it, while any content change, or a rebase that shifts the
    /// lines around a hunk, breaks it (so reviews err towards being stale).
    async fn unchanged_since(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
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
        let Some(head_diff) = self.diff_from_base(installation, repo, base, head).await? else {
            return Ok(Vec::new());
        };
        let mut unchanged = Vec::new();
        for commit in candidates {
            match self
                .diff_from_base(installation, repo, base, commit.as_str())
                .await
            {
                Ok(Some(diff)) if diff == head_diff => unchanged.push(commit.clone()),
                // A commit force-pushed away and collected is simply not unchanged.
                Ok(_) | Err(ForgeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(unchanged)
    }
}

impl GitHubForge {
    /// The deployment of `sha` to `environment` that this bot created, if any.
    /// The newest status of the deployment whose statuses are at `statuses`.
    async fn latest_deployment_state(
        &self,
        repo: &RepoRef,
        statuses: &Url,
    ) -> ForgeResult<Option<String>> {
        let url = with_query(statuses.clone(), &[("per_page", "1")]);
        let listed: Vec<models::DeploymentStatus> = self.get_json(installation(repo)?, url).await?;
        Ok(listed.into_iter().next().map(|s| s.state))
    }

    /// An open revert this App opened, found by the marker in its description among
    /// the newest open PRs on `base`.
    async fn our_revert(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        marker: &str,
    ) -> ForgeResult<Option<u64>> {
        let mut query = vec![
            ("state", "open"),
            ("sort", "created"),
            ("direction", "desc"),
            ("per_page", PER_PAGE),
        ];
        query.extend(base.map(|b| ("base", b)));
        let url = with_query(self.repo_url(repo, &["pulls"])?, &query);
        let listed: Vec<models::PullBody> = self
            .client
            .get_all(installation(repo)?, url, REVERT_LOOKUP_LIMIT)
            .await?;
        Ok(listed
            .into_iter()
            .find(|p| p.body.as_deref().is_some_and(|b| b.contains(marker)))
            .map(|p| p.number))
    }

    async fn our_deployment(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
        environment: &str,
    ) -> ForgeResult<Option<u64>> {
        let url = with_query(
            self.repo_url(repo, &["deployments"])?,
            &[
                ("sha", sha.as_str()),
                ("environment", environment),
                ("per_page", PER_PAGE),
            ],
        );
        let listed: Vec<models::Deployment> = self
            .client
            .get_all(installation(repo)?, url, MAX_DEPLOYMENTS_PER_SHA)
            .await?;
        Ok(listed.into_iter().find(|d| d.by_smallbatch()).map(|d| d.id))
    }

    async fn post_comment(
        &self,
        pr: &PrRef,
        body: &str,
        repeatable: bool,
    ) -> ForgeResult<CommentId> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let url = self.repo_url(&pr.repo, &["issues", &number, "comments"])?;
        let mut request = ApiRequest::new(Method::POST, url).json(json!({ "body": body }));
        request.repeatable = repeatable;
        let comment: Created = self
            .client
            .send(installation, &request)
            .await?
            .success()?
            .json()?;
        Ok(CommentId(comment.id))
    }

    /// Every check run on `head` but ours, and every commit status.
    async fn head_checks(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
        head: &CommitSha,
    ) -> ForgeResult<Vec<HeadCheck>> {
        let page = [("per_page", PER_PAGE)];
        let runs_url = with_query(
            self.repo_url(repo, &["commits", head.as_str(), "check-runs"])?,
            &page,
        );
        let status_url = with_query(
            self.repo_url(repo, &["commits", head.as_str(), "status"])?,
            &page,
        );
        let (runs, statuses) = tokio::try_join!(
            self.client.get_all_in(
                installation,
                runs_url,
                usize::MAX,
                |page: models::CheckRunList| page.check_runs
            ),
            self.client.get_all_in(
                installation,
                status_url,
                usize::MAX,
                |page: models::CombinedStatus| page.statuses
            ),
        )?;
        let runs = runs
            .into_iter()
            .filter(|run| run.name != CHECK_NAME)
            .map(|run| HeadCheck {
                outcome: check_run_outcome(&run),
                name: run.name,
            });
        let statuses = statuses.into_iter().map(|status| HeadCheck {
            outcome: commit_status_outcome(&status.state),
            name: status.context,
        });
        Ok(runs.chain(statuses).collect())
    }

    /// Our check run on `head`, the newest if several; `None` when there is none yet.
    async fn our_check_run(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
        head: &CommitSha,
    ) -> ForgeResult<Option<models::CheckRun>> {
        let url = with_query(
            self.repo_url(repo, &["commits", head.as_str(), "check-runs"])?,
            &[("check_name", CHECK_NAME), ("filter", "latest")],
        );
        let list: models::CheckRunList = self.get_json(installation, url).await?;
        Ok(list
            .check_runs
            .into_iter()
            .filter(|run| run.name == CHECK_NAME && run.id.is_some())
            .max_by_key(|run| run.id))
    }

    /// Creates our check run on `head`, or updates `existing` in place.
    async fn send_check_run(
        &self,
        installation: InstallationId,
        repo: &RepoRef,
        head: &CommitSha,
        status: &GateStatus,
        existing: Option<CheckRunId>,
        repeatable: bool,
    ) -> ForgeResult<CheckRunId> {
        let body = CheckRunBody {
            name: CHECK_NAME,
            head_sha: existing.is_none().then_some(head.as_str()),
            status: "completed",
            conclusion: conclusion(status.conclusion),
            details_url: &status.details_url,
            output: CheckRunOutput {
                title: &status.title,
                summary: truncate_chars(&status.summary, SUMMARY_MAX_CHARS),
            },
        };
        let body = serde_json::to_value(&body)
            .map_err(|e| ForgeError::Permanent(format!("check run body: {e}")))?;
        let mut request = match existing {
            Some(id) => {
                let id = id.to_string();
                let url = self.repo_url(repo, &["check-runs", &id])?;
                ApiRequest::new(Method::PATCH, url)
            }
            None => ApiRequest::new(Method::POST, self.repo_url(repo, &["check-runs"])?),
        };
        request.repeatable = repeatable;
        let run: Created = self
            .client
            .send(installation, &request.json(body))
            .await?
            .success()?
            .json()?;
        Ok(CheckRunId(run.id))
    }

    /// Runs one GraphQL query; errors in the answer (HTTP 200 all the same) are
    /// permanent, with GitHub's messages.
    async fn graphql<T: serde::de::DeserializeOwned>(
        &self,
        installation: InstallationId,
        query: &str,
        variables: serde_json::Value,
    ) -> ForgeResult<T> {
        let mut request = ApiRequest::new(Method::POST, self.client.graphql_url())
            .json(json!({ "query": query, "variables": variables }));
        // Its one use is a mutation: one whose answer is lost may have happened.
        request.repeatable = false;
        let answer: models::GraphQlResponse<T> = self
            .client
            .send(installation, &request)
            .await?
            .success()?
            .json()?;
        if !answer.errors.is_empty() {
            let messages: Vec<&str> = answer.errors.iter().map(|e| e.message.as_str()).collect();
            return Err(ForgeError::Permanent(format!(
                "GitHub GraphQL: {}",
                messages.join("; ")
            )));
        }
        answer
            .data
            .ok_or_else(|| ForgeError::Permanent("GitHub GraphQL: an answer without data".into()))
    }
}

/// Identifies, in its description, the revert of `merge_sha` this App opened.
fn revert_marker(merge_sha: &CommitSha) -> String {
    format!("<!-- smallbatch:revert:{merge_sha} -->")
}

fn check_run_outcome(run: &models::CheckRun) -> CheckOutcome {
    if run.status != "completed" {
        return CheckOutcome::Pending;
    }
    match run.conclusion.as_deref() {
        Some("success" | "neutral" | "skipped") => CheckOutcome::Passed,
        _ => CheckOutcome::Failed,
    }
}

fn commit_status_outcome(state: &str) -> CheckOutcome {
    match state {
        "success" => CheckOutcome::Passed,
        "pending" => CheckOutcome::Pending,
        // failure, error, and anything GitHub may add: never merge on a doubt.
        _ => CheckOutcome::Failed,
    }
}

/// `role_name` is exact for the built-in roles; a custom role is named by the
/// organization, so its base `permission` is used instead.
fn permission(answer: &models::CollaboratorPermission) -> Permission {
    let by_name = |name: &str| match name {
        "admin" => Some(Permission::Admin),
        "maintain" => Some(Permission::Maintain),
        "write" => Some(Permission::Write),
        "triage" => Some(Permission::Triage),
        "read" => Some(Permission::Read),
        "none" => Some(Permission::None),
        _ => None,
    };
    answer
        .role_name
        .as_deref()
        .and_then(by_name)
        .or_else(|| by_name(&answer.permission))
        .unwrap_or(Permission::None)
}

fn merge_method(method: MergeMethod) -> &'static str {
    match method {
        MergeMethod::Merge => "merge",
        MergeMethod::Squash => "squash",
        MergeMethod::Rebase => "rebase",
    }
}

fn github_deployment_state(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::Pending => "pending",
        DeploymentState::Queued => "queued",
        DeploymentState::InProgress => "in_progress",
        DeploymentState::Success => "success",
        DeploymentState::Failure => "failure",
        DeploymentState::Error => "error",
        DeploymentState::Inactive => "inactive",
    }
}

fn installation(repo: &RepoRef) -> ForgeResult<InstallationId> {
    repo.installation.ok_or_else(|| {
        ForgeError::Permanent(format!(
            "{} has no GitHub App installation id",
            repo.full_name
        ))
    })
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

fn conclusion(conclusion: Conclusion) -> &'static str {
    match conclusion {
        Conclusion::Pass => "success",
        Conclusion::Fail => "failure",
        // Blocks merging without calling the PR a failure; requires `details_url`.
        Conclusion::Wait => "action_required",
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn api_usage(&self) -> Vec<(String, crate::forge::ApiUsage)> {
        self.client.usage.snapshot()
    }

    fn gate_creates_runs(&self) -> bool {
        true
    }

    async fn first_commit_at(&self, pr: &PrRef) -> ForgeResult<Option<String>> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        // Listed oldest first: the first entry of the first page is the first commit.
        let url = with_query(
            self.repo_url(&pr.repo, &["pulls", &number, "commits"])?,
            &[("per_page", "1")],
        );
        let commits: Vec<serde_json::Value> = self.get_json(installation, url).await?;
        Ok(commits
            .first()
            .and_then(|c| c["commit"]["author"]["date"].as_str())
            .map(str::to_owned))
    }

    async fn snapshot(&self, pr: &PrRef, want_unchanged_since: bool) -> ForgeResult<PrSnapshot> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let page = [("per_page", PER_PAGE)];
        let pull_url = self.repo_url(&pr.repo, &["pulls", &number])?;
        let files_url = with_query(
            self.repo_url(&pr.repo, &["pulls", &number, "files"])?,
            &page,
        );
        let reviews_url = with_query(
            self.repo_url(&pr.repo, &["pulls", &number, "reviews"])?,
            &page,
        );
        let (pull, files, reviews) = tokio::try_join!(
            self.get_json::<PullRequest>(installation, pull_url),
            self.client
                .get_all::<DiffEntry>(installation, files_url, FILE_LIST_CAP),
            self.client
                .get_all::<models::Review>(installation, reviews_url, usize::MAX),
        )?;
        let reviews: Vec<Review> = reviews.into_iter().filter_map(review).collect();
        let unchanged_since = if want_unchanged_since {
            self.unchanged_since(
                installation,
                &pr.repo,
                &pull.base.sha,
                &pull.head.sha,
                &reviews,
            )
            .await?
        } else {
            Vec::new()
        };
        Ok(PrSnapshot {
            number: PrNumber(pull.number),
            state: pr_state(&pull),
            title: pull.title,
            html_url: pull.html_url,
            author: user(pull.user),
            draft: pull.draft,
            head_sha: CommitSha::new(pull.head.sha),
            base_ref: pull.base.name,
            base_sha: CommitSha::new(pull.base.sha),
            labels: pull.labels.into_iter().map(|l| l.name).collect(),
            updated_at: pull.updated_at,
            files: files.into_iter().map(file_change).collect(),
            total_files: pull.changed_files,
            total_additions: pull.additions,
            total_deletions: pull.deletions,
            reviews,
            unchanged_since,
            estimated: vec![],
            status_target: None,
        })
    }

    async fn file_at(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        path: &str,
    ) -> ForgeResult<Option<String>> {
        let installation = installation(repo)?;
        let mut segments = vec!["contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let url = with_query(self.repo_url(repo, &segments)?, &[("ref", commit.as_str())]);
        let request = ApiRequest::get(url).accept(RAW);
        match self.client.send(installation, &request).await?.success() {
            Ok(response) => Ok(Some(response.text())),
            Err(ForgeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn branch_head(&self, repo: &RepoRef, branch: &str) -> ForgeResult<CommitSha> {
        let installation = installation(repo)?;
        // `git/ref` matches the exact ref only (no prefix matches), slashes and all.
        let mut segments = vec!["git", "ref", "heads"];
        segments.extend(branch.split('/'));
        let git_ref: models::GitRef = self
            .get_json(installation, self.repo_url(repo, &segments)?)
            .await?;
        Ok(CommitSha::new(git_ref.object.sha))
    }

    async fn open_prs(
        &self,
        repo: &RepoRef,
        base: Option<&str>,
        limit: usize,
    ) -> ForgeResult<Vec<OpenPr>> {
        let installation = installation(repo)?;
        let mut query = vec![("state", "open"), ("per_page", PER_PAGE)];
        query.extend(base.map(|b| ("base", b)));
        let url = with_query(self.repo_url(repo, &["pulls"])?, &query);
        let pulls: Vec<models::PullHead> = self.client.get_all(installation, url, limit).await?;
        Ok(pulls
            .into_iter()
            .map(|p| OpenPr {
                number: PrNumber(p.number),
                head_sha: CommitSha::new(p.head.sha),
            })
            .collect())
    }

    async fn publish_gate(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        status: &GateStatus,
        run: OurRun,
    ) -> ForgeResult<Option<CheckRunId>> {
        let installation = installation(&pr.repo)?;
        // A creation whose answer was lost (or whose process was killed) may have left a
        // run on the head: update that one rather than show the check twice.
        let existing = match run {
            OurRun::Known(id) => Some(id),
            OurRun::Absent => None,
            OurRun::MayExist => self
                .our_check_run(installation, &pr.repo, head)
                .await?
                .and_then(|run| run.id.map(CheckRunId)),
        };
        let id = match existing {
            Some(id) => {
                self.send_check_run(installation, &pr.repo, head, status, Some(id), true)
                    .await?
            }
            None => match self
                .send_check_run(installation, &pr.repo, head, status, None, false)
                .await
            {
                // Not repeated blindly: GitHub may have created it before failing.
                Err(e) if e.is_transient() => {
                    tracing::info!(error = %e, "a check run may have been created; looking before creating again");
                    let found = self
                        .our_check_run(installation, &pr.repo, head)
                        .await?
                        .and_then(|run| run.id.map(CheckRunId));
                    let repeatable = found.is_some();
                    self.send_check_run(installation, &pr.repo, head, status, found, repeatable)
                        .await?
                }
                other => other?,
            },
        };
        Ok(Some(id))
    }

    async fn merge_group_prs(
        &self,
        repo: &RepoRef,
        group: &MergeGroup,
    ) -> ForgeResult<Vec<PrNumber>> {
        self.queue_members(repo, group).await
    }

    async fn publish_commit_check(
        &self,
        repo: &RepoRef,
        commit: &CommitSha,
        status: &GateStatus,
    ) -> ForgeResult<()> {
        self.publish_on_commit(repo, commit, status).await
    }

    async fn find_comment(
        &self,
        pr: &PrRef,
        marker: &str,
    ) -> ForgeResult<Option<(CommentId, String)>> {
        let installation = installation(&pr.repo)?;
        let bot = self.bot_login().await?;
        let number = pr.number.to_string();
        let url = with_query(
            self.repo_url(&pr.repo, &["issues", &number, "comments"])?,
            &[("per_page", PER_PAGE)],
        );
        let comments: Vec<models::IssueComment> =
            self.client.get_all(installation, url, usize::MAX).await?;
        let ours = |author: &Option<models::Account>| match (author, bot) {
            (Some(a), Some(login)) => a.login == login,
            (Some(a), None) => a.is_bot(),
            (None, _) => false,
        };
        Ok(comments
            .into_iter()
            .find(|c| c.body.contains(marker) && ours(&c.user))
            .map(|c| (CommentId(c.id), c.body)))
    }

    async fn create_comment(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        self.post_comment(pr, body, true).await
    }

    async fn create_comment_once(&self, pr: &PrRef, body: &str) -> ForgeResult<CommentId> {
        self.post_comment(pr, body, false).await
    }

    async fn edit_comment(&self, pr: &PrRef, id: CommentId, body: &str) -> ForgeResult<()> {
        let installation = installation(&pr.repo)?;
        let id = id.to_string();
        let url = self.repo_url(&pr.repo, &["issues", "comments", &id])?;
        let request = ApiRequest::new(Method::PATCH, url).json(json!({ "body": body }));
        self.client.send(installation, &request).await?.success()?;
        Ok(())
    }

    async fn add_label(&self, pr: &PrRef, label: SizeLabel) -> ForgeResult<()> {
        self.apply_label(pr, label.name(), label.color(), label.description())
            .await
    }

    async fn remove_label(&self, pr: &PrRef, name: &str) -> ForgeResult<()> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let url = self.repo_url(&pr.repo, &["issues", &number, "labels", name])?;
        let request = ApiRequest::new(Method::DELETE, url);
        match self.client.send(installation, &request).await?.success() {
            Ok(_) | Err(ForgeError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn acknowledge_command(&self, pr: &PrRef, comment: CommentId) -> ForgeResult<()> {
        let installation = installation(&pr.repo)?;
        let id = comment.to_string();
        let url = self.repo_url(&pr.repo, &["issues", "comments", &id, "reactions"])?;
        let request = ApiRequest::new(Method::POST, url).json(json!({ "content": "eyes" }));
        // 200 when the reaction was already there, 201 when created.
        self.client.send(installation, &request).await?.success()?;
        Ok(())
    }

    async fn permission(&self, repo: &RepoRef, user: &str) -> ForgeResult<Permission> {
        let installation = installation(repo)?;
        let url = self.repo_url(repo, &["collaborators", user, "permission"])?;
        match self
            .get_json::<models::CollaboratorPermission>(installation, url)
            .await
        {
            Ok(answer) => Ok(permission(&answer)),
            // Not a collaborator, e.g. the author of a PR from a fork.
            Err(ForgeError::NotFound(_)) => Ok(Permission::None),
            Err(e) => Err(e),
        }
    }

    async fn merge_readiness(&self, pr: &PrRef, head: &CommitSha) -> ForgeResult<MergeReadiness> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let pull_url = self.repo_url(&pr.repo, &["pulls", &number])?;
        let (pull, checks) = tokio::try_join!(
            self.get_json::<models::PullMergeState>(installation, pull_url),
            self.head_checks(installation, &pr.repo, head),
        )?;
        Ok(MergeReadiness {
            mergeable: pull.mergeable,
            checks,
        })
    }

    async fn merge(
        &self,
        pr: &PrRef,
        head: &CommitSha,
        method: MergeMethod,
    ) -> ForgeResult<CommitSha> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let url = self.repo_url(&pr.repo, &["pulls", &number, "merge"])?;
        let request = ApiRequest::new(Method::PUT, url)
            .json(json!({ "sha": head.as_str(), "merge_method": merge_method(method) }));
        let response = self.client.send(installation, &request).await?;
        // Not mergeable (405), head moved (409), invalid (422): GitHub's own words are
        // what the user needs to read.
        if matches!(response.status.as_u16(), 405 | 409 | 422) {
            // A retry after a merge that went through: already merged at this very head.
            let pull: serde_json::Value = self
                .get_json(installation, self.repo_url(&pr.repo, &["pulls", &number])?)
                .await
                .unwrap_or_default();
            let merged_here = pull["merged"].as_bool() == Some(true)
                && pull["head"]["sha"].as_str() == Some(head.as_str());
            if let (true, Some(sha)) = (merged_here, pull["merge_commit_sha"].as_str()) {
                return Ok(CommitSha::new(sha));
            }
            let message = response.message();
            return Err(ForgeError::Permanent(if message.is_empty() {
                format!("GitHub refused the merge ({})", response.status)
            } else {
                message
            }));
        }
        let merged: models::MergeResult = response.success()?.json()?;
        Ok(CommitSha::new(merged.sha))
    }

    async fn start_deployment(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
        environment: &str,
        description: &str,
    ) -> ForgeResult<DeploymentStart> {
        let installation = installation(repo)?;
        // A second deployment would run the team's CD twice: an earlier attempt of this
        // job may have created it before failing, and a lost answer is never re-sent.
        if let Some(id) = self.our_deployment(repo, sha, environment).await? {
            return Ok(DeploymentStart::Created { id });
        }
        let url = self.repo_url(repo, &["deployments"])?;
        // No auto-merge of the default branch into the ref, no required contexts: the
        // gate has already judged this exact commit.
        let mut request = ApiRequest::new(Method::POST, url).json(json!({
            "ref": sha.as_str(),
            "environment": environment,
            "description": description,
            "auto_merge": false,
            "required_contexts": [],
            "payload": { "smallbatch": true },
        }));
        request.repeatable = false;
        let response = match self.client.send(installation, &request).await {
            Err(e) if e.is_transient() => {
                return match self.our_deployment(repo, sha, environment).await? {
                    Some(id) => Ok(DeploymentStart::Created { id }),
                    None => Err(e),
                }
            }
            sent => sent?.success()?,
        };
        // 202 means GitHub merged something first instead of deploying: with
        // `auto_merge: false` it should not happen, and there is no deployment.
        if response.status == StatusCode::ACCEPTED {
            return Err(ForgeError::Permanent(format!(
                "no deployment was created: {}",
                response.message()
            )));
        }
        let deployment: Created = response.json()?;
        Ok(DeploymentStart::Created { id: deployment.id })
    }

    async fn set_deployment_state(
        &self,
        repo: &RepoRef,
        deployment: u64,
        state: DeploymentState,
        description: &str,
    ) -> ForgeResult<()> {
        let installation = installation(repo)?;
        let id = deployment.to_string();
        let url = self.repo_url(repo, &["deployments", &id, "statuses"])?;
        let wanted = github_deployment_state(state);
        // Every POST adds a status: one already saying `state` (an earlier attempt whose
        // answer was lost) is not added again.
        if self.latest_deployment_state(repo, &url).await?.as_deref() == Some(wanted) {
            return Ok(());
        }
        let mut request = ApiRequest::new(Method::POST, url.clone()).json(json!({
            "state": wanted,
            "description": truncate_chars(description, DEPLOYMENT_DESCRIPTION_MAX_CHARS),
        }));
        request.repeatable = false;
        match self.client.send(installation, &request).await {
            Err(e) if e.is_transient() => {
                let latest = self.latest_deployment_state(repo, &url).await?;
                if latest.as_deref() == Some(wanted) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            sent => sent?.success().map(|_| ()),
        }
    }

    /// GitHub reverts the PR's own merge (its `merge_commit_sha`), so `merge_sha` is
    /// only compared with it for the log: refusing a revert after a regression over a
    /// mismatch would leave the regression in place.
    async fn recent_deliveries(
        &self,
        since: OffsetDateTime,
        max_pages: usize,
    ) -> ForgeResult<Vec<HookDelivery>> {
        let mut deliveries = Vec::new();
        let mut next = Some(with_query(
            self.client.endpoint(["app", "hook", "deliveries"]),
            &[("per_page", PER_PAGE)],
        ));
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages == max_pages {
                break;
            }
            pages += 1;
            // The App's own log: read with the App JWT, not an installation token.
            let response = self
                .client
                .send_as_app(&ApiRequest::get(url))
                .await?
                .success()?;
            let page: Vec<models::HookDelivery> = response.json()?;
            let mut reached_since = page.is_empty();
            for entry in page {
                let at = OffsetDateTime::parse(&entry.delivered_at, &Rfc3339).map_err(|e| {
                    ForgeError::Permanent(format!(
                        "delivery {} has a bad time {:?}: {e}",
                        entry.id, entry.delivered_at
                    ))
                })?;
                // Newest first: everything from here on is older.
                if at < since {
                    reached_since = true;
                    break;
                }
                deliveries.push(HookDelivery {
                    id: entry.id,
                    guid: entry.guid,
                    succeeded: (200..300).contains(&entry.status_code),
                });
            }
            if !reached_since {
                next = response
                    .next_link()
                    .map(|l| self.client.follow(l))
                    .transpose()?;
            }
        }
        Ok(deliveries)
    }

    async fn redeliver(&self, delivery: u64) -> ForgeResult<()> {
        let id = delivery.to_string();
        let url = self
            .client
            .endpoint(["app", "hook", "deliveries", id.as_str(), "attempts"]);
        self.client
            .send_as_app(&ApiRequest::new(Method::POST, url))
            .await?
            .success()?;
        Ok(())
    }

    async fn open_revert(
        &self,
        pr: &PrRef,
        merge_sha: &CommitSha,
        title: &str,
        body: &str,
    ) -> ForgeResult<PrNumber> {
        let installation = installation(&pr.repo)?;
        let number = pr.number.to_string();
        let pull: models::PullMergeState = self
            .get_json(installation, self.repo_url(&pr.repo, &["pulls", &number])?)
            .await?;
        if pull.merge_commit_sha.as_deref() != Some(merge_sha.as_str()) {
            tracing::warn!(%pr, expected = %merge_sha, found = ?pull.merge_commit_sha, "reverting a PR whose merge commit is not the one shipped");
        }
        // A revert opened by an earlier attempt whose answer was lost is not opened again.
        let marker = revert_marker(merge_sha);
        let base = pull.base.as_ref().map(|b| b.name.as_str());
        if let Some(number) = self.our_revert(&pr.repo, base, &marker).await? {
            return Ok(PrNumber(number));
        }
        let body = format!("{body}\n{marker}\n");
        let sent = self
            .graphql(
                installation,
                REVERT_MUTATION,
                json!({ "pullRequestId": pull.node_id, "title": title, "body": body }),
            )
            .await;
        let data: models::RevertData = match sent {
            Err(e) if e.is_transient() => {
                return match self.our_revert(&pr.repo, base, &marker).await? {
                    Some(number) => Ok(PrNumber(number)),
                    None => Err(e),
                }
            }
            sent => sent?,
        };
        let revert = data
            .revert_pull_request
            .and_then(|payload| payload.revert_pull_request)
            .ok_or_else(|| {
                ForgeError::Permanent(format!("GitHub GraphQL: no revert PR for {pr}"))
            })?;
        Ok(PrNumber(revert.number))
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
    fn binary_means_no_patch_and_no_lines_on_a_content_change() {
        assert!(file_change(entry("modified", 0, 0, None)).binary);
        assert!(file_change(entry("added", 0, 0, None)).binary);
        assert!(!file_change(entry("renamed", 0, 0, None)).binary);
        assert!(!file_change(entry("modified", 4000, 0, None)).binary);
        assert!(!file_change(entry("modified", 1, 0, Some("@@ -0,0 +1 @@\n+x"))).binary);
    }
}
