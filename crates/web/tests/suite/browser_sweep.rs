//! Every staff page, as every kind of organisation sees it, at desk and phone width: the test
//! logs in as each demo role and walks every link it is shown (breadth first, one page per
//! screen), and on each page axe-core (WCAG 2.0/2.1 A and AA) finds nothing at 1,280 px and at
//! 320 px, the page does not scroll sideways at 320 px, and the Nu HTML Checker finds no error in
//! the HTML as served (the citizens' pages too).

use crate::a11y::{axe_clean, axe_violations, overflow_x, vnu_errors};
use crate::browser::{finish, start};
use crate::common::*;
use serde_json::json;
use std::collections::{BTreeSet, VecDeque};
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

/// The demo logins walked: an operator of each kind of organisation, and the administrators
/// whose screens differ (users, audit, tokens).
const ROLES: &[&str] = &[
    "nation-admin",
    "nation-operator",
    "tokyo-admin",
    "tokyo-operator",
    "minato-admin",
    "minato-operator",
    "clinic-operator",
    "site-operator",
    "pfizer-operator",
    "wholesaler-admin",
    "wholesaler-operator",
    "dryice-operator",
    "syringe-operator",
];

/// Pages per login at most (the walk is breadth first: the menu's screens come first).
const PER_ROLE: usize = 24;

/// The screen a link opens: its path with every segment that names one thing (a code, an id)
/// as `*`, and the names of its query parameters.
fn screen(href: &str) -> String {
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    let path: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_digit()) || s.len() > 24 {
                "*"
            } else {
                s
            }
        })
        .collect();
    let keys: BTreeSet<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty() && *k != "flash")
        .collect();
    format!(
        "{}?{}",
        path.join("/"),
        keys.into_iter().collect::<Vec<_>>().join("&")
    )
}

/// Whether the walk follows a link: a staff page of this server (not the public site, the API,
/// files, downloads or the language switch).
fn walkable(href: &str) -> bool {
    let path = href.split(['?', '#']).next().unwrap_or_default();
    path.starts_with('/')
        && !path.starts_with("//")
        && ![
            "/api", "/static", "/search", "/lang", "/logout", "/login", "/healthz", "/readyz",
            "/metrics",
        ]
        .iter()
        .any(|p| path.starts_with(p))
        && !path.ends_with(".csv")
        && !path.contains("export")
        && !path.contains("template")
        && !path.contains("download")
}

/// Logs in (with the TOTP code when the role needs one).
async fn log_in(b: &Browser, t: &TestApp, email: &str) -> anyhow::Result<()> {
    b.goto(&t.url("/login")).await?;
    b.fill("#email", email).await?;
    b.fill("#password", PASSWORD).await?;
    b.click("#login-submit").await?;
    for _ in 0..50 {
        let url = b.url().await?;
        if url.contains("/login/totp") {
            let code = t.totp(email).await;
            b.fill("#code", &code).await?;
            b.click("form[action='/login/totp'] button[type=submit]")
                .await?;
            break;
        }
        if crate::browser::absent(b, "#home-title").await? {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        } else {
            break;
        }
    }
    b.find("#home-title").await?;
    Ok(())
}

async fn log_out(b: &Browser) -> anyhow::Result<()> {
    if !crate::browser::absent(b, "#logout").await? {
        b.click("#logout").await?;
        b.find("#email").await?;
    }
    Ok(())
}

/// The page as the server sent it (the DOM has been changed by scripts and axe since).
async fn served_html(b: &Browser) -> anyhow::Result<String> {
    let v = b
        .execute(
            "return fetch(location.href, {credentials: 'same-origin'}).then(r => r.text());",
            json!([]),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

db_test!(
    every_staff_page_passes_axe_at_desk_and_phone_width_and_the_html_checker,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let run = async {
            let mut served: Vec<(String, String)> = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            let mut visited = 0usize;
            for role in ROLES {
                let email = format!("{role}@demo.vsys.jp");
                b.resize(1280, 900).await?;
                log_in(&b, &t, &email).await?;
                let mut seen: BTreeSet<String> = BTreeSet::new();
                let mut queue: VecDeque<String> = VecDeque::from(["/".to_owned()]);
                seen.insert(screen("/"));
                let mut pages = 0;
                while let Some(href) = queue.pop_front() {
                    if pages == PER_ROLE {
                        break;
                    }
                    pages += 1;
                    let what = format!("{role} {href}");
                    b.resize(1280, 900).await?;
                    b.goto(&t.url(&href)).await?;
                    b.find("main").await?;
                    anyhow::ensure!(
                        !b.url().await?.contains("/login"),
                        "{what}: logged out while walking"
                    );
                    let links = b
                        .execute(
                            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));",
                            json!([]),
                        )
                        .await?;
                    for l in links.as_array().into_iter().flatten() {
                        let l = l.as_str().unwrap_or_default();
                        if walkable(l) && seen.insert(screen(l)) {
                            queue.push_back(l.split('#').next().unwrap_or(l).to_owned());
                        }
                    }
                    if let Err(e) = axe_clean(&b, &format!("{what} at 1280 px")).await {
                        failures.push(format!("{e:#}"));
                    }
                    served.push((what.clone(), served_html(&b).await?));
                    b.resize(320, 800).await?;
                    if let Err(e) = axe_clean(&b, &format!("{what} at 320 px")).await {
                        failures.push(format!("{e:#}"));
                    }
                    let wide = overflow_x(&b).await?;
                    if wide > 0 {
                        failures.push(format!("{what}: scrolls sideways by {wide} px at 320 px"));
                    }
                    visited += 1;
                    eprintln!("swept {what}");
                }
                b.resize(1280, 900).await?;
                log_out(&b).await?;
            }
            eprintln!("swept {visited} staff pages");
            // The citizens' pages are held to the HTML checker too (axe: browser_public.rs).
            for path in [
                "/search/",
                "/search/?prefecture=13",
                "/search/?municipality=13103&lang=en",
                "/search/?postal_code=abc",
                "/search/faq",
                "/search/guide",
            ] {
                b.goto(&t.url(path)).await?;
                b.find("main").await?;
                served.push((format!("public {path}"), served_html(&b).await?));
            }
            anyhow::ensure!(visited >= 60, "the walk reached only {visited} pages");
            if let Some(errors) = vnu_errors(&served).await? {
                failures.extend(errors);
            }
            anyhow::ensure!(failures.is_empty(), "{}", failures.join("\n"));
            // The checks see what is wrong: a table wrapper that scrolls but cannot be reached
            // by keyboard at phone width, a page pushed sideways, and invalid HTML.
            log_in(&b, &t, "minato-operator@demo.vsys.jp").await?;
            b.resize(320, 800).await?;
            b.execute(
                "const w = document.createElement('div'); w.className = 'table-wrap';
                 w.innerHTML = '<table class=\"data\"><tr><td>' + 'x'.repeat(400) + '</td></tr></table>';
                 document.querySelector('main').appendChild(w);
                 const p = document.createElement('div'); p.style.width = '400px'; p.textContent = 'wide';
                 document.querySelector('main').appendChild(p);",
                json!([]),
            )
            .await?;
            let found = axe_violations(&b).await?;
            anyhow::ensure!(
                found
                    .iter()
                    .any(|v| v.starts_with("scrollable-region-focusable")),
                "axe sees an unreachable scroller: {found:?}"
            );
            anyhow::ensure!(overflow_x(&b).await? > 0, "sideways scrolling is seen");
            if let Some(errors) = vnu_errors(&[(
                "broken".to_owned(),
                "<!DOCTYPE html><html lang=ja><title>x</title><p hx-get=/x>x</p>".to_owned(),
            )])
            .await?
            {
                anyhow::ensure!(
                    errors.iter().any(|e| e.contains("hx-get")),
                    "vnu sees an unknown attribute: {errors:?}"
                );
            }
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "sweep").await;
    }
);

#[test]
fn screens_name_the_page_not_the_item() {
    assert_eq!(screen("/sites/1310300001"), "/sites/*?");
    assert_eq!(
        screen("/allocations/01abc/13103?flash=saved"),
        "/allocations/*/*?"
    );
    assert_eq!(
        screen("/deliveries?status=late&page=2"),
        "/deliveries?page&status"
    );
    assert!(walkable("/sites?q=1") && !walkable("/deliveries.csv") && !walkable("/search/"));
    assert!(!walkable("https://example.org/") && !walkable("//evil") && !walkable("#main"));
}
