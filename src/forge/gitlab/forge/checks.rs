//! The gate's commit status, and whether an MR can merge: its mergeability and every
//! other status on its head.

use super::{GitLabForge, PER_PAGE};
use crate::domain::{CommitSha, PrRef, RepoRef, StatusTarget};
use crate::forge::gitlab::client::{ApiRequest, ApiResponse};
use crate::forge::gitlab::models::{self, MergeRequest};
use crate::forge::rest::{truncate_chars, with_query};
use crate::forge::{CheckOutcome, ForgeResult, GateStatus, HeadCheck, MergeReadiness};
use crate::policy::Conclusion;
use http::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

/// The commit status's name; a merge check can require it by this name.
pub const STATUS_NAME: &str = "smallbatch";
/// GitLab rejects a status description longer than this.
const DESCRIPTION_MAX_CHARS: usize = 255;

/// Sets the `smallbatch` commit status on `head`, attached to the MR's head
/// pipeline when it runs on `head` (`pipeline_id`): without it GitLab attaches the
/// status to the newest pipeline of that commit on *any* ref, or opens a new one on
/// the default ref, which the MR's widget and "pipelines must succeed" may not look
/// at. With no pipeline on `head` yet, `ref` is the MR's source branch, so that the
/// external pipeline GitLab creates is one of the MR's pipelines (GitLab finds an
/// MR's branch pipelines by source branch and commit).
pub(super) async fn publish_gate(
    gl: &GitLabForge,
    pr: &PrRef,
    head: &CommitSha,
    status: &GateStatus,
) -> ForgeResult<()> {
    let target = match &status.target {
        Some(target) => target.clone(),
        None => {
            let mr: MergeRequest = gl.client.get_json(gl.mr_url(pr, &[])).await?;
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
    let url = gl.project_url(&pr.repo, &["statuses", head.as_str()]);
    let response = gl
        .client
        .send(&ApiRequest::new(Method::POST, url).json(body))
        .await?;
    if !is_repeated_state(&response) {
        response.success()?;
    }
    Ok(())
}

/// Mergeability as [`mergeability`] reads it, and the commit statuses on `head`
/// (CI jobs and external statuses), the latest per name, ours excluded.
pub(super) async fn merge_readiness(
    gl: &GitLabForge,
    pr: &PrRef,
    head: &CommitSha,
) -> ForgeResult<MergeReadiness> {
    let (mr, checks) = tokio::try_join!(
        gl.client.get_json::<models::MergeState>(gl.mr_url(pr, &[])),
        head_checks(gl, &pr.repo, head),
    )?;
    Ok(MergeReadiness {
        mergeable: mergeability(&mr),
        checks,
    })
}

/// Every commit status on `head` but ours, the latest one per name.
async fn head_checks(
    gl: &GitLabForge,
    repo: &RepoRef,
    head: &CommitSha,
) -> ForgeResult<Vec<HeadCheck>> {
    let url = with_query(
        gl.project_url(repo, &["repository", "commits", head.as_str(), "statuses"]),
        &[("per_page", PER_PAGE)],
    );
    let statuses = gl
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

/// Where the gate's status on `head` goes: the MR's head pipeline when it runs on `head`
/// (see `publish_gate`), else the MR's source branch.
pub(super) fn status_target(mr: &MergeRequest, head: &str) -> StatusTarget {
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
