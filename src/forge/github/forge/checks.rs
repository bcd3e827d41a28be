//! The gate's check run, and whether a PR can merge: its mergeability and every other
//! check and status on its head.

use super::{RepoClient, PER_PAGE};
use crate::domain::{CheckRunId, CommitSha, PrRef};
use crate::forge::github::client::ApiRequest;
use crate::forge::github::models::{self, CheckRunBody, CheckRunOutput};
use crate::forge::rest::{truncate_chars, with_query, Created};
use crate::forge::{
    CheckOutcome, ForgeError, ForgeResult, GateStatus, HeadCheck, MergeReadiness, OurRun,
};
use crate::policy::Conclusion;
use http::Method;

/// The check run's name; branch protection requires it by this name.
pub const CHECK_NAME: &str = "smallbatch";
/// GitHub rejects a check-run summary longer than this many characters.
pub(super) const SUMMARY_MAX_CHARS: usize = 65_535;

pub(super) async fn publish_gate(
    api: RepoClient<'_>,
    head: &CommitSha,
    status: &GateStatus,
    run: OurRun,
) -> ForgeResult<Option<CheckRunId>> {
    // A creation whose answer was lost (or whose process was killed) may have left a
    // run on the head: update that one rather than show the check twice.
    let existing = match run {
        OurRun::Known(id) => Some(id),
        OurRun::Absent => None,
        OurRun::MayExist => our_check_run(api, head)
            .await?
            .and_then(|run| run.id.map(CheckRunId)),
    };
    let id = match existing {
        Some(id) => send_check_run(api, head, status, Some(id), true).await?,
        None => match send_check_run(api, head, status, None, false).await {
            // Not repeated blindly: GitHub may have created it before failing.
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "a check run may have been created; looking before creating again");
                let found = our_check_run(api, head)
                    .await?
                    .and_then(|run| run.id.map(CheckRunId));
                let repeatable = found.is_some();
                send_check_run(api, head, status, found, repeatable).await?
            }
            other => other?,
        },
    };
    Ok(Some(id))
}

/// Our check run on `head`, the newest if several; `None` when there is none yet.
pub(super) async fn our_check_run(
    api: RepoClient<'_>,
    head: &CommitSha,
) -> ForgeResult<Option<models::CheckRun>> {
    let url = with_query(
        api.url(&["commits", head.as_str(), "check-runs"]),
        &[("check_name", CHECK_NAME), ("filter", "latest")],
    );
    let list: models::CheckRunList = api.get_json(url).await?;
    Ok(list
        .check_runs
        .into_iter()
        .filter(|run| run.name == CHECK_NAME && run.id.is_some())
        .max_by_key(|run| run.id))
}

/// Creates our check run on `head`, or updates `existing` in place.
pub(super) async fn send_check_run(
    api: RepoClient<'_>,
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
            ApiRequest::new(Method::PATCH, api.url(&["check-runs", &id]))
        }
        None => ApiRequest::new(Method::POST, api.url(&["check-runs"])),
    };
    request.repeatable = repeatable;
    let run: Created = api.send(&request.json(body)).await?.success()?.json()?;
    Ok(CheckRunId(run.id))
}

pub(super) async fn merge_readiness(
    api: RepoClient<'_>,
    pr: &PrRef,
    head: &CommitSha,
) -> ForgeResult<MergeReadiness> {
    let number = pr.number.to_string();
    let pull_url = api.url(&["pulls", &number]);
    let (pull, checks) = tokio::try_join!(
        api.get_json::<models::PullMergeState>(pull_url),
        head_checks(api, head),
    )?;
    Ok(MergeReadiness {
        mergeable: pull.mergeable,
        checks,
    })
}

/// Every check run on `head` but ours, and every commit status.
async fn head_checks(api: RepoClient<'_>, head: &CommitSha) -> ForgeResult<Vec<HeadCheck>> {
    let page = [("per_page", PER_PAGE)];
    let runs_url = with_query(api.url(&["commits", head.as_str(), "check-runs"]), &page);
    let status_url = with_query(api.url(&["commits", head.as_str(), "status"]), &page);
    let (runs, statuses) = tokio::try_join!(
        api.get_all_in(runs_url, usize::MAX, |page: models::CheckRunList| page
            .check_runs),
        api.get_all_in(status_url, usize::MAX, |page: models::CombinedStatus| page
            .statuses),
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

pub(super) fn conclusion(conclusion: Conclusion) -> &'static str {
    match conclusion {
        Conclusion::Pass => "success",
        Conclusion::Fail => "failure",
        // Blocks merging without calling the PR a failure; requires `details_url`.
        Conclusion::Wait => "action_required",
    }
}
