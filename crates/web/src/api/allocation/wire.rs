//! What the product, cycle and allocation operations send: the wire types and their
//! conversions from the store's rows (the only place this family touches them).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use vsys_app::allocation::{Division, StoredExplanation};
use vsys_app::rows::NodeRow;
use vsys_app::rows::RequestRow;
use vsys_app::rows::{CycleRow, SupplyRow};
use vsys_app::rows::{PresentationRow, ProductRow, SupplyRulesRow};
use vsys_domain::{Chain, Level, ProductKind, Status, Unit, allocation::Formulas};

/// A stored explanation (JSON text) as its type; none where nothing readable is stored.
fn explanation(stored: Option<&str>) -> Option<StoredExplanation> {
    stored.and_then(|e| serde_json::from_str(e).ok())
}

/// A product master: a vaccine, a needle or a syringe.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductOut {
    /// The product's id (UUIDv7).
    pub id: String,
    pub kind: ProductKind,
    /// The manufacturer (vaccines) or needle/syringe warehouse that maintains the master.
    pub owner_code: String,
    pub name: String,
    /// e.g. `シリンジ(0.1mL×100本)`.
    pub spec: Option<String>,
    /// `ultra_cold` (−90~−60℃), `frozen` (−25~−15℃) or `fridge` (2~8℃); vaccines only.
    pub storage_class: Option<String>,
    /// Days a vial keeps after thawing.
    pub days_after_thaw: Option<i64>,
    /// Transport needs dry ice.
    pub needs_dry_ice: bool,
    /// Needles/syringes per pack.
    pub units_per_pack: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<ProductRow> for ProductOut {
    fn from(p: ProductRow) -> Self {
        ProductOut {
            id: p.id,
            kind: p.kind,
            owner_code: p.owner_code,
            name: p.name,
            spec: p.spec,
            storage_class: p.storage_class,
            days_after_thaw: p.days_after_thaw,
            needs_dry_ice: p.needs_dry_ice,
            units_per_pack: p.units_per_pack,
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

/// A vaccine's presentation from a cycle on (a later change never rewrites earlier cycles).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresentationOut {
    pub product_id: String,
    /// The first cycle number it applies to.
    pub from_cycle: i64,
    pub doses_per_vial: i64,
    pub vials_per_box: i64,
}

impl From<PresentationRow> for PresentationOut {
    fn from(p: PresentationRow) -> Self {
        PresentationOut {
            product_id: p.product_id,
            from_cycle: p.from_cycle,
            doses_per_vial: p.doses_per_vial,
            vials_per_box: p.vials_per_box,
        }
    }
}

/// A product with its presentations over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductDetailOut {
    pub product: ProductOut,
    /// Oldest first.
    pub presentations: Vec<PresentationOut>,
}

/// The nation's supply rules for needles, syringes and dry ice.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupplyRulesOut {
    pub id: String,
    /// Needles per dose × 1000 (1000 = one needle per dose; 1100 = 10 % extra).
    pub needles_per_dose_milli: i64,
    /// Syringes per dose × 1000.
    pub syringes_per_dose_milli: i64,
    /// `up`, `nearest` or `down`: how needle/syringe counts round to whole packs.
    pub pack_rounding: String,
    /// Dry ice per box in transport, grams, for ultra-cold vaccines.
    pub dry_ice_grams_ultra_cold: i64,
    /// Dry ice per box in transport, grams, for frozen vaccines.
    pub dry_ice_grams_frozen: i64,
    pub updated_at: DateTime<Utc>,
    /// The version (`ETag` `"vN"`; `"v-1"` before the rules were first set).
    pub version: i64,
}

impl From<SupplyRulesRow> for SupplyRulesOut {
    fn from(r: SupplyRulesRow) -> Self {
        SupplyRulesOut {
            id: r.id,
            needles_per_dose_milli: r.needles_per_dose_milli,
            syringes_per_dose_milli: r.syringes_per_dose_milli,
            pack_rounding: r.pack_rounding,
            dry_ice_grams_ultra_cold: r.dry_ice_grams_ultra_cold,
            dry_ice_grams_frozen: r.dry_ice_grams_frozen,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// A cycle (クール): one vaccine's two-week allocation round.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CycleOut {
    /// The cycle's id (UUIDv7).
    pub id: String,
    /// Its number (クール010 is 10).
    pub number: i64,
    /// e.g. `ファイザー_クール010`.
    pub name: String,
    pub vaccine_id: String,
    pub needle_id: Option<String>,
    pub syringe_id: Option<String>,
    /// First day of the cycle's period.
    pub period_start: NaiveDate,
    /// Last day of the cycle's period.
    pub period_end: NaiveDate,
    /// When prefectures must have divided.
    pub deadline_prefecture: NaiveDate,
    /// When municipalities must have divided.
    pub deadline_municipality: NaiveDate,
    /// Until when sites report capacity and requests.
    pub deadline_site: NaiveDate,
    pub chain: Chain,
    /// The presentation in force for this cycle (a later change does not rewrite it).
    pub doses_per_vial: i64,
    pub vials_per_box: i64,
    /// The unit sites receive (upper levels always divide boxes).
    pub unit_site: Unit,
    /// The auto-fill formula of each level.
    pub formulas: Formulas,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<CycleRow> for CycleOut {
    fn from(c: CycleRow) -> Self {
        CycleOut {
            id: c.id,
            number: c.number,
            name: c.name,
            vaccine_id: c.vaccine_id,
            needle_id: c.needle_id,
            syringe_id: c.syringe_id,
            period_start: c.period_start,
            period_end: c.period_end,
            deadline_prefecture: c.deadline_prefecture,
            deadline_municipality: c.deadline_municipality,
            deadline_site: c.deadline_site,
            chain: c.chain,
            doses_per_vial: c.doses_per_vial,
            vials_per_box: c.vials_per_box,
            unit_site: c.unit_site,
            formulas: c.formulas,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

/// A supplier's supply of one product for a cycle.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupplyOut {
    pub cycle_id: String,
    /// The manufacturer or warehouse supplying.
    pub supplier_code: String,
    pub product_id: String,
    /// Boxes of vaccine, or packs of needles/syringes.
    pub quantity: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<SupplyRow> for SupplyOut {
    fn from(s: SupplyRow) -> Self {
        SupplyOut {
            cycle_id: s.cycle_id,
            supplier_code: s.supplier_code,
            product_id: s.product_id,
            quantity: s.quantity,
            updated_at: s.updated_at,
        }
    }
}

/// An organisation's allocation node in a cycle, after a change of its state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeOut {
    /// The node's id (UUIDv7).
    pub id: String,
    pub cycle_id: String,
    pub org_code: String,
    /// The parent's node (none for the nation).
    pub parent_id: Option<String>,
    pub level: Level,
    /// The organisation's path, e.g. `/JP/13/`.
    pub path: String,
    /// Vaccine, in vials (exact for boxes and vials alike).
    pub vials: i64,
    pub needles: i64,
    pub syringes: i64,
    pub status: Status,
    /// Whether the owner can see and act on it (the parent finished dividing).
    pub released: bool,
    /// How the amount was computed (none for the nation, or where nothing was divided yet).
    pub explanation: Option<StoredExplanation>,
    pub updated_at: DateTime<Utc>,
    /// The id of the user who changed it last.
    pub updated_by: Option<String>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<NodeRow> for NodeOut {
    fn from(n: NodeRow) -> Self {
        NodeOut {
            explanation: explanation(n.explanation.as_deref()),
            id: n.id,
            cycle_id: n.cycle_id,
            org_code: n.org_code,
            parent_id: n.parent_id,
            level: n.level,
            path: n.path,
            vials: n.vials,
            needles: n.needles,
            syringes: n.syringes,
            status: n.status,
            released: n.released,
            updated_at: n.updated_at,
            updated_by: n.updated_by,
            version: n.version,
        }
    }
}

/// One child's line of a division.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineOut {
    pub org_code: String,
    pub org_name: String,
    /// In the child level's unit (`child_unit`).
    pub amount: i64,
    pub vials: i64,
    pub doses: i64,
    pub needles: i64,
    pub syringes: i64,
    /// The child's state; none until the line is first saved.
    pub status: Option<Status>,
    /// How the amount was computed; none until the line is first saved.
    pub explanation: Option<StoredExplanation>,
    /// The site's reported capacity (接種可能量, doses); none until it reports.
    pub capacity_doses: Option<i64>,
    /// The site's reported request (納品希望量, doses); none until it reports.
    pub requested_doses: Option<i64>,
}

/// An organisation's allocation in a cycle and its division among its children.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DivisionOut {
    pub cycle_id: String,
    pub org_code: String,
    pub status: Status,
    /// The unit of this node's amount.
    pub unit: Unit,
    /// The unit of its children's lines.
    pub child_unit: Unit,
    /// In `unit`.
    pub amount: i64,
    pub vials: i64,
    pub doses: i64,
    pub needles: i64,
    pub syringes: i64,
    /// Vials divided among the children.
    pub allocated_vials: i64,
    /// Vials not divided yet.
    pub remainder_vials: i64,
    /// The same in `child_unit` (rounded down).
    pub remainder: i64,
    /// The division's version (`ETag` `"vN"`).
    pub version: i64,
    /// How this node's amount was computed (none for the nation: its amount is the supply).
    pub explanation: Option<StoredExplanation>,
    pub lines: Vec<LineOut>,
}

impl From<&Division> for DivisionOut {
    fn from(d: &Division) -> Self {
        let pres = vsys_app::allocation::presentation(&d.cycle);
        let unit = vsys_app::allocation::unit_of(&d.cycle, d.node.level);
        DivisionOut {
            cycle_id: d.cycle.id.clone(),
            org_code: d.org.code.clone(),
            status: d.node.status,
            unit,
            child_unit: d.child_unit,
            amount: pres.from_vials_floor(d.node.vials, unit).amount,
            vials: d.node.vials,
            doses: pres.doses(d.node.vials),
            needles: d.node.needles,
            syringes: d.node.syringes,
            allocated_vials: d.allocated_vials,
            remainder_vials: d.remainder_vials(),
            remainder: pres
                .from_vials_floor(d.remainder_vials(), d.child_unit)
                .amount,
            version: d.node.version,
            explanation: explanation(d.node.explanation.as_deref()),
            lines: d
                .children
                .iter()
                .map(|c| {
                    let n: Option<&NodeRow> = c.node.as_ref();
                    let vials = n.map(|n| n.vials).unwrap_or(0);
                    LineOut {
                        org_code: c.org.code.clone(),
                        org_name: c.org.name.clone(),
                        amount: pres.from_vials_floor(vials, d.child_unit).amount,
                        vials,
                        doses: pres.doses(vials),
                        needles: n.map(|n| n.needles).unwrap_or(0),
                        syringes: n.map(|n| n.syringes).unwrap_or(0),
                        status: n.map(|n| n.status),
                        explanation: explanation(n.and_then(|n| n.explanation.as_deref())),
                        capacity_doses: c.request.as_ref().map(|r| r.capacity_doses),
                        requested_doses: c.request.as_ref().map(|r| r.requested_doses),
                    }
                })
                .collect(),
        }
    }
}

/// A site's capacity and request for a cycle (接種可能量・納品希望量).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestOut {
    pub cycle_id: String,
    /// The site.
    pub org_code: String,
    /// 接種可能量: the most doses the site can administer in the cycle.
    pub capacity_doses: i64,
    /// 納品希望量: doses the site asks to receive.
    pub requested_doses: i64,
    /// `dry_ice` or `freezer`.
    pub storage: String,
    pub needles: i64,
    pub syringes: i64,
    pub updated_at: DateTime<Utc>,
    /// The id of the user who reported it last.
    pub updated_by: Option<String>,
    /// The version (`ETag` `"vN"`).
    pub version: i64,
}

impl From<RequestRow> for RequestOut {
    fn from(r: RequestRow) -> Self {
        RequestOut {
            cycle_id: r.cycle_id,
            org_code: r.org_code,
            capacity_doses: r.capacity_doses,
            requested_doses: r.requested_doses,
            storage: r.storage,
            needles: r.needles,
            syringes: r.syringes,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
            version: r.version,
        }
    }
}

super::super::page_type!(CyclePage, CycleOut, "A page of cycles.");
