//! Deploy controls around `/ship`: locks on environments (`/lock`), holds on changes
//! (`/hold`), and the order of `ship.environments`. What the shell read from the store
//! comes in as [`Controls`]; what must hold comes out as checklist items, beside
//! `/ship`'s own preconditions.
pub mod noop;
pub mod text;

use super::preconditions::Item;
use super::record::Stage;
use super::text::{change_ref, short, stage_words};
use crate::domain::ForgeKind;
use crate::policy::config::ShipConfig;
use crate::policy::hold::HoldNote;

/// Someone's lock on an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockNote {
    pub environment: String,
    pub holder: String,
    pub reason: Option<String>,
    /// When it was taken (RFC 3339).
    pub at: String,
}

impl LockNote {
    /// `@bob (db migration) since 2026-11-27T10:00:00Z`.
    pub fn who_why_since(&self) -> String {
        match &self.reason {
            Some(reason) => format!("@{} ({}) since {}", self.holder, reason, self.at),
            None => format!("@{} since {}", self.holder, self.at),
        }
    }
}

/// Another change's ship to the same environment, still running: it holds the
/// environment until its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningShip {
    pub change: u64,
    pub requested_by: String,
    pub stage: Stage,
}

/// Who skipped the environment order, and why (`/ship <env> --override <reason>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOverride {
    pub by: String,
    pub reason: String,
}

/// Everything the controls look at for one `/ship` of one commit to one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub environment: String,
    pub requested_by: String,
    /// The commit being shipped (the change's head).
    pub head: String,
    pub hold: Option<HoldNote>,
    pub lock: Option<LockNote>,
    pub running: Option<RunningShip>,
    /// Each environment before this one in `ship.environments`, with the stage of the
    /// latest ship of this commit there (`None`: never shipped there).
    pub earlier: Vec<(String, Option<Stage>)>,
    pub order_override: Option<OrderOverride>,
}

impl Controls {
    /// The earlier environments this commit has not shipped to healthy: what an order
    /// override would skip.
    pub fn order_gaps(&self) -> Vec<&str> {
        self.earlier
            .iter()
            .filter(|(_, stage)| *stage != Some(Stage::Healthy))
            .map(|(environment, _)| environment.as_str())
            .collect()
    }
}

/// Splits `/lock`'s arguments: the first word is the environment when it names one of
/// the repository's (`ship.environments`, or `ship.environment` when there is no list);
/// otherwise the default environment is locked and every word is the reason.
pub fn lock_args(args: Option<&str>, ship: &ShipConfig) -> (String, Option<String>) {
    let args = args.unwrap_or("").trim();
    let (first, rest) = args.split_once(' ').unwrap_or((args, ""));
    let known = if ship.environments.is_empty() {
        first == ship.environment
    } else {
        ship.environments.iter().any(|e| e == first)
    };
    let reason = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
    if known && !first.is_empty() {
        (first.to_owned(), reason(rest))
    } else {
        (ship.environment.clone(), reason(args))
    }
}

/// The controls' checklist items, in `forge`'s words.
pub fn checklist(c: &Controls, forge: ForgeKind) -> Vec<Item> {
    let change = forge.change_noun();
    let env = &c.environment;
    let mut out = vec![Item::new(
        c.hold.is_none(),
        format!("No one holds the {change}."),
        match &c.hold {
            Some(hold) => format!(
                "No one holds the {change} (held by {}; `/unhold` releases it).",
                hold.who_and_why()
            ),
            None => String::new(),
        },
    )];
    out.push(match &c.lock {
        None => Item::new(true, format!("**{env}** is not locked."), ""),
        Some(lock) if lock.holder.eq_ignore_ascii_case(&c.requested_by) => Item::new(
            true,
            format!(
                "**{env}** is locked by you (@{}), so you may ship to it.",
                lock.holder
            ),
            "",
        ),
        Some(lock) => Item::new(
            false,
            "",
            format!(
                "**{env}** is not locked by someone else (locked by {}; `/unlock {env}` \
                 releases it).",
                lock.who_why_since()
            ),
        ),
    });
    out.push(running_item(c.running.as_ref(), env, forge));
    let head = short(&c.head);
    for (earlier, stage) in &c.earlier {
        let item = if *stage == Some(Stage::Healthy) {
            Item::new(
                true,
                format!("`{head}` shipped to **{earlier}** first and operated as designed."),
                "",
            )
        } else if let Some(skip) = &c.order_override {
            Item::new(
                true,
                format!(
                    "`{head}` skips **{earlier}** ({}), by @{}'s override: {}.",
                    earlier_state(*stage),
                    skip.by,
                    skip.reason
                ),
                "",
            )
        } else {
            Item::new(
                false,
                "",
                format!(
                    "`{head}` shipped to **{earlier}** first and operated as designed ({}). Ship \
                     it there with `/ship {earlier}`, or skip the order with \
                     `/ship {env} --override <reason>`.",
                    earlier_state(*stage)
                ),
            )
        };
        out.push(item);
    }
    out
}

/// Whether another change's ship holds `environment`.
pub fn running_item(running: Option<&RunningShip>, environment: &str, forge: ForgeKind) -> Item {
    let change = forge.change_noun();
    match running {
        None => Item::new(
            true,
            format!("No other {change} is being shipped to **{environment}**."),
            "",
        ),
        Some(running) => Item::new(
            false,
            "",
            format!(
                "No other {change} is being shipped to **{environment}** ({}, shipped by @{}, is \
                 still in progress: {}).",
                change_ref(forge, running.change),
                running.requested_by,
                // A regressed ship holds its environment until it is restored.
                match running.stage {
                    Stage::Regressed => "regressed, being rolled back or reverted",
                    stage => stage_words(stage),
                }
            ),
        ),
    }
}

/// Where the commit stands in an earlier environment, for the order's items.
fn earlier_state(stage: Option<Stage>) -> String {
    match stage {
        None => "it has not been shipped there".to_owned(),
        Some(stage) if !stage.finished() => {
            format!("it is still being shipped there: {}", stage_words(stage))
        }
        Some(stage) => format!("its ship there ended {}", stage_words(stage)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls() -> Controls {
        Controls {
            environment: "production".into(),
            requested_by: "alice".into(),
            head: "a1b2c3d4e5f6a7b8".into(),
            hold: None,
            lock: None,
            running: None,
            earlier: vec![("staging".into(), Some(Stage::Healthy))],
            order_override: None,
        }
    }

    fn texts(items: &[Item]) -> Vec<(bool, &str)> {
        items.iter().map(|i| (i.met, i.text.as_str())).collect()
    }

    #[test]
    fn nothing_in_the_way() {
        assert_eq!(
            texts(&checklist(&controls(), ForgeKind::GitHub)),
            [
                (true, "No one holds the pull request."),
                (true, "**production** is not locked."),
                (
                    true,
                    "No other pull request is being shipped to **production**."
                ),
                (
                    true,
                    "`a1b2c3d` shipped to **staging** first and operated as designed."
                ),
            ]
        );
    }

    #[test]
    fn a_hold_a_lock_a_running_ship_and_the_order_each_say_who_and_why() {
        let c = Controls {
            hold: Some(HoldNote {
                holder: "maya".into(),
                reason: Some("freeze".into()),
                at: "2026-11-27T09:00:00Z".into(),
            }),
            lock: Some(LockNote {
                environment: "production".into(),
                holder: "bob".into(),
                reason: Some("db migration".into()),
                at: "2026-11-27T10:00:00Z".into(),
            }),
            running: Some(RunningShip {
                change: 12,
                requested_by: "carol".into(),
                stage: Stage::Watching,
            }),
            earlier: vec![
                ("dev".into(), Some(Stage::Healthy)),
                ("staging".into(), None),
                ("canary".into(), Some(Stage::Regressed)),
                ("eu".into(), Some(Stage::Deploying)),
            ],
            ..controls()
        };
        insta::assert_snapshot!(
            crate::ship::text::not_ready("production", &crate::ship::preconditions::unmet(checklist(&c, ForgeKind::GitLab))),
            @r"
        Not shipping to **production** yet. Still needed:

        - [ ] No one holds the merge request (held by @maya (freeze); `/unhold` releases it).
        - [ ] **production** is not locked by someone else (locked by @bob (db migration) since 2026-11-27T10:00:00Z; `/unlock production` releases it).
        - [ ] No other merge request is being shipped to **production** (!12, shipped by @carol, is still in progress: watching production).
        - [ ] `a1b2c3d` shipped to **staging** first and operated as designed (it has not been shipped there). Ship it there with `/ship staging`, or skip the order with `/ship production --override <reason>`.
        - [ ] `a1b2c3d` shipped to **canary** first and operated as designed (its ship there ended regressed). Ship it there with `/ship canary`, or skip the order with `/ship production --override <reason>`.
        - [ ] `a1b2c3d` shipped to **eu** first and operated as designed (it is still being shipped there: deploying). Ship it there with `/ship eu`, or skip the order with `/ship production --override <reason>`.

        Comment `/ship` again once these are done.
        "
        );
    }

    #[test]
    fn a_regressed_ship_holds_its_environment_until_it_is_restored() {
        let regressed = RunningShip {
            change: 12,
            requested_by: "carol".into(),
            stage: Stage::Regressed,
        };
        assert_eq!(
            running_item(Some(&regressed), "production", ForgeKind::GitHub).text,
            "No other pull request is being shipped to **production** (#12, shipped by @carol, \
             is still in progress: regressed, being rolled back or reverted)."
        );
    }

    #[test]
    fn your_own_lock_lets_you_ship_and_an_override_skips_the_order() {
        let c = Controls {
            lock: Some(LockNote {
                environment: "production".into(),
                holder: "alice".into(),
                reason: None,
                at: "2026-11-27T10:00:00Z".into(),
            }),
            earlier: vec![("staging".into(), None)],
            order_override: Some(OrderOverride {
                by: "maya".into(),
                reason: "staging is down".into(),
            }),
            ..controls()
        };
        let items = checklist(&c, ForgeKind::GitHub);
        assert!(items.iter().all(|i| i.met), "{items:#?}");
        assert_eq!(
            items[1].text,
            "**production** is locked by you (@alice), so you may ship to it."
        );
        assert_eq!(
            items[3].text,
            "`a1b2c3d` skips **staging** (it has not been shipped there), by @maya's override: staging is down."
        );
        assert_eq!(c.order_gaps(), ["staging"]);
    }

    #[test]
    fn lock_arguments_start_with_an_environment_only_when_it_is_one() {
        let mut ship = ShipConfig::default();
        assert_eq!(lock_args(None, &ship), ("production".into(), None));
        assert_eq!(
            lock_args(Some("production db migration"), &ship),
            ("production".into(), Some("db migration".into()))
        );
        assert_eq!(
            lock_args(Some("db migration"), &ship),
            ("production".into(), Some("db migration".into()))
        );
        ship.environments = vec!["staging".into(), "production".into()];
        assert_eq!(lock_args(Some("staging"), &ship), ("staging".into(), None));
        assert_eq!(
            lock_args(Some("stagingish test"), &ship),
            ("production".into(), Some("stagingish test".into()))
        );
    }
}
