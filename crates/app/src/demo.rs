//! The demo world: every prefecture and municipality (from the master data), sites spread by
//! population, manufacturers, a wholesaler per prefecture, a dry-ice maker, a needle/syringe
//! warehouse, and one user per role in each kind of organisation. The other municipalities of
//! the demo's prefecture get an account each that nobody logs in with: the [`autopilot`] acts
//! as them, so that a cycle can be finished with the printed logins alone.

pub mod autopilot;

use crate::App;
use crate::audit::{Who, record};
use crate::auth::new_totp_secret;
use crate::error::AppResult;
use crate::master_data::municipalities;
use vsys_domain::org::child_path;
use vsys_domain::{OrgCode, OrgKind, ProductKind, Role};
use vsys_store::orgs::OrgRow;
use vsys_store::users::UserRow;
use vsys_store::{orgs, users};

pub const DEMO_PASSWORD: &str = "vsys-demo-password";
pub const DEFAULT_SITES: usize = 3000;
/// The demo's prefecture (東京都): its municipalities without demo logins act by themselves.
pub const DEMO_PREFECTURE: &str = "13";
/// The demo's municipality (港区), whose users are printed and act through the screens.
pub const DEMO_MUNICIPALITY: &str = "13103";

/// The account through which the [`autopilot`] acts for municipality `code` (never printed,
/// its password random and thrown away).
pub fn autopilot_email(code: &str) -> String {
    format!("autopilot-{code}@demo.vsys.jp")
}

#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub org_code: String,
    pub org_name: String,
    pub role: Role,
    pub email: String,
    pub totp_secret: Option<String>,
}

const CLINIC_NAMES: [&str; 8] = [
    "中央病院",
    "さくらクリニック",
    "みどり内科",
    "ひまわり診療所",
    "こども医院",
    "けやき医院",
    "あおば内科クリニック",
    "市民病院",
];

fn row(
    code: &str,
    kind: OrgKind,
    name: &str,
    parent: &OrgRow,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<OrgRow> {
    let c = OrgCode::parse(code).map_err(|m| anyhow::anyhow!("demo code {code}: {}", m.key()))?;
    Ok(OrgRow {
        code: code.into(),
        kind,
        name: name.into(),
        name_en: None,
        parent_code: Some(parent.code.clone()),
        path: child_path(&parent.path, &c),
        prefecture_code: parent.prefecture_code.clone(),
        population: None,
        lat: parent.lat,
        lng: parent.lng,
        created_at: now,
        updated_at: now,
        version: 0,
    })
}

/// Seeds the demo world unless it is there already (returns `None` then). `progress` is called
/// with (done, total) as sites are written.
pub async fn seed(
    app: &App,
    sites: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> AppResult<Option<Vec<DemoLogin>>> {
    let now = app.clock.now();
    {
        let mut tx = app.db.read().await?;
        if orgs::get(&mut tx, "M001").await?.is_some() {
            return Ok(None);
        }
    }
    let hash = app.hasher.hash(DEMO_PASSWORD).await?;
    let mut tx = app.db.begin_long().await?;
    let nation = orgs::get(&mut tx, "JP")
        .await?
        .ok_or_else(|| anyhow::anyhow!("master data missing"))?;
    let munis = municipalities()?;
    let mut prefs: Vec<OrgRow> = Vec::new();
    for code in munis
        .iter()
        .map(|m| m.prefecture_code.clone())
        .collect::<std::collections::BTreeSet<_>>()
    {
        prefs.push(
            orgs::get(&mut tx, &code)
                .await?
                .ok_or_else(|| anyhow::anyhow!("prefecture {code} missing"))?,
        );
    }
    // Suppliers under the nation, wholesalers under each prefecture.
    let mut suppliers = vec![
        row("M001", OrgKind::Manufacturer, "ファイザー社", &nation, now)?,
        row("M002", OrgKind::Manufacturer, "モデルナ社", &nation, now)?,
        row("M003", OrgKind::Manufacturer, "武田薬品工業", &nation, now)?,
        row(
            "D001",
            OrgKind::DryIceMaker,
            "日本ドライアイス株式会社",
            &nation,
            now,
        )?,
        row(
            "N001",
            OrgKind::SyringeWarehouse,
            "針・シリンジ中央倉庫",
            &nation,
            now,
        )?,
    ];
    for p in &prefs {
        suppliers.push(row(
            &format!("W{}001", p.code),
            OrgKind::Wholesaler,
            &format!("{}ワクチン卸株式会社", p.name),
            p,
            now,
        )?);
    }
    orgs::insert_many(&mut tx, &suppliers).await?;
    for m in &munis {
        orgs::add_area(&mut tx, &format!("W{}001", m.prefecture_code), &m.code).await?;
    }
    // The dry-ice maker serves every prefecture.
    for p in &prefs {
        orgs::add_area(&mut tx, "D001", &p.code).await?;
    }
    // Sites: at least one per municipality when there are enough, the rest by population.
    let base = if sites >= munis.len() { 1 } else { 0 };
    let extra = vsys_domain::allocation::largest_remainder(
        i64::try_from(sites - base * munis.len()).unwrap_or(i64::MAX),
        &munis.iter().map(|m| m.population_2020).collect::<Vec<_>>(),
    );
    let mut site_rows = Vec::with_capacity(sites);
    let mut serial_by_pref: std::collections::HashMap<String, u32> = Default::default();
    for (m, n_extra) in munis.iter().zip(extra) {
        let mut n = base + usize::try_from(n_extra).unwrap_or(0);
        if m.code == "13103" {
            n = n.max(2);
        }
        let parent = OrgRow {
            code: m.code.clone(),
            path: format!("/JP/{}/{}/", m.prefecture_code, m.code),
            prefecture_code: Some(m.prefecture_code.clone()),
            lat: Some(m.lat),
            lng: Some(m.lng),
            ..nation.clone()
        };
        for i in 0..n {
            // Every tenth site (and the first of 港区's) is a municipal vaccination site.
            if i % 10 == 1 || (m.code == "13103" && i == 1) {
                let code = format!("9{}{:04}", m.code, i / 10 + 1);
                site_rows.push(row(
                    &code,
                    OrgKind::Site,
                    &format!("{}集団接種会場{}", m.name, i / 10 + 1),
                    &parent,
                    now,
                )?);
            } else {
                let serial = serial_by_pref.entry(m.prefecture_code.clone()).or_insert(0);
                *serial += 1;
                let code = format!("{}1{:07}", m.prefecture_code, serial);
                let name = format!(
                    "{}{}",
                    m.name,
                    CLINIC_NAMES[(i + m.code.len()) % CLINIC_NAMES.len()]
                );
                let name = if i >= CLINIC_NAMES.len() {
                    format!("{name}{}", i / CLINIC_NAMES.len() + 1)
                } else {
                    name
                };
                site_rows.push(row(&code, OrgKind::Institution, &name, &parent, now)?);
            }
        }
    }
    let total = site_rows.len() as u64;
    for (i, chunk) in site_rows.chunks(2000).enumerate() {
        orgs::insert_many(&mut tx, chunk).await?;
        progress(((i * 2000 + chunk.len()) as u64).min(total), total);
    }
    // One user per role in each kind of organisation.
    let clinic = site_rows
        .iter()
        .find(|r| r.kind == OrgKind::Institution && r.parent_code.as_deref() == Some("13103"))
        .map(|r| r.code.clone());
    let site = site_rows
        .iter()
        .find(|r| r.kind == OrgKind::Site && r.parent_code.as_deref() == Some("13103"))
        .map(|r| r.code.clone());
    let mut targets = vec![
        ("nation", "JP".to_owned()),
        ("tokyo", DEMO_PREFECTURE.into()),
        ("minato", DEMO_MUNICIPALITY.into()),
    ];
    let clinic_code = clinic.clone();
    targets.extend(clinic.map(|c| ("clinic", c)));
    targets.extend(site.map(|c| ("site", c)));
    targets.extend([
        ("pfizer", "M001".into()),
        ("wholesaler", "W13001".into()),
        ("dryice", "D001".into()),
        ("syringe", "N001".into()),
    ]);
    let mut logins = Vec::new();
    for (slug, code) in targets {
        let org = orgs::get(&mut tx, &code)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo org {code} missing"))?;
        for role in Role::ALL {
            let kind = org.kind;
            let totp = (role == Role::Admin && kind.admins_need_totp()).then(new_totp_secret);
            let email = format!("{slug}-{}@demo.vsys.jp", role.as_str());
            users::insert(
                &mut tx,
                &UserRow {
                    totp_secret: totp.as_ref().map(|t| crate::auth::seal_totp(app, t)),
                    ..UserRow::new(
                        &org.code,
                        &email,
                        format!("{} {}", org.name, role.label(vsys_domain::Lang::Ja)),
                        role,
                        hash.clone(),
                        false,
                        now,
                    )
                },
            )
            .await?;
            logins.push(DemoLogin {
                org_code: org.code.clone(),
                org_name: org.name.clone(),
                role,
                email,
                totp_secret: totp.map(|t| t.to_base32()),
            });
        }
    }
    let autopilot_accounts = seed_autopilot_accounts(app, &mut tx, now, &munis).await?;
    let cycle = seed_cycle(&mut tx, now).await?;
    seed_sites(&mut tx, now, &site_rows, clinic_code.as_deref(), &cycle).await?;
    let cycle = cycle.name;
    let summary = serde_json::json!({"sites": site_rows.len(), "suppliers": suppliers.len(), "users": logins.len(), "autopilot_accounts": autopilot_accounts, "cycle": cycle});
    record(
        &mut tx,
        &Who::system(),
        now,
        "demo.seed",
        "demo",
        "demo",
        None::<&()>,
        Some(&summary),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(logins))
}

/// One operator account for each municipality of the demo's prefecture that has no printed
/// logins, for the [`autopilot`]: a random password that nobody is told (its hash is shared by
/// all of them, the password itself is thrown away). Returns how many were made.
async fn seed_autopilot_accounts(
    app: &App,
    tx: &mut vsys_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
    munis: &[crate::master_data::Municipality],
) -> AppResult<usize> {
    let secret = data_encoding::BASE64URL_NOPAD.encode(&rand::random::<[u8; 32]>());
    let hash = app.hasher.hash(&secret).await?;
    let mut n = 0;
    for m in munis
        .iter()
        .filter(|m| m.prefecture_code == DEMO_PREFECTURE && m.code != DEMO_MUNICIPALITY)
    {
        users::insert(
            tx,
            &UserRow::new(
                &m.code,
                &autopilot_email(&m.code),
                format!("{} 自動操作（デモ）", m.name),
                Role::Operator,
                hash.clone(),
                false,
                now,
            ),
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Vaccines, needles and syringes, and one open cycle with its supply registered, so that the
/// allocation screens have something to divide. Returns the cycle's name.
async fn seed_cycle(
    tx: &mut vsys_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<vsys_store::cycles::CycleRow> {
    use crate::products::{ProductInput, insert_product};
    let who = Who::system();
    let product = |kind: ProductKind, name: &str, spec: Option<&str>| ProductInput {
        kind,
        owner_code: None,
        name: name.into(),
        spec: spec.map(Into::into),
        storage_class: None,
        days_after_thaw: None,
        needs_dry_ice: false,
        units_per_pack: None,
        doses_per_vial: None,
        vials_per_box: None,
        from_cycle: None,
    };
    let pfizer = ProductInput {
        storage_class: Some("ultra_cold".into()),
        days_after_thaw: Some(30),
        needs_dry_ice: true,
        doses_per_vial: Some(6),
        vials_per_box: Some(195),
        ..product(
            ProductKind::Vaccine,
            "コミナティ筋注",
            Some("ファイザー社 1トレイ195バイアル"),
        )
    };
    let moderna = ProductInput {
        storage_class: Some("frozen".into()),
        days_after_thaw: Some(30),
        needs_dry_ice: true,
        doses_per_vial: Some(10),
        vials_per_box: Some(10),
        ..product(
            ProductKind::Vaccine,
            "スパイクバックス筋注",
            Some("モデルナ社 1箱10バイアル"),
        )
    };
    let vaccine = insert_product(tx, &who, now, "M001", &pfizer).await?;
    insert_product(tx, &who, now, "M002", &moderna).await?;
    let needle = insert_product(
        tx,
        &who,
        now,
        "N001",
        &ProductInput {
            units_per_pack: Some(100),
            ..product(ProductKind::Needle, "針", Some("針(25G×100本)"))
        },
    )
    .await?;
    let syringe = insert_product(
        tx,
        &who,
        now,
        "N001",
        &ProductInput {
            units_per_pack: Some(100),
            ..product(
                ProductKind::Syringe,
                "シリンジ",
                Some("シリンジ(0.1mL×100本)"),
            )
        },
    )
    .await?;
    let today = crate::clock::japan_date(now);
    let day = |d: i64| today + chrono::Duration::days(d);
    let input = crate::cycles::CycleInput {
        number: 10,
        name: None,
        vaccine_id: vaccine.id.clone(),
        needle_id: Some(needle.id.clone()),
        syringe_id: Some(syringe.id.clone()),
        period_start: day(14),
        period_end: day(27),
        deadline_prefecture: day(3),
        deadline_municipality: day(6),
        deadline_site: day(9),
        chain: None,
        unit_site: Some(vsys_domain::Unit::Vial),
        formulas: None,
    };
    let cycle = crate::cycles::create_in(tx, &who, now, &input).await?;
    crate::cycles::supply_in(tx, &who, now, &cycle, "M001", &vaccine.id, 1000).await?;
    // 1,000 trays × 195 vials × 6 doses = 1,170,000 doses: 11,700 packs of 100, plus a margin.
    crate::cycles::supply_in(tx, &who, now, &cycle, "N001", &needle.id, 12_000).await?;
    crate::cycles::supply_in(tx, &who, now, &cycle, "N001", &syringe.id, 12_000).await?;
    Ok(cycle)
}

/// Every site's registry entry (details left for the sites to register on first login), an
/// open reporting period over the last two weeks and the next, and stock at the demo clinic.
async fn seed_sites(
    tx: &mut vsys_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
    site_rows: &[OrgRow],
    clinic: Option<&str>,
    cycle: &vsys_store::cycles::CycleRow,
) -> AppResult<()> {
    let vaccines: Vec<String> = vsys_store::products::list(tx, Some(ProductKind::Vaccine.as_str()))
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut profiles = Vec::with_capacity(site_rows.len());
    let mut handled = Vec::new();
    for o in site_rows {
        let (p, v) = public_profile(o, now, &vaccines);
        profiles.push(p);
        for id in v {
            handled.push((o.code.clone(), id));
        }
    }
    vsys_store::sites::upsert_many(tx, &profiles).await?;
    vsys_store::sites::add_vaccines(tx, &handled).await?;
    let today = crate::clock::japan_date(now);
    vsys_store::results::insert_period(
        tx,
        &vsys_store::results::PeriodRow {
            id: uuid::Uuid::now_v7().to_string(),
            first_day: today - chrono::Duration::days(13),
            last_day: today + chrono::Duration::days(14),
            opened_at: now,
            opened_by: None,
            closed_at: None,
            closed_by: None,
        },
    )
    .await?;
    if let Some(clinic) = clinic {
        crate::stock::record_delivery(
            tx,
            &Who::system(),
            now,
            clinic,
            "FA0001",
            Some(&cycle.id),
            20,
            cycle.doses_per_vial,
            "demo",
        )
        .await?;
    }
    Ok(())
}

/// A number from a site's code, the same on every run (FNV-1a): the demo's choices per site.
fn dice(code: &str, salt: u64) -> u64 {
    code.bytes().fold(0xcbf29ce484222325u64 ^ salt, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A site's demo profile and the vaccines it handles, so that the public finder shows
/// hundreds of sites with varied statuses: each placed within about 3 km of its
/// municipality's office; about 70% of institutions confirmed by their municipality (public);
/// details, 予約方法 and reservation statuses varied, some set days ago (stale). 港区's sites
/// (13103) stay as sites find them before their first login, for the walkthroughs of the
/// manual and the tests.
fn public_profile(
    o: &OrgRow,
    now: chrono::DateTime<chrono::Utc>,
    vaccines: &[String],
) -> (vsys_store::sites::ProfileRow, Vec<String>) {
    use vsys_domain::{Booking, Reservation};
    let mut p = crate::sites::blank_profile(&o.code, now);
    if o.parent_code.as_deref() == Some("13103") {
        return (p, Vec::new());
    }
    let d = |salt: u64| dice(&o.code, salt);
    if let (Some(lat), Some(lng)) = (o.lat, o.lng) {
        let at = vsys_domain::place::Point { lat, lng }.offset_km(
            (d(1) % 6000) as f64 / 1000.0 - 3.0,
            (d(2) % 6000) as f64 / 1000.0 - 3.0,
        );
        p.latitude = Some((at.lat * 1e6).round() / 1e6);
        p.longitude = Some((at.lng * 1e6).round() / 1e6);
    }
    let municipal = o.kind == OrgKind::Site;
    p.phone = Some(format!(
        "0{}-{:04}-{:04}",
        3 + d(3) % 6,
        d(4) % 10_000,
        d(5) % 10_000
    ));
    p.hours = Some(if municipal {
        "土日 9:00〜17:00（接種日は市町村のお知らせをご覧ください）".into()
    } else {
        "月〜金 9:00〜12:00, 14:00〜17:00（接種は火・木の午後）".into()
    });
    p.access = Some(format!("最寄り駅から徒歩{}分", 3 + d(6) % 15));
    p.parking = Some(match d(7) % 3 {
        0 => "なし".into(),
        1 => format!("あり（{}台）", 5 + d(8) % 40),
        _ => "近隣のコインパーキングをご利用ください".into(),
    });
    p.accepts_non_regular = municipal || d(9) % 10 < 6;
    let booking = if municipal {
        Booking::Municipal
    } else {
        match d(10) % 4 {
            0 => Booking::Web,
            1 => Booking::Municipal,
            _ => Booking::Phone,
        }
    };
    p.booking = Some(booking.as_str().into());
    if booking == Booking::Web {
        p.booking_url = Some(format!("https://yoyaku.example.jp/{}", o.code));
        p.website = Some(format!("https://clinic.example.jp/{}", o.code));
    }
    p.details_at = Some(now);
    if !municipal && d(11) % 10 < 7 {
        p.confirmed_at = Some(now);
    }
    p.reservation = match d(12) % 20 {
        0..=7 => Reservation::Available,
        8..=11 => Reservation::Few,
        12..=14 => Reservation::None,
        15 => Reservation::NotNeeded,
        _ => Reservation::Unregistered,
    };
    if p.reservation != Reservation::Unregistered {
        p.reservation_at = Some(now - chrono::Duration::minutes((d(13) % (6 * 24 * 60)) as i64));
    }
    p.version = 1;
    let handled = match (vaccines, d(14) % 4) {
        ([], _) => Vec::new(),
        ([one], _) | ([one, ..], 0 | 1) => vec![one.clone()],
        ([_, two, ..], 2) => vec![two.clone()],
        (all, _) => all.to_vec(),
    };
    (p, handled)
}
