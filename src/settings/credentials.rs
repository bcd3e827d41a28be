//! The credentials file: the GitHub App the setup page registered, written once with
//! mode 0600 and read at every start-up as the `[github]` section of the settings
//! (environment variables override it).
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// What GitHub returned for a new app that the server needs to run as it.
#[derive(Debug, Clone)]
pub struct GitHubCredentials {
    pub app_id: u64,
    pub private_key: SecretString,
    pub webhook_secret: SecretString,
}

#[derive(Serialize)]
struct File<'a> {
    github: Section<'a>,
}

#[derive(Serialize)]
struct Section<'a> {
    app_id: u64,
    webhook_secret: &'a str,
    private_key: &'a str,
}

/// The file's text: `about` as a comment (which app, when), then the `[github]` section.
pub fn render(credentials: &GitHubCredentials, about: &str) -> String {
    let section = File {
        github: Section {
            app_id: credentials.app_id,
            webhook_secret: credentials.webhook_secret.expose_secret(),
            private_key: credentials.private_key.expose_secret(),
        },
    };
    let toml = toml::to_string(&section).expect("strings and numbers serialize");
    let mut text = String::new();
    for line in about.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(
        "# Written by smallbatch's setup page; keep it secret. Environment variables\n\
         # (SMALLBATCH_GITHUB__*) override it.\n\n",
    );
    text.push_str(&toml);
    text
}

/// Writes `text` to `path` so that no reader ever sees part of it and nobody else can
/// read it: a new file of mode 0600 beside `path`, synced, then renamed over it.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let written = write_new(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
        return written;
    }
    // The rename itself survives a power loss once the folder is synced.
    std::fs::File::open(folder)?.sync_all()
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> GitHubCredentials {
        GitHubCredentials {
            app_id: 42,
            private_key:
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\"x\\y\n-----END RSA PRIVATE KEY-----\n"
                    .into(),
            webhook_secret: "a\"b\\c".into(),
        }
    }

    #[test]
    fn the_file_is_toml_that_reads_back_the_same() {
        let text = render(
            &credentials(),
            "The app smallbatch\nhttps://github.com/apps/smallbatch",
        );
        assert!(text.starts_with("# The app smallbatch\n# https://github.com/apps/smallbatch\n"));
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["github"]["app_id"].as_integer(), Some(42));
        assert_eq!(
            back["github"]["private_key"].as_str(),
            Some(credentials().private_key.expose_secret())
        );
        assert_eq!(back["github"]["webhook_secret"].as_str(), Some("a\"b\\c"));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_created_with_mode_0600_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("creds.toml");
        write(&path, "first").unwrap();
        write(&path, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["creds.toml"]);
    }
}
