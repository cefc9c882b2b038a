//! `spawn_app()`: a real server on a free port, over a fresh database cloned from a template
//! with the master data and a small demo world.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use vsys_app::{App, Config, ManualClock};
use vsys_testkit::proxy::TcpProxy;
use vsys_testkit::{Backend, TestDb, fresh_db};

pub const PASSWORD: &str = vsys_app::demo::DEMO_PASSWORD;

pub struct TestApp {
    pub base: String,
    /// The public site's own listener (`serve --public-listen`), when spawned with one.
    pub public_base: Option<String>,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    /// The server's own pool (the test's `db.db` unless [`spawn_cuttable`]).
    server_db: vsys_store::Db,
    /// The proxy between the server and PostgreSQL ([`spawn_cuttable`]).
    proxy: Option<TcpProxy>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn test_config(url: &str) -> Config {
    Config {
        database_url: url.to_owned(),
        cookie_secure: false,
        mail_workers: 0,
        login: vsys_app::config::LoginPolicy {
            ip_block_after: 15,
            ..Default::default()
        },
        secret_key: Some(vsys_testkit::TEST_SECRET_KEY.into()),
        ..Config::default()
    }
}

/// A server over a fresh database of `backend`; `None` when that backend is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tune: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn_inner(backend, tune, false, false).await
}

/// A server whose database the test can take away ([`TestApp::cut_database`]): its pool reaches
/// PostgreSQL through a TCP proxy inside the test, or is a SQLite pool of its own.
pub async fn spawn_cuttable(backend: Backend) -> Option<TestApp> {
    spawn_inner(backend, |_| {}, false, true).await
}

/// A server with a second listener for the public site alone (`public_base`).
pub async fn spawn_with_public(
    backend: Backend,
    tune: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    spawn_inner(backend, tune, true, false).await
}

async fn spawn_inner(
    backend: Backend,
    tune: impl FnOnce(&mut Config),
    public: bool,
    cuttable: bool,
) -> Option<TestApp> {
    let db = fresh_db(
        backend,
        &format!("web_demo_v7_{}", vsys_app::knowledge::manual_fingerprint()),
        |db| async move {
            let config = Config {
                secret_key: Some(vsys_testkit::TEST_SECRET_KEY.into()),
                ..Config::default()
            };
            let app = App::new(db, config, Arc::new(vsys_app::SystemClock));
            app.prepare().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            vsys_app::demo::seed(&app, 60, &|_, _| {})
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        },
    )
    .await?;
    let mut config = test_config(&db.url);
    tune(&mut config);
    let clock = Arc::new(ManualClock::default());
    let (server_db, proxy) = if !cuttable {
        (db.db.clone(), None)
    } else if db.backend == Backend::Postgres {
        let target = TcpProxy::target_of(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let proxy = TcpProxy::start(target)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = TcpProxy::rewrite(&db.url, proxy.addr).unwrap_or_else(|e| panic!("{e}"));
        let server_db = vsys_store::Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (server_db, Some(proxy))
    } else {
        let server_db = vsys_store::Db::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (server_db, None)
    };
    let app = App::new(server_db.clone(), config, clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let public_listener = if public {
        Some(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
    } else {
        None
    };
    let public_base = public_listener.as_ref().map(|l| {
        format!(
            "http://{}",
            l.local_addr().unwrap_or_else(|e| panic!("{e}"))
        )
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server_app = app.clone();
    tokio::spawn(async move {
        let _ = vsys_web::serve_with_public(server_app, listener, public_listener, async {
            let _ = rx.await;
        })
        .await;
    });
    Some(TestApp {
        base,
        public_base,
        app,
        clock,
        db,
        server_db,
        proxy,
        stop: Some(tx),
    })
}

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A client that keeps cookies (a browser without JavaScript).
pub fn browser_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

impl TestApp {
    /// The id of the first cycle `token`'s caller sees (the demo's open cycle).
    pub async fn first_cycle(&self, token: &str) -> String {
        let (_, cycles) = self
            .api(reqwest::Method::GET, "/api/v1/cycles", token, None)
            .await;
        cycles["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Takes the database away from the server ([`spawn_cuttable`]): the proxy drops every
    /// connection and refuses new ones, or the server's SQLite pool is closed.
    pub async fn cut_database(&self) {
        match &self.proxy {
            Some(p) => p.cut(),
            None => self.server_db.close().await,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A raw connection on which `request_line` and `rest` (more header lines, the blank line,
    /// perhaps the start of a body) have been sent, with the `Host` header between them.
    pub async fn send_raw(&self, request_line: &str, rest: &str) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let addr = self.base.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_all(format!("{request_line}\r\nHost: {addr}\r\n{rest}").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s
    }

    /// The current TOTP code of a user (from the secret in the database).
    pub async fn totp(&self, email: &str) -> String {
        let u = self.user(email).await;
        let s = vsys_app::auth::totp_secret_of(&self.app, &u)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no totp"));
        s.code_at(self.app.clock.now().timestamp())
    }

    pub async fn user(&self, email: &str) -> vsys_store::users::UserRow {
        let mut tx = self.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        vsys_store::users::by_email(&mut tx, email)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no user {email}"))
    }

    /// Logs in through the API; returns the bearer token. Handles TOTP when the user has it.
    pub async fn token(&self, email: &str) -> String {
        let has_totp = self.user(email).await.totp_secret.is_some();
        let mut body = json!({"email": email, "password": PASSWORD});
        if has_totp {
            body["totp"] = json!(self.totp(email).await);
        }
        let res = client()
            .post(self.url("/api/v1/session"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "login {email}: {:?}",
            res.text().await
        );
        let v: Value = res.json().await.unwrap_or_else(|e| panic!("{e}"));
        v["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token"))
            .to_owned()
    }

    /// Creates a user directly (as the system) and returns their e-mail; no password change.
    pub async fn make_user(&self, org: &str, role: &str, email: &str) -> String {
        let n = vsys_app::accounts::NewUser {
            org_code: org.into(),
            email: email.into(),
            name: "テスト 利用者".into(),
            role: role.into(),
            password: PASSWORD.into(),
        };
        vsys_app::accounts::create_system(&self.app, &vsys_app::audit::Who::system(), &n, false)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        email.to_owned()
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = client().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Audit entries with this action.
    pub async fn audit_actions(&self, action: &str) -> Vec<vsys_store::audit::AuditRow> {
        let mut tx = self.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        let f = vsys_store::audit::AuditFilter {
            action_prefix: Some(action.into()),
            ..Default::default()
        };
        vsys_store::audit::search(&mut tx, &f, vsys_store::Page::first(500))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    /// A page's HTML, fetched with a (logged-in) client.
    pub async fn page(&self, c: &Client, path: &str) -> String {
        c.get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default()
    }

    /// Posts the web login form with the demo password (the first step only); returns the
    /// cookie-keeping client and the answer.
    pub async fn web_password(&self, email: &str) -> (Client, reqwest::Response) {
        let c = browser_client();
        let page = self.page(&c, "/login").await;
        let res = c
            .post(self.url("/login"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("email", email),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (c, res)
    }

    /// Logs in on the web form; returns the cookie-keeping client.
    pub async fn web_login(&self, email: &str) -> Client {
        let (c, res) = self.web_password(email).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email}");
        let to_totp = res
            .headers()
            .get(reqwest::header::LOCATION)
            .is_some_and(|v| v.as_bytes() == b"/login/totp");
        if to_totp {
            let page = self.page(&c, "/login/totp").await;
            let code = self.totp(email).await;
            let res = c
                .post(self.url("/login/totp"))
                .form(&[("_csrf", csrf_of(&page).as_str()), ("code", code.as_str())])
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email}: TOTP");
        }
        c
    }
}

/// The CSRF token in a page (hidden `_csrf` field).
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    html.find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}
