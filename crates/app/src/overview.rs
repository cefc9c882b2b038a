//! The figures of the dashboard (DashBoard) of the nation, a prefecture or a municipality, and
//! of the areas below it: vaccinations and coverage, supply and stock, deliveries. Read from
//! the rollups (`vsys_store::rollups`) and the newest cycles' allocation nodes, never by
//! scanning the raw rows of results or ledger: the nation's page reads at most 47 rows per day.

use crate::App;
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::master_data::{Residents, residents_of};
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeMap, HashMap};
use vsys_domain::ledger::{EntryKind, days_of_supply};
use vsys_domain::{Action, Capability, OrgKind};
use vsys_store::Page;
use vsys_store::cycles::CycleRow;
use vsys_store::orgs::{self, OrgRow};
use vsys_store::rollups::{self, prefecture_of};
use vsys_store::{Tx, allocations, ledger, requests, results};

/// Days in the daily chart (ending today in Japan).
pub const DAYS_SHOWN: i64 = 28;

/// The window over which days of supply are computed (doses given per day).
pub const SUPPLY_WINDOW_DAYS: i64 = 14;

/// How many of the newest cycles the deliveries panel looks at.
const DELIVERY_CYCLES: usize = 2;

/// One day of an area's vaccinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayDoses {
    pub day: NaiveDate,
    pub doses: i64,
    pub elderly: i64,
    pub wasted_vials: i64,
    /// Doses given up to and including this day.
    pub cumulative: i64,
}

/// An area's (or a site's) doses against its residents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub code: String,
    pub name: String,
    pub doses: i64,
    pub elderly_doses: i64,
    pub wasted_vials: i64,
    pub reports: i64,
    pub residents: Residents,
    /// The newest day with results.
    pub newest_day: Option<NaiveDate>,
}

impl Coverage {
    /// Doses per 100 residents.
    pub fn per_100(&self) -> Option<f64> {
        ratio(self.doses, self.residents.total).map(|r| r * 100.0)
    }

    /// Doses to the elderly per 100 residents aged 65 and over.
    pub fn elderly_per_100(&self) -> Option<f64> {
        ratio(self.elderly_doses, self.residents.aged_65_plus).map(|r| r * 100.0)
    }
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The vaccinations panel.
#[derive(Debug, Clone, Default)]
pub struct Vaccinations {
    /// The last [`DAYS_SHOWN`] days, oldest first (days without results count 0).
    pub days: Vec<DayDoses>,
    /// The whole area, all days.
    pub total: Coverage,
    /// The areas below (prefectures or municipalities), by code; a municipality's own row.
    pub below: Vec<Coverage>,
    /// Wasted doses ÷ (given + wasted), from the stock ledger.
    pub wastage_rate: Option<f64>,
}

/// One line of the supply panel: an area below (or a site).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplyRow {
    pub code: String,
    pub name: String,
    /// Allocated in the panel's cycle.
    pub allocated_vials: i64,
    pub allocated_doses: i64,
    /// Requested (希望量) and capacity (接種可能量) in the panel's cycle.
    pub requested_doses: i64,
    pub capacity_doses: i64,
    /// All cycles, from the stock ledger.
    pub delivered_doses: i64,
    pub administered_doses: i64,
    pub wasted_doses: i64,
    pub stock_doses: i64,
    pub administered_in_window: i64,
    pub days_of_supply: Option<i64>,
}

impl SupplyRow {
    fn add(&mut self, o: &SupplyRow) {
        self.allocated_vials += o.allocated_vials;
        self.allocated_doses += o.allocated_doses;
        self.requested_doses += o.requested_doses;
        self.capacity_doses += o.capacity_doses;
        self.delivered_doses += o.delivered_doses;
        self.administered_doses += o.administered_doses;
        self.wasted_doses += o.wasted_doses;
        self.stock_doses += o.stock_doses;
        self.administered_in_window += o.administered_in_window;
    }

    /// Boxes of the allocation (whole boxes and the vials over).
    pub fn allocated_boxes(&self, vials_per_box: i64) -> (i64, i64) {
        if vials_per_box <= 0 {
            return (0, self.allocated_vials);
        }
        (
            self.allocated_vials / vials_per_box,
            self.allocated_vials % vials_per_box,
        )
    }
}

/// The supply and stock panel.
#[derive(Debug, Clone, Default)]
pub struct Supply {
    /// The newest cycle the area takes part in (allocated, requested).
    pub cycle: Option<CycleRow>,
    pub rows: Vec<SupplyRow>,
    pub total: SupplyRow,
    /// The newest day with stock movements.
    pub newest_day: Option<NaiveDate>,
}

/// Delivery lines of a deliverer or an area in one cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCount {
    pub code: String,
    pub name: String,
    pub lines: i64,
    pub delivered: i64,
    /// No 納入予定日 yet (and not delivered).
    pub unscheduled: i64,
    /// 納入予定日 before today and not delivered.
    pub late: i64,
}

impl DeliveryCount {
    fn add(&mut self, f: &rollups::DeliveryFigures, planned: Option<NaiveDate>, today: NaiveDate) {
        let open = f.lines - f.delivered;
        self.lines += f.lines;
        self.delivered += f.delivered;
        match planned {
            None => self.unscheduled += open,
            Some(d) if d < today => self.late += open,
            Some(_) => {}
        }
    }
}

/// The deliveries of one cycle.
#[derive(Debug, Clone)]
pub struct DeliveryPanel {
    pub cycle: CycleRow,
    pub by_deliverer: Vec<DeliveryCount>,
    pub by_area: Vec<DeliveryCount>,
    pub total: DeliveryCount,
}

/// Everything the dashboard shows of one area.
#[derive(Debug, Clone)]
pub struct Overview {
    pub area: OrgRow,
    /// The area above, when the caller may look at it (to go back up).
    pub up: Option<OrgRow>,
    pub today: NaiveDate,
    pub vaccinations: Vaccinations,
    pub supply: Supply,
    pub deliveries: Vec<DeliveryPanel>,
}

/// The rollups' area of an organisation: `""` for the nation, else its code (a prefecture's
/// two digits, a municipality's five).
pub fn rollup_area(org: &OrgRow) -> String {
    match org.kind {
        OrgKind::Nation => String::new(),
        _ => org.code.clone(),
    }
}

/// The area the caller looks at: its own organisation, or `code` — a prefecture or
/// municipality inside its scope.
pub async fn area(app: &App, actor: &Actor, code: Option<&str>) -> AppResult<OrgRow> {
    actor.require_can(Capability::OverseeArea)?;
    let code = code
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(actor.org_code());
    let mut tx = app.db.read().await?;
    let org = orgs::get(&mut tx, code).await?.ok_or(AppError::NotFound)?;
    if !matches!(
        org.kind,
        OrgKind::Nation | OrgKind::Prefecture | OrgKind::Municipality
    ) || !actor.principal().may(Action::Read, &org.path)
    {
        // Outside the caller's scope is not there.
        return Err(AppError::NotFound);
    }
    Ok(org)
}

/// The areas directly below `area` (prefectures of the nation, municipalities of a
/// prefecture); none below a municipality (its sites are listed by the panels themselves).
async fn areas_below(tx: &mut Tx, area: &OrgRow) -> AppResult<Vec<OrgRow>> {
    let kind = match area.kind {
        OrgKind::Nation => OrgKind::Prefecture,
        OrgKind::Prefecture => OrgKind::Municipality,
        _ => return Ok(Vec::new()),
    };
    let (rows, _) = orgs::list(
        tx,
        &orgs::OrgFilter {
            scope_path: area.path.clone(),
            kind: Some(kind.as_str().into()),
            ..Default::default()
        },
        Page::all(),
    )
    .await?;
    let mut rows: Vec<OrgRow> = rows
        .into_iter()
        .filter(|o| o.parent_code.as_deref() == Some(area.code.as_str()))
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(rows)
}

/// The dashboard's figures of `area` (see [`area`]) on `today`.
pub async fn overview(app: &App, actor: &Actor, area: &OrgRow) -> AppResult<Overview> {
    actor.require_can(Capability::OverseeArea)?;
    if !actor.principal().may(Action::Read, &area.path) {
        return Err(AppError::NotFound);
    }
    let today = crate::clock::japan_date(app.clock.now());
    let cycles = newest_cycles(app, actor).await?;
    let mut tx = app.db.read().await?;
    let below = areas_below(&mut tx, area).await?;
    let up = match &area.parent_code {
        Some(p) if area.code != actor.org_code() => orgs::get(&mut tx, p)
            .await?
            .filter(|o| actor.principal().may(Action::Read, &o.path)),
        _ => None,
    };
    let vaccinations = vaccinations(&mut tx, area, &below, today).await?;
    let supply = supply(&mut tx, area, &below, &cycles, today).await?;
    let deliveries = deliveries(&mut tx, area, &below, &cycles, today).await?;
    drop(tx);
    let mut vaccinations = vaccinations;
    vaccinations.wastage_rate = {
        let t = &supply.total;
        ratio(t.wasted_doses, t.administered_doses + t.wasted_doses)
    };
    Ok(Overview {
        area: area.clone(),
        up,
        today,
        vaccinations,
        supply,
        deliveries,
    })
}

/// The newest cycles the caller sees, newest first.
async fn newest_cycles(app: &App, actor: &Actor) -> AppResult<Vec<CycleRow>> {
    Ok(crate::cycles::list(
        app,
        actor,
        Page {
            page: 1,
            per_page: crate::dashboard::CYCLES_SHOWN,
        },
    )
    .await?
    .0)
}

/// The code of the area below `area` that a municipality belongs to (the municipality itself
/// for a prefecture's or municipality's view, its prefecture for the nation's).
fn area_of(area: &OrgRow, municipality: &str) -> String {
    match area.kind {
        OrgKind::Nation => prefecture_of(municipality).to_owned(),
        _ => municipality.to_owned(),
    }
}

/// Rows for the areas below (or the area itself for a municipality), in code order.
fn rows_for<T: Default>(
    area: &OrgRow,
    below: &[OrgRow],
    make: impl Fn(&OrgRow) -> T,
) -> BTreeMap<String, T> {
    if below.is_empty() {
        return BTreeMap::from([(area.code.clone(), make(area))]);
    }
    below.iter().map(|o| (o.code.clone(), make(o))).collect()
}

async fn vaccinations(
    tx: &mut Tx,
    area: &OrgRow,
    below: &[OrgRow],
    today: NaiveDate,
) -> AppResult<Vaccinations> {
    let code = rollup_area(area);
    let rows = rollups::results_below(tx, &code, None).await?;
    let first = today - Duration::days(DAYS_SHOWN - 1);
    let mut by_day: BTreeMap<NaiveDate, DayDoses> = BTreeMap::new();
    let mut per_area = rows_for(area, below, |o| Coverage {
        code: o.code.clone(),
        name: o.name.clone(),
        residents: residents_of(&rollup_area(o)),
        ..Coverage::default()
    });
    let mut total = Coverage {
        code: area.code.clone(),
        name: area.name.clone(),
        residents: residents_of(&code),
        ..Coverage::default()
    };
    for r in &rows {
        let d = by_day.entry(r.day).or_insert_with(|| DayDoses {
            day: r.day,
            ..DayDoses::default()
        });
        d.doses += r.f.total;
        d.elderly += r.f.elderly;
        d.wasted_vials += r.f.wasted_vials;
        for c in [per_area.get_mut(&area_of(area, &r.area)), Some(&mut total)]
            .into_iter()
            .flatten()
        {
            c.doses += r.f.total;
            c.elderly_doses += r.f.elderly;
            c.wasted_vials += r.f.wasted_vials;
            c.reports += r.f.reports;
            if r.f.reports > 0 {
                c.newest_day = c.newest_day.max(Some(r.day));
            }
        }
    }
    let mut cumulative = by_day.range(..first).map(|(_, d)| d.doses).sum::<i64>();
    let days = (0..DAYS_SHOWN)
        .map(|i| {
            let day = first + Duration::days(i);
            let d = by_day.get(&day).cloned().unwrap_or(DayDoses {
                day,
                ..DayDoses::default()
            });
            cumulative += d.doses;
            DayDoses { cumulative, ..d }
        })
        .collect();
    Ok(Vaccinations {
        days,
        total,
        below: per_area.into_values().collect(),
        wastage_rate: None,
    })
}

/// Adds one area's stock movements (signed doses per kind) to its supply line.
fn add_movements(row: &mut SupplyRow, kind: &str, doses: i64) {
    row.stock_doses += doses;
    match EntryKind::parse(kind) {
        Some(EntryKind::Delivered) => row.delivered_doses += doses,
        Some(EntryKind::Administered) => row.administered_doses -= doses,
        Some(EntryKind::Wasted) => row.wasted_doses -= doses,
        _ => {}
    }
}

async fn supply(
    tx: &mut Tx,
    area: &OrgRow,
    below: &[OrgRow],
    cycles: &[CycleRow],
    today: NaiveDate,
) -> AppResult<Supply> {
    let code = rollup_area(area);
    let site_level = area.kind == OrgKind::Municipality;
    // The newest cycle the area has a part in, and its nodes below.
    let mut cycle = None;
    let mut children = Vec::new();
    for c in cycles {
        if let Some(node) = allocations::by_org(tx, &c.id, &area.code).await? {
            children = allocations::children(tx, &node.id).await?;
            cycle = Some(c.clone());
            break;
        }
    }
    let sites: Vec<OrgRow> = if site_level {
        let codes: Vec<String> = children.iter().map(|n| n.org_code.clone()).collect();
        let mut s = orgs::get_many(tx, &codes).await?;
        s.sort_by(|a, b| a.code.cmp(&b.code));
        s
    } else {
        Vec::new()
    };
    let mut rows = if site_level {
        sites
            .iter()
            .map(|o| {
                (
                    o.code.clone(),
                    SupplyRow {
                        code: o.code.clone(),
                        name: o.name.clone(),
                        ..SupplyRow::default()
                    },
                )
            })
            .collect()
    } else {
        rows_for(area, below, |o| SupplyRow {
            code: o.code.clone(),
            name: o.name.clone(),
            ..SupplyRow::default()
        })
    };
    let dpv = cycle.as_ref().map(|c| c.doses_per_vial).unwrap_or(0);
    for n in &children {
        if let Some(r) = rows.get_mut(&n.org_code) {
            r.allocated_vials += n.vials;
            r.allocated_doses += n.vials * dpv;
        }
    }
    let window_from = today - Duration::days(SUPPLY_WINDOW_DAYS - 1);
    let mut newest_day = None;
    if site_level {
        let codes: Vec<String> = rows.keys().cloned().collect();
        if let Some(c) = &cycle {
            for r in requests::for_orgs(tx, &c.id, &codes).await? {
                if let Some(row) = rows.get_mut(&r.org_code) {
                    row.requested_doses += r.requested_doses;
                    row.capacity_doses += r.capacity_doses;
                }
            }
        }
        for kind in [
            EntryKind::Delivered,
            EntryKind::Administered,
            EntryKind::Wasted,
        ] {
            for (org, doses) in ledger::sum_doses(tx, &codes, &[kind.as_str()]).await? {
                if let Some(row) = rows.get_mut(&org) {
                    add_movements(row, kind.as_str(), doses);
                    // Stock is every entry's sum, below.
                    row.stock_doses -= doses;
                }
            }
        }
        for (org, doses) in ledger::doses_by_org(tx, &codes).await? {
            if let Some(row) = rows.get_mut(&org) {
                row.stock_doses += doses;
            }
        }
        for (org, n) in results::administered_by_org(tx, &codes, window_from, today).await? {
            if let Some(row) = rows.get_mut(&org) {
                row.administered_in_window += n;
            }
        }
    } else {
        if let Some(c) = &cycle {
            for (m, requested, capacity) in
                requests::requested_by_municipality(tx, &c.id, &area.path).await?
            {
                if let Some(row) = rows.get_mut(&area_of(area, &m)) {
                    row.requested_doses += requested;
                    row.capacity_doses += capacity;
                }
            }
        }
        for s in rollups::stock_below(tx, &code, None).await? {
            if let Some(row) = rows.get_mut(&area_of(area, &s.area)) {
                add_movements(row, &s.kind, s.f.doses);
            }
        }
        for s in rollups::stock_below(tx, &code, Some(window_from)).await? {
            if EntryKind::parse(&s.kind) == Some(EntryKind::Administered)
                && let Some(row) = rows.get_mut(&area_of(area, &s.area))
            {
                row.administered_in_window -= s.f.doses;
            }
        }
    }
    if let Some(d) = rollups::newest_stock_day(tx, &code).await? {
        newest_day = Some(d);
    }
    let mut total = SupplyRow {
        code: area.code.clone(),
        name: area.name.clone(),
        ..SupplyRow::default()
    };
    let mut rows: Vec<SupplyRow> = rows.into_values().collect();
    for r in &mut rows {
        r.days_of_supply =
            days_of_supply(r.stock_doses, r.administered_in_window, SUPPLY_WINDOW_DAYS);
        total.add(r);
    }
    total.days_of_supply = days_of_supply(
        total.stock_doses,
        total.administered_in_window,
        SUPPLY_WINDOW_DAYS,
    );
    Ok(Supply {
        cycle,
        rows,
        total,
        newest_day,
    })
}

async fn deliveries(
    tx: &mut Tx,
    area: &OrgRow,
    below: &[OrgRow],
    cycles: &[CycleRow],
    today: NaiveDate,
) -> AppResult<Vec<DeliveryPanel>> {
    let code = rollup_area(area);
    let mut out = Vec::new();
    for c in cycles {
        if out.len() >= DELIVERY_CYCLES {
            break;
        }
        let lines = rollups::deliveries_below(tx, &c.id, &code).await?;
        if lines.is_empty() {
            continue;
        }
        let mut by_area = rows_for(area, below, |o| DeliveryCount {
            code: o.code.clone(),
            name: o.name.clone(),
            ..DeliveryCount::default()
        });
        let mut by_deliverer: BTreeMap<String, DeliveryCount> = BTreeMap::new();
        let mut total = DeliveryCount {
            code: area.code.clone(),
            name: area.name.clone(),
            ..DeliveryCount::default()
        };
        for ((_, deliverer, municipality, planned), f) in &lines {
            total.add(f, *planned, today);
            by_deliverer
                .entry(deliverer.clone())
                .or_insert_with(|| DeliveryCount {
                    code: deliverer.clone(),
                    ..DeliveryCount::default()
                })
                .add(f, *planned, today);
            if let Some(a) = by_area.get_mut(&area_of(area, municipality)) {
                a.add(f, *planned, today);
            }
        }
        let codes: Vec<String> = by_deliverer.keys().cloned().collect();
        let names: HashMap<String, String> = orgs::get_many(tx, &codes)
            .await?
            .into_iter()
            .map(|o| (o.code, o.name))
            .collect();
        let by_deliverer = by_deliverer
            .into_values()
            .map(|mut d| {
                d.name = names
                    .get(&d.code)
                    .cloned()
                    .unwrap_or_else(|| d.code.clone());
                d
            })
            .collect();
        out.push(DeliveryPanel {
            cycle: c.clone(),
            by_deliverer,
            by_area: by_area.into_values().filter(|a| a.lines > 0).collect(),
            total,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_and_unscheduled_lines_are_the_open_ones() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap_or_default();
        let f = rollups::DeliveryFigures {
            lines: 5,
            delivered: 2,
        };
        let mut c = DeliveryCount::default();
        c.add(&f, None, today);
        c.add(&f, Some(today - Duration::days(1)), today);
        c.add(&f, Some(today), today);
        assert_eq!((c.lines, c.delivered, c.unscheduled, c.late), (15, 6, 3, 3));
    }

    #[test]
    fn coverage_per_residents() {
        let c = Coverage {
            doses: 50,
            elderly_doses: 30,
            residents: Residents {
                total: 200,
                aged_65_plus: 60,
            },
            ..Coverage::default()
        };
        assert_eq!(c.per_100(), Some(25.0));
        assert_eq!(c.elderly_per_100(), Some(50.0));
        assert_eq!(Coverage::default().per_100(), None);
    }

    #[test]
    fn movements_by_kind() {
        let mut r = SupplyRow::default();
        add_movements(&mut r, "delivered", 600);
        add_movements(&mut r, "administered", -100);
        add_movements(&mut r, "wasted", -5);
        add_movements(&mut r, "transfer_out", -60);
        assert_eq!(
            (
                r.delivered_doses,
                r.administered_doses,
                r.wasted_doses,
                r.stock_doses
            ),
            (600, 100, 5, 435)
        );
        let (boxes, vials) = SupplyRow {
            allocated_vials: 401,
            ..SupplyRow::default()
        }
        .allocated_boxes(195);
        assert_eq!((boxes, vials), (2, 11));
    }
}
