#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The `vsys` binary's administration commands, on both backends.

mod common;

use std::process::{Output, Stdio};
use vsys_testkit::{db_test, fresh_db};

fn vsys(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = common::vsys(url, args);
    cmd.env("USER", "vsys-test-operator");
    common::output(cmd, stdin)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

db_test!(migrate_user_create_and_audit_verify, |backend| async move {
    // An empty database: `vsys migrate` creates the schema and loads the master data.
    let Some(t) = fresh_db(backend, "cli_empty", |_| async { Ok(()) }).await else {
        return;
    };
    let out = vsys(&t.url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
    let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        vsys_store::orgs::count(&mut tx).await.ok(),
        Some(1 + 47 + 1741)
    );
    assert_eq!(
        vsys_store::master::postal_count(&mut tx).await.ok(),
        Some(120_720)
    );
    drop(tx);
    let args = [
        "user",
        "create",
        "--org",
        "13103",
        "--role",
        "admin",
        "--email",
        "cli@example.jp",
        "--name",
        "港区 管理者",
        "--password-stdin",
    ];
    let out = vsys(&t.url, &args, Some("a long enough password\n"));
    assert!(out.status.success(), "{}", text(&out));
    // The account's creation names who made it: the operating-system user of the command.
    let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let f = vsys_store::audit::AuditFilter {
        action_prefix: Some("user.create".into()),
        ..Default::default()
    };
    let (entries, _) = vsys_store::audit::search(&mut tx, &f, vsys_store::Page::first(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(tx);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].actor_user.as_deref(),
        Some("cli:vsys-test-operator")
    );
    let out = vsys(&t.url, &args, Some("a long enough password\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("このメールアドレスは既に使われています"),
        "{}",
        text(&out)
    );
    let out = vsys(
        &t.url,
        &[
            "user",
            "create",
            "--org",
            "13103",
            "--role",
            "admin",
            "--email",
            "weak@example.jp",
            "--name",
            "x",
            "--password-stdin",
        ],
        Some("short"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("12"), "{}", text(&out));
    // Passwords never on the command line.
    let out = vsys(
        &t.url,
        &[
            "user",
            "create",
            "--org",
            "13103",
            "--role",
            "admin",
            "--email",
            "x@example.jp",
            "--name",
            "x",
        ],
        None,
    );
    assert!(!out.status.success());
    let out = vsys(&t.url, &["audit", "verify"], None);
    assert!(
        out.status.success() && text(&out).contains("OK"),
        "{}",
        text(&out)
    );
    // Edit one entry behind the application's back: verify names it and fails.
    let mut tx = t.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    tx.raw("UPDATE audit_log SET actor_org = '99' WHERE action = 'user.create'")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let out = vsys(&t.url, &["audit", "verify"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("BROKEN partition system seq"),
        "{}",
        text(&out)
    );
});

db_test!(backup_copies_the_embedded_database, |backend| async move {
    let Some(t) = fresh_db(backend, "cli_backup", |_| async { Ok(()) }).await else {
        return;
    };
    let out = vsys(&t.url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("vsys-backup.db");
    let copy_arg = copy.to_str().unwrap_or_default();
    let out = vsys(&t.url, &["backup", copy_arg], None);
    if backend == vsys_testkit::Backend::Postgres {
        // PostgreSQL has its own tools; nothing is written.
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
        assert!(!copy.exists());
        return;
    }
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("integrity ok"), "{}", text(&out));
    // The copy is a whole database: master data, and an audit log that verifies.
    let copy_url = format!("sqlite:{copy_arg}");
    let out = vsys(&copy_url, &["audit", "verify"], None);
    assert!(
        out.status.success() && text(&out).contains("OK"),
        "{}",
        text(&out)
    );
    let copied = vsys_store::Db::connect(&copy_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = copied.read().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        vsys_store::orgs::count(&mut tx).await.ok(),
        Some(1 + 47 + 1741)
    );
    drop(tx);
    copied.close().await;
    // The backup itself is recorded in the live database, not overwritten a second time.
    let mut tx = t.db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let (entries, _) = vsys_store::audit::search(
        &mut tx,
        &vsys_store::audit::AuditFilter {
            action_prefix: Some("system.backup".into()),
            ..Default::default()
        },
        vsys_store::Page::first(10),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    drop(tx);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].object_id, copy_arg);
    let before = std::fs::metadata(&copy).map(|m| m.len()).ok();
    let out = vsys(&t.url, &["backup", copy_arg], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("既にあります"), "{}", text(&out));
    assert_eq!(std::fs::metadata(&copy).map(|m| m.len()).ok(), before);
});

fn create_user(url: &str, email: &str) -> Output {
    vsys(
        url,
        &[
            "user",
            "create",
            "--org",
            "13103",
            "--role",
            "operator",
            "--email",
            email,
            "--name",
            "復元 確認",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    )
}

/// Whether the database at `url` has an account with this e-mail.
async fn has_user(url: &str, email: &str) -> bool {
    let db = vsys_store::Db::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let found = vsys_store::users::by_email(&mut tx, email)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some();
    drop(tx);
    db.close().await;
    found
}

/// Runs one statement on the database at `url`.
async fn sql_on(url: &str, sql: &str) {
    let db = vsys_store::Db::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    tx.raw(sql).await.unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    db.close().await;
}

/// `vsys restore FILE --force` refuses (exit 2), saying `why`.
fn restore_refused(url: &str, file: &std::path::Path, why: &str) {
    let out = vsys(
        url,
        &["restore", file.to_str().unwrap_or_default(), "--force"],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(why), "{}", text(&out));
}

/// A server on `url` until dropped (killed).
fn serve(url: &str) -> common::Server {
    let mut cmd = common::vsys(url, &common::serve_args(&[]));
    cmd.stderr(Stdio::null());
    common::start(cmd)
}

db_test!(restore_brings_a_backup_back, |backend| async move {
    let Some(t) = fresh_db(backend, "cli_restore", |_| async { Ok(()) }).await else {
        return;
    };
    t.db.close().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("vsys-backup.db");
    let copy_arg = copy.to_str().unwrap_or_default();
    let out = vsys(&t.url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
    if backend == vsys_testkit::Backend::Postgres {
        // PostgreSQL is restored with its own tools; nothing is touched.
        std::fs::write(&copy, b"anything").unwrap_or_else(|e| panic!("{e}"));
        let out = vsys(&t.url, &["restore", copy_arg, "--force"], None);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("pg_restore"), "{}", text(&out));
        return;
    }
    let out = create_user(&t.url, "before-backup@example.jp");
    assert!(out.status.success(), "{}", text(&out));
    let out = vsys(&t.url, &["backup", copy_arg], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = create_user(&t.url, "after-backup@example.jp");
    assert!(out.status.success(), "{}", text(&out));

    // The database exists: only with --force.
    let out = vsys(&t.url, &["restore", copy_arg], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert!(has_user(&t.url, "after-backup@example.jp").await);
    // Never under a running server.
    {
        let _server = serve(&t.url);
        let out = vsys(&t.url, &["restore", copy_arg, "--force"], None);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("server is running"), "{}", text(&out));
    }
    assert!(has_user(&t.url, "after-backup@example.jp").await);
    // Only vsys backups this build can run, whole.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap_or_else(|e| panic!("{e}"));
    restore_refused(&t.url, &junk, "not restored");
    let other = dir.path().join("other.db");
    let other_url = format!("sqlite:{}", other.display());
    sql_on(&other_url, "CREATE TABLE t (x INTEGER)").await;
    restore_refused(&t.url, &other, "not a vsys one");
    let newer = dir.path().join("newer.db");
    std::fs::copy(&copy, &newer).unwrap_or_else(|e| panic!("{e}"));
    let newer_url = format!("sqlite:{}", newer.display());
    sql_on(&newer_url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', '2099-01-01T00:00:00Z')").await;
    restore_refused(&t.url, &newer, "newer");
    assert!(has_user(&t.url, "after-backup@example.jp").await);

    // Restored: the data as at the backup, the old database kept, the restore audited.
    let out = vsys(&t.url, &["restore", copy_arg, "--force"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("kept as"), "{}", text(&out));
    assert!(has_user(&t.url, "before-backup@example.jp").await);
    assert!(!has_user(&t.url, "after-backup@example.jp").await);
    let out = vsys(&t.url, &["audit", "verify"], None);
    assert!(
        out.status.success() && text(&out).contains("OK"),
        "{}",
        text(&out)
    );
    let db = vsys_store::Db::connect(&t.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.read().await.unwrap_or_else(|e| panic!("{e}"));
    let (entries, _) = vsys_store::audit::search(
        &mut tx,
        &vsys_store::audit::AuditFilter {
            action_prefix: Some("system.restore".into()),
            ..Default::default()
        },
        vsys_store::Page::first(10),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    drop(tx);
    db.close().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].actor_user.as_deref(),
        Some("cli:vsys-test-operator")
    );
    let live = vsys_store::ops::sqlite_path(&t.url).unwrap_or_else(|| panic!("a file"));
    let kept = std::fs::read_dir(live.parent().unwrap_or_else(|| panic!("a folder")))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .count();
    assert!(kept >= 1, "the replaced database is kept");
    // A server starts on the restored database.
    drop(serve(&t.url));

    // Into a database that does not exist yet, no --force is needed.
    let fresh_url = format!("sqlite:{}", dir.path().join("fresh.db").display());
    let out = vsys(&fresh_url, &["restore", copy_arg], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(has_user(&fresh_url, "before-backup@example.jp").await);
});

db_test!(rollups_check_and_rebuild, |backend| async move {
    let Some(t) = fresh_db(backend, "cli_rollups", |_| async { Ok(()) }).await else {
        return;
    };
    let out = vsys(&t.url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out));
    // A day's results written behind the application's back: the rollups miss it (one key in
    // the municipalities' rollups and one in the prefectures').
    sql_on(
        &t.url,
        "INSERT INTO daily_results (org_code, day, total, elderly, underlying, others, wasted_vials, updated_at, version) \
         SELECT code, '2026-11-02', 7, 7, 0, 0, 0, '2026-11-02T00:00:00Z', 0 FROM orgs WHERE kind = 'municipality' AND code = '13103'",
    )
    .await;
    let out = vsys(&t.url, &["rollups", "check"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("2 differences"), "{}", text(&out));
    let out = vsys(&t.url, &["rollups", "rebuild"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 result rows"), "{}", text(&out));
    let out = vsys(&t.url, &["rollups", "check"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 differences"), "{}", text(&out));
});
