//! Unknown keys in `smallbatch.toml` are errors, as they are in the repository policy:
//! a misspelt key would otherwise be ignored and its default silently used. (The
//! environment is not checked: other programs' `SMALLBATCH_*` variables may be set.)

/// Each section of the file and the keys it takes; `""` is the top level.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "listen",
            "database_url",
            "public_url",
            "credentials_file",
            "log_format",
            "worker",
            "github",
            "gitlab",
            "telemetry",
            "sweep",
            "dora",
            "ui",
        ],
    ),
    (
        "worker",
        &[
            "concurrency",
            "lease_secs",
            "max_attempts",
            "drain_timeout_secs",
        ],
    ),
    (
        "github",
        &[
            "app_id",
            "private_key_path",
            "private_key",
            "webhook_secret",
            "url",
            "api_url",
        ],
    ),
    ("gitlab", &["url", "token", "webhook_secret"]),
    ("telemetry", &["prometheus_url"]),
    ("sweep", &["interval_secs"]),
    ("dora", &["failure_window"]),
    ("ui", &["token", "trusted_header"]),
];

/// The dotted names of the keys in `table` that no section takes, sorted.
pub(super) fn unknown(table: &config::Map<String, config::Value>) -> Vec<String> {
    let mut found = Vec::new();
    walk("", table, &mut found);
    found.sort();
    found
}

fn walk(section: &str, table: &config::Map<String, config::Value>, found: &mut Vec<String>) {
    let known = KNOWN
        .iter()
        .find(|(name, _)| *name == section)
        .map_or(&[][..], |(_, keys)| *keys);
    for (key, value) in table {
        let dotted = if section.is_empty() {
            key.clone()
        } else {
            format!("{section}.{key}")
        };
        if !known.contains(&key.to_ascii_lowercase().as_str()) {
            found.push(dotted);
            continue;
        }
        if let config::ValueKind::Table(inner) = &value.kind {
            if section.is_empty() {
                walk(key, inner, found);
            } else {
                found.push(dotted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(toml: &str) -> Vec<String> {
        let file = config::File::from_str(toml, config::FileFormat::Toml);
        unknown(&config::Source::collect(&file).unwrap())
    }

    #[test]
    fn every_unknown_key_is_named_with_its_section() {
        let found = keys(
            "listen = \"127.0.0.1:3000\"\nlisten_port = 3\n[github]\napp_id = 1\nappid = 2\n[wroker]\nx = 1\n",
        );
        assert_eq!(found, ["github.appid", "listen_port", "wroker"]);
    }

    #[test]
    fn a_file_of_known_keys_passes() {
        let found = keys(
            "database_url = \"sqlite://x.db\"\n[worker]\nlease_secs = 9\n[gitlab]\ntoken = \"t\"\n[sweep]\ninterval_secs = 60\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
