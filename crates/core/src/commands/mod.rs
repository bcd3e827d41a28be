//! Chat commands in PR comments (GitHub) and MR notes (GitLab): `/help`,
//! `/recheck`, `/override <reason>`, `/ship [environment] [--noop] [--override <reason>]`,
//! `/rollback [environment]`, and the deploy controls `/lock`, `/unlock`, `/hold`, `/unhold`.
//!
//! Pure: the forge adapters hand over comment bodies, the worker acts on the
//! [`Command`]s. What counts as a command is decided in [`parser`] on the
//! *rendered* structure of the markdown, so quoted, fenced or hidden text never
//! triggers anything.

mod parser;
mod ship_args;

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
    /// `/ship [environment] [--noop] [--override <reason>]`: deploy; `None` means the
    /// default environment. `noop`: check and say what would happen, change nothing.
    /// `order_override`: the reason to ship out of `ship.environments`' order.
    Ship {
        environment: Option<String>,
        noop: bool,
        order_override: Option<String>,
    },
    /// `/lock [environment] [reason]`: keep everyone else's `/ship` off an environment.
    /// `args` is split by the caller, which knows the repository's environments: the
    /// first word is the environment when it names one, the rest is the reason.
    Lock { args: Option<String> },
    /// `/unlock [environment]`.
    Unlock { environment: Option<String> },
    /// `/hold [reason]`: nothing merges this change until `/unhold`.
    Hold { reason: Option<String> },
    /// `/unhold`. Arguments are ignored.
    Unhold,
    /// One of our commands with arguments it cannot take (`/ship --nope`): `problem`
    /// says what is wrong, in words the reply can use.
    Malformed { name: String, problem: String },
    /// `/rollback [environment]`: redeploy the environment's last healthy deployment
    /// now; `None` means the default environment.
    Rollback { environment: Option<String> },
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
            Command::Rollback { .. } => "rollback",
            Command::Lock { .. } => "lock",
            Command::Unlock { .. } => "unlock",
            Command::Hold { .. } => "hold",
            Command::Unhold => "unhold",
            Command::Malformed { name, .. } | Command::Unknown { name } => name,
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
            "ship" => ship_args::read(args.as_deref()),
            "rollback" => Command::Rollback { environment: args },
            "lock" => Command::Lock { args },
            "unlock" => Command::Unlock { environment: args },
            "hold" => Command::Hold { reason: args },
            "unhold" => Command::Unhold,
            other => Command::Unknown {
                name: other.to_owned(),
            },
        }
    }
}

/// Renders the command as a user would type it, e.g. `/ship production`, for
/// replies. Arguments are the rendered text, not markdown: escape them before
/// embedding them in a comment.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name())?;
        match self {
            Command::Override { reason: Some(arg) }
            | Command::Lock { args: Some(arg) }
            | Command::Unlock {
                environment: Some(arg),
            }
            | Command::Rollback {
                environment: Some(arg),
            }
            | Command::Hold { reason: Some(arg) } => write!(f, " {arg}"),
            Command::Ship {
                environment,
                noop,
                order_override,
            } => {
                if let Some(environment) = environment {
                    write!(f, " {environment}")?;
                }
                if *noop {
                    f.write_str(" --noop")?;
                }
                match order_override {
                    Some(reason) => write!(f, " --override {reason}"),
                    None => Ok(()),
                }
            }
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
        assert_snapshot!(commands("/help\n/recheck\n/override\n/override flaky CI, see #12\n/ship\n/ship production\n/rollback\n/Rollback eu"), @r#"
        Help
        Recheck
        Override { reason: None }
        Override { reason: Some("flaky CI, see #12") }
        Ship { environment: None, noop: false, order_override: None }
        Ship { environment: Some("production"), noop: false, order_override: None }
        Rollback { environment: None }
        Rollback { environment: Some("eu") }
        "#);
    }

    #[test]
    fn deploy_controls_and_ship_options() {
        let body = "/lock\n/lock production db migration, see #12\n/unlock\n/Unlock staging\n\
                    /hold\n/hold  waiting for the  freeze to end\n/unhold now\n\
                    /ship --noop\n/ship production --override staging is down\n/ship --nope";
        assert_snapshot!(commands(body), @r#"
        Lock { args: None }
        Lock { args: Some("production db migration, see #12") }
        Unlock { environment: None }
        Unlock { environment: Some("staging") }
        Hold { reason: None }
        Hold { reason: Some("waiting for the freeze to end") }
        Unhold
        Ship { environment: None, noop: true, order_override: None }
        Ship { environment: Some("production"), noop: false, order_override: Some("staging is down") }
        Malformed { name: "ship", problem: "`/ship` has no option `--nope`; it takes `--noop` and `--override <reason>`." }
        "#);
    }

    #[test]
    fn names_are_case_insensitive_and_arguments_keep_case_trimmed_and_collapsed() {
        assert_snapshot!(commands("/SHIP  Production \n/Override\tNeeded  for the 🚀 release\t\n/ReCheck"), @r#"
        Ship { environment: Some("Production"), noop: false, order_override: None }
        Override { reason: Some("Needed for the 🚀 release") }
        Recheck
        "#);
    }

    #[test]
    fn unicode_arguments_are_kept_verbatim() {
        assert_snapshot!(commands("/override Ünïcödé — 修正 ✅\n/ship 🌍-eu"), @r#"
        Override { reason: Some("Ünïcödé — 修正 ✅") }
        Ship { environment: Some("🌍-eu"), noop: false, order_override: None }
        "#);
    }

    #[test]
    fn crlf_line_endings() {
        assert_snapshot!(commands("Thanks!\r\n/ship staging\r\n\r\n/recheck\r\n"), @r#"
        Ship { environment: Some("staging"), noop: false, order_override: None }
        Recheck
        "#);
    }

    #[test]
    fn several_commands_in_one_comment_in_order() {
        let body = "LGTM.\n\n/recheck\n\nThen:\n/override docs only\n/ship\n\n/help";
        assert_snapshot!(commands(body), @r#"
        Recheck
        Override { reason: Some("docs only") }
        Ship { environment: None, noop: false, order_override: None }
        Help
        "#);
    }

    #[test]
    fn a_command_must_start_its_line() {
        assert_snapshot!(commands("please /ship\nok? /recheck"), @"");
        // ...but the second line of a paragraph is a line of its own.
        assert_snapshot!(commands("Looks good to me.\n/ship prod"), @r#"Ship { environment: Some("prod"), noop: false, order_override: None }"#);
        // A hard break (two spaces or a backslash) ends a line too.
        assert_snapshot!(commands("done  \n/recheck\\\n/help"), @r#"
        Recheck
        Help
        "#);
    }

    #[test]
    fn up_to_three_leading_spaces() {
        assert_snapshot!(commands("   /ship"), @"Ship { environment: None, noop: false, order_override: None }");
        // Four are an indented code block.
        assert_snapshot!(commands("    /ship"), @"");
        // A paragraph's later lines may be indented any amount (CommonMark
        // strips it; an indented code block cannot interrupt a paragraph).
        assert_snapshot!(commands("ok\n        /recheck"), @"Recheck");
    }

    #[test]
    fn unknown_commands_are_reported_by_name() {
        assert_snapshot!(commands("/Deploy now\n/lgtm\n/re-run_2"), @r#"
        Unknown { name: "deploy" }
        Unknown { name: "lgtm" }
        Unknown { name: "re-run_2" }
        "#);
    }

    #[test]
    fn paths_and_other_slashes_are_text() {
        let body = "/usr/bin/env bash\n/etc/hosts\n/\n/ alone\n//ship\n/123\n/9lives\n/ship.\n/help?\n/ship:prod\n/ship/prod\n/shïp";
        assert_snapshot!(commands(body), @"");
    }

    #[test]
    fn override_without_a_reason_is_kept() {
        assert_snapshot!(commands("/override"), @"Override { reason: None }");
        assert_snapshot!(commands("/override   \t "), @"Override { reason: None }");
    }

    #[test]
    fn help_and_recheck_ignore_arguments() {
        assert_snapshot!(commands("/help me\n/recheck please"), @r#"
        Help
        Recheck
        "#);
    }

    #[test]
    fn fenced_code_blocks_are_ignored() {
        let body = "```\n/ship\n```\n~~~sh\n/recheck\n~~~\n```` rust title=\"x\"\n```\n/help\n````\n/override real";
        assert_snapshot!(commands(body), @r#"Override { reason: Some("real") }"#);
    }

    #[test]
    fn an_unterminated_fence_runs_to_the_end() {
        assert_snapshot!(commands("/recheck\n```\n/ship\n\n/help"), @"Recheck");
        assert_snapshot!(commands("~~~\n/ship"), @"");
    }

    #[test]
    fn indented_code_blocks_are_ignored() {
        assert_snapshot!(commands("Run:\n\n    /ship\n\t/recheck\n\n/help"), @"Help");
    }

    #[test]
    fn inline_code_is_ignored() {
        assert_snapshot!(commands("`/ship`\nType `/ship` to deploy\n``/recheck``"), @"");
        // Inline code later in the line is argument text.
        assert_snapshot!(commands("/override see `flaky_test`"), @r#"Override { reason: Some("see flaky_test") }"#);
    }

    #[test]
    fn block_quotes_are_ignored() {
        assert_snapshot!(commands("> /ship"), @"");
        assert_snapshot!(commands("> > > /ship\n>> /recheck"), @"");
        // Lazy continuation: the unprefixed line still belongs to the quote.
        assert_snapshot!(commands("> You wrote\n/ship\n\n/help"), @"Help");
    }

    #[test]
    fn gitlab_multi_line_quotes_are_ignored() {
        assert_snapshot!(commands(">>>\n/ship\n\n/recheck\n>>>\n/help"), @"Help");
        // Unclosed, GitLab renders it as text (and GitHub as an empty quote).
        assert_snapshot!(commands(">>>\n/ship\n\n/recheck"), @r#"
        Ship { environment: None, noop: false, order_override: None }
        Recheck
        "#);
    }

    #[test]
    fn html_blocks_and_comments_are_ignored() {
        let body = "<!-- smallbatch:guidance /ship -->\n\n<!--\n/ship\n-->\n<details>\n/recheck\n</details>\n\nok <!--\n/override x\n--> /help";
        assert_snapshot!(commands(body), @"");
        // A hidden marker before a command does not hide the next paragraph.
        assert_snapshot!(commands("<!-- marker -->\n/ship"), @"Ship { environment: None, noop: false, order_override: None }");
    }

    #[test]
    fn links_and_inline_markup_at_the_start_are_ignored() {
        let body = "[/ship](https://example.com)\n</ship>\n*/ship*\n**/recheck**\n~~/help~~\n![/ship](x.png)\n<https://x/ship>";
        assert_snapshot!(commands(body), @"");
        // Markup in the arguments is dropped, its text kept.
        assert_snapshot!(commands("/ship **prod** [eu](https://x)"), @r#"Ship { environment: Some("prod eu"), noop: false, order_override: None }"#);
    }

    #[test]
    fn the_name_must_be_written_as_plain_text() {
        assert_snapshot!(commands("/ship*now*\n/ship`x`\n/ship<!-- -->x"), @"");
    }

    #[test]
    fn escapes_and_entities_are_text() {
        assert_snapshot!(commands("\\/ship\n&#47;ship\n&sol;recheck"), @"");
    }

    #[test]
    fn list_items_are_not_commands() {
        assert_snapshot!(commands("- /recheck\n* /ship\n1. /help\n- [ ] /ship\n\n- loose\n\n  /ship"), @"");
    }

    #[test]
    fn headings_tables_and_footnotes_are_not_commands() {
        let body = "# /ship\n\n/recheck\n---\n\n| a |\n|---|\n| /ship |\n\nx[^1]\n\n[^1]: /ship\n    /help";
        assert_snapshot!(commands(body), @"");
    }

    #[test]
    fn empty_and_blank_input() {
        assert_snapshot!(commands(""), @"");
        assert_snapshot!(commands(" \n\t\r\n"), @"");
    }

    #[test]
    fn name_and_display() {
        let all = parse("/help\n/recheck\n/override why not\n/ship\n/ship eu\n/Nope\n/ship eu --override x  y --NOOP\n/lock eu why\n/unhold x");
        let names: Vec<&str> = all.iter().map(Command::name).collect();
        assert_eq!(
            names,
            ["help", "recheck", "override", "ship", "ship", "nope", "ship", "lock", "unhold"]
        );
        let shown: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/help",
                "/recheck",
                "/override why not",
                "/ship",
                "/ship eu",
                "/nope",
                "/ship eu --override x y --NOOP",
                "/lock eu why",
                "/unhold"
            ]
        );
    }

    #[test]
    fn an_edit_runs_only_the_commands_it_added() {
        let before = "Typo hre.\n/recheck";
        assert_snapshot!(format!("{:?}", new_commands(before, "Typo here.\n/recheck")), @"[]");
        assert_snapshot!(format!("{:?}", new_commands(before, "Typo here.\n/recheck\n/ship prod")), @r#"[Ship { environment: Some("prod"), noop: false, order_override: None }]"#);
        // A second, identical command counts: multiset difference.
        assert_snapshot!(format!("{:?}", new_commands(before, "/recheck\n/recheck")), @"[Recheck]");
        // Changing the arguments makes a different command.
        assert_snapshot!(format!("{:?}", new_commands("/ship staging", "/ship production")), @r#"[Ship { environment: Some("production"), noop: false, order_override: None }]"#);
        // Case and spacing alone change nothing.
        assert_snapshot!(format!("{:?}", new_commands("/ship  prod", "/SHIP prod ")), @"[]");
        // Quoting a command away adds nothing; removing one runs nothing.
        assert_snapshot!(format!("{:?}", new_commands("/ship", "> /ship\n\n/help")), @"[Help]");
        assert_snapshot!(format!("{:?}", new_commands("/ship\n/help", "")), @"[]");
    }

    #[test]
    fn long_input_is_parsed_whole() {
        let body = "/recheck\n".repeat(50_000);
        assert_eq!(parse(&body).len(), 50_000);
        let quoted = format!("{}/ship", "> ".repeat(10_000));
        assert_eq!(parse(&quoted), []);
        let nested = format!("{}/ship{}\n/help", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse(&nested), [Command::Help]);
    }

    /// Tricky fragments, combined in pairs and triples: whatever the mix, the
    /// structural guarantees hold.
    #[test]
    fn fragment_combinations_keep_the_guarantees() {
        const FRAGMENTS: &[&str] = &[
            "/ship prod",
            "/ship --noop --override x",
            "/lock prod why",
            "/OVERRIDE  why\t",
            "/help",
            "/usr/bin",
            "/",
            "//",
            "/x_",
            "\\/ship",
            "```",
            "~~~ sh",
            "    ",
            "\t",
            "> ",
            ">>>",
            "- ",
            "1. ",
            "# ",
            "---",
            "<!--",
            "-->",
            "<div>",
            "`",
            "``",
            "[",
            "](u)",
            "*",
            "_",
            "&#47;",
            "\r\n",
            "\n",
            "\n\n",
            "\r",
            " ",
            "é",
            "🚀",
            "|",
            "[^1]: ",
            "\\",
            "<",
            ">",
        ];
        let mut bodies = Vec::new();
        for a in FRAGMENTS {
            for b in FRAGMENTS {
                bodies.push(format!("{a}{b}"));
                for c in FRAGMENTS {
                    bodies.push(format!("{a}{b}{c}"));
                }
            }
        }
        for body in &bodies {
            let found = parse(body);
            // Every command reads back as one command of the same name from
            // its own rendering (arguments are rendered text, not markdown, so
            // `\*` may come back as `*`).
            for command in &found {
                let again = parse(&command.to_string());
                let names: Vec<&str> = again.iter().map(Command::name).collect();
                assert_eq!(names, [command.name()], "in {body:?}");
            }
            assert_eq!(new_commands(body, body), [], "in {body:?}");
            assert_eq!(new_commands("", body), found, "in {body:?}");
            // Quoted or fenced away entirely, nothing is a command.
            // (CommonMark also ends lines at a lone `\r`, which `lines()` does not.)
            let quoted: String = body
                .split(['\n', '\r'])
                .map(|l| format!("> {l}\n"))
                .collect();
            assert_eq!(parse(&quoted), [], "quoted {body:?}");
            assert_eq!(
                parse(&format!("`````\n{body}\n`````")),
                [],
                "fenced {body:?}"
            );
        }
        // The generator does reach commands, not only text.
        let with_commands = bodies.iter().filter(|b| !parse(b).is_empty()).count();
        assert!(
            with_commands > 1_000,
            "only {with_commands} bodies had commands"
        );
    }
}
