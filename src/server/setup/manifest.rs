//! The GitHub App manifest the setup page posts to GitHub: `app-manifest.yml` as JSON,
//! with its three URLs pointing at this server.
use serde_json::Value;
use url::Url;

const MANIFEST: &str = include_str!("../../../app-manifest.yml");

/// Where GitHub sends the user back with the code to exchange.
pub const CALLBACK_PATH: &str = "/setup/callback";

/// `app-manifest.yml` with `url` (the app's homepage: this server),
/// `hook_attributes.url` (its GitHub webhook route) and `redirect_url` (the setup
/// page's callback) under `public_url`.
pub fn for_server(public_url: &Url) -> Value {
    let mut manifest: Value =
        serde_yaml_ng::from_str(MANIFEST).expect("app-manifest.yml is valid YAML");
    let base = public_url.as_str().trim_end_matches('/');
    manifest["url"] = base.into();
    manifest["hook_attributes"]["url"] = webhook_url(public_url).into();
    manifest["redirect_url"] = format!("{base}{CALLBACK_PATH}").into();
    manifest
}

/// Where GitHub delivers the app's webhooks.
pub fn webhook_url(public_url: &Url) -> String {
    let base = public_url.as_str().trim_end_matches('/');
    format!("{base}{}", crate::server::GITHUB_WEBHOOK_PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_urls_point_at_the_server_and_the_rest_is_the_file() {
        let url = Url::parse("https://sb.example.com/bot/").unwrap();
        let manifest = for_server(&url);
        assert_eq!(manifest["url"], "https://sb.example.com/bot");
        assert_eq!(
            manifest["hook_attributes"]["url"],
            "https://sb.example.com/bot/webhooks/github"
        );
        assert_eq!(manifest["hook_attributes"]["active"], true);
        assert_eq!(
            manifest["redirect_url"],
            "https://sb.example.com/bot/setup/callback"
        );
        let file: Value = serde_yaml_ng::from_str(MANIFEST).unwrap();
        let mut rest = manifest.clone();
        let mut original = file.clone();
        for m in [&mut rest, &mut original] {
            let m = m.as_object_mut().unwrap();
            m.remove("url");
            m.remove("redirect_url");
            m["hook_attributes"].as_object_mut().unwrap().remove("url");
        }
        assert_eq!(rest, original);
        assert_eq!(manifest["name"], "smallbatch");
        assert_eq!(manifest["default_permissions"]["checks"], "write");
    }

    #[test]
    fn the_files_urls_are_placeholders_with_the_routes_the_server_has() {
        let file: Value = serde_yaml_ng::from_str(MANIFEST).unwrap();
        let hook = file["hook_attributes"]["url"].as_str().unwrap();
        assert!(hook.ends_with(crate::server::GITHUB_WEBHOOK_PATH), "{hook}");
        let redirect = file["redirect_url"].as_str().unwrap();
        assert!(redirect.ends_with(CALLBACK_PATH), "{redirect}");
    }
}
