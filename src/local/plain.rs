//! The PR comment's markdown as plain text for a terminal: the words stay, the markup goes.
//!
//! Headings become an underlined line, tables aligned columns, lists `- ` lines; emphasis,
//! code spans and HTML tags (the hidden marker, `<details>`) are dropped, their text kept.
//! The one exception is `<sub>` fine print: it speaks of the comment on the PR page
//! ("kept up to date as the pull request changes"), which a terminal does not have.
use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// `markdown` as plain text: blocks separated by one blank line, no trailing newline.
pub fn plain_text(markdown: &str) -> String {
    let mut writer = Writer::default();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        writer.event(event);
    }
    writer.blocks.join("\n\n")
}

#[derive(Default)]
struct Writer {
    blocks: Vec<String>,
    /// The inline text being gathered for the current paragraph, heading, item or cell.
    text: String,
    /// Lines of the list being written; lists nest inside it.
    list: Vec<String>,
    list_depth: usize,
    table: Option<Table>,
    /// Inside `<sub>…</sub>`: the text is not shown.
    fine_print: usize,
    /// Inside an HTML comment that spans events.
    in_comment: bool,
    /// The destination of each open link, shown after its text when it says something else.
    links: Vec<String>,
}

struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<String>>,
}

impl Writer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) => self.push(&text),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.push(&text),
            Event::SoftBreak => self.push(" "),
            Event::HardBreak => self.push("\n"),
            Event::Html(html) | Event::InlineHtml(html) => self.html(&html),
            Event::Rule => self.blocks.push("-".repeat(3)),
            Event::TaskListMarker(done) => self.push(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(name) => self.push(&format!("[{name}]")),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::List(_) => {
                // A nested list starts under its item's own text.
                if self.list_depth > 0 {
                    self.finish_item();
                }
                self.list_depth += 1;
            }
            Tag::Table(alignments) => {
                self.table = Some(Table {
                    alignments,
                    rows: Vec::new(),
                })
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.rows.push(Vec::new());
                }
            }
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(dest_url.into_string())
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::HtmlBlock if self.list_depth > 0 => {
                self.push(" ")
            }
            TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::HtmlBlock => self.finish_block(),
            TagEnd::Heading(level) => {
                let title = std::mem::take(&mut self.text).trim().to_owned();
                if !title.is_empty() {
                    let rule = if level <= HeadingLevel::H2 { "=" } else { "-" };
                    let underline = rule.repeat(title.chars().count());
                    self.blocks.push(format!("{title}\n{underline}"));
                }
            }
            TagEnd::Item => self.finish_item(),
            TagEnd::List(_) => {
                self.list_depth = self.list_depth.saturating_sub(1);
                if self.list_depth == 0 {
                    let list = std::mem::take(&mut self.list).join("\n");
                    self.blocks.push(list);
                }
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.text).trim().to_owned();
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.blocks.push(table.render());
                }
            }
            TagEnd::Link | TagEnd::Image => {
                if let Some(url) = self.links.pop() {
                    if !url.is_empty() && !self.text.ends_with(url.as_str()) {
                        self.push(&format!(" ({url})"));
                    }
                }
            }
            _ => {}
        }
    }

    fn push(&mut self, text: &str) {
        if self.fine_print == 0 {
            self.text.push_str(text);
        }
    }

    /// Tags and comments go; text between them (a `<summary>`'s) stays.
    fn html(&mut self, html: &str) {
        let mut rest = html;
        while !rest.is_empty() {
            if self.in_comment {
                let Some((_, after)) = rest.split_once("-->") else {
                    return;
                };
                self.in_comment = false;
                rest = after;
            } else if let Some(comment) = rest.strip_prefix("<!--") {
                self.in_comment = true;
                rest = comment;
            } else if let Some(tag) = rest.strip_prefix('<') {
                let (tag, after) = tag.split_once('>').unwrap_or((tag, ""));
                self.tag(tag);
                rest = after;
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                self.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }

    fn tag(&mut self, tag: &str) {
        let (closing, tag) = match tag.strip_prefix('/') {
            Some(name) => (true, name),
            None => (false, tag),
        };
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next();
        if name.is_some_and(|name| name.eq_ignore_ascii_case("sub")) {
            if closing {
                self.fine_print = self.fine_print.saturating_sub(1);
            } else {
                self.fine_print += 1;
            }
        }
    }

    fn finish_block(&mut self) {
        let block = std::mem::take(&mut self.text).trim().to_owned();
        if !block.is_empty() {
            self.blocks.push(block);
        }
    }

    fn finish_item(&mut self) {
        let item = std::mem::take(&mut self.text).trim().to_owned();
        if !item.is_empty() {
            let indent = "  ".repeat(self.list_depth.saturating_sub(1));
            self.list.push(format!("{indent}- {item}"));
        }
    }
}

impl Table {
    /// Columns two spaces apart, indented by two; right-aligned where the markdown says so.
    fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                let cells = self.rows.iter().filter_map(|row| row.get(column));
                cells.map(|cell| cell.chars().count()).max().unwrap_or(0)
            })
            .collect();
        let line = |row: &Vec<String>| {
            let cells = widths.iter().enumerate().map(|(column, &width)| {
                let cell = row.get(column).map_or("", String::as_str);
                match self.alignments.get(column) {
                    Some(Alignment::Right) => format!("{cell:>width$}"),
                    Some(Alignment::Center) => format!("{cell:^width$}"),
                    _ => format!("{cell:<width$}"),
                }
            });
            format!("  {}", cells.collect::<Vec<_>>().join("  "))
                .trim_end()
                .to_owned()
        };
        self.rows.iter().map(line).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_code_and_html_go_their_text_stays() {
        let markdown = "<!-- smallbatch:guidance -->\n## smallbatch\n\n#### Too large\n\n\
                        **505 lines** count, see `src/` and _this_.\n";
        assert_eq!(
            plain_text(markdown),
            "smallbatch\n==========\n\nToo large\n---------\n\n505 lines count, see src/ and this."
        );
    }

    #[test]
    fn tables_become_aligned_columns() {
        let markdown = "**Where to split:**\n\n| Directory | Files | Lines |\n|---|---:|---:|\n\
                        | `web/` | 1 | 300 |\n| `a\\|b/` | 12 | 5 |\n";
        assert_eq!(
            plain_text(markdown),
            "Where to split:\n\n  Directory  Files  Lines\n  web/           1    300\n  a|b/          12      5"
        );
    }

    #[test]
    fn fine_print_is_left_out_and_details_keep_their_text() {
        let markdown =
            "Text.\n\n<details><summary>More</summary>\n\nHidden *words*.\n\n</details>\n\n\
                        <sub>This comment is kept up to date.</sub>\n";
        assert_eq!(plain_text(markdown), "Text.\n\nMore\n\nHidden words.");
    }

    #[test]
    fn lists_and_links_read_as_plain_lines() {
        let markdown =
            "- one [docs](https://example.com/d)\n- two\n  - nested <https://x.y/>\n\nAfter.\n";
        assert_eq!(
            plain_text(markdown),
            "- one docs (https://example.com/d)\n- two\n  - nested https://x.y/\n\nAfter."
        );
    }
}
