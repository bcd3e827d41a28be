//! The replies of `/lock`, `/unlock`, `/hold` and `/unhold`, and of a `/ship` the
//! controls turn away before its checklist, in each forge's words.
use super::LockNote;
use crate::domain::{ForgeKind, Permission};
use crate::policy::command_text::role;
use crate::policy::hold::HoldNote;

/// `/lock` took the lock.
pub fn locked(lock: &LockNote) -> String {
    let env = &lock.environment;
    let why = lock
        .reason
        .as_deref()
        .map_or(String::new(), |r| format!(" ({r})"));
    format!(
        "🔒 @{} locked **{env}**{why}. Until `/unlock {env}`, no one else can `/ship` to it.",
        lock.holder
    )
}

/// `/lock` on an environment someone already holds: the lock stays as it was.
pub fn already_locked(lock: &LockNote, user: &str) -> String {
    let env = &lock.environment;
    if lock.holder.eq_ignore_ascii_case(user) {
        format!(
            "You already hold the lock on **{env}** (since {}). `/unlock {env}` releases it.",
            lock.at
        )
    } else {
        format!(
            "**{env}** is already locked by {}. Ask @{} to `/unlock {env}` when they are done.",
            lock.who_why_since(),
            lock.holder
        )
    }
}

pub fn unlocked(lock: &LockNote, user: &str) -> String {
    let env = &lock.environment;
    if lock.holder.eq_ignore_ascii_case(user) {
        format!("🔓 @{user} unlocked **{env}**. Anyone may `/ship` to it again.")
    } else {
        format!(
            "🔓 @{user} unlocked **{env}**, which {} held. Anyone may `/ship` to it again.",
            lock.who_why_since()
        )
    }
}

pub fn not_locked(environment: &str) -> String {
    format!("**{environment}** is not locked; there is nothing to unlock.")
}

/// `/unlock` of someone else's lock by a user short of the override permission.
pub fn unlock_refused(lock: &LockNote, user: &str, needed: Permission, forge: ForgeKind) -> String {
    let env = &lock.environment;
    format!(
        "Sorry @{user}, **{env}** is locked by {}. Only @{} or someone with the {} or higher \
         may unlock it.",
        lock.who_why_since(),
        lock.holder,
        role(needed, forge)
    )
}

/// `/hold` put the hold on.
pub fn held(hold: &HoldNote, forge: ForgeKind) -> String {
    format!(
        "✋ {} put this {} on hold. Nothing merges it until `/unhold`: not `/ship`, not the \
         merge queue, not `/override`. The smallbatch check waits until then.",
        hold.who_and_why(),
        forge.change_noun()
    )
}

pub fn already_held(hold: &HoldNote, forge: ForgeKind) -> String {
    format!(
        "This {} is already held by {} since {}.",
        forge.change_noun(),
        hold.who_and_why(),
        hold.at
    )
}

pub fn unheld(hold: &HoldNote, user: &str, forge: ForgeKind) -> String {
    let whose = if hold.holder.eq_ignore_ascii_case(user) {
        String::new()
    } else {
        format!(" (held by {})", hold.who_and_why())
    };
    format!(
        "@{user} released the hold on this {}{whose}. The gate decides again.",
        forge.change_noun()
    )
}

pub fn not_held(forge: ForgeKind) -> String {
    format!(
        "This {} is not held; there is nothing to release.",
        forge.change_noun()
    )
}

/// `/unhold` of someone else's hold by a user short of the override permission.
pub fn unhold_refused(hold: &HoldNote, user: &str, needed: Permission, forge: ForgeKind) -> String {
    format!(
        "Sorry @{user}, this {} is held by {}. Only @{} or someone with the {} or higher may \
         release it.",
        forge.change_noun(),
        hold.who_and_why(),
        hold.holder,
        role(needed, forge)
    )
}

/// `/ship <environment>` naming one outside `ship.environments`.
pub fn unknown_environment(environment: &str, environments: &[String]) -> String {
    let listed: Vec<String> = environments.iter().map(|e| format!("`{e}`")).collect();
    format!(
        "Not shipping: `{environment}` is not one of this repository's environments \
         (`ship.environments`: {}).",
        listed.join(", ")
    )
}

/// One of our commands with arguments it cannot take.
pub fn malformed(problem: &str) -> String {
    format!("{problem} Comment `/help` to see the commands.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(reason: Option<&str>) -> LockNote {
        LockNote {
            environment: "production".into(),
            holder: "bob".into(),
            reason: reason.map(str::to_owned),
            at: "2026-11-27T10:00:00Z".into(),
        }
    }

    fn hold() -> HoldNote {
        HoldNote {
            holder: "maya".into(),
            reason: Some("freeze until Monday".into()),
            at: "2026-11-27T09:00:00Z".into(),
        }
    }

    #[test]
    fn lock_replies_name_the_environment_the_holder_and_the_way_out() {
        assert_eq!(
            locked(&lock(Some("db migration"))),
            "🔒 @bob locked **production** (db migration). Until `/unlock production`, no one else can `/ship` to it."
        );
        assert_eq!(
            already_locked(&lock(None), "sam"),
            "**production** is already locked by @bob since 2026-11-27T10:00:00Z. Ask @bob to `/unlock production` when they are done."
        );
        assert_eq!(
            already_locked(&lock(None), "bob"),
            "You already hold the lock on **production** (since 2026-11-27T10:00:00Z). `/unlock production` releases it."
        );
        assert_eq!(
            unlocked(&lock(Some("db migration")), "maya"),
            "🔓 @maya unlocked **production**, which @bob (db migration) since 2026-11-27T10:00:00Z held. Anyone may `/ship` to it again."
        );
        assert_eq!(
            unlock_refused(&lock(None), "sam", Permission::Maintain, ForgeKind::GitLab),
            "Sorry @sam, **production** is locked by @bob since 2026-11-27T10:00:00Z. Only @bob or someone with the Maintainer role or higher may unlock it."
        );
    }

    #[test]
    fn hold_replies_are_in_each_forges_words() {
        assert_eq!(
            held(&hold(), ForgeKind::GitHub),
            "✋ @maya (freeze until Monday) put this pull request on hold. Nothing merges it until `/unhold`: not `/ship`, not the merge queue, not `/override`. The smallbatch check waits until then."
        );
        assert_eq!(
            already_held(&hold(), ForgeKind::GitLab),
            "This merge request is already held by @maya (freeze until Monday) since 2026-11-27T09:00:00Z."
        );
        assert_eq!(
            unheld(&hold(), "alice", ForgeKind::GitLab),
            "@alice released the hold on this merge request (held by @maya (freeze until Monday)). The gate decides again."
        );
        assert_eq!(
            unhold_refused(&hold(), "sam", Permission::Maintain, ForgeKind::GitHub),
            "Sorry @sam, this pull request is held by @maya (freeze until Monday). Only @maya or someone with the `maintain` permission or higher may release it."
        );
        assert!(!not_held(ForgeKind::GitLab).contains("pull request"));
    }

    #[test]
    fn an_unknown_environment_lists_the_known_ones() {
        assert_eq!(
            unknown_environment("qa", &["staging".into(), "production".into()]),
            "Not shipping: `qa` is not one of this repository's environments (`ship.environments`: `staging`, `production`)."
        );
    }
}
