//! The XSS probe (issue 12, item 5): hostile strings stored through every screen form that
//! keeps free text (users, products, municipal sites, a site's details and doctors, deliverers'
//! API tokens and basic information), and through the importers and delivery entry, then every
//! page that shows them fetched by the roles that see them: the payload appears only escaped,
//! no `href`/`src`/`action` carries `javascript:`, and refused forms (which show what was typed)
//! are inert too. CSV downloads neutralise cells a spreadsheet would run (docs/SECURITY.md).

use crate::common::*;
use reqwest::{Client, StatusCode};
use vsys_testkit::db_test;

/// Breaks out of an attribute and of text, in one value; within every field's length limit.
const PAYLOAD: &str = "\"'><script>alert(1)</script><img src=x onerror=alert(1)>{{7*7}}\u{202e}";
/// The same, as a page must show it (askama writes numeric character references; named ones
/// would do as well).
const ESCAPED: [&str; 2] = [
    "&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;",
    "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
];

fn shows_escaped(html: &str) -> bool {
    ESCAPED.iter().any(|e| html.contains(e))
}
const SVG: &str = "'--><svg onload=alert(1)>";
const JS_LINK: &str = "javascript:alert(1)";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";

/// Up to `before` bytes before and `after` bytes after `i`, cut at character boundaries.
fn excerpt(s: &str, i: usize, before: usize, after: usize) -> &str {
    &s[s.floor_char_boundary(i.saturating_sub(before))..s.floor_char_boundary(i + after)]
}

/// Fails when `html` holds live markup of a payload or a `javascript:` URL in an attribute.
#[track_caller]
fn assert_inert(html: &str, page: &str) {
    for live in ["<script>alert", "<img src=x", "<svg onload", "\"><script"] {
        assert!(
            !html.contains(live),
            "{page}: live markup {live:?} at {:?}",
            html.find(live).map(|i| excerpt(html, i, 120, 120))
        );
    }
    let lower = html.to_ascii_lowercase();
    for attr in ["href=", "src=", "action=", "formaction="] {
        for (i, _) in lower.match_indices(attr) {
            let value = lower[i + attr.len()..]
                .trim_start_matches(['"', '\''])
                .trim_start();
            assert!(
                !value.starts_with("javascript:"),
                "{page}: {attr} carries javascript: at {}",
                excerpt(html, i, 0, 80)
            );
        }
    }
}

/// What the probe saw: each page fetched and whether it showed a stored payload (escaped).
#[derive(Default)]
struct Seen {
    pages: Vec<(String, StatusCode, bool)>,
}

impl Seen {
    /// Fetches a page, checks it is inert, and notes whether it shows the escaped payload.
    async fn page(&mut self, t: &TestApp, c: &Client, path: &str) -> String {
        let res = c.get(t.url(path)).send().await.unwrap();
        let status = res.status();
        let html = res.text().await.unwrap_or_default();
        assert!(!status.is_server_error(), "{path}: {status}");
        assert_inert(&html, path);
        self.pages
            .push((path.to_owned(), status, shows_escaped(&html)));
        html
    }

    /// The page must show the payload (escaped).
    #[track_caller]
    fn shown(&self, path: &str) {
        let p = self.pages.iter().rev().find(|p| p.0 == path);
        assert!(
            p.is_some_and(|p| p.1 == StatusCode::OK && p.2),
            "{path} does not show the stored payload: {p:?}",
            p = p.map(|p| (p.1, p.2))
        );
    }
}

/// Posts a form of `page` (its CSRF token taken from the page) to `action`; checks the answer
/// (a redirect after success, or the page again with what was typed) is inert.
async fn post(
    t: &TestApp,
    c: &Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let html = t.page(c, page).await;
    let csrf = csrf_of(&html);
    assert!(!csrf.is_empty(), "{page}: no CSRF token");
    let mut form: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = c.post(t.url(action)).form(&form).send().await.unwrap();
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert!(
        status == StatusCode::SEE_OTHER || status.is_success() || status.is_client_error(),
        "{action}: {status} {body}"
    );
    assert_inert(&body, action);
    (status, body)
}

/// The value of the hidden field `name` in the first form after `marker`.
fn hidden_after(html: &str, marker: &str, name: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let key = format!("name=\"{name}\" value=\"");
    let rest = &html[from..];
    let i = rest
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} after {marker}"));
    rest[i + key.len()..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn demo(slug: &str, role: &str) -> String {
    format!("{slug}-{role}@demo.vsys.jp")
}

db_test!(
    hostile_strings_are_shown_inert_everywhere,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let mut seen = Seen::default();

        // Users (a municipality's administrator): stored, and refused (typed values shown again).
        let admin = t.web_login(&demo("minato", "admin")).await;
        let (status, _) = post(
            &t,
            &admin,
            "/users/new",
            "/users",
            &[
                ("org_code", "13103"),
                ("email", "xss-user@example.jp"),
                ("name", PAYLOAD),
                ("role", "viewer"),
                ("password", "a long enough password 2026"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "user created");
        let (status, refused) = post(
            &t,
            &admin,
            "/users/new",
            "/users",
            &[
                ("org_code", "13103"),
                ("email", SVG),
                ("name", PAYLOAD),
                ("role", "viewer"),
                ("password", "short"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            shows_escaped(&refused),
            "the refused form shows the name escaped: {:?}",
            refused
                .find("id=\"name\"")
                .map(|i| excerpt(&refused, i, 0, 600))
        );
        let users = seen.page(&t, &admin, "/users").await;
        seen.shown("/users");
        let mut ids: Vec<&str> = users
            .match_indices("href=\"/users/")
            .filter_map(|(i, _)| users[i + 13..].split('"').next())
            .filter(|id| *id != "new" && !id.contains('/'))
            .collect();
        ids.dedup();
        for id in ids {
            seen.page(&t, &admin, &format!("/users/{id}")).await;
        }
        seen.page(&t, &admin, "/audit").await;

        // Products (a manufacturer).
        let pfizer = t.web_login(&demo("pfizer", "operator")).await;
        let (status, _) = post(
            &t,
            &pfizer,
            "/products",
            "/products",
            &[
                ("kind", "vaccine"),
                ("name", PAYLOAD),
                ("spec", SVG),
                ("storage_class", "fridge"),
                ("doses_per_vial", "10"),
                ("vials_per_box", "20"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "product created");
        let (status, _) = post(
            &t,
            &pfizer,
            "/products",
            "/products",
            &[("kind", "vaccine"), ("name", PAYLOAD), ("spec", SVG)],
        )
        .await;
        assert!(status.is_client_error(), "incomplete product refused");
        seen.page(&t, &pfizer, "/products").await;
        seen.shown("/products");

        // A municipal site (the municipality's operator): name, address, representative.
        let minato = t.web_login(&demo("minato", "operator")).await;
        let res = {
            let html = t.page(&minato, "/sites").await;
            minato
                .post(t.url("/sites"))
                .form(&[
                    ("_csrf", csrf_of(&html).as_str()),
                    ("name", PAYLOAD),
                    ("postal_code", "1050011"),
                    ("address", SVG),
                    ("representative", PAYLOAD),
                ])
                .send()
                .await
                .unwrap()
        };
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "site created");
        let site = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(site.starts_with("/sites/9"), "{site}");
        seen.page(&t, &minato, &site).await;
        seen.shown(&site);
        seen.page(&t, &minato, "/sites").await;
        seen.shown("/sites");
        seen.page(&t, &minato, "/").await;
        seen.page(&t, &minato, "/notices").await;
        seen.page(&t, &minato, "/orgs/13103").await;
        seen.page(&t, &minato, "/stock/idle").await;

        // A clinic's details and doctors (the clinic's operator); a link-like website.
        let clinic_code = t.user(&demo("clinic", "operator")).await.org_code;
        let clinic = t.web_login(&demo("clinic", "operator")).await;
        let page = format!("/sites/{clinic_code}");
        let html = t.page(&clinic, &page).await;
        let version = hidden_after(
            &html,
            &format!("action=\"/sites/{clinic_code}/details\""),
            "version",
        );
        // A hostile vaccine id, booking URL and latitude: refused, what was typed shown inert.
        let hostile_vaccine = format!("vaccine.{SVG}");
        let (status, _) = post(
            &t,
            &clinic,
            &page,
            &format!("/sites/{clinic_code}/details"),
            &[
                ("version", version.as_str()),
                ("phone", "03-1234-5678"),
                (hostile_vaccine.as_str(), "on"),
                ("booking", "web"),
                ("booking_url", PAYLOAD),
                ("latitude", SVG),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "hostile details");
        let (status, _) = post(
            &t,
            &clinic,
            &page,
            &format!("/sites/{clinic_code}/details"),
            &[
                ("version", version.as_str()),
                ("phone", "03-1234-5678"),
                ("website", "https://example.jp/"),
                ("hours", PAYLOAD),
                ("access", PAYLOAD),
                ("parking", PAYLOAD),
                ("storage_location", PAYLOAD),
            ],
        )
        .await;
        assert!(
            status == StatusCode::SEE_OTHER || status == StatusCode::UNPROCESSABLE_ENTITY,
            "details: {status}"
        );
        let html = t.page(&clinic, &page).await;
        let version = hidden_after(
            &html,
            &format!("action=\"/sites/{clinic_code}/details\""),
            "version",
        );
        let (status, _) = post(
            &t,
            &clinic,
            &page,
            &format!("/sites/{clinic_code}/details"),
            &[
                ("version", version.as_str()),
                ("phone", "03-1234-5678"),
                ("website", JS_LINK),
                ("hours", PAYLOAD),
            ],
        )
        .await;
        assert!(
            !status.is_server_error(),
            "details with a javascript: website: {status}"
        );
        let (status, _) = post(
            &t,
            &clinic,
            &format!("/sites/{clinic_code}/doctors"),
            &format!("/sites/{clinic_code}/doctors"),
            &[("name", PAYLOAD), ("registration_number", "123456")],
        )
        .await;
        assert!(
            status == StatusCode::SEE_OTHER || status.is_client_error(),
            "doctor: {status}"
        );
        seen.page(&t, &clinic, &page).await;
        seen.page(&t, &clinic, &format!("/sites/{clinic_code}/doctors"))
            .await;
        seen.page(&t, &clinic, "/").await;
        seen.page(&t, &clinic, "/results").await;

        // A wholesaler's API token and basic information (its administrator).
        let wholesaler = t.web_login(&demo("wholesaler", "admin")).await;
        let tokens = "/orgs/W13001/api-tokens";
        let (status, created) = post(&t, &wholesaler, tokens, tokens, &[("name", PAYLOAD)]).await;
        assert!(status.is_success(), "token: {status}");
        assert!(
            shows_escaped(&created),
            "the new token's name is shown escaped"
        );
        seen.page(&t, &wholesaler, tokens).await;
        seen.shown(tokens);
        let info = "/orgs/W13001/deliverer-info";
        let html = t.page(&wholesaler, info).await;
        let version = hidden_after(&html, &format!("action=\"{info}\""), "version");
        let (status, _) = post(
            &t,
            &wholesaler,
            info,
            info,
            &[
                ("version", version.as_str()),
                ("postal_code", "1050011"),
                ("address", PAYLOAD),
                ("phone", "0312345678"),
                ("contact", SVG),
                ("email", "info@example.jp"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "deliverer info saved");
        seen.page(&t, &wholesaler, info).await;
        seen.shown(info);

        // Through the importer and the deliveries: registry names, a delivery's note and number.
        let nation = vsys_app::accounts::actor_on_host(&t.app, &demo("nation", "operator"))
            .await
            .unwrap();
        let file = format!(
            "医療機関コード,老健施設等コード,名称,郵便番号,市町村コード,住所,代表者,契約状況,種別,基本型コード\r\n\
         1350000077,,\"{}\",105-0011,13103,\"{}\",\"{}\",契約済,基本型,\r\n",
            PAYLOAD.replace('"', "\"\""),
            FORMULA.replace('"', "\"\""),
            SVG
        );
        vsys_app::site_import::import(&t.app, &nation, file.as_bytes(), &|_, _, _| {})
            .await
            .unwrap();
        seen.page(&t, &minato, "/sites/1350000077").await;
        seen.shown("/sites/1350000077");
        seen.page(&t, &minato, "/sites?q=1350000077").await;

        let w_actor = vsys_app::accounts::actor_on_host(&t.app, &demo("wholesaler", "operator"))
            .await
            .unwrap();
        let q = vsys_app::delivery::DeliveryQuery {
            per_page: Some(500),
            ..Default::default()
        };
        crate::delivery::finalised_cycle(&t).await;
        let (lines, _) = vsys_app::delivery::list(&t.app, &w_actor, &q)
            .await
            .unwrap();
        let undelivered = lines.iter().find(|d| d.delivered_on.is_none());
        assert!(undelivered.is_some(), "a delivery to write a note on");
        if let Some(d) = undelivered {
            vsys_app::delivery::enter(
                &t.app,
                &w_actor,
                &d.id,
                d.version,
                &vsys_app::delivery::DatesInput {
                    delivery_number: Some(FORMULA.into()),
                    note: Some(PAYLOAD.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            seen.page(&t, &wholesaler, "/deliveries").await;
            seen.shown("/deliveries");
            // The download: the formula is neutralised, the markup is only text in a CSV.
            let res = wholesaler
                .get(t.url("/deliveries.csv?encoding=utf-8"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let headers = res.headers().clone();
            assert!(
                headers
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/csv")),
                "{headers:?}"
            );
            assert_eq!(
                headers
                    .get("x-content-type-options")
                    .and_then(|v| v.to_str().ok()),
                Some("nosniff")
            );
            let csv = res.text().await.unwrap();
            assert!(csv.contains("'=HYPERLINK"), "the formula is defused");
            assert!(
                !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
                "no cell starts a formula"
            );
        }
        seen.page(&t, &wholesaler, "/deliveries/status").await;
        seen.page(&t, &wholesaler, "/deliveries/stock").await;

        // The nation and the prefecture look at everything.
        let tokyo = t.web_login(&demo("tokyo", "operator")).await;
        for path in [
            "/sites",
            "/sites?q=%3Cscript%3E",
            "/orgs",
            "/orgs/13103",
            "/deliveries",
        ] {
            seen.page(&t, &tokyo, path).await;
        }
        let nation_admin = t.web_login(&demo("nation", "admin")).await;
        seen.page(&t, &nation_admin, "/audit").await;
        seen.page(
            &t,
            &nation_admin,
            "/audit?action=%22%3E%3Csvg%20onload=alert(1)%3E",
        )
        .await;
        let audit = nation_admin.get(t.url("/audit.csv")).send().await.unwrap();
        assert_eq!(audit.status(), StatusCode::OK);
        {
            let csv = audit.text().await.unwrap();
            for line in csv.lines() {
                for cell in line.split(',') {
                    assert!(
                        !cell.trim_start_matches('"').starts_with(['=', '+', '@']),
                        "audit CSV cell starts a formula: {cell}"
                    );
                }
            }
        }
        // Query strings are reflected inert as well.
        for path in [
            "/sites?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
            "/users?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
            "/audit?action=%22%3E%3Csvg%20onload=alert(1)%3E",
            "/login?next=javascript:alert(1)",
        ] {
            seen.page(&t, &admin, path).await;
        }
        for (path, status, escaped) in &seen.pages {
            eprintln!(
                "xss probe: {status} {path}{}",
                if *escaped {
                    " (payload shown escaped)"
                } else {
                    ""
                }
            );
        }
        let shown = seen.pages.iter().filter(|p| p.2).count();
        assert!(
            shown >= 8,
            "the payload was shown (escaped) on {shown} pages only"
        );
    }
);

/// The probe itself: it sees live markup and `javascript:` links, and lets escaped text pass.
#[test]
fn the_probe_sees_live_markup() {
    for live in [
        format!("<p>{PAYLOAD}</p>"),
        "<input value=\"\"><script>alert(1)</script>\">".to_owned(),
        "<a href=\"javascript:alert(1)\">x</a>".to_owned(),
        "<a HREF=' JavaScript:alert(1)'>x</a>".to_owned(),
        "<form action=javascript:alert(1)>".to_owned(),
    ] {
        let caught = std::panic::catch_unwind(|| assert_inert(&live, "probe"));
        assert!(caught.is_err(), "missed {live}");
    }
    assert_inert(
        &format!(
            "<p>{}</p><a href=\"/sites\">javascript:alert(1)</a>",
            ESCAPED[0]
        ),
        "probe",
    );
}
