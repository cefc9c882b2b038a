//! The allocation chain of a cycle: each node is confirmed by its owner, divided among its
//! children (auto-filled by the cycle's formula, then edited), marked 分配完了, and finalised
//! (確定) by the level that closes the chain. Every step is authorised, audited and notified
//! in one transaction; concurrent edits of one division are caught by the parent's version.

use crate::App;
use crate::audit::{Who, record};
use crate::context::Actor;
use crate::error::{AppError, AppResult};
use crate::notices::{NoticeDraft, notify, notify_grouped};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use vsys_domain::allocation::{ChildInput, Explanation, Formula, allocate};
use vsys_domain::chain::{self, Chain, Divider, Level, Refusal, Status, Transition};
use vsys_domain::supplies::{self, PackRounding, SupplyLine, SupplyNote, SupplyPart, SupplyRule};
use vsys_domain::units::{Presentation, Unit};
use vsys_domain::validation::quantity;
use vsys_domain::{Action, Invalid, Msg, OrgKind};
use vsys_store::allocations::{self, NodeRow};
use vsys_store::cycles::{self, CycleRow, SupplyRow};
use vsys_store::orgs::{OrgFilter, OrgRow};
use vsys_store::{Page, StoreError, Tx, orgs, products};

/// The formula a cycle uses to divide into `level`.
pub fn formula_for(cycle: &CycleRow, level: Level) -> Formula {
    cycle.formulas.for_level(level).clone()
}

pub fn presentation(cycle: &CycleRow) -> Presentation {
    Presentation {
        doses_per_vial: cycle.doses_per_vial.max(1) as u32,
        vials_per_box: cycle.vials_per_box.max(1) as u32,
    }
}

/// The unit `level` receives in this cycle: boxes above sites; boxes or vials to sites.
pub fn unit_of(cycle: &CycleRow, level: Level) -> Unit {
    if level == Level::Site && cycle.unit_site == Unit::Vial {
        Unit::Vial
    } else {
        Unit::Box
    }
}

fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::Finalised => AppError::State(Msg::AllocationFinalised),
        Refusal::WrongStatus => AppError::State(Msg::AllocationWrongStatus),
        Refusal::NotReleased => AppError::State(Msg::AllocationNotReleased),
    }
}

/// Keeps the nation's node equal to the cycle's total supply. Refuses a supply below what the
/// nation has already divided.
pub(crate) async fn refresh_root(
    tx: &mut Tx,
    cycle: &CycleRow,
    supply: &[SupplyRow],
    now: DateTime<Utc>,
    by: Option<&str>,
) -> AppResult<()> {
    let mut root = allocations::by_org(tx, &cycle.id, "JP")
        .await?
        .ok_or(AppError::NotFound)?;
    let (mut vials, mut needles, mut syringes) = (0i64, 0i64, 0i64);
    for s in supply {
        if s.product_id == cycle.vaccine_id {
            vials += s.quantity * cycle.vials_per_box;
        } else if let Some(p) = products::get(tx, &s.product_id).await? {
            let pieces = s.quantity * p.units_per_pack.unwrap_or(1);
            if Some(&s.product_id) == cycle.needle_id.as_ref() {
                needles += pieces;
            } else if Some(&s.product_id) == cycle.syringe_id.as_ref() {
                syringes += pieces;
            }
        }
    }
    let kids = allocations::children(tx, &root.id).await?;
    let used = |f: fn(&NodeRow) -> i64| kids.iter().map(f).sum::<i64>();
    if vials < used(|n| n.vials) || needles < used(|n| n.needles) || syringes < used(|n| n.syringes)
    {
        return Err(AppError::invalid("quantity", Msg::AllocationOverParent));
    }
    root.vials = vials;
    root.needles = needles;
    root.syringes = syringes;
    root.updated_at = now;
    root.updated_by = by.map(str::to_owned);
    allocations::write(tx, &root).await?;
    Ok(())
}

/// One child of a division, with its organisation and (once divided) its node.
#[derive(Debug, Clone, Serialize)]
pub struct ChildLine {
    pub org: OrgRow,
    pub node: Option<NodeRow>,
    /// The site's request for the cycle (capacity, 希望量), if it reported one.
    pub request: Option<vsys_store::requests::RequestRow>,
}

/// A node with its children: what a division screen shows.
#[derive(Debug, Clone, Serialize)]
pub struct Division {
    pub cycle: CycleRow,
    pub org: OrgRow,
    pub node: NodeRow,
    pub children: Vec<ChildLine>,
    /// The unit the children receive.
    pub child_unit: Unit,
    pub allocated_vials: i64,
    pub allocated_needles: i64,
    pub allocated_syringes: i64,
    /// How many children have reported their request and capacity for the cycle.
    pub requests_reported: usize,
}

impl Division {
    pub fn remainder_vials(&self) -> i64 {
        self.node.vials - self.allocated_vials
    }
}

/// The organisations a node divides among: prefectures under the nation, municipalities under
/// a prefecture, institutions and municipal sites under a municipality.
async fn child_orgs(tx: &mut Tx, org: &OrgRow, chain: Chain) -> AppResult<Vec<OrgRow>> {
    let kinds: &[&str] = match org.kind {
        OrgKind::Nation => &["prefecture"],
        OrgKind::Prefecture => &["municipality"],
        OrgKind::Municipality if chain.includes_municipal_sites() => &["institution", "site"],
        OrgKind::Municipality => &["institution"],
        _ => &[],
    };
    let mut out = Vec::new();
    for k in kinds {
        let f = OrgFilter {
            scope_path: org.path.clone(),
            kinds: Vec::new(),
            kind: Some((*k).into()),
            parent_code: Some(org.code.clone()),
            q: None,
        };
        out.extend(orgs::list(tx, &f, Page::all()).await?.0);
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(out)
}

/// The path of the organisation above `path` (`/JP/13/13103/` → `/JP/13/`).
fn parent_path(path: &str) -> &str {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(i) => &path[..=i],
        None => path,
    }
}

/// Is the actor the one who divides this node (its owner, or — priority programme,
/// municipality level — the prefecture above it)?
pub fn is_divider(actor: &Actor, cycle: &CycleRow, node: &NodeRow) -> bool {
    match cycle.chain.divider(node.level) {
        Divider::Owner => actor.principal.is_own(&node.path),
        Divider::Parent => actor.principal.is_own(parent_path(&node.path)),
    }
}

/// In the priority programme a municipality's amount is divided among institutions only after
/// the nation has fixed the municipality level.
async fn awaits_nation(tx: &mut Tx, cycle: &CycleRow, node: &NodeRow) -> AppResult<()> {
    if cycle.chain == Chain::Priority && node.level == Level::Municipality {
        let root = allocations::by_org(tx, &cycle.id, "JP")
            .await?
            .ok_or(AppError::NotFound)?;
        if root.status != Status::Final {
            return Err(AppError::State(Msg::AwaitingNation));
        }
    }
    Ok(())
}

/// May the actor finalise at this node? The prefecture closes the chain below it; in the
/// priority programme the nation first fixes the municipality level.
pub fn is_finaliser(actor: &Actor, cycle: &CycleRow, node: &NodeRow) -> bool {
    let level = node.level;
    actor.principal.is_own(&node.path)
        && (level == chain::closing_level(cycle.chain)
            || (cycle.chain == Chain::Priority && level == Level::Nation))
}

/// May the actor see this node? Its owner once released; every organisation above it always.
fn visible(actor: &Actor, node: &NodeRow) -> bool {
    actor.principal.covers(&node.path) && (node.released || !actor.principal.is_own(&node.path))
}

async fn load(
    tx: &mut Tx,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<(CycleRow, OrgRow, NodeRow)> {
    let cycle = cycles::get(tx, cycle_id).await?.ok_or(AppError::NotFound)?;
    let node = allocations::by_org(tx, cycle_id, org_code)
        .await?
        .ok_or(AppError::NotFound)?;
    if !visible(actor, &node) {
        return Err(AppError::NotFound);
    }
    let org = orgs::get(tx, org_code).await?.ok_or(AppError::NotFound)?;
    Ok((cycle, org, node))
}

async fn division_in(
    tx: &mut Tx,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<Division> {
    let (cycle, org, node) = load(tx, actor, cycle_id, org_code).await?;
    let nodes = allocations::children(tx, &node.id).await?;
    let orgs = child_orgs(tx, &org, cycle.chain).await?;
    let codes: Vec<String> = orgs.iter().map(|o| o.code.clone()).collect();
    let mut requests: std::collections::HashMap<String, vsys_store::requests::RequestRow> =
        vsys_store::requests::for_orgs(tx, &cycle.id, &codes)
            .await?
            .into_iter()
            .map(|r| (r.org_code.clone(), r))
            .collect();
    let requests_reported = requests.len();
    let children: Vec<ChildLine> = orgs
        .into_iter()
        .map(|o| {
            let n = nodes.iter().find(|n| n.org_code == o.code).cloned();
            let request = requests.remove(&o.code);
            ChildLine {
                org: o,
                node: n,
                request,
            }
        })
        .collect();
    let child_unit = unit_of(&cycle, node.level.child().unwrap_or(Level::Site));
    Ok(Division {
        allocated_vials: nodes.iter().map(|n| n.vials).sum(),
        allocated_needles: nodes.iter().map(|n| n.needles).sum(),
        allocated_syringes: nodes.iter().map(|n| n.syringes).sum(),
        requests_reported,
        cycle,
        org,
        node,
        children,
        child_unit,
    })
}

/// The caller's own node in a cycle, if it has one it may see (a single lookup, for lists).
pub async fn own_node(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Option<NodeRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    Ok(allocations::by_org(&mut tx, cycle_id, actor.org_code())
        .await?
        .filter(|n| visible(actor, n)))
}

/// Divisions kept in each process's read cache (the nation's, every prefecture's and the
/// busiest municipalities' of the current cycles; a municipality of 2,000 sites is about 2 MB).
pub const CACHED_DIVISIONS: usize = 1_000;

/// A node and its division, for the owner and everyone above it. Served from the process's
/// read cache when nothing a division shows has changed since it was read (the `allocations`
/// counter, read first, so the division read after it is at least as new; see
/// [`crate::read_cache`]); who may see it is checked on every call.
pub async fn division(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<Arc<Division>> {
    actor.require_password_changed()?;
    let key = (cycle_id.to_owned(), org_code.to_owned());
    let d = app
        .divisions
        .through(app, vsys_store::coordination::ALLOCATIONS, key, || async {
            let mut tx = app.db.read().await?;
            division_in(&mut tx, actor, cycle_id, org_code).await
        })
        .await?;
    // A division read by someone else: who may see it is checked for this caller.
    if !visible(actor, &d.node) {
        return Err(AppError::NotFound);
    }
    Ok(d)
}

/// One proposed line of an auto-fill or simulation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProposedLine {
    pub org_code: String,
    pub org_name: String,
    /// In the child level's unit.
    pub amount: i64,
    pub vials: i64,
    pub doses: i64,
    pub needles: i64,
    pub syringes: i64,
    /// What the line holds now (vials), for the side-by-side comparison.
    pub current_vials: i64,
    pub explanation: Explanation,
    /// How the needles and syringes were set, and any shortfall.
    pub supplies: Option<SupplyNote>,
}

fn pieces(p: Option<SupplyPart>) -> i64 {
    p.map(|p| p.pieces).unwrap_or(0)
}

/// An auto-fill or simulation result (never saved by itself).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    /// The child level's unit.
    #[schema(value_type = vsys_domain::Unit)]
    pub unit: String,
    /// The total divided, in the child unit (the parent's amount unless simulated otherwise).
    pub total: i64,
    /// Vials of the parent that do not make a whole unit of the child level.
    pub rounded_off_vials: i64,
    /// Units left with the parent because every child reached its cap.
    pub undistributed: i64,
    pub formula: Formula,
    pub lines: Vec<ProposedLine>,
}

/// The demand inputs of each child. Site demand is read from what sites report: requests and
/// capacity per cycle, and from their stock ledgers stock on hand, doses given in the last two
/// weeks and doses received (summed over the sites below a municipality or prefecture). Until
/// sites report, population (municipalities) or equal shares (sites) are used, and the
/// explanation says so.
async fn inputs(tx: &mut Tx, d: &Division, now: DateTime<Utc>) -> AppResult<Vec<ChildInput>> {
    // Sites' requests and capacity (in doses), converted to the level's unit by rounding down.
    let pres = presentation(&d.cycle);
    let codes: Vec<String> = d.children.iter().map(|c| c.org.code.clone()).collect();
    let reqs = vsys_store::requests::for_orgs(tx, &d.cycle.id, &codes).await?;
    // Every site at or below the children, and the child each belongs to.
    let sites: Vec<(String, usize)> = if d.children.iter().all(|c| c.org.kind.is_site()) {
        codes.iter().cloned().zip(0..).collect()
    } else {
        let f = OrgFilter {
            scope_path: d.org.path.clone(),
            kinds: vec!["institution".into(), "site".into()],
            ..OrgFilter::default()
        };
        let below = orgs::list(tx, &f, Page::all()).await?.0;
        below
            .into_iter()
            .filter_map(|s| {
                d.children
                    .iter()
                    .position(|c| s.path.starts_with(&c.org.path))
                    .map(|i| (s.code, i))
            })
            .collect()
    };
    let site_codes: Vec<String> = sites.iter().map(|s| s.0.clone()).collect();
    let demand = crate::stock::demand(tx, &site_codes, now).await?;
    let n = d.children.len();
    let (mut stock, mut used, mut received) = (vec![None; n], vec![None; n], vec![None; n]);
    for (code, i) in &sites {
        for (map, out) in [
            (&demand.stock, &mut stock),
            (&demand.administered, &mut used),
            (&demand.received, &mut received),
        ] {
            if let Some(v) = map.get(code) {
                *out[*i].get_or_insert(0) += *v;
            }
        }
    }
    Ok(d.children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let r = reqs.iter().find(|r| r.org_code == c.org.code);
            ChildInput {
                code: c.org.code.clone(),
                population: c.org.population,
                requested: r.map(|r| {
                    pres.doses_to_unit_floor(r.requested_doses, d.child_unit)
                        .amount
                }),
                capacity: r.map(|r| {
                    pres.doses_to_unit_floor(r.capacity_doses, d.child_unit)
                        .amount
                }),
                administered: used[i],
                delivered: received[i],
                stock: stock[i]
                    .map(|doses| pres.doses_to_unit_floor(doses.max(0), d.child_unit).amount),
                storage_cap: None,
            }
        })
        .collect())
}

/// The cycle's needle and syringe rules (`None` for a product the cycle does not supply): the
/// nation's supply rules (pieces per dose, rounding to packs) and each product's pack size.
async fn supply_rules(
    tx: &mut Tx,
    cycle: &CycleRow,
) -> AppResult<(Option<SupplyRule>, Option<SupplyRule>)> {
    let rules = products::rules(tx)
        .await?
        .unwrap_or_else(|| crate::products::default_rules(cycle.updated_at));
    let rounding = PackRounding::parse(&rules.pack_rounding);
    let mut out = [None, None];
    for (slot, id, per_dose_milli) in [
        (0, &cycle.needle_id, rules.needles_per_dose_milli),
        (1, &cycle.syringe_id, rules.syringes_per_dose_milli),
    ] {
        if let Some(id) = id {
            let per_pack = products::get(tx, id)
                .await?
                .and_then(|p| p.units_per_pack)
                .unwrap_or(1);
            out[slot] = Some(SupplyRule {
                per_dose_milli,
                per_pack,
                rounding,
            });
        }
    }
    let [needles, syringes] = out;
    Ok((needles, syringes))
}

/// Needles and syringes given explicitly for a line (`None`: follow the doses).
type Given = (Option<i64>, Option<i64>);

/// Needles and syringes of a division's lines, and each line's note: the lines whose `given`
/// count is `None` follow their doses by the one rule of `vsys_domain::supplies::share`, within
/// what the parent has `available` for them; the others keep the count given (and are flagged
/// when it does not cover the doses).
fn supply_notes(
    rules: (Option<SupplyRule>, Option<SupplyRule>),
    available: (i64, i64),
    doses: &[i64],
    given: &[Given],
) -> Vec<SupplyNote> {
    let part = |rule: Option<SupplyRule>, available: i64, pick: fn(&Given) -> Option<i64>| {
        let Some(rule) = rule else {
            return vec![None; doses.len()];
        };
        let derived: Vec<usize> = (0..doses.len())
            .filter(|i| given.get(*i).and_then(pick).is_none())
            .collect();
        let d: Vec<i64> = derived.iter().map(|i| doses[*i]).collect();
        let shared = supplies::share(&rule, &d, available);
        (0..doses.len())
            .map(|i| {
                let (line, is_derived) = match derived.iter().position(|x| *x == i) {
                    Some(k) => (shared.get(k).copied()?, true),
                    None => (
                        SupplyLine::of(given.get(i).and_then(pick)?, rule.need(doses[i])),
                        false,
                    ),
                };
                Some(SupplyPart {
                    pieces: line.pieces,
                    need: line.need,
                    shortfall: line.shortfall,
                    per_pack: rule.pack(),
                    derived: is_derived,
                    rounding: rule.rounding,
                })
            })
            .collect::<Vec<_>>()
    };
    let needles = part(rules.0, available.0, |g| g.0);
    let syringes = part(rules.1, available.1, |g| g.1);
    doses
        .iter()
        .zip(needles.into_iter().zip(syringes))
        .map(|(d, (needles, syringes))| SupplyNote {
            doses: *d,
            needles,
            syringes,
        })
        .collect()
}

async fn propose_in(
    tx: &mut Tx,
    d: &Division,
    formula: &Formula,
    total_vials: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<Proposal> {
    let pres = presentation(&d.cycle);
    let unit = d.child_unit;
    let total_vials = total_vials.unwrap_or(d.node.vials);
    let rounded = pres.from_vials_floor(total_vials, unit);
    let ins = inputs(tx, d, now).await?;
    let alloc = allocate(rounded.amount, &ins, formula);
    let vials: Vec<i64> = alloc
        .lines
        .iter()
        .map(|l| pres.to_vials(l.amount, unit).unwrap_or(0))
        .collect();
    let doses: Vec<i64> = vials.iter().map(|v| pres.doses(*v)).collect();
    let notes = supply_notes(
        supply_rules(tx, &d.cycle).await?,
        (d.node.needles, d.node.syringes),
        &doses,
        &[],
    );
    let lines = alloc
        .lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let child = d.children.iter().find(|c| c.org.code == l.code);
            ProposedLine {
                org_name: child.map(|c| c.org.name.clone()).unwrap_or_default(),
                current_vials: child
                    .and_then(|c| c.node.as_ref())
                    .map(|n| n.vials)
                    .unwrap_or(0),
                org_code: l.code,
                amount: l.amount,
                vials: vials[i],
                doses: doses[i],
                needles: pieces(notes.get(i).and_then(|n| n.needles)),
                syringes: pieces(notes.get(i).and_then(|n| n.syringes)),
                supplies: notes.get(i).copied(),
                explanation: l.explanation,
            }
        })
        .collect();
    Ok(Proposal {
        unit: unit.as_str().into(),
        total: rounded.amount,
        rounded_off_vials: rounded.remainder_vials,
        undistributed: alloc.undistributed,
        formula: formula.clone(),
        lines,
    })
}

/// Runs the division with the cycle's formula, or with other weights or another total
/// (分配シミュレーション), without saving anything.
pub async fn simulate(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    formula: Option<&Formula>,
    total_vials: Option<i64>,
) -> AppResult<Proposal> {
    actor.require_password_changed()?;
    if let Some(t) = total_vials {
        quantity(t).map_err(|m| AppError::invalid("total_vials", m))?;
    }
    let mut tx = app.db.read().await?;
    let d = division_in(&mut tx, actor, cycle_id, org_code).await?;
    let f = formula
        .cloned()
        .unwrap_or_else(|| formula_for(&d.cycle, d.node.level.child().unwrap_or(Level::Site)));
    propose_in(&mut tx, &d, &f, total_vials, app.clock.now()).await
}

/// One line of a division as entered (in the child level's unit).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LineInput {
    /// The child's code.
    pub org_code: String,
    /// In the child level's unit.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub amount: i64,
    /// Needles (pieces); default 0.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub needles: Option<i64>,
    /// Syringes (pieces); default 0.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub syringes: Option<i64>,
}

/// One line of a division as the audit log keeps it: who got how much, before and after a save.
#[derive(Debug, Serialize)]
struct AuditedLine {
    node: String,
    org_code: String,
    vials: i64,
    needles: i64,
    syringes: i64,
}

impl AuditedLine {
    fn of(n: &NodeRow) -> Self {
        AuditedLine {
            node: n.id.clone(),
            org_code: n.org_code.clone(),
            vials: n.vials,
            needles: n.needles,
            syringes: n.syringes,
        }
    }
}

/// The stored explanation of a line: the formula's breakdown and any manual adjustment.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredExplanation {
    /// The auto-fill's breakdown, when the line was auto-filled (or simulated) once.
    pub auto: Option<Explanation>,
    /// Units added (or removed) by hand after the auto-fill.
    pub manual_adjustment: i64,
    /// The line's needles and syringes: how they were set and any shortfall (saved since the
    /// needles followed the doses; absent on older lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplies: Option<SupplyNote>,
}

/// Saves a division (all lines at once), if the node's `version` is still current. The sum
/// never exceeds the node's amount; lines for other organisations, negative amounts and lines
/// below what a child already divided further are refused with row numbers.
pub async fn save_division(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    version: i64,
    lines: &[LineInput],
    auto: Option<&Proposal>,
) -> AppResult<NodeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let d = division_in(&mut tx, actor, cycle_id, org_code).await?;
    if !is_divider(actor, &d.cycle, &d.node) {
        return Err(AppError::Forbidden);
    }
    awaits_nation(&mut tx, &d.cycle, &d.node).await?;
    actor.require(Action::Write, &d.node.path)?;
    chain::apply(d.node.status, d.node.released, Transition::EditDivision).map_err(refusal)?;
    if d.node.version != version {
        return Err(AppError::Conflict);
    }
    let new_version =
        allocations::claim(&mut tx, &d.node.id, version, now, Some(&actor.user_id)).await?;
    let pres = presentation(&d.cycle);
    let child_level = d.node.level.child().ok_or(AppError::Forbidden)?;
    let mut inv = Invalid::default();
    let mut planned: Vec<(usize, &LineInput, i64, &ChildLine)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let row = i + 1;
        let mut err = |field: &str, msg: Msg| {
            let mut e = vsys_domain::FieldError::new(field, msg);
            e.row = Some(row);
            inv.0.push(e);
        };
        let Some(child) = d.children.iter().find(|c| c.org.code == l.org_code.trim()) else {
            err("org_code", Msg::UnknownOrg);
            continue;
        };
        if l.amount < 0 || l.needles.is_some_and(|n| n < 0) || l.syringes.is_some_and(|n| n < 0) {
            err("amount", Msg::NegativeAmount);
            continue;
        }
        let too_large = [
            ("amount", Some(l.amount)),
            ("needles", l.needles),
            ("syringes", l.syringes),
        ]
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| quantity(v).is_err()));
        if let Some((field, _)) = too_large {
            err(field, Msg::NumberOutOfRange);
            continue;
        }
        if planned
            .iter()
            .any(|p| p.1.org_code.trim() == l.org_code.trim())
        {
            err("org_code", Msg::DuplicateLine);
            continue;
        }
        let Some(vials) = pres.to_vials(l.amount, d.child_unit) else {
            err("amount", Msg::InvalidInput);
            continue;
        };
        planned.push((row, l, vials, child));
    }
    // Needles and syringes not given follow the doses, by the one rule of `supplies::share`,
    // within what the parent has left after the lines that were given and the lines left
    // untouched.
    let others = |given: fn(&LineInput) -> Option<i64>, held: fn(&NodeRow) -> i64| -> i64 {
        let given: i64 = planned.iter().filter_map(|p| given(p.1)).sum();
        let untouched: i64 = d
            .children
            .iter()
            .filter(|c| !planned.iter().any(|p| p.3.org.code == c.org.code))
            .filter_map(|c| c.node.as_ref())
            .map(held)
            .sum();
        given + untouched
    };
    let available = (
        d.node.needles - others(|l| l.needles, |n| n.needles),
        d.node.syringes - others(|l| l.syringes, |n| n.syringes),
    );
    let doses: Vec<i64> = planned.iter().map(|p| pres.doses(p.2)).collect();
    let given: Vec<Given> = planned
        .iter()
        .map(|p| (p.1.needles, p.1.syringes))
        .collect();
    let notes = supply_notes(
        supply_rules(&mut tx, &d.cycle).await?,
        available,
        &doses,
        &given,
    );
    let planned: Vec<(usize, LineInput, i64, &ChildLine)> = planned
        .into_iter()
        .enumerate()
        .map(|(i, (row, l, vials, child))| {
            let mut l = l.clone();
            let note = notes.get(i);
            l.needles = l.needles.or(note.and_then(|n| n.needles).map(|p| p.pieces));
            l.syringes = l
                .syringes
                .or(note.and_then(|n| n.syringes).map(|p| p.pieces));
            (row, l, vials, child)
        })
        .collect();
    type Planned<'a> = (usize, LineInput, i64, &'a ChildLine);
    let sum = |f: &dyn Fn(&Planned) -> i64| planned.iter().map(f).sum::<i64>();
    let untouched = |f: fn(&NodeRow) -> i64| {
        d.children
            .iter()
            .filter(|c| !planned.iter().any(|p| p.3.org.code == c.org.code))
            .filter_map(|c| c.node.as_ref())
            .map(f)
            .sum::<i64>()
    };
    let needles_of = |p: &(usize, LineInput, i64, &ChildLine)| p.1.needles.unwrap_or(0);
    let syringes_of = |p: &(usize, LineInput, i64, &ChildLine)| p.1.syringes.unwrap_or(0);
    if sum(&|p| p.2) + untouched(|n| n.vials) > d.node.vials {
        inv.push("amount", Msg::AllocationOverParent);
    }
    if sum(&needles_of) + untouched(|n| n.needles) > d.node.needles {
        inv.push("needles", Msg::AllocationOverParent);
    }
    if sum(&syringes_of) + untouched(|n| n.syringes) > d.node.syringes {
        inv.push("syringes", Msg::AllocationOverParent);
    }
    // A child that already divided its amount further cannot get less than it handed down.
    for p in &planned {
        if let Some(n) = &p.3.node {
            let below = allocations::children(&mut tx, &n.id).await?;
            if below.iter().map(|b| b.vials).sum::<i64>() > p.2 {
                let mut e = vsys_domain::FieldError::new("amount", Msg::BelowChildrenSum);
                e.row = Some(p.0);
                inv.0.push(e);
            }
        }
    }
    inv.into_result()?;
    let who: Who = actor.into();
    let (mut new_nodes, mut changed_nodes) = (Vec::new(), Vec::new());
    let (mut before_lines, mut after_lines) = (Vec::new(), Vec::new());
    for (i, (_, l, vials, child)) in planned.iter().enumerate() {
        let needles = l.needles.unwrap_or(0);
        let syringes = l.syringes.unwrap_or(0);
        let auto_line = auto.and_then(|a| a.lines.iter().find(|x| x.org_code == child.org.code));
        let explanation = StoredExplanation {
            auto: auto_line.map(|a| a.explanation.clone()).or_else(|| {
                child
                    .node
                    .as_ref()
                    .and_then(|n| n.explanation.as_deref())
                    .and_then(|e| serde_json::from_str::<StoredExplanation>(e).ok())
                    .and_then(|e| e.auto)
            }),
            manual_adjustment: 0,
            supplies: notes.get(i).copied(),
        };
        let explanation = StoredExplanation {
            manual_adjustment: explanation
                .auto
                .as_ref()
                .map(|a| l.amount - a.amount)
                .unwrap_or(0),
            ..explanation
        };
        let explanation = serde_json::to_string(&explanation).ok();
        match &child.node {
            Some(n)
                if n.vials == *vials
                    && n.needles == needles
                    && n.syringes == syringes
                    && n.explanation == explanation => {}
            Some(n) => {
                let after = NodeRow {
                    vials: *vials,
                    needles,
                    syringes,
                    explanation,
                    updated_at: now,
                    updated_by: Some(actor.user_id.clone()),
                    ..n.clone()
                };
                before_lines.push(AuditedLine::of(n));
                after_lines.push(AuditedLine::of(&after));
                changed_nodes.push(after);
            }
            None => {
                let n = NodeRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    cycle_id: d.cycle.id.clone(),
                    org_code: child.org.code.clone(),
                    parent_id: Some(d.node.id.clone()),
                    level: child_level,
                    path: child.org.path.clone(),
                    vials: *vials,
                    needles,
                    syringes,
                    status: Status::Unconfirmed,
                    released: false,
                    explanation,
                    updated_at: now,
                    updated_by: Some(actor.user_id.clone()),
                    version: 0,
                };
                after_lines.push(AuditedLine::of(&n));
                new_nodes.push(n);
            }
        }
    }
    allocations::write_many(&mut tx, &changed_nodes).await?;
    match allocations::insert_many(&mut tx, &new_nodes).await {
        Err(StoreError::Unique(_)) => return Err(AppError::Conflict),
        other => other?,
    }
    // One entry per save: the division is the object, its changed lines the content.
    if !after_lines.is_empty() {
        record(
            &mut tx,
            &who,
            now,
            "allocation.division",
            "allocation",
            &d.node.id,
            Some(&before_lines),
            Some(&after_lines),
        )
        .await?;
    }
    tx.commit().await?;
    let mut node = d.node;
    node.version = new_version;
    Ok(node)
}

/// Auto-fills the division with the cycle's formula (or the simulated one) and saves it.
pub async fn apply_autofill(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    version: i64,
    formula: Option<&Formula>,
) -> AppResult<NodeRow> {
    let proposal = simulate(app, actor, cycle_id, org_code, formula, None).await?;
    let lines: Vec<LineInput> = proposal
        .lines
        .iter()
        .map(|l| LineInput {
            org_code: l.org_code.clone(),
            amount: l.amount,
            // Needles and syringes follow the doses in the save, by the same rule.
            needles: None,
            syringes: None,
        })
        .collect();
    save_division(
        app,
        actor,
        cycle_id,
        org_code,
        version,
        &lines,
        Some(&proposal),
    )
    .await
}

fn notice(
    cycle: &CycleRow,
    title_ja: String,
    title_en: String,
    body_ja: String,
    body_en: String,
) -> NoticeDraft {
    NoticeDraft {
        category: "allocation".into(),
        title_ja,
        title_en,
        body_ja,
        body_en,
        link: Some(format!("/allocations/{}", cycle.id)),
    }
}

/// 確認済: the owner confirms what it received.
pub async fn confirm(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<NodeRow> {
    transition(app, actor, cycle_id, org_code, Transition::Confirm).await
}

/// 分配完了: the owner finished dividing; its children see their amounts and are told.
pub async fn finish(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<NodeRow> {
    transition(app, actor, cycle_id, org_code, Transition::FinishDivision).await
}

/// The node a node was divided from (none for the nation's).
async fn parent_of(tx: &mut Tx, node: &NodeRow) -> AppResult<Option<NodeRow>> {
    Ok(match &node.parent_id {
        Some(p) => allocations::get(tx, p).await?,
        None => None,
    })
}

/// Moves a node to `next` on the actor's behalf: claims its version (a concurrent change makes
/// this fail with `Conflict`) and writes the new status.
async fn move_status(
    tx: &mut Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    node: &NodeRow,
    next: Status,
) -> AppResult<NodeRow> {
    let claimed = allocations::claim(tx, &node.id, node.version, now, Some(&actor.user_id)).await?;
    // `write` moves the version once more: the row returned carries the version stored.
    let after = NodeRow {
        status: next,
        updated_at: now,
        updated_by: Some(actor.user_id.clone()),
        version: claimed + 1,
        ..node.clone()
    };
    allocations::write(tx, &after).await?;
    Ok(after)
}

async fn transition(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
    t: Transition,
) -> AppResult<NodeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (cycle, org, node) = load(&mut tx, actor, cycle_id, org_code).await?;
    let allowed = match t {
        Transition::FinishDivision => is_divider(actor, &cycle, &node),
        _ => actor.principal.is_own(&node.path),
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    if t == Transition::FinishDivision {
        awaits_nation(&mut tx, &cycle, &node).await?;
    }
    actor.require(Action::Write, &node.path)?;
    let next = chain::apply(node.status, node.released, t).map_err(refusal)?;
    let after = move_status(&mut tx, actor, now, &node, next).await?;
    let who: Who = actor.into();
    // 分配完了 hands the division down: the children it releases are named in the entry.
    let children = if t == Transition::FinishDivision {
        allocations::children(&mut tx, &node.id).await?
    } else {
        Vec::new()
    };
    #[derive(Serialize)]
    struct Moved<'a> {
        #[serde(flatten)]
        node: &'a NodeRow,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        released: Vec<&'a str>,
    }
    record(
        &mut tx,
        &who,
        now,
        &format!("allocation.{}", next.as_str()),
        "allocation",
        &node.id,
        Some(&node),
        Some(&Moved {
            node: &after,
            released: children
                .iter()
                .filter(|c| !c.released)
                .map(|c| c.org_code.as_str())
                .collect(),
        }),
    )
    .await?;
    // The level above follows its children's progress (the "all municipalities done?" screen).
    if let Some(parent) = parent_of(&mut tx, &node).await? {
        let (ja, en) = match next {
            Status::Confirmed => ("確認済にしました", "confirmed its allocation"),
            _ => ("分配を完了しました", "finished dividing"),
        };
        // One notice per event and cycle for the level above, listing the organisations
        // (not one per organisation: 45 municipalities confirming are one notice).
        let key = format!("allocation.{}:{}", next.as_str(), cycle.id);
        let item = format!("{}（{}）", org.name, org.code);
        let draft = |items: &[String]| {
            let n = items.len();
            let list_ja = items.join("、");
            let list_en = items.join(", ");
            let (title_ja, title_en) = if n == 1 {
                (
                    format!("{} {}が{}", cycle.name, org.name, ja),
                    format!("{}: {} {}", cycle.name, org.name, en),
                )
            } else {
                (
                    format!("{} {n}団体が{}", cycle.name, ja),
                    format!(
                        "{}: {n} organisations {}",
                        cycle.name,
                        en.replace("its", "their")
                    ),
                )
            };
            notice(
                &cycle,
                title_ja,
                title_en,
                format!("{}で次の{n}団体が{}: {list_ja}", cycle.name, ja),
                format!(
                    "In {}, {n} organisation(s) {}: {list_en}",
                    cycle.name,
                    en.replace("its", "their")
                ),
            )
        };
        notify_grouped(
            &mut tx,
            app,
            &who,
            now,
            &parent.org_code,
            &key,
            &item,
            draft,
        )
        .await?;
    }
    if t == Transition::FinishDivision {
        let released: Vec<NodeRow> = children
            .iter()
            .filter(|c| !c.released)
            .map(|c| NodeRow {
                released: true,
                updated_at: now,
                ..c.clone()
            })
            .collect();
        allocations::write_many(&mut tx, &released).await?;
        for child in children {
            let pres = presentation(&cycle);
            let unit = unit_of(&cycle, child.level);
            let amount = pres.from_vials_floor(child.vials, unit).amount;
            let d = notice(
                &cycle,
                format!("{} 分配量のお知らせ", cycle.name),
                format!("{}: your allocation", cycle.name),
                format!(
                    "{}の分配量が届きました（{}{}、{}回接種分）。分配の画面で量を確かめ、担当者・管理者は「確認済にする」を押してください。",
                    cycle.name,
                    amount,
                    unit.label(vsys_domain::Lang::Ja),
                    pres.doses(child.vials)
                ),
                format!(
                    "Your allocation of {} has arrived ({} {}, {} doses). Check it on the allocation page; an operator or administrator presses \"Mark confirmed\".",
                    cycle.name,
                    amount,
                    unit.label(vsys_domain::Lang::En),
                    pres.doses(child.vials)
                ),
            );
            notify(&mut tx, app, &who, now, &child.org_code, None, &d).await?;
        }
    }
    tx.commit().await?;
    Ok(after)
}

/// A parent sends a child's finished division back to be redone (before 確定).
pub async fn send_back(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    child_org: &str,
) -> AppResult<NodeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (cycle, _org, child) = load(&mut tx, actor, cycle_id, child_org).await?;
    let parent = match &child.parent_id {
        Some(p) => allocations::get(&mut tx, p)
            .await?
            .ok_or(AppError::NotFound)?,
        None => return Err(AppError::Forbidden),
    };
    if !actor.principal.is_own(&parent.path) {
        return Err(AppError::Forbidden);
    }
    actor.require(Action::Write, &parent.path)?;
    if parent.status == Status::Final {
        return Err(AppError::State(Msg::AllocationFinalised));
    }
    let next = chain::apply(child.status, child.released, Transition::SendBack).map_err(refusal)?;
    let claimed =
        allocations::claim(&mut tx, &child.id, child.version, now, Some(&actor.user_id)).await?;
    let after = NodeRow {
        status: next,
        updated_at: now,
        version: claimed + 1,
        ..child.clone()
    };
    allocations::write(&mut tx, &after).await?;
    let who: Who = actor.into();
    record(
        &mut tx,
        &who,
        now,
        "allocation.send_back",
        "allocation",
        &child.id,
        Some(&child),
        Some(&after),
    )
    .await?;
    let d = notice(
        &cycle,
        format!("{} 分配の差し戻し", cycle.name),
        format!("{}: division sent back", cycle.name),
        format!(
            "{}の分配が差し戻されました。分配量を見直して、もう一度「分配完了」にしてください。",
            cycle.name
        ),
        format!(
            "Your division of {} was sent back. Please review it and mark it divided again.",
            cycle.name
        ),
    );
    notify(&mut tx, app, &who, now, &child.org_code, None, &d).await?;
    tx.commit().await?;
    Ok(after)
}

/// The owner (the divider) takes its 分配完了 back — a mistake seen at once — while every
/// child is still 未確認. The node returns to 確認済, its children are no longer handed down
/// (they are told the amounts will be revised), and the level above is told. Before
/// 確定 only; the nation has no other way back, as nobody sends its division back.
pub async fn withdraw(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<NodeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let (cycle, org, node) = load(&mut tx, actor, cycle_id, org_code).await?;
    if !is_divider(actor, &cycle, &node) {
        return Err(AppError::Forbidden);
    }
    actor.require(Action::Write, &node.path)?;
    let next = chain::apply(node.status, node.released, Transition::Withdraw).map_err(refusal)?;
    let children = allocations::children(&mut tx, &node.id).await?;
    if !chain::may_withdraw(children.iter().map(|c| c.status)) {
        return Err(AppError::invalid("status", Msg::WithdrawAfterChildActed));
    }
    let after = move_status(&mut tx, actor, now, &node, next).await?;
    let mut held_back = Vec::new();
    let mut held = Vec::new();
    for child in children.into_iter().filter(|c| c.released) {
        held.push(NodeRow {
            released: false,
            updated_at: now,
            ..child.clone()
        });
        held_back.push(child.org_code);
    }
    allocations::write_many(&mut tx, &held).await?;
    let who: Who = actor.into();
    #[derive(Serialize)]
    struct Withdrawn<'a> {
        node: &'a NodeRow,
        /// The children no longer handed down.
        held_back: &'a [String],
    }
    record(
        &mut tx,
        &who,
        now,
        "allocation.withdraw",
        "allocation",
        &node.id,
        Some(&node),
        Some(&Withdrawn {
            node: &after,
            held_back: &held_back,
        }),
    )
    .await?;
    let told = notice(
        &cycle,
        format!("{} 分配量の見直し", cycle.name),
        format!("{}: allocation under revision", cycle.name),
        format!(
            "{}の{}（{}）が分配完了を取り消しました。分配量は見直し後に改めてお知らせします。",
            cycle.name, org.name, org.code
        ),
        format!(
            "In {}, {} ({}) withdrew its finished division. The amounts will be announced again after revision.",
            cycle.name, org.name, org.code
        ),
    );
    for code in &held_back {
        notify(&mut tx, app, &who, now, code, None, &told).await?;
    }
    if let Some(parent) = parent_of(&mut tx, &node).await? {
        notify(&mut tx, app, &who, now, &parent.org_code, None, &told).await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// 確定: the closing level (the prefecture, in the standard chain) finalises once every
/// municipality below it has finished dividing. Nothing below changes afterwards.
pub async fn finalise(
    app: &App,
    actor: &Actor,
    cycle_id: &str,
    org_code: &str,
) -> AppResult<NodeRow> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let d = division_in(&mut tx, actor, cycle_id, org_code).await?;
    if !is_finaliser(actor, &d.cycle, &d.node) {
        return Err(AppError::Forbidden);
    }
    actor.require(Action::Write, &d.node.path)?;
    chain::apply(d.node.status, d.node.released, Transition::Finalise).map_err(refusal)?;
    let priority = d.cycle.chain == Chain::Priority;
    if priority && d.node.level == Level::Prefecture {
        // The municipality level must have been fixed by the nation first.
        let root = allocations::by_org(&mut tx, cycle_id, "JP")
            .await?
            .ok_or(AppError::NotFound)?;
        if root.status != Status::Final {
            return Err(AppError::State(Msg::AwaitingNation));
        }
    }
    let pending: Vec<&ChildLine> = d
        .children
        .iter()
        .filter(|c| {
            c.node.as_ref().is_some_and(|n| {
                n.vials > 0 && n.status != Status::Divided && n.level != Level::Site
            })
        })
        .collect();
    if !pending.is_empty() {
        let mut inv = Invalid::default();
        for p in pending {
            inv.0.push(vsys_domain::FieldError::new(
                &p.org.code,
                Msg::ChildrenNotDivided,
            ));
        }
        return Err(AppError::Invalid(inv));
    }
    let claimed = allocations::claim(
        &mut tx,
        &d.node.id,
        d.node.version,
        now,
        Some(&actor.user_id),
    )
    .await?;
    let who: Who = actor.into();
    if priority && d.node.level == Level::Nation {
        // Priority programme: the nation fixes the municipality level. Each municipality's
        // amount is handed to its prefecture, which now divides it among institutions.
        let handed: Vec<NodeRow> = allocations::subtree(&mut tx, cycle_id, &d.node.path)
            .await?
            .into_iter()
            .filter(|n| n.level == Level::Municipality && n.status == Status::Unconfirmed)
            .map(|n| NodeRow {
                status: Status::Confirmed,
                released: true,
                updated_at: now,
                ..n
            })
            .collect();
        allocations::write_many(&mut tx, &handed).await?;
        let fixed = handed.len();
        let after = NodeRow {
            status: Status::Final,
            updated_at: now,
            version: claimed + 1,
            ..d.node.clone()
        };
        allocations::write(&mut tx, &after).await?;
        record(
            &mut tx,
            &who,
            now,
            "allocation.municipality_level_final",
            "allocation",
            &d.node.id,
            Some(&d.node),
            Some(&serde_json::json!({"municipalities": fixed})),
        )
        .await?;
        for c in d
            .children
            .iter()
            .filter(|c| c.node.as_ref().is_some_and(|n| n.vials > 0))
        {
            let dr = notice(
                &d.cycle,
                format!("{} 市町村単位の分配量確定のお知らせ", d.cycle.name),
                format!("{}: municipality amounts final", d.cycle.name),
                format!(
                    "{}の市町村単位の分配量が国により確定しました。医療機関への分配量を登録し、確定してください。",
                    d.cycle.name
                ),
                format!(
                    "The nation finalised the municipality amounts of {}. Please allocate to institutions and finalise.",
                    d.cycle.name
                ),
            );
            notify(&mut tx, app, &who, now, &c.org.code, None, &dr).await?;
        }
        tx.commit().await?;
        let mut tx = app.db.read().await?;
        return allocations::get(&mut tx, &d.node.id)
            .await?
            .ok_or(AppError::NotFound);
    }
    let changed =
        allocations::set_status_under(&mut tx, cycle_id, &d.node.path, Status::Final.as_str(), now)
            .await?;
    record(
        &mut tx,
        &who,
        now,
        "allocation.final",
        "allocation",
        &d.node.id,
        Some(&d.node),
        Some(&serde_json::json!({"nodes_finalised": changed})),
    )
    .await?;
    let finalised = allocations::subtree(&mut tx, cycle_id, &d.node.path).await?;
    crate::delivery::create_for_final(&mut tx, app, &who, now, &d.cycle, &finalised).await?;
    for n in finalised {
        if n.id == d.node.id || n.vials == 0 {
            continue;
        }
        let pres = presentation(&d.cycle);
        let dr = notice(
            &d.cycle,
            format!("{} 分配量確定のお知らせ", d.cycle.name),
            format!("{}: allocation finalised", d.cycle.name),
            format!(
                "{}の分配量が確定しました（{}回接種分）。卸業者からの配送予定日をお待ちください。",
                d.cycle.name,
                pres.doses(n.vials)
            ),
            format!(
                "The allocation of {} is final ({} doses). Delivery dates will follow from the wholesaler.",
                d.cycle.name,
                pres.doses(n.vials)
            ),
        );
        notify(&mut tx, app, &who, now, &n.org_code, None, &dr).await?;
    }
    tx.commit().await?;
    let mut tx = app.db.read().await?;
    allocations::get(&mut tx, &d.node.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The nodes an organisation may act on in a cycle (its own), or sees (below it).
pub async fn nodes_in_scope(app: &App, actor: &Actor, cycle_id: &str) -> AppResult<Vec<NodeRow>> {
    actor.require_password_changed()?;
    let mut tx = app.db.read().await?;
    let all = allocations::subtree(&mut tx, cycle_id, &actor.principal.org_path).await?;
    Ok(all.into_iter().filter(|n| visible(actor, n)).collect())
}
