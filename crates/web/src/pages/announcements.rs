//! Announcements (お知らせの作成): the writer's form (title and Markdown text in Japanese and
//! English, category, audience, publication and expiry, e-mail), and the list of those sent
//! with their read counts (「既読 N / 対象 M 名」) and a way to withdraw each.

use super::form::{Errs, Flash, FormMap, Shown, Vals, done, text};
use super::{Chrome, Pager};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, jst};
use crate::markdown::{SafeHtml, render};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use vsys_app::AppError;
use vsys_app::notices::{AnnouncementDraft, Sent};
use vsys_domain::notice::{Addressees, Category};
use vsys_domain::{Lang, OrgKind, catalog};

catalog! {
    /// The words of the writer's screens.
    pub enum A {
        Sent => ("送信したお知らせ", "Sent notices"),
        New => ("お知らせを作成", "Write a notice"),
        Intro => ("お知らせは、宛先に合うすべての組織の利用者のホーム画面と「お知らせ」に、掲載開始から掲載終了まで表示されます。", "A notice is listed on the home page and under Notices of every user of the organisations its audience reaches, from its publication until its expiry."),
        Category => ("お知らせ区分", "Category"),
        TitleJa => ("件名", "Title (Japanese)"),
        TitleEn => ("件名（英語）", "Title (English)"),
        EnHint => ("空欄のときは日本語を表示します。", "When empty, the Japanese is shown."),
        BodyJa => ("本文（Markdown）", "Text (Japanese, Markdown)"),
        BodyEn => ("本文（英語・Markdown）", "Text (English, Markdown)"),
        BodyHint => ("見出しは ## 、箇条書きは - で書けます。HTML は文字として表示されます。", "Write headings with ##, lists with -. HTML is shown as text."),
        Audience => ("宛先", "Audience"),
        AudienceRule => ("指定した条件（組織の種類・地域・組織）のすべてに合う組織に届きます。条件を指定しなければ、送信できる範囲のすべての組織に届きます（都道府県・市町村は自らの管轄内だけに送れます）。", "It reaches the organisations that meet every condition given (kinds, areas, organisations). With no condition it reaches every organisation you may address (a prefecture or municipality addresses its own area only)."),
        Kinds => ("組織の種類", "Kinds of organisation"),
        KindsHint => ("選ばなければ、すべての種類。", "Leave all unticked for every kind."),
        Areas => ("地域（都道府県・市町村コード）", "Areas (prefecture or municipality codes)"),
        AreasHint => ("その地域の組織と、その管下のすべての組織。空白・カンマ・改行で区切って複数指定できます（例：13 27100）。", "The area's organisation and everything under it. Separate several with spaces, commas or new lines (e.g. 13 27100)."),
        Names => ("組織（組織コード）", "Organisations (codes)"),
        NamesHint => ("指定した組織だけ。空白・カンマ・改行で区切って複数指定できます（例：W13001）。", "These organisations only. Separate several with spaces, commas or new lines (e.g. W13001)."),
        PublishAt => ("掲載開始（日本時間）", "Published from (Japan time)"),
        PublishHint => ("空欄のときは今すぐ掲載します。", "When empty, it is published now."),
        ExpiresAt => ("掲載終了（日本時間）", "Expires at (Japan time)"),
        ExpiresHint => ("空欄のときは終了しません。", "When empty, it never expires."),
        Mail => ("メールでも送る（掲載開始のときに1回）", "Also send by e-mail (once, when it is published)"),
        Publish => ("掲載する", "Publish"),
        Empty => ("送信したお知らせはありません。", "No notice has been sent."),
        Date => ("掲載開始", "Published"),
        Writer => ("発信元", "From"),
        Reads => ("既読", "Read"),
        ReadsOf => ("対象", "of"),
        People => ("名", "users"),
        Status => ("状態", "Status"),
        Scheduled => ("掲載予定", "Scheduled"),
        Live => ("掲載中", "Published"),
        Expired => ("掲載終了", "Expired"),
        Withdrawn => ("取り下げ済", "Withdrawn"),
        Mailed => ("メール送信済", "E-mailed"),
        MailPending => ("メール送信予定", "E-mail due"),
        Withdraw => ("取り下げる", "Withdraw"),
        WithdrawConfirm => ("このお知らせを取り下げます。すべての宛先の一覧から消えます。よろしいですか。", "Withdraw this notice? It leaves every recipient's list."),
        Everyone => ("すべての組織", "Every organisation"),
        Until => ("まで", "until"),
    }
}

/// The writer's words for a template.
pub struct AL(pub Lang);

impl AL {
    pub fn t(&self, k: A) -> &'static str {
        k.text(self.0)
    }
}

/// A sent announcement as the list shows it.
pub struct SentView {
    pub id: String,
    pub date: String,
    pub expires: Option<String>,
    pub category: &'static str,
    pub title: String,
    pub body: SafeHtml,
    pub writer: String,
    pub audience: String,
    pub read: String,
    pub recipients: String,
    pub status: &'static str,
    pub mail: Option<&'static str>,
    pub may_withdraw: bool,
}

/// An audience in words: 「卸業者 ／ 地域 13 ／ 組織 W13001」.
fn audience_text(a: &Addressees, lang: Lang) -> String {
    let mut parts = Vec::new();
    if !a.kinds.is_empty() {
        parts.push(
            a.kinds
                .iter()
                .map(|k| k.label(lang))
                .collect::<Vec<_>>()
                .join("・"),
        );
    }
    if !a.areas.is_empty() {
        let areas = a.areas.iter().cloned().collect::<Vec<_>>().join(" ");
        parts.push(format!("{}: {areas}", A::Areas.text(lang)));
    }
    if !a.names.is_empty() {
        let names = a.names.iter().cloned().collect::<Vec<_>>().join(" ");
        parts.push(format!("{}: {names}", A::Names.text(lang)));
    }
    if parts.is_empty() {
        A::Everyone.text(lang).to_owned()
    } else {
        parts.join(" ／ ")
    }
}

fn sent_view(
    s: &Sent,
    now: chrono::DateTime<chrono::Utc>,
    may_write: bool,
    lang: Lang,
) -> SentView {
    let (n, a) = (&s.announcement.notice, &s.announcement.announcement);
    let status = if a.withdrawn_at.is_some() {
        A::Withdrawn
    } else if n.created_at > now {
        A::Scheduled
    } else if a.expires_at.is_some_and(|e| e <= now) {
        A::Expired
    } else {
        A::Live
    };
    let (title, body) = match lang {
        Lang::Ja => (&n.title_ja, &n.body_ja),
        Lang::En => (&n.title_en, &n.body_en),
    };
    SentView {
        id: n.id.clone(),
        date: jst(&n.created_at),
        expires: a.expires_at.as_ref().map(jst),
        category: Category::parse(&n.category).map_or("", |c| c.label(lang)),
        title: title.clone(),
        body: render(body, 3),
        writer: n.org_code.clone(),
        audience: audience_text(&s.audience, lang),
        read: crate::i18n::int(s.read),
        recipients: crate::i18n::int(s.recipients),
        status: status.text(lang),
        mail: a.mail.then(|| {
            if a.mailed_at.is_some() {
                A::Mailed.text(lang)
            } else {
                A::MailPending.text(lang)
            }
        }),
        may_withdraw: may_write && a.withdrawn_at.is_none(),
    }
}

#[derive(Template)]
#[template(path = "announcements.html")]
pub struct SentPage {
    pub c: Chrome,
    pub a: AL,
    pub items: Vec<SentView>,
    pub pager: Pager,
    pub may_announce: bool,
    pub errs: Errs,
}

#[derive(Deserialize, Default)]
pub struct SentQuery {
    page: Option<u64>,
    flash: Option<String>,
}

async fn sent_page(
    s: &AppState,
    u: &WebUser,
    page: Option<u64>,
    flash: Option<&str>,
    errs: Errs,
) -> Result<Response, PageError> {
    let (actor, lang) = (&u.actor, u.lang);
    let page = vsys_app::page_of(page, None, 20).map_err(|e| PageError(e, lang))?;
    let (rows, total) = vsys_app::notices::sent(&s.app, actor, page)
        .await
        .map_err(|e| PageError(e, lang))?;
    let now = s.app.clock.now();
    let may_announce = vsys_app::notices::may_announce(actor);
    let c = Chrome::for_actor(&s.app, actor, lang, A::Sent.text(lang), "/notices")
        .await
        .with_flash(flash);
    let items = rows
        .iter()
        .map(|r| {
            let own =
                actor.principal().is_nation() || r.announcement.notice.org_code == actor.org_code();
            sent_view(r, now, may_announce && own, lang)
        })
        .collect();
    let page = SentPage {
        c,
        a: AL(lang),
        items,
        pager: Pager::new(page.page, page.per_page, total, "/announcements?".into()),
        may_announce,
        errs,
    };
    Ok(render_status(page.errs.status(), &page))
}

/// The sent announcements with their read counts.
pub async fn sent(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<SentQuery>,
) -> Result<Response, PageError> {
    sent_page(&s, &u, q.page, q.flash.as_deref(), Errs::none()).await
}

#[derive(Template)]
#[template(path = "announcement_form.html")]
pub struct FormPage {
    pub c: Chrome,
    pub a: AL,
    pub categories: Vec<(&'static str, &'static str)>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub errs: Errs,
    pub vals: Vals,
}

const FIELDS: [(&str, A); 10] = [
    ("category", A::Category),
    ("title_ja", A::TitleJa),
    ("title_en", A::TitleEn),
    ("body_ja", A::BodyJa),
    ("body_en", A::BodyEn),
    ("kinds", A::Kinds),
    ("areas", A::Areas),
    ("names", A::Names),
    ("publish_at", A::PublishAt),
    ("expires_at", A::ExpiresAt),
];

fn kind_box(k: OrgKind) -> String {
    format!("kind_{}", k.as_str())
}

async fn form_page(s: &AppState, u: &WebUser, shown: Shown) -> Result<Response, PageError> {
    let (actor, lang) = (&u.actor, u.lang);
    if !vsys_app::notices::may_announce(actor) {
        return Err(PageError(AppError::Forbidden, lang));
    }
    let mut stored = Vals::default();
    stored.set("announcement.category", Category::General.as_str());
    let boxes: Vec<String> = OrgKind::ALL
        .iter()
        .map(|k| kind_box(*k))
        .chain(["mail".to_owned()])
        .collect();
    let boxes: Vec<&str> = boxes.iter().map(String::as_str).collect();
    let vals = shown.vals(stored, &boxes);
    let c = Chrome::for_actor(&s.app, actor, lang, A::New.text(lang), "/notices").await;
    let page = FormPage {
        c,
        a: AL(lang),
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), c.label(lang)))
            .collect(),
        kinds: OrgKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(lang)))
            .collect(),
        errs: shown.errs,
        vals,
    };
    Ok(render_status(page.errs.status(), &page))
}

/// The form 「お知らせを作成」.
pub async fn new(State(s): State<AppState>, u: WebUser) -> Result<Response, PageError> {
    form_page(&s, &u, Shown::default()).await
}

/// Codes as typed: separated by white space, commas (either width) or 、.
fn codes(f: &FormMap, k: &str) -> Vec<String> {
    f.get(k)
        .map(|v| {
            v.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、'))
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn draft(f: &FormMap) -> AnnouncementDraft {
    AnnouncementDraft {
        category: text(f, "category"),
        title_ja: text(f, "title_ja"),
        title_en: text(f, "title_en"),
        body_ja: f.get("body_ja").cloned().unwrap_or_default(),
        body_en: f.get("body_en").cloned().unwrap_or_default(),
        kinds: OrgKind::ALL
            .iter()
            .filter(|k| f.contains_key(&kind_box(**k)))
            .map(|k| k.as_str().to_owned())
            .collect(),
        areas: codes(f, "areas"),
        names: codes(f, "names"),
        publish_at: text(f, "publish_at"),
        expires_at: text(f, "expires_at"),
        mail: f.contains_key("mail"),
    }
}

/// Publishes the announcement; refused, the form again with the reasons next to the fields.
pub async fn publish(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    match vsys_app::notices::publish(&s.app, &u.actor, &draft(&f)).await {
        Ok(_) => Ok(done("/announcements", Flash::NoticePublished, "")),
        Err(e) => {
            let mut shown = Shown::after("announcement", e, f, lang)?;
            for (field, k) in FIELDS {
                shown.errs = shown.errs.named(field, k.text(lang));
            }
            form_page(&s, &u, shown).await
        }
    }
}

/// Withdraws an announcement; refused, the list again with the reason.
pub async fn withdraw(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    match vsys_app::notices::withdraw(&s.app, &u.actor, &id).await {
        Ok(_) => Ok(done("/announcements", Flash::NoticeWithdrawn, "")),
        Err(e) => {
            let errs = Errs::refused("withdraw", e, u.lang)?;
            sent_page(&s, &u, None, None, errs).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_in_words() {
        assert_eq!(
            audience_text(&Addressees::default(), Lang::Ja),
            "すべての組織"
        );
        let a = Addressees {
            kinds: [OrgKind::Wholesaler].into_iter().collect(),
            areas: ["13".to_owned()].into_iter().collect(),
            names: Default::default(),
        };
        assert_eq!(
            audience_text(&a, Lang::Ja),
            "卸業者 ／ 地域（都道府県・市町村コード）: 13"
        );
    }
}
