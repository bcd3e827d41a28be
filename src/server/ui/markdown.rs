//! The check summary (markdown) as HTML for the PR page. The summary quotes file paths
//! and titles that PR authors chose, so raw HTML in it is shown as text, never run.
use pulldown_cmark::{html, Event, Options, Parser};

pub fn to_safe_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_and_raw_html_is_escaped() {
        let html = to_safe_html(
            "| File | Lines |\n|---|---:|\n| `a.rs` | 3 |\n\n<script>alert(1)</script>\n",
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<code>a.rs</code>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }
}
