//! The gate's decision on one PR, before anything is published: shared by the PR's own
//! gate and the merge queue's group check, so both judge a PR the same way.
use super::{owners, repo_policy, Ctx, JobError};
use crate::domain::{Permission, PrRef, PrSnapshot};
use crate::forge::Forge;
use crate::policy::config::StaleReviews;
use crate::policy::{self, ConfigError, Evaluation};
use crate::store::{HoldRecord, OverrideRecord};

pub(super) struct Scored {
    /// The snapshot scored: taken again with unchanged-since commits when the policy's
    /// `reviews.stale: changed` needs them.
    pub snap: PrSnapshot,
    pub outcome: Outcome,
}

pub(super) enum Outcome {
    /// The base branch's policy file cannot be used.
    InvalidPolicy(ConfigError),
    Evaluated {
        /// Boxed: an evaluation is large beside a policy error.
        eval: Box<Evaluation>,
        /// An `/override` of exactly this head; the next push ends it.
        overridden: Option<OverrideRecord>,
        /// A `/hold` on the change, whatever its head: it waits until `/unhold`.
        held: Option<HoldRecord>,
        /// Who besides the holder may release a hold (`commands.override_permission`).
        release_needs: Permission,
    },
}

/// Scores `snap` against the policy of its base branch, and looks up any override of
/// its head and any hold on it.
pub(super) async fn score(
    ctx: &Ctx,
    forge: &dyn Forge,
    pr: &PrRef,
    snap: PrSnapshot,
) -> Result<Scored, JobError> {
    let policy_commit = repo_policy::policy_commit(ctx, forge, &pr.repo, &snap.base_ref).await?;
    let policy = repo_policy::load(ctx, forge, &pr.repo, &policy_commit).await?;
    let config = match policy.config {
        Ok(config) => config,
        Err(err) => {
            return Ok(Scored {
                snap,
                outcome: Outcome::InvalidPolicy(err),
            })
        }
    };
    let stale_if_changed = config.reviews.stale == StaleReviews::Changed;
    let snap = match forge.review_commits() {
        Some(commits) if stale_if_changed && has_earlier_reviews(&snap) => {
            // Read afresh and compared whole, as a snapshot asked for this did before.
            let mut fresh = forge.snapshot(pr).await?;
            fresh.unchanged_since = commits.unchanged_since(pr, &fresh).await?;
            fresh
        }
        _ => snap,
    };
    let mut base = policy.base;
    owners::look_up_teams(ctx, forge, &pr.repo, &snap, &config, &mut base).await?;
    let eval = policy::evaluate(&snap, &config, &base);
    let overridden = ctx.store.override_for(pr, &snap.head_sha).await?;
    let held = ctx.store.hold_on(pr).await?;
    Ok(Scored {
        snap,
        outcome: Outcome::Evaluated {
            eval: Box::new(eval),
            overridden,
            held,
            release_needs: config.commands.override_permission,
        },
    })
}

fn has_earlier_reviews(snap: &PrSnapshot) -> bool {
    snap.reviews
        .iter()
        .any(|r| r.commit.as_ref().is_some_and(|c| *c != snap.head_sha))
}
