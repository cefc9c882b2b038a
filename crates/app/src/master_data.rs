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
pub const POPULATION_BY_AGE_CSV: &str =
    include_str!("../../../data/population_by_age_2021-01-01.csv");

/// Residents of a municipality (Basic Resident Register, 1 January 2021).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Residents {
    pub total: i64,
    /// Aged 65 and over (the bands from `age_65-69` up).
    pub aged_65_plus: i64,
}

impl Residents {
    pub fn add(&mut self, o: Residents) {
        self.total += o.total;
        self.aged_65_plus += o.aged_65_plus;
    }
}

/// The lower bound of an age band's header (`age_65-69` → 65, `age_100+` → 100).
fn band_from(header: &str) -> Option<u32> {
    let band = header.strip_prefix("age_")?;
    band.split(['-', '+']).next()?.parse().ok()
}

/// Parses the register's table: residents per municipality code.
pub fn parse_residents(text: &str) -> AppResult<BTreeMap<String, Residents>> {
    let bad = |e: String| AppError::Internal(anyhow::anyhow!("population_by_age: {e}"));
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no column {name}")))
    };
    let (code, total) = (col("code")?, col("total")?);
    let elderly: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| band_from(h).is_some_and(|from| from >= 65))
        .map(|(i, _)| i)
        .collect();
    if elderly.is_empty() {
        return Err(bad("no age bands from 65".into()));
    }
    let number = |rec: &csv::StringRecord, i: usize| -> AppResult<i64> {
        rec.get(i)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| bad(format!("line {:?}: not a number", rec.position())))
    };
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let mut aged_65_plus = 0;
        for &i in &elderly {
            aged_65_plus += number(&rec, i)?;
        }
        out.insert(
            rec.get(code).unwrap_or_default().to_owned(),
            Residents {
                total: number(&rec, total)?,
                aged_65_plus,
            },
        );
    }
    Ok(out)
}

/// Residents per municipality code, from the shipped register (parsed once).
pub fn residents() -> &'static BTreeMap<String, Residents> {
    static R: std::sync::OnceLock<BTreeMap<String, Residents>> = std::sync::OnceLock::new();
    R.get_or_init(|| parse_residents(POPULATION_BY_AGE_CSV).unwrap_or_default())
}

/// Residents of an area: the municipalities whose code starts with `prefix` (a prefecture's
/// two digits, a municipality's five, or `""` for the nation).
pub fn residents_of(prefix: &str) -> Residents {
    let mut r = Residents::default();
    for (_, v) in residents()
        .range(prefix.to_owned()..)
        .take_while(|(c, _)| c.starts_with(prefix))
    {
        r.add(*v);
    }
    r
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residents_add_up_to_the_registers_national_totals() {
        let all = residents_of("");
        assert_eq!(all.total, 126_654_244);
        assert_eq!(all.aged_65_plus, 35_767_994);
        assert_eq!(residents().len(), 1741);
        let tokyo = residents_of("13");
        let minato = residents_of("13103");
        assert!(tokyo.total > minato.total && minato.total > 200_000);
        assert!(minato.aged_65_plus > 0 && minato.aged_65_plus < minato.total);
    }

    #[test]
    fn a_broken_register_is_an_error_not_zeros() {
        assert!(parse_residents("code,name,total\n01100,札幌市,10\n").is_err());
        assert!(parse_residents("code,name,total,age_65-69\n01100,札幌市,x,1\n").is_err());
        assert_eq!(band_from("age_100+"), Some(100));
        assert_eq!(band_from("age_65-69"), Some(65));
        assert_eq!(band_from("total"), None);
    }
}
