//! `size.paths`: line budgets of their own for some paths (generated migrations, docs).
//! The counted lines and files under a budget are held to it instead of to `size.max_lines`
//! and `size.max_files`, so a 1,500-line generated migration beside a 40-line change neither
//! fails the change nor hides it.
use super::globs::PathGlobs;
use super::size::FileOutcome;
use serde::{Deserialize, Serialize};

/// One entry of `size.paths`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathBudget {
    /// Globs, gitignore-style as in `size.ignore`, of the paths under this budget.
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
    /// The check fails when the counted lines under these paths exceed this.
    #[schemars(range(min = 1))]
    pub max_lines: u64,
}

impl PathBudget {
    /// The key at fault and what is wrong, for `RepoConfig::validate`.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.paths.is_empty() {
            return Err((
                "paths",
                "size.paths: an entry with no `paths` would hold nothing; list its globs".into(),
            ));
        }
        PathGlobs::new(&self.paths).map_err(|e| ("paths", format!("size.paths: {e}")))?;
        if self.max_lines == 0 {
            return Err((
                "max_lines",
                format!("size.paths {}: max_lines must be at least 1", self.name()),
            ));
        }
        Ok(())
    }

    /// How the texts name it: its globs, as written.
    pub fn name(&self) -> String {
        self.paths
            .iter()
            .map(|p| super::text::code(p))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How much of one budget a change uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetUse {
    pub paths: Vec<String>,
    pub max_lines: u64,
    /// Counted lines of the files under it.
    pub lines: u64,
    pub files: u64,
}

impl BudgetUse {
    pub fn over(&self) -> bool {
        self.lines > self.max_lines
    }

    /// Its globs as the texts show them.
    pub fn name(&self) -> String {
        PathBudget {
            paths: self.paths.clone(),
            max_lines: self.max_lines,
        }
        .name()
    }
}

/// Puts each counted file under the first budget whose globs match its path (excluded
/// files are under none), and sums each budget's use. Budgets must have been validated;
/// one whose globs do not compile holds nothing.
pub fn assign(files: &mut [FileOutcome], budgets: &[PathBudget]) -> Vec<BudgetUse> {
    let globs: Vec<PathGlobs> = budgets
        .iter()
        .map(|b| PathGlobs::new(&b.paths).unwrap_or_default())
        .collect();
    let mut uses: Vec<BudgetUse> = budgets
        .iter()
        .map(|b| BudgetUse {
            paths: b.paths.clone(),
            max_lines: b.max_lines,
            lines: 0,
            files: 0,
        })
        .collect();
    for file in files.iter_mut().filter(|f| f.excluded.is_none()) {
        file.budget = globs.iter().position(|g| g.matching(&file.path).is_some());
        if let Some(index) = file.budget {
            uses[index].lines += file.lines;
            uses[index].files += 1;
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::SizeConfig;
    use crate::policy::size::{score, Totals};
    use crate::policy::testing::pr;

    fn budget(paths: &[&str], max_lines: u64) -> PathBudget {
        PathBudget {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            max_lines,
        }
    }

    fn config(budgets: Vec<PathBudget>) -> SizeConfig {
        SizeConfig {
            paths: budgets,
            ..SizeConfig::default()
        }
    }

    #[test]
    fn lines_under_a_budget_count_against_it_not_the_limit() {
        let p = pr()
            .added("db/migrations/0042_accounts.sql", 1500)
            .file("src/accounts.rs", 30, 10)
            .file("docs/guide.md", 200, 0)
            .build();
        let config = config(vec![
            budget(&["db/migrations/**"], 2000),
            budget(&["docs/**"], 1000),
        ]);
        let s = score(&p.files, Totals::of(&p), &config, None);
        assert_eq!((s.lines, s.counted_files), (40, 1));
        assert_eq!(
            s.budgets,
            [
                BudgetUse {
                    paths: vec!["db/migrations/**".into()],
                    max_lines: 2000,
                    lines: 1500,
                    files: 1
                },
                BudgetUse {
                    paths: vec!["docs/**".into()],
                    max_lines: 1000,
                    lines: 200,
                    files: 1
                },
            ]
        );
        assert!(!s.oversized());
        assert_eq!(s.budgets_over().count(), 0);
        let budgets: Vec<Option<usize>> = s.files.iter().map(|f| f.budget).collect();
        assert_eq!(budgets, [Some(0), None, Some(1)]);
    }

    #[test]
    fn the_first_matching_budget_holds_a_file_and_excluded_files_are_in_none() {
        let p = pr()
            .added("docs/api/openapi.json", 30)
            .file("docs/Cargo.lock", 90, 0)
            .build();
        let config = config(vec![budget(&["*.json"], 10), budget(&["docs/"], 100)]);
        let s = score(&p.files, Totals::of(&p), &config, None);
        assert_eq!(s.files[0].budget, Some(0));
        assert_eq!(s.files[1].budget, None);
        assert_eq!((s.budgets[0].lines, s.budgets[1].lines), (30, 0));
        assert_eq!(
            s.budgets_over().map(|b| b.name()).collect::<Vec<_>>(),
            ["`*.json`"]
        );
    }

    const FILE: &str = ".github/smallbatch.yml";

    #[test]
    fn budgets_parse_in_order_and_default_to_none() {
        use crate::policy::RepoConfig;
        assert!(RepoConfig::default().size.paths.is_empty());
        let text = "size:\n  paths:\n    - paths: ['db/migrations/*.sql']\n      max_lines: 2000\n\
                    \x20   - paths: ['docs/**', '*.md']\n      max_lines: 1000\n";
        let c = RepoConfig::parse(FILE, text).unwrap();
        assert_eq!(
            c.size.paths,
            [
                budget(&["db/migrations/*.sql"], 2000),
                budget(&["docs/**", "*.md"], 1000)
            ]
        );
        assert_eq!(c.size.max_lines, 400);
    }

    #[test]
    fn a_bad_budget_is_an_error_at_its_line() {
        use crate::policy::RepoConfig;
        let err = |text: &str| RepoConfig::parse(FILE, text).unwrap_err();
        let e = err("size:\n  paths:\n    - paths: ['a/**']\n      max_lines: 10\n    - paths: ['b/**']\n      max_lines: 0\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(6), "size.paths `b/**`: max_lines must be at least 1")
        );
        let e = err("size:\n  paths:\n    - max_lines: 10\n      paths: []\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(4),
                "size.paths: an entry with no `paths` would hold nothing; list its globs"
            )
        );
        let e = err("size:\n  paths:\n    - paths: ['gen/[ab']\n      max_lines: 10\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(3),
                "size.paths: invalid glob `gen/[ab`: the character class `[` is never closed"
            )
        );
        let e = err("size:\n  paths:\n    - paths: ['a/**']\n");
        assert!(
            e.message.contains("missing field `max_lines`"),
            "{}",
            e.message
        );
        let e =
            err("size:\n  paths:\n    - paths: ['a/**']\n      max_lines: 5\n      max_files: 2\n");
        assert!(
            e.message.contains("unknown field `max_files`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_budget_is_compared_strictly_and_named_by_its_globs() {
        let at = |lines| {
            let p = pr().added("gen/a.sql", lines).build();
            score(
                &p.files,
                Totals::of(&p),
                &config(vec![budget(&["gen/", "*.sql"], 100)]),
                None,
            )
        };
        assert!(!at(100).budgets[0].over());
        assert!(at(101).budgets[0].over());
        assert_eq!(at(1).budgets[0].name(), "`gen/`, `*.sql`");
    }
}
