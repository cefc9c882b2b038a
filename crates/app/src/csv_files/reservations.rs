//! 予約状況の一括更新 as CSV: a municipality downloads its sites with their current reservation
//! status, changes the 予約状況 column in Excel and uploads the file back — all or nothing,
//! every bad row named with its row and column. UTF-8 (with or without a BOM) or Shift_JIS, as
//! [`csv_files::decode`] reads them; the statuses are read as
//! [`vsys_domain::Reservation::read`] reads them (codes, Japanese words, marks).

use crate::App;
use crate::context::Actor;
use crate::csv_files::{self, Encoding, TableError};
use crate::error::{AppError, AppResult};
use crate::sites::{ReservationItem, SiteQuery, set_reservations};
use vsys_domain::validation::ascii_digits;
use vsys_domain::{FieldError, Lang, Msg};

pub const COL_CODE: &str = "医療機関等コード";
pub const COL_NAME: &str = "名称";
pub const COL_STATUS: &str = "予約状況";

/// The columns of the template. 名称 is there for the reader and is not read back; an upload
/// needs 医療機関等コード and 予約状況 only (in any order).
pub const HEADERS: [&str; 3] = [COL_CODE, COL_NAME, COL_STATUS];

/// The template to download: every site in the actor's area with its current status in
/// Japanese words (UTF-8 with a BOM, which Excel opens as it is).
pub async fn template(app: &App, actor: &Actor) -> AppResult<Vec<u8>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut page = 1;
    loop {
        let (batch, total) = crate::sites::list(
            app,
            actor,
            &SiteQuery {
                page: Some(page),
                per_page: Some(500),
                ..SiteQuery::default()
            },
        )
        .await?;
        let got = batch.len();
        rows.extend(
            batch
                .into_iter()
                .map(|s| vec![s.code, s.name, s.reservation.label(Lang::Ja).1.to_owned()]),
        );
        if got == 0 || rows.len() as i64 >= total {
            break;
        }
        page += 1;
    }
    csv_files::write(&HEADERS, &rows, Encoding::Utf8).map_err(AppError::Csv)
}

/// A site's code as a spreadsheet leaves it: full-width digits as ASCII, and the leading zero
/// Excel drops from a number (北海道's codes start with 01) put back — every site code has ten
/// digits.
fn site_code(cell: &str) -> String {
    let code = ascii_digits(cell.trim());
    if code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit()) {
        format!("0{code}")
    } else {
        code
    }
}

/// Sets the statuses of an uploaded file (see the module documentation) through
/// [`set_reservations`]; returns how many sites were set. A refused file changes nothing and
/// names every bad row ([`TableError::Rows`]).
pub async fn import(app: &App, actor: &Actor, bytes: &[u8]) -> AppResult<usize> {
    let (text, _) = csv_files::decode(bytes).map_err(AppError::Csv)?;
    let table = csv_files::parse(&text, &[COL_CODE, COL_STATUS]).map_err(AppError::Csv)?;
    drop(text);
    if table.rows.is_empty() {
        let none = FieldError::new("", Msg::NoItems);
        return Err(AppError::Csv(TableError::Rows(vec![none])));
    }
    let items: Vec<ReservationItem> = table
        .rows
        .iter()
        .map(|r| ReservationItem {
            code: site_code(r.get(COL_CODE)),
            reservation: r.get(COL_STATUS).to_owned(),
        })
        .collect();
    match set_reservations(app, actor, &items).await {
        Err(AppError::Invalid(inv)) => {
            // Items → rows of the file; fields → columns.
            let errors = inv
                .0
                .into_iter()
                .map(|e| {
                    let row = e.row.and_then(|i| table.rows.get(i - 1)).map(|r| r.row);
                    let column = match e.field.as_str() {
                        "code" => COL_CODE,
                        "reservation" => COL_STATUS,
                        _ => "",
                    };
                    FieldError {
                        row,
                        field: column.to_owned(),
                        ..e
                    }
                })
                .collect();
            Err(AppError::Csv(TableError::Rows(errors)))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_excel_leaves_them() {
        assert_eq!(site_code("110000001"), "0110000001");
        assert_eq!(site_code(" 1310300012 "), "1310300012");
        assert_eq!(site_code("１３１０３０００１２"), "1310300012");
        assert_eq!(site_code("12345"), "12345");
    }
}
