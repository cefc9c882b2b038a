//! Deliveries as CSV, for deliverers who keep their dates in a spreadsheet: exported in UTF-8
//! or Shift_JIS, and uploaded back all or nothing with every bad row named.

use crate::App;
use crate::context::Actor;
use crate::csv_files::{self, Encoding, TableError};
use crate::delivery::{BulkLine, DatesInput, enter_many};
use crate::error::{AppError, AppResult};
use chrono::NaiveDate;
use vsys_domain::{FieldError, Lang, Msg};
use vsys_store::deliveries::DeliveryRow;

pub const COL_ID: &str = "配送ID";
pub const COL_VERSION: &str = "版";
pub const COL_SITE: &str = "接種会場コード";
pub const COL_ITEM: &str = "品目";
pub const COL_QUANTITY: &str = "数量";
pub const COL_SCHEDULED: &str = "納入予定日";
pub const COL_DELIVERED: &str = "納入実績日";
pub const COL_NUMBER: &str = "配送番号";
pub const COL_LOT: &str = "ロット";
pub const COL_NOTE: &str = "備考";

pub const HEADERS: [&str; 10] = [
    COL_ID,
    COL_VERSION,
    COL_SITE,
    COL_ITEM,
    COL_QUANTITY,
    COL_SCHEDULED,
    COL_DELIVERED,
    COL_NUMBER,
    COL_LOT,
    COL_NOTE,
];

/// The deliveries as a CSV file and its file name.
pub fn export(
    rows: &[DeliveryRow],
    encoding: Encoding,
    lang: Lang,
) -> Result<(Vec<u8>, String), TableError> {
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            vec![
                d.id.clone(),
                d.version.to_string(),
                d.site_code.clone(),
                d.item.label(lang).to_owned(),
                d.quantity.to_string(),
                day(d.scheduled_on),
                day(d.delivered_on),
                text(&d.delivery_number),
                text(&d.lot),
                text(&d.note),
            ]
        })
        .collect();
    let bytes = csv_files::write(&HEADERS, &cells, encoding)?;
    let name = format!(
        "deliveries_{}.csv",
        if encoding == Encoding::ShiftJis {
            "sjis"
        } else {
            "utf8"
        }
    );
    Ok((bytes, name))
}

/// A date as Excel users write it: `2026-12-01`, `2026/12/1`, `2026/12/01`.
fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y/%m/%d"))
        .ok()
}

fn row_error(row: usize, field: &str, msg: Msg) -> FieldError {
    let mut e = FieldError::new(field, msg);
    e.row = Some(row);
    e
}

/// Uploads a file of deliveries (columns 配送ID and 版, and any of 納入予定日, 納入実績日,
/// 配送番号, ロット, 備考; an empty cell leaves the value as it is). Every row is checked;
/// nothing changes unless the whole file is accepted. Returns how many rows were entered.
pub async fn import(app: &App, actor: &Actor, bytes: &[u8]) -> AppResult<usize> {
    let (text, _) = csv_files::decode(bytes).map_err(AppError::Csv)?;
    let table = csv_files::parse(&text, &[COL_ID, COL_VERSION]).map_err(AppError::Csv)?;
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    for r in &table.rows {
        let mut ok = true;
        let version = r.get(COL_VERSION).parse::<i64>().ok();
        if version.is_none() {
            errors.push(row_error(r.row, COL_VERSION, Msg::InvalidInput));
            ok = false;
        }
        let mut day = |col: &str| match r.get(col) {
            "" => None,
            s => {
                let d = date(s);
                if d.is_none() {
                    errors.push(row_error(r.row, col, Msg::InvalidDate));
                    ok = false;
                }
                d
            }
        };
        let scheduled_on = day(COL_SCHEDULED);
        let delivered_on = day(COL_DELIVERED);
        if r.get(COL_ID).is_empty() {
            errors.push(row_error(r.row, COL_ID, Msg::Required));
            ok = false;
        }
        if ok {
            lines.push(BulkLine {
                id: r.get(COL_ID).to_owned(),
                version: version.unwrap_or(-1),
                dates: DatesInput {
                    scheduled_on,
                    delivered_on,
                    delivery_number: opt(r.get(COL_NUMBER)),
                    lot: opt(r.get(COL_LOT)),
                    note: opt(r.get(COL_NOTE)),
                },
            });
            rows.push(r.row);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Csv(TableError::Rows(errors)));
    }
    match enter_many(app, actor, &lines).await {
        Err(AppError::Invalid(inv)) => {
            // Rows of the batch → rows of the file; field names → column names.
            let column = |f: &str| match f {
                "scheduled_on" => COL_SCHEDULED,
                "delivered_on" => COL_DELIVERED,
                "delivery_number" => COL_NUMBER,
                "lot" => COL_LOT,
                "note" => COL_NOTE,
                "version" => COL_VERSION,
                _ => COL_ID,
            };
            let errors = inv
                .0
                .into_iter()
                .map(|e| {
                    let row = e.row.and_then(|i| rows.get(i - 1).copied()).unwrap_or(0);
                    row_error(row, column(&e.field), e.msg)
                })
                .collect();
            Err(AppError::Csv(TableError::Rows(errors)))
        }
        other => other,
    }
}
