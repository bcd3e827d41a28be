//! What the GitHub and GitLab worlds share, so that a scenario both forges run is written
//! once and run on each through [`on_both_forges!`]. What each forge says in its own
//! words (its API calls, its writes, "pull request" or "merge request") stays with the
//! scenario, passed to it as data.
use super::fake_github::{small_files, FakeFile};
use super::fake_prometheus::FakePrometheus;
use super::sha;
use serde_json::Value;
use smallbatch::store::Store;
use std::fmt::Debug;
use std::time::Duration;

/// Runs the scenarios named, each a function generic over [`World`], once per forge:
/// `name::github` and `name::gitlab`. `name(github_data, gitlab_data)` passes each
/// forge's own words (expressions resolved in the scenario's module).
macro_rules! on_both_forges {
    ($($name:ident $(($github:expr, $gitlab:expr))?),* $(,)?) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn github() {
                super::$name::<$crate::support::github_world::GitHubWorld>($($github)?).await
            }

            #[tokio::test]
            async fn gitlab() {
                super::$name::<$crate::support::gitlab_world::GitLabWorld>($($gitlab)?).await
            }
        }
    )*};
}

/// A ship policy: watch production for 2 minutes, checking the error rate every minute.
pub const SHIP_POLICY: &str = "ship:\n  watch: 2m\n  interval: 1m\n  metrics:\n    - name: error rate\n      query: sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m]))\n      max: 0.01\n";

/// What a user may do in the repository, in neither forge's words.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// GitHub's `read`, GitLab's Reporter.
    Read,
    /// May merge: GitHub's `write`, GitLab's Developer.
    Write,
    /// GitHub's `maintain`, GitLab's Maintainer.
    Maintain,
}

/// A repository with [`SHIP_POLICY`] on its base commit and its people: alice (who
/// authors) and bob may merge, maya maintains, sam may only read.
pub async fn team_world<W: World>() -> W {
    staffed(W::start().await)
}

/// `w` with [`SHIP_POLICY`] and the people of [`team_world`].
pub fn staffed<W: World>(w: W) -> W {
    w.put_policy(SHIP_POLICY);
    staff(&w);
    w
}

/// alice and bob may merge, maya maintains, sam may only read.
pub fn staff<W: World>(w: &W) {
    for (user, role) in [
        ("alice", Role::Write),
        ("bob", Role::Write),
        ("maya", Role::Maintain),
        ("sam", Role::Read),
    ] {
        w.grant(user, role);
    }
}

/// A [`team_world`] with change 7 by alice, small, approved by bob, CI green, gated:
/// ready to ship, nothing left to look at.
pub async fn ready_to_ship<W: World>() -> W {
    ready_to_ship_under::<W>(SHIP_POLICY).await
}

/// [`ready_to_ship`] under the policy `yaml` instead of [`SHIP_POLICY`].
pub async fn ready_to_ship_under<W: World>(yaml: &str) -> W {
    let w = team_world::<W>().await;
    w.put_policy(yaml);
    make_ready(&w, 7, &sha(1)).await;
    w
}

/// A [`team_world`] `w` with change 7 as [`ready_to_ship`] has it.
pub async fn made_ready<W: World>(w: W) -> W {
    make_ready(&w, 7, &sha(1)).await;
    w
}

/// Change `n` by alice at `head`, small, approved by bob, CI green, gated: ready to ship,
/// nothing left to look at.
pub async fn make_ready<W: World>(w: &W, n: u64, head: &str) {
    w.ci_passed(head);
    w.open(n, head, small_files()).await;
    // One evaluation at a time, so that every run posts the same verdicts (and the fake
    // hands out the same ids after them).
    w.settle().await;
    w.approve(n, "bob").await;
    w.settle().await;
    w.writes();
}

/// The gate's state, in neither forge's words (GitHub check conclusions, GitLab statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// `success`.
    Passed,
    /// GitHub's `action_required`, GitLab's `pending`.
    Waiting,
    /// `failure`, `failed`.
    Failed,
}

/// A delivery as the forge sends it: its event name and payload.
pub struct Webhook {
    pub event: &'static str,
    pub payload: Value,
}

/// A real smallbatch process wired to one fake forge. The verbs (`open`, `push`,
/// `approve`, `comment`) change the fake and deliver the webhook the forge sends for
/// that change in one call, so the two cannot disagree; each asserts the delivery was
/// acknowledged and returns without waiting for the work it queued ([`World::settle`]).
#[allow(async_fn_in_trait)]
pub trait World: Sized {
    /// A write the fake forge saw, in its own terms.
    type Write: Debug + PartialEq + Clone;

    async fn start() -> Self {
        Self::start_with(FakePrometheus::start().await).await
    }
    /// A process reading telemetry from `prom` (a fake, or a real Prometheus).
    async fn start_with(prom: FakePrometheus) -> Self;
    /// As [`World::start`], with the web pages served as `ui` says.
    async fn start_with_pages(ui: smallbatch::settings::UiSettings) -> Self;
    /// A URL of this process.
    fn base_url(&self, path: &str) -> String;
    /// The path of change `n`'s web page.
    fn page_path(&self, n: u64) -> String;
    /// Stops this process and starts another on the same database, fake forge and clock.
    async fn restart(self) -> Self;
    async fn stop(&mut self);
    fn store(&self) -> &Store;
    /// A second process on this world's database that only sweeps, as a replica would
    /// (the world's own has the sweep disabled).
    fn sweeper(&self) -> smallbatch::app::App;
    /// The address of `path` on this process's server.
    fn server_url(&self, path: &str) -> String;
    fn prom(&self) -> &FakePrometheus;

    /// The webhook announcing change `n` as it is in the fake now, opened.
    fn opened_hook(&self, n: u64) -> Webhook;
    /// Sends `hook` as the forge does (signed, or with its token); returns (status, body).
    async fn send(&self, hook: &Webhook) -> (u16, String);

    /// Puts change `n` by alice at `head` with `files` in the fake, announcing it to
    /// no one (as one opened while the bot was down).
    fn add(&self, n: u64, head: &str, files: Vec<FakeFile>);
    /// alice opens change `n` at `head` with `files`.
    async fn open(&self, n: u64, head: &str, files: Vec<FakeFile>) {
        self.add(n, head, files);
        acknowledged(self.send(&self.opened_hook(n)).await);
    }
    /// Change `n` gets a new head with `files`.
    async fn push(&self, n: u64, head: &str, files: Vec<FakeFile>);
    /// `user` approves change `n`.
    async fn approve(&self, n: u64, user: &str);
    /// `user`'s approval of change `n` no longer counts (dismissed, or taken back).
    async fn withdraw_approval(&self, n: u64, user: &str);
    /// Change `n`, titled `title` and described by `body`, is merged without smallbatch
    /// (the forge's merge button).
    async fn merged_by_hand(&self, n: u64, title: &str, body: &str);
    /// `user` posts comment `id` saying `body` on change `n`.
    async fn comment(&self, n: u64, id: u64, user: &str, body: &str);
    /// The team's deployment of change `n`'s merge to production succeeded.
    async fn deployed(&self, n: u64) {
        self.deployed_to(n, "production").await
    }
    /// The team's deployment of change `n`'s merge to `environment` succeeded.
    async fn deployed_to(&self, n: u64, environment: &str);
    /// The same, by the CD job GitLab runs (a CI deployment, which a rollback runs
    /// again); on GitHub the team's CD is not ours to tell apart.
    async fn ci_deployed(&self, n: u64) {
        self.deployed(n).await
    }
    /// The rollback that redeploys change `n`'s merge to production reports `state`
    /// (`success`, `failure`), in the forge's own words for it.
    async fn rollback_deployed(&self, n: u64, state: &str);
    /// The deployment of change `n`'s merge to production succeeded on the forge, but
    /// its webhook never reached us.
    fn deployed_unannounced(&self, n: u64);
    /// The rollback to change `n`'s merge reports `state` on the forge, but its webhook
    /// never reached us.
    fn rollback_deployed_unannounced(&self, n: u64, state: &str);

    /// The repository's policy file on the base commit says `yaml`.
    fn put_policy(&self, yaml: &str);
    /// A policy change merged: `main` moves to a new commit whose policy file says `yaml`.
    fn policy_changed_on_main(&self, yaml: &str);
    /// CODEOWNERS on the base commit says `text` (in `.github/` or `.gitlab/`).
    fn put_codeowners(&self, text: &str);
    /// The team (GitHub, `org/team`) or group (GitLab) `handle` has `members`.
    fn put_team(&self, handle: &str, members: &[&str]);
    /// `user` has `role` in the repository.
    fn grant(&self, user: &str, role: Role);
    /// CI passed on `head`.
    fn ci_passed(&self, head: &str);
    /// Change `n` is gone from the forge (deleted, or moved to another project).
    fn forget(&self, n: u64);

    /// Puts change `n` by alice at `head`, from branch `feature-<n>` into `base`, with
    /// `files` (its diff against `base`), announcing it to no one.
    fn add_on(&self, n: u64, head: &str, base: &str, files: Vec<FakeFile>);
    /// Change `n` is now by `login` (a bot account on GitHub when it ends in `[bot]`).
    fn set_author(&self, n: u64, login: &str);
    /// Change `n` is retargeted onto `base`, where its diff is `files`.
    async fn retarget(&self, n: u64, base: &str, files: Vec<FakeFile>);
    /// Someone merges change `n` on the forge (not through `/ship`).
    async fn merged(&self, n: u64);
    /// Someone adds label `name` to change `n`.
    async fn label(&self, n: u64, name: &str);
    /// Change `n` is marked a draft, or ready for review.
    async fn set_draft(&self, n: u64, draft: bool);

    /// The gate on `head` as the forge shows it now, and its one-line title.
    fn gate(&self, head: &str) -> (GateState, String);
    /// Change `n`'s labels.
    fn labels(&self, n: u64) -> Vec<String>;
    /// The gate's long text on `head` where the forge has a place for it (GitHub's
    /// check summary; GitLab links to the merge request instead).
    fn gate_summary(&self, head: &str) -> Option<String>;

    /// Waits until every job due within 30 s has run.
    async fn settle(&self);
    /// Moves the store's clock on without waiting for what falls due.
    fn advance_clock(&self, by: Duration);
    /// Moves the store's clock on, so scheduled steps fall due, and waits for them.
    async fn advance(&self, by: Duration) {
        self.advance_clock(by);
        self.settle().await;
    }

    /// The writes since the last look, oldest first.
    fn writes(&self) -> Vec<Self::Write>;
    /// The calls since the last look (`METHOD /path?query`), oldest first.
    fn take_calls(&self) -> Vec<String>;
    /// Fails on any call the fake forge did not expect, and on writes no test looked at.
    fn assert_quiet(&self);
    /// The bot's comments on change `n`, oldest first.
    fn bot_comments(&self, n: u64) -> Vec<String>;

    /// Posts a comment and waits for everything it caused.
    async fn say(&self, n: u64, id: u64, user: &str, body: &str) {
        self.comment(n, id, user, body).await;
        self.settle().await;
    }
}

/// Asserts a delivery was acknowledged: 202, whatever it queued.
pub fn acknowledged((status, body): (u16, String)) {
    assert_eq!(status, 202, "{body}");
}
