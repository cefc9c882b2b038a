//! The auto-fill formula (自動按分): how a parent's amount is divided among its children.
//!
//! Pure: no I/O, no clock. Every amount is in the allocation unit of the level being divided
//! (boxes or vials, see [`crate::units`]); the caller converts requests and capacities, which
//! sites give in doses, by rounding down before calling [`allocate`].
//!
//! # The steps
//!
//! 1. **Pools.** The total is split into one pool per quota by the [`Weights`], in whole units,
//!    by largest remainder (ties go to the quota listed first in [`Quota`]). All weights zero
//!    means population only.
//! 2. **Quotas.** Each pool is shared among the children in proportion to that quota's input:
//!    population, requested amount (希望量), capacity (接種可能量), usage rate (administered ÷
//!    delivered, both in doses) or 1 each (equal shares). A child without an input gets nothing
//!    from that pool. When *no* child has a positive input, the pool falls back to population,
//!    and when no child has a population either, to equal shares; [`QuotaPart::fallback_to`]
//!    records it ("sites have not reported yet, population used"). A child's quota share `qᵢ`
//!    is the sum of its shares of all pools; `Σ qᵢ = total`.
//! 3. **Stock and caps, one level.** With idle stock `sᵢ` (when [`Formula::deduct_stock`]) and
//!    cap `cᵢ` (the smallest of the request, the capacity and the storage capacity that apply),
//!    each child receives
//!
//!    `xᵢ = clamp(k·qᵢ − sᵢ, 0, cᵢ)`
//!
//!    where the level `k ≥ 1` is the one number that makes `Σ xᵢ = total`. Without floors or
//!    caps `k = (total + Σ s) / total`: the stock on hand counts as part of the resource, and
//!    each child gets its share of that resource minus its own stock. A child whose stock
//!    exceeds its share gets 0, and one whose share exceeds its cap gets exactly its cap; in
//!    both cases what it does not take is redistributed to the others by raising `k`, that
//!    is, in proportion to their quota shares (water-filling). Before rounding, every child
//!    that is neither at 0 nor at its cap ends at the same level: (xᵢ + sᵢ) ÷ qᵢ = `k`.
//!
//!    If the children with a positive quota share are all at their caps and units are left,
//!    the rest goes in equal shares (again water-filled under the caps, stock not deducted) to
//!    the children whose quota share is 0. If every child is at its cap, the rest is
//!    [`Allocation::undistributed`] and stays with the parent; otherwise the amounts add up to
//!    the total exactly.
//! 4. **Whole units.** Every `xᵢ` is rounded down, and the units still missing are handed out
//!    one by one by largest fractional part, ties by code ascending, never above a cap (largest
//!    remainder, Hamilton's method). Each amount is thus `⌊xᵢ⌋` or `⌊xᵢ⌋ + 1`.
//!
//! Children are sorted by code first (codes are expected to be unique; duplicates are ordered
//! by their inputs), and every sum runs in that order, so the result does not depend on the
//! order of the input, and lines come back in code order.
//!
//! Cost: a few linear passes (one comparison per child when the input is already in code
//! order, as lists read from the database are; a sort otherwise). The level is found by
//! Newton steps on a piecewise-linear function, usually in one to three passes. See
//! `docs/ALLOCATION.md` for measured figures.
//!
//! # The explanation adds up
//!
//! For every line, with `e` its [`Explanation`]:
//!
//! ```text
//! Σ e.quotas[j].share − e.stock_deducted + e.redistributed = e.before_rounding   (up to float rounding)
//! ⌊e.before_rounding⌋ + e.rounding                                     = e.amount   (exactly)
//! ```
//!
//! `stock_deducted` is the child's own stock that counted against it, `min(sᵢ, k·qᵢ)`.
//! `redistributed` is everything that moved between children after that: positive when the
//! child received what others left (their stock, their cap excess), negative when its own cap
//! held it below its level ([`Explanation::cap`] then names the cap). `rounding` is 0 or +1.
//!
//! # Growing the total: the Alabama paradox
//!
//! "No child gets less when only the total grows" (house monotonicity) holds as follows.
//!
//! - **The sum** never decreases: `Σ amounts = min(total, Σ caps)`.
//! - **The real-valued shares** `xᵢ` never decrease for a formula with one quota: `qᵢ` is then
//!   proportional to the total and the level `k·total` only rises. With several quotas it can
//!   fail already at step 1, because the pools are themselves apportioned by largest
//!   remainder, so one pool can shrink by a unit when the total grows.
//! - **The integer amounts** do *not* in general: largest remainder is not house-monotone
//!   (the Alabama paradox). Populations 6, 6, 2 with a total of 10 give 4, 4, **2**, and with a
//!   total of 11 give 5, 5, **1** (the test `alabama_paradox_for_population_quotas`). Since
//!   every amount is its real share rounded down or up, with one quota a child loses at most
//!   one unit when the total grows (the property test `one_quota_loses_at_most_one_unit`).
//!   With several quotas no bound per child is claimed, only the sum.
//! - It **does** hold for the equal-shares-only formula without stock deduction, caps or not
//!   (the property test `equal_shares_are_house_monotone`): every child not at its cap has the
//!   same real share, so the remainders are all equal and the extra units go in code order;
//!   the result is the same as handing out the units one at a time to the child with the
//!   fewest (ties by code, skipping full children), which only ever adds. With stock deducted
//!   the shares differ again and the paradox can return.
//! - It **does** hold for a child held at its cap: the level only rises with the total, so it
//!   stays at its cap.
//!
//! Divisor methods (D'Hondt, Sainte-Laguë) are house-monotone but can give a child several
//! units more or less than its proportional share; largest remainder keeps every child within
//! one unit of its share and is the one staff can check by hand, so it is the method here.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::cmp::Ordering;

/// Relative weights of the quotas (e.g. population 80, requested 20). Only ratios matter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, utoipa::ToSchema)]
pub struct Weights {
    pub population: u32,
    pub requested: u32,
    pub capacity: u32,
    pub usage: u32,
    pub equal: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            population: 100,
            requested: 0,
            capacity: 0,
            usage: 0,
            equal: 0,
        }
    }
}

impl Weights {
    pub fn get(&self, quota: Quota) -> u32 {
        match quota {
            Quota::Population => self.population,
            Quota::Requested => self.requested,
            Quota::Capacity => self.capacity,
            Quota::Usage => self.usage,
            Quota::Equal => self.equal,
        }
    }
}

/// A formula, chosen per cycle and level. `version` is stored with every explanation, so an
/// old division still says which formula made it after the formula changes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, utoipa::ToSchema)]
pub struct Formula {
    pub version: u32,
    pub weights: Weights,
    /// Count idle stock on hand as already delivered (在庫控除).
    pub deduct_stock: bool,
    /// No child gets more than it requested (希望量).
    pub cap_by_request: bool,
    /// No child gets more than its capacity (接種可能量).
    pub cap_by_capacity: bool,
}

impl Default for Formula {
    fn default() -> Self {
        Formula {
            version: 1,
            weights: Weights::default(),
            deduct_stock: true,
            cap_by_request: true,
            cap_by_capacity: true,
        }
    }
}

/// A cycle's formulas, one for each level it divides into. A level left out of the input
/// keeps the default formula ([`Formula::default`], the one default there is).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Formulas {
    pub prefecture: Formula,
    pub municipality: Formula,
    pub site: Formula,
}

impl Formulas {
    /// The formula that divides among children of `level` (the nation is never divided
    /// into: its amount is the supply; asked anyway, it answers the prefectures' formula).
    pub fn for_level(&self, level: crate::chain::Level) -> &Formula {
        use crate::chain::Level;
        match level {
            Level::Nation | Level::Prefecture => &self.prefecture,
            Level::Municipality => &self.municipality,
            Level::Site => &self.site,
        }
    }
}

impl TryFrom<String> for Formulas {
    type Error = crate::code::UnknownCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&s).map_err(|_| crate::code::UnknownCode {
            what: "formulas",
            value: s,
        })
    }
}

impl Formulas {
    /// The stored form (JSON text).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One child's inputs, every amount already in the level's allocation unit. `administered` and
/// `delivered` (in doses) are only used as the ratio usage = administered ÷ delivered.
/// `storage_cap` always caps; `requested` and `capacity` cap when the formula says so.
/// Negative numbers count as 0; a missing number means "not reported".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ChildInput {
    pub code: String,
    pub population: Option<i64>,
    pub requested: Option<i64>,
    pub capacity: Option<i64>,
    pub administered: Option<i64>,
    pub delivered: Option<i64>,
    pub stock: Option<i64>,
    pub storage_cap: Option<i64>,
}

/// The quotas a formula mixes, in the order that breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    Population,
    Requested,
    Capacity,
    Usage,
    Equal,
}

impl Quota {
    pub const ALL: [Quota; 5] = [
        Quota::Population,
        Quota::Requested,
        Quota::Capacity,
        Quota::Usage,
        Quota::Equal,
    ];

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Quota::Population, Lang::Ja) => "人口割",
            (Quota::Requested, Lang::Ja) => "希望量割",
            (Quota::Capacity, Lang::Ja) => "接種可能量割",
            (Quota::Usage, Lang::Ja) => "使用率割",
            (Quota::Equal, Lang::Ja) => "均等割",
            (Quota::Population, Lang::En) => "population share",
            (Quota::Requested, Lang::En) => "requested amount",
            (Quota::Capacity, Lang::En) => "capacity",
            (Quota::Usage, Lang::En) => "usage rate",
            (Quota::Equal, Lang::En) => "equal shares",
        }
    }

    fn index(self) -> usize {
        match self {
            Quota::Population => 0,
            Quota::Requested => 1,
            Quota::Capacity => 2,
            Quota::Usage => 3,
            Quota::Equal => 4,
        }
    }
}

/// Which limit held a child at its cap (the smallest; ties in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapKind {
    Request,
    Capacity,
    Storage,
}

impl CapKind {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (CapKind::Request, Lang::Ja) => "希望量",
            (CapKind::Capacity, Lang::Ja) => "接種可能量",
            (CapKind::Storage, Lang::Ja) => "保管可能量",
            (CapKind::Request, Lang::En) => "requested amount",
            (CapKind::Capacity, Lang::En) => "capacity",
            (CapKind::Storage, Lang::En) => "storage capacity",
        }
    }
}

/// What one quota gave one child: `share = pool × input ÷ input_total`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
pub struct QuotaPart {
    pub quota: Quota,
    /// The whole units of the total given to this quota.
    pub pool: i64,
    /// This child's input (of the fallback quota when there is one); `None`: not reported.
    pub input: Option<f64>,
    /// The sum of all children's inputs.
    pub input_total: f64,
    pub share: f64,
    /// Set when no child had an input for `quota` and the pool was shared by this one instead.
    pub fallback_to: Option<Quota>,
}

/// Why a child got what it got. Adds up (see the module documentation):
/// `Σ quotas.share − stock_deducted + redistributed = before_rounding` and
/// `⌊before_rounding⌋ + rounding = amount`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, utoipa::ToSchema)]
pub struct Explanation {
    pub formula_version: u32,
    /// One part per quota with a positive weight, in [`Quota`] order.
    pub quotas: Vec<QuotaPart>,
    /// The child's own idle stock counted against it.
    pub stock_deducted: f64,
    /// Received from (positive) or given to (negative, by a cap) the other children.
    pub redistributed: f64,
    /// The cap that held the child, with its value (`[kind, value]`), if one did.
    pub cap: Option<(CapKind, i64)>,
    pub before_rounding: f64,
    /// `amount − ⌊before_rounding⌋`: 0 or +1 (largest remainder).
    pub rounding: i64,
    pub amount: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Line {
    pub code: String,
    pub amount: i64,
    pub explanation: Explanation,
}

/// A division. `Σ lines.amount + undistributed = total` always, and `undistributed > 0` only
/// when every child is at its cap.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Allocation {
    pub total: i64,
    /// In code order.
    pub lines: Vec<Line>,
    /// What no child could take (every child at its cap); the parent keeps it.
    pub undistributed: i64,
}

impl Allocation {
    /// The line of a child, by code.
    pub fn line(&self, code: &str) -> Option<&Line> {
        self.lines
            .binary_search_by(|l| l.code.as_str().cmp(code))
            .ok()
            .and_then(|i| self.lines.get(i))
    }
}

/// Divides `total` (whole units; a negative total counts as 0) among `children` by `formula`.
/// See the module documentation for the method and its guarantees.
pub fn allocate(total: i64, children: &[ChildInput], formula: &Formula) -> Allocation {
    let total = total.max(0);
    // Lists usually come from the database in code order: then there is nothing to sort.
    if children.windows(2).all(|w| w[0].code < w[1].code) {
        divide(total, children, formula)
    } else {
        let mut kids: Vec<&ChildInput> = children.iter().collect();
        kids.sort_by(|a, b| compare_children(a, b));
        divide(total, &kids, formula)
    }
}

/// [`allocate`] on children in code order.
fn divide<K: Borrow<ChildInput>>(total: i64, kids: &[K], formula: &Formula) -> Allocation {
    // 1. Pools.
    let mut weights = Quota::ALL.map(|q| u64::from(formula.weights.get(q)));
    if weights.iter().all(|&w| w == 0) {
        weights[Quota::Population.index()] = 1;
    }
    let pools = split_pools(total, &weights);

    // 2. Quotas: input totals, fallbacks, each child's quota share.
    let mut input_totals = [0.0_f64; 5];
    input_totals[Quota::Equal.index()] = kids.len() as f64;
    // Population is needed for the fallback; equal shares need no pass.
    let needed =
        Quota::ALL.map(|q| q != Quota::Equal && (q == Quota::Population || weights[q.index()] > 0));
    for c in kids {
        let c = c.borrow();
        for ((t, q), needed) in input_totals.iter_mut().zip(Quota::ALL).zip(needed) {
            if needed {
                *t += quota_input(c, q).unwrap_or(0.0);
            }
        }
    }
    let has_inputs = |q: Quota| {
        let t = input_totals[q.index()];
        t > 0.0 && t.is_finite()
    };
    let mut active = [ActiveQuota::NONE; 5];
    let mut active_len = 0;
    for quota in Quota::ALL.into_iter().filter(|q| weights[q.index()] > 0) {
        let source = if has_inputs(quota) {
            quota
        } else if has_inputs(Quota::Population) {
            Quota::Population
        } else {
            Quota::Equal
        };
        let pool = pools[quota.index()];
        let input_total = input_totals[source.index()];
        let factor = if input_total > 0.0 {
            pool as f64 / input_total
        } else {
            0.0
        };
        active[active_len] = ActiveQuota {
            quota,
            source,
            pool,
            input_total,
            factor,
        };
        active_len += 1;
    }
    let active = &active[..active_len];

    let (mut sum_raw, mut sum_stock, mut quota_children) = (0.0_f64, 0.0_f64, 0_usize);
    let mut work: Vec<Work> = kids
        .iter()
        .map(|c| {
            let c = c.borrow();
            let raw = active.iter().map(|a| a.share(c)).sum::<f64>();
            let stock = if formula.deduct_stock {
                c.stock.unwrap_or(0).max(0) as f64
            } else {
                0.0
            };
            if raw > 0.0 {
                sum_raw += raw;
                sum_stock += stock;
                quota_children += 1;
            }
            let (cap_kind, cap) = match child_cap(c, formula) {
                Some((kind, v)) => (Some(kind), v),
                None => (None, NO_CAP),
            };
            Work {
                raw,
                stock,
                x: 0.0,
                cap,
                amount: 0,
                cap_kind,
                held: false,
            }
        })
        .collect();

    // 3. Stock and caps: the level, in two stages.
    let mut level = 1.0_f64;
    let mut undistributed = 0_i64;
    if work.is_empty() {
        undistributed = total;
    } else if total > 0 {
        let quota_child = |w: &Work| w.raw > 0.0;
        match cap_total(&work, quota_child) {
            Some(caps) if caps <= i128::from(total) => {
                // Every child with a quota share is at its cap; the rest goes equally to the
                // others, under their caps.
                level = f64::INFINITY;
                fill_to_caps(&mut work, quota_child);
                let left = total.saturating_sub(i64::try_from(caps).unwrap_or(total));
                let other = |w: &Work| w.raw <= 0.0;
                match cap_total(&work, other) {
                    Some(caps) if caps <= i128::from(left) => {
                        fill_to_caps(&mut work, other);
                        undistributed = left.saturating_sub(i64::try_from(caps).unwrap_or(left));
                    }
                    _ => {
                        let others = (work.len() - quota_children) as f64;
                        let coef = |w: &Work| other(w).then_some((1.0, 0.0, w.capf()));
                        solve_level(left as f64, &mut work, coef, others, 0.0);
                    }
                }
            }
            _ => {
                let coef = |w: &Work| quota_child(w).then_some((w.raw, w.stock, w.capf()));
                level = solve_level(total as f64, &mut work, coef, sum_raw, sum_stock);
            }
        }
    }

    // 4. Whole units.
    round_largest_remainder(&mut work, total.saturating_sub(undistributed));

    let lines = kids
        .iter()
        .zip(&work)
        .map(|(c, w)| {
            let c = c.borrow();
            let quotas: Vec<QuotaPart> = active
                .iter()
                .map(|a| QuotaPart {
                    quota: a.quota,
                    pool: a.pool,
                    input: quota_input(c, a.source),
                    input_total: a.input_total,
                    share: a.share(c),
                    fallback_to: (a.source != a.quota).then_some(a.source),
                })
                .collect();
            let stock_deducted = if w.raw > 0.0 {
                w.stock.min(level * w.raw)
            } else {
                0.0
            };
            let explanation = Explanation {
                formula_version: formula.version,
                quotas,
                stock_deducted,
                redistributed: w.x - w.raw + stock_deducted,
                cap: if w.held { w.cap() } else { None },
                before_rounding: w.x,
                // `x ≥ 0`, so truncation is ⌊x⌋.
                rounding: w.amount.saturating_sub(w.x as i64),
                amount: w.amount,
            };
            Line {
                code: c.code.clone(),
                amount: w.amount,
                explanation,
            }
        })
        .collect();
    Allocation {
        total,
        lines,
        undistributed,
    }
}

/// A quota with a positive weight, and where its pool goes.
#[derive(Clone, Copy)]
struct ActiveQuota {
    quota: Quota,
    /// `quota`, or the quota it fell back to.
    source: Quota,
    pool: i64,
    input_total: f64,
    /// `pool ÷ input_total`.
    factor: f64,
}

impl ActiveQuota {
    const NONE: ActiveQuota = ActiveQuota {
        quota: Quota::Equal,
        source: Quota::Equal,
        pool: 0,
        input_total: 0.0,
        factor: 0.0,
    };

    fn share(&self, c: &ChildInput) -> f64 {
        self.factor * quota_input(c, self.source).unwrap_or(0.0)
    }
}

/// One child during the computation (48 bytes: this is the memory every pass walks).
struct Work {
    /// Quota share `qᵢ`.
    raw: f64,
    stock: f64,
    /// Before rounding (never negative).
    x: f64,
    /// [`NO_CAP`] when there is none.
    cap: i64,
    amount: i64,
    cap_kind: Option<CapKind>,
    /// Held at its cap.
    held: bool,
}

const NO_CAP: i64 = i64::MAX;

impl Work {
    fn capf(&self) -> f64 {
        if self.cap == NO_CAP {
            f64::INFINITY
        } else {
            self.cap as f64
        }
    }
    fn cap(&self) -> Option<(CapKind, i64)> {
        self.cap_kind.map(|kind| (kind, self.cap))
    }
    /// `x − amount`: the fractional part once `amount = ⌊x⌋`.
    fn frac(&self) -> f64 {
        self.x - self.amount as f64
    }
}

fn compare_children(a: &ChildInput, b: &ChildInput) -> Ordering {
    let rest = |c: &ChildInput| {
        (
            c.population,
            c.requested,
            c.capacity,
            c.administered,
            c.delivered,
            c.stock,
            c.storage_cap,
        )
    };
    a.code.cmp(&b.code).then_with(|| rest(a).cmp(&rest(b)))
}

fn quota_input(c: &ChildInput, q: Quota) -> Option<f64> {
    let amount = |v: Option<i64>| v.map(|v| v.max(0) as f64);
    match q {
        Quota::Population => amount(c.population),
        Quota::Requested => amount(c.requested),
        Quota::Capacity => amount(c.capacity),
        Quota::Usage => match (c.administered, c.delivered) {
            (Some(a), Some(d)) if d > 0 => Some(a.max(0) as f64 / d as f64),
            _ => None,
        },
        Quota::Equal => Some(1.0),
    }
}

/// The smallest applicable cap (negative counts as 0), ties in [`CapKind`] order.
fn child_cap(c: &ChildInput, f: &Formula) -> Option<(CapKind, i64)> {
    let candidates = [
        (f.cap_by_request, CapKind::Request, c.requested),
        (f.cap_by_capacity, CapKind::Capacity, c.capacity),
        (true, CapKind::Storage, c.storage_cap),
    ];
    let mut best: Option<(CapKind, i64)> = None;
    for (applies, kind, value) in candidates {
        if let (true, Some(v)) = (applies, value) {
            let v = v.max(0);
            if best.is_none_or(|(_, b)| v < b) {
                best = Some((kind, v));
            }
        }
    }
    best
}

/// Splits `total` (≥ 0) among `weights` by largest remainder (Hamilton's method): each share
/// is `⌊total·wᵢ/Σw⌋` or one more, the units left over going to the largest remainders, ties
/// to the earlier index. Negative weights count as 0; all-zero weights get nothing. Exact in
/// 128 bits for any 64-bit input.
pub fn largest_remainder(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
    let mut shares = vec![0_i64; weights.len()];
    if sum == 0 || total <= 0 {
        return shares;
    }
    let t = i128::from(total);
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given = 0_i128;
    for (i, (share, &w)) in shares.iter_mut().zip(weights).enumerate() {
        let num = t * i128::from(w.max(0));
        let q = num / sum;
        *share = i64::try_from(q).unwrap_or(i64::MAX);
        remainders.push((num % sum, i));
        given += q;
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = usize::try_from(t - given).unwrap_or(0);
    for &(_, i) in remainders.iter().take(left) {
        shares[i] += 1;
    }
    shares
}

/// Splits `total` by `weights` (not all zero) by largest remainder, ties by quota order.
fn split_pools(total: i64, weights: &[u64; 5]) -> [i64; 5] {
    let w = weights.map(|w| i64::try_from(w).unwrap_or(i64::MAX));
    let shares = largest_remainder(total, &w);
    let mut pools = [0_i64; 5];
    pools.copy_from_slice(&shares);
    pools
}

/// Σ of the caps of the children selected, `None` when one of them has no cap.
fn cap_total(work: &[Work], select: impl Fn(&Work) -> bool) -> Option<i128> {
    work.iter()
        .filter(|w| select(w))
        .try_fold(0_i128, |acc, w| w.cap_kind.map(|_| acc + i128::from(w.cap)))
}

fn fill_to_caps(work: &mut [Work], select: impl Fn(&Work) -> bool) {
    for w in work.iter_mut().filter(|w| select(w)) {
        w.x = w.capf();
        w.held = true;
    }
}

/// Finds the level `k ≥ 0` at which `F(k) = Σ clamp(k·aᵢ − bᵢ, 0, cᵢ)` over the children `coef`
/// selects (each with `aᵢ > 0`, `bᵢ ≥ 0`, `cᵢ ≥ 0` or +∞; `sum_a = Σ aᵢ`, `sum_b = Σ bᵢ`) equals
/// `target`, leaves `xᵢ = clamp(k·aᵢ − bᵢ, 0, cᵢ)` in their work, and returns `k`. The caller
/// makes sure that `Σ cᵢ > target`.
///
/// `F` is continuous, non-decreasing and piecewise linear, so Newton's step on the current
/// piece is exact once on the right piece. It starts from the solution without clamps and is
/// kept inside a bracket, with a bisection every fourth step, so it always converges; usually
/// in one to three passes.
fn solve_level(
    target: f64,
    work: &mut [Work],
    coef: impl Fn(&Work) -> Option<(f64, f64, f64)>,
    sum_a: f64,
    sum_b: f64,
) -> f64 {
    // Sets every x for level k; returns F(k) and the line F follows there: slope·k + intercept.
    let mut eval = |k: f64| {
        let (mut f, mut slope, mut intercept) = (0.0_f64, 0.0_f64, 0.0_f64);
        for w in work.iter_mut() {
            if let Some((a, b, c)) = coef(w) {
                let v = k * a - b;
                w.held = v >= c;
                if w.held {
                    w.x = c;
                    f += c;
                    intercept += c;
                } else if v > 0.0 {
                    w.x = v;
                    f += v;
                    slope += a;
                    intercept -= b;
                } else {
                    w.x = 0.0;
                }
            }
        }
        (f, slope, intercept)
    };
    if sum_a <= 0.0 {
        eval(0.0);
        return 0.0;
    }
    let tolerance = 1e-10 * target.max(1.0);
    let mut k = (target + sum_b) / sum_a;
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for step in 0..200 {
        let (f, slope, intercept) = eval(k);
        if (f - target).abs() <= tolerance {
            break;
        }
        if f < target {
            lo = k;
        } else {
            hi = k;
        }
        let newton = if slope > 0.0 {
            (target - intercept) / slope
        } else {
            f64::NAN
        };
        let bisect = hi.is_finite() && step % 4 == 3;
        let next = if !bisect && newton > lo && newton < hi {
            newton
        } else if hi.is_finite() {
            lo + (hi - lo) / 2.0
        } else {
            (2.0 * k).max(lo + 1.0)
        };
        if next == k || !next.is_finite() || step == 199 {
            break;
        }
        k = next;
    }
    k
}

/// Rounds every `x` down and hands out the units missing to reach `target` by largest
/// fractional part (ties by position, i.e. code), never above a cap. Float error can make the
/// floors overshoot by a unit or two; those are taken back by smallest fractional part.
fn round_largest_remainder(work: &mut [Work], target: i64) {
    let mut missing = i128::from(target);
    for w in work.iter_mut() {
        // `x ≥ 0`, so truncation is ⌊x⌋.
        w.amount = (w.x as i64).clamp(0, w.cap);
        missing -= i128::from(w.amount);
    }
    // (fractional part, position); larger part first, then smaller position.
    let larger_first = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let mut candidates: Vec<(f64, u32)> = Vec::new();
    // The first round only looks at children with a fractional part: they come first anyway.
    let mut first_round = true;
    while missing != 0 {
        let giving = missing > 0;
        let only_fractions = giving && first_round;
        first_round = false;
        candidates.clear();
        candidates.extend(
            work.iter()
                .zip(0_u32..)
                .filter(|(w, _)| {
                    if giving {
                        w.amount < w.cap && (!only_fractions || w.frac() > 0.0)
                    } else {
                        w.amount > 0
                    }
                })
                .map(|(w, i)| (w.frac(), i)),
        );
        if candidates.is_empty() {
            if only_fractions {
                continue;
            }
            break;
        }
        let len = candidates.len() as u128;
        let need = missing.unsigned_abs();
        if need < len {
            // The normal case: one unit each to the `need` largest remainders.
            let take = need as usize;
            if giving {
                candidates.select_nth_unstable_by(take - 1, larger_first);
            } else {
                candidates.select_nth_unstable_by(take - 1, |a, b| larger_first(b, a));
            }
            for &(_, i) in &candidates[..take] {
                let w = &mut work[i as usize];
                w.amount += if giving { 1 } else { -1 };
            }
            missing = 0;
        } else {
            // Only when float error on huge amounts left many units: an even step to everyone,
            // within each one's room; the next round finishes by remainder.
            let step = i64::try_from(need / len).unwrap_or(i64::MAX);
            for &(_, i) in candidates.iter() {
                let w = &mut work[i as usize];
                let units = if giving {
                    step.min(w.cap - w.amount)
                } else {
                    step.min(w.amount)
                };
                w.amount += if giving { units } else { -units };
                missing += if giving {
                    -i128::from(units)
                } else {
                    i128::from(units)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn child(code: &str) -> ChildInput {
        ChildInput {
            code: code.into(),
            ..ChildInput::default()
        }
    }

    fn pop(code: &str, population: i64) -> ChildInput {
        ChildInput {
            population: Some(population),
            ..child(code)
        }
    }

    fn only(quota: Quota) -> Formula {
        let mut weights = Weights {
            population: 0,
            requested: 0,
            capacity: 0,
            usage: 0,
            equal: 0,
        };
        match quota {
            Quota::Population => weights.population = 1,
            Quota::Requested => weights.requested = 1,
            Quota::Capacity => weights.capacity = 1,
            Quota::Usage => weights.usage = 1,
            Quota::Equal => weights.equal = 1,
        }
        Formula {
            version: 7,
            weights,
            deduct_stock: false,
            cap_by_request: false,
            cap_by_capacity: false,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn amounts(a: &Allocation) -> Vec<i64> {
        a.lines.iter().map(|l| l.amount).collect()
    }

    /// The identity of the module documentation, for every line.
    fn assert_adds_up(a: &Allocation) {
        let scale = (a.total as f64).max(1.0);
        for l in &a.lines {
            let e = &l.explanation;
            let shares: f64 = e.quotas.iter().map(|q| q.share).sum();
            let lhs = shares - e.stock_deducted + e.redistributed;
            assert!(
                (lhs - e.before_rounding).abs() <= 1e-9 * scale,
                "{}: {lhs} ≠ {}",
                l.code,
                e.before_rounding
            );
            assert_eq!(
                e.before_rounding.floor() as i64 + e.rounding,
                e.amount,
                "{}",
                l.code
            );
            assert_eq!(e.amount, l.amount);
            for q in &e.quotas {
                let expected = q.pool as f64 * q.input.unwrap_or(0.0) / q.input_total;
                assert!((q.share - expected).abs() <= 1e-9 * scale);
            }
        }
    }

    #[test]
    fn population_quota() {
        let kids = [pop("B", 300), pop("A", 100), pop("C", 600)];
        let a = allocate(1_000, &kids, &only(Quota::Population));
        assert_eq!(
            a.lines.iter().map(|l| l.code.as_str()).collect::<Vec<_>>(),
            ["A", "B", "C"]
        );
        assert_eq!(amounts(&a), [100, 300, 600]);
        assert_eq!(a.undistributed, 0);
        let e = &a.line("B").unwrap().explanation;
        assert_eq!(e.formula_version, 7);
        assert_eq!(e.quotas.len(), 1);
        let q = &e.quotas[0];
        assert_eq!(
            (q.quota, q.pool, q.input, q.input_total, q.share),
            (Quota::Population, 1_000, Some(300.0), 1_000.0, 300.0)
        );
        assert_eq!(q.fallback_to, None);
        assert_eq!(
            (e.stock_deducted, e.redistributed, e.cap, e.rounding),
            (0.0, 0.0, None, 0)
        );
        assert_adds_up(&a);
    }

    #[test]
    fn requested_capacity_and_usage_quotas() {
        let kids = [
            ChildInput {
                requested: Some(30),
                capacity: Some(10),
                administered: Some(90),
                delivered: Some(100),
                ..child("A")
            },
            ChildInput {
                requested: Some(10),
                capacity: Some(30),
                administered: Some(30),
                delivered: Some(100),
                ..child("B")
            },
        ];
        assert_eq!(
            amounts(&allocate(20, &kids, &only(Quota::Requested))),
            [15, 5]
        );
        assert_eq!(
            amounts(&allocate(20, &kids, &only(Quota::Capacity))),
            [5, 15]
        );
        let usage = allocate(20, &kids, &only(Quota::Usage));
        assert_eq!(amounts(&usage), [15, 5]);
        let q = &usage.lines[0].explanation.quotas[0];
        assert_eq!((q.input, q.input_total), (Some(0.9), 1.2));
        assert_adds_up(&usage);
    }

    #[test]
    fn usage_needs_deliveries() {
        let kids = [
            ChildInput {
                administered: Some(50),
                delivered: Some(100),
                ..pop("A", 1)
            },
            ChildInput {
                administered: Some(50),
                delivered: Some(0),
                ..pop("B", 1)
            },
            ChildInput {
                administered: Some(50),
                ..pop("C", 1)
            },
        ];
        let a = allocate(10, &kids, &only(Quota::Usage));
        assert_eq!(amounts(&a), [10, 0, 0]);
        assert_eq!(a.lines[1].explanation.quotas[0].input, None);
    }

    #[test]
    fn equal_shares_round_in_code_order() {
        let kids = [child("C"), child("A"), child("B")];
        assert_eq!(
            amounts(&allocate(10, &kids, &only(Quota::Equal))),
            [4, 3, 3]
        );
        assert_eq!(amounts(&allocate(2, &kids, &only(Quota::Equal))), [1, 1, 0]);
        let a = allocate(2, &kids, &only(Quota::Equal));
        assert_eq!(a.lines[0].explanation.rounding, 1);
        assert_eq!(a.lines[2].explanation.rounding, 0);
        assert_adds_up(&a);
    }

    #[test]
    fn largest_remainder_splits_exactly() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[0, 5, 5]), vec![0, 4, 3]);
        assert_eq!(largest_remainder(5, &[]), Vec::<i64>::new());
        assert_eq!(largest_remainder(5, &[0, -3]), vec![0, 0]);
        let w: Vec<i64> = (1..=47).map(|i| i * 37 % 101 + 1).collect();
        assert_eq!(largest_remainder(1234, &w).iter().sum::<i64>(), 1234);
        assert_eq!(
            largest_remainder(i64::MAX, &[i64::MAX, 1])
                .iter()
                .sum::<i64>(),
            i64::MAX
        );
    }

    #[test]
    fn weights_split_the_total_into_pools_by_largest_remainder() {
        let kids = [
            ChildInput {
                requested: Some(1),
                ..pop("A", 1)
            },
            ChildInput {
                requested: Some(3),
                ..pop("B", 3)
            },
        ];
        let mut f = only(Quota::Population);
        f.weights = Weights {
            population: 80,
            requested: 20,
            capacity: 0,
            usage: 0,
            equal: 0,
        };
        let a = allocate(101, &kids, &f);
        let pools: Vec<_> = a.lines[0]
            .explanation
            .quotas
            .iter()
            .map(|q| (q.quota, q.pool))
            .collect();
        assert_eq!(pools, [(Quota::Population, 81), (Quota::Requested, 20)]);
        assert_eq!(a.lines.iter().map(|l| l.amount).sum::<i64>(), 101);
        assert_adds_up(&a);
        // Equal remainders: the quota listed first gets the unit.
        assert_eq!(split_pools(3, &[1, 1, 0, 0, 0]), [2, 1, 0, 0, 0]);
        assert_eq!(split_pools(7, &[0, 0, 1, 1, 1]), [0, 0, 3, 2, 2]);
        // All weights zero: population.
        f.weights = Weights {
            population: 0,
            requested: 0,
            capacity: 0,
            usage: 0,
            equal: 0,
        };
        let a = allocate(8, &kids, &f);
        assert_eq!(amounts(&a), [2, 6]);
        assert_eq!(a.lines[0].explanation.quotas[0].quota, Quota::Population);
    }

    #[test]
    fn a_quota_nobody_reported_falls_back_to_population_then_equal_shares() {
        let kids = [
            pop("A", 1),
            pop("B", 3),
            ChildInput {
                requested: Some(0),
                ..pop("C", 0)
            },
        ];
        let a = allocate(8, &kids, &only(Quota::Requested));
        assert_eq!(amounts(&a), [2, 6, 0]);
        let q = &a.lines[1].explanation.quotas[0];
        assert_eq!(
            (q.quota, q.fallback_to, q.input, q.input_total),
            (Quota::Requested, Some(Quota::Population), Some(3.0), 4.0)
        );

        let kids = [child("A"), child("B")];
        for quota in [Quota::Population, Quota::Capacity, Quota::Usage] {
            let a = allocate(8, &kids, &only(quota));
            assert_eq!(amounts(&a), [4, 4]);
            assert_eq!(
                a.lines[0].explanation.quotas[0].fallback_to,
                Some(Quota::Equal)
            );
            assert_adds_up(&a);
        }
    }

    #[test]
    fn stock_on_hand_is_deducted() {
        let mut f = only(Quota::Population);
        f.deduct_stock = true;
        // Resource 10 + 4 = 14, 7 each: A has 4 already.
        let kids = [
            ChildInput {
                stock: Some(4),
                ..pop("A", 1)
            },
            pop("B", 1),
        ];
        let a = allocate(10, &kids, &f);
        assert_eq!(amounts(&a), [3, 7]);
        let (ea, eb) = (&a.lines[0].explanation, &a.lines[1].explanation);
        assert!(
            close(ea.stock_deducted, 4.0) && close(ea.redistributed, 2.0),
            "{ea:?}"
        );
        assert!(
            close(eb.stock_deducted, 0.0) && close(eb.redistributed, 2.0),
            "{eb:?}"
        );
        assert_adds_up(&a);
        // Not deducted unless the formula says so.
        assert_eq!(
            amounts(&allocate(10, &kids, &only(Quota::Population))),
            [5, 5]
        );
    }

    #[test]
    fn stock_beyond_a_share_gives_zero_and_the_rest_goes_proportionally() {
        let mut f = only(Quota::Population);
        f.deduct_stock = true;
        let kids = [
            ChildInput {
                stock: Some(10),
                ..pop("A", 1)
            },
            pop("B", 1),
            pop("C", 2),
        ];
        let a = allocate(8, &kids, &f);
        // A: 2 of 8, but 10 in stock → 0; B and C share 8 as 1 : 2.
        assert_eq!(amounts(&a), [0, 3, 5]);
        assert!((a.lines[1].explanation.before_rounding - 8.0 / 3.0).abs() < 1e-12);
        assert!(close(a.lines[0].explanation.stock_deducted, 8.0 / 3.0));
        assert_adds_up(&a);
    }

    #[test]
    fn caps_are_water_filled() {
        let mut f = only(Quota::Population);
        f.cap_by_request = true;
        let kids = [
            ChildInput {
                requested: Some(10),
                ..pop("A", 1)
            },
            ChildInput {
                requested: Some(28),
                ..pop("B", 1)
            },
            pop("C", 1),
            pop("D", 1),
        ];
        // 25 each: A held at 10; 30 each for the rest: B held at 28; C and D 31 each.
        let a = allocate(100, &kids, &f);
        assert_eq!(amounts(&a), [10, 28, 31, 31]);
        assert_eq!(a.lines[0].explanation.cap, Some((CapKind::Request, 10)));
        assert_eq!(a.lines[1].explanation.cap, Some((CapKind::Request, 28)));
        assert_eq!(a.lines[2].explanation.cap, None);
        assert!(close(a.lines[0].explanation.redistributed, -15.0));
        assert!(close(a.lines[2].explanation.redistributed, 6.0));
        assert_adds_up(&a);
        // Without the request cap, the request is only an input.
        assert_eq!(
            amounts(&allocate(100, &kids, &only(Quota::Population))),
            [25, 25, 25, 25]
        );
    }

    #[test]
    fn the_smallest_cap_applies() {
        let mut f = Formula {
            deduct_stock: false,
            ..Formula::default()
        };
        let kids = [
            ChildInput {
                requested: Some(9),
                capacity: Some(7),
                storage_cap: Some(8),
                ..pop("A", 1)
            },
            ChildInput {
                requested: Some(9),
                capacity: Some(9),
                storage_cap: Some(6),
                ..pop("B", 1)
            },
            ChildInput {
                requested: Some(5),
                capacity: Some(5),
                storage_cap: Some(5),
                ..pop("C", 1)
            },
            pop("D", 1),
        ];
        let a = allocate(40, &kids, &f);
        assert_eq!(amounts(&a), [7, 6, 5, 22]);
        let caps: Vec<_> = a.lines.iter().map(|l| l.explanation.cap).collect();
        assert_eq!(
            caps,
            [
                Some((CapKind::Capacity, 7)),
                Some((CapKind::Storage, 6)),
                Some((CapKind::Request, 5)),
                None
            ]
        );
        f.cap_by_capacity = false;
        assert_eq!(amounts(&allocate(40, &kids, &f))[0], 8);
        // A negative cap counts as 0.
        let kids = [
            ChildInput {
                storage_cap: Some(-3),
                ..pop("A", 1)
            },
            pop("B", 1),
        ];
        assert_eq!(amounts(&allocate(5, &kids, &f)), [0, 5]);
    }

    #[test]
    fn when_every_child_is_capped_the_parent_keeps_the_rest() {
        let f = Formula::default();
        let kids = [
            ChildInput {
                requested: Some(10),
                ..pop("A", 5)
            },
            ChildInput {
                capacity: Some(5),
                ..pop("B", 1)
            },
        ];
        let a = allocate(20, &kids, &f);
        assert_eq!(amounts(&a), [10, 5]);
        assert_eq!(a.undistributed, 5);
        assert!(a.lines.iter().all(|l| l.explanation.cap.is_some()));
        assert_adds_up(&a);
    }

    #[test]
    fn when_every_child_with_a_share_is_capped_the_others_get_the_rest() {
        let f = Formula::default();
        let kids = [
            ChildInput {
                requested: Some(3),
                ..pop("A", 10)
            },
            child("B"),
            ChildInput {
                storage_cap: Some(2),
                ..child("C")
            },
        ];
        let a = allocate(10, &kids, &f);
        assert_eq!(amounts(&a), [3, 5, 2]);
        assert_eq!(a.undistributed, 0);
        assert!(close(a.lines[1].explanation.redistributed, 5.0));
        assert_eq!(a.lines[2].explanation.cap, Some((CapKind::Storage, 2)));
        assert_adds_up(&a);
    }

    #[test]
    fn nothing_to_divide_or_nobody_to_divide_among() {
        let f = Formula::default();
        let a = allocate(0, &[pop("A", 1)], &f);
        assert_eq!((amounts(&a), a.undistributed), (vec![0], 0));
        assert_adds_up(&a);
        let a = allocate(5, &[], &f);
        assert_eq!((a.lines.len(), a.undistributed), (0, 5));
        let a = allocate(-5, &[pop("A", 1)], &f);
        assert_eq!((a.total, amounts(&a), a.undistributed), (0, vec![0], 0));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let max = Some(i64::MAX);
        let huge = ChildInput {
            population: max,
            requested: max,
            capacity: max,
            administered: max,
            delivered: max,
            stock: max,
            storage_cap: None,
            ..child("A")
        };
        let kids = [
            huge.clone(),
            ChildInput {
                code: "B".into(),
                storage_cap: Some(i64::MAX - 1),
                ..huge.clone()
            },
            ChildInput {
                code: "C".into(),
                stock: None,
                ..huge
            },
            pop("D", 1),
        ];
        let all = Formula {
            weights: Weights {
                population: u32::MAX,
                requested: u32::MAX,
                capacity: 1,
                usage: 1,
                equal: 1,
            },
            ..Formula::default()
        };
        for f in [Formula::default(), all, only(Quota::Equal)] {
            for total in [i64::MAX, i64::MAX - 1, 1 << 53, 3] {
                let a = allocate(total, &kids, &f);
                let sum: i128 = a.lines.iter().map(|l| i128::from(l.amount)).sum();
                assert_eq!(
                    sum + i128::from(a.undistributed),
                    i128::from(total),
                    "{f:?} {total}"
                );
                assert!(a.lines.iter().all(|l| l.amount >= 0));
            }
        }
    }

    #[test]
    fn the_input_order_does_not_matter() {
        let f = Formula {
            weights: Weights {
                population: 3,
                requested: 1,
                capacity: 1,
                usage: 1,
                equal: 1,
            },
            ..Formula::default()
        };
        let kids: Vec<ChildInput> = (0..50)
            .map(|i| ChildInput {
                code: format!("{:02}", (i * 37) % 50),
                population: Some(1_000 + i * 7_919 % 997),
                requested: (i % 3 != 0).then_some(i * 3),
                capacity: Some(100 - i),
                administered: Some(i * 10),
                delivered: Some(600),
                stock: (i % 5 == 0).then_some(4),
                storage_cap: None,
            })
            .collect();
        let a = allocate(1_234, &kids, &f);
        let mut reversed = kids.clone();
        reversed.reverse();
        assert_eq!(allocate(1_234, &reversed, &f), a);
        assert!(a.lines.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(
            a.lines.iter().map(|l| l.amount).sum::<i64>() + a.undistributed,
            1_234
        );
        assert_adds_up(&a);
    }

    #[test]
    fn alabama_paradox_for_population_quotas() {
        let kids = [pop("A", 6), pop("B", 6), pop("C", 2)];
        let f = only(Quota::Population);
        assert_eq!(amounts(&allocate(10, &kids, &f)), [4, 4, 2]);
        // One more unit to divide, and C loses one.
        assert_eq!(amounts(&allocate(11, &kids, &f)), [5, 5, 1]);
    }

    #[test]
    fn labels_and_serde_names() {
        assert_eq!(Quota::Population.label(Lang::Ja), "人口割");
        assert_eq!(Quota::Equal.label(Lang::En), "equal shares");
        assert_eq!(CapKind::Capacity.label(Lang::Ja), "接種可能量");
        assert_eq!(
            serde_json::to_string(&Quota::Requested).unwrap(),
            "\"requested\""
        );
        assert_eq!(
            serde_json::to_string(&CapKind::Storage).unwrap(),
            "\"storage\""
        );
        let f: Formula =
            serde_json::from_str(&serde_json::to_string(&Formula::default()).unwrap()).unwrap();
        assert_eq!(f, Formula::default());
        assert_eq!(f.weights.population, 100);
        let a = allocate(
            7,
            &[
                ChildInput {
                    requested: Some(3),
                    ..pop("A", 1)
                },
                pop("B", 1),
            ],
            &Formula::default(),
        );
        let back: Allocation = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    // ---- properties ----

    fn opt(max: i64) -> impl Strategy<Value = Option<i64>> {
        prop_oneof![1 => Just(None), 4 => (-2..=max).prop_map(Some)]
    }

    fn inputs(max_children: usize) -> impl Strategy<Value = Vec<ChildInput>> {
        let one = (
            opt(2_000_000),
            opt(5_000),
            opt(5_000),
            opt(20_000),
            opt(20_000),
            opt(3_000),
            opt(8_000),
        );
        prop::collection::vec(one, 0..=max_children).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(
                    |(
                        i,
                        (
                            population,
                            requested,
                            capacity,
                            administered,
                            delivered,
                            stock,
                            storage_cap,
                        ),
                    )| ChildInput {
                        code: format!("{:05}", i * 7 % 100_003),
                        population,
                        requested,
                        capacity,
                        administered,
                        delivered,
                        stock,
                        storage_cap,
                    },
                )
                .collect()
        })
    }

    fn formulas() -> impl Strategy<Value = Formula> {
        (
            0..4_u32,
            0..4_u32,
            0..4_u32,
            0..4_u32,
            0..4_u32,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    population,
                    requested,
                    capacity,
                    usage,
                    equal,
                    deduct_stock,
                    cap_by_request,
                    cap_by_capacity,
                )| Formula {
                    version: 3,
                    weights: Weights {
                        population,
                        requested,
                        capacity,
                        usage,
                        equal,
                    },
                    deduct_stock,
                    cap_by_request,
                    cap_by_capacity,
                },
            )
    }

    fn cap(c: &ChildInput, f: &Formula) -> Option<i64> {
        child_cap(c, f).map(|(_, v)| v)
    }

    /// Every invariant of one division.
    fn check(total: i64, kids: &[ChildInput], f: &Formula, a: &Allocation) {
        assert_eq!(a.lines.len(), kids.len());
        assert_eq!(
            a.lines.iter().map(|l| l.amount).sum::<i64>() + a.undistributed,
            total
        );
        assert!(a.undistributed >= 0);
        for l in &a.lines {
            let c = kids.iter().find(|c| c.code == l.code).unwrap();
            assert!(l.amount >= 0);
            if let Some(cap) = cap(c, f) {
                assert!(l.amount <= cap, "{} > cap {cap}", l.amount);
            }
            let e = &l.explanation;
            assert!((l.amount as f64 - e.before_rounding).abs() < 1.0 + 1e-6);
            assert_eq!(e.formula_version, f.version);
        }
        if a.undistributed > 0 {
            for l in &a.lines {
                let c = kids.iter().find(|c| c.code == l.code).unwrap();
                assert_eq!(
                    Some(l.amount),
                    cap(c, f),
                    "undistributed while {} is below its cap",
                    l.code
                );
            }
        }
        assert_adds_up(a);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn sums_caps_and_explanations(kids in inputs(300), total in 0..=100_000_i64, f in formulas()) {
            let a = allocate(total, &kids, &f);
            check(total, &kids, &f, &a);
        }

        #[test]
        fn deterministic_under_permutation(
            (kids, shuffled) in inputs(300).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            total in 0..=100_000_i64,
            f in formulas(),
        ) {
            prop_assert_eq!(allocate(total, &kids, &f), allocate(total, &shuffled, &f));
        }

        #[test]
        fn growing_the_total_never_shrinks_the_sum(kids in inputs(300), total in 0..=100_000_i64, more in 0..=5_000_i64, f in formulas()) {
            let (a, b) = (allocate(total, &kids, &f), allocate(total + more, &kids, &f));
            prop_assert!(b.total - b.undistributed >= a.total - a.undistributed);
            prop_assert!(b.undistributed >= a.undistributed);
        }

        #[test]
        fn equal_shares_are_house_monotone(kids in inputs(300), total in 0..=100_000_i64, more in 0..=300_i64, caps in any::<(bool, bool)>()) {
            let f = Formula { deduct_stock: false, cap_by_request: caps.0, cap_by_capacity: caps.1, ..only(Quota::Equal) };
            let (a, b) = (allocate(total, &kids, &f), allocate(total + more, &kids, &f));
            for (x, y) in a.lines.iter().zip(&b.lines) {
                prop_assert!(y.amount >= x.amount, "{}: {} → {}", x.code, x.amount, y.amount);
            }
        }

        #[test]
        fn one_quota_loses_at_most_one_unit(kids in inputs(300), total in 0..=100_000_i64, more in 0..=300_i64, q in 0..5_usize, stock_and_caps in any::<(bool, bool, bool)>()) {
            let (deduct_stock, cap_by_request, cap_by_capacity) = stock_and_caps;
            let f = Formula { deduct_stock, cap_by_request, cap_by_capacity, ..only(Quota::ALL[q]) };
            let (a, b) = (allocate(total, &kids, &f), allocate(total + more, &kids, &f));
            for (x, y) in a.lines.iter().zip(&b.lines) {
                prop_assert!(y.amount + 1 >= x.amount, "{}: {} → {}", x.code, x.amount, y.amount);
                if x.explanation.cap.is_some() {
                    prop_assert_eq!(y.amount, x.amount, "a capped child stays at its cap");
                }
            }
        }

        #[test]
        fn trees_never_exceed_their_parents(
            total in 0..=100_000_i64,
            f in formulas(),
            prefectures in inputs(12),
            municipalities in inputs(30),
            sites in inputs(60),
        ) {
            let nation = allocate(total, &prefectures, &f);
            check(total, &prefectures, &f, &nation);
            for p in &nation.lines {
                let towns = allocate(p.amount, &municipalities, &f);
                check(p.amount, &municipalities, &f, &towns);
                for m in towns.lines.iter().take(3) {
                    let s = allocate(m.amount, &sites, &f);
                    check(m.amount, &sites, &f, &s);
                    prop_assert!(s.lines.iter().map(|l| l.amount).sum::<i64>() <= m.amount);
                }
            }
        }
    }
}
