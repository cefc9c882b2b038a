//! Postal codes: postal code → municipality, for the public search.

use crate::db::Tx;
use crate::error::StoreResult;
use crate::schema::PostalCodes;
use sea_query::{Expr, ExprTrait, Order, Query};

pub async fn insert_postal_codes(tx: &mut Tx, rows: &[(String, String)]) -> StoreResult<()> {
    for chunk in rows.chunks(5000) {
        let mut q = Query::insert()
            .into_table(PostalCodes::Table)
            .columns([PostalCodes::PostalCode, PostalCodes::MunicipalityCode])
            .to_owned();
        for (p, m) in chunk {
            q.values_panic([p.clone().into(), m.clone().into()]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

pub async fn postal_count(tx: &mut Tx) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(Expr::col(PostalCodes::PostalCode).count())
            .from(PostalCodes::Table)
            .to_owned(),
    )
    .await
}

/// The municipalities a postal code belongs to (usually one; a few codes span two).
pub async fn municipalities_of(tx: &mut Tx, postal_code: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = tx
        .all(
            &Query::select()
                .column(PostalCodes::MunicipalityCode)
                .from(PostalCodes::Table)
                .and_where(Expr::col(PostalCodes::PostalCode).eq(postal_code))
                .order_by(PostalCodes::MunicipalityCode, Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows.into_iter().map(|(m,)| m).collect())
}
