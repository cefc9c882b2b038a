//! The dashboard (DashBoard) of the nation, a prefecture or a municipality, and of the areas
//! below it: vaccinations and coverage (with the daily chart and the map of Japan or the
//! ranking of municipalities), supply and stock, deliveries and idle stock — every table also
//! as CSV — and, for the caller's own area, the progress of recent cycles (進捗状況) with the
//! reminder to those late in one click.

use super::Chrome;
use super::form::{Flash, done};
use crate::AppState;
use crate::charts::{self, Bar, Tile};
use crate::error::{PageError, render_status};
use crate::extract::{ScreenPath as Path, ScreenQuery as Query};
use crate::i18n::int;
use crate::i18n::{Ui, jst};
use crate::session::WebUser;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use vsys_app::AppError;
use vsys_app::csv_files::{self, Encoding};
use vsys_app::dashboard::CycleProgress;
use vsys_app::overview::{self, DeliveryCount, Overview, SupplyRow};
use vsys_domain::chain::Status;
use vsys_domain::{Lang, OrgKind, catalog};

catalog! {
    /// The dashboard's words.
    pub enum D {
        Title => ("進捗状況", "Progress"),
        Intro => ("最近のクールについて、管下の組織の分配の状況と、締切を過ぎた組織を表示します。", "For the recent cycles: where the organisations below stand, and who is past the deadline."),
        Deadline => ("締切", "Deadline"),
        Updated => ("最新の更新", "Latest change"),
        YourStatus => ("自組織", "Your organisation"),
        Organisation => ("組織", "Organisation"),
        Status => ("状況", "Status"),
        NothingDivided => ("分配なし", "Nothing divided"),
        Late => ("遅延", "Late"),
        OnTime => ("—", "—"),
        LateCount => ("締切を過ぎた組織", "Past the deadline"),
        NoneLate => ("締切を過ぎた組織はありません。", "Nobody is past the deadline."),
        Remind => ("締切を過ぎた組織にお知らせを送る", "Remind those past the deadline"),
        RemindConfirm => ("締切を過ぎた組織に、お知らせ（とメール）を送ります。よろしいですか。", "Send a notice (and e-mail) to everyone past the deadline?"),
        NoCycles => ("表示するクールはありません。", "There are no cycles to show."),
        Open => ("分配の画面へ", "Open the division"),
        Heading => ("ダッシュボード", "Dashboard"),
        AsOf => ("集計日", "As of"),
        Up => ("上の階層へ戻る", "Back up to"),
        Vaccinations => ("接種実績", "Vaccinations"),
        Doses => ("接種回数（累計）", "Doses given (all days)"),
        Per100 => ("人口100人あたり", "Per 100 residents"),
        ElderlyPer100 => ("65歳以上100人あたり（高齢者）", "Per 100 residents aged 65+ (elderly)"),
        Wastage => ("廃棄率", "Wastage rate"),
        NewestReport => ("最新の報告日", "Newest report"),
        NoReports => ("報告なし", "No reports"),
        Daily => ("日別の接種回数（直近28日）", "Doses per day (last 28 days)"),
        Day => ("日付", "Day"),
        DosesOfDay => ("接種回数", "Doses"),
        Cumulative => ("累計", "Cumulative"),
        ElderlyDoses => ("うち高齢者", "Of which elderly"),
        WastedVials => ("廃棄バイアル", "Wasted vials"),
        CoverageMap => ("都道府県別の接種率（人口100人あたりの接種回数）", "Coverage by prefecture (doses per 100 residents)"),
        CoverageRanked => ("市町村別の接種率（人口100人あたりの接種回数、高い順）", "Coverage by municipality (doses per 100 residents, highest first)"),
        CoverageTable => ("地域別の接種実績と接種率", "Doses and coverage by area"),
        Area => ("地域", "Area"),
        Residents => ("人口", "Residents"),
        Aged65 => ("65歳以上人口", "Residents aged 65+"),
        Supply => ("供給と在庫", "Supply and stock"),
        SupplyIntro => ("分配量・希望量は表示中のクール、納入・接種・廃棄・在庫はすべてのクールの合計（回分）です。在庫日数は直近14日の接種ペースで在庫が何日分あるかです。", "Allocated and requested are for the cycle shown; delivered, given, wasted and in stock are for all cycles (doses). Days of supply: how many days the stock lasts at the last 14 days' pace."),
        Cycle => ("クール", "Cycle"),
        NoCycle => ("表示できるクールはありません。", "No cycle to show."),
        Allocated => ("分配量（バイアル）", "Allocated (vials)"),
        AllocatedDoses => ("分配量（回分）", "Allocated (doses)"),
        Requested => ("希望量（回分）", "Requested (doses)"),
        Capacity => ("接種可能量（回分）", "Capacity (doses)"),
        Delivered => ("納入（回分）", "Delivered (doses)"),
        Administered => ("接種（回分）", "Given (doses)"),
        Wasted => ("廃棄（回分）", "Wasted (doses)"),
        InStock => ("在庫（回分）", "In stock (doses)"),
        DaysOfSupply => ("在庫日数", "Days of supply"),
        Total => ("合計", "Total"),
        Deliveries => ("配送", "Deliveries"),
        NoDeliveries => ("配送の明細はまだありません（確定後に作られます）。", "No delivery lines yet (they are made when a cycle is final)."),
        ByDeliverer => ("卸業者別", "By deliverer"),
        ByArea => ("地域別", "By area"),
        Deliverer => ("卸業者", "Deliverer"),
        Lines => ("明細", "Lines"),
        DeliveredLines => ("納入済", "Delivered"),
        Unscheduled => ("納入予定日未入力", "No scheduled date"),
        LateLines => ("納入予定日を過ぎて未納入", "Past the scheduled date"),
        Idle => ("偏在（使われていない在庫）", "Idle stock"),
        IdleIntro => ("在庫が長く使われていない医療機関・接種会場は、「在庫の偏在」の画面で確認します。", "Sites whose stock lies unused are listed on the idle-stock screen."),
        OpenIdle => ("在庫の偏在の一覧を開く", "Open the idle-stock list"),
        Site => ("医療機関", "Site"),
        Csv => ("CSV（UTF-8）", "CSV (UTF-8)"),
        CsvSjis => ("CSV（Shift_JIS）", "CSV (Shift_JIS)"),
        Freshness => ("集計", "Figures"),
    }
}

pub struct DL(pub Lang);

impl DL {
    pub fn t(&self, d: D) -> &'static str {
        d.text(self.0)
    }
}

pub struct Row {
    pub code: String,
    pub name: String,
    pub status: Option<(&'static str, &'static str)>,
    pub late: bool,
    pub link: String,
}

pub struct Panel {
    pub id: String,
    pub name: String,
    pub deadline: String,
    pub updated: String,
    /// The same moment for `<time datetime>`.
    pub updated_iso: String,
    pub own: (&'static str, &'static str),
    pub counts: Vec<(&'static str, usize)>,
    pub late: usize,
    pub rows: Vec<Row>,
    pub division: String,
}

/// A cell of a dashboard table: what the page shows, what the CSV holds, and where it leads.
pub struct Cell {
    pub shown: String,
    pub raw: String,
    pub href: Option<String>,
    pub num: bool,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            shown: s.clone(),
            raw: s,
            href: None,
            num: false,
        }
    }

    fn link(s: impl Into<String>, href: String) -> Cell {
        Cell {
            href: Some(href),
            ..Cell::text(s)
        }
    }

    fn int(n: i64) -> Cell {
        Cell {
            shown: int(n),
            raw: n.to_string(),
            href: None,
            num: true,
        }
    }

    /// No figure: a dash on the page, an empty cell in the CSV.
    fn none() -> Cell {
        Cell {
            shown: "—".into(),
            raw: String::new(),
            href: None,
            num: true,
        }
    }

    fn opt(n: Option<i64>) -> Cell {
        n.map(Cell::int).unwrap_or_else(Cell::none)
    }

    fn pct(v: Option<f64>) -> Cell {
        match v {
            Some(v) => Cell {
                shown: rate(v),
                raw: format!("{v:.4}"),
                href: None,
                num: true,
            },
            None => Cell::none(),
        }
    }
}

/// A table of the dashboard, shown on the page and downloaded as CSV (the same rows).
pub struct Table {
    /// Its name in the CSV link (`/dashboard/csv/{name}`) and its element id.
    pub name: String,
    pub caption: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// One cycle's deliveries, as two tables.
pub struct DeliveryView {
    pub cycle: String,
    pub by_deliverer: Table,
    pub by_area: Table,
}

/// What the figures panels show of the area.
pub struct OverviewView {
    pub area_name: String,
    pub area_code: String,
    /// `?area=…` for links that keep the area (empty for the caller's own).
    pub area_query: String,
    pub up: Option<(String, String)>,
    pub today: String,
    pub doses: String,
    pub per_100: String,
    pub elderly_per_100: String,
    pub wastage: String,
    pub newest_report: String,
    pub daily_svg: String,
    pub days: Table,
    pub coverage_svg: String,
    pub coverage: Table,
    pub supply_cycle: Option<String>,
    pub supply_newest: String,
    pub supply: Table,
    pub deliveries: Vec<DeliveryView>,
    /// The idle-stock list of the area (its own screen).
    pub idle: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub c: Chrome,
    pub d: DL,
    pub ov: OverviewView,
    /// The progress of the recent cycles (the caller's own area only).
    pub panels: Vec<Panel>,
    pub own: bool,
    pub may_remind: bool,
}

/// The dashboard's query: the area shown (a prefecture or municipality code) and a message.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DashQuery {
    pub area: Option<String>,
    pub flash: Option<String>,
    /// For the CSV: `utf-8` or `shift_jis` (default).
    pub encoding: Option<String>,
    /// For the progress CSV: the cycle.
    pub cycle: Option<String>,
}

/// A rate per 100 as the page writes it: one decimal, more while it is small (a programme's
/// first days give 0.004, not 0.0).
fn rate(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn pct_text(v: Option<f64>) -> String {
    v.map(rate).unwrap_or_else(|| "—".into())
}

fn day_text(d: Option<NaiveDate>, lang: Lang) -> String {
    d.map(|d| d.to_string())
        .unwrap_or_else(|| D::NoReports.text(lang).into())
}

/// The tables and charts of the figures (one place for the page and the CSV).
fn overview_view(ov: &Overview, own: bool, lang: Lang) -> OverviewView {
    let t = |w: D| w.text(lang);
    let area_query = if own {
        String::new()
    } else {
        format!("?area={}", ov.area.code)
    };
    let v = &ov.vaccinations;
    let days = Table {
        name: "days".into(),
        caption: t(D::Daily).into(),
        headers: vec![
            t(D::Day),
            t(D::DosesOfDay),
            t(D::ElderlyDoses),
            t(D::Cumulative),
            t(D::WastedVials),
        ],
        rows: v
            .days
            .iter()
            .map(|d| {
                vec![
                    Cell::text(d.day.to_string()),
                    Cell::int(d.doses),
                    Cell::int(d.elderly),
                    Cell::int(d.cumulative),
                    Cell::int(d.wasted_vials),
                ]
            })
            .collect(),
    };
    let bars: Vec<Bar> = v
        .days
        .iter()
        .map(|d| Bar {
            label: d.day.format("%m/%d").to_string(),
            value: d.doses as f64,
            text: int(d.doses),
        })
        .collect();
    let daily_svg = charts::columns("chart-daily", t(D::Daily), &bars);
    let drill = ov.area.kind != OrgKind::Municipality;
    let coverage = Table {
        name: "coverage".into(),
        caption: t(D::CoverageTable).into(),
        headers: vec![
            t(D::Area),
            t(D::Doses),
            t(D::ElderlyDoses),
            t(D::Residents),
            t(D::Aged65),
            t(D::Per100),
            t(D::ElderlyPer100),
            t(D::WastedVials),
            t(D::NewestReport),
        ],
        rows: v
            .below
            .iter()
            .map(|c| {
                vec![
                    if drill {
                        Cell::link(&c.name, format!("/dashboard?area={}", c.code))
                    } else {
                        Cell::text(&c.name)
                    },
                    Cell::int(c.doses),
                    Cell::int(c.elderly_doses),
                    Cell::int(c.residents.total),
                    Cell::int(c.residents.aged_65_plus),
                    Cell::pct(c.per_100()),
                    Cell::pct(c.elderly_per_100()),
                    Cell::int(c.wasted_vials),
                    Cell::text(day_text(c.newest_day, lang)),
                ]
            })
            .collect(),
    };
    let coverage_svg = match ov.area.kind {
        OrgKind::Nation => charts::tile_map(
            "chart-map",
            t(D::CoverageMap),
            &v.below
                .iter()
                .map(|c| Tile {
                    code: c.code.clone(),
                    name: c.name.clone(),
                    value: c.per_100(),
                    text: pct_text(c.per_100()),
                })
                .collect::<Vec<_>>(),
            "",
        ),
        OrgKind::Prefecture => charts::ranked(
            "chart-ranked",
            t(D::CoverageRanked),
            &v.below
                .iter()
                .map(|c| Bar {
                    label: c.name.clone(),
                    value: c.per_100().unwrap_or(0.0),
                    text: pct_text(c.per_100()),
                })
                .collect::<Vec<_>>(),
        ),
        _ => String::new(),
    };
    let sp = &ov.supply;
    let site_rows = ov.area.kind == OrgKind::Municipality;
    let supply_row = |r: &SupplyRow, link: bool| {
        vec![
            if link && site_rows {
                Cell::link(&r.name, format!("/sites/{}", r.code))
            } else if link {
                Cell::link(&r.name, format!("/dashboard?area={}", r.code))
            } else {
                Cell::text(&r.name)
            },
            Cell::int(r.allocated_vials),
            Cell::int(r.allocated_doses),
            Cell::int(r.requested_doses),
            Cell::int(r.capacity_doses),
            Cell::int(r.delivered_doses),
            Cell::int(r.administered_doses),
            Cell::int(r.wasted_doses),
            Cell::int(r.stock_doses),
            Cell::opt(r.days_of_supply),
        ]
    };
    let mut supply_rows: Vec<Vec<Cell>> = sp.rows.iter().map(|r| supply_row(r, true)).collect();
    let mut total = supply_row(&sp.total, false);
    if let Some(first) = total.first_mut() {
        *first = Cell::text(format!("{}（{}）", t(D::Total), sp.total.name));
    }
    supply_rows.push(total);
    let supply = Table {
        name: "supply".into(),
        caption: t(D::Supply).into(),
        headers: vec![
            if site_rows { t(D::Site) } else { t(D::Area) },
            t(D::Allocated),
            t(D::AllocatedDoses),
            t(D::Requested),
            t(D::Capacity),
            t(D::Delivered),
            t(D::Administered),
            t(D::Wasted),
            t(D::InStock),
            t(D::DaysOfSupply),
        ],
        rows: supply_rows,
    };
    let count_headers = |first: D| {
        vec![
            t(first),
            t(D::Lines),
            t(D::DeliveredLines),
            t(D::Unscheduled),
            t(D::LateLines),
        ]
    };
    let count_row = |c: &DeliveryCount, href: Option<String>| {
        vec![
            match href {
                Some(h) => Cell::link(&c.name, h),
                None => Cell::text(&c.name),
            },
            Cell::int(c.lines),
            Cell::int(c.delivered),
            Cell::int(c.unscheduled),
            Cell::int(c.late),
        ]
    };
    let deliveries = ov
        .deliveries
        .iter()
        .enumerate()
        .map(|(i, p)| DeliveryView {
            cycle: p.cycle.name.clone(),
            by_deliverer: Table {
                name: format!("deliverers-{i}"),
                caption: format!("{} {}", p.cycle.name, t(D::ByDeliverer)),
                headers: count_headers(D::Deliverer),
                rows: p
                    .by_deliverer
                    .iter()
                    .map(|c| count_row(c, None))
                    .chain(std::iter::once(count_row(&p.total, None)))
                    .collect(),
            },
            by_area: Table {
                name: format!("delivery-areas-{i}"),
                caption: format!("{} {}", p.cycle.name, t(D::ByArea)),
                headers: count_headers(D::Area),
                rows: p
                    .by_area
                    .iter()
                    .map(|c| count_row(c, drill.then(|| format!("/dashboard?area={}", c.code))))
                    .collect(),
            },
        })
        .collect();
    OverviewView {
        area_name: ov.area.name.clone(),
        area_code: ov.area.code.clone(),
        area_query,
        up: ov.up.as_ref().map(|u| {
            (
                if u.code == "JP" || u.kind == OrgKind::Nation {
                    "/dashboard".to_owned()
                } else {
                    format!("/dashboard?area={}", u.code)
                },
                u.name.clone(),
            )
        }),
        today: ov.today.to_string(),
        doses: int(v.total.doses),
        per_100: pct_text(v.total.per_100()),
        elderly_per_100: pct_text(v.total.elderly_per_100()),
        wastage: v
            .wastage_rate
            .map(|r| format!("{:.2}%", r * 100.0))
            .unwrap_or_else(|| "—".into()),
        newest_report: day_text(v.total.newest_day, lang),
        daily_svg,
        days,
        coverage_svg,
        coverage,
        supply_cycle: sp.cycle.as_ref().map(|c| c.name.clone()),
        supply_newest: day_text(sp.newest_day, lang),
        supply,
        deliveries,
        idle: format!(
            "/stock/idle{area_query}",
            area_query = if own {
                String::new()
            } else {
                format!("?area={}", ov.area.code)
            }
        ),
    }
}

/// The progress panels of the caller's own area.
fn progress_panels(progress: &[CycleProgress], own_code: &str, lang: Lang) -> Vec<Panel> {
    progress
        .iter()
        .map(|p| {
            let id = p.cycle.id.clone();
            let child_links = p.child_level != vsys_domain::chain::Level::Site;
            Panel {
                name: p.cycle.name.clone(),
                deadline: p.deadline.to_string(),
                updated: jst(&p.updated_at),
                updated_iso: p
                    .updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                own: (p.own.label(lang), p.own.badge()),
                counts: [
                    Status::Unconfirmed,
                    Status::Confirmed,
                    Status::Divided,
                    Status::Final,
                ]
                .into_iter()
                .map(|st| (st.label(lang), p.count(st)))
                .collect(),
                late: p.late().count(),
                rows: p
                    .children
                    .iter()
                    .map(|c| Row {
                        link: if child_links && c.status.is_some() {
                            format!("/allocations/{id}/{}", c.code)
                        } else {
                            String::new()
                        },
                        code: c.code.clone(),
                        name: c.name.clone(),
                        status: c.status.map(|st| (st.label(lang), st.badge())),
                        late: c.late,
                    })
                    .collect(),
                division: format!("/allocations/{id}/{own_code}"),
                id,
            }
        })
        .collect()
}

/// The progress of one cycle as a table (for its CSV).
fn progress_table(p: &Panel, lang: Lang) -> Table {
    let t = |w: D| w.text(lang);
    Table {
        name: "progress".into(),
        caption: format!("{} {}", p.name, t(D::Title)),
        headers: vec![t(D::Organisation), "code", t(D::Status), t(D::Late)],
        rows: p
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.name),
                    Cell::text(&r.code),
                    Cell::text(r.status.map(|s| s.0).unwrap_or(t(D::NothingDivided))),
                    Cell::text(if r.late { t(D::Late) } else { "" }),
                ]
            })
            .collect(),
    }
}

pub async fn dashboard(
    State(s): State<AppState>,
    u: WebUser,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let area = overview::area(&s.app, a, q.area.as_deref())
        .await
        .map_err(err)?;
    let own = area.code == a.org_code();
    let ov = overview::overview(&s.app, a, &area).await.map_err(err)?;
    let panels = if own {
        let progress = vsys_app::dashboard::progress(&s.app, a)
            .await
            .map_err(err)?;
        progress_panels(&progress, a.org_code(), lang)
    } else {
        Vec::new()
    };
    let c = Chrome::for_actor(&s.app, a, lang, D::Heading.text(lang), "/dashboard")
        .await
        .with_flash(q.flash.as_deref());
    let page = DashboardPage {
        c,
        d: DL(lang),
        ov: overview_view(&ov, own, lang),
        panels,
        own,
        may_remind: vsys_app::dashboard::may_remind(a),
    };
    Ok(render_status(StatusCode::OK, &page))
}

/// One table of the dashboard as CSV (Shift_JIS by default, for Excel; or UTF-8).
pub async fn csv(
    State(s): State<AppState>,
    u: WebUser,
    Path(name): Path<String>,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let (a, lang) = (&u.actor, u.lang);
    let err = |e| PageError(e, lang);
    let encoding =
        Encoding::parse(q.encoding.as_deref().unwrap_or("shift_jis")).unwrap_or(Encoding::ShiftJis);
    let area = overview::area(&s.app, a, q.area.as_deref())
        .await
        .map_err(err)?;
    let own = area.code == a.org_code();
    let table = if name == "progress" {
        let progress = vsys_app::dashboard::progress(&s.app, a)
            .await
            .map_err(err)?;
        progress_panels(&progress, a.org_code(), lang)
            .iter()
            .find(|p| Some(&p.id) == q.cycle.as_ref())
            .map(|p| progress_table(p, lang))
    } else {
        let ov = overview::overview(&s.app, a, &area).await.map_err(err)?;
        let v = overview_view(&ov, own, lang);
        let mut tables = vec![v.days, v.coverage, v.supply];
        for d in v.deliveries {
            tables.push(d.by_deliverer);
            tables.push(d.by_area);
        }
        tables.into_iter().find(|t| t.name == name)
    };
    let table = table.ok_or(PageError(AppError::NotFound, lang))?;
    let rows: Vec<Vec<String>> = table
        .rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.raw).collect())
        .collect();
    let bytes = csv_files::write(&table.headers, &rows, encoding)
        .map_err(|e| PageError(AppError::Csv(e), lang))?;
    let filename = format!("dashboard_{}_{}_{}.csv", area.code, table.name, ov_day(&s));
    Ok(crate::download::csv(bytes, &filename, encoding))
}

/// Today in Japan, for file names.
fn ov_day(s: &AppState) -> String {
    vsys_app::clock::japan_date(s.app.clock.now())
        .format("%Y%m%d")
        .to_string()
}

/// Sends the reminders of one cycle; back to the dashboard with a message.
pub async fn remind(
    State(s): State<AppState>,
    u: WebUser,
    Path(cycle): Path<String>,
) -> Result<Response, PageError> {
    vsys_app::dashboard::remind(&s.app, &u.actor, &cycle)
        .await
        .map_err(|e| PageError(e, u.lang))?;
    Ok(done(
        "/dashboard",
        Flash::RemindersSent,
        &format!("#cycle-{cycle}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_both_languages() {
        assert_eq!(DL(Lang::Ja).t(D::Title), "進捗状況");
        assert_eq!(DL(Lang::En).t(D::Title), "Progress");
        let _ = Ui::Home;
    }
}
