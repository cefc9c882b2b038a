//! The public site's search (`vsys_app::public`): its one parameter parser naming every wrong
//! parameter, and its one search over the snapshot's indexes — area, postal code, words,
//! distance, filters, pages — checked against a plain scan of the same snapshot.

use crate::common::*;
use vsys_app::public::{self, Area, SearchParams, Snapshot};
use vsys_domain::Reservation;
use vsys_domain::place::Point;
use vsys_testkit::db_test;

fn params(pairs: &[(&str, &str)]) -> SearchParams {
    let mut p = SearchParams::default();
    for (k, v) in pairs {
        let v = Some((*v).to_owned());
        match *k {
            "prefecture" => p.prefecture = v,
            "municipality" => p.municipality = v,
            "postal_code" => p.postal_code = v,
            "q" => p.q = v,
            "lat" => p.lat = v,
            "lng" => p.lng = v,
            "radius_km" => p.radius_km = v,
            "vaccine" => p.vaccine = v,
            "status" => p.status = v,
            "accepts_non_regular" => p.accepts_non_regular = v,
            "page" => p.page = v,
            "per_page" => p.per_page = v,
            other => panic!("unknown parameter {other}"),
        }
    }
    p
}

/// The parameters each refused, by name.
fn refused(s: &Snapshot, pairs: &[(&str, &str)]) -> Vec<String> {
    match params(pairs).parse(s) {
        Ok(q) => panic!("{pairs:?} was accepted: {q:?}"),
        Err(inv) => inv.0.iter().map(|e| e.field.clone()).collect(),
    }
}

/// Codes of every match (all pages).
fn codes(s: &Snapshot, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut all = pairs.to_vec();
    all.push(("per_page", "500"));
    let q = params(&all)
        .parse(s)
        .unwrap_or_else(|e| panic!("{pairs:?}: {e:?}"));
    let found = public::search(s, &q);
    assert!(found.total <= 500, "one page holds them");
    found
        .items
        .iter()
        .map(|(site, _)| site.code.clone())
        .collect()
}

db_test!(
    the_public_search_reads_parameters_and_finds_by_every_index,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let s = public::refresh(&w.app).await.unwrap();
        let all = s.sites();
        assert!(
            all.len() > 20,
            "the demo makes most of its sites public: {}",
            all.len()
        );

        // Which sites are public: municipal sites, and institutions once confirmed.
        let mut tx = w.db.db.read().await.unwrap();
        let profiles = vsys_store::sites::for_orgs(
            &mut tx,
            &all.iter().map(|x| x.code.clone()).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
        drop(tx);
        assert_eq!(profiles.len(), all.len());
        for p in &profiles {
            let site = s.site(&p.org_code).unwrap();
            assert!(site.kind == vsys_domain::OrgKind::Site || p.confirmed_at.is_some());
        }
        // Statuses are varied, points are the sites' own and near their municipality.
        for r in [Reservation::Available, Reservation::Few, Reservation::None] {
            assert!(all.iter().any(|x| x.reservation == r), "{r:?} in the demo");
        }
        for x in all.iter().filter(|x| !x.point_is_approximate) {
            let office = s
                .municipality_info(&x.municipality_code)
                .unwrap()
                .point
                .unwrap();
            assert!(x.point.unwrap().distance_km(office) < 5.0, "{}", x.code);
        }

        // Bad parameters are named, each of them.
        for (pairs, field) in [
            (vec![("postal_code", "abc")], "postal_code"),
            (vec![("postal_code", "0000000")], "postal_code"),
            (vec![("lat", "999"), ("lng", "139")], "lat"),
            (vec![("lat", "35"), ("lng", "east")], "lng"),
            (vec![("lat", "35")], "lng"),
            (vec![("radius_km", "5")], "radius_km"),
            (
                vec![("lat", "35"), ("lng", "139"), ("radius_km", "1000")],
                "radius_km",
            ),
            (vec![("per_page", "100000")], "per_page"),
            (vec![("page", "0")], "page"),
            (vec![("page", "x")], "page"),
            (vec![("prefecture", "48")], "prefecture"),
            (vec![("municipality", "' OR 1=1 --")], "municipality"),
            (
                vec![("prefecture", "13"), ("municipality", "27100")],
                "municipality",
            ),
            (vec![("vaccine", "no-such-product")], "vaccine"),
            (vec![("status", "available,maybe")], "status"),
            (
                vec![("accepts_non_regular", "perhaps")],
                "accepts_non_regular",
            ),
            (vec![("q", &"あ".repeat(101))], "q"),
            (vec![("q", "港\u{0}")], "q"),
        ] {
            assert_eq!(refused(&s, &pairs), vec![field.to_owned()], "{pairs:?}");
        }
        // Several at once are all named.
        assert_eq!(
            refused(
                &s,
                &[("postal_code", "abc"), ("per_page", "0"), ("status", "x")]
            ),
            vec!["postal_code", "status", "per_page"]
        );
        // An SQL-ish search is words like any other: nothing matches.
        assert!(codes(&s, &[("q", "' OR 1=1 --")]).is_empty());

        // By municipality and prefecture: the snapshot's ranges are exactly a plain scan's.
        let osaka: Vec<String> = all
            .iter()
            .filter(|x| x.municipality_code == "27100")
            .map(|x| x.code.clone())
            .collect();
        assert!(!osaka.is_empty(), "大阪市 has public sites in the demo");
        assert_eq!(codes(&s, &[("municipality", "27100")]), osaka);
        let tokyo: Vec<String> = all
            .iter()
            .filter(|x| x.prefecture_code == "13")
            .map(|x| x.code.clone())
            .collect();
        assert_eq!(codes(&s, &[("prefecture", "13")]), tokyo);
        assert_eq!(codes(&s, &[]).len(), all.len());

        // A postal code, as typed in full width with a hyphen: its municipality, nearest first.
        let postal = vsys_app::master_data::postal_codes()
            .unwrap()
            .into_iter()
            .find(|(_, m)| m == "27100")
            .map(|(p, _)| p)
            .unwrap();
        let typed: String = format!("{}-{}", &postal[..3], &postal[3..])
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
                '-' => '－',
                c => c,
            })
            .collect();
        let q = params(&[("postal_code", &typed)]).parse(&s).unwrap();
        assert_eq!(q.area, Area::Municipality("27100".into()));
        assert_eq!(q.postal_code.as_deref(), Some(postal.as_str()));
        let office = s.municipality_info("27100").unwrap().point.unwrap();
        assert_eq!(q.near, Some(office));
        let found = public::search(&s, &q);
        assert_eq!(found.total, osaka.len());
        let distances: Vec<f64> = found.items.iter().map(|(_, d)| d.unwrap()).collect();
        assert!(distances.windows(2).all(|p| p[0] <= p[1]), "{distances:?}");

        // A point and a radius: the grid's cells find exactly what a scan of every site finds.
        let here = Point {
            lat: office.lat + 0.01,
            lng: office.lng - 0.01,
        };
        for radius in ["0.5", "3", "25", "100"] {
            let r: f64 = radius.parse().unwrap();
            let mut expected: Vec<(f64, &str)> = all
                .iter()
                .filter_map(|x| {
                    let d = here.distance_km(x.point?);
                    (d <= r).then_some((d, x.code.as_str()))
                })
                .collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0));
            let got = codes(
                &s,
                &[
                    ("lat", &here.lat.to_string()),
                    ("lng", &here.lng.to_string()),
                    ("radius_km", radius),
                ],
            );
            assert_eq!(
                got,
                expected.iter().map(|e| e.1.to_owned()).collect::<Vec<_>>(),
                "{radius} km"
            );
        }
        // A point alone searches the default radius.
        let q = params(&[("lat", "34.69"), ("lng", "135.50")])
            .parse(&s)
            .unwrap();
        assert_eq!(q.radius_km, Some(public::DEFAULT_RADIUS_KM));

        // Filters, each against a scan.
        let vaccine = s.vaccines()[0].id.clone();
        let with_vaccine: Vec<String> = all
            .iter()
            .filter(|x| x.vaccines.iter().any(|v| v.id == vaccine))
            .map(|x| x.code.clone())
            .collect();
        assert!(!with_vaccine.is_empty() && with_vaccine.len() < all.len());
        assert_eq!(codes(&s, &[("vaccine", &vaccine)]), with_vaccine);
        let open: Vec<String> = all
            .iter()
            .filter(|x| matches!(x.reservation, Reservation::Available | Reservation::Few))
            .map(|x| x.code.clone())
            .collect();
        assert_eq!(codes(&s, &[("status", "few, available")]), open);
        let non_regular: Vec<String> = all
            .iter()
            .filter(|x| x.accepts_non_regular)
            .map(|x| x.code.clone())
            .collect();
        assert!(non_regular.len() < all.len());
        assert_eq!(codes(&s, &[("accepts_non_regular", "true")]), non_regular);

        // Words: in the name or the address, width and case folded, all of them.
        let one = &all[all.len() / 2];
        let wide: String = one.name.chars().collect();
        assert!(codes(&s, &[("q", &wide)]).contains(&one.code));
        let two_words = format!(
            "{}　{}",
            s.municipality_info(&one.municipality_code).unwrap().name,
            one.name
        );
        assert_eq!(codes(&s, &[("q", &two_words)]), vec![one.code.clone()]);

        // Pages: the total stays, the items move on.
        let q = params(&[("per_page", "7"), ("page", "2")])
            .parse(&s)
            .unwrap();
        let page2 = public::search(&s, &q);
        assert_eq!(page2.total, all.len());
        let expected: Vec<&str> = all
            .iter()
            .skip(7)
            .take(7)
            .map(|x| x.code.as_str())
            .collect();
        assert_eq!(
            page2
                .items
                .iter()
                .map(|(x, _)| x.code.as_str())
                .collect::<Vec<_>>(),
            expected
        );
    }
);

db_test!(
    freshness_says_since_when_the_registry_was_not_seen,
    |backend| async move {
        let Some(w) = world(backend).await else {
            return;
        };
        let s = public::refresh(&w.app).await.unwrap();
        let fresh = public::freshness(&w.app, &s);
        assert!(!fresh.unconfirmed);
        assert_eq!(fresh.checked_at, s.built_at);
        // Nobody confirms the snapshot for three minutes (no follower runs here): it says so.
        w.clock.advance(chrono::Duration::minutes(3));
        let old = public::freshness(&w.app, &s);
        assert!(old.unconfirmed);
        assert_eq!(old.checked_at, s.built_at);
        // A stale status is one set longer ago than the configured age.
        let set = s
            .sites()
            .iter()
            .find(|x| x.reservation_at.is_some() && x.reservation != Reservation::Unregistered)
            .unwrap();
        let at = set.reservation_at.unwrap();
        let hours = w.app.config.public.stale_after_hours;
        assert!(!set.is_stale(at + chrono::Duration::hours(hours), hours));
        assert!(set.is_stale(
            at + chrono::Duration::hours(hours) + chrono::Duration::minutes(1),
            hours
        ));
    }
);
