//! Amounts that add up (issue 14 item 5): the needles and syringes of every line cover its
//! doses in whole packs, by the one rule of `vsys_domain::supplies`, whether the division was
//! auto-filled, saved by hand or imported from a file; a line the parent's packs cannot cover
//! is flagged with its shortfall; a re-imported file whose 分配量 was edited recomputes them.

use crate::common::*;
use vsys_app::allocation::{self, Division, LineInput, StoredExplanation};
use vsys_app::csv_files::{self, Encoding, allocation as division_csv};
use vsys_app::cycles::{self, SupplyInput};
use vsys_domain::Lang;
use vsys_domain::supplies::SupplyNote;
use vsys_testkit::db_test;

/// Needles and syringes per pack in the demo world's products.
const PACK: i64 = 100;

/// A cycle with 100 boxes and `packs` packs of needles and of syringes (the nation's supply).
async fn cycle(w: &World, number: i64, packs: i64) -> vsys_store::cycles::CycleRow {
    let c = w.cycle_with_supply(number).await;
    let warehouse = w.actor("syringe", "operator").await;
    for product in [c.needle_id.clone(), c.syringe_id.clone()] {
        cycles::register_supply(
            &w.app,
            &warehouse,
            &c.id,
            &SupplyInput {
                supplier_code: None,
                product_id: product.unwrap(),
                quantity: packs,
            },
        )
        .await
        .unwrap();
    }
    c
}

fn note(d: &Division, code: &str) -> Option<SupplyNote> {
    let line = d.children.iter().find(|c| c.org.code == code)?;
    let e = line.node.as_ref()?.explanation.as_deref()?;
    serde_json::from_str::<StoredExplanation>(e).ok()?.supplies
}

fn doses(d: &Division, vials: i64) -> i64 {
    allocation::presentation(&d.cycle).doses(vials)
}

/// Every line's needles and syringes are whole packs and cover its doses, or the line's stored
/// note says by how much they fall short; never more than the parent's in total. Answers the
/// shortfalls, by code.
fn check(d: &Division) -> Vec<(String, i64, i64)> {
    let mut short = Vec::new();
    let (mut needles, mut syringes) = (0, 0);
    for c in &d.children {
        let Some(n) = &c.node else { continue };
        let doses = doses(d, n.vials);
        let note = note(d, &c.org.code).unwrap_or_else(|| panic!("{}: no note", c.org.code));
        assert_eq!(note.doses, doses, "{}", c.org.code);
        for (pieces, part) in [(n.needles, note.needles), (n.syringes, note.syringes)] {
            let part = part.unwrap();
            assert_eq!(part.pieces, pieces, "{}", c.org.code);
            assert!(part.derived, "{}", c.org.code);
            assert_eq!(pieces % PACK, 0, "{}: {pieces}", c.org.code);
            assert_eq!(part.need, doses, "{}", c.org.code);
            if pieces >= doses {
                assert_eq!(part.shortfall, 0, "{}", c.org.code);
                assert!(
                    pieces - doses < PACK,
                    "{}: {pieces} for {doses}",
                    c.org.code
                );
            } else {
                assert_eq!(part.shortfall, doses - pieces, "{}", c.org.code);
            }
        }
        if note.shortfall() > 0 {
            short.push((c.org.code.clone(), n.needles, note.shortfall()));
        }
        needles += n.needles;
        syringes += n.syringes;
    }
    assert!(needles <= d.node.needles && syringes <= d.node.syringes);
    short
}

db_test!(needles_and_syringes_cover_the_doses, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    // 100 boxes = 117,000 doses; 2,000 packs = 200,000 needles: enough for every line.
    let c = cycle(&w, 31, 2_000).await;
    let id = c.id.as_str();
    let nation = w.actor("nation", "operator").await;
    let v = w.version(&nation, id, "JP").await;
    allocation::apply_autofill(app, &nation, id, "JP", v, None)
        .await
        .unwrap();
    let d = allocation::division(app, &nation, id, "JP").await.unwrap();
    assert!(
        check(&d).is_empty(),
        "nobody short when the nation has enough"
    );
    let tokyo_needles = d
        .children
        .iter()
        .find(|c| c.org.code == "13")
        .and_then(|c| c.node.clone())
        .unwrap();
    // 東京都 receives its doses rounded up to whole packs.
    assert_eq!(
        tokyo_needles.needles,
        (doses(&d, tokyo_needles.vials) + PACK - 1) / PACK * PACK
    );
    allocation::finish(app, &nation, id, "JP").await.unwrap();
    let tokyo = w.actor("tokyo", "operator").await;
    allocation::confirm(app, &tokyo, id, "13").await.unwrap();
    let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
    let boxes = d.node.vials / c.vials_per_box;
    assert!(d.children.len() >= 3 && boxes >= 3, "{boxes} boxes");
    // Saved by hand, amounts only: one box each to as many municipalities as there are
    // boxes, the rest to the first. Each box is 1,170 doses and wants 1,200 needles, more than
    // 東京都 holds (its own doses rounded up once): some lines must be short, and say so.
    let n = usize::try_from(boxes).unwrap().min(d.children.len());
    let lines: Vec<LineInput> = d
        .children
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, ch)| LineInput {
            org_code: ch.org.code.clone(),
            amount: if i == 0 { boxes - n as i64 + 1 } else { 1 },
            needles: None,
            syringes: None,
        })
        .collect();
    allocation::save_division(app, &tokyo, id, "13", d.node.version, &lines, None)
        .await
        .unwrap();
    let d = allocation::division(app, &tokyo, id, "13").await.unwrap();
    let short = check(&d);
    let wanted: i64 = d
        .children
        .iter()
        .filter_map(|c| c.node.as_ref())
        .map(|n| (doses(&d, n.vials) + PACK - 1) / PACK * PACK)
        .sum();
    // Every pack 東京都 has is handed down, and only the lines that did not get their last
    // pack are flagged, each short by less than one pack.
    assert!(wanted > d.node.needles, "{wanted} ≤ {}", d.node.needles);
    assert_eq!(d.allocated_needles, d.node.needles / PACK * PACK);
    assert_eq!(
        short.len() as i64,
        (wanted - d.node.needles + PACK - 1) / PACK
    );
    assert!(short.iter().all(|s| s.2 > 0 && s.2 < PACK), "{short:?}");
    // The flag is in the line's explanation, in both languages.
    let first = note(&d, &short[0].0).unwrap();
    let ja = first.describe(Lang::Ja);
    assert!(
        ja.contains("針・シリンジは接種回数") && ja.contains("100 本単位で切り上げ"),
        "{ja}"
    );
    assert!(ja.contains(&format!("針が {} 本不足", short[0].2)), "{ja}");
    assert!(
        first
            .describe(Lang::En)
            .contains(&format!("Needles: {} short", short[0].2))
    );
});

/// A division file with cells changed: `(code, column, new value)`.
fn edited(bytes: &[u8], changes: &[(&str, &str, String)]) -> Vec<u8> {
    let (text, _) = csv_files::decode(bytes).unwrap();
    let table =
        csv_files::parse(&text, &[division_csv::COL_CODE, division_csv::COL_AMOUNT]).unwrap();
    let headers: Vec<&str> = table.headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            headers
                .iter()
                .map(|h| {
                    changes
                        .iter()
                        .find(|(code, col, _)| *code == r.get(division_csv::COL_CODE) && col == h)
                        .map(|c| c.2.clone())
                        .unwrap_or_else(|| r.get(h).to_owned())
                })
                .collect()
        })
        .collect();
    csv_files::write(&headers, &rows, Encoding::Utf8).unwrap()
}

fn line(d: &Division, code: &str) -> vsys_store::allocations::NodeRow {
    d.children
        .iter()
        .find(|c| c.org.code == code)
        .and_then(|c| c.node.clone())
        .unwrap()
}

db_test!(reimported_amounts_recompute_needles, |backend| async move {
    let Some(w) = world(backend).await else {
        return;
    };
    let app = &w.app;
    let c = cycle(&w, 32, 2_000).await;
    let id = c.id.as_str();
    let nation = w.actor("nation", "operator").await;
    let v = w.version(&nation, id, "JP").await;
    allocation::apply_autofill(app, &nation, id, "JP", v, None)
        .await
        .unwrap();
    let d = allocation::division(app, &nation, id, "JP").await.unwrap();
    let (tokyo, hokkaido) = (line(&d, "13"), line(&d, "01"));
    let cover = |vials: i64| (doses(&d, vials) + PACK - 1) / PACK * PACK;
    // Only 分配量 edited: one box from 東京都 to 北海道; needles and syringes follow.
    let (bytes, _) = division_csv::export(&d, Encoding::Utf8, Lang::Ja).unwrap();
    let box_of = |n: &vsys_store::allocations::NodeRow| n.vials / c.vials_per_box;
    let file = edited(
        &bytes,
        &[
            (
                "13",
                division_csv::COL_AMOUNT,
                (box_of(&tokyo) - 1).to_string(),
            ),
            (
                "01",
                division_csv::COL_AMOUNT,
                (box_of(&hokkaido) + 1).to_string(),
            ),
        ],
    );
    division_csv::import(app, &nation, id, "JP", d.node.version, &file)
        .await
        .unwrap();
    let after = allocation::division(app, &nation, id, "JP").await.unwrap();
    let (t, h) = (line(&after, "13"), line(&after, "01"));
    assert_eq!(h.vials, hokkaido.vials + c.vials_per_box);
    assert_eq!((h.needles, h.syringes), (cover(h.vials), cover(h.vials)));
    assert_eq!((t.needles, t.syringes), (cover(t.vials), cover(t.vials)));
    assert!(h.needles > hokkaido.needles && t.needles < tokyo.needles);
    assert!(check(&after).is_empty());
    // A needle cell the file changes is taken as entered, and kept on a plain re-import; it
    // does not cover 北海道's doses, so the line says how many are missing.
    let (bytes, _) = division_csv::export(&after, Encoding::Utf8, Lang::Ja).unwrap();
    let typed = doses(&after, h.vials) - 30;
    let file = edited(
        &bytes,
        &[("01", division_csv::COL_NEEDLES, typed.to_string())],
    );
    division_csv::import(app, &nation, id, "JP", after.node.version, &file)
        .await
        .unwrap();
    let after = allocation::division(app, &nation, id, "JP").await.unwrap();
    let h = line(&after, "01");
    assert_eq!((h.needles, h.syringes), (typed, cover(h.vials)));
    let n = note(&after, "01").unwrap().needles.unwrap();
    assert!(!n.derived);
    assert_eq!(n.shortfall, 30);
    let (bytes, _) = division_csv::export(&after, Encoding::Utf8, Lang::Ja).unwrap();
    division_csv::import(app, &nation, id, "JP", after.node.version, &bytes)
        .await
        .unwrap();
    let after = allocation::division(app, &nation, id, "JP").await.unwrap();
    assert_eq!(line(&after, "01").needles, typed);
    // A new amount with the old needle cell: the needles follow the amount again.
    let (bytes, _) = division_csv::export(&after, Encoding::Utf8, Lang::Ja).unwrap();
    let file = edited(
        &bytes,
        &[
            (
                "01",
                division_csv::COL_AMOUNT,
                box_of(&hokkaido).to_string(),
            ),
            ("13", division_csv::COL_AMOUNT, box_of(&tokyo).to_string()),
        ],
    );
    division_csv::import(app, &nation, id, "JP", after.node.version, &file)
        .await
        .unwrap();
    let after = allocation::division(app, &nation, id, "JP").await.unwrap();
    assert_eq!(line(&after, "01").needles, hokkaido.needles);
    assert_eq!(line(&after, "13").needles, tokyo.needles);
    assert!(check(&after).is_empty());
});
