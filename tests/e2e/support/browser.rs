//! Headless Chromium, driven over WebDriver, for tests that use a page as a person does:
//! Debian's `chromium` and `chromium-driver` (`.ci/run` installs them), a `chromedriver`
//! of the test's own on a free loopback port, and fantoccini as the client.
//!
//! Screenshots go to `<target>/tmp/screenshots/<name>.png`, to be looked at.
use super::process::free_port;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    client: Client,
    driver: Driver,
}

/// The chromedriver process, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Browser {
    /// Starts chromedriver and opens a session in a new headless Chromium.
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Driver(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver runs (Debian: apt-get install chromium chromium-driver)"),
        );
        let client = connect(port).await;
        client.set_window_size(1024, 900).await.unwrap();
        Self { client, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// The page's text as a person reads it (what is rendered, without markup).
    pub async fn text(&self) -> String {
        self.find("body").await.text().await.unwrap()
    }

    /// Waits until the page's heading (`h1`) is `heading`; panics with the page's text
    /// when it does not come.
    pub async fn wait_for_heading(&self, heading: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(h1) = self.client.find(Locator::Css("h1")).await {
                if h1.text().await.is_ok_and(|t| t == heading) {
                    return;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let url = self.current_url().await;
                let text = self.text().await;
                panic!("no heading {heading:?} at {url}; the page says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// The current value of the form field `css`.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Replaces what the field `css` holds with `text`, as typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the button or link whose text is `label`.
    pub async fn click(&self, label: &str) {
        let xpath =
            format!("//button[normalize-space(.)='{label}'] | //a[normalize-space(.)='{label}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button or link {label:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The `href` of the link whose text is `label`.
    pub async fn link(&self, label: &str) -> String {
        let xpath = format!("//a[normalize-space(.)='{label}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no link {label:?}: {e}"))
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Saves what the window shows as `<name>.png`; returns where.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the session (and its Chromium), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.close().await;
        drop(self.driver);
    }
}

/// A session on the chromedriver at `port`, once it listens.
async fn connect(port: u16) -> Client {
    let capabilities = json!({
        "goog:chromeOptions": {
            // CI runs as root, where Chromium's sandbox cannot start.
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        }
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let attempt = ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(client) => return client,
            Err(e) if tokio::time::Instant::now() > deadline => {
                panic!("no WebDriver session from chromedriver on port {port}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
