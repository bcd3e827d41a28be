//! Chat commands in PR comments (GitHub) and MR notes (GitLab): `/help`,
//! `/recheck`, `/override <reason>`, `/ship [environment]`.
//!
//! Pure: the forge adapters hand over comment bodies, the worker acts on the
//! [`Command`]s. What counts as a command is decided in [`parser`] on the
//! *rendered* structure of the markdown, so quoted, fenced or hidden text never
//! triggers anything.

mod parser;

pub use parser::parse;

use std::collections::HashMap;
use std::fmt;

/// One command, as written by a user.
///
/// Names are case-insensitive (`/Ship` is `/ship`); arguments keep their case,
/// with whitespace trimmed and inner runs collapsed to one space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `/help`: reply with the list of commands. Arguments are ignored.
    Help,
    /// `/recheck`: re-evaluate the PR at its current head. Arguments are ignored.
    Recheck,
    /// `/override <reason>`: pass the gate despite its verdict. `reason` is
    /// `None` when the user gave none, so the caller can reply that one is
    /// required instead of silently ignoring the command.
    Override { reason: Option<String> },
    /// `/ship [environment]`: deploy; `None` means the default environment.
    Ship { environment: Option<String> },
    /// A `/word` that looks like a command but is none of ours, so the caller
    /// can answer "see /help". `name` is lower-cased, without the slash.
    Unknown { name: String },
}

impl Command {
    /// The command's name without the slash, lower-case: `"ship"`.
    pub fn name(&self) -> &str {
        match self {
            Command::Help => "help",
            Command::Recheck => "recheck",
            Command::Override { .. } => "override",
            Command::Ship { .. } => "ship",
            Command::Unknown { name } => name,
        }
    }

    /// Builds a command from its name (any case, without the slash) and its
    /// already normalised arguments (`""` when there are none).
    fn from_parts(name: &str, args: &str) -> Command {
        let args = (!args.is_empty()).then(|| args.to_owned());
        match name.to_ascii_lowercase().as_str() {
            "help" => Command::Help,
            "recheck" => Command::Recheck,
            "override" => Command::Override { reason: args },
            "ship" => Command::Ship { environment: args },
            other => Command::Unknown {
                name: other.to_owned(),
            },
        }
    }
}

/// Renders the command as a user would type it, e.g. `/ship production`;
/// parsing the result gives the same command back.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name())?;
        match self {
            Command::Override {
                reason: Some(arg), ..
            }
            | Command::Ship {
                environment: Some(arg),
            } => write!(f, " {arg}"),
            _ => Ok(()),
        }
    }
}

/// The commands of an edited comment that its previous version did not have:
/// a multiset difference by equality, in `after`'s order. Editing a typo
/// elsewhere in a comment must not re-run `/ship`, but adding a second
/// `/recheck` to a comment that had one runs it once more.
pub fn new_commands(before: &str, after: &str) -> Vec<Command> {
    let mut already_run: HashMap<Command, usize> = HashMap::new();
    for command in parse(before) {
        *already_run.entry(command).or_default() += 1;
    }
    parse(after)
        .into_iter()
        .filter(|command| match already_run.get_mut(command) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;

    /// One command per line, in `Debug` form: compact and exact.
    fn commands(body: &str) -> String {
        parse(body)
            .iter()
            .map(|command| format!("{command:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn each_command_with_and_without_arguments() {
        assert_snapshot!(commands("/help\n/recheck\n/override\n/override flaky CI, see #12\n/ship\n/ship production"), @r#"
        Help
        Recheck
        Override { reason: None }
        Override { reason: Some("flaky CI, see #12") }
        Ship { environment: None }
        Ship { environment: Some("production") }
        "#);
    }
}
