//! Drives `/ship` through its stages. Every step reads the ship's durable record, does
//! one thing, and writes the record back with compare-and-set, so a retried or
//! concurrent step never repeats a transition and a restart resumes where it stopped.
use super::{repo_policy, Ctx, JobError};
use crate::domain::millis;
use crate::domain::{
    Delivery, DeliveryId, DeploymentRef, DeploymentState, DomainEvent, PostedComment, PrRef,
    PrSnapshot, PrState, RepoRef,
};
use crate::forge::{DeploymentStart, Forge, ForgeError};
use crate::policy::config::{OnRegression, RepoConfig};
use crate::policy::{self, command_text, render};
use crate::ship::judge::{self, Reading};
use crate::ship::preconditions::{self, ShipFacts};
use crate::ship::progress;
use crate::ship::record::{MetricStatus, ShipRecord, Stage};
use crate::ship::text;
use crate::store::{StoreError, StoredShip};
use std::time::Duration;

/// `/ship [environment]`: checks everything on the current head, then starts the ship.
pub async fn request(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: &PrSnapshot,
    comment: &PostedComment,
    policy: (&RepoConfig, Option<&str>),
    environment: Option<&str>,
) -> Result<(), JobError> {
    let (config, gitattributes) = policy;
    let environment = environment.unwrap_or(&config.ship.environment).to_owned();
    let eval = policy::evaluate(snap, config, gitattributes);
    let overridden = ctx
        .store
        .override_for(&pr.key(), snap.head_sha.as_str())
        .await?
        .is_some();
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
    let missing = preconditions::missing(&facts);
    if !missing.is_empty() {
        forge
            .create_comment(pr, &text::not_ready(&environment, &missing))
            .await?;
        return Ok(());
    }
    let now = ctx.store.now_ms().await?;
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
        deployed_at_ms: None,
        watch_until_ms: None,
        baselines: Vec::new(),
        last_check: Vec::new(),
        checks_done: 0,
        unknown_checks: 0,
        deployment_marked_failed: false,
        deployment_mark_refused: None,
        verdict_at_ms: None,
        comment_id: None,
        revert_pr: None,
        reverts_ship: reverted_ship(ctx, pr).await?,
        restored_at_ms: None,
        failure: None,
    };
    let stored = match ctx
        .store
        .create_ship(
            &pr.key(),
            &pr.repo.key(),
            &environment,
            Stage::Merging.as_str(),
            &encode(&record),
        )
        .await
    {
        Ok(stored) => stored,
        Err(StoreError::ShipInProgress { id }) => {
            let stage = load(ctx, id)
                .await?
                .map_or(Stage::Merging, |(_, r)| r.stage);
            forge
                .create_comment(pr, &text::already_shipping(id, stage))
                .await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(%pr, ship = stored.id, head = %snap.head_sha, %environment, "ship started");
    schedule(ctx, pr, stored.id, "start", Duration::ZERO).await
}

/// The PR being shipped reverts an earlier, regressed ship: its healthy deploy restores service.
async fn reverted_ship(ctx: &Ctx, pr: &PrRef) -> Result<Option<i64>, JobError> {
    let since = ctx.store.now_ms().await? - 90 * 24 * 3_600_000;
    let ships = ctx.store.ships(Some(&pr.repo.key()), since).await?;
    Ok(ships.iter().rev().find_map(|s| {
        let record = decode(&s.data).ok()?;
        (record.revert_pr == Some(pr.number.0)).then_some(s.id)
    }))
}

/// A scheduled step: advances the ship by one stage where it can.
pub async fn step(ctx: &Ctx, forge: &dyn Forge, pr: &PrRef, ship_id: i64) -> Result<(), JobError> {
    let Some((stored, mut record)) = load(ctx, ship_id).await? else {
        tracing::warn!(ship = ship_id, "ship not found; step dropped");
        return Ok(());
    };
    let config = ship_config(ctx, forge, &record).await?;
    match record.stage {
        Stage::Merging => merge_and_deploy(ctx, forge, &stored, &mut record, &config).await,
        Stage::Watching => watch(ctx, forge, &stored, &mut record, &config).await,
        Stage::Regressed => finish_regression(ctx, forge, &stored, &mut record, &config).await,
        // Waiting for the deployment to report, or finished.
        Stage::Deploying
        | Stage::Healthy
        | Stage::Unverified
        | Stage::DeployFailed
        | Stage::MergeFailed => {
            let _ = pr;
            Ok(())
        }
    }
}

async fn merge_and_deploy(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let pr = record.pr.clone();
    let stored = publish(ctx, forge, stored, record, config).await?;
    let merge_sha = match forge
        .merge(&pr, &record.head_sha, config.ship.merge_method)
        .await
    {
        Ok(sha) => sha,
        // A racing push, a conflict, branch protection: told to the user, nothing deployed.
        Err(ForgeError::Permanent(reason)) => {
            record.stage = Stage::MergeFailed;
            record.failure = Some(reason);
            return save_and_publish(ctx, forge, &stored, record, config).await;
        }
        Err(e) => return Err(e.into()),
    };
    let now = ctx.store.now_ms().await?;
    record.merge_sha = Some(merge_sha.clone());
    record.merged_at_ms = Some(now);
    record.stage = Stage::Deploying;
    let description = format!("smallbatch: #{} {}", pr.number, record.title);
    let Some(stored) = save(ctx, &stored, record).await? else {
        return Ok(());
    };
    match forge
        .start_deployment(&pr.repo, &merge_sha, &record.environment, &description)
        .await?
    {
        DeploymentStart::Created { id } => record.deployment_id = Some(id),
        DeploymentStart::Following => {}
    }
    save_and_publish(ctx, forge, &stored, record, config).await
}

/// A deployment reported; the ship it belongs to moves on.
pub async fn deployment_changed(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    deployment: &DeploymentRef,
    state: DeploymentState,
) -> Result<(), JobError> {
    let found = ctx
        .store
        .ship_for_deployment(
            &repo.key(),
            deployment.sha.as_str(),
            &deployment.environment,
        )
        .await?;
    let Some(stored) = found else {
        tracing::debug!(repo = %repo.full_name, sha = %deployment.sha, "deployment of no ship");
        return Ok(());
    };
    let mut record = decode(&stored.data)?;
    if record.stage != Stage::Deploying || !state.is_final() {
        return Ok(());
    }
    record.deployment_id = Some(deployment.id);
    let config = ship_config(ctx, forge, &record).await?;
    if state != DeploymentState::Success {
        record.stage = Stage::DeployFailed;
        record.failure = Some(format!(
            "The deployment to {} reported `{state:?}`.",
            deployment.environment
        ));
        return save_and_publish(ctx, forge, &stored, &mut record, &config).await;
    }
    let now = ctx.store.now_ms().await?;
    let watch = config.ship.watch;
    record.stage = Stage::Watching;
    record.deployed_at_ms = Some(now);
    record.watch_until_ms = Some(now + watch.as_millis() as i64);
    record.baselines = baselines(ctx, &config, now).await;
    let Some(stored) = save(ctx, &stored, &record).await? else {
        return Ok(());
    };
    publish(ctx, forge, &stored, &mut record, &config).await?;
    schedule(ctx, &record.pr, stored.id, "watch-0", config.ship.interval).await
}

async fn baselines(ctx: &Ctx, config: &RepoConfig, deployed_at_ms: i64) -> Vec<Option<f64>> {
    let Some(prometheus) = &ctx.prometheus else {
        return vec![None; config.ship.metrics.len()];
    };
    let before = millis::datetime(deployed_at_ms).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut out = Vec::new();
    for metric in &config.ship.metrics {
        out.push(
            match prometheus
                .baseline(&metric.query, before, config.ship.watch)
                .await
            {
                Reading::Value(v) => Some(v),
                _ => None,
            },
        );
    }
    out
}

async fn watch(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let mut verdicts = Vec::new();
    for (i, metric) in config.ship.metrics.iter().enumerate() {
        let reading = match &ctx.prometheus {
            Some(p) => p.instant(&metric.query, None).await,
            None => Reading::Unreachable(
                "no Prometheus is configured on this server (SMALLBATCH_TELEMETRY__PROMETHEUS_URL)"
                    .into(),
            ),
        };
        let baseline = record.baselines.get(i).copied().flatten();
        verdicts.push((metric.name.clone(), judge::judge(metric, baseline, reading)));
    }
    record.checks_done += 1;
    record.last_check = verdicts
        .iter()
        .map(|(name, v)| progress::metric_line(name, v))
        .collect();
    if record
        .last_check
        .iter()
        .any(|l| l.status == MetricStatus::Unknown)
    {
        record.unknown_checks += 1;
    }
    let now = ctx.store.now_ms().await?;
    let watch_over = record.watch_until_ms.is_none_or(|until| now >= until);
    record.stage = progress::after_check(&record.last_check, record.unknown_checks, watch_over);
    if record.stage.finished() {
        record.verdict_at_ms = Some(now);
        tracing::info!(pr = %record.pr, verdict = record.stage.as_str(), "ship verdict");
    }
    let Some(stored) = save(ctx, stored, record).await? else {
        return Ok(());
    };
    match record.stage {
        Stage::Regressed => finish_regression(ctx, forge, &stored, record, config).await,
        Stage::Healthy => {
            publish(ctx, forge, &stored, record, config).await?;
            restore_reverted(ctx, record, now).await
        }
        Stage::Watching => {
            publish(ctx, forge, &stored, record, config).await?;
            let step = format!("watch-{}", record.checks_done);
            schedule(ctx, &record.pr, stored.id, &step, config.ship.interval).await
        }
        _ => publish(ctx, forge, &stored, record, config)
            .await
            .map(|_| ()),
    }
}

/// After a regression: mark the deployment failed, open the revert, tell the people.
/// Each effect is recorded before the next, so a retry does only what is left.
async fn finish_regression(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let mut stored = stored.clone();
    if !record.deployment_marked_failed {
        if let Some(id) = record.deployment_id {
            let detail = regression_summary(record);
            match forge
                .set_deployment_state(&record.pr.repo, id, DeploymentState::Failure, &detail)
                .await
            {
                Ok(()) => {}
                // GitLab refuses to change deployments its CI created; the revert matters more.
                Err(ForgeError::Permanent(e)) => {
                    tracing::warn!(pr = %record.pr, error = %e, "cannot mark the deployment failed");
                    record.deployment_mark_refused = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        record.deployment_marked_failed = true;
        let Some(next) = save(ctx, &stored, record).await? else {
            return Ok(());
        };
        stored = next;
    }
    if config.ship.on_regression == OnRegression::Revert && record.revert_pr.is_none() {
        let merge_sha = record.merge_sha.clone().ok_or_else(|| {
            JobError::Forge(ForgeError::Permanent(
                "regressed ship has no merge commit".into(),
            ))
        })?;
        let title = format!("Revert \"{}\"", record.title);
        let number = forge
            .open_revert(&record.pr, &merge_sha, &title, &text::revert_body(record))
            .await?;
        record.revert_pr = Some(number.0);
        let Some(next) = save(ctx, &stored, record).await? else {
            return Ok(());
        };
        stored = next;
    }
    publish(ctx, forge, &stored, record, config)
        .await
        .map(|_| ())
}

fn regression_summary(record: &ShipRecord) -> String {
    record
        .last_check
        .iter()
        .filter(|l| l.status == MetricStatus::Regressed)
        .map(|l| {
            format!(
                "{}: {}",
                l.name,
                l.detail.as_deref().unwrap_or("out of bounds")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A healthy revert restores the service its regressed ship broke.
async fn restore_reverted(ctx: &Ctx, record: &ShipRecord, now: i64) -> Result<(), JobError> {
    let Some(original) = record.reverts_ship else {
        return Ok(());
    };
    // Another worker may update the original at the same time; retry the CAS a few times.
    for _ in 0..5 {
        let Some((stored, mut orig)) = load(ctx, original).await? else {
            return Ok(());
        };
        if orig.restored_at_ms.is_some() {
            return Ok(());
        }
        orig.restored_at_ms = Some(now);
        if save(ctx, &stored, &orig).await?.is_some() {
            tracing::info!(ship = original, "service restored by a healthy revert");
            return Ok(());
        }
    }
    Ok(())
}

/// The policy of the ship's base branch, as it is now (cached by commit).
async fn ship_config(
    ctx: &Ctx,
    forge: &dyn Forge,
    ship: &ShipRecord,
) -> Result<RepoConfig, JobError> {
    let repo = &ship.pr.repo;
    let commit = repo_policy::policy_commit(ctx, forge, repo, &ship.base_ref).await?;
    let policy = repo_policy::load(ctx, forge, repo, &commit).await?;
    // A policy broken after the ship started keeps the defaults rather than stranding it.
    Ok(policy.config.unwrap_or_default())
}

fn encode(record: &ShipRecord) -> String {
    serde_json::to_string(record).expect("a ship record always serializes")
}

fn decode(data: &str) -> Result<ShipRecord, JobError> {
    serde_json::from_str(data).map_err(|e| JobError::Store(StoreError::Corrupt(e.to_string())))
}

async fn load(ctx: &Ctx, id: i64) -> Result<Option<(StoredShip, ShipRecord)>, JobError> {
    match ctx.store.ship(id).await? {
        Some(stored) => {
            let record = decode(&stored.data)?;
            Ok(Some((stored, record)))
        }
        None => Ok(None),
    }
}

/// Compare-and-set; `None` when another step got there first (it carries on from there).
async fn save(
    ctx: &Ctx,
    stored: &StoredShip,
    record: &ShipRecord,
) -> Result<Option<StoredShip>, JobError> {
    let merge_sha = record.merge_sha.as_ref().map(|s| s.as_str());
    let saved = ctx
        .store
        .update_ship(
            stored.id,
            stored.version,
            record.stage.as_str(),
            record.stage.finished(),
            merge_sha,
            &encode(record),
        )
        .await?;
    if saved.is_none() {
        tracing::info!(
            ship = stored.id,
            "ship moved on concurrently; this step stops"
        );
    }
    Ok(saved)
}

/// Posts or edits the one shipping comment to match the record.
async fn publish(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<StoredShip, JobError> {
    let body = text::shipping_comment(stored.id, record, config.ship.watch.as_millis() as i64);
    match record.comment_id {
        Some(id) => {
            forge
                .edit_comment(&record.pr, crate::domain::CommentId(id), &body)
                .await?;
            Ok(stored.clone())
        }
        // An earlier attempt may have posted it before failing.
        None => {
            let id = super::gate::adopt_or_post(forge, &record.pr, &text::marker(stored.id), &body)
                .await?;
            record.comment_id = Some(id.0);
            Ok(save(ctx, stored, record)
                .await?
                .unwrap_or_else(|| stored.clone()))
        }
    }
}

async fn save_and_publish(
    ctx: &Ctx,
    forge: &dyn Forge,
    stored: &StoredShip,
    record: &mut ShipRecord,
    config: &RepoConfig,
) -> Result<(), JobError> {
    if record.stage.finished() && record.verdict_at_ms.is_none() {
        record.verdict_at_ms = Some(ctx.store.now_ms().await?);
    }
    let Some(stored) = save(ctx, stored, record).await? else {
        return Ok(());
    };
    publish(ctx, forge, &stored, record, config)
        .await
        .map(|_| ())
}

async fn schedule(
    ctx: &Ctx,
    pr: &PrRef,
    ship_id: i64,
    step: &str,
    delay: Duration,
) -> Result<(), JobError> {
    let delivery = Delivery {
        // One job per step of one ship: a retried step does not schedule twice.
        id: DeliveryId::new(format!("ship:{ship_id}:{step}")),
        event: DomainEvent::ShipStep {
            pr: pr.clone(),
            ship_id,
        },
    };
    ctx.store.enqueue_at(&delivery, delay).await?;
    ctx.job_stored.notify_one();
    Ok(())
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
    policy: (&RepoConfig, Option<&str>),
) -> Result<(), JobError> {
    let (config, gitattributes) = policy;
    let eval = policy::evaluate(snap, config, gitattributes);
    let overridden = format!(
        "{}: {}",
        format!("{:?}", eval.verdict.conclusion).to_lowercase(),
        render::check_text(&eval).title
    );
    let record = ctx
        .store
        .record_override(
            &pr.key(),
            snap.head_sha.as_str(),
            &comment.author.login,
            reason,
            &overridden,
        )
        .await?;
    tracing::info!(%pr, head = %snap.head_sha, actor = %record.actor, reason = %record.reason, "gate overridden");
    let note = command_text::OverrideNote {
        actor: record.actor.clone(),
        reason: record.reason.clone(),
        at: millis::rfc3339(record.created_at_ms),
        head_sha: record.head_sha.clone(),
        overridden: record.overridden.clone(),
    };
    forge
        .create_comment(pr, &command_text::override_recorded(&note))
        .await?;
    Ok(())
}
