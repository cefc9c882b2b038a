//! The staff knowledge base (ナレッジ・マニュアル・FAQ): the list by category, the search by
//! Japanese words, an article with its attachments; for the nation, the forms that write, edit
//! and delete articles and attach files.

use super::Chrome;
use super::form::{Errs, Flash, FlashQuery, FormMap, Shown, Vals, done, text, version};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::markdown::{SafeHtml, render};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vsys_app::AppError;
use vsys_app::knowledge::ArticleDraft;
use vsys_app::knowledge::ArticleRow;
use vsys_domain::knowledge::{Category, MAX_QUERY_CHARS};
use vsys_domain::{Lang, OrgKind, catalog};

catalog! {
    /// The knowledge base's words.
    pub enum K {
        Title => ("ナレッジ・マニュアル", "Knowledge and manuals"),
        Intro => ("操作手順・よくある質問・こんなときには・ご相談窓口を、あなたの組織向けに表示しています。", "Manuals, FAQ, what to do when, and where to ask — for your kind of organisation."),
        Search => ("検索", "Search"),
        SearchLabel => ("キーワード", "Words"),
        SearchHint => ("例：分配　締切（スペースで区切ると、すべてを含む記事）", "e.g. allocation deadline (separate words with spaces to find articles with all of them)"),
        All => ("すべて", "All"),
        Found => ("件見つかりました", "found"),
        NothingFound => ("見つかりませんでした。別の言葉で探すか、分類から選んでください。", "Nothing was found. Try other words, or choose a category."),
        Empty => ("記事はまだありません。", "There are no articles yet."),
        Category => ("分類", "Category"),
        Readers => ("対象の組織", "For"),
        ReadersHint => ("選ばなければ、すべての組織に表示します。", "Leave all unticked to show it to every organisation."),
        Everyone => ("すべての組織", "Every organisation"),
        ArticleTitle => ("題名", "Title"),
        Body => ("本文（Markdown）", "Text (Markdown)"),
        BodyHint => ("見出しは ## 、箇条書きは - で書けます。HTML は文字として表示されます。", "Write headings with ##, lists with -. HTML is shown as text."),
        SortKey => ("並び順", "Order"),
        SortKeyHint => ("分類の中で、この値の順に並びます（空欄：題名の順）。", "Articles are listed by this within their category (empty: by title)."),
        New => ("記事を作成", "New article"),
        Edit => ("編集", "Edit"),
        Save => ("保存", "Save"),
        Delete => ("削除", "Delete"),
        DeleteConfirm => ("この記事と添付ファイルを削除します。よろしいですか。", "Delete this article and its attachments?"),
        Updated => ("更新", "Updated"),
        Attachments => ("添付ファイル", "Attachments"),
        NoAttachments => ("添付ファイルはありません。", "No attachments."),
        Attach => ("添付する", "Attach"),
        File => ("ファイル", "File"),
        FileHint => ("PDF・PNG・JPEG、10MB まで。", "PDF, PNG or JPEG, up to 10 MB."),
        Remove => ("削除", "Remove"),
        RemoveConfirm => ("この添付ファイルを削除します。よろしいですか。", "Remove this attachment?"),
        Back => ("一覧に戻る", "Back to the list"),
    }
}

/// The knowledge base's words for a template.
pub struct KL(pub Lang);

impl KL {
    pub fn t(&self, k: K) -> &'static str {
        k.text(self.0)
    }
}

pub struct Item {
    pub id: String,
    pub title: String,
    pub category: &'static str,
    pub updated: String,
}

fn item(a: &ArticleRow, lang: Lang) -> Item {
    Item {
        id: a.id.clone(),
        title: a.title.clone(),
        category: Category::parse(&a.category).map_or("", |c| c.label(lang)),
        updated: jst(&a.updated_at),
    }
}

#[derive(Template)]
#[template(path = "knowledge.html")]
pub struct ListPage {
    pub c: Chrome,
    pub k: KL,
    pub q: String,
    pub q_max: usize,
    pub category: String,
    pub categories: Vec<(&'static str, &'static str)>,
    /// `None`: no search asked (the list by category).
    pub searched: Option<usize>,
    pub items: Vec<Item>,
    pub may_write: bool,
    pub errs: Errs,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    category: Option<String>,
    flash: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let words = q.q.clone().unwrap_or_default();
    let category = q.category.as_deref().and_then(Category::parse);
    let mut errs = Errs::none();
    let (rows, searched) = if words.trim().is_empty() {
        let rows = vsys_app::knowledge::list(&s.app, a, category)
            .await
            .map_err(|e| PageError(e, lang))?;
        (rows, None)
    } else {
        match vsys_app::knowledge::search_in(&s.app, a, &words, category).await {
            Ok(rows) => {
                let n = rows.len();
                (rows, Some(n))
            }
            Err(e) => {
                errs = Errs::refused("search", e, lang)?.named("q", K::SearchLabel.text(lang));
                (Vec::new(), None)
            }
        }
    };
    let c = Chrome::for_actor(&s.app, a, lang, K::Title.text(lang), "/knowledge")
        .await
        .with_flash(q.flash.as_deref());
    let page = ListPage {
        c,
        k: KL(lang),
        q: words,
        q_max: MAX_QUERY_CHARS,
        category: category.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), c.label(lang)))
            .collect(),
        searched,
        items: rows.iter().map(|r| item(r, lang)).collect(),
        may_write: vsys_app::knowledge::may_write(a),
        errs,
    };
    Ok(render_status(page.errs.status(), &page))
}

pub struct FileItem {
    pub id: String,
    pub filename: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "article.html")]
pub struct ArticlePage {
    pub c: Chrome,
    pub k: KL,
    pub id: String,
    pub category: &'static str,
    pub category_code: String,
    pub readers: String,
    pub updated: String,
    pub body: SafeHtml,
    pub files: Vec<FileItem>,
    pub may_write: bool,
    pub errs: Errs,
}

/// "1.2 MB" / "35 KB".
fn size(n: i64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (n + 1023) / 1024)
    }
}

/// The organisations an article is for, as words.
fn readers_text(stored: &str, lang: Lang) -> String {
    let r = vsys_domain::knowledge::Readers::parse_stored(stored);
    if r.0.is_empty() {
        K::Everyone.text(lang).to_owned()
    } else {
        r.0.iter()
            .map(|k| k.label(lang))
            .collect::<Vec<_>>()
            .join("・")
    }
}

async fn article_page(
    s: &AppState,
    u: &WebUser,
    id: &str,
    flash: Option<&str>,
    errs: Errs,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let (row, files) = vsys_app::knowledge::get(&s.app, a, id)
        .await
        .map_err(|e| PageError(e, lang))?;
    let c = Chrome::for_actor(&s.app, a, lang, &row.title, "/knowledge")
        .await
        .with_flash(flash);
    let page = ArticlePage {
        c,
        k: KL(lang),
        category: Category::parse(&row.category).map_or("", |c| c.label(lang)),
        category_code: row.category.clone(),
        readers: readers_text(&row.readers, lang),
        updated: jst(&row.updated_at),
        // The page title is the h1; the body's `##` sections follow as h2.
        body: render(&row.body, 1),
        files: files
            .into_iter()
            .map(|f| FileItem {
                size: size(f.size),
                id: f.id,
                filename: f.filename,
            })
            .collect(),
        may_write: vsys_app::knowledge::may_write(a),
        id: row.id,
        errs,
    };
    Ok(render_status(page.errs.status(), &page))
}

pub async fn article(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    article_page(&s, &u, &id, q.flash.as_deref(), Errs::none()).await
}

#[derive(Template)]
#[template(path = "article_form.html")]
pub struct FormPage {
    pub c: Chrome,
    pub k: KL,
    /// `None`: a new article.
    pub id: Option<String>,
    pub version: i64,
    pub categories: Vec<(&'static str, &'static str)>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub errs: Errs,
    pub vals: Vals,
}

const FIELDS: [(&str, K); 5] = [
    ("category", K::Category),
    ("readers", K::Readers),
    ("title", K::ArticleTitle),
    ("body", K::Body),
    ("sort_key", K::SortKey),
];

async fn form_page(
    s: &AppState,
    u: &WebUser,
    stored: Option<&ArticleRow>,
    shown: Shown,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    if !vsys_app::knowledge::may_write(a) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let mut vals = Vals::default();
    if let Some(r) = stored {
        vals.set("article.category", r.category.clone());
        vals.set("article.title", r.title.clone());
        vals.set("article.body", r.body.clone());
        vals.set("article.sort_key", r.sort_key.clone());
        for k in vsys_domain::knowledge::Readers::parse_stored(&r.readers).0 {
            vals.set(&format!("article.reader_{}", k.as_str()), "on");
        }
    }
    let checkboxes: Vec<String> = OrgKind::ALL
        .iter()
        .map(|k| format!("reader_{}", k.as_str()))
        .collect();
    let boxes: Vec<&str> = checkboxes.iter().map(String::as_str).collect();
    let vals = shown.vals(vals, &boxes);
    let title = match stored {
        Some(r) => format!("{} — {}", K::Edit.text(lang), r.title),
        None => K::New.text(lang).to_owned(),
    };
    let c = Chrome::for_actor(&s.app, a, lang, &title, "/knowledge").await;
    let page = FormPage {
        c,
        k: KL(lang),
        id: stored.map(|r| r.id.clone()),
        version: stored.map_or(0, |r| r.version),
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), c.label(lang)))
            .collect(),
        kinds: OrgKind::ALL
            .iter()
            .filter(|k| **k != OrgKind::Nation)
            .map(|k| (k.as_str(), k.label(lang)))
            .collect(),
        errs: shown.errs,
        vals,
    };
    Ok(render_status(page.errs.status(), &page))
}

pub async fn new(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    form_page(&s, &u, None, Shown::default()).await
}

pub async fn edit(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (row, _) = vsys_app::knowledge::get(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    form_page(&s, &u, Some(&row), Shown::default()).await
}

fn draft(f: &FormMap) -> ArticleDraft {
    ArticleDraft {
        category: text(f, "category"),
        readers: OrgKind::ALL
            .iter()
            .filter(|k| f.contains_key(&format!("reader_{}", k.as_str())))
            .map(|k| k.as_str().to_owned())
            .collect(),
        title: text(f, "title"),
        body: f.get("body").cloned().unwrap_or_default(),
        sort_key: text(f, "sort_key"),
    }
}

/// The form again with the reasons (named by the form's labels) and what was typed.
async fn refused(
    s: &AppState,
    u: &WebUser,
    stored: Option<&ArticleRow>,
    e: AppError,
    f: FormMap,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let mut shown = Shown::after("article", e, f, lang)?;
    for (field, k) in FIELDS {
        shown.errs = shown.errs.named(field, k.text(lang));
    }
    form_page(s, u, stored, shown).await
}

pub async fn create(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    match vsys_app::knowledge::create(&s.app, &u.actor, &draft(&f)).await {
        Ok(a) => Ok(done(
            &format!("/knowledge/{}", a.id),
            Flash::ArticleSaved,
            "",
        )),
        Err(e) => refused(&s, &u, None, e, f).await,
    }
}

pub async fn update(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    match vsys_app::knowledge::update(&s.app, &u.actor, &id, version(&f), &draft(&f)).await {
        Ok(a) => Ok(done(
            &format!("/knowledge/{}", a.id),
            Flash::ArticleSaved,
            "",
        )),
        Err(e) => {
            let (row, _) = vsys_app::knowledge::get(&s.app, &u.actor, &id)
                .await
                .map_err(|e| PageError(e, u.lang))?;
            refused(&s, &u, Some(&row), e, f).await
        }
    }
}

pub async fn delete(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::knowledge::delete(&s.app, &u.actor, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done("/knowledge", Flash::ArticleDeleted, ""))
}

/// Attaches the uploaded file (`file`, multipart); refused, the article again with the reason
/// next to the file field.
pub async fn attach(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
    mut mp: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let mut name = String::new();
    let mut content: Vec<u8> = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            name = field.file_name().unwrap_or_default().to_owned();
            content = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        }
    }
    match vsys_app::knowledge::attach(&s.app, &u.actor, &id, &name, &content).await {
        Ok(_) => Ok(done(
            &format!("/knowledge/{id}"),
            Flash::AttachmentAdded,
            "#attachments",
        )),
        Err(e) => {
            let errs = Errs::refused("attach", e, lang)?.named("file", K::File.text(lang));
            article_page(&s, &u, &id, None, errs).await
        }
    }
}

/// `filename*=` of a Content-Disposition (RFC 5987: UTF-8, percent-encoded).
fn rfc5987(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An attachment as a download (never shown inline: its type is what its content is).
pub async fn download(
    State(s): State<AppState>,
    u: WebUser,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (row, kind, content) = vsys_app::knowledge::attachment(&s.app, &u.actor, &id, &file)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    let ascii = format!("attachment.{}", kind.extension());
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind.media_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    rfc5987(&row.filename)
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        content,
    )
        .into_response())
}

pub async fn detach(
    State(s): State<AppState>,
    u: WebUser,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    vsys_app::knowledge::detach(&s.app, &u.actor, &id, &file)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        &format!("/knowledge/{id}"),
        Flash::AttachmentRemoved,
        "#attachments",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes_as_shown() {
        assert_eq!(rfc5987("手順 1.pdf"), "%E6%89%8B%E9%A0%86%201.pdf");
        assert_eq!(size(35 * 1024), "35 KB");
        assert_eq!(size(3 * 1024 * 1024 / 2), "1.5 MB");
        assert_eq!(readers_text("", Lang::Ja), "すべての組織");
        assert_eq!(
            readers_text("wholesaler,prefecture", Lang::Ja),
            "都道府県・卸業者"
        );
    }
}
