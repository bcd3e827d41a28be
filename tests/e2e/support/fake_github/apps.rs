//! GitHub's manifest flow, as GitHub documents it: the web page that registers an app
//! from a posted manifest (`/settings/apps/new`, `/organizations/{org}/settings/apps/new`)
//! and sends the browser back to the manifest's `redirect_url` with a code and the
//! `state`, as it does once the person clicks "Create GitHub App"; and the API call
//! `POST /app-manifests/{code}/conversions`, which trades a code (once, within the hour)
//! for the app's id, private key and webhook secret.
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wiremock::{Request, ResponseTemplate};

/// How long GitHub honours a code.
const CODE_VALID_FOR: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct Apps {
    /// Every manifest posted to the "new app" page, in order.
    pub posted: Vec<Posted>,
    /// Every app a conversion handed over: the API's answer.
    pub converted: Vec<Value>,
    codes: BTreeMap<String, Pending>,
    registered: u64,
}

#[derive(Debug, Clone)]
pub struct Posted {
    pub organization: Option<String>,
    pub state: Option<String>,
    pub manifest: Value,
}

struct Pending {
    manifest: Value,
    organization: Option<String>,
    expires: Instant,
}

impl Apps {
    /// Every code handed out so far is now older than an hour.
    pub fn expire_codes(&mut self) {
        for pending in self.codes.values_mut() {
            pending.expires = Instant::now();
        }
    }
}

/// The answer to a manifest-flow request, `None` for any other request.
pub fn route(apps: &mut Apps, base_url: &str, req: &Request) -> Option<ResponseTemplate> {
    let path = req.url.path();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["settings", "apps", "new"]) => Some(new_app(apps, None, req)),
        ("POST", ["organizations", org, "settings", "apps", "new"]) => {
            Some(new_app(apps, Some(org), req))
        }
        ("POST", ["app-manifests", code, "conversions"]) => Some(conversion(apps, base_url, code)),
        _ => None,
    }
}

/// The "new app" page once the person confirms: 302 to `redirect_url?code=…&state=…`.
fn new_app(apps: &mut Apps, organization: Option<&str>, req: &Request) -> ResponseTemplate {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    let state = req
        .url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    let Some(manifest) = form
        .get("manifest")
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
    else {
        return invalid("The manifest is missing or is not JSON.");
    };
    let url_of = |v: &Value| {
        v.as_str()
            .and_then(|u| url::Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    // GitHub requires both; this fake also needs the redirect to send the person back.
    if url_of(&manifest["url"]).is_none() || url_of(&manifest["hook_attributes"]["url"]).is_none() {
        return invalid("url and hook_attributes.url must be URLs.");
    }
    let Some(mut back) = url_of(&manifest["redirect_url"]) else {
        return invalid("redirect_url must be a URL.");
    };
    apps.posted.push(Posted {
        organization: organization.map(str::to_owned),
        state: state.clone(),
        manifest: manifest.clone(),
    });
    let code = format!("{:040x}", rand::random::<u128>());
    apps.codes.insert(
        code.clone(),
        Pending {
            manifest,
            organization: organization.map(str::to_owned),
            expires: Instant::now() + CODE_VALID_FOR,
        },
    );
    {
        let mut query = back.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &state {
            query.append_pair("state", state);
        }
    }
    ResponseTemplate::new(302).insert_header("location", back.as_str())
}

fn invalid(why: &str) -> ResponseTemplate {
    ResponseTemplate::new(422)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_string(format!(
            "<h1>Invalid GitHub App configuration</h1><p>{why}</p>"
        ))
}

/// `POST /app-manifests/{code}/conversions`: 201 with the app, or 404.
fn conversion(apps: &mut Apps, base_url: &str, code: &str) -> ResponseTemplate {
    let Some(pending) = apps.codes.remove(code) else {
        return super::not_found();
    };
    if Instant::now() >= pending.expires {
        return super::not_found();
    }
    apps.registered += 1;
    let id = 9000 + apps.registered;
    let manifest = &pending.manifest;
    let name = manifest["name"].as_str().unwrap_or("app");
    let slug: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let owner = match &pending.organization {
        Some(org) => json!({"login": org, "id": 7, "type": "Organization"}),
        None => json!({"login": "octocat", "id": 1, "type": "User"}),
    };
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let app = json!({
        "id": id,
        "slug": slug,
        "node_id": format!("A_kwDOfake{id}"),
        "owner": owner,
        "name": name,
        "description": manifest["description"],
        "external_url": manifest["url"],
        "html_url": format!("{base_url}/apps/{slug}"),
        "created_at": at,
        "updated_at": at,
        "permissions": manifest["default_permissions"],
        "events": manifest["default_events"],
        "client_id": format!("Iv1.{:016x}", rand::random::<u64>()),
        "client_secret": format!("{:040x}", rand::random::<u128>()),
        "webhook_secret": format!("{:040x}", rand::random::<u128>()),
        // The tests' key: a real RSA key, so the server can sign as the new app.
        "pem": std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/test-app.pem")).unwrap(),
    });
    apps.converted.push(app.clone());
    ResponseTemplate::new(201).set_body_json(app)
}
