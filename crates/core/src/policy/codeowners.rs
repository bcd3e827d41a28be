//! CODEOWNERS, read from the base branch: whose approval each file needs.
//!
//! Patterns follow git's rules, matched by the same gitignore-style matcher as
//! `size.ignore` ([`PathGlobs`]): a pattern without a slash matches a name at any depth, one
//! with a slash is anchored at the root, a trailing `/` matches directories only, and a file
//! under a matched directory is matched too. The last matching line wins, and a line with no
//! owners leaves its files unowned. Negation (`!`) is refused, as git refuses it in
//! attributes. Spaces in a path are escaped (`my\ docs/`), and `#` starts a comment.
//!
//! GitLab's `[Section]` headers start sections that are matched on their own: a file needs
//! an approval in every section where it has owners. A header may require more than one
//! approval (`[Section][2]`), name default owners for its lines that name none
//! (`[Section] @owner`), and be optional (`^[Section]`): an optional section asks for no
//! approval. GitHub has no sections: a `[` there starts a pattern, as on GitHub.
use super::config::ConfigError;
use super::globs::PathGlobs;
use crate::domain::ForgeKind;
use serde::Serialize;
use std::fmt;

/// Where CODEOWNERS is looked for on GitHub, in GitHub's order.
pub const GITHUB_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];
/// Where CODEOWNERS is looked for on GitLab, in GitLab's order.
pub const GITLAB_PATHS: [&str; 3] = ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

/// The CODEOWNERS locations on `forge`, in the order the forge itself tries them.
pub fn paths(forge: ForgeKind) -> [&'static str; 3] {
    match forge {
        ForgeKind::GitHub => GITHUB_PATHS,
        ForgeKind::GitLab => GITLAB_PATHS,
    }
}

/// Whether `file` names a CODEOWNERS file (an error about it is explained as such).
pub fn is_codeowners(file: &str) -> bool {
    file.rsplit('/').next() == Some("CODEOWNERS")
}

/// The error when the policy asks for CODEOWNERS (`reviews.owners: codeowners`) and the
/// base branch has none: the policy file's, at its `owners:` line.
pub fn missing(policy_file: &str, policy_text: &str, forge: ForgeKind) -> ConfigError {
    let looked: Vec<String> = paths(forge).iter().map(|p| format!("`{p}`")).collect();
    ConfigError {
        file: policy_file.to_owned(),
        line: super::config::line_of_key(policy_text, "owners"),
        column: None,
        message: format!(
            "reviews.owners is `codeowners`, but the base branch has no CODEOWNERS file \
             (looked for {})",
            looked.join(", ")
        ),
    }
}

/// Someone whose approval counts: a user or a team (`@org/team` on GitHub, a group on
/// GitLab), or an email address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Owner {
    /// `@alice`, `@org/team`, `@group/subgroup`, without the `@`.
    Handle(String),
    /// An address that cannot be matched to an approval: approvals carry logins only.
    Email(String),
}

impl Owner {
    /// An owner as CODEOWNERS writes it (`@alice`, `@org/team`, an email address); an
    /// error saying what to write instead when it is none of them.
    pub fn parse(text: &str, forge: ForgeKind) -> Result<Self, String> {
        let wanted = match forge {
            ForgeKind::GitHub => "write `@user`, `@org/team` or an email address",
            ForgeKind::GitLab => "write `@user`, `@group`, `@group/subgroup` or an email address",
        };
        if text.starts_with("@@") {
            return Err(format!(
                "`{text}`: roles as owners are not supported; name users or groups"
            ));
        }
        if let Some(handle) = text.strip_prefix('@') {
            let segments: Vec<&str> = handle.split('/').collect();
            let valid = segments.iter().all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
            let too_deep = forge == ForgeKind::GitHub && segments.len() > 2;
            if !valid || too_deep {
                return Err(format!("`{text}` is not an owner: {wanted}"));
            }
            return Ok(Owner::Handle(handle.to_owned()));
        }
        match text.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.contains('@') =>
            {
                Ok(Owner::Email(text.to_owned()))
            }
            _ => Err(format!("`{text}` is not an owner: {wanted}")),
        }
    }

    /// A team or group, on either forge (GitLab's single-name groups look like users).
    pub fn is_team(&self) -> bool {
        matches!(self, Owner::Handle(h) if h.contains('/'))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Handle(h) => write!(f, "@{h}"),
            Owner::Email(e) => f.write_str(e),
        }
    }
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    file: String,
    sections: Vec<Section>,
}

#[derive(Debug, Clone)]
struct Section {
    /// `None` for the lines before any header (and the whole file on GitHub).
    name: Option<String>,
    optional: bool,
    approvals: u32,
    defaults: Vec<Owner>,
    patterns: Vec<String>,
    /// One per pattern: its line and owners.
    entries: Vec<(usize, Vec<Owner>)>,
    globs: PathGlobs,
}

impl Section {
    fn new(name: Option<String>, optional: bool, approvals: u32, defaults: Vec<Owner>) -> Self {
        Self {
            name,
            optional,
            approvals,
            defaults,
            patterns: Vec::new(),
            entries: Vec::new(),
            globs: PathGlobs::default(),
        }
    }
}

/// Who must approve one file, as one section of CODEOWNERS says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership<'a> {
    /// The section's name, on GitLab.
    pub section: Option<&'a str>,
    /// The deciding line, 1-based.
    pub line: usize,
    pub owners: &'a [Owner],
    /// Approvals needed from them.
    pub approvals: u32,
}

impl CodeOwners {
    /// Parses the CODEOWNERS at `file` in `forge`'s dialect. A line that cannot be used is
    /// an error naming it, never skipped: a gate that silently drops an owner would pass
    /// what it should hold.
    pub fn parse(file: &str, text: &str, forge: ForgeKind) -> Result<Self, ConfigError> {
        let mut sections = vec![Section::new(None, false, 1, Vec::new())];
        let mut current = 0;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |message: String| ConfigError {
                file: file.to_owned(),
                line: Some(line),
                column: None,
                message,
            };
            let tokens = tokens(raw.trim_start());
            let Some(first) = tokens.first() else {
                continue;
            };
            if forge == ForgeKind::GitLab && (first.starts_with('[') || first.starts_with("^[")) {
                let header = parse_header(raw.trim(), forge).map_err(error)?;
                let key = header.name.to_lowercase();
                current = match sections
                    .iter()
                    .position(|s| s.name.as_deref().map(str::to_lowercase) == Some(key.clone()))
                {
                    // GitLab merges sections of the same name.
                    Some(existing) => existing,
                    None => {
                        sections.push(Section::new(
                            Some(header.name),
                            header.optional,
                            header.approvals,
                            header.owners,
                        ));
                        sections.len() - 1
                    }
                };
                continue;
            }
            let pattern = first.clone();
            if pattern.starts_with('!') {
                return Err(error(format!(
                    "`{pattern}`: negation (`!`) is not allowed in CODEOWNERS; \
                     give the files an owner, or no owner, with a later line"
                )));
            }
            PathGlobs::new(std::slice::from_ref(&pattern)).map_err(|e| error(e.to_string()))?;
            let mut owners = Vec::new();
            for token in &tokens[1..] {
                let owner = Owner::parse(token, forge).map_err(error)?;
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
            }
            let section = &mut sections[current];
            if owners.is_empty() {
                owners = section.defaults.clone();
            }
            section.patterns.push(pattern);
            section.entries.push((line, owners));
        }
        for section in &mut sections {
            section.globs = PathGlobs::new(&section.patterns).map_err(|e| ConfigError {
                file: file.to_owned(),
                line: None,
                column: None,
                message: e.to_string(),
            })?;
        }
        Ok(Self {
            file: file.to_owned(),
            sections,
        })
    }

    /// Where it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// For each section that is not optional, the line deciding `path` when that line
    /// names owners: whose approval the file needs there.
    pub fn owners_of(&self, path: &str) -> Vec<Ownership<'_>> {
        self.sections
            .iter()
            .filter(|s| !s.optional)
            .filter_map(|s| {
                let (line, owners) = &s.entries[s.globs.last_match(path)?];
                (!owners.is_empty()).then_some(Ownership {
                    section: s.name.as_deref(),
                    line: *line,
                    owners,
                    approvals: s.approvals,
                })
            })
            .collect()
    }

    /// The deciding line for `path` in each section, owners or not (for tests held
    /// against git).
    #[cfg(test)]
    pub(crate) fn deciding_lines(&self, path: &str) -> Vec<Option<usize>> {
        self.sections
            .iter()
            .map(|s| s.globs.last_match(path).map(|i| s.entries[i].0))
            .collect()
    }
}

/// The words of a line, split at unescaped blanks, up to a `#` that starts a word.
/// Escapes are kept for the pattern matcher (`my\ docs` stays one word).
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            ' ' | '\t' => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            '#' if word.is_empty() => break,
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

struct Header {
    name: String,
    optional: bool,
    approvals: u32,
    owners: Vec<Owner>,
}

/// `^[Name][N] @default @owners`, GitLab's section header.
fn parse_header(line: &str, forge: ForgeKind) -> Result<Header, String> {
    let invalid = || {
        format!(
            "`{line}` is not a section header: write `[Name]`, optionally `^[Name]` for an \
             optional section, `[Name][2]` for two approvals, and default owners after it"
        )
    };
    let (optional, rest) = match line.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let rest = rest.strip_prefix('[').ok_or_else(invalid)?;
    let (name, mut rest) = rest.split_once(']').ok_or_else(invalid)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid());
    }
    let mut approvals = 1;
    if let Some(count) = rest.strip_prefix('[') {
        let (count, after) = count.split_once(']').ok_or_else(invalid)?;
        approvals = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(invalid)?;
        rest = after;
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(invalid());
    }
    let owners = tokens(rest)
        .iter()
        .map(|t| Owner::parse(t, forge))
        .collect::<Result<_, _>>()?;
    Ok(Header {
        name: name.to_owned(),
        optional,
        approvals,
        owners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(text: &str) -> CodeOwners {
        CodeOwners::parse(".github/CODEOWNERS", text, ForgeKind::GitHub).unwrap()
    }

    fn gitlab(text: &str) -> CodeOwners {
        CodeOwners::parse(".gitlab/CODEOWNERS", text, ForgeKind::GitLab).unwrap()
    }

    /// `(section, line, owners)` for each section owning `path`.
    fn owners(c: &CodeOwners, path: &str) -> Vec<(Option<String>, usize, Vec<String>, u32)> {
        c.owners_of(path)
            .into_iter()
            .map(|o| {
                (
                    o.section.map(str::to_owned),
                    o.line,
                    o.owners.iter().map(Owner::to_string).collect(),
                    o.approvals,
                )
            })
            .collect()
    }

    fn one(line: usize, owners: &[&str]) -> Vec<(Option<String>, usize, Vec<String>, u32)> {
        vec![(
            None,
            line,
            owners.iter().map(|s| s.to_string()).collect(),
            1,
        )]
    }

    #[test]
    fn comments_blank_lines_and_inline_comments_are_skipped() {
        let c = github("# owners\n\n   \n*.rs @alice # the Rust files\n\t# indented comment\n");
        assert_eq!(owners(&c, "src/a.rs"), one(4, &["@alice"]));
        assert_eq!(owners(&c, "README.md"), []);
    }

    #[test]
    fn the_last_matching_line_wins_and_a_line_without_owners_unowns() {
        let c = github("* @everyone\n/apps/ @octocat\n/apps/github\n*.md @docs @Docs\n");
        assert_eq!(owners(&c, "lib/x.c"), one(1, &["@everyone"]));
        assert_eq!(owners(&c, "apps/web/a.js"), one(2, &["@octocat"]));
        assert_eq!(owners(&c, "apps/github/a.js"), []);
        assert_eq!(
            owners(&c, "apps/github/README.md"),
            one(4, &["@docs", "@Docs"])
        );
    }

    #[test]
    fn escaped_spaces_belong_to_the_pattern() {
        let c = github("my\\ docs/*.md @writers\n");
        assert_eq!(owners(&c, "my docs/a.md"), one(1, &["@writers"]));
        assert_eq!(owners(&c, "my/a.md"), []);
    }

    #[test]
    fn owners_are_users_teams_and_emails() {
        let c = github("* @alice @acme/core jane@example.com\n");
        let got = c.owners_of("x")[0].owners.to_vec();
        assert_eq!(
            got,
            [
                Owner::Handle("alice".into()),
                Owner::Handle("acme/core".into()),
                Owner::Email("jane@example.com".into())
            ]
        );
        assert!(got[1].is_team() && !got[0].is_team());
        let c = gitlab("* @group/sub/team @solo\n");
        assert_eq!(owners(&c, "x"), one(1, &["@group/sub/team", "@solo"]));
    }

    fn error(text: &str, forge: ForgeKind) -> ConfigError {
        CodeOwners::parse("CODEOWNERS", text, forge).unwrap_err()
    }

    #[test]
    fn invalid_lines_are_errors_naming_the_line() {
        let e = error("* @alice\n!docs/ @bob\n", ForgeKind::GitHub);
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .starts_with("`!docs/`: negation (`!`) is not allowed"),
            "{}",
            e.message
        );
        let e = error("\n*.rs alice\n", ForgeKind::GitHub);
        assert_eq!(
            e.to_string(),
            "CODEOWNERS:2: `alice` is not an owner: write `@user`, `@org/team` or an email address"
        );
        let e = error("*.rs @a/b/c\n", ForgeKind::GitHub);
        assert_eq!(e.line, Some(1));
        assert!(
            e.message.starts_with("`@a/b/c` is not an owner"),
            "{}",
            e.message
        );
        let e = error("*.rs @\n", ForgeKind::GitLab);
        assert!(e.message.contains("`@group/subgroup`"), "{}", e.message);
        let e = error("*.rs @@developer\n", ForgeKind::GitLab);
        assert!(
            e.message.contains("roles as owners are not supported"),
            "{}",
            e.message
        );
        let e = error("src/[ab @alice\n", ForgeKind::GitHub);
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                Some(1),
                "invalid glob `src/[ab`: the character class `[` is never closed"
            )
        );
        let e = error("[Docs\n", ForgeKind::GitLab);
        assert!(
            e.message.contains("is not a section header"),
            "{}",
            e.message
        );
        let e = error("[Docs][0]\n", ForgeKind::GitLab);
        assert!(
            e.message.contains("is not a section header"),
            "{}",
            e.message
        );
    }

    #[test]
    fn gitlab_sections_are_matched_each_on_their_own() {
        let c = gitlab(
            "* @lead\n\
             [Docs][2] @writers\n\
             *.md\n\
             internal/*.md @legal\n\
             ^[Style]\n\
             *.md @stylist\n\
             [docs]\n\
             /CHANGELOG.md\n",
        );
        assert_eq!(
            owners(&c, "guide/a.md"),
            vec![
                (None, 1, vec!["@lead".to_owned()], 1),
                (Some("Docs".to_owned()), 3, vec!["@writers".to_owned()], 2),
            ]
        );
        assert_eq!(
            owners(&c, "internal/x.md")[1],
            (Some("Docs".to_owned()), 4, vec!["@legal".to_owned()], 2)
        );
        // `[docs]` continues `[Docs]`, whose default owners fill the line.
        assert_eq!(owners(&c, "CHANGELOG.md")[1].1, 8);
        assert_eq!(owners(&c, "src/a.rs"), one(1, &["@lead"]));
    }

    #[test]
    fn github_has_no_sections() {
        let c = github("[Docs]\n*.md @writers\n");
        assert_eq!(owners(&c, "a.md"), one(2, &["@writers"]));
        assert_eq!(owners(&c, "D"), [], "`[Docs]` is a pattern without owners");
    }

    #[test]
    fn a_missing_file_is_an_error_at_the_owners_key() {
        let e = missing(
            ".gitlab/smallbatch.yml",
            "reviews:\n  owners: codeowners\n",
            ForgeKind::GitLab,
        );
        assert_eq!(
            e.to_string(),
            ".gitlab/smallbatch.yml:2: reviews.owners is `codeowners`, but the base branch has \
             no CODEOWNERS file (looked for `CODEOWNERS`, `docs/CODEOWNERS`, `.gitlab/CODEOWNERS`)"
        );
    }

    #[test]
    fn locations_are_each_forges_own() {
        assert_eq!(paths(ForgeKind::GitHub)[0], ".github/CODEOWNERS");
        assert_eq!(paths(ForgeKind::GitLab)[2], ".gitlab/CODEOWNERS");
        assert!(is_codeowners("docs/CODEOWNERS") && is_codeowners("CODEOWNERS"));
        assert!(!is_codeowners(".github/smallbatch.yml"));
    }
}
