//! Test support shared by every crate's tests: a fresh database per test on SQLite or
//! PostgreSQL (cloned from a prepared template), the `db_test!` macro that runs one test body on
//! both backends, a local SMTP receiver and a minimal WebDriver client.

pub mod proxy;
pub mod smtp;
pub mod webdriver;

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;
pub use vsys_store::Backend;
use vsys_store::Db;

/// The key that seals TOTP secrets in tests (every test server and the templates they are
/// cloned from share it; 32 bytes as hex).
pub const TEST_SECRET_KEY: &str =
    "7673797320746573742073656372657420a6b3c1d2e0f9081726354453627180";

/// The PostgreSQL server URL for tests (`VSYS_TEST_DATABASE_URL`). Without it the PostgreSQL
/// half of every test is skipped, loudly; with `CI` set, it fails instead.
pub fn pg_url() -> Option<String> {
    static WARN: Once = Once::new();
    match std::env::var("VSYS_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "VSYS_TEST_DATABASE_URL is not set, and CI requires the PostgreSQL half of the suite"
                );
            }
            WARN.call_once(|| {
                // Written straight to the stream, so the test harness does not capture it.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!! PostgreSQL SKIPPED: VSYS_TEST_DATABASE_URL is not set; only SQLite was tested !!!\n"
                );
            });
            None
        }
    }
}

/// A database of its own for one test. Dropping it deletes it.
pub struct TestDb {
    pub url: String,
    pub db: Db,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            // Dropping a database needs async I/O; do it on a thread of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = sqlx::PgPool::connect(&server).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&admin)
                        .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

fn template_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    base.join("vsys-test-templates")
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh database for one test, cloned from a template that `prepare` built once (keyed by
/// `key`, which must change whenever what `prepare` does changes). `None` when PostgreSQL is
/// asked for but not configured (see [`pg_url`]).
pub async fn fresh_db<F, Fut>(backend: Backend, key: &str, prepare: F) -> Option<TestDb>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let key = format!("{key}_{}", vsys_store::migrate::fingerprint());
    match backend {
        Backend::Sqlite => Some(fresh_sqlite(&key, prepare).await),
        Backend::Postgres => {
            let server = pg_url()?;
            Some(fresh_postgres(&server, &key, prepare).await)
        }
    }
}

async fn fresh_sqlite<F, Fut>(key: &str, prepare: F) -> TestDb
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let dir = template_dir();
    let _ = std::fs::create_dir_all(&dir);
    let template = dir.join(format!("sqlite_{key}.db"));
    if !template.exists() {
        // Build under a unique name, then rename: concurrent builders never see a half file.
        let tmp = dir.join(format!("sqlite_{key}.{}.tmp", unique()));
        let url = format!("sqlite:{}", tmp.display());
        let db = Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("template {url}: {e}"));
        prepare(db.clone())
            .await
            .unwrap_or_else(|e| panic!("preparing template: {e:#}"));
        if let Db::Sqlite(p) = &db {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await;
        }
        db.close().await;
        let _ = std::fs::rename(&tmp, &template);
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", tmp.display()));
        }
    }
    let tmpdir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = tmpdir.path().join("test.db");
    std::fs::copy(&template, &path).unwrap_or_else(|e| panic!("copying template: {e}"));
    let url = format!("sqlite:{}", path.display());
    let db = Db::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    TestDb {
        url,
        db,
        backend: Backend::Sqlite,
        _dir: Some(tmpdir),
        pg: None,
    }
}

fn with_db_name(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

async fn fresh_postgres<F, Fut>(server: &str, key: &str, prepare: F) -> TestDb
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let admin = sqlx::PgPool::connect(server)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at VSYS_TEST_DATABASE_URL: {e}"));
    let template = format!("vsys_tpl_{key}");
    let mut lock = admin.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT pg_advisory_lock(7215002)")
        .execute(&mut *lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut *lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if exists.is_none() {
        let building = format!("{template}_building");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        )))
        .execute(&mut *lock)
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{building}\""
        )))
        .execute(&mut *lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let db = Db::connect(&with_db_name(server, &building))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        prepare(db.clone())
            .await
            .unwrap_or_else(|e| panic!("preparing template: {e:#}"));
        db.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
        )))
        .execute(&mut *lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let name = format!("vsys_t_{}", unique());
    let mut attempt = 0;
    loop {
        match sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        )))
        .execute(&mut *lock)
        .await
        {
            Ok(_) => break,
            Err(e) if attempt < 20 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("creating test database: {e}"),
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(7215002)")
        .execute(&mut *lock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(lock);
    admin.close().await;
    let url = with_db_name(server, &name);
    let db = Db::connect_with(&url, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    TestDb {
        url,
        db,
        backend: Backend::Postgres,
        _dir: None,
        pg: Some((server.to_owned(), name)),
    }
}

/// Runs a test body on SQLite and on PostgreSQL, as `NAME::sqlite` and `NAME::postgres`.
///
/// ```ignore
/// db_test!(my_case, |backend| async move { /* … */ });
/// ```
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let body = $body;
                body($crate::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::pg_url().is_none() {
                    return;
                }
                let body = $body;
                body($crate::Backend::Postgres).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_db_name;

    #[test]
    fn db_names() {
        assert_eq!(
            with_db_name("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_db_name("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_db_name("postgres://h", "x"), "postgres://h/x");
    }
}
