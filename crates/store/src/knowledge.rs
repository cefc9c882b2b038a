//! The staff knowledge base: articles, their search terms and their attachments.

use crate::db::{Tx, count_rows};
use crate::error::{StoreError, StoreResult};
use crate::schema::{ArticleTerms, Articles, Attachments};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, IntoIden, Order, Query};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct ArticleRow {
    pub id: String,
    /// `manual`, `faq`, `when`, `contact` (`domain::knowledge::Category`).
    pub category: String,
    /// The kinds of organisation it is for, `,`-joined; empty: every kind.
    pub readers: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Where it stands in its category's list.
    pub sort_key: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub version: i64,
}

/// An attachment without its content (as lists show it).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, PartialEq)]
pub struct AttachmentRow {
    pub id: String,
    pub article_id: String,
    pub filename: String,
    /// `pdf`, `png`, `jpeg` (`domain::knowledge::AttachmentKind`), from the content.
    pub kind: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Content {
    content: Vec<u8>,
}

const COLUMNS: [Articles; 10] = [
    Articles::Id,
    Articles::Category,
    Articles::Readers,
    Articles::Title,
    Articles::Body,
    Articles::SortKey,
    Articles::CreatedAt,
    Articles::UpdatedAt,
    Articles::UpdatedBy,
    Articles::Version,
];

const ATTACHMENT_COLUMNS: [Attachments; 7] = [
    Attachments::Id,
    Attachments::ArticleId,
    Attachments::Filename,
    Attachments::Kind,
    Attachments::Size,
    Attachments::CreatedAt,
    Attachments::CreatedBy,
];

/// Writes a new article and its search terms.
pub async fn insert(tx: &mut Tx, a: &ArticleRow, terms: &BTreeSet<String>) -> StoreResult<()> {
    tx.exec(
        &Query::insert()
            .into_table(Articles::Table)
            .columns(COLUMNS)
            .values_panic([
                a.id.clone().into(),
                a.category.clone().into(),
                a.readers.clone().into(),
                a.title.clone().into(),
                a.body.clone().into(),
                a.sort_key.clone().into(),
                a.created_at.into(),
                a.updated_at.into(),
                a.updated_by.clone().into(),
                a.version.into(),
            ])
            .to_owned(),
    )
    .await?;
    replace_terms(tx, &a.id, terms).await
}

/// Rewrites an article whose stored version is still `expected` (`a.version` is the new one),
/// and its search terms; [`StoreError::Conflict`] when someone changed it meanwhile.
pub async fn update(
    tx: &mut Tx,
    a: &ArticleRow,
    expected: i64,
    terms: &BTreeSet<String>,
) -> StoreResult<()> {
    let n = tx
        .exec(
            &Query::update()
                .table(Articles::Table)
                .values([
                    (Articles::Category, a.category.clone().into()),
                    (Articles::Readers, a.readers.clone().into()),
                    (Articles::Title, a.title.clone().into()),
                    (Articles::Body, a.body.clone().into()),
                    (Articles::SortKey, a.sort_key.clone().into()),
                    (Articles::UpdatedAt, a.updated_at.into()),
                    (Articles::UpdatedBy, a.updated_by.clone().into()),
                    (Articles::Version, a.version.into()),
                ])
                .and_where(Expr::col(Articles::Id).eq(a.id.as_str()))
                .and_where(Expr::col(Articles::Version).eq(expected))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(match get(tx, &a.id).await? {
            Some(_) => StoreError::Conflict,
            None => StoreError::NotFound,
        });
    }
    replace_terms(tx, &a.id, terms).await
}

async fn replace_terms(tx: &mut Tx, id: &str, terms: &BTreeSet<String>) -> StoreResult<()> {
    tx.exec(
        &Query::delete()
            .from_table(ArticleTerms::Table)
            .and_where(Expr::col(ArticleTerms::ArticleId).eq(id))
            .to_owned(),
    )
    .await?;
    let terms: Vec<&String> = terms.iter().collect();
    for chunk in terms.chunks(1000) {
        let mut q = Query::insert()
            .into_table(ArticleTerms::Table)
            .columns([ArticleTerms::ArticleId, ArticleTerms::Term])
            .to_owned();
        for t in chunk {
            q.values_panic([id.into(), (*t).clone().into()]);
        }
        tx.exec(&q).await?;
    }
    Ok(())
}

/// Deletes an article with its terms and attachments; the article as it was.
pub async fn delete(tx: &mut Tx, id: &str) -> StoreResult<ArticleRow> {
    let a = get(tx, id).await?.ok_or(StoreError::NotFound)?;
    let terms = (ArticleTerms::Table, ArticleTerms::ArticleId);
    let files = (Attachments::Table, Attachments::ArticleId);
    for (table, column) in [
        (terms.0.into_iden(), terms.1.into_iden()),
        (files.0.into_iden(), files.1.into_iden()),
        (Articles::Table.into_iden(), Articles::Id.into_iden()),
    ] {
        tx.exec(
            &Query::delete()
                .from_table(table)
                .and_where(Expr::col(column).eq(id))
                .to_owned(),
        )
        .await?;
    }
    Ok(a)
}

pub async fn get(tx: &mut Tx, id: &str) -> StoreResult<Option<ArticleRow>> {
    tx.opt(
        &Query::select()
            .columns(COLUMNS)
            .from(Articles::Table)
            .and_where(Expr::col(Articles::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Every article (of `category` when given), in list order.
pub async fn list(tx: &mut Tx, category: Option<&str>) -> StoreResult<Vec<ArticleRow>> {
    let mut q = Query::select()
        .columns(COLUMNS)
        .from(Articles::Table)
        .order_by(Articles::Category, Order::Asc)
        .order_by(Articles::SortKey, Order::Asc)
        .order_by(Articles::Id, Order::Asc)
        .to_owned();
    if let Some(c) = category {
        q.and_where(Expr::col(Articles::Category).eq(c));
    }
    tx.all(&q).await
}

/// The articles holding every one of `terms` (none when `terms` is empty), in list order.
pub async fn with_terms(tx: &mut Tx, terms: &BTreeSet<String>) -> StoreResult<Vec<ArticleRow>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let n = terms.len() as i64;
    let hits = Query::select()
        .column(ArticleTerms::ArticleId)
        .from(ArticleTerms::Table)
        .and_where(Expr::col(ArticleTerms::Term).is_in(terms.iter().cloned()))
        .group_by_col(ArticleTerms::ArticleId)
        .and_having(count_rows().eq(n))
        .to_owned();
    tx.all(
        &Query::select()
            .columns(COLUMNS)
            .from(Articles::Table)
            .and_where(Expr::col(Articles::Id).in_subquery(hits))
            .order_by(Articles::Category, Order::Asc)
            .order_by(Articles::SortKey, Order::Asc)
            .order_by(Articles::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

/// How many articles there are.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    tx.count(
        &Query::select()
            .expr(count_rows())
            .from(Articles::Table)
            .to_owned(),
    )
    .await
}

/// Stores an attachment's content.
pub async fn insert_attachment(tx: &mut Tx, a: &AttachmentRow, content: &[u8]) -> StoreResult<()> {
    let mut cols: Vec<Attachments> = ATTACHMENT_COLUMNS.to_vec();
    cols.push(Attachments::Content);
    tx.exec(
        &Query::insert()
            .into_table(Attachments::Table)
            .columns(cols)
            .values_panic([
                a.id.clone().into(),
                a.article_id.clone().into(),
                a.filename.clone().into(),
                a.kind.clone().into(),
                a.size.into(),
                a.created_at.into(),
                a.created_by.clone().into(),
                content.to_vec().into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// An article's attachments (without their content), oldest first.
pub async fn attachments(tx: &mut Tx, article_id: &str) -> StoreResult<Vec<AttachmentRow>> {
    tx.all(
        &Query::select()
            .columns(ATTACHMENT_COLUMNS)
            .from(Attachments::Table)
            .and_where(Expr::col(Attachments::ArticleId).eq(article_id))
            .order_by(Attachments::CreatedAt, Order::Asc)
            .order_by(Attachments::Id, Order::Asc)
            .to_owned(),
    )
    .await
}

/// One attachment of an article, with its content.
pub async fn attachment(
    tx: &mut Tx,
    article_id: &str,
    id: &str,
) -> StoreResult<Option<(AttachmentRow, Vec<u8>)>> {
    let cond = |q: &mut sea_query::SelectStatement| {
        q.from(Attachments::Table)
            .and_where(Expr::col(Attachments::ArticleId).eq(article_id))
            .and_where(Expr::col(Attachments::Id).eq(id));
    };
    let mut q = Query::select().columns(ATTACHMENT_COLUMNS).to_owned();
    cond(&mut q);
    let Some(row) = tx.opt::<AttachmentRow, _>(&q).await? else {
        return Ok(None);
    };
    let mut q = Query::select().column(Attachments::Content).to_owned();
    cond(&mut q);
    let c: Content = tx.one(&q).await?;
    Ok(Some((row, c.content)))
}

/// Deletes one attachment; the attachment as it was.
pub async fn delete_attachment(
    tx: &mut Tx,
    article_id: &str,
    id: &str,
) -> StoreResult<AttachmentRow> {
    let (row, _) = attachment(tx, article_id, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.exec(
        &Query::delete()
            .from_table(Attachments::Table)
            .and_where(Expr::col(Attachments::Id).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(row)
}
