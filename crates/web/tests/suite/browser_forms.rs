//! In headless Chromium: forms that forgive (a refused form comes back as typed, with the
//! reason next to each field, named by its label), successes that say so (the supply, the
//! request, a subordinate's first administrator), and notices gathered per event with
//! 「すべて既読にする」.

use crate::allocation::{cycle_with_supply_on, division, with_version};
use crate::browser::{absent, login, set};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

/// The value of a form control now.
async fn value(b: &Browser, css: &str) -> anyhow::Result<String> {
    let v = b
        .execute(
            "return document.querySelector(arguments[0]).value;",
            json!([css]),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Lets a form be sent as typed (the browser's own checks off, as after an old browser).
async fn no_validate(b: &Browser) -> anyhow::Result<()> {
    b.execute(
        "document.querySelectorAll('form').forEach(f => f.noValidate = true);",
        json!([]),
    )
    .await?;
    Ok(())
}

/// Fills the new-cycle form of /cycles (the コミナティ vaccine, the first needle and syringe).
async fn fill_cycle(b: &Browser, number: &str, dates: [&str; 5]) -> anyhow::Result<()> {
    b.fill("#number", number).await?;
    for (id, v) in [
        "#period_start",
        "#period_end",
        "#deadline_prefecture",
        "#deadline_municipality",
        "#deadline_site",
    ]
    .into_iter()
    .zip(dates)
    {
        set(b, id, v).await?;
    }
    b.execute("const s=document.querySelector('#vaccine_id'); s.value=[...s.options].find(o=>o.text.includes('コミナティ')).value; for (const id of ['#needle_id','#syringe_id']) { const x=document.querySelector(id); x.selectedIndex=1; }", json!([])).await?;
    set(b, "#unit_site", "vial").await?;
    no_validate(b).await
}

db_test!(
    refused_cycle_form_keeps_values_and_names_fields,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        in_browser!(b, "forms-cycle", {
            login(&b, &t, "nation-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/cycles")).await?;
            let good = [
                "2027-06-01",
                "2027-06-14",
                "2027-05-20",
                "2027-05-23",
                "2027-05-26",
            ];
            // Not a number, and deadlines out of order: each said next to its field, by label.
            fill_cycle(
                &b,
                "十二",
                [
                    "2027-06-01",
                    "2027-06-14",
                    "2027-05-26",
                    "2027-05-23",
                    "2027-05-20",
                ],
            )
            .await?;
            b.click("#cycle-create").await?;
            let at_number = b.text("#cycle-number-error").await?;
            anyhow::ensure!(at_number.contains("数字で入力してください"), "{at_number}");
            let at_deadline = b.text("#cycle-deadline_municipality-error").await?;
            anyhow::ensure!(at_deadline.contains("締切は"), "{at_deadline}");
            let summary = b.text("#cycle-errors").await?;
            anyhow::ensure!(
                summary.contains("クール番号: 数字で入力してください")
                    && summary.contains("市町村"),
                "{summary}"
            );
            anyhow::ensure!(value(&b, "#number").await? == "十二", "number kept");
            anyhow::ensure!(
                value(&b, "#deadline_site").await? == "2027-05-20"
                    && value(&b, "#period_end").await? == "2027-06-14"
                    && value(&b, "#unit_site").await? == "vial",
                "dates and choices kept"
            );
            // Created (full-width digits accepted), the cycle's page says so.
            fill_cycle(&b, "１２", good).await?;
            b.click("#cycle-create").await?;
            let flash = b.text(".alert-success").await?;
            anyhow::ensure!(flash.contains("クールを作成しました"), "{flash}");
            // The same number again: refused, named by its label and number, all kept.
            b.goto(&t.url("/cycles")).await?;
            fill_cycle(&b, "12", good).await?;
            b.click("#cycle-create").await?;
            let at_number = b.text("#cycle-number-error").await?;
            anyhow::ensure!(
                at_number.contains("第12クールはすでにあります。別の番号を入力してください。"),
                "{at_number}"
            );
            let summary = b.text("#cycle-errors").await?;
            anyhow::ensure!(
                summary.contains("クール番号: 第12クールはすでにあります")
                    && !summary.contains("氏名"),
                "{summary}"
            );
            anyhow::ensure!(
                value(&b, "#number").await? == "12"
                    && value(&b, "#period_start").await? == "2027-06-01"
                    && value(&b, "#deadline_site").await? == "2027-05-26",
                "values kept"
            );
            let needle = value(&b, "#needle_id").await?;
            anyhow::ensure!(!needle.is_empty(), "the needle chosen is kept");
            Ok(())
        });
    }
);

/// Logs in an administrator with two-step verification.
async fn login_admin(b: &Browser, t: &TestApp, email: &str) -> anyhow::Result<()> {
    b.goto(&t.url("/login")).await?;
    if !absent(b, "#logout").await? {
        b.click("#logout").await?;
        b.wait_text(".alert", |s| s.contains("ログアウトしました"))
            .await?;
    }
    b.fill("#email", email).await?;
    b.fill("#password", PASSWORD).await?;
    b.click("#login-submit").await?;
    b.fill("#code", &t.totp(email).await).await?;
    b.execute(
        "document.querySelector('#code').form.requestSubmit();",
        json!([]),
    )
    .await?;
    b.find("#home-title").await?;
    Ok(())
}

db_test!(
    user_form_names_fields_and_first_admin_lands_with_success,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        in_browser!(b, "forms-user", {
            login_admin(&b, &t, "tokyo-admin@demo.vsys.jp").await?;
            b.goto(&t.url("/users")).await?;
            b.click("#new-user").await?;
            // Refused: each reason next to its field, by its label; what was typed kept.
            b.fill("#org_code", "１３１０４").await?;
            b.fill("#email", "not-an-address").await?;
            b.fill("#name", "").await?;
            set(&b, "#role", "admin").await?;
            b.fill("#password", "short").await?;
            no_validate(&b).await?;
            b.click("#user-submit").await?;
            let summary = b.text("#user-errors").await?;
            anyhow::ensure!(
                summary.contains("メールアドレス: ")
                    && summary.contains("氏名: ")
                    && summary.contains("初期パスワード: ")
                    && !summary.contains("org_code")
                    && !summary.contains("email:"),
                "{summary}"
            );
            let at_email = b.text("#user-email-error").await?;
            anyhow::ensure!(at_email.contains("メールアドレス"), "{at_email}");
            b.find("#user-name-error").await?;
            anyhow::ensure!(
                value(&b, "#email").await? == "not-an-address"
                    && value(&b, "#org_code").await? == "１３１０４"
                    && value(&b, "#role").await? == "admin",
                "values kept"
            );
            // An organisation that does not exist: named 組織コード, next to the field.
            b.fill("#org_code", "99999").await?;
            b.fill("#email", "first-admin@example.jp").await?;
            b.fill("#name", "新宿 太郎").await?;
            b.fill("#password", "a-Long-enough-pass-2026").await?;
            b.click("#user-submit").await?;
            let at_org = b.text("#user-org_code-error").await?;
            anyhow::ensure!(at_org.contains("組織コード"), "{at_org}");
            let summary = b.text("#user-errors").await?;
            anyhow::ensure!(summary.contains("組織コード: "), "{summary}");
            // 新宿区's first administrator: created, and 東京都 lands on its own list, told so.
            b.fill("#org_code", "13104").await?;
            b.fill("#password", "a-Long-enough-pass-2026").await?;
            b.click("#user-submit").await?;
            let flash = b.text(".alert-success").await?;
            anyhow::ensure!(flash.contains("管理者を作成しました"), "{flash}");
            let page = b.page_text().await?;
            anyhow::ensure!(!page.contains("エラー (403)"), "{page}");
            anyhow::ensure!(b.url().await?.contains("/users?org=13&"), "own list");
            let created = t.user("first-admin@example.jp").await;
            anyhow::ensure!(
                created.org_code == "13104" && created.role.as_str() == "admin",
                "{created:?}"
            );
            Ok(())
        });
    }
);

db_test!(supply_and_request_saves_say_so, |backend| async move {
    let Some(t) = spawn_app(backend).await else {
        return;
    };
    let id = cycle_with_supply_on(&t, 21, "standard").await;
    in_browser!(b, "forms-supply", {
        login(&b, &t, "nation-operator@demo.vsys.jp").await?;
        b.goto(&t.url(&format!("/cycles/{id}"))).await?;
        // Refused: kept, and told what to type.
        b.fill("#supplier_code", "M001").await?;
        b.fill("#quantity", "たくさん").await?;
        b.click("#supply-submit").await?;
        let at = b.text("#supply-quantity-error").await?;
        anyhow::ensure!(at.contains("数字で入力してください"), "{at}");
        anyhow::ensure!(
            value(&b, "#quantity").await? == "たくさん"
                && value(&b, "#supplier_code").await? == "M001",
            "kept"
        );
        b.fill("#quantity", "２００").await?;
        b.click("#supply-submit").await?;
        let flash = b.text(".alert-success").await?;
        anyhow::ensure!(flash.contains("保存しました"), "{flash}");
        // The clinic reports its capacity and request: saved, and told so.
        login(&b, &t, "clinic-operator@demo.vsys.jp").await?;
        b.goto(&t.url(&format!("/cycles/{id}"))).await?;
        for (css, v) in [
            ("#capacity_doses", "１，２００"),
            ("#requested_doses", "600"),
            ("#needles", "600"),
            ("#syringes", "600"),
        ] {
            b.fill(css, v).await?;
        }
        b.click("#request-submit").await?;
        let flash = b.text(".alert-success").await?;
        anyhow::ensure!(flash.contains("保存しました"), "{flash}");
        anyhow::ensure!(value(&b, "#capacity_doses").await? == "1200", "stored");
        Ok(())
    });
});

db_test!(
    confirmations_are_one_notice_and_all_can_be_read,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let id = cycle_with_supply_on(&t, 22, "standard").await;
        let nation = t.token("nation-operator@demo.vsys.jp").await;
        let v = division(&t, &nation, &id, "JP").await["version"]
            .as_i64()
            .unwrap_or(0);
        let path = |org: &str, what: &str| format!("/api/v1/cycles/{id}/allocations/{org}/{what}");
        let (s, d) = with_version(
            &t,
            Method::POST,
            &path("JP", "autofill"),
            &nation,
            v,
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(
            t.api(Method::POST, &path("JP", "finish"), &nation, None)
                .await
                .0,
            StatusCode::OK
        );
        let tokyo = t.token("tokyo-operator@demo.vsys.jp").await;
        assert_eq!(
            t.api(Method::POST, &path("13", "confirm"), &tokyo, None)
                .await
                .0,
            StatusCode::OK
        );
        let v = division(&t, &tokyo, &id, "13").await["version"]
            .as_i64()
            .unwrap_or(0);
        let codes = ["13101", "13102", "13103", "13104"];
        let lines: Vec<_> = codes
            .iter()
            .map(|c| json!({"org_code": c, "amount": 1}))
            .collect();
        let (s, d) = with_version(
            &t,
            Method::PUT,
            &format!("/api/v1/cycles/{id}/allocations/13/lines"),
            &tokyo,
            v,
            json!({ "lines": lines }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(
            t.api(Method::POST, &path("13", "finish"), &tokyo, None)
                .await
                .0,
            StatusCode::OK
        );
        // Four municipalities confirm, each as its own user.
        for code in codes {
            let email = if code == "13103" {
                "minato-operator@demo.vsys.jp".to_owned()
            } else {
                t.make_user(code, "operator", &format!("op-{code}@example.jp"))
                    .await
            };
            let token = t.token(&email).await;
            let (s, p) = t
                .api(Method::POST, &path(code, "confirm"), &token, None)
                .await;
            assert_eq!(s, StatusCode::OK, "{code}: {p}");
        }
        in_browser!(b, "forms-notices", {
            login(&b, &t, "tokyo-operator@demo.vsys.jp").await?;
            b.goto(&t.url("/notices")).await?;
            let list = b.text(".notice-list").await?;
            let confirmed = list.matches("確認済にしました").count();
            // The title and the body of the one notice say it.
            anyhow::ensure!(confirmed == 2, "one grouped notice: {list}");
            anyhow::ensure!(
                list.contains("4団体が確認済にしました")
                    && list.contains(
                        "千代田区（13101）、中央区（13102）、港区（13103）、新宿区（13104）"
                    ),
                "{list}"
            );
            // 「すべて既読にする」 on the notices page: nothing unread after, and it says so.
            b.click("#mark-all-read").await?;
            let flash = b.text(".alert-success").await?;
            anyhow::ensure!(
                flash.contains("すべてのお知らせを既読にしました"),
                "{flash}"
            );
            anyhow::ensure!(absent(&b, ".notice-list li.unread").await?, "all read");
            anyhow::ensure!(absent(&b, "#mark-all-read").await?, "nothing left to mark");
            Ok(())
        });
        let entries = t.audit_actions("notice.read_all").await;
        assert_eq!(entries.len(), 1, "audited once");
    }
);
