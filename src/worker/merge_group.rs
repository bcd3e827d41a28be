//! A merge queue's group: every PR in it is judged again, as its own gate would judge it
//! now, and one check on the group's commit says whether all of them may merge. Nothing
//! is written to the PRs themselves.
use super::score::{score, Outcome, Scored};
use super::{Ctx, JobError};
use crate::domain::{MergeGroup, PrRef, PrState, RepoRef};
use crate::forge::{Forge, ForgeError, GateStatus};
use crate::policy::merge_group::{group_check, Member, Standing};

pub async fn checks_requested(
    ctx: &Ctx,
    forge: &dyn Forge,
    repo: &RepoRef,
    group: &MergeGroup,
) -> Result<(), JobError> {
    // Merge groups come from GitHub's webhooks only.
    let queue = forge.merge_queue().ok_or_else(|| {
        ForgeError::Permanent(format!(
            "merge queues are not implemented for {}",
            forge.kind().as_str()
        ))
    })?;
    let numbers = queue.merge_group_prs(repo, group).await?;
    let mut members = Vec::with_capacity(numbers.len());
    let mut details_url = None;
    for number in numbers {
        let pr = PrRef {
            repo: repo.clone(),
            number,
        };
        let member = judge(ctx, forge, &pr).await?;
        if number == group.head_pr {
            details_url = Some(member.url.clone());
        }
        members.push(member);
    }
    let (conclusion, text) = group_check(&group.base_branch, &group.head_sha, &members);
    tracing::info!(
        repo = %repo.full_name, head = %group.head_sha, prs = members.len(),
        verdict = ?conclusion, "merge group evaluated"
    );
    let status = GateStatus {
        conclusion,
        title: text.title,
        summary: text.summary,
        details_url: details_url.unwrap_or_default(),
        // GitHub only: a check run on the group's commit.
        target: None,
    };
    queue
        .publish_commit_check(repo, &group.head_sha, &status)
        .await?;
    Ok(())
}

/// One PR of the group, scored exactly as its own gate scores it.
async fn judge(ctx: &Ctx, forge: &dyn Forge, pr: &PrRef) -> Result<Member, JobError> {
    let snap = forge.snapshot(pr).await?;
    let url = snap.html_url.clone();
    if snap.state != PrState::Open {
        return Ok(Member {
            number: pr.number,
            url,
            standing: Standing::NotOpen,
        });
    }
    let Scored { outcome, .. } = score(ctx, forge, pr, snap).await?;
    let standing = match outcome {
        Outcome::InvalidPolicy(err) => Standing::InvalidPolicy(err),
        Outcome::Evaluated {
            eval,
            overridden,
            held,
            ..
        } => Standing::Evaluated {
            eval,
            overridden_by: overridden.map(|o| o.actor),
            held: held.as_ref().map(super::controls::hold_note),
        },
    };
    Ok(Member {
        number: pr.number,
        url,
        standing,
    })
}
