//! Stacked PRs: the PRs below one, read from the store for its guidance; and the PRs above
//! one queued again when its score or place changed (a push, a retarget, a close), so that
//! the stack their guidance names stays true. No forge call is made for either.
use super::{Ctx, JobError};
use crate::domain::{Delivery, DeliveryId, DomainEvent, PrRef, PrSnapshot};
use crate::policy::StackedPr;

/// Stacks deeper than this are cut short: the texts name this many PRs at most, and a
/// store that somehow holds a longer chain is not walked for ever.
const MAX_DEPTH: usize = 20;

/// The open PRs below `snap`, nearest first.
pub(super) async fn below(
    ctx: &Ctx,
    pr: &PrRef,
    snap: &PrSnapshot,
) -> Result<Vec<StackedPr>, JobError> {
    let mut stack: Vec<StackedPr> = Vec::new();
    let mut base = snap.base_ref.clone();
    while stack.len() < MAX_DEPTH {
        let Some(below) = ctx.store.open_pr_with_head(&pr.repo, &base).await? else {
            break;
        };
        // Branches based on each other in a ring end the walk where it began.
        if below.number == pr.number || stack.iter().any(|s| s.number == below.number) {
            break;
        }
        base = below.base_ref;
        stack.push(StackedPr {
            number: below.number,
            branch: below.head_ref,
            lines: below.lines,
        });
    }
    Ok(stack)
}

/// Records `pr`'s branches and score as evaluated with `stack` below it. When they
/// changed, or `pr` is new to the store, the PRs above it are queued again.
pub(super) async fn record(
    ctx: &Ctx,
    pr: &PrRef,
    snap: &PrSnapshot,
    lines: u64,
    stack: &[StackedPr],
) -> Result<(), JobError> {
    let before = ctx.store.pr_branches(pr).await?;
    let Some(head) = &snap.head_ref else {
        // A fork's branch is no one's base.
        if before.is_some() {
            ctx.store.close_pr_branches(pr).await?;
        }
        return Ok(());
    };
    let unchanged = before.as_ref().is_some_and(|b| {
        b.open && b.lines == lines && b.base_ref == snap.base_ref && b.head_ref == *head
    });
    if unchanged {
        return Ok(());
    }
    ctx.store
        .save_pr_branches(pr, head, &snap.base_ref, lines)
        .await?;
    let version = format!("{}@{}", snap.head_sha, snap.updated_at);
    // The PR below, evaluated at the same time, may have been recorded after this one
    // read its stack and before this one was recorded, so that neither saw the other:
    // read again now that this one is on record, and evaluate it again if it changed.
    if below(ctx, pr, snap).await? != stack {
        let cause = "restacked: the stack below it changed while it was evaluated".to_owned();
        enqueue(
            ctx,
            pr.clone(),
            DeliveryId::restack(pr, pr, &version),
            cause,
        )
        .await?;
        ctx.job_stored.notify_one();
    }
    restack_above(ctx, pr, head, |above| {
        DeliveryId::restack(above, pr, &version)
    })
    .await
}

/// `pr` was closed or merged (`delivery`): the PRs above it are stacked on it no more.
pub(super) async fn closed(ctx: &Ctx, pr: &PrRef, delivery: &DeliveryId) -> Result<(), JobError> {
    close(ctx, pr, |above| delivery.for_pr(above.number)).await
}

/// `snap` shows `pr` closed or merged, as a missed close event would have said.
pub(super) async fn found_closed(ctx: &Ctx, pr: &PrRef, snap: &PrSnapshot) -> Result<(), JobError> {
    let version = format!("closed@{}", snap.updated_at);
    close(ctx, pr, |above| DeliveryId::restack(above, pr, &version)).await
}

async fn close(ctx: &Ctx, pr: &PrRef, id: impl Fn(&PrRef) -> DeliveryId) -> Result<(), JobError> {
    let Some(record) = ctx.store.pr_branches(pr).await?.filter(|r| r.open) else {
        return Ok(());
    };
    ctx.store.close_pr_branches(pr).await?;
    restack_above(ctx, pr, &record.head_ref, id).await
}

/// Queues an evaluation of `pr` as delivery `id`, because the stack below it changed.
async fn enqueue(ctx: &Ctx, pr: PrRef, id: DeliveryId, cause: String) -> Result<(), JobError> {
    let delivery = Delivery {
        id,
        event: DomainEvent::PrChanged {
            cause,
            pr,
            head_sha: None,
        },
    };
    ctx.store.enqueue(&delivery).await?;
    Ok(())
}

/// Queues an evaluation of every open PR stacked, directly or through others, on `head`,
/// the head branch of `pr`; `id` names each one's delivery.
async fn restack_above(
    ctx: &Ctx,
    pr: &PrRef,
    head: &str,
    id: impl Fn(&PrRef) -> DeliveryId,
) -> Result<(), JobError> {
    let mut branches = vec![head.to_owned()];
    let mut queued = vec![pr.number];
    while let Some(branch) = branches.pop() {
        for above in ctx.store.open_prs_on_base(&pr.repo, &branch).await? {
            if queued.contains(&above.number) || queued.len() > MAX_DEPTH {
                continue;
            }
            queued.push(above.number);
            branches.push(above.head_ref);
            let above = PrRef {
                repo: pr.repo.clone(),
                number: above.number,
            };
            let delivery = id(&above);
            enqueue(
                ctx,
                above,
                delivery,
                format!("restacked: {pr} below it changed"),
            )
            .await?;
        }
    }
    if queued.len() > 1 {
        tracing::info!(%pr, above = queued.len() - 1, "stack changed; re-evaluating the PRs above");
        ctx.job_stored.notify_one();
    }
    Ok(())
}
