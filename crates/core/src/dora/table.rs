//! `smallbatch report`: the metrics as plain, aligned text.
use std::fmt::Write as _;

use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::bands::INSUFFICIENT_DATA;
use super::metrics::{DurationSummary, RepoMetrics};

pub(crate) const NONE: &str = "-";

/// One block per repository: the four keys with their bands and rework rate,
/// unrestored failures, then the batch-size table.
pub fn render_table(metrics: &[RepoMetrics]) -> String {
    if metrics.is_empty() {
        return "No ships recorded.\n".to_owned();
    }
    metrics
        .iter()
        .map(repo_block)
        .collect::<Vec<_>>()
        .join("\n")
}

fn repo_block(m: &RepoMetrics) -> String {
    let mut out = format!(
        "{}  ({} to {})\n",
        m.repo,
        timestamp(m.period_start),
        timestamp(m.period_end)
    );
    let band = |label: Option<&'static str>| label.unwrap_or(INSUFFICIENT_DATA).to_owned();
    let c = &m.counts;
    let keys = vec![
        row(["key", "value", "band"]),
        vec![
            "deployment frequency".into(),
            format!(
                "{} deploys, {:.2}/day, {:.1}/week",
                c.deployments, m.deploys_per_day, m.deploys_per_week
            ),
            band(m.bands.deployment_frequency.map(|b| b.label())),
        ],
        vec![
            "lead time".into(),
            m.lead_time
                .map_or(NONE.into(), |s| summary(s, "healthy deploys")),
            band(m.bands.lead_time.map(|b| b.label())),
        ],
        vec![
            "change failure rate".into(),
            m.change_failure_rate.map_or(NONE.into(), |r| {
                format!("{} ({} of {} judged)", percent(r), c.failed, c.judged())
            }),
            band(m.bands.change_failure_rate.map(|b| b.label())),
        ],
        vec![
            "rework rate".into(),
            m.rework_rate.map_or(NONE.into(), |r| {
                format!("{} ({} of {} deploys)", percent(r), c.rework, c.deployments)
            }),
            // DORA publishes no bands for its fifth metric.
            NONE.into(),
        ],
        vec![
            "time to restore".into(),
            m.time_to_restore
                .map_or(NONE.into(), |s| summary(s, "restored")),
            band(m.bands.time_to_restore.map(|b| b.label())),
        ],
    ];
    out.push_str(&aligned(&keys, &[false, false, false]));

    let mut notes = Vec::new();
    if c.reverted + c.rolled_back > 0 {
        notes.push(format!(
            "failed: {} regressed, {} reverted, {} rolled back (within the failure window)",
            c.regressed, c.reverted, c.rolled_back
        ));
    }
    if c.unknown + c.awaiting_verdict > 0 {
        notes.push(format!(
            "unjudged: {} unknown, {} awaiting a verdict (not in the failure rate)",
            c.unknown, c.awaiting_verdict
        ));
    }
    if c.reverts > 0 {
        notes.push(format!("reverts deployed: {}", c.reverts));
    }
    for u in &m.unrestored {
        notes.push(format!(
            "unrestored: #{} regressed {}, open {}",
            u.pr,
            timestamp(u.regressed_at),
            human(u.open_for)
        ));
    }
    for note in notes {
        let _ = writeln!(out, "  {note}");
    }

    out.push('\n');
    let mut sizes = vec![row([
        "size",
        "deploys",
        "failures",
        "failure rate",
        "median lead time",
    ])];
    sizes.extend(m.by_size.iter().map(|b| {
        vec![
            b.size.name().trim_start_matches("size/").to_owned(),
            b.deployments.to_string(),
            b.failures.to_string(),
            b.failure_rate.map_or(NONE.into(), percent),
            b.median_lead_time.map_or(NONE.into(), human),
        ]
    }));
    out.push_str(&aligned(&sizes, &[false, true, true, true, false]));
    out
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.map(str::to_owned).to_vec()
}

/// Pads columns to their widest cell, two spaces apart, indented by two;
/// trailing spaces trimmed so the output diffs cleanly.
fn aligned(rows: &[Vec<String>], right: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            let cells = rows.iter().filter_map(|r| r.get(i));
            cells.map(|c| c.chars().count()).max().unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (i, cell) in r.iter().enumerate() {
            let width = widths[i];
            if right.get(i).copied().unwrap_or(false) {
                let _ = write!(line, " {cell:>width$} ");
            } else {
                let _ = write!(line, " {cell:<width$} ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn summary(s: DurationSummary, of: &str) -> String {
    format!(
        "median {}, p90 {} ({} {of})",
        human(s.median),
        human(s.p90),
        s.samples
    )
}

pub(crate) fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// "45 s", "40 min", "3 h 20 min", "2 d 14 h": two units at most, the
/// smaller one rounded to the nearest.
pub(crate) fn human(d: Duration) -> String {
    let seconds = d.whole_seconds().max(0);
    let rounded = |unit: i64| seconds.saturating_add(unit / 2) / unit;
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let minutes = rounded(60);
    if minutes < 60 {
        return format!("{minutes} min");
    }
    if minutes < 24 * 60 {
        return match (minutes / 60, minutes % 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        };
    }
    match (rounded(3_600) / 24, rounded(3_600) % 24) {
        (d, 0) => format!("{d} d"),
        (d, h) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        let cases = [
            (Duration::seconds(45), "45 s"),
            (Duration::seconds(59), "59 s"),
            (Duration::seconds(89), "1 min"),
            (Duration::minutes(40), "40 min"),
            (Duration::seconds(3_570), "1 h"),
            (Duration::minutes(60), "1 h"),
            (Duration::minutes(200), "3 h 20 min"),
            (Duration::seconds(86_370), "1 d"),
            (Duration::hours(24), "1 d"),
            (Duration::hours(62), "2 d 14 h"),
            (Duration::minutes(62 * 60 + 29), "2 d 14 h"),
            (Duration::seconds(-5), "0 s"),
        ];
        for (d, text) in cases {
            assert_eq!(human(d), text, "{d}");
        }
    }

    #[test]
    fn no_repositories_says_so() {
        assert_eq!(render_table(&[]), "No ships recorded.\n");
    }
}
