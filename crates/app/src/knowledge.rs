//! The staff knowledge base (ナレッジ・マニュアル・FAQ): the nation writes, edits and deletes
//! articles and their attachments; every staff user reads the articles for its kind of
//! organisation and searches them by Japanese words. A new installation starts with the user
//! manual's chapters (`docs/manual`, embedded at build time).

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeSet;
use vsys_domain::knowledge::{AttachmentKind, Category, Query, Readers, attachment_name, terms};
use vsys_domain::{Msg, OrgKind};
use vsys_store::knowledge as store;
pub use vsys_store::knowledge::{ArticleRow, AttachmentRow};
use vsys_store::{Db, coordination};

include!(concat!(env!("OUT_DIR"), "/manuals.rs"));

/// The counter moved by every write of the knowledge base (0: never written, so the manual is
/// loaded at start).
pub const TOPIC: &str = "knowledge";

const TITLE_MAX: usize = 200;
const BODY_MAX: usize = 200_000;

/// Whether the actor may write the knowledge base (the nation's operators and
/// administrators); the screens ask it to show the forms.
pub fn may_write(actor: &Actor) -> bool {
    actor.may_write_for_nation()
}

fn readers_of(a: &ArticleRow) -> Readers {
    Readers::parse_stored(&a.readers)
}

fn visible(actor: &Actor, a: &ArticleRow) -> bool {
    readers_of(a).include(actor.principal.org_kind)
}

/// An article as typed into the form (or sent by a client).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ArticleDraft {
    pub category: String,
    /// Kinds of organisation (wire names); empty: every kind.
    #[serde(default)]
    pub readers: Vec<String>,
    pub title: String,
    pub body: String,
    /// Where it stands in its category's list (empty: by title).
    #[serde(default)]
    pub sort_key: String,
}

struct Checked {
    category: Category,
    readers: Readers,
    title: String,
    body: String,
    sort_key: String,
}

impl ArticleDraft {
    fn checked(&self) -> AppResult<Checked> {
        let mut inv = vsys_domain::Invalid::default();
        let category = Category::parse(self.category.trim());
        if category.is_none() {
            inv.push("category", Msg::Required);
        }
        let mut kinds = Vec::new();
        for r in &self.readers {
            match OrgKind::parse(r.trim()) {
                Some(k) => kinds.push(k),
                None => inv.push("readers", Msg::InvalidInput),
            }
        }
        let mut text = |name: &str, raw: &str, required: bool, max: usize| {
            vsys_domain::validation::bounded_text(&mut inv, name, raw, required, max)
        };
        let title = text("title", &self.title, true, TITLE_MAX);
        let body = text("body", &self.body, true, BODY_MAX);
        let sort_key = text("sort_key", &self.sort_key, false, 100);
        inv.into_result().map_err(AppError::Invalid)?;
        Ok(Checked {
            category: category.unwrap_or(Category::Manual),
            readers: Readers::of(&kinds),
            sort_key: if sort_key.is_empty() {
                title.clone()
            } else {
                sort_key
            },
            title,
            body,
        })
    }
}

/// The search terms of an article: its title and its body.
fn terms_of(a: &ArticleRow) -> BTreeSet<String> {
    let mut t = terms(&a.title);
    t.extend(terms(&a.body));
    t
}

/// The articles the actor reads (of `category` when given), in list order.
pub async fn list(
    app: &App,
    actor: &Actor,
    category: Option<Category>,
) -> AppResult<Vec<ArticleRow>> {
    let mut tx = app.db.read().await?;
    let rows = store::list(&mut tx, category.map(Category::as_str)).await?;
    Ok(rows.into_iter().filter(|a| visible(actor, a)).collect())
}

/// The articles the actor reads that hold every word of `q` (in the title or the text), in
/// list order; a query of no word finds nothing. [`Msg::TooLong`] (as the field `q`) past 100
/// characters.
pub async fn search(app: &App, actor: &Actor, q: &str) -> AppResult<Vec<ArticleRow>> {
    search_in(app, actor, q, None).await
}

/// [`search`] within one category when given.
pub async fn search_in(
    app: &App,
    actor: &Actor,
    q: &str,
    category: Option<Category>,
) -> AppResult<Vec<ArticleRow>> {
    let Some(query) = Query::parse(q).map_err(|m| AppError::invalid("q", m))? else {
        return Ok(Vec::new());
    };
    let mut tx = app.db.read().await?;
    let found = store::with_terms(&mut tx, &query.terms).await?;
    Ok(found
        .into_iter()
        .filter(|a| {
            visible(actor, a)
                && category.is_none_or(|c| a.category == c.as_str())
                && query.matches(&format!("{}\n{}", a.title, a.body))
        })
        .collect())
}

/// One article and its attachments, if the actor reads it (`NotFound` otherwise: whether an
/// article for others exists is not told).
pub async fn get(
    app: &App,
    actor: &Actor,
    id: &str,
) -> AppResult<(ArticleRow, Vec<AttachmentRow>)> {
    let mut tx = app.db.read().await?;
    let a = store::get(&mut tx, id)
        .await?
        .filter(|a| visible(actor, a))
        .ok_or(AppError::NotFound)?;
    let files = store::attachments(&mut tx, id).await?;
    Ok((a, files))
}

/// Writes a new article (the nation).
pub async fn create(app: &App, actor: &Actor, draft: &ArticleDraft) -> AppResult<ArticleRow> {
    actor.require_nation_writer()?;
    let d = draft.checked()?;
    let now = app.clock.now();
    let row = ArticleRow {
        id: uuid::Uuid::now_v7().to_string(),
        category: d.category.as_str().to_owned(),
        readers: d.readers.stored(),
        title: d.title,
        body: d.body,
        sort_key: d.sort_key,
        created_at: now,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: 1,
    };
    let mut tx = app.db.begin().await?;
    store::insert(&mut tx, &row, &terms_of(&row)).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "knowledge.create",
        "article",
        &row.id,
        None::<&()>,
        Some(&summary(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// What the audit log keeps of an article (not its whole text).
fn summary(a: &ArticleRow) -> serde_json::Value {
    serde_json::json!({
        "category": a.category, "readers": a.readers, "title": a.title,
        "sort_key": a.sort_key, "body_chars": a.body.chars().count(), "version": a.version,
    })
}

/// Rewrites an article read at `version` (the nation); `Conflict` when it changed meanwhile.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    draft: &ArticleDraft,
) -> AppResult<ArticleRow> {
    actor.require_nation_writer()?;
    let d = draft.checked()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let before = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let row = ArticleRow {
        category: d.category.as_str().to_owned(),
        readers: d.readers.stored(),
        title: d.title,
        body: d.body,
        sort_key: d.sort_key,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: version + 1,
        ..before.clone()
    };
    store::update(&mut tx, &row, version, &terms_of(&row)).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "knowledge.update",
        "article",
        id,
        Some(&summary(&before)),
        Some(&summary(&row)),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes an article with its attachments (the nation).
pub async fn delete(app: &App, actor: &Actor, id: &str) -> AppResult<ArticleRow> {
    actor.require_nation_writer()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let before = store::delete(&mut tx, id).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "knowledge.delete",
        "article",
        id,
        Some(&summary(&before)),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}

/// Attaches a file to an article (the nation): a PDF, PNG or JPEG by its content, at most
/// 10 MiB; refused as the field `file` otherwise ([`Msg::FileTooLarge`],
/// [`Msg::FileTypeRefused`]).
pub async fn attach(
    app: &App,
    actor: &Actor,
    article_id: &str,
    filename: &str,
    content: &[u8],
) -> AppResult<AttachmentRow> {
    actor.require_nation_writer()?;
    let kind = AttachmentKind::of(content).map_err(|m| AppError::invalid("file", m))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::get(&mut tx, article_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let row = AttachmentRow {
        id: uuid::Uuid::now_v7().to_string(),
        article_id: article_id.to_owned(),
        filename: attachment_name(filename, kind),
        kind: kind.as_str().to_owned(),
        size: content.len() as i64,
        created_at: now,
        created_by: Some(actor.user_id.clone()),
    };
    store::insert_attachment(&mut tx, &row, content).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "knowledge.attach",
        "article",
        article_id,
        None::<&()>,
        Some(&serde_json::json!({
            "attachment": row.id, "filename": row.filename, "kind": row.kind, "size": row.size,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// An attachment with its content and kind, if the actor reads its article.
pub async fn attachment(
    app: &App,
    actor: &Actor,
    article_id: &str,
    id: &str,
) -> AppResult<(AttachmentRow, AttachmentKind, Vec<u8>)> {
    let mut tx = app.db.read().await?;
    store::get(&mut tx, article_id)
        .await?
        .filter(|a| visible(actor, a))
        .ok_or(AppError::NotFound)?;
    let (row, content) = store::attachment(&mut tx, article_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = AttachmentKind::parse(&row.kind).ok_or(AppError::NotFound)?;
    Ok((row, kind, content))
}

/// Removes an attachment (the nation).
pub async fn detach(app: &App, actor: &Actor, article_id: &str, id: &str) -> AppResult<()> {
    actor.require_nation_writer()?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let row = store::delete_attachment(&mut tx, article_id, id).await?;
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &actor.into(),
        now,
        "knowledge.detach",
        "article",
        article_id,
        Some(&serde_json::json!({
            "attachment": row.id, "filename": row.filename, "kind": row.kind, "size": row.size,
        })),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A fingerprint of the embedded manual (its chapters' paths and lengths): a prepared test
/// database that loaded another manual is not reused.
pub fn manual_fingerprint() -> String {
    let n: usize = MANUALS.iter().map(|(p, t)| p.len() + t.len()).sum();
    format!("m{}x{n}", MANUALS.len())
}

/// The kinds of organisation a chapter of the manual is for, by its folder.
fn manual_readers(path: &str) -> Readers {
    match path.split('/').next().unwrap_or_default() {
        "nation" => Readers::of(&[OrgKind::Nation]),
        "prefecture" => Readers::of(&[OrgKind::Prefecture]),
        "municipality" => Readers::of(&[OrgKind::Municipality]),
        "institution" => Readers::of(&[OrgKind::Institution, OrgKind::Site]),
        "manufacturer" => Readers::of(&[OrgKind::Manufacturer, OrgKind::SyringeWarehouse]),
        "wholesaler" => Readers::of(&[OrgKind::Wholesaler, OrgKind::DryIceMaker]),
        _ => Readers::all(),
    }
}

/// The article id of a chapter (`common/login.md` → `manual-common-login`).
pub fn manual_id(path: &str) -> String {
    let stem = path.strip_suffix(".md").unwrap_or(path);
    format!("manual-{}", stem.replace('/', "-").to_ascii_lowercase())
}

/// A chapter's links to other chapters (`../common/login.md#…`) as links to their articles;
/// a link out of the manual leads to the knowledge base's list.
fn rewrite_links(body: &str, path: &str) -> String {
    let folder: Vec<&str> = path.split('/').collect::<Vec<_>>();
    let folder = &folder[..folder.len().saturating_sub(1)];
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("](") {
        out.push_str(&rest[..i + 2]);
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else {
            break;
        };
        let target = &rest[..end];
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        if file.ends_with(".md") && !file.contains("://") && !file.contains(' ') {
            let mut parts: Vec<&str> = folder.to_vec();
            let mut escaped = false;
            for seg in file.split('/') {
                match seg {
                    "." | "" => {}
                    ".." => escaped |= parts.pop().is_none(),
                    s => parts.push(s),
                }
            }
            if escaped {
                out.push_str("/knowledge");
            } else {
                out.push_str(&format!("/knowledge/{}", manual_id(&parts.join("/"))));
                if !anchor.is_empty() {
                    out.push('#');
                    out.push_str(anchor);
                }
            }
        } else {
            out.push_str(target);
        }
        out.push(')');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A chapter as an article: its first heading is the title, its file name the category
/// (`when.md`: こんなときには, `contact.md`: ご相談窓口, `faq.md`: FAQ), its folder the readers.
pub fn manual_article(path: &str, text: &str, now: DateTime<Utc>) -> ArticleRow {
    let (title, body) = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => {
            (first.trim_start_matches("# ").trim().to_owned(), rest)
        }
        _ => (path.to_owned(), text),
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    let category = match name {
        "when.md" => Category::When,
        "contact.md" => Category::Contact,
        "faq.md" => Category::Faq,
        _ => Category::Manual,
    };
    ArticleRow {
        id: manual_id(path),
        category: category.as_str().to_owned(),
        readers: manual_readers(path).stored(),
        title,
        body: rewrite_links(body.trim_start(), path),
        // The table of contents first, then the chapters as the manual orders its folders.
        sort_key: if name == "README.md" {
            format!("0 {path}")
        } else {
            format!("1 {path}")
        },
        created_at: now,
        updated_at: now,
        updated_by: None,
        version: 1,
    }
}

/// Loads the user manual's chapters as the first articles, once: when the knowledge base has
/// never been written. Returns how many were loaded.
pub async fn bootstrap(db: &Db, now: DateTime<Utc>) -> AppResult<usize> {
    if coordination::version(db, TOPIC).await? > 0 {
        return Ok(0);
    }
    let mut tx = db.begin_long().await?;
    if store::count(&mut tx).await? > 0 {
        return Ok(0);
    }
    for (path, text) in MANUALS {
        let a = manual_article(path, text, now);
        store::insert(&mut tx, &a, &terms_of(&a)).await?;
    }
    coordination::bump(&mut tx, TOPIC).await?;
    record(
        &mut tx,
        &Who::system(),
        now,
        "knowledge.bootstrap",
        "knowledge",
        "docs/manual",
        None::<&()>,
        Some(&serde_json::json!({ "articles": MANUALS.len() })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        articles = MANUALS.len(),
        "user manual loaded into the knowledge base"
    );
    Ok(MANUALS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapters_become_articles_with_their_links() {
        let now = Utc::now();
        let a = manual_article(
            "institution/results.md",
            "# 接種実績を入力する\n\n[ログイン](../common/login.md#2-初回) と [目次](../README.md) と [外](../../OPEN_DATA.md) と [web](https://example.org/a.md)",
            now,
        );
        assert_eq!(a.id, "manual-institution-results");
        assert_eq!(a.title, "接種実績を入力する");
        assert_eq!(a.category, "manual");
        assert_eq!(a.readers, "institution,site");
        assert!(
            a.body.contains("(/knowledge/manual-common-login#2-初回)"),
            "{}",
            a.body
        );
        assert!(a.body.contains("(/knowledge/manual-readme)"), "{}", a.body);
        assert!(a.body.contains("[外](/knowledge)"), "{}", a.body);
        assert!(a.body.contains("(https://example.org/a.md)"), "{}", a.body);
        let w = manual_article(
            "wholesaler/when.md",
            "# こんなときには（卸業者）\n本文",
            now,
        );
        assert_eq!(w.category, "when");
        assert_eq!(w.readers, "wholesaler,dry_ice_maker");
        assert!(MANUALS.iter().any(|(p, _)| *p == "common/login.md"));
    }
}
