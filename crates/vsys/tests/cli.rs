#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! The `vsys` binary's administration commands, on both backends.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use vsys_testkit::{db_test, fresh_db};

fn vsys(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vsys"))
        .args(args)
        .env("VSYS_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env("VSYS_SECRET_KEY", vsys_testkit::TEST_SECRET_KEY)
        .env("USER", "vsys-test-operator")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(input) = stdin
        && let Some(mut s) = child.stdin.take()
    {
        let _ = s.write_all(input.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
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
