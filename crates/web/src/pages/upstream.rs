//! Upstream of delivery and the deliverers' settings: 地域卸業者への分配量 (what a cycle hands
//! each deliverer and how much of it is delivered — for the manufacturers, warehouses, the
//! nation and the wholesalers themselves), a deliverer's 入荷・在庫 with the form to register
//! what arrived, where dry ice is needed and how much, an organisation's API tokens (its
//! administrators; the secret is shown once, on the page that answers the creation) and the
//! areas a deliverer serves (set by the prefecture or the nation). What a user sees is decided
//! by the use-cases; every handler calls one and renders a template, and a refused form comes
//! back with the reasons next to its fields and what was typed.

use super::Chrome;
use super::delivery::item_options;
use super::form::{FormMap, ascii_digits, day, text};
use crate::AppState;
use crate::error::{PageError, render_status};
use crate::extract::{Form, ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::{Ui, field_label, int, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use vsys_app::delivery::InboundInput;
use vsys_app::rows::OrgRow;
use vsys_app::rows::Page;
use vsys_app::{Actor, AppError, AppResult};
use vsys_domain::Capability;
use vsys_domain::{Action, Invalid, Lang, Msg, OrgKind, ProductKind};

// ---------------------------------------------------------------------------------------------
// Who may do what (the use-cases decide; these keep a page from showing what they refuse)
// ---------------------------------------------------------------------------------------------

/// 地域卸業者への分配量: the nation, manufacturers, warehouses and wholesalers (their own).
fn may_see_upstream(a: &Actor) -> bool {
    a.can(Capability::SeeUpstream)
}

/// 入荷・在庫: the deliverers that receive goods to deliver.
fn has_stock(a: &Actor) -> bool {
    a.can(Capability::KeepDelivererStock)
}

/// Where dry ice is needed: dry-ice makers for their areas, and the nation, prefectures and
/// municipalities for theirs.
fn may_see_dry_ice(a: &Actor) -> bool {
    a.can(Capability::SeeDryIce)
}

/// A deliverer's own administrators manage its API tokens (for its own systems).
pub(super) fn may_manage_tokens(a: &Actor, org: &OrgRow) -> bool {
    a.principal().is_own(&org.path) && a.can(Capability::ManageApiTokens)
}

/// The organisation above a deliverer (the prefecture of a wholesaler, the nation of a dry-ice
/// maker) sets its areas: its operators, never the deliverer itself.
pub(super) fn may_set_areas(a: &Actor, org: &OrgRow) -> bool {
    let parent_path = org
        .path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map(|(p, _)| format!("{p}/"))
        .unwrap_or_default();
    org.kind.serves_areas()
        && !parent_path.is_empty()
        && a.principal().may(Action::Write, &parent_path)
        && !a.principal().is_own(&org.path)
}

// ---------------------------------------------------------------------------------------------
// Words and numbers
// ---------------------------------------------------------------------------------------------

/// Vials of vaccine, pieces of needles and syringes.
fn qty(item: ProductKind, n: i64, lang: Lang) -> String {
    let unit = if item == ProductKind::Vaccine {
        Ui::VialsUnit
    } else {
        Ui::Pieces
    };
    match lang {
        Lang::Ja => format!("{}{}", int(n), unit.text(lang)),
        Lang::En => format!("{} {}", int(n), unit.text(lang)),
    }
}

/// Grams as kilograms with one decimal ("12.5").
fn kg(grams: i64) -> String {
    let tenths = (grams.max(0) + 50) / 100;
    format!("{}.{}", int(tenths / 10), tenths % 10)
}

fn when(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map(jst).unwrap_or_else(|| "—".to_owned())
}

fn date_s(d: Option<NaiveDate>, lang: Lang) -> String {
    d.map(|d| d.to_string())
        .unwrap_or_else(|| Ui::Undecided.text(lang).to_owned())
}

fn org_name(o: &OrgRow, lang: Lang) -> String {
    match (lang, &o.name_en) {
        (Lang::En, Some(en)) if !en.is_empty() => en.clone(),
        _ => o.name.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Refused forms: the reasons next to the fields, and what was typed
// ---------------------------------------------------------------------------------------------

/// The reasons a form was refused: each with its field (empty when about the whole form), the
/// field's label and the message, in the user's language.
#[derive(Default)]
pub struct Errs {
    pub form: String,
    pub title: &'static str,
    pub items: Vec<(String, String, String)>,
}

impl Errs {
    /// `detail` names what a row of the field's error is about (an area's code).
    fn new(form: &str, e: &AppError, lang: Lang, detail: &dyn Fn(&str, usize) -> String) -> Errs {
        let items = match e {
            AppError::Invalid(inv) => inv
                .0
                .iter()
                .map(|f| {
                    let msg = match (f.field.as_str(), f.msg) {
                        ("received_on", Msg::FutureDay) => Ui::InboundFuture.text(lang),
                        (_, m) => m.text(lang),
                    };
                    let msg = match f.row.map(|r| detail(&f.field, r)) {
                        Some(d) if !d.is_empty() => format!("{d}: {msg}"),
                        _ => msg.to_owned(),
                    };
                    let label = match field_label(&f.field, lang) {
                        "" => f.field.clone(),
                        l => l.to_owned(),
                    };
                    (f.field.clone(), label, msg)
                })
                .collect(),
            other => vec![(
                String::new(),
                String::new(),
                other
                    .detail(lang)
                    .unwrap_or_else(|| other.text(lang).to_owned()),
            )],
        };
        Errs {
            form: form.to_owned(),
            title: match e {
                AppError::Invalid(_) => Msg::InvalidInput.text(lang),
                _ => Msg::Conflict.text(lang),
            },
            items,
        }
    }

    /// Whether `form` was refused (its summary is shown above it).
    pub fn on(&self, form: &str) -> bool {
        self.form == form && !self.items.is_empty()
    }

    /// The messages shown next to `field` of `form`.
    pub fn at(&self, form: &str, field: &str) -> Option<String> {
        if self.form != form {
            return None;
        }
        let found: Vec<&str> = self
            .items
            .iter()
            .filter(|(f, _, _)| f == field)
            .map(|(_, _, m)| m.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" / "))
    }

    /// Every reason, as "label: message".
    pub fn summary(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|(_, label, m)| {
                if label.is_empty() {
                    m.clone()
                } else {
                    format!("{label}: {m}")
                }
            })
            .collect()
    }
}

/// The status of a refused form, or `None` when the error is not the form's (it becomes an
/// error page).
fn refusal_status(e: &AppError) -> Option<StatusCode> {
    match e {
        AppError::Invalid(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
        AppError::Conflict => Some(StatusCode::CONFLICT),
        _ => None,
    }
}

fn no_detail(_: &str, _: usize) -> String {
    String::new()
}

/// The values a form shows: what was typed into a refused one, or the defaults.
#[derive(Default)]
pub struct Vals(HashMap<String, String>);

impl Vals {
    pub fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or_default()
    }

    pub fn is(&self, k: &str, v: &str) -> bool {
        self.get(k) == v
    }
}

/// Back to `path` with a message.
fn done(path: &str, flash: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}flash={flash}")).into_response()
}

#[derive(Deserialize, Default)]
pub struct CycleQuery {
    cycle: Option<String>,
    flash: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct FlashQuery {
    flash: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The cycle shown (1–3)
// ---------------------------------------------------------------------------------------------

pub struct CyclePick {
    pub action: &'static str,
    /// The cycle shown (empty: there is none yet).
    pub cycle: String,
    /// id, name (newest first)
    pub cycles: Vec<(String, String)>,
}

/// The cycle asked for, or the newest.
async fn pick_cycle(
    s: &AppState,
    a: &Actor,
    asked: Option<&str>,
    action: &'static str,
) -> AppResult<CyclePick> {
    let (list, _) = vsys_app::cycles::list(&s.app, a, Page::first(100)).await?;
    let mut cycles: Vec<(String, String)> = list.into_iter().map(|c| (c.id, c.name)).collect();
    let cycle = asked
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .or_else(|| cycles.first().map(|c| c.0.clone()))
        .unwrap_or_default();
    if !cycle.is_empty() && !cycles.iter().any(|c| c.0 == cycle) {
        cycles.push((cycle.clone(), cycle.clone()));
    }
    Ok(CyclePick {
        action,
        cycle,
        cycles,
    })
}

// ---------------------------------------------------------------------------------------------
// 地域卸業者への分配量
// ---------------------------------------------------------------------------------------------

pub struct UpLine {
    pub id: String,
    pub deliverer_code: String,
    pub deliverer: String,
    pub item: &'static str,
    pub lines: String,
    pub quantity: String,
    pub delivered: String,
    pub undelivered: String,
    pub done: bool,
}

/// The sums of one item over the deliverers.
pub struct UpTotal {
    pub key: String,
    pub item: &'static str,
    pub lines: String,
    pub quantity: String,
    pub delivered: String,
    pub undelivered: String,
}

#[derive(Template)]
#[template(path = "upstream.html")]
pub struct UpstreamPage {
    pub c: Chrome,
    pub pick: CyclePick,
    pub rows: Vec<UpLine>,
    pub totals: Vec<UpTotal>,
    /// A deliverer with stock of its own (a link to 入荷・在庫).
    pub stock_link: bool,
}

pub async fn upstream(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<CycleQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    if !may_see_upstream(a) {
        return Err(err(AppError::Forbidden));
    }
    let pick = pick_cycle(&s, a, q.cycle.as_deref(), "/deliveries/upstream")
        .await
        .map_err(err)?;
    let lines = if pick.cycle.is_empty() {
        Vec::new()
    } else {
        vsys_app::delivery::upstream(&s.app, a, &pick.cycle)
            .await
            .map_err(err)?
    };
    let codes: Vec<String> = lines.iter().map(|l| l.deliverer_code.clone()).collect();
    let names = vsys_app::orgs::names(&s.app, a, &codes, lang)
        .await
        .map_err(err)?;
    let rows = lines
        .iter()
        .map(|l| {
            let name = names
                .get(&l.deliverer_code)
                .cloned()
                .unwrap_or_else(|| l.deliverer_name.clone());
            UpLine {
                id: format!("up-{}-{}", l.deliverer_code, l.item),
                deliverer_code: l.deliverer_code.clone(),
                deliverer: name,
                item: l.item.label(lang),
                lines: int(l.lines),
                quantity: qty(l.item, l.quantity, lang),
                delivered: qty(l.item, l.delivered, lang),
                undelivered: qty(l.item, (l.quantity - l.delivered).max(0), lang),
                done: l.quantity > 0 && l.delivered >= l.quantity,
            }
        })
        .collect();
    let totals = ProductKind::ALL
        .into_iter()
        .filter_map(|key| {
            let of: Vec<_> = lines.iter().filter(|l| l.item == key).collect();
            if of.is_empty() {
                return None;
            }
            let (n, q, d) = of.iter().fold((0, 0, 0), |(n, q, d), l| {
                (n + l.lines, q + l.quantity, d + l.delivered)
            });
            Some(UpTotal {
                key: key.as_str().to_owned(),
                item: key.label(lang),
                lines: int(n),
                quantity: qty(key, q, lang),
                delivered: qty(key, d, lang),
                undelivered: qty(key, (q - d).max(0), lang),
            })
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::UpstreamTitle.text(lang),
        "/deliveries/upstream",
    )
    .await
    .with_flash(q.flash.as_deref());
    Ok(render_status(
        StatusCode::OK,
        &UpstreamPage {
            c,
            pick,
            rows,
            totals,
            stock_link: has_stock(a),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// 入荷・在庫
// ---------------------------------------------------------------------------------------------

pub struct StockLine {
    pub key: String,
    pub item: &'static str,
    pub assigned: String,
    pub received: String,
    pub delivered: String,
    pub on_hand: String,
    /// More delivered than received (an arrival not registered yet).
    pub short: bool,
}

#[derive(Template)]
#[template(path = "upstream_stock.html")]
pub struct StockPage {
    pub c: Chrome,
    pub pick: CyclePick,
    pub rows: Vec<StockLine>,
    pub can_record: bool,
    /// value, label
    pub items: Vec<(&'static str, &'static str)>,
    pub today: String,
    pub errs: Errs,
    pub vals: Vals,
}

/// How the stock page is shown after a refused form.
#[derive(Default)]
struct StockShown {
    errs: Errs,
    typed: Option<FormMap>,
    flash: Option<String>,
}

async fn stock_page(
    s: &AppState,
    u: &WebUser,
    asked: Option<&str>,
    shown: StockShown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    if !has_stock(a) {
        return Err(err(AppError::Forbidden));
    }
    let pick = pick_cycle(s, a, asked, "/deliveries/stock")
        .await
        .map_err(err)?;
    let stock = if pick.cycle.is_empty() {
        Vec::new()
    } else {
        vsys_app::delivery::deliverer_stock(&s.app, a, &pick.cycle)
            .await
            .map_err(err)?
    };
    let rows = stock
        .iter()
        .map(|x| StockLine {
            key: x.item.as_str().to_owned(),
            item: x.item.label(lang),
            assigned: qty(x.item, x.assigned, lang),
            received: qty(x.item, x.received, lang),
            delivered: qty(x.item, x.delivered, lang),
            on_hand: qty(x.item, x.on_hand, lang),
            short: x.on_hand < 0,
        })
        .collect();
    let today = vsys_app::clock::japan_date(s.app.clock.now()).to_string();
    let mut vals = Vals::default();
    vals.0.insert("item".into(), "vaccine".into());
    vals.0.insert("received_on".into(), today.clone());
    if let Some(t) = shown.typed {
        for (k, v) in t {
            if k != crate::session::CSRF_FIELD {
                vals.0.insert(k, v);
            }
        }
    }
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::DelivererStockTitle.text(lang),
        "/deliveries/stock",
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        status,
        &StockPage {
            c,
            pick,
            rows,
            can_record: a.can(Capability::RecordInbound),
            items: item_options(lang).collect(),
            today,
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn stock(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<CycleQuery>,
) -> Result<Response, PageError> {
    let shown = StockShown {
        flash: q.flash,
        ..StockShown::default()
    };
    stock_page(&s, &u, q.cycle.as_deref(), shown, StatusCode::OK).await
}

/// 入荷の登録: what arrived from upstream for the cycle shown.
pub async fn inbound(
    State(s): State<AppState>,
    u: WebUser,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let cycle = text(&f, "cycle_id");
    let mut inv = Invalid::default();
    let typed_item = text(&f, "item");
    let item = ProductKind::parse(&typed_item);
    if typed_item.is_empty() {
        inv.push("item", Msg::Required);
    } else if item.is_none() {
        inv.push("item", Msg::InvalidInput);
    }
    let typed_qty = ascii_digits(&text(&f, "quantity")).replace(',', "");
    let quantity = if typed_qty.is_empty() {
        inv.push("quantity", Msg::Required);
        0
    } else {
        typed_qty.parse::<i64>().unwrap_or_else(|_| {
            inv.push("quantity", Msg::InvalidInput);
            0
        })
    };
    let typed_day = text(&f, "received_on");
    let received_on = if typed_day.is_empty() {
        inv.push("received_on", Msg::Required);
        None
    } else {
        let d = day(&typed_day);
        if d.is_none() {
            inv.push("received_on", Msg::InvalidDate);
        }
        d
    };
    let result = match (received_on, item) {
        (Some(received_on), Some(item)) if inv.is_empty() => {
            let input = InboundInput {
                cycle_id: cycle.clone(),
                item,
                quantity,
                received_on,
            };
            vsys_app::delivery::record_inbound(&s.app, &u.actor, &input)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Invalid(inv)),
    };
    match result {
        Ok(()) => Ok(done(
            &format!("/deliveries/stock?cycle={}", urlencoding::encode(&cycle)),
            "received",
        )),
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return Err(PageError(e, lang));
            };
            let shown = StockShown {
                errs: Errs::new("inbound", &e, lang, &no_detail),
                typed: Some(f),
                flash: None,
            };
            stock_page(&s, &u, Some(&cycle), shown, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ドライアイス
// ---------------------------------------------------------------------------------------------

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
    if !may_see_dry_ice(a) {
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
            vials: qty(ProductKind::Vaccine, l.vials, lang),
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
            total_vials: qty(ProductKind::Vaccine, vials, lang),
            total_boxes: int(boxes),
            total_kg: kg(grams),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// API tokens
// ---------------------------------------------------------------------------------------------

pub struct TokenLine {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
    pub active: bool,
}

/// A token just created: its name and the secret, shown this once.
pub struct NewSecret {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
pub struct TokensPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub tokens: Vec<TokenLine>,
    pub created: Option<NewSecret>,
    pub errs: Errs,
    pub vals: Vals,
}

#[derive(Default)]
struct TokensShown {
    errs: Errs,
    typed: Option<FormMap>,
    created: Option<NewSecret>,
    flash: Option<String>,
}

async fn tokens_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: TokensShown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let list = vsys_app::api_tokens::list(&s.app, a, code)
        .await
        .map_err(err)?;
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    let tokens = list
        .into_iter()
        .map(|t| TokenLine {
            active: t.revoked_at.is_none(),
            revoked: when(t.revoked_at.as_ref()),
            last_used: t
                .last_used_at
                .as_ref()
                .map(jst)
                .unwrap_or_else(|| Ui::Never.text(lang).to_owned()),
            created: jst(&t.created_at),
            id: t.id,
            name: t.name,
        })
        .collect();
    let mut vals = Vals::default();
    if let Some(t) = shown.typed {
        vals.0.extend(t);
    }
    let mut c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::ApiTokens.text(lang),
        &format!("/orgs/{}/api-tokens", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    if shown.created.is_some() {
        c.flash = Some(Ui::TokenCreated.text(lang));
    }
    Ok(render_status(
        status,
        &TokensPage {
            c,
            org_name: org_name(&org, lang),
            code: org.code,
            tokens,
            created: shown.created,
            errs: shown.errs,
            vals,
        },
    ))
}

pub async fn tokens(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let shown = TokensShown {
        flash: q.flash,
        ..TokensShown::default()
    };
    tokens_page(&s, &u, &code, shown, StatusCode::OK).await
}

/// Issues a token: the answer is the page with the secret, shown this once (a reload of the
/// list never shows it again; only its hash is kept).
pub async fn token_create(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let name = text(&f, "name");
    match vsys_app::api_tokens::create(&s.app, &u.actor, &code, &name).await {
        Ok(t) => {
            let shown = TokensShown {
                created: Some(NewSecret {
                    name: t.token.name,
                    secret: t.secret,
                }),
                ..TokensShown::default()
            };
            tokens_page(&s, &u, &code, shown, StatusCode::OK).await
        }
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return Err(PageError(e, lang));
            };
            let shown = TokensShown {
                errs: Errs::new("token", &e, lang, &no_detail),
                typed: Some(f),
                ..TokensShown::default()
            };
            tokens_page(&s, &u, &code, shown, status).await
        }
    }
}

pub async fn token_revoke(
    State(s): State<AppState>,
    u: WebUser,
    Path((code, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    vsys_app::api_tokens::revoke(&s.app, &u.actor, &code, &id)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        &format!("/orgs/{}/api-tokens", urlencoding::encode(&code)),
        "token_revoked",
    ))
}

// ---------------------------------------------------------------------------------------------
// 担当地域
// ---------------------------------------------------------------------------------------------

pub struct AreaOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "areas.html")]
pub struct AreasPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    /// A wholesaler (municipalities of its prefecture, ticked) rather than a dry-ice maker
    /// (codes typed).
    pub is_wholesaler: bool,
    /// code, name
    pub areas: Vec<(String, String)>,
    pub can_set: bool,
    pub options: Vec<AreaOption>,
    /// The codes in the text box (dry-ice makers).
    pub typed: String,
    pub errs: Errs,
}

#[derive(Default)]
struct AreasShown {
    errs: Errs,
    /// The codes sent by a refused form.
    sent: Option<Vec<String>>,
    typed: Option<String>,
    flash: Option<String>,
}

async fn areas_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: AreasShown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    if !org.kind.serves_areas() {
        return Err(err(AppError::NotFound));
    }
    let current = vsys_app::orgs::areas(&s.app, a, &org.code)
        .await
        .map_err(err)?;
    let is_wholesaler = org.kind == OrgKind::Wholesaler;
    let can_set = may_set_areas(a, &org);
    let mut choices: Vec<(String, String)> = Vec::new();
    if can_set
        && is_wholesaler
        && let Some(pref) = org.prefecture_code.clone().or(org.parent_code.clone())
    {
        let (ms, _) = vsys_app::orgs::list(
            &s.app,
            a,
            &vsys_app::orgs::OrgQuery {
                kind: Some("municipality".into()),
                parent: Some(pref),
                per_page: Some(Page::MAX_PER_PAGE),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
        choices = ms
            .iter()
            .map(|m| (m.code.clone(), org_name(m, lang)))
            .collect();
    }
    let names = vsys_app::orgs::names(&s.app, a, &current, lang)
        .await
        .map_err(err)?;
    let ticked: HashSet<String> = shown
        .sent
        .clone()
        .unwrap_or_else(|| current.clone())
        .into_iter()
        .collect();
    let options = choices
        .into_iter()
        .map(|(code, name)| AreaOption {
            checked: ticked.contains(&code),
            code,
            name,
        })
        .collect();
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::Areas.text(lang),
        &format!("/orgs/{}/areas", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        status,
        &AreasPage {
            c,
            org_name: org_name(&org, lang),
            kind_label: org.kind.label(lang),
            code: org.code.clone(),
            is_wholesaler,
            typed: shown.typed.unwrap_or_else(|| current.join("\n")),
            areas: current
                .iter()
                .map(|c| (c.clone(), names.get(c).cloned().unwrap_or_default()))
                .collect(),
            can_set,
            options,
            errs: shown.errs,
        },
    ))
}

pub async fn areas(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let shown = AreasShown {
        flash: q.flash,
        ..AreasShown::default()
    };
    areas_page(&s, &u, &code, shown, StatusCode::OK).await
}

/// Sets the areas: the ticked municipalities (`areas`, a wholesaler's) and the codes typed
/// (`areas_text`, a dry-ice maker's: one per line, or separated by commas or spaces).
pub async fn areas_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let typed: String = f
        .iter()
        .filter(|(k, _)| k == "areas_text")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut sent: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "areas")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    sent.extend(
        ascii_digits(&typed)
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    );
    match vsys_app::orgs::set_areas(&s.app, &u.actor, &code, &sent).await {
        Ok(_) => Ok(done(
            &format!("/orgs/{}/areas", urlencoding::encode(&code)),
            "areas_saved",
        )),
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return Err(PageError(e, lang));
            };
            // The use-case numbers the codes as it checks them: sorted, without duplicates.
            let mut checked = sent.clone();
            checked.sort();
            checked.dedup();
            let detail = |field: &str, row: usize| match field {
                "areas" => checked
                    .get(row.wrapping_sub(1))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let shown = AreasShown {
                errs: Errs::new("areas", &e, lang, &detail),
                sent: Some(sent.clone()),
                typed: Some(typed),
                flash: None,
            };
            areas_page(&s, &u, &code, shown, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 基本情報 (a deliverer's own)
// ---------------------------------------------------------------------------------------------

/// The fields of a deliverer's basic information, in the order shown.
const INFO_FIELDS: [&str; 5] = ["postal_code", "address", "phone", "contact", "email"];

#[derive(Template)]
#[template(path = "deliverer_info.html")]
pub struct DelivererInfoPage {
    pub c: Chrome,
    pub code: String,
    pub org_name: String,
    pub kind_label: &'static str,
    /// The deliverer's own operators edit; the organisations above it only look.
    pub can_edit: bool,
    /// field, label, value stored (read-only view)
    pub stored: Vec<(&'static str, &'static str, String)>,
    /// What the form shows: what was typed into a refused one, or the stored values.
    pub vals: Vals,
    /// The version read (0: never registered).
    pub version: i64,
    /// When last changed ("" when never registered).
    pub updated_at: String,
    pub errs: Errs,
}

#[derive(Default)]
struct InfoShown {
    errs: Errs,
    /// What a refused form sent, and the version it was read at.
    sent: Option<(HashMap<String, String>, i64)>,
    flash: Option<String>,
}

fn profile_value(p: &vsys_app::rows::DelivererProfileRow, field: &str) -> String {
    match field {
        "postal_code" => p.postal_code.clone(),
        "address" => p.address.clone(),
        "phone" => p.phone.clone(),
        "contact" => p.contact.clone(),
        "email" => p.email.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

async fn deliverer_info_page(
    s: &AppState,
    u: &WebUser,
    code: &str,
    shown: InfoShown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let org = vsys_app::orgs::get(&s.app, a, code).await.map_err(err)?;
    let p = vsys_app::delivery::deliverer_info(&s.app, a, &org.code)
        .await
        .map_err(err)?;
    let can_edit = a.principal().is_own(&org.path) && a.principal().may(Action::Write, &org.path);
    let stored: Vec<(&'static str, &'static str, String)> = INFO_FIELDS
        .iter()
        .map(|f| (*f, field_label(f, lang), profile_value(&p, f)))
        .collect();
    let (vals, version) = match shown.sent {
        Some((sent, version)) => (Vals(sent), version),
        None => (
            Vals(
                stored
                    .iter()
                    .map(|(f, _, v)| ((*f).to_owned(), v.clone()))
                    .collect(),
            ),
            p.version,
        ),
    };
    let c = Chrome::for_actor(
        &s.app,
        a,
        lang,
        Ui::DelivererInfo.text(lang),
        &format!("/orgs/{}/deliverer-info", org.code),
    )
    .await
    .with_flash(shown.flash.as_deref());
    Ok(render_status(
        status,
        &DelivererInfoPage {
            c,
            org_name: org_name(&org, lang),
            kind_label: org.kind.label(lang),
            code: org.code.clone(),
            can_edit,
            stored,
            vals,
            version,
            updated_at: if p.version > 0 {
                jst(&p.updated_at)
            } else {
                String::new()
            },
            errs: shown.errs,
        },
    ))
}

pub async fn deliverer_info(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let shown = InfoShown {
        flash: q.flash,
        ..InfoShown::default()
    };
    deliverer_info_page(&s, &u, &code, shown, StatusCode::OK).await
}

/// Saves the deliverer's basic information (`version`: the one the form was read at).
pub async fn deliverer_info_submit(
    State(s): State<AppState>,
    u: WebUser,
    Path(code): Path<String>,
    Form(f): Form<FormMap>,
) -> Result<Response, PageError> {
    let lang = u.lang;
    let field = |k: &str| f.get(k).cloned().filter(|v| !v.trim().is_empty());
    let input = vsys_app::delivery::DelivererInfo {
        postal_code: field("postal_code"),
        address: field("address"),
        phone: field("phone").map(|p| ascii_digits(&p)),
        contact: field("contact"),
        email: field("email"),
    };
    let version = f
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(-1);
    match vsys_app::delivery::set_deliverer_info(&s.app, &u.actor, &code, version, &input).await {
        Ok(_) => Ok(done(
            &format!("/orgs/{}/deliverer-info", urlencoding::encode(&code)),
            "deliverer_info_saved",
        )),
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return Err(PageError(e, lang));
            };
            // A conflict shows what is stored now (and its version); a refusal what was typed.
            let sent = match e {
                AppError::Conflict => None,
                _ => Some((
                    INFO_FIELDS
                        .iter()
                        .map(|k| ((*k).to_owned(), f.get(*k).cloned().unwrap_or_default()))
                        .collect(),
                    version,
                )),
            };
            let shown = InfoShown {
                errs: Errs::new("info", &e, lang, &no_detail),
                sent,
                flash: None,
            };
            deliverer_info_page(&s, &u, &code, shown, status).await
        }
    }
}
