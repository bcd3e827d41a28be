//! `/ship`'s arguments: an environment and two options, in any order.
//!
//! - `--noop` checks everything and says what would happen, changing nothing.
//! - `--override <reason>` ships out of `ship.environments`' order; the reason is the
//!   rest of the line, so it must come last.
//!
//! The other words are the environment. An option we don't know, or `--override`
//! without a reason, makes the command [`Command::Malformed`]: guessing would deploy
//! to an environment called `--nope`.
use super::Command;

/// Reads `/ship`'s already normalised arguments.
pub(super) fn read(args: Option<&str>) -> Command {
    let mut environment: Vec<&str> = Vec::new();
    let mut noop = false;
    let mut order_override = None;
    let mut words = args.unwrap_or("").split(' ').filter(|w| !w.is_empty());
    while let Some(word) = words.next() {
        match word.to_ascii_lowercase().as_str() {
            "--noop" => noop = true,
            "--override" => {
                let reason = words.by_ref().collect::<Vec<_>>().join(" ");
                if reason.is_empty() {
                    return malformed(
                        "`--override` needs a reason, for the audit log: for example \
                         `/ship production --override hotfix for the outage in #123`.",
                    );
                }
                order_override = Some(reason);
            }
            option if option.starts_with("--") => {
                return malformed(&format!(
                    "`/ship` has no option `{word}`; it takes `--noop` and `--override <reason>`."
                ));
            }
            _ => environment.push(word),
        }
    }
    Command::Ship {
        environment: (!environment.is_empty()).then(|| environment.join(" ")),
        noop,
        order_override,
    }
}

fn malformed(problem: &str) -> Command {
    Command::Malformed {
        name: "ship".to_owned(),
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ship(environment: Option<&str>, noop: bool, order_override: Option<&str>) -> Command {
        Command::Ship {
            environment: environment.map(str::to_owned),
            noop,
            order_override: order_override.map(str::to_owned),
        }
    }

    #[test]
    fn options_go_anywhere_and_the_other_words_are_the_environment() {
        assert_eq!(read(None), ship(None, false, None));
        assert_eq!(read(Some("--noop")), ship(None, true, None));
        assert_eq!(
            read(Some("--NOOP production")),
            ship(Some("production"), true, None)
        );
        assert_eq!(
            read(Some("production --noop --override staging is down, see #9")),
            ship(Some("production"), true, Some("staging is down, see #9"))
        );
        // Everything after `--override` is its reason, options included.
        assert_eq!(
            read(Some("--override why --noop")),
            ship(None, false, Some("why --noop"))
        );
    }

    #[test]
    fn unknown_options_and_a_missing_reason_are_malformed() {
        for args in [
            "--nope",
            "production --dry-run",
            "--override",
            "prod --override",
        ] {
            assert!(
                matches!(read(Some(args)), Command::Malformed { ref name, .. } if name == "ship"),
                "{args}"
            );
        }
        let Command::Malformed { problem, .. } = read(Some("--dry-run")) else {
            unreachable!()
        };
        assert_eq!(
            problem,
            "`/ship` has no option `--dry-run`; it takes `--noop` and `--override <reason>`."
        );
    }
}
