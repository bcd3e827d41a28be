//! What the deploy controls look at for one `/ship`, read from the store: the change's
//! hold, the environment's lock and running ship, and the commit's ships to the
//! environments before this one.
use super::{decode, Ctx, JobError};
use crate::domain::{PrRef, PrSnapshot, RepoRef};
use crate::policy::config::RepoConfig;
use crate::ship::controls::{Controls, OrderOverride, RunningShip};
use crate::ship::record::{ShipRecord, Stage};
use crate::worker::controls::{hold_note, lock_note};

/// How far back the ships of a repository are looked through.
const SHIPS_LOOKED_BACK: time::Duration = time::Duration::days(90);

/// `/ship` as asked.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The command as written, without `--noop`: what the dry run says it would do.
    pub command: &'a str,
    pub environment: Option<&'a str>,
    pub noop: bool,
    pub order_override: Option<&'a str>,
}

/// The repository's ships of the last 90 days, oldest first, with their ids.
pub struct RepoShips {
    pub all: Vec<(i64, ShipRecord)>,
}

impl RepoShips {
    /// The ship that merged `pr`, if one did.
    pub fn merged(&self, pr: &PrRef) -> Option<&ShipRecord> {
        self.of(pr).find(|r| r.merge_sha.is_some())
    }

    /// The latest ship of `pr` to `environment` that got as far as a merge commit.
    pub fn of_change_to(&self, pr: &PrRef, environment: &str) -> Option<&ShipRecord> {
        self.of(pr)
            .find(|r| r.merge_sha.is_some() && r.environment == environment)
    }

    /// `pr`'s ships, newest first.
    fn of(&self, pr: &PrRef) -> impl Iterator<Item = &ShipRecord> {
        let pr = pr.clone();
        self.all
            .iter()
            .rev()
            .map(|(_, r)| r)
            .filter(move |r| r.pr == pr)
    }

    /// Where the latest ship of `head` to `environment` got to, if there was one.
    fn stage_of(&self, head: &str, environment: &str) -> Option<Stage> {
        self.all
            .iter()
            .rev()
            .map(|(_, r)| r)
            .find(|r| r.head_sha.as_str() == head && r.environment == environment)
            .map(|r| r.stage)
    }
}

pub async fn repo_ships(ctx: &Ctx, repo: &RepoRef) -> Result<RepoShips, JobError> {
    let since = ctx.store.now().await?.saturating_sub(SHIPS_LOOKED_BACK);
    let all = ctx
        .store
        .ships(Some(repo), since)
        .await?
        .into_iter()
        .filter_map(|s| match decode(&s.data) {
            Ok(record) => Some((s.id, record)),
            Err(e) => {
                tracing::warn!(ship = s.id, error = %e, "unreadable ship record skipped");
                None
            }
        })
        .collect();
    Ok(RepoShips { all })
}

/// The controls on shipping `snap`'s head to `environment` for `user`.
#[allow(clippy::too_many_arguments)]
pub async fn gather(
    ctx: &Ctx,
    pr: &PrRef,
    snap: &PrSnapshot,
    environment: &str,
    user: &str,
    config: &RepoConfig,
    order_override: Option<&str>,
    ships: &RepoShips,
) -> Result<Controls, JobError> {
    let hold = ctx.store.hold_on(pr).await?.as_ref().map(hold_note);
    let lock = ctx
        .store
        .environment_lock(&pr.repo, environment)
        .await?
        .as_ref()
        .map(lock_note);
    let running = match ctx.store.running_ship_to(&pr.repo, environment).await? {
        Some(stored) => {
            let record = decode(&stored.data)?;
            Some(RunningShip {
                change: record.pr.number.0,
                requested_by: record.requested_by,
                stage: record.stage,
            })
        }
        None => None,
    };
    let head = snap.head_sha.as_str();
    let earlier = config
        .ship
        .environments_before(environment)
        .iter()
        .map(|e| (e.clone(), ships.stage_of(head, e)))
        .collect();
    Ok(Controls {
        environment: environment.to_owned(),
        requested_by: user.to_owned(),
        head: head.to_owned(),
        hold,
        lock,
        running,
        earlier,
        order_override: order_override.map(|reason| OrderOverride {
            by: user.to_owned(),
            reason: reason.to_owned(),
        }),
    })
}
