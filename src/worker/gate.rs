//! The gate on one PR: fetch, decide (pure policy), then publish only what changed.
use super::controls::hold_note;
use super::score::{score, Outcome, Scored};
use super::{stack, Ctx, JobError};
use crate::domain::{
    millis, CheckRunId, CommentId, CommitSha, ForgeKind, PrRef, PrSnapshot, PrState,
};
use crate::forge::{Forge, ForgeError, GateStatus, OurRun};
use crate::policy::command_text::{self, OverrideNote};
use crate::policy::comment::{self, CommentAction, GUIDANCE_MARKER};
use crate::policy::hold::held_check;
use crate::policy::render::{self, CheckText};
use crate::policy::verdict::published;
use crate::policy::{labels, Conclusion, Evaluation};
use crate::store::{PrPage, PrRecord, RecordedRun};
use sha2::{Digest, Sha256};

pub async fn evaluate(ctx: &Ctx, forge: &dyn Forge, pr: &PrRef) -> Result<(), JobError> {
    let snap = forge.snapshot(pr).await?;
    if snap.state != PrState::Open {
        tracing::debug!(%pr, state = ?snap.state, "not open; nothing to gate");
        return stack::found_closed(ctx, pr, &snap).await;
    }
    let record = ctx.store.pr_record(pr).await?;
    if let Some(rec) = &record {
        // Replicas and retries can run an older snapshot after a newer one was applied.
        if rec.updated_at.as_str() > snap.updated_at.as_str() {
            tracing::info!(%pr, head = %snap.head_sha, "snapshot older than the last applied one; skipped");
            return Ok(());
        }
    }
    let Scored { snap, outcome } = score(ctx, forge, pr, snap).await?;
    let mut record = record.unwrap_or_default();
    let (eval, overridden, held, release_needs) = match outcome {
        Outcome::Evaluated {
            eval,
            overridden,
            held,
            release_needs,
        } => {
            let stack = stack::below(ctx, pr, &snap).await?;
            (eval.with_stack(stack), overridden, held, release_needs)
        }
        Outcome::InvalidPolicy(err) => {
            tracing::info!(%pr, head = %snap.head_sha, verdict = "config_error", error = %err, "evaluated");
            ctx.verdicts.count("config_error");
            let status = gate_status(
                ctx,
                pr,
                Conclusion::Fail,
                render::config_error_check(&err, pr.repo.forge),
                &snap,
            );
            publish(ctx, forge, pr, &snap, &status, &mut record).await?;
            return save(ctx, pr, &snap, record).await;
        }
    };
    tracing::info!(
        repo = %pr.repo.full_name, pr = %pr.number, head = %snap.head_sha,
        verdict = ?eval.verdict.conclusion, lines = eval.size.lines, approvals = eval.reviews.approvers.len(),
        held = held.is_some(), "evaluated"
    );
    // An override holds for exactly this head; the next push ends it. A draft waits
    // whatever was overridden: its check never stays green from its ready days.
    let overridden = overridden.filter(|_| !snap.draft);
    let conclusion = published(
        eval.verdict.conclusion,
        overridden.is_some(),
        held.is_some(),
    );
    let text = match (&held, overridden) {
        // A hold waits, whatever else was said: an override does not lift it.
        (Some(hold), _) => held_check(
            render::check_text(&eval),
            &hold_note(hold),
            release_needs,
            pr.repo.forge,
        ),
        (None, Some(record)) => {
            let note = OverrideNote {
                actor: record.actor,
                reason: record.reason,
                at: millis::rfc3339(millis::of(record.created_at)),
                head_sha: record.head_sha.0,
                overridden: record.overridden,
            };
            command_text::overridden_check(render::check_text(&eval), &note)
        }
        (None, None) => render::check_text(&eval),
    };
    let status = gate_status(ctx, pr, conclusion, text, &snap);
    ctx.verdicts.count(
        match (held.is_some(), conclusion, eval.verdict.conclusion) {
            (true, _, _) => "held",
            (false, Conclusion::Pass, Conclusion::Pass) => "pass",
            (false, Conclusion::Pass, _) => "overridden",
            (false, _, Conclusion::Wait) => "wait",
            _ => "fail",
        },
    );
    if publish(ctx, forge, pr, &snap, &status, &mut record).await? {
        // Recorded at once: should a later step fail, the retry updates this check run
        // instead of creating a second one on the head.
        save(ctx, pr, &snap, record.clone()).await?;
    }
    reconcile_comment(ctx, forge, pr, &snap, &eval, &mut record).await?;
    reconcile_labels(forge, pr, &snap, &eval).await?;
    save(ctx, pr, &snap, record).await?;
    stack::record(ctx, pr, &snap, eval.size.lines, &eval.stack).await
}

fn gate_status(
    ctx: &Ctx,
    pr: &PrRef,
    conclusion: Conclusion,
    text: CheckText,
    snap: &PrSnapshot,
) -> GateStatus {
    // A GitHub check shows its summary itself; a GitLab status shows one line, so it
    // links to the PR's web page when people can reach it.
    let page = match (&ctx.pages_url, pr.repo.forge) {
        (Some(base), ForgeKind::GitLab) => Some(crate::server::ui::pr_page_url(base, pr)),
        _ => None,
    };
    GateStatus {
        conclusion,
        title: text.title,
        summary: text.summary,
        details_url: page.unwrap_or_else(|| snap.html_url.clone()),
        target: snap.status_target.clone(),
    }
}

fn fingerprint(status: &GateStatus) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}\0{}\0{}",
        status.conclusion, status.title, status.summary
    ));
    hex::encode(h.finalize())
}

/// Publishes the gate unless this exact status is already on this head; `true` when it
/// wrote.
async fn publish(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    status: &GateStatus,
    record: &mut PrRecord,
) -> Result<bool, JobError> {
    let same_head = record.head_sha == snap.head_sha;
    let fp = fingerprint(status);
    if same_head && record.check_fingerprint.as_deref() == Some(fp.as_str()) {
        return Ok(false);
    }
    let known = if same_head { record.check_run_id } else { None };
    let run = our_run(ctx, forge, pr, &snap.head_sha, known).await?;
    let id = forge.publish_gate(pr, &snap.head_sha, status, run).await?;
    if let Some(id) = id {
        ctx.store.record_run(&pr.repo, &snap.head_sha, id).await?;
    }
    record.check_run_id = id.map(|i| i.0);
    record.check_fingerprint = Some(fp);
    ctx.store
        .save_pr_page(pr, &page_of(pr, snap, status))
        .await?;
    Ok(true)
}

fn page_of(pr: &PrRef, snap: &PrSnapshot, status: &GateStatus) -> PrPage {
    PrPage {
        forge: pr.repo.forge,
        repo: pr.repo.full_name.clone(),
        number: pr.number.0,
        title: snap.title.clone(),
        html_url: snap.html_url.clone(),
        head_sha: snap.head_sha.0.clone(),
        conclusion: conclusion_name(status.conclusion).to_owned(),
        check_title: status.title.clone(),
        summary: status.summary.clone(),
        // Set by the store from its clock.
        evaluated_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

fn conclusion_name(conclusion: Conclusion) -> &'static str {
    match conclusion {
        Conclusion::Pass => "pass",
        Conclusion::Wait => "wait",
        Conclusion::Fail => "fail",
    }
}

/// What is known of our check run on `head`, from the store alone. Before a first
/// creation on a head, the store records that it starts: should its answer be lost or
/// the process stop, whichever job comes next looks for the run instead of creating a
/// second one.
async fn our_run(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    head: &CommitSha,
    known: Option<u64>,
) -> Result<OurRun, JobError> {
    if !forge.gate_creates_runs() {
        return Ok(OurRun::Absent);
    }
    if let Some(id) = known {
        return Ok(OurRun::Known(CheckRunId(id)));
    }
    Ok(match ctx.store.recorded_run(&pr.repo, head).await? {
        // Ours from an earlier evaluation of this head: a force-push back to it, or
        // another PR on the same commit.
        RecordedRun::Created(id) => OurRun::Known(CheckRunId(id)),
        RecordedRun::Unconfirmed => OurRun::MayExist,
        RecordedRun::None => {
            if ctx.store.start_run(&pr.repo, head).await? {
                OurRun::Absent
            } else {
                // Another job started one on this head in the meantime.
                OurRun::MayExist
            }
        }
    })
}

async fn reconcile_comment(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    eval: &Evaluation,
    record: &mut PrRecord,
) -> Result<(), JobError> {
    // The stored record is the source of truth: the forge is asked only when a post was
    // started and not confirmed (its answer lost, the process stopped).
    if record.comment_id.is_none()
        && record.comment_unconfirmed
        && comment::guidance_comment(eval, pr.repo.forge).is_some()
    {
        if let Some((id, body)) = forge.find_comment(pr, GUIDANCE_MARKER).await? {
            record.comment_id = Some(id.0);
            record.comment_body = Some(body);
            record.comment_unconfirmed = false;
        }
    }
    let posted = record.comment_id.and(record.comment_body.as_deref());
    match (
        comment::reconcile(posted, eval, pr.repo.forge),
        record.comment_id,
    ) {
        (CommentAction::Keep, _) => {}
        (CommentAction::Edit(body), Some(id)) => {
            match forge.edit_comment(pr, CommentId(id), &body).await {
                Ok(()) => {}
                // Someone deleted it; the guidance still applies, so it is posted anew.
                Err(ForgeError::NotFound(_)) => {
                    let id = adopt_or_post(forge, pr, GUIDANCE_MARKER, &body).await?;
                    record.comment_id = Some(id.0);
                }
                Err(e) => return Err(e.into()),
            }
            record.comment_body = Some(body);
        }
        (CommentAction::Create(body) | CommentAction::Edit(body), _) => {
            record.comment_unconfirmed = true;
            save(ctx, pr, snap, record.clone()).await?;
            let id = forge
                .create_marked_comment(pr, GUIDANCE_MARKER, &body)
                .await?;
            record.comment_id = Some(id.0);
            record.comment_body = Some(body);
            record.comment_unconfirmed = false;
            // Recorded at once, so that a failure later in the job is not taken for a
            // post whose answer was lost.
            save(ctx, pr, snap, record.clone()).await?;
        }
    }
    Ok(())
}

/// The bot's comment carrying `marker`, brought up to `body`, or a new one: an earlier
/// attempt of this job may have posted it before failing.
pub(super) async fn adopt_or_post(
    forge: &dyn Forge,
    pr: &PrRef,
    marker: &str,
    body: &str,
) -> Result<CommentId, JobError> {
    Ok(match forge.adopt_comment(pr, marker, body).await? {
        Some(id) => id,
        None => forge.create_marked_comment(pr, marker, body).await?,
    })
}

async fn reconcile_labels(
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    eval: &Evaluation,
) -> Result<(), JobError> {
    let plan = labels::plan(&snap.labels, eval.label);
    for stale in &plan.remove {
        forge.remove_label(pr, stale).await?;
    }
    if let Some(label) = plan.add {
        forge.create_label(&pr.repo, &label.into()).await?;
        forge.add_label(pr, label.name()).await?;
    }
    Ok(())
}

async fn save(
    ctx: &Ctx,
    pr: &PrRef,
    snap: &PrSnapshot,
    mut record: PrRecord,
) -> Result<(), JobError> {
    record.head_sha = snap.head_sha.clone();
    record.updated_at = snap.updated_at.clone();
    ctx.store.save_pr_record(pr, &record).await?;
    Ok(())
}
