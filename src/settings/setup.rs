//! What the setup page needs: where this server is reachable, which GitHub registers
//! the app (github.com or a GitHub Enterprise Server), and where it keeps what GitHub
//! returns.
use super::{invalid, SettingsError};
use std::path::{Path, PathBuf};
use url::Url;

pub const DEFAULT_GITHUB_URL: &str = "https://github.com";
/// The file name of the default credentials file, beside the SQLite database.
pub const CREDENTIALS_FILE_NAME: &str = "smallbatch-credentials.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupSettings {
    /// The address GitHub reaches this server at; the page asks for it when unset.
    pub public_url: Option<Url>,
    /// Where the setup page writes the GitHub App's credentials, and start-up reads them.
    pub credentials_file: PathBuf,
    /// GitHub's web pages: `https://github.com` or the Enterprise Server's own URL.
    pub github_url: Url,
    /// GitHub's REST API: `https://api.github.com`, or `<github_url>/api/v3`.
    pub github_api_url: Url,
}

impl Default for SetupSettings {
    fn default() -> Self {
        let github_url = Url::parse(DEFAULT_GITHUB_URL).expect("the default URL is valid");
        Self {
            public_url: None,
            credentials_file: PathBuf::from(CREDENTIALS_FILE_NAME),
            github_api_url: api_url_of(&github_url),
            github_url,
        }
    }
}

/// The API of the GitHub at `web`: github.com's is a host of its own, an Enterprise
/// Server's is under `/api/v3`.
pub fn api_url_of(web: &Url) -> Url {
    if web.host_str() == Some("github.com") {
        return Url::parse(super::DEFAULT_GITHUB_API_URL).expect("the default URL is valid");
    }
    let mut api = web.clone();
    let root = web.path().trim_end_matches('/');
    api.set_path(&format!("{root}/api/v3"));
    api
}

/// The GitHub web and API URLs from `github.url` and `github.api_url`, either unset.
pub(super) fn github_urls(
    url: Option<&str>,
    api_url: Option<&str>,
) -> Result<(Url, Url), SettingsError> {
    let web = http_url("SMALLBATCH_GITHUB__URL", url.unwrap_or(DEFAULT_GITHUB_URL))?;
    let api = match api_url {
        Some(api) => {
            Url::parse(api.trim()).map_err(|e| invalid("SMALLBATCH_GITHUB__API_URL", e))?
        }
        None => api_url_of(&web),
    };
    Ok((web, api))
}

/// `SMALLBATCH_PUBLIC_URL`: an http(s) base URL, without a query or a fragment.
pub(super) fn public_url(text: Option<&str>) -> Result<Option<Url>, SettingsError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let url = http_url("SMALLBATCH_PUBLIC_URL", text)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "SMALLBATCH_PUBLIC_URL",
            "expected a base URL, without ? or #",
        ));
    }
    Ok(Some(url))
}

fn http_url(name: &'static str, text: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid(name, e))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(name, "expected an http(s) URL"));
    }
    Ok(url)
}

/// `SMALLBATCH_CREDENTIALS_FILE`, else the default file beside the SQLite database (in
/// the working directory for PostgreSQL or an in-memory database).
pub(super) fn credentials_file(set: Option<&Path>, database_url: &str) -> PathBuf {
    if let Some(path) = set.filter(|p| !p.as_os_str().is_empty()) {
        return path.to_owned();
    }
    let folder = sqlite_path(database_url)
        .and_then(|db| db.parent().map(Path::to_owned))
        .unwrap_or_default();
    folder.join(CREDENTIALS_FILE_NAME)
}

/// The database file of a `sqlite:` URL, as sqlx reads it: `sqlite://PATH` or
/// `sqlite:PATH`, without its `?options`.
fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credentials_file_is_beside_the_sqlite_database_by_default() {
        let at = |db: &str| credentials_file(None, db);
        assert_eq!(
            at("sqlite:///var/lib/smallbatch/sb.db?mode=rwc"),
            Path::new("/var/lib/smallbatch/smallbatch-credentials.toml")
        );
        assert_eq!(
            at("sqlite://data/sb.db"),
            Path::new("data/smallbatch-credentials.toml")
        );
        assert_eq!(
            at("sqlite://smallbatch.db"),
            Path::new("smallbatch-credentials.toml")
        );
        assert_eq!(
            at("sqlite::memory:"),
            Path::new("smallbatch-credentials.toml")
        );
        assert_eq!(
            at("postgres://db/smallbatch"),
            Path::new("smallbatch-credentials.toml")
        );
        assert_eq!(
            credentials_file(Some(Path::new("/etc/sb/creds")), "sqlite://x.db"),
            Path::new("/etc/sb/creds")
        );
    }

    #[test]
    fn an_enterprise_server_api_is_under_api_v3() {
        let (web, api) = github_urls(None, None).unwrap();
        assert_eq!(web.as_str(), "https://github.com/");
        assert_eq!(api.as_str(), "https://api.github.com/");
        let (web, api) = github_urls(Some("https://ghe.example.com"), None).unwrap();
        assert_eq!(web.as_str(), "https://ghe.example.com/");
        assert_eq!(api.as_str(), "https://ghe.example.com/api/v3");
        let (_, api) =
            github_urls(Some("https://ghe.example.com/"), Some("http://proxy/api")).unwrap();
        assert_eq!(api.as_str(), "http://proxy/api");
        assert_eq!(
            github_urls(Some("ghe.example.com"), None)
                .unwrap_err()
                .to_string(),
            "invalid setting SMALLBATCH_GITHUB__URL: relative URL without a base"
        );
    }

    #[test]
    fn the_public_url_is_an_http_base_url() {
        assert_eq!(public_url(None).unwrap(), None);
        assert_eq!(public_url(Some(" ")).unwrap(), None);
        assert_eq!(
            public_url(Some("https://sb.example.com/bot"))
                .unwrap()
                .unwrap()
                .as_str(),
            "https://sb.example.com/bot"
        );
        assert_eq!(
            public_url(Some("ftp://sb.example.com"))
                .unwrap_err()
                .to_string(),
            "invalid setting SMALLBATCH_PUBLIC_URL: expected an http(s) URL"
        );
        assert_eq!(
            public_url(Some("https://sb.example.com/?a=b"))
                .unwrap_err()
                .to_string(),
            "invalid setting SMALLBATCH_PUBLIC_URL: expected a base URL, without ? or #"
        );
    }
}
