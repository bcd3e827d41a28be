//! Process settings from an optional `smallbatch.toml`, overridden by `SMALLBATCH_*`
//! environment variables (`__` separates sections: `SMALLBATCH_GITHUB__APP_ID`).
//!
//! Between the two, the credentials file the setup page wrote (see [`credentials`]).
//!
//! Deserialization is lenient (everything optional) and validation is ours, so that a
//! bad setting stops start-up with one line naming the variable an operator would set.

pub mod credentials;
mod file_keys;
mod ui;

pub use ui::{UiAccess, UiSettings};
mod setup;

pub use setup::{SetupSettings, CREDENTIALS_FILE_NAME, DEFAULT_GITHUB_URL};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://smallbatch.db";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
pub const DEFAULT_GITLAB_URL: &str = "https://gitlab.com";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// Every setting that is missing, named at once.
    #[error("missing {}", missing_list(.0))]
    Missing(Vec<&'static str>),
    /// Keys of the settings file that no setting has (typos, mostly).
    #[error("unknown setting{} in {file}: {}", if .keys.len() == 1 { "" } else { "s" }, .keys.join(", "))]
    UnknownKeys { file: String, keys: Vec<String> },
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read settings: {0}")]
    Source(String),
    #[error("cannot read the credentials file {file}: {reason}")]
    Credentials { file: String, reason: String },
    /// A GitHub App setting is wrong while the credentials file sets the app.
    #[error("{error} (the GitHub App's settings come from the credentials file {file}, then from the environment)")]
    FromCredentials {
        file: String,
        error: Box<SettingsError>,
    },
}

impl SettingsError {
    fn names_github_setting(&self) -> bool {
        let github = |name: &str| name.starts_with("SMALLBATCH_GITHUB__");
        match self {
            Self::Missing(names) => names.iter().any(|n| github(n)),
            Self::Invalid { name, .. } => github(name),
            _ => false,
        }
    }
}

fn missing_list(names: &[&str]) -> String {
    match names {
        [one] => format!("setting {one}"),
        [init @ .., last] => format!("settings {} and {last}", init.join(", ")),
        [] => "settings".to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub log_format: LogFormat,
    pub worker: WorkerSettings,
    pub github: Option<GitHubSettings>,
    pub gitlab: Option<GitLabSettings>,
    /// Where `/ship` reads production telemetry (the Prometheus HTTP API).
    pub prometheus_url: Option<Url>,
    pub sweep: SweepSettings,
    /// How delivery metrics count failures.
    pub dora: DoraSettings,
    /// The web pages for people: the dashboard and a page per PR.
    pub ui: UiSettings,
    /// The setup page's settings; it is served when neither forge is configured.
    pub setup: SetupSettings,
}

impl Settings {
    /// Neither GitHub nor GitLab is configured: `serve` shows the setup page.
    pub fn needs_setup(&self) -> bool {
        self.github.is_none() && self.gitlab.is_none()
    }
}

/// Delivery metrics (`GET /metrics`; `smallbatch report` reads the same variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoraSettings {
    /// A deploy reverted or rolled back within this long after it deployed failed.
    pub failure_window: Duration,
}

impl Default for DoraSettings {
    fn default() -> Self {
        Self {
            failure_window: Duration::from_secs(24 * 3600),
        }
    }
}

impl DoraSettings {
    /// Reads `SMALLBATCH_DORA__FAILURE_WINDOW`'s value: `24h`, `90m`, `1h30m`.
    pub fn failure_window(text: &str) -> Result<Duration, SettingsError> {
        let window = crate::policy::config::duration_text::parse(text)
            .map_err(|e| invalid("SMALLBATCH_DORA__FAILURE_WINDOW", e))?;
        if window.is_zero() {
            return Err(invalid(
                "SMALLBATCH_DORA__FAILURE_WINDOW",
                "must be longer than 0s",
            ));
        }
        Ok(window)
    }
}

/// The periodic sweep that recovers from missed webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    /// Time between sweeps; `None` disables the sweep.
    pub interval: Option<Duration>,
}

impl SweepSettings {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

    pub fn disabled() -> Self {
        Self { interval: None }
    }
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            interval: Some(Self::DEFAULT_INTERVAL),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once; jobs on one PR never run concurrently.
    pub concurrency: usize,
    /// How long a claimed job is ours before another worker may take it over.
    pub lease: Duration,
    /// Attempts before a failing job is parked.
    pub max_attempts: u32,
    /// How long shutdown waits for in-flight jobs before handing them back.
    pub drain_timeout: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            // Short, and renewed every third of it while the job runs: a dead
            // replica's jobs are taken over within seconds, a live one keeps them.
            lease: Duration::from_secs(9),
            max_attempts: 20,
            drain_timeout: Duration::from_secs(25),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub app_id: u64,
    pub private_key: SecretString,
    pub webhook_secret: SecretString,
    pub api_url: Url,
}

#[derive(Debug, Clone)]
pub struct GitLabSettings {
    /// The instance: `https://gitlab.com` or a self-managed base URL.
    pub url: Url,
    /// A project, group or bot access token with the `api` scope.
    pub token: SecretString,
    /// Accepted `X-Gitlab-Token` values; several allow rotating without downtime.
    pub webhook_secrets: Vec<SecretString>,
}

/// The shape on disk and in the environment: all optional, checked by `validate`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Raw {
    listen: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    credentials_file: Option<PathBuf>,
    log_format: Option<String>,
    worker: RawWorker,
    github: RawGitHub,
    gitlab: RawGitLab,
    telemetry: RawTelemetry,
    sweep: RawSweep,
    dora: RawDora,
    ui: ui::RawUi,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawDora {
    failure_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSweep {
    interval_secs: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTelemetry {
    prometheus_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawGitLab {
    url: Option<String>,
    token: Option<SecretString>,
    webhook_secret: Option<SecretString>,
}

impl RawGitLab {
    fn is_empty(&self) -> bool {
        self.url.is_none() && self.token.is_none() && self.webhook_secret.is_none()
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self
            .token
            .as_ref()
            .is_none_or(|t| t.expose_secret().trim().is_empty())
        {
            missing.push("SMALLBATCH_GITLAB__TOKEN");
        }
        let no_secret = self
            .webhook_secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().split(',').all(|s| s.trim().is_empty()));
        if no_secret {
            missing.push("SMALLBATCH_GITLAB__WEBHOOK_SECRET");
        }
        missing
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawWorker {
    concurrency: Option<String>,
    lease_secs: Option<String>,
    max_attempts: Option<String>,
    drain_timeout_secs: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawGitHub {
    app_id: Option<String>,
    private_key_path: Option<PathBuf>,
    private_key: Option<SecretString>,
    webhook_secret: Option<SecretString>,
    /// The web URL, for GitHub Enterprise Server; the API's follows from it.
    url: Option<String>,
    api_url: Option<String>,
}

impl RawGitHub {
    /// No credential is set. Which GitHub (`url`, `api_url`) is no credential: with
    /// only those, the setup page registers the app there.
    fn is_empty(&self) -> bool {
        self.app_id.is_none()
            && self.private_key_path.is_none()
            && self.private_key.is_none()
            && self.webhook_secret.is_none()
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.app_id.is_none() {
            missing.push("SMALLBATCH_GITHUB__APP_ID");
        }
        if self.private_key.is_none() && self.private_key_path.is_none() {
            missing.push("SMALLBATCH_GITHUB__PRIVATE_KEY_PATH");
        }
        if self
            .webhook_secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().is_empty())
        {
            missing.push("SMALLBATCH_GITHUB__WEBHOOK_SECRET");
        }
        missing
    }
}

impl Settings {
    /// Loads `file` (when given, it must exist) or `./smallbatch.toml` (when present),
    /// then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(file, &env_source())
    }

    fn load_with(file: Option<&Path>, env: &config::Environment) -> Result<Self, SettingsError> {
        let file_source = match file {
            Some(path) => config::File::from(path).required(true),
            None => config::File::with_name("smallbatch").required(false),
        };
        let in_file = config::Source::collect(&file_source)
            .map_err(|e| SettingsError::Source(e.to_string()))?;
        let keys = file_keys::unknown(&in_file);
        if !keys.is_empty() {
            let file = file.map_or("smallbatch.toml".to_owned(), |p| p.display().to_string());
            return Err(SettingsError::UnknownKeys { file, keys });
        }
        let without_credentials =
            raw_from(&[&file_source, env]).map_err(|e| SettingsError::Source(e.to_string()))?;
        // Where the credentials file is follows from the other settings.
        let path = credentials_path(&without_credentials);
        let Some(credentials) = credentials_source(&path)? else {
            return Self::validate(without_credentials);
        };
        let raw = raw_from(&[&file_source, credentials.as_ref(), env]).map_err(|e| {
            SettingsError::Credentials {
                file: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        Self::validate(raw).map_err(|error| {
            if error.names_github_setting() {
                SettingsError::FromCredentials {
                    file: path.display().to_string(),
                    error: Box::new(error),
                }
            } else {
                error
            }
        })
    }

    fn validate(raw: Raw) -> Result<Self, SettingsError> {
        let listen = match raw.listen {
            Some(s) => listen_address(&s)?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let database_url = raw
            .database_url
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !is_supported_database(&database_url) {
            return Err(SettingsError::Invalid {
                name: "SMALLBATCH_DATABASE_URL",
                reason: "expected a sqlite:// or postgres:// URL".into(),
            });
        }
        let log_format = match raw.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "SMALLBATCH_LOG_FORMAT",
                    reason: format!("expected text or json, got {other:?}"),
                })
            }
        };
        let worker = validate_worker(raw.worker)?;
        let (github_url, github_api_url) =
            setup::github_urls(raw.github.url.as_deref(), raw.github.api_url.as_deref())?;
        let setup = SetupSettings {
            public_url: setup::public_url(raw.public_url.as_deref())?,
            credentials_file: setup::credentials_file(
                raw.credentials_file.as_deref(),
                &database_url,
            ),
            github_url,
            github_api_url: github_api_url.clone(),
        };
        // Every missing setting of both sections is named at once.
        let mut missing = Vec::new();
        if !raw.github.is_empty() {
            missing.extend(raw.github.missing());
        }
        if !raw.gitlab.is_empty() {
            missing.extend(raw.gitlab.missing());
        }
        if !missing.is_empty() {
            return Err(SettingsError::Missing(missing));
        }
        let github = if raw.github.is_empty() {
            None
        } else {
            Some(validate_github(raw.github, github_api_url)?)
        };
        let gitlab = if raw.gitlab.is_empty() {
            None
        } else {
            Some(validate_gitlab(raw.gitlab)?)
        };
        let prometheus_url = raw
            .telemetry
            .prometheus_url
            .filter(|u| !u.trim().is_empty())
            .map(|u| Url::parse(u.trim()))
            .transpose()
            .map_err(|e| invalid("SMALLBATCH_TELEMETRY__PROMETHEUS_URL", e))?;
        let sweep = validate_sweep(raw.sweep)?;
        let dora = match raw.dora.failure_window {
            Some(text) => DoraSettings {
                failure_window: DoraSettings::failure_window(&text)?,
            },
            None => DoraSettings::default(),
        };
        let ui = ui::validate_ui(raw.ui, setup.public_url.clone(), listen)?;
        Ok(Self {
            listen,
            database_url,
            log_format,
            worker,
            github,
            gitlab,
            prometheus_url,
            sweep,
            dora,
            ui,
            setup,
        })
    }
}

type Source = dyn config::Source + Send + Sync;

/// The settings from `sources`, each overriding the ones before it.
fn raw_from(sources: &[&Source]) -> Result<Raw, config::ConfigError> {
    let layers: Vec<Box<Source>> = sources.iter().map(|s| s.clone_into_box()).collect();
    config::Config::builder()
        .add_source(layers)
        .build()?
        .try_deserialize()
}

fn credentials_path(raw: &Raw) -> PathBuf {
    setup::credentials_file(
        raw.credentials_file.as_deref(),
        raw.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL),
    )
}

/// The credentials file as a settings source, when it exists; its unknown keys and a
/// file that cannot be read or parsed name it.
fn credentials_source(path: &Path) -> Result<Option<Box<Source>>, SettingsError> {
    let failed = |reason: String| SettingsError::Credentials {
        file: path.display().to_string(),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e.to_string())),
    }
    let source = config::File::from(path)
        .format(config::FileFormat::Toml)
        .required(true);
    let keys = config::Source::collect(&source).map_err(|e| failed(e.to_string()))?;
    let unknown = file_keys::unknown(&keys);
    if !unknown.is_empty() {
        return Err(SettingsError::UnknownKeys {
            file: path.display().to_string(),
            keys: unknown,
        });
    }
    Ok(Some(Box::new(source)))
}

/// `host:port`: an IP address, or a name such as `localhost` (its first address).
fn listen_address(text: &str) -> Result<SocketAddr, SettingsError> {
    if let Ok(addr) = text.trim().parse() {
        return Ok(addr);
    }
    let mut addrs = text
        .trim()
        .to_socket_addrs()
        .map_err(|e| invalid("SMALLBATCH_LISTEN", format!("{text:?}: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| invalid("SMALLBATCH_LISTEN", format!("{text:?} names no address")))
}

fn env_source() -> config::Environment {
    config::Environment::with_prefix("SMALLBATCH")
        .prefix_separator("_")
        .separator("__")
}

fn is_supported_database(url: &str) -> bool {
    ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|p| url.starts_with(p))
}

fn invalid(name: &'static str, reason: impl ToString) -> SettingsError {
    SettingsError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

fn parse_number<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, SettingsError>
where
    T::Err: ToString,
{
    match value {
        Some(s) => s.trim().parse().map_err(|e| invalid(name, e)),
        None => Ok(default),
    }
}

fn validate_worker(raw: RawWorker) -> Result<WorkerSettings, SettingsError> {
    let d = WorkerSettings::default();
    let concurrency = parse_number(
        "SMALLBATCH_WORKER__CONCURRENCY",
        raw.concurrency,
        d.concurrency,
    )?;
    if concurrency == 0 {
        return Err(invalid(
            "SMALLBATCH_WORKER__CONCURRENCY",
            "must be at least 1",
        ));
    }
    let lease = parse_number(
        "SMALLBATCH_WORKER__LEASE_SECS",
        raw.lease_secs,
        d.lease.as_secs(),
    )?;
    let drain = parse_number(
        "SMALLBATCH_WORKER__DRAIN_TIMEOUT_SECS",
        raw.drain_timeout_secs,
        d.drain_timeout.as_secs(),
    )?;
    Ok(WorkerSettings {
        concurrency,
        lease: Duration::from_secs(lease.max(1)),
        max_attempts: parse_number(
            "SMALLBATCH_WORKER__MAX_ATTEMPTS",
            raw.max_attempts,
            d.max_attempts,
        )?,
        drain_timeout: Duration::from_secs(drain),
    })
}

fn validate_sweep(raw: RawSweep) -> Result<SweepSettings, SettingsError> {
    let secs = parse_number(
        "SMALLBATCH_SWEEP__INTERVAL_SECS",
        raw.interval_secs,
        SweepSettings::DEFAULT_INTERVAL.as_secs(),
    )?;
    Ok(SweepSettings {
        interval: (secs > 0).then(|| Duration::from_secs(secs)),
    })
}

fn validate_github(raw: RawGitHub, api_url: Url) -> Result<GitHubSettings, SettingsError> {
    let app_id = raw
        .app_id
        .ok_or(SettingsError::Missing(vec!["SMALLBATCH_GITHUB__APP_ID"]))?
        .trim()
        .parse()
        .map_err(|e| invalid("SMALLBATCH_GITHUB__APP_ID", e))?;
    // A bad key is reported under the variable that was really set.
    let (private_key, key_setting, key_source) = match (raw.private_key, raw.private_key_path) {
        (Some(pem), _) => (pem, "SMALLBATCH_GITHUB__PRIVATE_KEY", String::new()),
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(&path)
                .map(SecretString::from)
                .map_err(|e| {
                    invalid(
                        "SMALLBATCH_GITHUB__PRIVATE_KEY_PATH",
                        format!("{}: {e}", path.display()),
                    )
                })?;
            let source = format!("{}: ", path.display());
            (pem, "SMALLBATCH_GITHUB__PRIVATE_KEY_PATH", source)
        }
        (None, None) => {
            return Err(SettingsError::Missing(vec![
                "SMALLBATCH_GITHUB__PRIVATE_KEY_PATH",
            ]))
        }
    };
    if !private_key.expose_secret().contains("PRIVATE KEY-----") {
        return Err(invalid(
            key_setting,
            format!("{key_source}not a PEM private key"),
        ));
    }
    let webhook_secret = raw
        .webhook_secret
        .filter(|s| !s.expose_secret().is_empty())
        .ok_or(SettingsError::Missing(vec![
            "SMALLBATCH_GITHUB__WEBHOOK_SECRET",
        ]))?;
    Ok(GitHubSettings {
        app_id,
        private_key,
        webhook_secret,
        api_url,
    })
}

fn validate_gitlab(raw: RawGitLab) -> Result<GitLabSettings, SettingsError> {
    let url = raw.url.as_deref().unwrap_or(DEFAULT_GITLAB_URL);
    let url = Url::parse(url).map_err(|e| invalid("SMALLBATCH_GITLAB__URL", e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("SMALLBATCH_GITLAB__URL", "expected an http(s) URL"));
    }
    let token = raw
        .token
        .filter(|t| !t.expose_secret().trim().is_empty())
        .ok_or(SettingsError::Missing(vec!["SMALLBATCH_GITLAB__TOKEN"]))?;
    let webhook_secrets: Vec<SecretString> = raw
        .webhook_secret
        .map(|s| {
            s.expose_secret()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SecretString::from)
                .collect()
        })
        .unwrap_or_default();
    if webhook_secrets.is_empty() {
        return Err(SettingsError::Missing(vec![
            "SMALLBATCH_GITLAB__WEBHOOK_SECRET",
        ]));
    }
    Ok(GitLabSettings {
        url,
        token,
        webhook_secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n";

    fn raw_github() -> RawGitHub {
        RawGitHub {
            app_id: Some("42".into()),
            private_key: Some(PEM.into()),
            webhook_secret: Some("s3cret".into()),
            ..Default::default()
        }
    }

    fn raw() -> Raw {
        Raw {
            github: raw_github(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_apply() {
        let s = Settings::validate(raw()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url, "sqlite://smallbatch.db");
        let gh = s.github.unwrap();
        assert_eq!(gh.app_id, 42);
        assert_eq!(gh.api_url.as_str(), "https://api.github.com/");
        assert_eq!(s.sweep.interval, Some(Duration::from_secs(600)));
    }

    #[test]
    fn sweep_interval_is_in_seconds_and_zero_disables_it() {
        let with = |secs: &str| {
            Settings::validate(Raw {
                sweep: RawSweep {
                    interval_secs: Some(secs.into()),
                },
                ..raw()
            })
        };
        assert_eq!(
            with("90").unwrap().sweep.interval,
            Some(Duration::from_secs(90))
        );
        assert_eq!(with("0").unwrap().sweep, SweepSettings::disabled());
        assert_eq!(
            with("ten").unwrap_err().to_string(),
            "invalid setting SMALLBATCH_SWEEP__INTERVAL_SECS: invalid digit found in string"
        );
        assert!(with("-5")
            .unwrap_err()
            .to_string()
            .starts_with("invalid setting SMALLBATCH_SWEEP__INTERVAL_SECS: "));
    }

    #[test]
    fn the_failure_window_reads_as_the_policy_writes_durations() {
        let with = |window: &str| {
            Settings::validate(Raw {
                dora: RawDora {
                    failure_window: Some(window.into()),
                },
                ..raw()
            })
        };
        assert_eq!(
            Settings::validate(raw()).unwrap().dora.failure_window,
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            with("1h30m").unwrap().dora.failure_window,
            Duration::from_secs(5400)
        );
        assert_eq!(
            with("a day").unwrap_err().to_string(),
            "invalid setting SMALLBATCH_DORA__FAILURE_WINDOW: invalid duration `a day`: write it like `90s`, `15m` or `1h30m`"
        );
        assert_eq!(
            with("0s").unwrap_err().to_string(),
            "invalid setting SMALLBATCH_DORA__FAILURE_WINDOW: must be longer than 0s"
        );
    }

    #[test]
    fn each_missing_setting_is_named() {
        let mut r = raw();
        r.github.webhook_secret = None;
        assert_eq!(
            Settings::validate(r).unwrap_err().to_string(),
            "missing setting SMALLBATCH_GITHUB__WEBHOOK_SECRET"
        );
        let mut r = raw();
        r.github.private_key = None;
        assert_eq!(
            Settings::validate(r).unwrap_err().to_string(),
            "missing setting SMALLBATCH_GITHUB__PRIVATE_KEY_PATH"
        );
        // Neither forge: the setup page is served.
        let s = Settings::validate(Raw::default()).unwrap();
        assert!(s.needs_setup());
    }

    #[test]
    fn invalid_values_are_named_without_echoing_secrets() {
        let mut r = raw();
        r.listen = Some("not-an-address".into());
        let e = Settings::validate(r).unwrap_err().to_string();
        assert!(e.starts_with("invalid setting SMALLBATCH_LISTEN: "), "{e}");

        let mut r = raw();
        r.github.private_key = Some("hunter2".into());
        let e = Settings::validate(r).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid setting SMALLBATCH_GITHUB__PRIVATE_KEY: not a PEM private key"
        );

        let mut r = raw();
        r.database_url = Some("mysql://x".into());
        assert!(Settings::validate(r)
            .unwrap_err()
            .to_string()
            .starts_with("invalid setting SMALLBATCH_DATABASE_URL"));
    }

    #[test]
    fn gitlab_alone_is_enough_and_takes_several_secrets() {
        let raw = Raw {
            gitlab: RawGitLab {
                token: Some("glpat-abc".into()),
                webhook_secret: Some(" old-secret , new-secret,".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let s = Settings::validate(raw).unwrap();
        assert!(s.github.is_none());
        let gl = s.gitlab.unwrap();
        assert_eq!(gl.url.as_str(), "https://gitlab.com/");
        let secrets: Vec<&str> = gl
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["old-secret", "new-secret"]);
        assert!(!format!("{gl:?}").contains("glpat-abc"));
    }

    #[test]
    fn gitlab_settings_are_named_when_missing() {
        let raw = Raw {
            gitlab: RawGitLab {
                url: Some("https://gitlab.example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            Settings::validate(raw).unwrap_err().to_string(),
            "missing settings SMALLBATCH_GITLAB__TOKEN and SMALLBATCH_GITLAB__WEBHOOK_SECRET"
        );
        let raw = Raw {
            gitlab: RawGitLab {
                token: Some("t".into()),
                webhook_secret: Some(" , ".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            Settings::validate(raw).unwrap_err().to_string(),
            "missing setting SMALLBATCH_GITLAB__WEBHOOK_SECRET"
        );
    }

    #[test]
    fn every_missing_setting_of_both_sections_is_named_at_once() {
        let raw = Raw {
            github: RawGitHub {
                app_id: Some("1".into()),
                ..Default::default()
            },
            gitlab: RawGitLab {
                url: Some("https://gitlab.example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            Settings::validate(raw).unwrap_err().to_string(),
            "missing settings SMALLBATCH_GITHUB__PRIVATE_KEY_PATH, \
             SMALLBATCH_GITHUB__WEBHOOK_SECRET, SMALLBATCH_GITLAB__TOKEN and \
             SMALLBATCH_GITLAB__WEBHOOK_SECRET"
        );
    }

    #[test]
    fn a_bad_key_read_from_a_file_names_the_path_setting_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.pem");
        std::fs::write(&path, "not a key").unwrap();
        let mut r = raw();
        r.github.private_key = None;
        r.github.private_key_path = Some(path.clone());
        assert_eq!(
            Settings::validate(r).unwrap_err().to_string(),
            format!(
                "invalid setting SMALLBATCH_GITHUB__PRIVATE_KEY_PATH: {}: not a PEM private key",
                path.display()
            )
        );
    }

    #[test]
    fn a_host_name_is_a_listen_address() {
        let mut r = raw();
        r.listen = Some("localhost:3000".into());
        let s = Settings::validate(r).unwrap();
        assert!(s.listen.ip().is_loopback(), "{}", s.listen);
        assert_eq!(s.listen.port(), 3000);
    }

    #[test]
    fn unknown_keys_in_the_settings_file_stop_start_up_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smallbatch.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:3000\"\n[github]\napp_id = 1\nwebhook_secrets = \"x\"\n",
        )
        .unwrap();
        assert_eq!(
            Settings::load(Some(&path)).unwrap_err().to_string(),
            format!(
                "unknown setting in {}: github.webhook_secrets",
                path.display()
            )
        );
    }

    /// `smallbatch.toml` with `database_url` in `dir`, and `credentials` as the
    /// credentials file beside the database.
    fn files(dir: &Path, credentials: &str) -> PathBuf {
        let settings = dir.join("smallbatch.toml");
        let db = dir.join("sb.db");
        std::fs::write(
            &settings,
            format!("database_url = \"sqlite://{}\"\n", db.display()),
        )
        .unwrap();
        std::fs::write(dir.join(CREDENTIALS_FILE_NAME), credentials).unwrap();
        settings
    }

    fn env(vars: &[(&str, &str)]) -> config::Environment {
        env_source().source(Some(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn the_credentials_file_sets_the_github_app_and_the_environment_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = credentials::GitHubCredentials {
            app_id: 42,
            private_key: PEM.into(),
            webhook_secret: "from-file".into(),
        };
        let settings = files(dir.path(), &credentials::render(&app, "test"));
        let s = Settings::load_with(Some(&settings), &env(&[])).unwrap();
        assert!(!s.needs_setup());
        let gh = s.github.unwrap();
        assert_eq!(gh.app_id, 42);
        assert_eq!(gh.webhook_secret.expose_secret(), "from-file");
        assert_eq!(gh.private_key.expose_secret(), PEM);
        assert_eq!(
            s.setup.credentials_file,
            dir.path().join(CREDENTIALS_FILE_NAME)
        );

        let s = Settings::load_with(
            Some(&settings),
            &env(&[("SMALLBATCH_GITHUB__WEBHOOK_SECRET", "from-env")]),
        )
        .unwrap();
        let gh = s.github.unwrap();
        assert_eq!(gh.webhook_secret.expose_secret(), "from-env");
        assert_eq!(gh.app_id, 42);
    }

    #[test]
    fn without_a_credentials_file_or_forge_settings_the_setup_page_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let settings = files(dir.path(), "");
        std::fs::remove_file(dir.path().join(CREDENTIALS_FILE_NAME)).unwrap();
        let s = Settings::load_with(
            Some(&settings),
            &env(&[
                ("SMALLBATCH_PUBLIC_URL", "https://sb.example.com"),
                ("SMALLBATCH_GITHUB__URL", "https://ghe.example.com"),
            ]),
        )
        .unwrap();
        assert!(s.needs_setup());
        assert_eq!(
            s.setup.public_url.unwrap().as_str(),
            "https://sb.example.com/"
        );
        assert_eq!(
            s.setup.github_api_url.as_str(),
            "https://ghe.example.com/api/v3"
        );
    }

    #[test]
    fn a_bad_credentials_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CREDENTIALS_FILE_NAME);

        let settings = files(
            dir.path(),
            "[github]\napp_id = 1\nwebhook_secret = \"s\"\nprivate_key = \"nope\"\n",
        );
        assert_eq!(
            Settings::load_with(Some(&settings), &env(&[]))
                .unwrap_err()
                .to_string(),
            format!(
                "invalid setting SMALLBATCH_GITHUB__PRIVATE_KEY: not a PEM private key (the \
                 GitHub App's settings come from the credentials file {}, then from the \
                 environment)",
                path.display()
            )
        );

        let settings = files(dir.path(), "[github]\napp_id = 1\nwebhok_secret = \"s\"\n");
        assert_eq!(
            Settings::load_with(Some(&settings), &env(&[]))
                .unwrap_err()
                .to_string(),
            format!(
                "unknown setting in {}: github.webhok_secret",
                path.display()
            )
        );

        let settings = files(dir.path(), "[github\napp_id = 1\n");
        let e = Settings::load_with(Some(&settings), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "cannot read the credentials file {}: ",
                path.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = Settings::validate(raw()).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"));
        assert!(!shown.contains("abc"));
    }

    #[test]
    fn environment_names_map_to_sections() {
        let source = config::Environment::with_prefix("SMALLBATCH")
            .prefix_separator("_")
            .separator("__")
            .source(Some(
                [
                    ("SMALLBATCH_LISTEN", "0.0.0.0:8080"),
                    ("SMALLBATCH_DATABASE_URL", "postgres://db/x"),
                    ("SMALLBATCH_GITHUB__APP_ID", "7"),
                    ("SMALLBATCH_GITHUB__PRIVATE_KEY", PEM),
                    ("SMALLBATCH_GITHUB__WEBHOOK_SECRET", "w"),
                    ("SMALLBATCH_SWEEP__INTERVAL_SECS", "120"),
                    (
                        "SMALLBATCH_GITHUB__API_URL",
                        "https://ghe.example.com/api/v3",
                    ),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ));
        let raw: Raw = config::Config::builder()
            .add_source(source)
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        let s = Settings::validate(raw).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(s.database_url, "postgres://db/x");
        let gh = s.github.unwrap();
        assert_eq!(gh.app_id, 7);
        assert_eq!(gh.api_url.as_str(), "https://ghe.example.com/api/v3");
        assert_eq!(s.sweep.interval, Some(Duration::from_secs(120)));
    }
}
