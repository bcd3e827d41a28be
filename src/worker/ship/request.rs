//! `/ship` requested: everything checked on the current head, then the ship started.
//! A change merged by an earlier ship goes on to the next environment from its merge
//! commit (a promotion). Also `/override`, which records who passed the gate and why.
use super::controls::{gather, repo_ships, Ask, RepoShips};
use super::{encode, load, schedule_start, Ctx, JobError};
use crate::domain::millis;
use crate::domain::{PostedComment, PrRef, PrSnapshot, PrState};
use crate::forge::Forge;
use crate::policy::config::RepoConfig;
use crate::policy::{self, command_text, render, BaseFacts};
use crate::ship::controls::noop::{self, Route};
use crate::ship::controls::{self, text as controls_text, RunningShip};
use crate::ship::preconditions::{self, Item, ShipFacts};
use crate::ship::record::{OrderSkip, ShipRecord, Stage, Watch};
use crate::ship::reverts::{self, Shipped};
use crate::ship::text;
use crate::store::StoreError;

/// `/ship [environment] [--noop] [--override <reason>]`: checks everything on the
/// current head, then starts the ship (or, with `--noop`, says what it would do).
pub async fn request(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    policy: (&RepoConfig, &BaseFacts),
    ask: Ask<'_>,
) -> Result<(), JobError> {
    let (config, base) = policy;
    let environment = ask
        .environment
        .unwrap_or(&config.ship.environment)
        .to_owned();
    if !config.ship.knows_environment(&environment) {
        let reply = controls_text::unknown_environment(&environment, &config.ship.environments);
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    if let Some(running) = ctx.store.active_ship(pr).await? {
        let reply = already_shipping(snap, &super::decode(&running.data)?);
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    let ships = repo_ships(ctx, &pr.repo).await?;
    // The route to the environment: merged now, or already merged by an earlier ship.
    let (route, mut items, merged_by) = match snap.state {
        PrState::Merged => {
            let merged = ships
                .merged(pr)
                .and_then(|r| Some((r, r.merge_sha.clone()?)));
            let Some((merging, merge_sha)) = merged else {
                let reply = text::already_merged(pr.repo.forge);
                forge.create_comment(pr, &reply).await?;
                return Ok(());
            };
            if let Some(there) = ships.of_change_to(pr, &environment) {
                let link = shipping_link(snap, there);
                let reply = text::already_shipped(pr.repo.forge, link.as_deref(), there.stage);
                forge.create_comment(pr, &reply).await?;
                return Ok(());
            }
            let item = Item::new(
                true,
                format!(
                    "The {} was merged as `{}` by its ship to **{}**.",
                    pr.repo.forge.change_noun(),
                    merge_sha.short(),
                    merging.environment
                ),
                "",
            );
            let route = Route::Merged {
                merge_sha: merge_sha.0.clone(),
            };
            (route, vec![item], Some(merging.clone()))
        }
        PrState::Open | PrState::Closed => {
            let facts = ship_facts(ctx, forge, pr, snap, config, base).await?;
            let items = preconditions::checklist(&facts, pr.repo.forge);
            (Route::Merge(config.ship.merge_method), items, None)
        }
    };
    let user = comment.author.login.as_str();
    let controls = gather(
        ctx,
        pr,
        snap,
        &environment,
        user,
        config,
        ask.order_override,
        &ships,
    )
    .await?;
    items.extend(controls::checklist(&controls, pr.repo.forge));
    let skipped = if controls.order_override.is_some() {
        controls.order_gaps()
    } else {
        Vec::new()
    };
    if ask.noop {
        let reply = noop::dry_run(
            ask.command,
            &environment,
            &items,
            &route,
            &config.ship,
            &skipped,
            pr.repo.forge,
        );
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    let missing = preconditions::unmet(items);
    if !missing.is_empty() {
        forge
            .create_comment(pr, &text::not_ready(&environment, &missing))
            .await?;
        return Ok(());
    }
    let order_override = match (&controls.order_override, skipped.is_empty()) {
        (Some(skip), false) => {
            let record = ctx
                .store
                .record_order_override(
                    pr,
                    &snap.head_sha,
                    &environment,
                    &skipped,
                    user,
                    &skip.reason,
                )
                .await?;
            tracing::info!(%pr, head = %snap.head_sha, %environment, actor = %record.actor, reason = %record.reason, skipped = ?record.skipped, "environment order overridden");
            Some(OrderSkip {
                by: record.actor,
                reason: record.reason,
                skipped: record.skipped,
            })
        }
        _ => None,
    };
    let mut record = match merged_by {
        Some(merging) => promotion(ctx, snap, comment, &merging, &environment).await?,
        None => new_ship(ctx, forge, pr, snap, comment, policy, &environment).await?,
    };
    record.order_override = order_override;
    record.rehearsal = config
        .ship
        .environments
        .last()
        .is_some_and(|last| *last != environment);
    record.reverts_ship = reverted_ship(pr, snap, &ships);
    start(ctx, forge, pr, snap, &environment, &record).await
}

/// What `/ship` checks on an open change.
async fn ship_facts(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    config: &RepoConfig,
    base: &BaseFacts,
) -> Result<ShipFacts, JobError> {
    let eval = policy::evaluate(snap, config, base);
    let overridden = ctx.store.override_for(pr, &snap.head_sha).await?.is_some();
    let readiness = forge.merge_readiness(pr, &snap.head_sha).await?;
    Ok(ShipFacts {
        open: snap.state == PrState::Open,
        draft: snap.draft,
        gate: eval.verdict.conclusion,
        gate_title: render::check_text(&eval).title,
        overridden,
        mergeable: readiness.mergeable,
        checks: readiness.checks,
    })
}

/// A ship that merges the change first.
async fn new_ship(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    policy: (&RepoConfig, &BaseFacts),
    environment: &str,
) -> Result<ShipRecord, JobError> {
    let (config, base) = policy;
    let eval = policy::evaluate(snap, config, base);
    let now = millis::of(ctx.store.now().await?);
    let first_commit_at_ms = forge
        .first_commit_at(pr)
        .await?
        .and_then(|d| millis::parse_rfc3339(&d));
    Ok(ShipRecord {
        pr: pr.clone(),
        base_ref: snap.base_ref.clone(),
        title: snap.title.clone(),
        head_sha: snap.head_sha.clone(),
        environment: environment.to_owned(),
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
        reverts_ship: None,
        restored_at_ms: None,
        failure: None,
        order_override: None,
        rehearsal: false,
        reverted: None,
    })
}

/// A ship of a change an earlier ship merged: it starts merged, with that ship's merge
/// commit, and goes on to deploy it here. The batch it ships is the one merged.
async fn promotion(
    ctx: &Ctx,
    snap: &PrSnapshot,
    comment: &PostedComment,
    merging: &ShipRecord,
    environment: &str,
) -> Result<ShipRecord, JobError> {
    let now = millis::of(ctx.store.now().await?);
    Ok(ShipRecord {
        title: snap.title.clone(),
        environment: environment.to_owned(),
        requested_by: comment.author.login.clone(),
        requested_at_ms: now,
        stage: Stage::Merged,
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
        restored_at_ms: None,
        failure: None,
        reverted: None,
        ..merging.clone()
    })
}

/// Records the ship and schedules its first step; a ship that started beside this one
/// (of this change, or of another to the same environment) is named instead.
async fn start(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    environment: &str,
    record: &ShipRecord,
) -> Result<(), JobError> {
    let created = ctx
        .store
        .create_ship(pr, environment, record.stage.as_str(), &encode(record))
        .await;
    let stored = match created {
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
        Err(StoreError::EnvironmentBusy { id }) => {
            let running = load(ctx, id).await?.map(|(_, r)| RunningShip {
                change: r.pr.number.0,
                requested_by: r.requested_by,
                stage: r.stage,
            });
            let item = controls::running_item(running.as_ref(), environment, pr.repo.forge);
            let reply = text::not_ready(environment, &[item.text]);
            forge.create_comment(pr, &reply).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(%pr, ship = stored.id, head = %snap.head_sha, %environment, stage = record.stage.as_str(), "ship started");
    schedule_start(ctx, pr, stored.id).await
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

/// The ship the change being shipped reverts: smallbatch's own revert of a regressed
/// ship (its healthy deploy restores service), or a revert made by hand, by its title.
fn reverted_ship(pr: &PrRef, snap: &PrSnapshot, ships: &RepoShips) -> Option<i64> {
    if let Some((id, _)) = ships
        .all
        .iter()
        .rev()
        .find(|(_, r)| r.revert_pr == Some(pr.number.0))
    {
        return Some(*id);
    }
    let others: Vec<(i64, &ShipRecord)> = ships
        .all
        .iter()
        .filter(|(_, r)| r.pr != *pr && r.merge_sha.is_some() && !r.rehearsal)
        .map(|(id, r)| (*id, r))
        .collect();
    let shipped: Vec<Shipped> = others
        .iter()
        .map(|(_, r)| Shipped {
            change: r.pr.number.0,
            title: &r.title,
            merge_sha: r.merge_sha.as_ref().map(|s| s.as_str()),
        })
        .collect();
    let change =
        reverts::reverted_change(pr.repo.forge, &pr.repo.full_name, &snap.title, "", &shipped)?;
    others
        .iter()
        .rev()
        .find(|(_, r)| r.pr.number.0 == change)
        .map(|(id, _)| *id)
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
