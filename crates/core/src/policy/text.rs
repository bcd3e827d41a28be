//! Small formatting helpers shared by the rendered texts.

/// `1204` → `1,204`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 line`, `1,204 lines`.
pub fn counted(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", count(n), if n == 1 { singular } else { plural })
}

pub fn lines(n: u64) -> String {
    counted(n, "line", "lines")
}

pub fn files(n: u64) -> String {
    counted(n, "file", "files")
}

/// A path as inline code, safe inside a table cell.
pub fn code(path: &str) -> String {
    let escaped = path.replace('|', "\\|");
    if escaped.contains('`') {
        format!("`` {escaped} ``")
    } else {
        format!("`{escaped}`")
    }
}

/// `@alice`, `@alice and @bob`, `@a, @b and @c`.
pub fn people(logins: &[String]) -> String {
    let named: Vec<String> = logins.iter().map(|l| format!("@{l}")).collect();
    match named.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Review time at about 500 lines an hour, rounded to 5 minutes: `about 2 h 25 min`.
pub fn review_time(lines: u64) -> String {
    let minutes = (lines.saturating_mul(60).saturating_add(250)) / 500;
    let minutes = ((minutes + 2) / 5 * 5).max(5);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("about {m} min"),
        (h, 0) => format!("about {h} h"),
        (h, m) => format!("about {h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn plurals() {
        assert_eq!(lines(1), "1 line");
        assert_eq!(lines(1204), "1,204 lines");
        assert_eq!(files(0), "0 files");
    }

    #[test]
    fn review_time_rounds_to_five_minutes() {
        assert_eq!(review_time(1), "about 5 min");
        assert_eq!(review_time(250), "about 30 min");
        assert_eq!(review_time(500), "about 1 h");
        assert_eq!(review_time(1204), "about 2 h 25 min");
    }

    #[test]
    fn people_are_listed_naturally() {
        let p = |l: &[&str]| people(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["a"]), "@a");
        assert_eq!(p(&["a", "b"]), "@a and @b");
        assert_eq!(p(&["a", "b", "c"]), "@a, @b and @c");
    }

    #[test]
    fn code_escapes_table_pipes() {
        assert_eq!(code("a|b.rs"), "`a\\|b.rs`");
    }
}
