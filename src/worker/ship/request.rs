//! `/ship` requested: everything checked on the current head, then the ship started.
//! Also `/override`, which records who passed the gate and why.
use super::{decode, encode, load, schedule_start, Ctx, JobError};
use crate::domain::millis;
use crate::domain::{PostedComment, PrRef, PrSnapshot, PrState};
use crate::forge::Forge;
use crate::policy::config::RepoConfig;
use crate::policy::{self, command_text, render, BaseFacts};
use crate::ship::preconditions::{self, ShipFacts};
use crate::ship::record::{ShipRecord, Stage, Watch};
use crate::ship::text;
use crate::store::StoreError;

/// How far back the ships of a repository are looked through for this PR's.
const SHIPS_LOOKED_BACK: time::Duration = time::Duration::days(90);

/// `/ship [environment]`: checks everything on the current head, then starts the ship.
pub async fn request(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    policy: (&RepoConfig, &BaseFacts),
    environment: Option<&str>,
) -> Result<(), JobError> {
    let (config, base) = policy;
    if let Some(reply) = earlier_ship(ctx, pr, snap).await? {
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    let environment = environment.unwrap_or(&config.ship.environment).to_owned();
    let eval = policy::evaluate(snap, config, base);
    let overridden = ctx.store.override_for(pr, &snap.head_sha).await?.is_some();
    let readiness = forge.merge_readiness(pr, &snap.head_sha).await?;
    let facts = ShipFacts {
        open: snap.state == PrState::Open,
        draft: snap.draft,
        gate: eval.verdict.conclusion,
        gate_title: render::check_text(&eval).title,
        overridden,
        mergeable: readiness.mergeable,
        checks: readiness.checks,
    };
    let missing = preconditions::missing(&facts, pr.repo.forge);
    if !missing.is_empty() {
        forge
            .create_comment(pr, &text::not_ready(&environment, &missing))
            .await?;
        return Ok(());
    }
    let now = millis::of(ctx.store.now().await?);
    let first_commit_at_ms = forge
        .first_commit_at(pr)
        .await?
        .and_then(|d| millis::parse_rfc3339(&d));
    let record = ShipRecord {
        pr: pr.clone(),
        base_ref: snap.base_ref.clone(),
        title: snap.title.clone(),
        head_sha: snap.head_sha.clone(),
        environment: environment.clone(),
        requested_by: comment.author.login.clone(),
        author: snap.author.login.clone(),
        reviewers: eval.reviews.approvers.clone(),
        lines: eval.size.lines,
        approvals: eval.reviews.approvers.len() as u32,
        first_commit_at_ms,
        requested_at_ms: now,
        stage: Stage::Merging,
        merge_sha: None,
        merged_at_ms: None,
        deployment_id: None,
        watch: Watch::default(),
        deployment_marked_failed: false,
        deployment_mark_refused: None,
        deployment_mark_error: false,
        rollback: None,
        revert_due: false,
        revert_error: false,
        verdict_at_ms: None,
        comment_id: None,
        revert_pr: None,
        reverts_ship: reverted_ship(ctx, pr).await?,
        restored_at_ms: None,
        failure: None,
    };
    let stored = match ctx
        .store
        .create_ship(pr, &environment, Stage::Merging.as_str(), &encode(&record))
        .await
    {
        Ok(stored) => stored,
        // Started in between, by a `/ship` running beside this one.
        Err(StoreError::ShipInProgress { id }) => {
            let reply = match load(ctx, id).await? {
                Some((_, running)) => already_shipping(snap, &running),
                None => text::already_shipping(pr.repo.forge, None, Stage::Merging),
            };
            forge.create_comment(pr, &reply).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(%pr, ship = stored.id, head = %snap.head_sha, %environment, "ship started");
    schedule_start(ctx, pr, stored.id).await
}

/// The reply when an earlier ship of this change is running or has merged it: the
/// checklist could never be met then.
async fn earlier_ship(
    ctx: &Ctx,
    pr: &PrRef,
    snap: &PrSnapshot,
) -> Result<Option<String>, JobError> {
    if let Some(running) = ctx.store.active_ship(pr).await? {
        return Ok(Some(already_shipping(snap, &decode(&running.data)?)));
    }
    if snap.state != PrState::Merged {
        return Ok(None);
    }
    let since = ctx.store.now().await?.saturating_sub(SHIPS_LOOKED_BACK);
    let ships = ctx.store.ships(Some(&pr.repo), since).await?;
    let merged_by_ship = ships
        .iter()
        .rev()
        .filter(|s| s.pr_key == pr.key())
        .filter_map(|s| decode(&s.data).ok())
        .find(|r| r.merge_sha.is_some());
    Ok(Some(match merged_by_ship {
        Some(shipped) => text::already_shipped(
            pr.repo.forge,
            shipping_link(snap, &shipped).as_deref(),
            shipped.stage,
        ),
        None => text::already_merged(pr.repo.forge),
    }))
}

fn already_shipping(snap: &PrSnapshot, running: &ShipRecord) -> String {
    let link = shipping_link(snap, running);
    text::already_shipping(running.pr.repo.forge, link.as_deref(), running.stage)
}

/// The shipping comment's web address, once it is posted.
fn shipping_link(snap: &PrSnapshot, ship: &ShipRecord) -> Option<String> {
    let id = ship.comment_id?;
    Some(ship.pr.repo.forge.comment_url(&snap.html_url, id))
}

/// The PR being shipped reverts an earlier, regressed ship: its healthy deploy restores service.
async fn reverted_ship(ctx: &Ctx, pr: &PrRef) -> Result<Option<i64>, JobError> {
    let since = ctx.store.now().await?.saturating_sub(SHIPS_LOOKED_BACK);
    let ships = ctx.store.ships(Some(&pr.repo), since).await?;
    Ok(ships.iter().rev().find_map(|s| {
        let record = decode(&s.data).ok()?;
        (record.revert_pr == Some(pr.number.0)).then_some(s.id)
    }))
}

/// `/override <reason>`: records who, when, why, on which head and over which verdict,
/// then re-evaluates so the check shows it.
pub async fn record_override(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    reason: &str,
    policy: (&RepoConfig, &BaseFacts),
) -> Result<(), JobError> {
    let (config, base) = policy;
    let eval = policy::evaluate(snap, config, base);
    let overridden = format!(
        "{}: {}",
        format!("{:?}", eval.verdict.conclusion).to_lowercase(),
        render::check_text(&eval).title
    );
    let record = ctx
        .store
        .record_override(
            pr,
            &snap.head_sha,
            &comment.author.login,
            reason,
            &overridden,
        )
        .await?;
    tracing::info!(%pr, head = %snap.head_sha, actor = %record.actor, reason = %record.reason, "gate overridden");
    let note = command_text::OverrideNote {
        actor: record.actor.clone(),
        reason: record.reason.clone(),
        at: millis::rfc3339(millis::of(record.created_at)),
        head_sha: record.head_sha.to_string(),
        overridden: record.overridden.clone(),
    };
    forge
        .create_comment(pr, &command_text::override_recorded(&note))
        .await?;
    Ok(())
}
