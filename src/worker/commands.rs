//! Chat commands in PR comments: parsed by the pure parser, acknowledged at once, each
//! run under the permission it needs. User errors are answered in the PR; internal errors
//! go to the log.
use super::{controls, gate, owners, repo_policy, ship, Ctx, JobError};
use crate::commands::{self, Command};
use crate::domain::{Permission, PostedComment, PrRef, PrSnapshot};
use crate::forge::Forge;
use crate::policy::command_text::{self, CommandPermissions};
use crate::policy::{render, BaseFacts, RepoConfig};

/// At most this many commands run from one comment; the rest are ignored.
const MAX_COMMANDS: usize = 5;

pub async fn handle(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    comment: &PostedComment,
) -> Result<(), JobError> {
    // Bots never command us; this includes our own comments, which quote commands.
    if comment.author.is_bot {
        return Ok(());
    }
    // The forge's "before" wins (GitHub sends it); otherwise what we saw last (GitLab).
    let before = match &comment.previous_body {
        Some(before) => Some(before.clone()),
        None => ctx.store.comment_body(pr, comment.id).await?,
    };
    let found = match &before {
        Some(before) => commands::new_commands(before, &comment.body),
        None => commands::parse(&comment.body),
    };
    if !found.is_empty() {
        // `/ship --noop` promises to change nothing: its reply is its only write.
        if !found.iter().take(MAX_COMMANDS).all(is_dry_run) {
            forge.acknowledge_command(pr, comment.id).await?;
        }
        let context = context_of(ctx, forge, pr).await?;
        for command in found.iter().take(MAX_COMMANDS) {
            tracing::info!(%pr, user = %comment.author.login, %command, "command");
            run(ctx, forge, pr, comment, command, &context).await?;
        }
    }
    // Only once they all ran: a retry after a failure runs the commands again rather
    // than losing them (at least once; a repeat is a second reply, never a second ship).
    ctx.store
        .remember_comment(pr, comment.id, &comment.body)
        .await?;
    Ok(())
}

fn is_dry_run(command: &Command) -> bool {
    matches!(command, Command::Ship { noop: true, .. })
}

/// The PR and the policy its commands run under, fetched once per comment.
struct Context {
    snap: PrSnapshot,
    config: Result<RepoConfig, crate::policy::ConfigError>,
    /// What the base says besides the policy, with the owners' teams looked up.
    base: BaseFacts,
}

async fn context_of(ctx: &Ctx, forge: &dyn Forge, pr: &PrRef) -> Result<Context, JobError> {
    let snap = forge.snapshot(pr).await?;
    let commit = repo_policy::policy_commit(ctx, forge, &pr.repo, &snap.base_ref).await?;
    let loaded = repo_policy::load(ctx, forge, &pr.repo, &commit).await?;
    let mut base = loaded.base;
    if let Ok(config) = &loaded.config {
        owners::look_up_teams(ctx, forge, &pr.repo, &snap, config, &mut base).await?;
    }
    Ok(Context {
        snap,
        config: loaded.config,
        base,
    })
}

async fn run(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    comment: &PostedComment,
    command: &Command,
    context: &Context,
) -> Result<(), JobError> {
    let config = match &context.config {
        Ok(config) => config,
        Err(err) => {
            // Commands act under the policy; a broken one is the user's to fix.
            let text = render::config_error_check(err, pr.repo.forge);
            forge
                .create_comment(pr, &format!("{}\n\n{}", text.title, text.summary))
                .await?;
            return Ok(());
        }
    };
    let perms = CommandPermissions {
        override_needs: config.commands.override_permission,
        ship_needs: config.commands.ship_permission,
    };
    let user = &comment.author.login;
    let policy = (config, &context.base);
    match command {
        Command::Help => {
            forge
                .create_comment(pr, &command_text::help_reply(config, perms, pr.repo.forge))
                .await?;
        }
        Command::Recheck => gate::evaluate(ctx, forge, pr).await?,
        Command::Unknown { name } => {
            forge
                .create_comment(pr, &command_text::unknown_command(name))
                .await?;
        }
        Command::Override { reason } => {
            if !allowed(forge, pr, user, "override", perms.override_needs).await? {
                return Ok(());
            }
            match reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                None => {
                    forge
                        .create_comment(pr, &command_text::override_needs_reason())
                        .await?;
                }
                Some(reason) => {
                    ship::record_override(ctx, forge, pr, &context.snap, comment, reason, policy)
                        .await?;
                    gate::evaluate(ctx, forge, pr).await?;
                }
            }
        }
        Command::Ship {
            environment,
            noop,
            order_override,
        } => {
            if !allowed(forge, pr, user, "ship", perms.ship_needs).await? {
                return Ok(());
            }
            if order_override.is_some()
                && !allowed(forge, pr, user, "ship --override", perms.override_needs).await?
            {
                return Ok(());
            }
            let shown = Command::Ship {
                environment: environment.clone(),
                noop: false,
                order_override: order_override.clone(),
            }
            .to_string();
            let ask = ship::Ask {
                command: &shown,
                environment: environment.as_deref(),
                noop: *noop,
                order_override: order_override.as_deref(),
            };
            ship::request(ctx, forge, pr, &context.snap, comment, policy, ask).await?;
        }
        Command::Lock { args } => {
            if allowed(forge, pr, user, "lock", perms.ship_needs).await? {
                controls::lock(ctx, forge, pr, user, args.as_deref(), config).await?;
            }
        }
        Command::Unlock { environment } => {
            let environment = environment.as_deref();
            controls::unlock(ctx, forge, pr, user, environment, config, perms).await?;
        }
        Command::Hold { reason } => {
            if allowed(forge, pr, user, "hold", perms.ship_needs).await? {
                controls::hold(ctx, forge, pr, user, reason.as_deref()).await?;
            }
        }
        Command::Unhold => controls::unhold(ctx, forge, pr, user, perms).await?,
        Command::Malformed { problem, .. } => {
            forge
                .create_comment(pr, &crate::ship::controls::text::malformed(problem))
                .await?;
        }
        Command::Rollback { environment } => {
            if !allowed(forge, pr, user, "rollback", perms.ship_needs).await? {
                return Ok(());
            }
            let (snap, env) = (&context.snap, environment.as_deref());
            ship::rollback_command(ctx, forge, pr, snap, comment, config, env).await?;
        }
    }
    Ok(())
}

/// Checks the user's permission; refuses politely when it falls short.
async fn allowed(
    forge: &dyn Forge,
    pr: &PrRef,
    user: &str,
    command: &str,
    needed: Permission,
) -> Result<bool, JobError> {
    let has = forge.permission(&pr.repo, user).await?;
    if has >= needed {
        return Ok(true);
    }
    tracing::info!(%pr, %user, %command, has = has.as_str(), needed = needed.as_str(), "command refused");
    forge
        .create_comment(
            pr,
            &command_text::refusal(command, user, needed, pr.repo.forge),
        )
        .await?;
    Ok(false)
}
