//! The deploy controls' commands: `/lock` and `/unlock` an environment, `/hold` and
//! `/unhold` a change. Taking a lock or a hold needs the ship permission; releasing one
//! is for whoever took it, or anyone with the override permission (the same people who
//! may pass the gate despite its verdict).
use super::{gate, Ctx, JobError};
use crate::domain::{millis, PrRef};
use crate::forge::Forge;
use crate::policy::command_text::CommandPermissions;
use crate::policy::hold::HoldNote;
use crate::policy::RepoConfig;
use crate::ship::controls::{self, text, LockNote};
use crate::store::{HoldRecord, LockRecord};

/// A stored lock, as the texts show it.
pub(super) fn lock_note(lock: &LockRecord) -> LockNote {
    LockNote {
        environment: lock.environment.clone(),
        holder: lock.holder.clone(),
        reason: lock.reason.clone(),
        at: millis::rfc3339(millis::of(lock.created_at)),
    }
}

/// A stored hold, as the texts show it.
pub(super) fn hold_note(hold: &HoldRecord) -> HoldNote {
    HoldNote {
        holder: hold.holder.clone(),
        reason: hold.reason.clone(),
        at: millis::rfc3339(millis::of(hold.created_at)),
    }
}

/// `/lock [environment] [reason]`; the caller checked the ship permission.
pub async fn lock(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    args: Option<&str>,
    config: &RepoConfig,
) -> Result<(), JobError> {
    let (environment, reason) = controls::lock_args(args, &config.ship);
    let (lock, taken) = ctx
        .store
        .lock_environment(pr, &environment, user, reason.as_deref())
        .await?;
    let note = lock_note(&lock);
    let reply = if taken {
        tracing::info!(%pr, %user, %environment, "environment locked");
        text::locked(&note)
    } else {
        text::already_locked(&note, user)
    };
    forge.create_comment(pr, &reply).await?;
    Ok(())
}

/// `/unlock [environment]`.
pub async fn unlock(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    environment: Option<&str>,
    config: &RepoConfig,
    perms: CommandPermissions,
) -> Result<(), JobError> {
    let environment = environment.unwrap_or(&config.ship.environment);
    let reply = match ctx.store.environment_lock(&pr.repo, environment).await? {
        None => text::not_locked(environment),
        Some(lock) => {
            let note = lock_note(&lock);
            if !may_release(forge, pr, user, &lock.holder, perms).await? {
                text::unlock_refused(&note, user, perms.override_needs, pr.repo.forge)
            } else if ctx.store.unlock_environment(&lock).await? {
                tracing::info!(%pr, %user, %environment, holder = %lock.holder, "environment unlocked");
                text::unlocked(&note, user)
            } else {
                // Released by someone else in the meantime.
                text::not_locked(environment)
            }
        }
    };
    forge.create_comment(pr, &reply).await?;
    Ok(())
}

/// `/hold [reason]`; the caller checked the ship permission. The gate then waits.
pub async fn hold(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    reason: Option<&str>,
) -> Result<(), JobError> {
    let (hold, put) = ctx.store.hold(pr, user, reason).await?;
    let note = hold_note(&hold);
    if !put {
        forge
            .create_comment(pr, &text::already_held(&note, pr.repo.forge))
            .await?;
        return Ok(());
    }
    tracing::info!(%pr, %user, "change held");
    forge
        .create_comment(pr, &text::held(&note, pr.repo.forge))
        .await?;
    gate::evaluate(ctx, forge, pr).await
}

/// `/unhold`. The gate then decides again.
pub async fn unhold(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    perms: CommandPermissions,
) -> Result<(), JobError> {
    let change = pr.repo.forge;
    let Some(hold) = ctx.store.hold_on(pr).await? else {
        forge.create_comment(pr, &text::not_held(change)).await?;
        return Ok(());
    };
    let note = hold_note(&hold);
    if !may_release(forge, pr, user, &hold.holder, perms).await? {
        let reply = text::unhold_refused(&note, user, perms.override_needs, change);
        forge.create_comment(pr, &reply).await?;
        return Ok(());
    }
    if !ctx.store.unhold(&hold).await? {
        // Released by someone else in the meantime.
        forge.create_comment(pr, &text::not_held(change)).await?;
        return Ok(());
    }
    tracing::info!(%pr, %user, holder = %hold.holder, "hold released");
    forge
        .create_comment(pr, &text::unheld(&note, user, change))
        .await?;
    gate::evaluate(ctx, forge, pr).await
}

/// Whoever took a lock or a hold may release it, and so may anyone with the override
/// permission.
async fn may_release(
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    holder: &str,
    perms: CommandPermissions,
) -> Result<bool, JobError> {
    if user.eq_ignore_ascii_case(holder) {
        return Ok(true);
    }
    Ok(forge.permission(&pr.repo, user).await? >= perms.override_needs)
}
