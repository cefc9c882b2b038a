//! Walks every operation of the OpenAPI document and proves that a user of another
//! municipality can neither read nor change another organisation's data through it. An
//! operation added without a case here fails this test the day it is added.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use vsys_testkit::db_test;

/// How one operation is checked.
enum Case {
    /// No organisation is involved (logging in).
    Public,
    /// Acts on the caller's own session or account only; there is no target to cross into.
    SelfOnly,
    /// Shared master data (products, supply rules, cycles) that every staff user reads.
    Shared { path: String },
    /// A request about another organisation's data: refused (403/404/422) for the outsider and
    /// leaving no trace; for `insider` (the organisation itself, or its parent where the action
    /// is the parent's) it is authorised: neither 401, 403 nor 404.
    Target {
        path: String,
        body: Option<Value>,
        if_match: Option<i64>,
        insider: &'static str,
    },
    /// A list: 港区's item appears for 港区 and never for the outsider.
    List { path: String, needle: String },
}

struct Fixture {
    clinic: String,
    user_id: String,
    notice_id: String,
    /// A citizens' notice (the nation's, on the public site).
    citizen_notice_id: String,
    /// An announcement written by 港区 (to its own area).
    announcement_id: String,
    cycle: String,
    product: String,
    site: String,
    /// A satellite of the clinic, a pending change of the clinic, a doctor, a ledger entry, a
    /// reporting period, and the days with and without results.
    satellite: String,
    change_id: String,
    doctor_id: String,
    entry_id: String,
    period_id: String,
    reported_day: String,
    today: String,
    /// A delivery of the finalised cycle (to a site of 港区, by W13001) and a token of W13001.
    delivery_id: String,
    token_id: String,
}

fn minato(path: String, body: Option<Value>, if_match: Option<i64>) -> Case {
    Case::Target {
        path,
        body,
        if_match,
        insider: "minato",
    }
}

fn by(insider: &'static str, path: String, body: Option<Value>, if_match: Option<i64>) -> Case {
    Case::Target {
        path,
        body,
        if_match,
        insider,
    }
}

fn case(method: &str, path: &str, f: &Fixture) -> Option<Case> {
    let uid = &f.user_id;
    let alloc = |rest: &str| format!("/api/v1/cycles/{}/allocations/{rest}", f.cycle);
    let site = |rest: &str| format!("/api/v1/sites/{}{rest}", f.clinic);
    Some(match (method, path) {
        ("post", "/api/v1/session")
        | ("get", "/api/v1/public/sites")
        | ("get", "/api/v1/public/sites.csv")
        | ("get", "/api/v1/public/municipalities")
        | ("get", "/api/v1/public/vaccines") => Case::Public,
        ("delete", "/api/v1/session")
        | ("get", "/api/v1/me")
        | ("post", "/api/v1/me/password")
        | ("post", "/api/v1/me/totp") => Case::SelfOnly,
        ("get", "/api/v1/orgs") => Case::List {
            path: "/api/v1/orgs?kind=institution&per_page=500".into(),
            needle: f.clinic.clone(),
        },
        ("get", "/api/v1/orgs/{code}") => minato(format!("/api/v1/orgs/{}", f.clinic), None, None),
        ("post", "/api/v1/orgs") => minato(
            "/api/v1/orgs".into(),
            Some(json!({"kind": "site", "parent_code": "13103", "name": "越境テスト会場"})),
            None,
        ),
        ("get", "/api/v1/users") => minato("/api/v1/users?org=13103".into(), None, None),
        ("post", "/api/v1/users") => minato(
            "/api/v1/users".into(),
            Some(
                json!({"org_code": "13103", "email": "cross@example.jp", "name": "越境", "role": "viewer", "password": "cross org password 1"}),
            ),
            None,
        ),
        ("get", "/api/v1/users/{id}") => minato(format!("/api/v1/users/{uid}"), None, None),
        ("patch", "/api/v1/users/{id}") => minato(
            format!("/api/v1/users/{uid}"),
            Some(json!({"name": "越境 改名"})),
            Some(0),
        ),
        ("post", "/api/v1/users/{id}/lock") => {
            minato(format!("/api/v1/users/{uid}/lock"), None, None)
        }
        ("post", "/api/v1/users/{id}/unlock") => {
            minato(format!("/api/v1/users/{uid}/unlock"), None, None)
        }
        ("post", "/api/v1/users/{id}/totp-reset") => {
            minato(format!("/api/v1/users/{uid}/totp-reset"), None, None)
        }
        ("post", "/api/v1/users/{id}/password-reset") => minato(
            format!("/api/v1/users/{uid}/password-reset"),
            Some(json!({"password": "temporary password 9"})),
            None,
        ),
        ("get", "/api/v1/notices") => Case::List {
            path: "/api/v1/notices?per_page=500".into(),
            needle: f.notice_id.clone(),
        },
        ("post", "/api/v1/notices/{id}/read") => {
            minato(format!("/api/v1/notices/{}/read", f.notice_id), None, None)
        }
        ("post", "/api/v1/orgs/{code}/notices") => by(
            "tokyo",
            "/api/v1/orgs/13103/notices".into(),
            Some(
                json!({"category": "info", "title_ja": "越境", "title_en": "Cross", "body_ja": "本文", "body_en": "Body"}),
            ),
            None,
        ),
        // Announcements: a sibling municipality may not address 港区 (its area), nor see or
        // withdraw 港区's.
        ("post", "/api/v1/announcements") => minato(
            path.to_owned(),
            Some(
                json!({"category": "general", "title_ja": "越境", "body_ja": "本文", "names": ["13103"]}),
            ),
            None,
        ),
        ("get", "/api/v1/announcements") => Case::List {
            path: "/api/v1/announcements?per_page=500".into(),
            needle: f.announcement_id.clone(),
        },
        ("delete", "/api/v1/announcements/{id}") => minato(
            format!("/api/v1/announcements/{}", f.announcement_id),
            None,
            None,
        ),
        // The public site's notices are the nation's to write and withdraw.
        ("post", "/api/v1/public-notices") => by(
            "nation",
            path.to_owned(),
            Some(
                json!({"topic": "faq", "title_ja": "越境", "title_en": "Cross", "body_ja": "本文"}),
            ),
            None,
        ),
        ("delete", "/api/v1/public-notices/{id}") => by(
            "nation",
            format!("/api/v1/public-notices/{}", f.citizen_notice_id),
            None,
            None,
        ),
        // Nation administrators only: a municipality's admin is refused, whichever it is.
        ("get", "/api/v1/audit") | ("post", "/api/v1/audit/verify") => {
            by("nation_admin", path.to_owned(), None, None)
        }
        ("get", "/api/v1/products")
        | ("get", "/api/v1/supply-rules")
        | ("get", "/api/v1/cycles") => Case::Shared {
            path: path.to_owned(),
        },
        ("get", "/api/v1/products/{id}") => Case::Shared {
            path: format!("/api/v1/products/{}", f.product),
        },
        ("get", "/api/v1/cycles/{id}") => Case::Shared {
            path: format!("/api/v1/cycles/{}", f.cycle),
        },
        ("get", "/api/v1/cycles/{id}/supply") => Case::Shared {
            path: format!("/api/v1/cycles/{}/supply", f.cycle),
        },
        ("post", "/api/v1/products") => by(
            "pfizer",
            path.to_owned(),
            Some(
                json!({"kind": "vaccine", "owner_code": "M001", "name": "越境ワクチン", "storage_class": "fridge", "doses_per_vial": 10, "vials_per_box": 10}),
            ),
            None,
        ),
        ("put", "/api/v1/products/{id}") => by(
            "pfizer",
            format!("/api/v1/products/{}", f.product),
            Some(
                json!({"kind": "vaccine", "name": "越境改名", "storage_class": "ultra_cold", "doses_per_vial": 6, "vials_per_box": 195}),
            ),
            Some(0),
        ),
        ("put", "/api/v1/supply-rules") => by(
            "nation",
            path.to_owned(),
            Some(
                json!({"needles_per_dose_milli": 1100, "syringes_per_dose_milli": 1100, "pack_rounding": "up", "dry_ice_grams_ultra_cold": 1, "dry_ice_grams_frozen": 1}),
            ),
            Some(-1),
        ),
        ("post", "/api/v1/cycles") => by(
            "nation",
            path.to_owned(),
            Some(
                json!({"number": 99, "vaccine_id": f.product, "period_start": "2026-05-01", "period_end": "2026-05-14",
                "deadline_prefecture": "2026-04-20", "deadline_municipality": "2026-04-22", "deadline_site": "2026-04-24"}),
            ),
            None,
        ),
        ("post", "/api/v1/cycles/{id}/supply") => by(
            "pfizer",
            format!("/api/v1/cycles/{}/supply", f.cycle),
            Some(json!({"supplier_code": "M001", "product_id": f.product, "quantity": 1000})),
            None,
        ),
        ("get", "/api/v1/cycles/{id}/allocations/{org}") => minato(alloc("13103"), None, None),
        ("put", "/api/v1/cycles/{id}/allocations/{org}/lines") => minato(
            alloc("13103/lines"),
            Some(json!({"lines": [{"org_code": f.site, "amount": 1}]})),
            Some(1),
        ),
        ("post", "/api/v1/cycles/{id}/allocations/{org}/simulate") => minato(
            alloc("13103/simulate"),
            Some(json!({"total_vials": 1950})),
            None,
        ),
        ("post", "/api/v1/cycles/{id}/allocations/{org}/autofill") => {
            minato(alloc("13103/autofill"), Some(json!({})), Some(1))
        }
        ("post", "/api/v1/cycles/{id}/allocations/{org}/confirm") => {
            minato(alloc("13103/confirm"), None, None)
        }
        ("post", "/api/v1/cycles/{id}/allocations/{org}/finish") => {
            minato(alloc("13103/finish"), None, None)
        }
        ("post", "/api/v1/cycles/{id}/allocations/{org}/withdraw") => {
            minato(alloc("13103/withdraw"), None, None)
        }
        ("post", "/api/v1/cycles/{id}/allocations/{org}/send-back") => {
            by("tokyo", alloc("13103/send-back"), None, None)
        }
        ("post", "/api/v1/cycles/{id}/allocations/{org}/finalise") => {
            by("tokyo", alloc("13/finalise"), None, None)
        }
        ("get", "/api/v1/cycles/{id}/allocations/{org}/csv") => {
            minato(alloc("13103/csv?encoding=utf-8"), None, None)
        }
        ("put", "/api/v1/cycles/{id}/allocations/{org}/csv") => minato(
            alloc("13103/csv"),
            Some(Value::String(format!(
                "組織コード,分配量\r\n{},1\r\n",
                f.site
            ))),
            Some(1),
        ),
        ("get", "/api/v1/cycles/{id}/requests/{org}") => minato(
            format!("/api/v1/cycles/{}/requests/{}", f.cycle, f.clinic),
            None,
            None,
        ),
        ("put", "/api/v1/cycles/{id}/requests/{org}") => minato(
            format!("/api/v1/cycles/{}/requests/{}", f.cycle, f.clinic),
            Some(
                json!({"capacity_doses": 600, "requested_doses": 300, "storage": "freezer", "needles": 300, "syringes": 300}),
            ),
            Some(0),
        ),
        ("get", "/api/v1/sites") => Case::List {
            path: "/api/v1/sites?per_page=500".into(),
            needle: f.clinic.clone(),
        },
        ("get", "/api/v1/sites/{code}") => minato(site(""), None, None),
        // Importing the registry is the prefecture's (or the nation's) business.
        ("post", "/api/v1/site-imports") => by(
            "tokyo",
            path.to_owned(),
            Some(Value::String(format!(
                "{}\r\n1319999901,,越境テスト医院,1050011,13103,東京都港区芝公園1-1,港 一郎,契約済,,\r\n",
                vsys_app::site_import::HEADERS.join(",")
            ))),
            None,
        ),
        ("put", "/api/v1/sites/{code}/details") => minato(
            site("/details"),
            Some(json!({"phone": "03-1234-5678", "freezers_ultra_cold": 1})),
            Some(0),
        ),
        ("put", "/api/v1/sites/{code}/registry") => minato(
            site("/registry"),
            Some(
                json!({"name": "越境テスト診療所", "municipality_code": "13103", "contract_status": "contracted"}),
            ),
            None,
        ),
        ("post", "/api/v1/site-changes/{id}/decision") => minato(
            format!("/api/v1/site-changes/{}/decision", f.change_id),
            Some(json!({"approve": false})),
            None,
        ),
        ("post", "/api/v1/sites/{code}/confirmation") => {
            minato(site("/confirmation"), None, Some(0))
        }
        ("put", "/api/v1/sites/{code}/reservation") => minato(
            site("/reservation"),
            Some(json!({"status": "available"})),
            None,
        ),
        ("put", "/api/v1/reservations") => minato(
            path.to_owned(),
            Some(json!({"items": [{"code": f.clinic, "reservation": "available"}]})),
            None,
        ),
        ("put", "/api/v1/sites/{code}/hub") => {
            minato(site("/hub"), Some(json!({"site_type": "hub"})), None)
        }
        ("post", "/api/v1/municipalities/{code}/sites") => minato(
            "/api/v1/municipalities/13103/sites".into(),
            Some(json!({"name": "越境テスト会場"})),
            None,
        ),
        ("get", "/api/v1/sites/{code}/doctors") => minato(site("/doctors"), None, None),
        ("post", "/api/v1/sites/{code}/doctors") => {
            minato(site("/doctors"), Some(json!({"name": "越境 医師"})), None)
        }
        ("delete", "/api/v1/sites/{code}/doctors/{id}") => {
            minato(site(&format!("/doctors/{}", f.doctor_id)), None, None)
        }
        ("get", "/api/v1/sites/{code}/stock") => minato(site("/stock"), None, None),
        ("post", "/api/v1/sites/{code}/stock/receipts") => minato(
            site("/stock/receipts"),
            Some(json!({"lot": "EX0001", "vials": 5})),
            None,
        ),
        ("post", "/api/v1/sites/{code}/stock/transfers") => minato(
            site("/stock/transfers"),
            Some(json!({"to": f.satellite, "lot": "EX0001", "vials": 1})),
            None,
        ),
        ("post", "/api/v1/sites/{code}/stock/entries/{id}/correction") => minato(
            site(&format!("/stock/entries/{}/correction", f.entry_id)),
            Some(json!({"reason": "数量の誤り"})),
            None,
        ),
        ("get", "/api/v1/stock/idle") => Case::List {
            path: path.to_owned(),
            needle: f.clinic.clone(),
        },
        ("get", "/api/v1/reporting-periods") => Case::Shared {
            path: path.to_owned(),
        },
        ("post", "/api/v1/reporting-periods") => by(
            "nation",
            path.to_owned(),
            Some(json!({"first_day": f.today, "last_day": f.today})),
            None,
        ),
        ("post", "/api/v1/reporting-periods/{id}/close") => by(
            "nation",
            format!("/api/v1/reporting-periods/{}/close", f.period_id),
            None,
            None,
        ),
        ("get", "/api/v1/sites/{code}/results") => minato(site("/results"), None, None),
        ("get", "/api/v1/sites/{code}/results/{day}") => {
            minato(site(&format!("/results/{}", f.reported_day)), None, None)
        }
        ("put", "/api/v1/sites/{code}/results/{day}") => minato(
            site(&format!("/results/{}", f.today)),
            Some(json!({"total": 0, "elderly": 0, "underlying": 0, "others": 0})),
            None,
        ),
        ("get", "/api/v1/deliveries") => Case::List {
            path: "/api/v1/deliveries?per_page=500".into(),
            needle: f.delivery_id.clone(),
        },
        // Counts within the caller's own area: nothing of another's to reveal.
        ("get", "/api/v1/deliveries/csv") => Case::List {
            path: "/api/v1/deliveries/csv?encoding=utf-8".into(),
            needle: f.delivery_id.clone(),
        },
        ("put", "/api/v1/deliveries/csv") => by(
            "wholesaler",
            path.to_owned(),
            Some(Value::String(format!(
                "配送ID,版,備考\r\n{},1,越境\r\n",
                f.delivery_id
            ))),
            None,
        ),
        // 港区's wholesaler is 東京都's to contract; another municipality reaches neither.
        ("get", "/api/v1/orgs/{code}/areas") => {
            by("tokyo", "/api/v1/orgs/W13001/areas".into(), None, None)
        }
        ("put", "/api/v1/orgs/{code}/areas") => by(
            "tokyo",
            "/api/v1/orgs/W13001/areas".into(),
            Some(json!({"areas": ["13103", "13104"]})),
            None,
        ),
        ("get", "/api/v1/orgs/{code}/deliverer-info") => by(
            "wholesaler",
            "/api/v1/orgs/W13001/deliverer-info".into(),
            None,
            None,
        ),
        ("put", "/api/v1/orgs/{code}/deliverer-info") => by(
            "wholesaler",
            "/api/v1/orgs/W13001/deliverer-info".into(),
            Some(json!({"phone": "03-1111-2222", "contact": "配送 太郎"})),
            Some(0),
        ),
        ("get", "/api/v1/deliveries/upstream") => by(
            "nation",
            format!("/api/v1/deliveries/upstream?cycle={}", f.cycle),
            None,
            None,
        ),
        ("get", "/api/v1/deliveries/stock") => by(
            "wholesaler",
            format!("/api/v1/deliveries/stock?cycle={}", f.cycle),
            None,
            None,
        ),
        ("post", "/api/v1/deliveries/inbound") => by(
            "wholesaler",
            path.to_owned(),
            Some(
                json!({"cycle_id": f.cycle, "item": "vaccine", "quantity": 10, "received_on": f.today}),
            ),
            None,
        ),
        // Each sees the dry-ice lines of its own area (the delivery tests check whose).
        ("get", "/api/v1/deliveries/dry-ice") => Case::Shared {
            path: format!("/api/v1/deliveries/dry-ice?cycle={}", f.cycle),
        },
        ("get", "/api/v1/deliveries/status") => Case::Shared {
            path: path.to_owned(),
        },
        ("get", "/api/v1/deliveries/{id}") => by(
            "wholesaler",
            format!("/api/v1/deliveries/{}", f.delivery_id),
            None,
            None,
        ),
        ("patch", "/api/v1/deliveries/{id}") => by(
            "wholesaler",
            format!("/api/v1/deliveries/{}", f.delivery_id),
            Some(json!({"note": "越境"})),
            Some(0),
        ),
        ("post", "/api/v1/deliveries/bulk") => by(
            "wholesaler",
            path.to_owned(),
            Some(json!({"lines": [{"id": f.delivery_id, "version": 1, "note": "一括"}]})),
            None,
        ),
        ("post", "/api/v1/deliveries/{id}/reassign") => by(
            "tokyo",
            format!("/api/v1/deliveries/{}/reassign", f.delivery_id),
            Some(json!({"deliverer_code": "W13001"})),
            None,
        ),
        ("get", "/api/v1/orgs/{code}/api-tokens") => by(
            "wholesaler_admin",
            "/api/v1/orgs/W13001/api-tokens".into(),
            None,
            None,
        ),
        ("post", "/api/v1/orgs/{code}/api-tokens") => by(
            "wholesaler_admin",
            "/api/v1/orgs/W13001/api-tokens".into(),
            Some(json!({"name": "越境"})),
            None,
        ),
        ("delete", "/api/v1/orgs/{code}/api-tokens/{id}") => by(
            "wholesaler_admin",
            format!("/api/v1/orgs/W13001/api-tokens/{}", f.token_id),
            None,
            None,
        ),
        _ => return None,
    })
}

/// What the site operations need: made through the API by those allowed to.
struct SiteFixture {
    satellite: String,
    change_id: String,
    doctor_id: String,
    entry_id: String,
    period_id: String,
    reported_day: String,
    today: String,
    delivery_id: String,
    token_id: String,
}

impl SiteFixture {
    async fn make(t: &TestApp, clinic: &str, cycle: &str) -> SiteFixture {
        let minato = t.token("minato-operator@demo.vsys.jp").await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let today = vsys_app::clock::japan_date(chrono::Utc::now());
        let yesterday = today - chrono::Duration::days(1);
        let ok = |what: &str, s: StatusCode, v: &Value| {
            assert!(s.is_success(), "{what}: {s} {v}");
        };
        // A municipal site of 港区 as the clinic's satellite.
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/municipalities/13103/sites",
                &minato,
                Some(json!({"name": "港区サテライト会場"})),
            )
            .await;
        ok("municipal site", s, &v);
        let satellite = v["org"]["code"].as_str().unwrap_or_default().to_owned();
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{satellite}/hub"),
                &minato,
                Some(json!({"site_type": "satellite", "hub_code": clinic})),
            )
            .await;
        ok("satellite", s, &v);
        // The clinic asks to change its name: pending for 港区.
        let clinic_user = t
            .make_user(clinic, "operator", "clinic-cross@example.jp")
            .await;
        let clinic_token = t.token(&clinic_user).await;
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/registry"),
                &clinic_token,
                Some(
                    json!({"name": "改名申請クリニック", "municipality_code": "13103", "contract_status": "contracted"}),
                ),
            )
            .await;
        ok("change request", s, &v);
        let change_id = v["change_id"].as_str().unwrap_or_default().to_owned();
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/doctors"),
                &clinic_token,
                Some(json!({"name": "港 太郎", "registration_number": "123456"})),
            )
            .await;
        ok("doctor", s, &v);
        let doctor_id = v["id"].as_str().unwrap_or_default().to_owned();
        let (s, v) = t
            .api(
                Method::POST,
                &format!("/api/v1/sites/{clinic}/stock/receipts"),
                &minato,
                Some(json!({"lot": "EX0001", "vials": 10, "cycle_id": cycle})),
            )
            .await;
        ok("receipt", s, &v);
        let entry_id = v["id"].as_str().unwrap_or_default().to_owned();
        // The demo keeps a reporting period open over the last two weeks and the next.
        let (s, v) = t
            .api(Method::GET, "/api/v1/reporting-periods", &nation, None)
            .await;
        ok("periods", s, &v);
        let period_id = v[0]["id"].as_str().unwrap_or_default().to_owned();
        let (s, v) = t
            .api(
                Method::PUT,
                &format!("/api/v1/sites/{clinic}/results/{yesterday}"),
                &clinic_token,
                Some(json!({"total": 7, "elderly": 5, "underlying": 1, "others": 1})),
            )
            .await;
        ok("results", s, &v);
        // The cycle is finalised: its lines become deliveries.
        let d = crate::allocation::division(t, &minato, cycle, "13103").await;
        let (s, v) = crate::allocation::with_version(
            t,
            Method::POST,
            &format!("/api/v1/cycles/{cycle}/allocations/13103/autofill"),
            &minato,
            d["version"].as_i64().unwrap_or(0),
            json!({}),
        )
        .await;
        ok("autofill", s, &v);
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        for (path, token) in [
            (
                format!("/api/v1/cycles/{cycle}/allocations/13103/finish"),
                &minato,
            ),
            (
                format!("/api/v1/cycles/{cycle}/allocations/13/finalise"),
                &tokyo,
            ),
        ] {
            let (s, v) = t.api(Method::POST, &path, token, None).await;
            ok(&path, s, &v);
        }
        let wholesaler = t.token("wholesaler-operator@demo.vsys.jp").await;
        let (s, v) = t
            .api(
                Method::GET,
                "/api/v1/deliveries?item=vaccine",
                &wholesaler,
                None,
            )
            .await;
        ok("deliveries", s, &v);
        let delivery_id = v["items"][0]["id"].as_str().unwrap_or_default().to_owned();
        let w_admin = t.token("wholesaler-admin@demo.vsys.jp").await;
        let (s, v) = t
            .api(
                Method::POST,
                "/api/v1/orgs/W13001/api-tokens",
                &w_admin,
                Some(json!({"name": "配送システム"})),
            )
            .await;
        ok("token", s, &v);
        let token_id = v["token"]["id"].as_str().unwrap_or_default().to_owned();
        SiteFixture {
            delivery_id,
            token_id,
            satellite,
            change_id,
            doctor_id,
            entry_id,
            period_id,
            reported_day: yesterday.to_string(),
            today: today.to_string(),
        }
    }
}

async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: &Option<Value>,
    if_match: Option<i64>,
) -> (StatusCode, String) {
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
    let mut req = client().request(m, t.url(path)).bearer_auth(token);
    if let Some(v) = if_match {
        req = req.header("if-match", format!("\"v{v}\""));
    }
    match body {
        Some(Value::String(csv)) => req = req.header("content-type", "text/csv").body(csv.clone()),
        Some(b) => req = req.json(b),
        None => {}
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    (res.status(), res.text().await.unwrap_or_default())
}

db_test!(
    every_api_operation_refuses_another_municipality,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        // 港区's data: a clinic, a user, a notice, its allocation in a cycle.
        let mut tx = t.db.db.read().await.unwrap_or_else(|e| panic!("{e}"));
        let f = vsys_store::orgs::OrgFilter {
            scope_path: "/JP/13/13103/".into(),
            kinds: Vec::new(),
            kind: Some("institution".into()),
            ..Default::default()
        };
        let clinics = vsys_store::orgs::list(&mut tx, &f, vsys_store::Page::first(50))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .0;
        let clinic = clinics[0].code.clone();
        drop(tx);
        let user_id = t.user("minato-viewer@demo.vsys.jp").await.id;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let draft = json!({"category": "info", "title_ja": "港区へ", "title_en": "To Minato", "body_ja": "本文", "body_en": "Body"});
        let (_, n) = t
            .api(
                Method::POST,
                "/api/v1/orgs/13103/notices",
                &nation,
                Some(draft),
            )
            .await;
        let notice_id = n["id"]
            .as_str()
            .unwrap_or_else(|| panic!("notice: {n}"))
            .to_owned();
        let (s, c) = t
            .api(
                Method::POST,
                "/api/v1/public-notices",
                &nation,
                Some(json!({"topic": "notice", "title_ja": "お知らせ", "title_en": "Notice"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let citizen_notice_id = c["id"].as_str().unwrap_or_default().to_owned();
        let minato_writer = t.token("minato-operator@demo.vsys.jp").await;
        let (s, a) = t
            .api(
                Method::POST,
                "/api/v1/announcements",
                &minato_writer,
                Some(json!({"category": "general", "title_ja": "区内へ", "body_ja": "本文"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let announcement_id = a["id"].as_str().unwrap_or_default().to_owned();
        let cycle = crate::allocation::minato_has_its_allocation(&t).await;
        let pfizer = t.token("pfizer-operator@demo.vsys.jp").await;
        let (_, products) = t
            .api(Method::GET, "/api/v1/products?kind=vaccine", &pfizer, None)
            .await;
        let product = products[0]["id"].as_str().unwrap_or_default().to_owned();
        let minato_token = t.token("minato-operator@demo.vsys.jp").await;
        let d = crate::allocation::division(&t, &minato_token, &cycle, "13103").await;
        let site = d["lines"][0]["org_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // The clinic has reported its request for the cycle.
        let (s, r) = t
            .api(
                Method::PUT,
                &format!("/api/v1/cycles/{cycle}/requests/{clinic}"),
                &minato_token,
                Some(json!({"capacity_doses": 600, "requested_doses": 300, "storage": "freezer", "needles": 300, "syringes": 300})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let sites = SiteFixture::make(&t, &clinic, &cycle).await;
        let f = Fixture {
            clinic,
            user_id,
            notice_id,
            citizen_notice_id,
            announcement_id,
            cycle,
            product,
            site,
            satellite: sites.satellite,
            change_id: sites.change_id,
            doctor_id: sites.doctor_id,
            entry_id: sites.entry_id,
            period_id: sites.period_id,
            reported_day: sites.reported_day,
            today: sites.today,
            delivery_id: sites.delivery_id,
            token_id: sites.token_id,
        };
        // The outsider is the strongest role of a sibling municipality (新宿区, also in 東京都).
        let outsider = t
            .make_user("13104", "admin", "shinjuku-admin@example.jp")
            .await;
        let outsider = t.token(&outsider).await;
        let minato_admin = t
            .make_user("13103", "admin", "minato-admin5@example.jp")
            .await;
        let mut insiders = HashMap::new();
        insiders.insert("minato", t.token(&minato_admin).await);
        insiders.insert("pfizer", pfizer);
        insiders.insert("nation", nation);
        insiders.insert("nation_admin", t.token("nation-admin@demo.vsys.jp").await);
        insiders.insert("tokyo", t.token("tokyo-operator@demo.vsys.jp").await);
        insiders.insert(
            "wholesaler",
            t.token("wholesaler-operator@demo.vsys.jp").await,
        );
        insiders.insert(
            "wholesaler_admin",
            t.token("wholesaler-admin@demo.vsys.jp").await,
        );

        let doc = serde_json::to_value(vsys_web::api::openapi()).unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert!(paths.len() >= 20, "the document lists the API");
        let mut missing = Vec::new();
        let mut checked = 0;
        for (path, item) in &paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let Some(c) = case(method, path, &f) else {
                    missing.push(format!("{} {path}", method.to_uppercase()));
                    continue;
                };
                match c {
                    Case::Public | Case::SelfOnly => {}
                    Case::Shared { path: p } => {
                        let (s, text) = send(&t, method, &p, &outsider, &None, None).await;
                        assert!(
                            s.is_success(),
                            "{method} {p}: shared master data is readable by every staff user: {s} {text}"
                        );
                        checked += 1;
                    }
                    Case::Target {
                        path: p,
                        body,
                        if_match,
                        insider,
                    } => {
                        let audit_before = t.audit_actions("").await.len();
                        let (s, text) = send(&t, method, &p, &outsider, &body, if_match).await;
                        assert!(
                            matches!(
                                s,
                                StatusCode::FORBIDDEN
                                    | StatusCode::NOT_FOUND
                                    | StatusCode::UNPROCESSABLE_ENTITY
                            ),
                            "{method} {p}: outsider got {s}: {text}"
                        );
                        // A bulk body's refused item is named by the code the caller sent
                        // (`"item"`): that echo tells nothing; anything else would.
                        let unechoed = text.replace(&format!("\"item\":\"{}\"", f.clinic), "");
                        assert!(
                            !unechoed.contains("minato-viewer") && !unechoed.contains(&f.clinic),
                            "{method} {p} leaked: {text}"
                        );
                        if method != "get" {
                            assert_eq!(
                                t.audit_actions("").await.len(),
                                audit_before,
                                "{method} {p}: a refused write left a trace"
                            );
                        }
                        let token = insiders.get(insider).cloned().unwrap_or_default();
                        let (s, text) = send(&t, method, &p, &token, &body, if_match).await;
                        assert!(
                            !matches!(
                                s,
                                StatusCode::UNAUTHORIZED
                                    | StatusCode::FORBIDDEN
                                    | StatusCode::NOT_FOUND
                            ),
                            "{method} {p}: the organisation itself ({insider}) must be allowed, got {s}: {text}"
                        );
                        checked += 1;
                    }
                    Case::List { path: p, needle } => {
                        let (s, text) = send(&t, method, &p, &outsider, &None, None).await;
                        assert!(
                            s.is_success() && !text.contains(&needle),
                            "{method} {p}: outsider saw {needle}"
                        );
                        let minato = insiders.get("minato").cloned().unwrap_or_default();
                        let (_, text) = send(&t, method, &p, &minato, &None, None).await;
                        assert!(
                            text.contains(&needle),
                            "{method} {p}: 港区 should see {needle}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "operations without a cross-organisation case: {missing:?}"
        );
        assert!(checked >= 30, "checked {checked}");
    }
);

db_test!(screens_refuse_another_municipality, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let user_id = t.user("minato-viewer@demo.vsys.jp").await.id;
    let outsider = t
        .make_user("13104", "admin", "shinjuku-admin2@example.jp")
        .await;
    let c = t.web_login(&outsider).await;
    for path in [
        format!("/users/{user_id}"),
        "/users?org=13103".into(),
        "/orgs/9131030001".into(),
        "/audit".into(),
    ] {
        let s = c
            .get(t.url(&path))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or(StatusCode::OK);
        assert!(
            matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{path}: {s}"
        );
    }
    let page = t.page(&c, "/").await;
    let csrf = csrf_of(&page);
    let res = c
        .post(t.url(&format!("/users/{user_id}/reset")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("password", "temporary password 8"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        !t.user("minato-viewer@demo.vsys.jp")
            .await
            .must_change_password
    );
});
