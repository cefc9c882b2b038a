//! The real master data shipped in `data/`: the nation, 47 prefectures, 1,741 municipalities
//! with population and coordinates, and 120,720 postal codes. Loaded on first start.

use crate::audit::{Who, record};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use vsys_domain::OrgKind;
use vsys_store::orgs::OrgRow;
use vsys_store::{Db, master, orgs};

pub const MUNICIPALITIES_CSV: &str = include_str!("../../../data/municipalities.csv");
pub const POSTAL_CODES_CSV: &str = include_str!("../../../data/postal_codes.csv");

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Municipality {
    pub code: String,
    pub prefecture_code: String,
    pub prefecture: String,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
    pub population_2020: i64,
}

pub fn municipalities() -> AppResult<Vec<Municipality>> {
    csv::Reader::from_reader(MUNICIPALITIES_CSV.as_bytes())
        .deserialize()
        .collect::<Result<Vec<Municipality>, _>>()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("data/municipalities.csv: {e}")))
}

fn org(
    code: &str,
    kind: OrgKind,
    name: &str,
    parent: Option<&str>,
    path: String,
    now: DateTime<Utc>,
) -> OrgRow {
    OrgRow {
        code: code.into(),
        kind,
        name: name.into(),
        name_en: None,
        parent_code: parent.map(Into::into),
        path,
        prefecture_code: None,
        population: None,
        lat: None,
        lng: None,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// The organisations of the master data, parents first.
pub fn master_orgs(now: DateTime<Utc>) -> AppResult<Vec<OrgRow>> {
    let munis = municipalities()?;
    let mut prefs: BTreeMap<String, (String, i64, f64, f64, usize)> = BTreeMap::new();
    for m in &munis {
        let e = prefs.entry(m.prefecture_code.clone()).or_insert((
            m.prefecture.clone(),
            0,
            0.0,
            0.0,
            0,
        ));
        e.1 += m.population_2020;
        e.2 += m.lat;
        e.3 += m.lng;
        e.4 += 1;
    }
    let mut rows = vec![OrgRow {
        name_en: Some("Ministry of Health, Labour and Welfare".into()),
        population: Some(munis.iter().map(|m| m.population_2020).sum()),
        ..org(
            "JP",
            OrgKind::Nation,
            "厚生労働省",
            None,
            "/JP/".into(),
            now,
        )
    }];
    for (code, (name, pop, lat, lng, n)) in &prefs {
        rows.push(OrgRow {
            prefecture_code: Some(code.clone()),
            population: Some(*pop),
            lat: Some(lat / *n as f64),
            lng: Some(lng / *n as f64),
            ..org(
                code,
                OrgKind::Prefecture,
                name,
                Some("JP"),
                format!("/JP/{code}/"),
                now,
            )
        });
    }
    for m in &munis {
        rows.push(OrgRow {
            prefecture_code: Some(m.prefecture_code.clone()),
            population: Some(m.population_2020),
            lat: Some(m.lat),
            lng: Some(m.lng),
            ..org(
                &m.code,
                OrgKind::Municipality,
                &m.name,
                Some(&m.prefecture_code),
                format!("/JP/{}/{}/", m.prefecture_code, m.code),
                now,
            )
        });
    }
    Ok(rows)
}

pub fn postal_codes() -> AppResult<Vec<(String, String)>> {
    let mut r = csv::Reader::from_reader(POSTAL_CODES_CSV.as_bytes());
    r.records()
        .map(|rec| {
            let rec =
                rec.map_err(|e| AppError::Internal(anyhow::anyhow!("data/postal_codes.csv: {e}")))?;
            Ok((
                rec.get(0).unwrap_or_default().to_owned(),
                rec.get(1).unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Loads the master data into an empty database; does nothing when organisations exist.
/// Returns whether it loaded.
pub async fn bootstrap(db: &Db, now: DateTime<Utc>) -> AppResult<bool> {
    let mut tx = db.begin_long().await?;
    if orgs::count(&mut tx).await? > 0 {
        return Ok(false);
    }
    let rows = master_orgs(now)?;
    orgs::insert_many(&mut tx, &rows).await?;
    let postal = postal_codes()?;
    master::insert_postal_codes(&mut tx, &postal).await?;
    let summary = serde_json::json!({
        "prefectures": rows.iter().filter(|r| r.kind == OrgKind::Prefecture).count(),
        "municipalities": rows.iter().filter(|r| r.kind == OrgKind::Municipality).count(),
        "postal_codes": postal.len(),
    });
    record(
        &mut tx,
        &Who::system(),
        now,
        "master.bootstrap",
        "master_data",
        "data/",
        None::<&()>,
        Some(&summary),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%summary, "master data loaded");
    Ok(true)
}
