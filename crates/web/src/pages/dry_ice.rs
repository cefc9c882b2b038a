//! ドライアイス: where dry ice is needed for a cycle and how much — for the dry-ice makers
//! (their areas) and the nation, prefectures and municipalities (theirs).

use super::Chrome;
use super::display::quantity;
use super::upstream::{CyclePick, CycleQuery, pick_cycle};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::ScreenQuery as Query;
use crate::i18n::{Ui, int};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use vsys_app::AppError;
use vsys_domain::{Capability, Lang, ProductKind};

/// Grams as kilograms with one decimal ("12.5").
fn kg(grams: i64) -> String {
    let tenths = (grams.max(0) + 50) / 100;
    format!("{}.{}", int(tenths / 10), tenths % 10)
}

fn date_s(d: Option<NaiveDate>, lang: Lang) -> String {
    d.map(|d| d.to_string())
        .unwrap_or_else(|| Ui::Undecided.text(lang).to_owned())
}

pub struct DryIceRow {
    pub id: String,
    pub site_code: String,
    pub site_name: String,
    pub municipality_code: String,
    pub municipality_name: String,
    pub vials: String,
    pub boxes: String,
    pub kg: String,
    pub scheduled: String,
    pub delivered: String,
    pub scheduled_known: bool,
}

#[derive(Template)]
#[template(path = "upstream_dry_ice.html")]
pub struct DryIcePage {
    pub c: Chrome,
    pub pick: CyclePick,
    pub rows: Vec<DryIceRow>,
    pub total_vials: String,
    pub total_boxes: String,
    pub total_kg: String,
}

pub async fn dry_ice(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<CycleQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    if !a.can(Capability::SeeDryIce) {
        return Err(err(AppError::Forbidden));
    }
    let pick = pick_cycle(&s, a, q.cycle.as_deref(), "/deliveries/dry-ice")
        .await
        .map_err(err)?;
    let lines = if pick.cycle.is_empty() {
        Vec::new()
    } else {
        vsys_app::delivery::dry_ice(&s.app, a, &pick.cycle)
            .await
            .map_err(err)?
    };
    let names = vsys_app::orgs::names(
        &s.app,
        a,
        &lines
            .iter()
            .flat_map(|l| [l.site_code.clone(), l.municipality_code.clone()])
            .collect::<Vec<_>>(),
        lang,
    )
    .await
    .map_err(err)?;
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
    let (vials, boxes, grams) = lines.iter().fold((0, 0, 0), |(v, b, g), l| {
        (v + l.vials, b + l.boxes, g + l.grams)
    });
    let rows = lines
        .iter()
        .map(|l| DryIceRow {
            id: l.delivery_id.clone(),
            site_code: l.site_code.clone(),
            site_name: name_of(&l.site_code),
            municipality_code: l.municipality_code.clone(),
            municipality_name: name_of(&l.municipality_code),
            vials: quantity(ProductKind::Vaccine, l.vials, lang),
            boxes: int(l.boxes),
            kg: kg(l.grams),
            scheduled: date_s(l.scheduled_on, lang),
            delivered: l
                .delivered_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".to_owned()),
            scheduled_known: l.scheduled_on.is_some(),
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::DryIceTitle.text(lang),
        "/deliveries/dry-ice",
    )
    .await
    .with_flash(q.flash.as_deref());
    Ok(render_status(
        StatusCode::OK,
        &DryIcePage {
            c,
            pick,
            rows,
            total_vials: quantity(ProductKind::Vaccine, vials, lang),
            total_boxes: int(boxes),
            total_kg: kg(grams),
        },
    ))
}
