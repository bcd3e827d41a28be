//! Owners' approval: which counted files still lack an approval from one of their owners
//! (CODEOWNERS, under `reviews.owners: codeowners`) or from the people a rule names
//! (`reviews.rules`), and whom to ask.
//!
//! An owner counts whatever their permission on the repository: what matters is that the
//! right person looked, and GitHub's own rule, which ignores owners without write access,
//! is the reason people cannot use it.
use super::codeowners::{CodeOwners, Owner};
use super::config::{OwnersSource, ReviewsConfig};
use super::globs::PathGlobs;
use crate::domain::ForgeKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the forge said about a team (GitHub) or group (GitLab) an owner names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Membership {
    Members {
        logins: Vec<String>,
    },
    /// No such team or group, or one smallbatch cannot see. On GitLab a single name
    /// (`@alice`) that is no group is a user.
    NotFound,
    /// Its members may not be read.
    Forbidden,
}

/// The teams and groups looked up, by handle (case-insensitive, as both forges compare).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Teams(BTreeMap<String, Membership>);

impl Teams {
    pub fn insert(&mut self, handle: &str, membership: Membership) {
        self.0.insert(handle.to_lowercase(), membership);
    }

    pub fn get(&self, handle: &str) -> Option<&Membership> {
        self.0.get(&handle.to_lowercase())
    }

    /// Whether `login` is `owner` or a member of it.
    fn counts(&self, owner: &Owner, login: &str) -> bool {
        let Owner::Handle(handle) = owner else {
            return false;
        };
        handle.eq_ignore_ascii_case(login)
            || matches!(self.get(handle), Some(Membership::Members { logins })
                if logins.iter().any(|m| m.eq_ignore_ascii_case(login)))
    }

    /// Why an owner's approvals cannot be counted, when they cannot.
    fn unresolved(&self, owner: &Owner) -> Option<Why> {
        match owner {
            Owner::Email(_) => Some(Why::Email),
            Owner::Handle(handle) => match self.get(handle) {
                Some(Membership::Forbidden) => Some(Why::Forbidden),
                // A single name that is no group is a user (GitLab), never looked up (GitHub).
                Some(Membership::NotFound) | None if owner.is_team() => Some(Why::NotFound),
                _ => None,
            },
        }
    }
}

/// Where a requirement comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Codeowners {
        file: String,
        /// The GitLab section.
        section: Option<String>,
        /// The deciding lines, 1-based.
        lines: Vec<usize>,
    },
    /// `reviews.rules[index]`.
    Rule { index: usize },
}

/// Why an owner's approvals cannot count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The team or group was not found, or cannot be seen.
    NotFound,
    /// Its members may not be read.
    Forbidden,
    /// Approvals carry usernames, never email addresses.
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub owner: Owner,
    pub why: Why,
}

/// Files that need approvals from the same people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerGroup {
    pub source: Source,
    pub paths: Vec<String>,
    /// Whose approvals count; empty for a rule that names nobody: anyone's.
    pub owners: Vec<Owner>,
    pub need: u32,
    /// The counted approvers who count here.
    pub approved_by: Vec<String>,
    /// Whom to ask: the owners, minus the author and those who approved already.
    pub ask: Vec<Owner>,
    pub unresolved: Vec<Unresolved>,
}

impl OwnerGroup {
    pub fn waiting(&self) -> bool {
        (self.approved_by.len() as u64) < u64::from(self.need)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnersOutcome {
    /// Their words for teams and permissions.
    #[serde(skip)]
    pub forge: ForgeKind,
    pub groups: Vec<OwnerGroup>,
}

impl Default for OwnersOutcome {
    fn default() -> Self {
        Self {
            forge: ForgeKind::GitHub,
            groups: Vec::new(),
        }
    }
}

impl OwnersOutcome {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn waiting(&self) -> impl Iterator<Item = &OwnerGroup> {
        self.groups.iter().filter(|g| g.waiting())
    }

    /// Distinct paths still waiting for an owner.
    pub fn waiting_paths(&self) -> u64 {
        let mut paths: Vec<&str> = self
            .waiting()
            .flat_map(|g| g.paths.iter().map(String::as_str))
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths.len() as u64
    }

    /// Owners whose approvals cannot count, each once.
    pub fn unresolved(&self) -> Vec<&Unresolved> {
        let mut seen: Vec<&Unresolved> = Vec::new();
        for u in self.groups.iter().flat_map(|g| &g.unresolved) {
            if !seen.iter().any(|s| s.owner == u.owner) {
                seen.push(u);
            }
        }
        seen
    }
}

/// The people whose approvals `paths` (the counted files, in order) need, and whether
/// `approvers` (counted approvals: not the author's, not bots', not stale) give them.
pub fn check(
    paths: &[&str],
    author: &str,
    approvers: &[String],
    config: &ReviewsConfig,
    codeowners: Option<&CodeOwners>,
    teams: &Teams,
    forge: ForgeKind,
) -> OwnersOutcome {
    let mut groups = requirements(paths, config, codeowners, forge);
    for g in &mut groups {
        g.approved_by = approvers
            .iter()
            .filter(|a| g.owners.is_empty() || g.owners.iter().any(|o| teams.counts(o, a)))
            .cloned()
            .collect();
        let is =
            |o: &Owner, login: &str| matches!(o, Owner::Handle(h) if h.eq_ignore_ascii_case(login));
        g.ask = g
            .owners
            .iter()
            .filter(|o| !is(o, author) && !g.approved_by.iter().any(|a| is(o, a)))
            .cloned()
            .collect();
        g.unresolved = g
            .owners
            .iter()
            .filter_map(|o| {
                teams.unresolved(o).map(|why| Unresolved {
                    owner: o.clone(),
                    why,
                })
            })
            .collect();
    }
    OwnersOutcome { forge, groups }
}

/// The handles whose members may count: teams, and on GitLab any name (a group may have
/// a single name there). The shell looks them up before [`check`].
pub fn handles_to_resolve(
    paths: &[&str],
    config: &ReviewsConfig,
    codeowners: Option<&CodeOwners>,
    forge: ForgeKind,
) -> Vec<String> {
    let mut handles: Vec<String> = Vec::new();
    for g in requirements(paths, config, codeowners, forge) {
        for owner in &g.owners {
            if let Owner::Handle(h) = owner {
                let lookup = forge == ForgeKind::GitLab || owner.is_team();
                if lookup && !handles.iter().any(|x| x.eq_ignore_ascii_case(h)) {
                    handles.push(h.clone());
                }
            }
        }
    }
    handles
}

/// The groups of files and whom they need, before looking at approvals: CODEOWNERS'
/// (grouped by the same owners in the same section), then each rule that applies.
fn requirements(
    paths: &[&str],
    config: &ReviewsConfig,
    codeowners: Option<&CodeOwners>,
    forge: ForgeKind,
) -> Vec<OwnerGroup> {
    let group = |source, paths, owners, need| OwnerGroup {
        source,
        paths,
        owners,
        need,
        approved_by: Vec::new(),
        ask: Vec::new(),
        unresolved: Vec::new(),
    };
    let mut groups: Vec<OwnerGroup> = Vec::new();
    if let (OwnersSource::Codeowners, Some(codeowners)) = (config.owners, codeowners) {
        for path in paths {
            for o in codeowners.owners_of(path) {
                let same = groups.iter_mut().find(|g| {
                    matches!(&g.source, Source::Codeowners { section, .. } if section.as_deref() == o.section)
                        && g.owners == o.owners
                        && g.need == o.approvals
                });
                match same {
                    Some(g) => {
                        if let Source::Codeowners { lines, .. } = &mut g.source {
                            if !lines.contains(&o.line) {
                                lines.push(o.line);
                                lines.sort_unstable();
                            }
                        }
                        g.paths.push(path.to_string());
                    }
                    None => groups.push(group(
                        Source::Codeowners {
                            file: codeowners.file().to_owned(),
                            section: o.section.map(str::to_owned),
                            lines: vec![o.line],
                        },
                        vec![path.to_string()],
                        o.owners.to_vec(),
                        o.approvals,
                    )),
                }
            }
        }
    }
    for (index, rule) in config.rules.iter().enumerate() {
        // Validated with the policy; a rule that does not compile applies nowhere.
        let Ok(globs) = PathGlobs::new(&rule.paths) else {
            continue;
        };
        let matched: Vec<String> = paths
            .iter()
            .filter(|p| globs.matching(p).is_some())
            .map(|p| p.to_string())
            .collect();
        if !matched.is_empty() {
            groups.push(group(
                Source::Rule { index },
                matched,
                rule.owners(forge),
                rule.required_approvals,
            ));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::ReviewRule;

    fn codeowners(text: &str) -> CodeOwners {
        CodeOwners::parse(".github/CODEOWNERS", text, ForgeKind::GitHub).unwrap()
    }

    fn owned() -> ReviewsConfig {
        ReviewsConfig {
            owners: OwnersSource::Codeowners,
            ..ReviewsConfig::default()
        }
    }

    fn logins(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn handles(v: &[&str]) -> Vec<Owner> {
        v.iter().map(|s| Owner::Handle(s.to_string())).collect()
    }

    const FILE: &str = "* @lead\n/src/billing/ @carol @acme/billing\n*.md @docs\n";
    const PATHS: &[&str] = &["src/billing/a.rs", "src/billing/b.rs", "README.md", "x.rs"];

    fn run(approvers: &[&str], teams: &Teams) -> OwnersOutcome {
        check(
            PATHS,
            "author",
            &logins(approvers),
            &owned(),
            Some(&codeowners(FILE)),
            teams,
            ForgeKind::GitHub,
        )
    }

    #[test]
    fn files_are_grouped_by_their_owners_and_wait_for_one_of_them() {
        let o = run(&["bob"], &Teams::default());
        let summary: Vec<(Vec<String>, Vec<Owner>, bool)> = o
            .groups
            .iter()
            .map(|g| (g.paths.clone(), g.owners.clone(), g.waiting()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    logins(&["src/billing/a.rs", "src/billing/b.rs"]),
                    handles(&["carol", "acme/billing"]),
                    true
                ),
                (logins(&["README.md"]), handles(&["docs"]), true),
                (logins(&["x.rs"]), handles(&["lead"]), true),
            ]
        );
        assert_eq!(o.waiting_paths(), 4);
        assert_eq!(
            o.groups[0].source,
            Source::Codeowners {
                file: ".github/CODEOWNERS".into(),
                section: None,
                lines: vec![2]
            }
        );
    }

    #[test]
    fn an_owner_or_a_team_members_approval_satisfies_the_group() {
        let mut teams = Teams::default();
        teams.insert(
            "Acme/Billing",
            Membership::Members {
                logins: logins(&["Dave"]),
            },
        );
        let o = run(&["dave", "LEAD"], &teams);
        assert_eq!(o.groups[0].approved_by, logins(&["dave"]));
        assert!(!o.groups[0].waiting());
        assert_eq!(o.groups[2].approved_by, logins(&["LEAD"]));
        assert_eq!(o.waiting_paths(), 1);
        assert!(o.unresolved().is_empty());
    }

    #[test]
    fn unresolvable_teams_and_emails_are_reported_and_never_pass() {
        let mut teams = Teams::default();
        teams.insert("acme/billing", Membership::NotFound);
        let file = "* jane@example.com\n/src/billing/ @acme/billing @acme/ops\n";
        let mut more = teams.clone();
        more.insert("acme/ops", Membership::Forbidden);
        let o = check(
            PATHS,
            "author",
            &logins(&["bob"]),
            &owned(),
            Some(&codeowners(file)),
            &more,
            ForgeKind::GitHub,
        );
        assert!(o.groups.iter().all(OwnerGroup::waiting));
        let unresolved: Vec<(String, Why)> = o
            .unresolved()
            .iter()
            .map(|u| (u.owner.to_string(), u.why))
            .collect();
        assert_eq!(
            unresolved,
            [
                ("@acme/billing".into(), Why::NotFound),
                ("@acme/ops".into(), Why::Forbidden),
                ("jane@example.com".into(), Why::Email),
            ]
        );
    }

    #[test]
    fn whom_to_ask_leaves_out_the_author_and_who_approved() {
        let file = "* @author @carol @erin @acme/core\n";
        let mut config = owned();
        config.rules.push(ReviewRule {
            paths: vec!["*.rs".into()],
            required_approvals: 2,
            from: vec!["carol".into(), "erin".into()],
        });
        let o = check(
            &["a.rs"],
            "author",
            &logins(&["carol"]),
            &config,
            Some(&codeowners(file)),
            &Teams::default(),
            ForgeKind::GitHub,
        );
        assert!(!o.groups[0].waiting());
        let rule = &o.groups[1];
        assert_eq!(rule.source, Source::Rule { index: 0 });
        assert_eq!(
            (rule.need, rule.approved_by.clone()),
            (2, logins(&["carol"]))
        );
        assert_eq!(rule.ask, handles(&["erin"]));
        assert!(rule.waiting());
    }

    #[test]
    fn a_rule_without_from_takes_anyones_approvals_and_applies_only_to_its_paths() {
        let mut config = ReviewsConfig::default();
        config.rules.push(ReviewRule {
            paths: vec!["db/**".into()],
            required_approvals: 2,
            from: vec![],
        });
        let run = |paths: &[&str], approvers: &[&str]| {
            check(
                paths,
                "author",
                &logins(approvers),
                &config,
                None,
                &Teams::default(),
                ForgeKind::GitLab,
            )
        };
        assert!(run(&["src/a.rs"], &["bob"]).is_empty());
        assert!(run(&["db/a.sql"], &["bob"]).groups[0].waiting());
        assert!(!run(&["db/a.sql"], &["bob", "carol"]).groups[0].waiting());
    }

    #[test]
    fn codeowners_is_read_only_when_asked_for() {
        let o = check(
            PATHS,
            "author",
            &[],
            &ReviewsConfig::default(),
            Some(&codeowners(FILE)),
            &Teams::default(),
            ForgeKind::GitHub,
        );
        assert!(o.is_empty());
    }

    #[test]
    fn teams_are_looked_up_on_github_and_every_name_on_gitlab() {
        let file = "* @lead @acme/core\n";
        let github = codeowners(file);
        assert_eq!(
            handles_to_resolve(&["a"], &owned(), Some(&github), ForgeKind::GitHub),
            ["acme/core"]
        );
        let gitlab = CodeOwners::parse("CODEOWNERS", file, ForgeKind::GitLab).unwrap();
        assert_eq!(
            handles_to_resolve(&["a"], &owned(), Some(&gitlab), ForgeKind::GitLab),
            ["lead", "acme/core"]
        );
        // On GitLab a single name that is no group is a user, and nothing is unresolved.
        let mut teams = Teams::default();
        teams.insert("lead", Membership::NotFound);
        teams.insert(
            "acme/core",
            Membership::Members {
                logins: logins(&["x"]),
            },
        );
        let o = check(
            &["a"],
            "author",
            &logins(&["lead"]),
            &owned(),
            Some(&gitlab),
            &teams,
            ForgeKind::GitLab,
        );
        assert!(o.unresolved().is_empty());
        assert!(!o.groups[0].waiting());
    }
}
