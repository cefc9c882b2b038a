//! A division table as CSV: exported in UTF-8 or Shift_JIS (Excel), and re-imported all or
//! nothing with every bad row named.

use crate::App;
use crate::allocation::{Division, LineInput, StoredExplanation};
use crate::context::Actor;
use crate::csv_files::{self, Encoding, TableError};
use crate::error::{AppError, AppResult};
use vsys_domain::supplies::SupplyPart;
use vsys_domain::{FieldError, Invalid, Lang, Msg};
use vsys_store::allocations::NodeRow;

pub const COL_CODE: &str = "組織コード";
pub const COL_NAME: &str = "名称";
pub const COL_AMOUNT: &str = "分配量";
pub const COL_UNIT: &str = "単位";
pub const COL_DOSES: &str = "回接種分";
pub const COL_NEEDLES: &str = "針";
pub const COL_SYRINGES: &str = "シリンジ";
pub const COL_STATUS: &str = "状況";

/// The division's lines as a CSV file and its file name.
pub fn export(
    d: &Division,
    encoding: Encoding,
    lang: Lang,
) -> Result<(Vec<u8>, String), TableError> {
    let pres = crate::allocation::presentation(&d.cycle);
    let headers = [
        COL_CODE,
        COL_NAME,
        COL_AMOUNT,
        COL_UNIT,
        COL_DOSES,
        COL_NEEDLES,
        COL_SYRINGES,
        COL_STATUS,
    ];
    let rows: Vec<Vec<String>> = d
        .children
        .iter()
        .map(|c| {
            let n = c.node.as_ref();
            let vials = n.map(|n| n.vials).unwrap_or(0);
            vec![
                c.org.code.clone(),
                c.org.name.clone(),
                pres.from_vials_floor(vials, d.child_unit)
                    .amount
                    .to_string(),
                d.child_unit.label(Lang::Ja).to_owned(),
                pres.doses(vials).to_string(),
                n.map(|n| n.needles).unwrap_or(0).to_string(),
                n.map(|n| n.syringes).unwrap_or(0).to_string(),
                n.map(|n| n.status)
                    .map(|s| s.label(lang))
                    .unwrap_or("")
                    .to_owned(),
            ]
        })
        .collect();
    let bytes = csv_files::write(&headers, &rows, encoding)?;
    let filename = format!(
        "division_{}_{}_{}.csv",
        d.cycle.number,
        d.org.code,
        if encoding == Encoding::ShiftJis {
            "sjis"
        } else {
            "utf8"
        }
    );
    Ok((bytes, filename))
}

/// Which needle and syringe cells of an imported line are edits. The export writes the counts
/// the line holds, but they are derived from the amount: a cell that still shows what the line
/// holds is not an edit. So a cell that differs from the line's current count is taken as
/// entered; an empty cell, or an unchanged cell on a line whose 分配量 changed, follows the new
/// amount (recomputed by the one rule of `vsys_domain::supplies`); an unchanged cell on an
/// unchanged line keeps the line as it was (derived stays derived, entered stays entered).
fn edited_supplies(
    d: &Division,
    code: &str,
    amount: i64,
    needles: Option<i64>,
    syringes: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    let Some(node) = d
        .children
        .iter()
        .find(|c| c.org.code == code)
        .and_then(|c| c.node.as_ref())
    else {
        return (needles, syringes);
    };
    let pres = crate::allocation::presentation(&d.cycle);
    let same_amount = pres.from_vials_floor(node.vials, d.child_unit).amount == amount;
    let note = node
        .explanation
        .as_deref()
        .and_then(|e| serde_json::from_str::<StoredExplanation>(e).ok())
        .and_then(|e| e.supplies);
    let entered = |p: Option<SupplyPart>| p.is_some_and(|p| !p.derived);
    let pick = |cell: Option<i64>, held: i64, was_entered: bool| match cell {
        Some(v) if v != held => Some(v),
        Some(v) if same_amount && was_entered => Some(v),
        _ => None,
    };
    (
        pick(
            needles,
            node.needles,
            entered(note.as_ref().and_then(|n| n.needles)),
        ),
        pick(
            syringes,
            node.syringes,
            entered(note.as_ref().and_then(|n| n.syringes)),
        ),
    )
}

fn row_error(row: usize, field: &str, msg: Msg) -> FieldError {
    let mut e = FieldError::new(field, msg);
    e.row = Some(row);
    e
}

/// Imports a division file (UTF-8 or Shift_JIS; columns 組織コード and 分配量, optionally
/// 単位 and 針/シリンジ). Every row is checked; nothing changes unless the whole file is valid.
/// Needles and syringes follow the amount unless the file changes them (`edited_supplies`).
pub async fn import(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    version: i64,
    bytes: &[u8],
) -> AppResult<NodeRow> {
    let (text, _) = csv_files::decode(bytes).map_err(AppError::Csv)?;
    let table = csv_files::parse(&text, &[COL_CODE, COL_AMOUNT]).map_err(AppError::Csv)?;
    let d = crate::allocation::division(app, actor, cycle_id, org_code).await?;
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    let int = |s: &str| vsys_domain::validation::whole(s).ok().flatten();
    for r in &table.rows {
        let code = r.get(COL_CODE).trim().to_owned();
        if code.is_empty() {
            errors.push(row_error(r.row, "org_code", Msg::Required));
            continue;
        }
        if !d.children.iter().any(|c| c.org.code == code) {
            errors.push(row_error(r.row, "org_code", Msg::UnknownOrg));
            continue;
        }
        let unit = r.get(COL_UNIT).trim();
        if !unit.is_empty()
            && unit != d.child_unit.label(Lang::Ja)
            && unit != d.child_unit.label(Lang::En)
            && unit != d.child_unit.as_str()
        {
            errors.push(row_error(r.row, "unit", Msg::WrongUnit));
            continue;
        }
        let Some(amount) = int(r.get(COL_AMOUNT)) else {
            errors.push(row_error(r.row, "amount", Msg::InvalidInput));
            continue;
        };
        if amount < 0 {
            errors.push(row_error(r.row, "amount", Msg::NegativeAmount));
            continue;
        }
        let opt = |col: &str| {
            let v = r.get(col).trim();
            if v.is_empty() {
                Ok(None)
            } else {
                int(v).filter(|n| *n >= 0).map(Some).ok_or(())
            }
        };
        let (Ok(needles), Ok(syringes)) = (opt(COL_NEEDLES), opt(COL_SYRINGES)) else {
            errors.push(row_error(r.row, "needles", Msg::InvalidInput));
            continue;
        };
        let (needles, syringes) = edited_supplies(&d, &code, amount, needles, syringes);
        lines.push((
            r.row,
            LineInput {
                org_code: code,
                amount,
                needles,
                syringes,
            },
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(Invalid(errors)));
    }
    let inputs: Vec<LineInput> = lines.iter().map(|(_, l)| l.clone()).collect();
    match crate::allocation::save_division(app, actor, cycle_id, org_code, version, &inputs, None)
        .await
    {
        // save_division numbers rows by position; map them back to the file's data rows.
        Err(AppError::Invalid(mut inv)) => {
            for e in &mut inv.0 {
                if let Some(i) = e.row {
                    e.row = lines.get(i - 1).map(|(row, _)| *row);
                }
            }
            Err(AppError::Invalid(inv))
        }
        other => other,
    }
}
