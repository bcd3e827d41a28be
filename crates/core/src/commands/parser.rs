//! Finds commands in a comment body by walking its CommonMark structure.
//!
//! The rules, chosen so that only what a reader sees as a plain line starting
//! with `/` acts:
//!
//! - A command is a *line of a top-level paragraph* whose first character in
//!   the source is `/`: the first line of a paragraph (up to 3 leading spaces,
//!   as CommonMark allows) or any later line of it (soft or hard break before).
//!   `please /ship` mid-line is prose.
//! - Nothing nested counts: block quotes (any depth, lazy continuation lines
//!   included), list items (`- /recheck` is usually a to-do list or a quoted
//!   instruction), headings (`/ship` underlined by `---` is a heading), tables,
//!   footnotes. Neither do code (fenced with any info string, unterminated,
//!   indented, inline), HTML blocks, HTML comments (our own hidden markers) or
//!   links (`[/ship](…)`) and other inline markup at the start of the line.
//! - GitLab's multi-line quotes (`>>>` alone on a line, up to the next one;
//!   an unclosed one is text, as GitLab renders it) are quotes too. On GitHub
//!   a lone `>>>` renders as an empty quote, so the only cost there is
//!   ignoring commands between two such lines.
//! - The name is `[A-Za-z][A-Za-z0-9_-]*` and must be followed by whitespace or
//!   the end of the line, written as plain text. That is the line between an
//!   unknown command and ordinary text: `/usr/bin/env`, `/ship.`, `/123`, `//`
//!   and a lone `/` are text, while `/deploy now` is [`Command::Unknown`]
//!   (so is a sarcastic `/s` line; the caller decides how loudly to answer).
//! - `\/ship` (escaped) and `&#47;ship` (an entity) render as `/ship` but are
//!   text: they are how a user writes a command without running it.
//! - The arguments are the rest of the line as rendered text (markup and
//!   inline HTML dropped, inline code kept), trimmed and collapsed.

use super::Command;
use pulldown_cmark::{Event, Options, Parser, Tag};
use std::ops::Range;

/// Every command in `body`, in order of appearance.
pub fn parse(body: &str) -> Vec<Command> {
    let mut found = Found::default();
    let mut depth = 0usize;
    // The line being read, while inside a top-level paragraph.
    let mut line: Option<Line> = None;

    for (event, range) in Parser::new_ext(body, gfm_options()).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    match tag {
                        Tag::Paragraph => line = Some(Line::new(range.start)),
                        Tag::BlockQuote(_) if is_gitlab_quote_fence(body, &range) => {
                            found.toggle_gitlab_quote();
                        }
                        _ => {}
                    }
                } else if let Some(line) = &mut line {
                    line.markup();
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if let Some(finished) = line.take() {
                        found.extend(finished.command());
                    }
                }
            }
            Event::Text(text) => {
                if let Some(line) = &mut line {
                    line.text(body, &text, &range, depth == 1);
                }
            }
            Event::Code(code) => {
                if let Some(line) = &mut line {
                    line.markup();
                    line.push(&code);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(line) = &mut line {
                    let finished = std::mem::replace(line, Line::new(range.end));
                    found.extend(finished.command());
                }
            }
            // Inline HTML, footnote references, task markers, math: not
            // plain text, and nothing a reader sees as argument text.
            _ => {
                if let Some(line) = &mut line {
                    line.markup();
                }
            }
        }
    }
    found.finish()
}

/// The commands found so far, minding GitLab's multi-line quotes.
#[derive(Default)]
struct Found {
    commands: Vec<Command>,
    /// While inside a `>>>` quote: the commands seen in it. GitLab renders an
    /// unclosed `>>>` as plain text, so they count if no closing `>>>` comes.
    in_gitlab_quote: Option<Vec<Command>>,
}

impl Found {
    fn extend(&mut self, command: Option<Command>) {
        self.in_gitlab_quote
            .as_mut()
            .unwrap_or(&mut self.commands)
            .extend(command);
    }

    fn toggle_gitlab_quote(&mut self) {
        self.in_gitlab_quote = match self.in_gitlab_quote {
            Some(_) => None,
            None => Some(Vec::new()),
        };
    }

    fn finish(mut self) -> Vec<Command> {
        self.commands
            .extend(self.in_gitlab_quote.unwrap_or_default());
        self.commands
    }
}

/// GitHub-flavoured markdown, as both forges render comments.
fn gfm_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// A top-level quote whose whole source is `>>>` opens or closes one of
/// GitLab's multi-line quotes (CommonMark sees three empty nested quotes).
fn is_gitlab_quote_fence(body: &str, range: &Range<usize>) -> bool {
    body.get(range.clone())
        .is_some_and(|source| source.trim() == ">>>")
}

/// One line of a top-level paragraph, read event by event.
struct Line {
    /// Source offset where the line's content may begin (after the break).
    start: usize,
    /// Whether the line's first event has been seen.
    started: bool,
    /// Whether the line starts with a plain-text `/`, i.e. may be a command.
    candidate: bool,
    /// Rendered text of the line; only collected for candidates.
    text: String,
    /// Length of the plain-text prefix of `text`, where the name must lie.
    plain_len: usize,
    /// Whether `text` is still plain text from the line's start.
    plain: bool,
}

impl Line {
    fn new(start: usize) -> Self {
        Line {
            start,
            started: false,
            candidate: false,
            text: String::new(),
            plain_len: 0,
            plain: false,
        }
    }

    /// Plain or nested text. `top_level` is false inside inline markup.
    fn text(&mut self, body: &str, text: &str, range: &Range<usize>, top_level: bool) {
        if !self.started {
            self.started = true;
            // The source, not the rendered text, must start with `/`: that
            // keeps `\/ship` and `&#47;ship` as text.
            self.candidate = top_level
                && body
                    .get(self.start..range.start)
                    .is_some_and(|indent| indent.chars().all(|c| c == ' ' || c == '\t'))
                && body.get(range.start..).is_some_and(|s| s.starts_with('/'));
            self.plain = self.candidate;
        }
        self.plain &= top_level;
        self.push(text);
        if self.plain {
            self.plain_len = self.text.len();
        }
    }

    /// Anything that is not plain text: inline markup, code, HTML.
    fn markup(&mut self) {
        self.started = true;
        self.plain = false;
    }

    fn push(&mut self, text: &str) {
        if self.candidate {
            self.text.push_str(text);
        }
    }

    fn command(self) -> Option<Command> {
        if !self.candidate {
            return None;
        }
        command_in_line(&self.text, self.plain_len)
    }
}

/// Reads `/name args…` from a line's rendered text; the name must lie within
/// the first `plain_len` bytes (plain text) and end at whitespace or the end.
fn command_in_line(text: &str, plain_len: usize) -> Option<Command> {
    let after_slash = text.strip_prefix('/')?;
    if !after_slash.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name_len = after_slash
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(after_slash.len());
    let (name, rest) = after_slash.split_at(name_len);
    if 1 + name_len > plain_len || !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let args = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(Command::from_parts(name, &args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_must_be_plain_text_up_to_whitespace_or_the_end() {
        assert_eq!(
            command_in_line("/ship", 5),
            Some(Command::Ship {
                environment: None,
                noop: false,
                order_override: None
            })
        );
        assert_eq!(
            command_in_line("/ship \t prod  eu ", 5),
            Some(Command::Ship {
                environment: Some("prod eu".into()),
                noop: false,
                order_override: None
            })
        );
        // `/ship*now*` renders as `/ship` + emphasis: the name runs into markup.
        assert_eq!(command_in_line("/shipnow", 5), None);
        assert_eq!(command_in_line("/ship/now", 9), None);
        assert_eq!(command_in_line("/", 1), None);
        assert_eq!(command_in_line("/9lives", 7), None);
        assert_eq!(command_in_line("ship", 4), None);
    }
}
