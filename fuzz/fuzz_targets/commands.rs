//! `commands::parse` and `commands::new_commands` on comment bodies.
//!
//! Input: a comment body; a NUL splits it into the previous and the edited version for
//! `new_commands`. Besides not panicking, checks the documented shape of every command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smallbatch::commands::{new_commands, parse, Command};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let commands = parse(&text);
    commands.iter().for_each(check_shape);

    // Without a previous version every command is new; an unchanged edit adds none.
    assert_eq!(new_commands("", &text), commands);
    assert_eq!(new_commands(&text, &text), Vec::<Command>::new());

    if let Some((before, after)) = text.split_once('\0') {
        let added = new_commands(before, after);
        let all = parse(after);
        assert!(added.len() <= all.len(), "more new commands than commands");
        assert!(
            added.iter().all(|c| all.contains(c)),
            "a new command not in the edit"
        );
    }
});

/// Names are `[a-z][a-z0-9_-]*`; arguments are trimmed, collapsed to single spaces, and
/// absent rather than empty.
fn check_shape(command: &Command) {
    let name = command.name();
    let mut chars = name.chars();
    assert!(
        chars.next().is_some_and(|c| c.is_ascii_lowercase()),
        "name {name:?}"
    );
    assert!(
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
        "name {name:?}"
    );
    let args = match command {
        Command::Override { reason: Some(a) }
        | Command::Ship {
            environment: Some(a),
        } => a,
        _ => return,
    };
    assert!(!args.is_empty(), "empty arguments of {name}");
    assert!(
        args.split(' ')
            .all(|word| !word.is_empty() && !word.contains(char::is_whitespace)),
        "arguments of {name} not collapsed: {args:?}"
    );
}
