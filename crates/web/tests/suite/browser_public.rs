//! The citizens' finder in headless Chromium, with its script: a postal code, the municipality
//! list filled as the prefecture changes, each filter, "現在地から探す" with a given location,
//! a site's page and the language switch; then accessibility: axe-core (WCAG 2.0/2.1 A and
//! AA) finds nothing on the finder, a results page, a site page and a refused search, the
//! keyboard alone reaches every control and searches, and a phone-width screenshot is kept
//! (`target/artefacts/finder-phone.png`).

use crate::a11y::{axe_clean, axe_violations};
use crate::browser::{absent, finish, start};
use crate::common::*;
use crate::public_finder::{busiest, postal_code_of, snapshot};
use serde_json::{Value, json};
use vsys_domain::Reservation;
use vsys_testkit::db_test;
use vsys_testkit::webdriver::Browser;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// The id (or tag) of the focused element.
async fn focused(b: &Browser) -> anyhow::Result<String> {
    let v = b
        .execute(
            "const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')) : '';",
            json!([]),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// The number of results the page states ("12件" → 12), waiting for the page to show them.
async fn result_count(b: &Browser) -> anyhow::Result<usize> {
    let t = b
        .wait_text("#results-count", |s| {
            s.ends_with('件') || s.ends_with("sites") || s.ends_with("site")
        })
        .await?;
    Ok(t.trim_end_matches(['件', 's', 'i', 't', 'e', ' '])
        .trim()
        .parse()?)
}

/// Chooses an option of a select by clicking it, as a person does (the change event fires).
async fn choose(b: &Browser, select: &str, value: &str) -> anyhow::Result<()> {
    b.click(&format!("{select} option[value=\"{value}\"]"))
        .await
}

db_test!(
    a_citizen_searches_filters_and_opens_a_site_in_chromium,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let s = snapshot(&t).await;
        let city = busiest(&s);
        let postal = postal_code_of(&city.code);
        let run = async {
            // 1. A postal code, typed: the city's sites, nearest first, with distances; empty
            //    fields stay out of the address.
            b.goto(&t.url("/search/")).await?;
            b.fill("#postal_code", &postal).await?;
            b.click("#search-submit").await?;
            anyhow::ensure!(result_count(&b).await? == city.sites, "postal code count");
            let url = b.url().await?;
            anyhow::ensure!(
                url.contains(&format!("postal_code={postal}"))
                    && !url.contains("q=")
                    && !url.contains("lat="),
                "short query: {url}"
            );
            let d = b.text("#result-list li:first-child .distance").await?;
            anyhow::ensure!(d.ends_with(" km"), "distance: {d}");

            // 2. A site's page from the results, and the language switch on it.
            let first = b.text("#result-list li:first-child h3 a").await?;
            b.click("#result-list li:first-child h3 a").await?;
            b.wait_text("#site-title", |x| x == first).await?;
            anyhow::ensure!(b.find("#map-link").await.is_ok(), "map link");
            let here = b.url().await?;
            b.click("#lang-en").await?;
            b.wait_text("#status-h", |x| x == "Booking status").await?;
            let lang = b
                .execute("return document.documentElement.lang;", json!([]))
                .await?;
            anyhow::ensure!(lang == json!("en"), "lang: {lang}");
            anyhow::ensure!(
                b.url().await?.starts_with(here.trim_end_matches('/')),
                "same page"
            );
            // English stays while browsing (the cookie), until switched back.
            b.goto(&t.url("/search/")).await?;
            b.wait_text("#finder-title", |x| x == "Find a vaccination site")
                .await?;
            b.click("#lang-ja").await?;
            b.wait_text("#finder-title", |x| x == "接種会場・医療機関を探す")
                .await?;

            // 3. Choosing a prefecture fills the municipality list (no reload); then a city.
            let before = b.url().await?;
            choose(&b, "#prefecture", &city.prefecture_code).await?;
            b.find(&format!("#municipality option[value=\"{}\"]", city.code))
                .await?;
            anyhow::ensure!(b.url().await? == before, "no reload");
            anyhow::ensure!(absent(&b, "#results").await?, "still the top page");
            choose(&b, "#municipality", &city.code).await?;
            b.click("#search-submit").await?;
            anyhow::ensure!(result_count(&b).await? == city.sites, "municipality count");

            // 4. Each filter narrows, as the snapshot says.
            let pref = city.prefecture_code.clone();
            let in_pref = |f: &dyn Fn(&vsys_app::public::PublicSite) -> bool| {
                s.sites()
                    .iter()
                    .filter(|x| x.prefecture_code == pref && f(x))
                    .count()
            };
            let vaccine = s.vaccines()[0].id.clone();
            let with_vaccine =
                |x: &vsys_app::public::PublicSite| x.vaccines.iter().any(|v| v.id == vaccine);
            b.goto(&t.url(&format!("/search/?prefecture={pref}")))
                .await?;
            anyhow::ensure!(
                result_count(&b).await? == in_pref(&|_| true),
                "prefecture count"
            );
            choose(&b, "#vaccine", &vaccine).await?;
            b.click("#search-submit").await?;
            b.wait_text("#results-count", |_| true).await?;
            b.find("#vaccine option[selected]").await?;
            anyhow::ensure!(result_count(&b).await? == in_pref(&with_vaccine), "vaccine");
            b.click("#status-available").await?;
            b.click("#status-few").await?;
            b.click("#search-submit").await?;
            b.find("#status-few[checked]").await?;
            let open = |x: &vsys_app::public::PublicSite| {
                with_vaccine(x)
                    && matches!(x.reservation, Reservation::Available | Reservation::Few)
            };
            anyhow::ensure!(result_count(&b).await? == in_pref(&open), "statuses");
            b.click("#accepts_non_regular").await?;
            b.click("#search-submit").await?;
            b.find("#accepts_non_regular[checked]").await?;
            anyhow::ensure!(
                result_count(&b).await? == in_pref(&|x| open(x) && x.accepts_non_regular),
                "かかりつけ以外も可"
            );

            // 5. 現在地から探す: the device's location (given here), 10 km around it.
            let p = city.point.ok_or_else(|| anyhow::anyhow!("no point"))?;
            let (lat, lng) = (format!("{:.5}", p.lat), format!("{:.5}", p.lng));
            b.goto(&t.url("/search/?prefecture=01")).await?;
            b.find("#near-me:not([hidden])").await?;
            b.execute(
                "const lat = Number(arguments[0]), lng = Number(arguments[1]);
                 navigator.geolocation.getCurrentPosition = function (ok) {
                   ok({coords: {latitude: lat, longitude: lng}});
                 };",
                json!([lat, lng]),
            )
            .await?;
            let override_ok = b
                .execute(
                    "let got = null; navigator.geolocation.getCurrentPosition(p => got = p.coords.latitude); return got;",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(override_ok != Value::Null, "location given: {override_ok}");
            b.click("#near-me").await?;
            b.find("#near-point").await?;
            let url = b.url().await?;
            anyhow::ensure!(
                url.contains(&format!("lat={lat}")) && !url.contains("prefecture="),
                "{url}"
            );
            let at = vsys_domain::place::Point {
                lat: lat.parse()?,
                lng: lng.parse()?,
            };
            let near = s
                .sites()
                .iter()
                .filter(|x| x.point.is_some_and(|q| at.distance_km(q) <= 10.0))
                .count();
            anyhow::ensure!(result_count(&b).await? == near, "near me");
            anyhow::ensure!(absent(&b, "#search-errors").await?, "no errors");
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "finder").await;
    }
);

db_test!(
    the_finder_passes_axe_the_keyboard_and_fits_a_phone,
    |backend| async move {
        let Some(t) = spawn_app(backend).await else {
            return;
        };
        let Some(b) = start().await else {
            return;
        };
        let s = snapshot(&t).await;
        let city = busiest(&s);
        let postal = postal_code_of(&city.code);
        let site = s.municipality(&city.code).unwrap_or_default()[0]
            .code
            .clone();
        // A notice with Markdown on the top page.
        let nation = vsys_app::accounts::actor_on_host(&t.app, "nation-operator@demo.vsys.jp")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        vsys_app::notices::post_for_citizens(
            &t.app,
            &nation,
            vsys_domain::notice::CitizenTopic::Notice,
            &vsys_app::notices::CitizenDraft {
                title_ja: "予約受付を開始しました".into(),
                title_en: "Bookings are open".into(),
                body_ja: "## 対象\n\n- 65歳以上の方\n- [よくある質問](/search/faq)".into(),
                body_en: String::new(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        snapshot(&t).await;
        let run = async {
            b.resize(390, 844).await?;
            // 1. axe-core: the finder, results, a site, a refused search, FAQ, guide; both
            //    languages.
            for (path, what) in [
                ("/search/".to_owned(), "the finder"),
                (format!("/search/?municipality={}", city.code), "results"),
                (
                    format!("/search/?postal_code={postal}&per_page=1"),
                    "results by postal code, paged",
                ),
                (format!("/search/sites/{site}"), "a site"),
                (
                    "/search/?postal_code=12&status=bogus".to_owned(),
                    "a refused search",
                ),
                ("/search/faq".to_owned(), "FAQ"),
                ("/search/guide".to_owned(), "guide"),
                ("/search/sites/0000000000".to_owned(), "not found"),
                (
                    format!("/search/?municipality={}&lang=en", city.code),
                    "results in English",
                ),
                (format!("/search/sites/{site}?lang=en"), "a site in English"),
            ] {
                b.goto(&t.url(&path)).await?;
                b.find("#main").await?;
                axe_clean(&b, what).await?;
            }
            // axe does find what is wrong (a picture without its text), so its silence above
            // means something.
            b.execute(
                "const i = document.createElement('img'); i.src = '/static/none.png'; document.querySelector('main').appendChild(i);",
                json!([]),
            )
            .await?;
            let found = axe_violations(&b).await?;
            anyhow::ensure!(
                found.iter().any(|v| v.starts_with("image-alt")),
                "axe works: {found:?}"
            );
            b.goto(&t.url("/search/?lang=ja")).await?;

            // 2. The keyboard alone: Tab from the top reaches the skip link first, then every
            //    control in order; the postal code is typed, Enter on the search button searches.
            b.goto(&t.url("/search/")).await?;
            b.find("#search-form").await?;
            let mut seen = Vec::new();
            for _ in 0..120 {
                b.press(TAB).await?;
                let id = focused(&b).await?;
                if id == "postal_code" {
                    b.press(&postal).await?;
                    let outline = b
                        .execute(
                            "return getComputedStyle(document.activeElement).outlineStyle;",
                            json!([]),
                        )
                        .await?;
                    anyhow::ensure!(outline != json!("none"), "visible focus: {outline}");
                }
                seen.push(id.clone());
                if id == "search-submit" {
                    break;
                }
            }
            anyhow::ensure!(
                seen.first().map(String::as_str) == Some("a.skip-link"),
                "skip link first: {seen:?}"
            );
            let order = [
                "lang-en",
                "nav-search",
                "prefecture",
                "municipality",
                "postal_code",
                "q",
                "vaccine",
                "status-available",
                "status-unregistered",
                "accepts_non_regular",
                "search-submit",
            ];
            let mut at = 0;
            for id in &seen {
                if at < order.len() && id == order[at] {
                    at += 1;
                }
            }
            anyhow::ensure!(
                at == order.len(),
                "focus order {seen:?}, stopped before {:?}",
                order.get(at)
            );
            b.press(ENTER).await?;
            anyhow::ensure!(
                result_count(&b).await? == city.sites,
                "searched by keyboard"
            );
            // The skip link leads to the content.
            b.goto(&t.url("/search/")).await?;
            b.find("#search-form").await?;
            b.press(TAB).await?;
            b.press(ENTER).await?;
            anyhow::ensure!(b.url().await?.ends_with("#main"), "skip link");

            // 3. A phone: nothing wider than the screen; the screenshot is kept.
            b.goto(&t.url(&format!("/search/?postal_code={postal}")))
                .await?;
            result_count(&b).await?;
            let wide = b
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                    json!([]),
                )
                .await?;
            anyhow::ensure!(
                wide.as_i64() == Some(0),
                "no sideways scrolling on a phone: {wide}"
            );
            crate::browser::keep_screenshot(&b, "finder-phone.png").await?;
            Ok::<(), anyhow::Error>(())
        };
        let result = run.await;
        finish(b, result, "finder-a11y").await;
    }
);
