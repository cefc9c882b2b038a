//! A minimal W3C WebDriver client for end-to-end tests in headless Chromium, driven through
//! Debian's `chromedriver`.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Paths of the browser and its driver, or `None` when not installed. With `CI` set, a missing
/// driver is an error instead.
pub fn available() -> Option<(String, String)> {
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&driver).exists() && std::path::Path::new(&browser).exists() {
        Some((driver, browser))
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "chromedriver/chromium not found ({driver}, {browser}) and CI requires the browser tests"
        );
    } else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! browser test SKIPPED: {driver} or {browser} missing !!!\n"
        );
        None
    }
}

pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9515)
}

impl Browser {
    pub async fn start() -> anyhow::Result<Option<Browser>> {
        let Some((driver_path, browser_path)) = available() else {
            return Ok(None);
        };
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir()?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser_path,
                "prefs": {"intl.accept_languages": "ja,en"},
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900", "--lang=ja",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no session: {v}"))?
            .to_owned();
        Ok(Some(Browser {
            http,
            base,
            session,
            driver,
            _profile: profile,
        }))
    }

    async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await?.json().await?;
        if let Some(err) = v["value"].get("error") {
            anyhow::bail!("webdriver {path}: {err} {}", v["value"]["message"]);
        }
        Ok(v["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(|_| ())
    }

    pub async fn url(&self) -> anyhow::Result<String> {
        Ok(self
            .cmd(reqwest::Method::GET, "/url", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Finds an element by CSS selector, waiting up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        let mut last = None;
        for _ in 0..50 {
            match self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await
            {
                Ok(v) => {
                    return v[ELEMENT]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow::anyhow!("bad element for {css}: {v}"));
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("not found: {css}")))
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await
        .map(|_| ())
    }

    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await?;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await
        .map(|_| ())
    }

    /// Waits (up to 10 s) until the element's text satisfies `ok` — across page loads, so a
    /// check after a click that navigates never reads the page being left.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(t) = self.text(css).await {
                if ok(&t) {
                    return Ok(t);
                }
                last = t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("{css}: text never matched; last: {last}")
    }

    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let el = self.find(css).await?;
        Ok(self
            .cmd(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> anyhow::Result<String> {
        self.text("body").await
    }

    /// Runs a script in the page (arguments as JSON); returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Presses and releases keys on the keyboard (WebDriver actions), as a person would: each
    /// character of `keys` in turn; the WebDriver key codes (`"\u{E004}"` Tab, `"\u{E007}"`
    /// Enter) included. The focused element receives them.
    pub async fn press(&self, keys: &str) -> anyhow::Result<()> {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await
        .map(|_| ())
    }

    /// Sets the window's size in CSS pixels (a phone's: 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .map(|_| ())
    }

    /// Accepts the open `confirm()` dialog (waiting up to 5 s for it).
    pub async fn accept_dialog(&self) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..50 {
            match self
                .cmd(reqwest::Method::POST, "/alert/accept", Some(json!({})))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no dialog")))
    }

    pub async fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await?;
        let png = data_encoding::BASE64.decode(v.as_str().unwrap_or_default().as_bytes())?;
        std::fs::write(path, png)?;
        Ok(())
    }

    pub async fn quit(self) -> anyhow::Result<()> {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        Ok(())
    }
}
