//! Every reply a chat command produces, built by named constructors.
use super::render::CheckText;
use super::RepoConfig;
use crate::domain::{ForgeKind, Permission};

/// A recorded `/override`, as the check summary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideNote {
    pub actor: String,
    pub reason: String,
    /// When, as the audit log recorded it (RFC 3339).
    pub at: String,
    pub head_sha: String,
    /// The verdict it overrode, in one line.
    pub overridden: String,
}

/// Who may run what, from the repository's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandPermissions {
    pub override_needs: Permission,
    pub ship_needs: Permission,
}

/// A permission as `forge` names it: GitHub's `write` permission, GitLab's Developer role.
pub(crate) fn role(p: Permission, forge: ForgeKind) -> String {
    match forge {
        ForgeKind::GitHub => format!("`{}` permission", p.as_str()),
        ForgeKind::GitLab => format!("{} role", gitlab_role(p)),
    }
}

/// GitLab's role for a permission (the inverse of how the adapter maps access levels).
fn gitlab_role(p: Permission) -> &'static str {
    match p {
        Permission::None => "no",
        Permission::Read => "Guest",
        Permission::Triage => "Reporter",
        Permission::Write => "Developer",
        Permission::Maintain => "Maintainer",
        Permission::Admin => "Owner",
    }
}

/// `/help`: the commands, what each needs, and the policy in force on this repository.
pub fn help_reply(config: &RepoConfig, perms: CommandPermissions, forge: ForgeKind) -> String {
    let size = &config.size;
    let max_files = size
        .max_files
        .map_or("no limit".to_owned(), |n| format!("at most {n}"));
    let tests = if config.tests.required {
        format!(
            "required above {} changed source lines",
            config.tests.min_lines
        )
    } else {
        format!(
            "advised above {} changed source lines",
            config.tests.min_lines
        )
    };
    let mut reply = format!(
        "### smallbatch commands\n\n\
         | command | what it does | who may run it |\n\
         |---|---|---|\n\
         | `/help` | shows this | anyone |\n\
         | `/recheck` | evaluates the gate again | anyone |\n\
         | `/override <reason>` | passes the gate for the current head commit; recorded in an audit log; a new push ends it | {ovr} or higher |\n\
         | `/ship [environment]` | checks the gate and CI, merges, deploys, and watches production | {ship} or higher |\n\
         | `/ship [environment] --noop` | shows the whole checklist and what `/ship` would do; changes nothing | {ship} or higher |\n\
         | `/ship <environment> --override <reason>` | ships out of the environment order; recorded in an audit log | {ovr} or higher |\n\
         | `/rollback [environment]` | redeploys the environment's last deployment judged healthy, now, then opens the revert | {ship} or higher |\n\
         | `/lock [environment] [reason]` | keeps everyone else's `/ship` off the environment until `/unlock` | {ship} or higher |\n\
         | `/unlock [environment]` | releases the lock | whoever locked it, or anyone with the {ovr} or higher |\n\
         | `/hold [reason]` | holds this {change}: the gate waits, and neither `/ship` nor the merge queue merges it | {ship} or higher |\n\
         | `/unhold` | releases the hold | whoever held it, or anyone with the {ovr} or higher |\n\n\
         Commands go on a line of their own; quoted or code-formatted commands are ignored.\n\n\
         ### Policy in force\n\n\
         - Size: fails above {max} lines, advice above {warn} lines; files: {max_files}.\n\
         - Reviews: {approvals} approval(s) from someone other than the author; stale approvals: `{stale}`.\n\
         {owners}\
         - Tests: {tests}.\n\
         - Environments: {environments}.\n",
        change = forge.change_noun(),
        environments = environments(&config.ship),
        ovr = role(perms.override_needs, forge),
        ship = role(perms.ship_needs, forge),
        max = size.max_lines,
        warn = size.warn_lines,
        approvals = config.reviews.required_approvals,
        owners = owners_in_force(&config.reviews),
        stale = match config.reviews.stale {
            super::config::StaleReviews::Keep => "keep",
            super::config::StaleReviews::Dismiss => "dismiss",
            super::config::StaleReviews::Changed => "changed",
        },
    );
    reply.push_str(&budget_and_exemption_lines(config));
    reply
}

/// The policy's path budgets and exemptions, when it has any, one line each.
fn budget_and_exemption_lines(config: &RepoConfig) -> String {
    let mut lines = String::new();
    for budget in &config.size.paths {
        lines.push_str(&format!(
            "- Path budget: {}, at most {} lines.\n",
            budget.name(),
            super::text::count(budget.max_lines)
        ));
    }
    let exempt = &config.exempt;
    let listed = |names: &[String], prefix: &str| {
        names
            .iter()
            .map(|n| format!("{prefix}{}", super::text::code(n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !exempt.authors.is_empty() {
        lines.push_str(&format!(
            "- Size rule skipped for changes by {}{}.\n",
            listed(&exempt.authors, ""),
            if exempt.reviews {
                ", which need no approval either"
            } else {
                ""
            }
        ));
    }
    if !exempt.labels.is_empty() {
        lines.push_str(&format!(
            "- Size rule skipped for changes labelled {}.\n",
            listed(&exempt.labels, "")
        ));
    }
    lines
}

/// The owners' lines of the policy in force, when it names owners.
fn owners_in_force(reviews: &super::config::ReviewsConfig) -> String {
    let mut lines = String::new();
    if reviews.owners == super::config::OwnersSource::Codeowners {
        lines.push_str(
            "- Owners: each changed file needs an approval from one of its owners in CODEOWNERS.\n",
        );
    }
    for (i, rule) in reviews.rules.iter().enumerate() {
        let from = if rule.from.is_empty() {
            "anyone".to_owned()
        } else {
            rule.from.join(", ")
        };
        lines.push_str(&format!(
            "- Rule {i}: `{}` need {} approval(s) from {from}.\n",
            rule.paths.join("`, `"),
            rule.required_approvals
        ));
    }
    lines
}

/// Where `/ship` deploys, and in what order.
fn environments(ship: &super::config::ShipConfig) -> String {
    let default = format!("`/ship` deploys to `{}`", ship.environment);
    if ship.environments.len() < 2 {
        return format!("{default}; any environment may be named");
    }
    let order: Vec<String> = ship.environments.iter().map(|e| format!("`{e}`")).collect();
    format!(
        "{default}; in the order {}, each after a healthy ship of the same commit to the ones before",
        order.join(" → ")
    )
}

/// A `/word` that is not a command.
pub fn unknown_command(name: &str) -> String {
    format!("`/{name}` is not a smallbatch command. Comment `/help` to see the commands.")
}

/// A command the author may not run. Nothing else happens.
pub fn refusal(command: &str, user: &str, needed: Permission, forge: ForgeKind) -> String {
    let (the, place, what) = match forge {
        ForgeKind::GitHub => ("", "on this repository", "permission"),
        ForgeKind::GitLab => ("the ", "in this project", "role"),
    };
    format!(
        "Sorry @{user}, `/{command}` needs {the}{} {place}, which you don't have. \
         Ask someone with that {what} to run it.",
        role(needed, forge)
    )
}

pub fn override_needs_reason() -> String {
    "`/override` needs a reason, for the audit log: for example `/override hotfix for the outage in #123`."
        .to_owned()
}

pub fn override_recorded(note: &OverrideNote) -> String {
    format!(
        "Override recorded: the gate passes for `{}` ({}). It ends with the next push.",
        short(&note.head_sha),
        note.overridden
    )
}

/// The check on an overridden head: passing, with the audit record before the verdict
/// it overrode.
pub fn overridden_check(original: CheckText, note: &OverrideNote) -> CheckText {
    CheckText {
        title: format!("Overridden by @{}: {}", note.actor, original.title),
        summary: format!(
            "### Overridden\n\n\
             @{} overrode the gate for `{}` at {}.\n\n\
             > {}\n\n\
             The gate's own verdict was: {}. The override ends with the next push.\n\n{}",
            note.actor,
            short(&note.head_sha),
            note.at,
            note.reason.replace('\n', " "),
            note.overridden,
            original.summary
        ),
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> OverrideNote {
        OverrideNote {
            actor: "maya".into(),
            reason: "hotfix for the outage".into(),
            at: "2026-11-27T10:00:00Z".into(),
            head_sha: "a1b2c3d4e5f6".into(),
            overridden: "fail: 612 lines, over the 400-line limit".into(),
        }
    }

    #[test]
    fn help_shows_commands_permissions_and_the_active_policy() {
        let perms = CommandPermissions {
            override_needs: Permission::Maintain,
            ship_needs: Permission::Write,
        };
        insta::assert_snapshot!(help_reply(&RepoConfig::default(), perms, ForgeKind::GitHub));
        let mut config = RepoConfig::default();
        config.ship.environments = vec!["staging".into(), "production".into()];
        let gitlab = help_reply(&config, perms, ForgeKind::GitLab);
        let owned = RepoConfig::parse(
            "t.yml",
            "reviews:\n  owners: codeowners\n  rules:\n    - paths: ['db/**', '*.sql']\n      \
             required_approvals: 2\n      from: ['@ann', 'acme/dba']\n",
        )
        .unwrap();
        let text = help_reply(&owned, perms, ForgeKind::GitHub);
        assert!(
            text.contains(
                "- Owners: each changed file needs an approval from one of its owners in CODEOWNERS.\n\
                 - Rule 0: `db/**`, `*.sql` need 2 approval(s) from @ann, acme/dba.\n"
            ),
            "{text}"
        );
        assert!(gitlab.contains("| Maintainer role or higher |"), "{gitlab}");
        assert!(gitlab.contains("holds this merge request"), "{gitlab}");
        assert!(
            gitlab.contains("- Environments: `/ship` deploys to `production`; in the order `staging` → `production`, each after a healthy ship of the same commit to the ones before.\n"),
            "{gitlab}"
        );
        assert!(gitlab.contains("| Developer role or higher |"), "{gitlab}");
    }

    #[test]
    fn help_lists_path_budgets_and_exemptions_when_there_are_any() {
        let perms = CommandPermissions {
            override_needs: Permission::Maintain,
            ship_needs: Permission::Write,
        };
        let config = RepoConfig::parse(
            "t.yml",
            "size:\n  paths:\n    - paths: ['db/migrations/**']\n      max_lines: 2000\n\
             exempt:\n  authors: ['dependabot[bot]']\n  labels: [release-merge]\n  reviews: true\n",
        )
        .unwrap();
        let help = help_reply(&config, perms, ForgeKind::GitHub);
        assert!(
            help.ends_with(
                "- Path budget: `db/migrations/**`, at most 2,000 lines.\n\
                 - Size rule skipped for changes by `dependabot[bot]`, which need no approval either.\n\
                 - Size rule skipped for changes labelled `release-merge`.\n"
            ),
            "{help}"
        );
    }

    #[test]
    fn refusal_names_what_is_needed() {
        assert_eq!(
            refusal("override", "sam", Permission::Maintain, ForgeKind::GitHub),
            "Sorry @sam, `/override` needs `maintain` permission on this repository, which you don't have. Ask someone with that permission to run it."
        );
        assert_eq!(
            refusal("ship", "sam", Permission::Write, ForgeKind::GitLab),
            "Sorry @sam, `/ship` needs the Developer role in this project, which you don't have. Ask someone with that role to run it."
        );
    }

    #[test]
    fn unknown_commands_point_to_help() {
        assert_eq!(
            unknown_command("deploy"),
            "`/deploy` is not a smallbatch command. Comment `/help` to see the commands."
        );
    }

    #[test]
    fn overridden_check_puts_the_audit_record_first() {
        let original = CheckText {
            title: "612 lines: over the 400-line limit".into(),
            summary: "### Failing\n\n- **Too large**".into(),
        };
        let text = overridden_check(original, &note());
        assert_eq!(
            text.title,
            "Overridden by @maya: 612 lines: over the 400-line limit"
        );
        insta::assert_snapshot!(text.summary, @r"
        ### Overridden

        @maya overrode the gate for `a1b2c3d` at 2026-11-27T10:00:00Z.

        > hotfix for the outage

        The gate's own verdict was: fail: 612 lines, over the 400-line limit. The override ends with the next push.

        ### Failing

        - **Too large**
        ");
        assert_eq!(
            override_recorded(&note()),
            "Override recorded: the gate passes for `a1b2c3d` (fail: 612 lines, over the 400-line limit). It ends with the next push."
        );
    }
}
