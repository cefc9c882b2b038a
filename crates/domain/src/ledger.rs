//! A vaccination site's stock ledger (在庫台帳), per lot and append-only.
//!
//! Every entry is a signed [`Movement`] of one lot in exact vials *and* doses. A lot belongs to
//! one cycle, which fixes its doses per vial (`dpv`). The rules:
//!
//! - [`EntryKind::Delivered`] and [`EntryKind::TransferIn`] add whole vials (`+v`, `+v·dpv`),
//!   [`EntryKind::TransferOut`] removes them (hub → satellite).
//! - [`EntryKind::Administered`]: a day's doses open `⌈d ÷ dpv⌉` vials, using lots up in FIFO
//!   order (order of first appearance in the ledger). The entry is `{−opened, −d}` per lot; the
//!   unused doses of the last opened vial of a lot are a separate [`EntryKind::Wasted`] entry
//!   `{0, −(opened·dpv − d)}` with reason [`WasteReason::OpenedVialRemainder`]. So after each
//!   day `doses == vials · dpv` holds again for every lot.
//! - [`EntryKind::Wasted`] vials reported by the site: `{−w, −w·dpv}` with a reason.
//! - [`EntryKind::Correction`]: the negation of an earlier entry ([`reverse`], checked by
//!   [`correct`]). Nothing is ever edited; the caller keeps which entry a correction reverses.
//!
//! Pure and exact: integers only, no I/O, no clock. Arithmetic that could overflow `i64` is
//! checked ([`LedgerError::TooLarge`]) when making entries and saturating when summing them.

use crate::i18n::{Lang, Msg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

crate::code_enum! {
    /// What a ledger entry records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum EntryKind as "ledger entry kind" {
        Delivered = "delivered",
        TransferIn = "transfer_in",
        TransferOut = "transfer_out",
        Administered = "administered",
        Wasted = "wasted",
        Correction = "correction",
    }
}

impl EntryKind {
    /// The name shown on screens and in CSV headers.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (EntryKind::Delivered, Lang::Ja) => "納入",
            (EntryKind::TransferIn, Lang::Ja) => "移送受入",
            (EntryKind::TransferOut, Lang::Ja) => "移送払出",
            (EntryKind::Administered, Lang::Ja) => "接種",
            (EntryKind::Wasted, Lang::Ja) => "廃棄",
            (EntryKind::Correction, Lang::Ja) => "訂正",
            (EntryKind::Delivered, Lang::En) => "Delivered",
            (EntryKind::TransferIn, Lang::En) => "Transfer in",
            (EntryKind::TransferOut, Lang::En) => "Transfer out",
            (EntryKind::Administered, Lang::En) => "Administered",
            (EntryKind::Wasted, Lang::En) => "Wasted",
            (EntryKind::Correction, Lang::En) => "Correction",
        }
    }
}

/// Why vials or doses were wasted (廃棄理由).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WasteReason {
    ExpiredAfterThaw,
    Breakage,
    ColdChain,
    /// Unused doses of a vial opened for the day; recorded by [`plan_day`], never by a site.
    OpenedVialRemainder,
    Other,
}

impl WasteReason {
    pub const ALL: &'static [WasteReason] = &[
        WasteReason::ExpiredAfterThaw,
        WasteReason::Breakage,
        WasteReason::ColdChain,
        WasteReason::OpenedVialRemainder,
        WasteReason::Other,
    ];

    /// The reasons a site may choose when it reports wasted vials.
    pub const REPORTABLE: &'static [WasteReason] = &[
        WasteReason::ExpiredAfterThaw,
        WasteReason::Breakage,
        WasteReason::ColdChain,
        WasteReason::Other,
    ];

    /// The serialised name (`expired_after_thaw`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            WasteReason::ExpiredAfterThaw => "expired_after_thaw",
            WasteReason::Breakage => "breakage",
            WasteReason::ColdChain => "cold_chain",
            WasteReason::OpenedVialRemainder => "opened_vial_remainder",
            WasteReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<WasteReason> {
        WasteReason::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (WasteReason::ExpiredAfterThaw, Lang::Ja) => "解凍後の期限切れ",
            (WasteReason::Breakage, Lang::Ja) => "破損",
            (WasteReason::ColdChain, Lang::Ja) => "温度逸脱",
            (WasteReason::OpenedVialRemainder, Lang::Ja) => "開封バイアルの残り",
            (WasteReason::Other, Lang::Ja) => "その他",
            (WasteReason::ExpiredAfterThaw, Lang::En) => "Expired after thawing",
            (WasteReason::Breakage, Lang::En) => "Breakage",
            (WasteReason::ColdChain, Lang::En) => "Temperature excursion",
            (WasteReason::OpenedVialRemainder, Lang::En) => "Remainder of an opened vial",
            (WasteReason::Other, Lang::En) => "Other",
        }
    }
}

/// One ledger entry: a signed movement of one lot, in vials and in doses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub lot: String,
    pub kind: EntryKind,
    pub vials: i64,
    pub doses: i64,
    /// The lot's doses per vial (fixed by its cycle).
    pub doses_per_vial: i64,
    /// Only for [`EntryKind::Wasted`].
    pub reason: Option<WasteReason>,
}

/// The stock of one lot, summed from its entries.
///
/// The six totals are in doses, signed as they add up:
/// `doses == delivered + transferred_in − transferred_out − administered − wasted + corrected`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct LotBalance {
    pub lot: String,
    pub doses_per_vial: i64,
    pub vials: i64,
    pub doses: i64,
    pub delivered: i64,
    pub transferred_in: i64,
    pub transferred_out: i64,
    pub administered: i64,
    pub wasted: i64,
    pub corrected: i64,
}

impl LotBalance {
    /// Whole vials that can be used: `min(vials, ⌊doses ÷ dpv⌋)`, never negative (0 when the
    /// doses per vial is not positive). Equals `vials` whenever `doses == vials · dpv`.
    fn usable_vials(&self) -> i64 {
        if self.doses_per_vial < 1 {
            return 0;
        }
        self.vials
            .min(self.doses.div_euclid(self.doses_per_vial))
            .max(0)
    }
}

fn add(acc: &mut i64, v: i64) {
    *acc = acc.saturating_add(v);
}

fn sub(acc: &mut i64, v: i64) {
    *acc = acc.saturating_sub(v);
}

/// Sums entries into one balance per lot, in FIFO order (order of first appearance). A lot's
/// doses per vial is the one of its first entry.
pub fn balances<'a>(entries: impl IntoIterator<Item = &'a Movement>) -> Vec<LotBalance> {
    let mut out: Vec<LotBalance> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    for m in entries {
        let i = *index.entry(m.lot.as_str()).or_insert_with(|| {
            out.push(LotBalance {
                lot: m.lot.clone(),
                doses_per_vial: m.doses_per_vial,
                ..LotBalance::default()
            });
            out.len() - 1
        });
        let Some(b) = out.get_mut(i) else { continue };
        add(&mut b.vials, m.vials);
        add(&mut b.doses, m.doses);
        match m.kind {
            EntryKind::Delivered => add(&mut b.delivered, m.doses),
            EntryKind::TransferIn => add(&mut b.transferred_in, m.doses),
            EntryKind::TransferOut => sub(&mut b.transferred_out, m.doses),
            EntryKind::Administered => sub(&mut b.administered, m.doses),
            EntryKind::Wasted => sub(&mut b.wasted, m.doses),
            EntryKind::Correction => add(&mut b.corrected, m.doses),
        }
    }
    out
}

/// The doses in stock over all lots.
pub fn total_doses(b: &[LotBalance]) -> i64 {
    b.iter().fold(0i64, |acc, l| acc.saturating_add(l.doses))
}

/// Why a movement was refused. Nothing is recorded when one is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// Deliveries and transfers need ≥ 1 vial; doses given and vials wasted ≥ 0.
    NotPositive,
    /// Doses per vial must be ≥ 1.
    DosesPerVial,
    /// More doses given than the stock holds.
    MoreThanStock { available_doses: i64 },
    /// More vials (transferred, wasted or reversed) than the stock holds.
    MoreVialsThanStock { available_vials: i64 },
    /// The lot has no entry in the ledger.
    UnknownLot,
    /// An amount overflows `i64`.
    TooLarge,
    /// A correction would leave a lot with `doses ≠ vials · dpv` (e.g. a day's administered
    /// entry reversed without its opened-vial remainder).
    Unbalanced,
    /// [`WasteReason::OpenedVialRemainder`] given as the reason of vials a site wasted.
    ReasonNotReportable,
}

impl LedgerError {
    /// The catalogue message (without the number of [`LedgerError::MoreThanStock`] and
    /// [`LedgerError::MoreVialsThanStock`]; see [`LedgerError::text`]).
    pub fn msg(&self) -> Msg {
        match self {
            LedgerError::NotPositive => Msg::LedgerNotPositive,
            LedgerError::DosesPerVial => Msg::LedgerDosesPerVial,
            LedgerError::MoreThanStock { .. } => Msg::LedgerMoreThanStock,
            LedgerError::MoreVialsThanStock { .. } => Msg::LedgerMoreVialsThanStock,
            LedgerError::UnknownLot => Msg::LedgerUnknownLot,
            LedgerError::TooLarge => Msg::LedgerTooLarge,
            LedgerError::Unbalanced => Msg::LedgerUnbalanced,
            LedgerError::ReasonNotReportable => Msg::LedgerReasonNotReportable,
        }
    }

    /// The message with the available stock when there is one.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (LedgerError::MoreThanStock { available_doses: n }, Lang::Ja) => {
                format!("在庫（{n}回分）を超える接種回数は登録できません。")
            }
            (LedgerError::MoreThanStock { available_doses: n }, Lang::En) => {
                format!("The doses given cannot exceed the stock ({n} doses).")
            }
            (LedgerError::MoreVialsThanStock { available_vials: n }, Lang::Ja) => {
                format!("在庫（{n}バイアル）を超えるバイアル数は登録できません。")
            }
            (LedgerError::MoreVialsThanStock { available_vials: n }, Lang::En) => {
                format!("The number of vials cannot exceed the stock ({n} vials).")
            }
            _ => self.msg().text(lang).to_owned(),
        }
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl std::error::Error for LedgerError {}

fn whole_vials(
    lot: &str,
    kind: EntryKind,
    vials: i64,
    dpv: i64,
    reason: Option<WasteReason>,
) -> Result<Movement, LedgerError> {
    let doses = vials.checked_mul(dpv).ok_or(LedgerError::TooLarge)?;
    Ok(Movement {
        lot: lot.to_owned(),
        kind,
        vials,
        doses,
        doses_per_vial: dpv,
        reason,
    })
}

/// A delivery of whole vials: `{+vials, +vials·dpv}`. The lot number is taken as given.
pub fn deliver(lot: &str, vials: i64, doses_per_vial: i64) -> Result<Movement, LedgerError> {
    if vials < 1 {
        return Err(LedgerError::NotPositive);
    }
    if doses_per_vial < 1 {
        return Err(LedgerError::DosesPerVial);
    }
    whole_vials(lot, EntryKind::Delivered, vials, doses_per_vial, None)
}

/// A transfer of whole vials of one lot: the `TransferOut` entry for this ledger and the
/// `TransferIn` entry for the receiving site's ledger. Refused beyond the lot's vials.
pub fn transfer(
    balances: &[LotBalance],
    lot: &str,
    vials: i64,
) -> Result<(Movement, Movement), LedgerError> {
    if vials < 1 {
        return Err(LedgerError::NotPositive);
    }
    let b = balances
        .iter()
        .find(|b| b.lot == lot)
        .ok_or(LedgerError::UnknownLot)?;
    if b.doses_per_vial < 1 {
        return Err(LedgerError::DosesPerVial);
    }
    let available_vials = b.usable_vials();
    if vials > available_vials {
        return Err(LedgerError::MoreVialsThanStock { available_vials });
    }
    let out = whole_vials(lot, EntryKind::TransferOut, -vials, b.doses_per_vial, None)?;
    let inn = whole_vials(lot, EntryKind::TransferIn, vials, b.doses_per_vial, None)?;
    Ok((out, inn))
}

/// The entries of one day: `administered_doses` given, then `wasted_vials` reported wasted.
///
/// Doses are taken FIFO over the lots with usable vials, in the order of `balances` (as
/// [`balances`] returns them): each lot opens `⌈doses from it ÷ dpv⌉` vials, and the unused
/// doses of its last opened vial are a `Wasted` entry with reason `OpenedVialRemainder`.
/// Wasted vials are then taken FIFO from the vials left. Zero amounts give no entries. The
/// whole day is refused, with no entries, when either amount exceeds the stock.
pub fn plan_day(
    balances: &[LotBalance],
    administered_doses: i64,
    wasted_vials: i64,
    reason: WasteReason,
) -> Result<Vec<Movement>, LedgerError> {
    if administered_doses < 0 || wasted_vials < 0 {
        return Err(LedgerError::NotPositive);
    }
    if wasted_vials > 0 && reason == WasteReason::OpenedVialRemainder {
        return Err(LedgerError::ReasonNotReportable);
    }
    let available_doses = balances.iter().fold(0i64, |acc, b| {
        acc.saturating_add(b.usable_vials().saturating_mul(b.doses_per_vial))
    });
    if administered_doses > available_doses {
        return Err(LedgerError::MoreThanStock { available_doses });
    }

    let mut out = Vec::new();
    let mut left: Vec<i64> = balances.iter().map(LotBalance::usable_vials).collect();
    let mut remaining = administered_doses;
    for (b, left) in balances.iter().zip(left.iter_mut()) {
        if remaining == 0 {
            break;
        }
        if *left == 0 {
            continue;
        }
        let dpv = b.doses_per_vial;
        // `left · dpv ≤ doses` and `remaining ≤ available_doses`, so nothing here overflows.
        let taken = remaining.min(*left * dpv);
        let opened = taken / dpv + i64::from(taken % dpv != 0);
        out.push(Movement {
            lot: b.lot.clone(),
            kind: EntryKind::Administered,
            vials: -opened,
            doses: -taken,
            doses_per_vial: dpv,
            reason: None,
        });
        let unused = opened * dpv - taken;
        if unused > 0 {
            out.push(Movement {
                lot: b.lot.clone(),
                kind: EntryKind::Wasted,
                vials: 0,
                doses: -unused,
                doses_per_vial: dpv,
                reason: Some(WasteReason::OpenedVialRemainder),
            });
        }
        *left -= opened;
        remaining -= taken;
    }

    let available_vials = left.iter().fold(0i64, |acc, v| acc.saturating_add(*v));
    if wasted_vials > available_vials {
        return Err(LedgerError::MoreVialsThanStock { available_vials });
    }
    let mut remaining = wasted_vials;
    for (b, left) in balances.iter().zip(&left) {
        if remaining == 0 {
            break;
        }
        let n = remaining.min(*left);
        if n > 0 {
            out.push(whole_vials(
                &b.lot,
                EntryKind::Wasted,
                -n,
                b.doses_per_vial,
                Some(reason),
            )?);
            remaining -= n;
        }
    }
    Ok(out)
}

/// The correction of an entry: kind `Correction`, vials and doses negated, same lot and
/// doses per vial, no reason. Unchecked; see [`correct`].
pub fn reverse(m: &Movement) -> Movement {
    Movement {
        lot: m.lot.clone(),
        kind: EntryKind::Correction,
        vials: m.vials.saturating_neg(),
        doses: m.doses.saturating_neg(),
        doses_per_vial: m.doses_per_vial,
        reason: None,
    }
}

/// The corrections reversing `originals` (earlier entries of this ledger, e.g. all entries of
/// one day), refused as a whole unless every lot they touch ends with `vials ≥ 0`, `doses ≥ 0`
/// and `doses == vials · dpv`. A day's `Administered` entry and its opened-vial remainder must
/// therefore be reversed together.
pub fn correct(
    balances: &[LotBalance],
    originals: &[Movement],
) -> Result<Vec<Movement>, LedgerError> {
    // (index in `balances`, vials after, doses after)
    let mut after: Vec<(usize, i64, i64)> = Vec::new();
    for m in originals {
        let i = balances
            .iter()
            .position(|b| b.lot == m.lot)
            .ok_or(LedgerError::UnknownLot)?;
        let slot = match after.iter().position(|(j, _, _)| *j == i) {
            Some(k) => k,
            None => {
                let b = &balances[i];
                after.push((i, b.vials, b.doses));
                after.len() - 1
            }
        };
        let (_, vials, doses) = &mut after[slot];
        *vials = vials.checked_sub(m.vials).ok_or(LedgerError::TooLarge)?;
        *doses = doses.checked_sub(m.doses).ok_or(LedgerError::TooLarge)?;
    }
    for &(i, vials, doses) in &after {
        let b = &balances[i];
        if vials < 0 {
            return Err(LedgerError::MoreVialsThanStock {
                available_vials: b.vials,
            });
        }
        if vials.checked_mul(b.doses_per_vial) != Some(doses) {
            return Err(LedgerError::Unbalanced);
        }
        if doses < 0 {
            return Err(LedgerError::MoreThanStock {
                available_doses: b.doses,
            });
        }
    }
    Ok(originals.iter().map(reverse).collect())
}

/// Days of supply (在庫日数): `⌊stock ÷ (administered ÷ window)⌋`, i.e.
/// `⌊stock · window ÷ administered⌋`. `None` when nothing was administered in the window (or
/// the window is not positive).
pub fn days_of_supply(
    stock_doses: i64,
    administered_doses_in_window: i64,
    window_days: i64,
) -> Option<i64> {
    if administered_doses_in_window <= 0 || window_days <= 0 {
        return None;
    }
    let days = (i128::from(stock_doses) * i128::from(window_days))
        .div_euclid(i128::from(administered_doses_in_window));
    Some(i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX }))
}

/// Idle stock (偏在): some stock, and either no use in the window or more than
/// `threshold_days` days of supply.
pub fn is_idle(
    stock_doses: i64,
    administered_doses_in_window: i64,
    window_days: i64,
    threshold_days: i64,
) -> bool {
    stock_doses > 0
        && days_of_supply(stock_doses, administered_doses_in_window, window_days)
            .is_none_or(|d| d > threshold_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mv(lot: &str, kind: EntryKind, vials: i64, doses: i64, dpv: i64) -> Movement {
        Movement {
            lot: lot.to_owned(),
            kind,
            vials,
            doses,
            doses_per_vial: dpv,
            reason: None,
        }
    }

    fn remainder(lot: &str, doses: i64, dpv: i64) -> Movement {
        Movement {
            reason: Some(WasteReason::OpenedVialRemainder),
            ..mv(lot, EntryKind::Wasted, 0, -doses, dpv)
        }
    }

    fn wasted(lot: &str, vials: i64, dpv: i64, reason: WasteReason) -> Movement {
        Movement {
            reason: Some(reason),
            ..mv(lot, EntryKind::Wasted, -vials, -vials * dpv, dpv)
        }
    }

    #[test]
    fn a_day_opens_whole_vials_and_wastes_the_remainder() {
        let mut ledger = vec![deliver("A1", 10, 6).unwrap()];
        assert_eq!(ledger[0], mv("A1", EntryKind::Delivered, 10, 60, 6));
        let day = plan_day(&balances(&ledger), 20, 0, WasteReason::Other).unwrap();
        assert_eq!(
            day,
            vec![
                mv("A1", EntryKind::Administered, -4, -20, 6),
                remainder("A1", 4, 6)
            ]
        );
        ledger.extend(day);
        let b = balances(&ledger);
        assert_eq!(
            b,
            vec![LotBalance {
                lot: "A1".into(),
                doses_per_vial: 6,
                vials: 6,
                doses: 36,
                delivered: 60,
                administered: 20,
                wasted: 4,
                ..LotBalance::default()
            }]
        );
        assert_eq!(total_doses(&b), 36);
        // A multiple of the vial size leaves no remainder; zero amounts give no entries.
        assert_eq!(
            plan_day(&b, 12, 0, WasteReason::Other).unwrap(),
            vec![mv("A1", EntryKind::Administered, -2, -12, 6)]
        );
        assert_eq!(plan_day(&b, 0, 0, WasteReason::Other).unwrap(), vec![]);
    }

    #[test]
    fn lots_are_used_up_in_order_of_first_appearance() {
        let ledger = vec![
            deliver("B", 3, 5).unwrap(),
            deliver("A", 2, 6).unwrap(),
            deliver("B", 1, 5).unwrap(),
        ];
        let b = balances(&ledger);
        assert_eq!(
            b.iter()
                .map(|l| (l.lot.as_str(), l.vials))
                .collect::<Vec<_>>(),
            vec![("B", 4), ("A", 2)]
        );
        // 23 doses: all 20 of B, then 3 of A (one vial opened, 3 doses left over); then 1
        // vial wasted, from A since B is empty.
        let day = plan_day(&b, 23, 1, WasteReason::Breakage).unwrap();
        assert_eq!(
            day,
            vec![
                mv("B", EntryKind::Administered, -4, -20, 5),
                mv("A", EntryKind::Administered, -1, -3, 6),
                remainder("A", 3, 6),
                wasted("A", 1, 6, WasteReason::Breakage),
            ]
        );
        // Wasted vials are taken FIFO from what the doses left.
        let day = plan_day(&b, 7, 3, WasteReason::ColdChain).unwrap();
        assert_eq!(
            day,
            vec![
                mv("B", EntryKind::Administered, -2, -7, 5),
                remainder("B", 3, 5),
                wasted("B", 2, 5, WasteReason::ColdChain),
                wasted("A", 1, 6, WasteReason::ColdChain),
            ]
        );
        let mut all = ledger.clone();
        all.extend(day);
        let after = balances(&all);
        assert_eq!(
            after.iter().map(|l| (l.vials, l.doses)).collect::<Vec<_>>(),
            vec![(0, 0), (1, 6)]
        );
    }

    #[test]
    fn more_than_stock_is_refused_as_a_whole() {
        let b = balances(&[deliver("A1", 10, 6).unwrap()]);
        assert_eq!(
            plan_day(&b, 61, 0, WasteReason::Other),
            Err(LedgerError::MoreThanStock {
                available_doses: 60
            })
        );
        assert_eq!(
            plan_day(&b, 55, 1, WasteReason::Other),
            Err(LedgerError::MoreVialsThanStock { available_vials: 0 })
        );
        assert_eq!(
            plan_day(&b, 0, 11, WasteReason::Other),
            Err(LedgerError::MoreVialsThanStock {
                available_vials: 10
            })
        );
        assert_eq!(
            plan_day(&b, -1, 0, WasteReason::Other),
            Err(LedgerError::NotPositive)
        );
        assert_eq!(
            plan_day(&b, 0, -1, WasteReason::Other),
            Err(LedgerError::NotPositive)
        );
        assert_eq!(
            plan_day(&b, 0, 1, WasteReason::OpenedVialRemainder),
            Err(LedgerError::ReasonNotReportable)
        );
        assert_eq!(
            plan_day(&[], 1, 0, WasteReason::Other),
            Err(LedgerError::MoreThanStock { available_doses: 0 })
        );
        assert_eq!(plan_day(&b, 60, 0, WasteReason::Other).unwrap().len(), 1);
        assert_eq!(deliver("A1", 0, 6), Err(LedgerError::NotPositive));
        assert_eq!(deliver("A1", 1, 0), Err(LedgerError::DosesPerVial));
        assert_eq!(deliver("A1", i64::MAX, 6), Err(LedgerError::TooLarge));
    }

    #[test]
    fn transfers_move_whole_vials() {
        let mut hub = vec![deliver("A1", 10, 6).unwrap()];
        let (out, inn) = transfer(&balances(&hub), "A1", 3).unwrap();
        assert_eq!(out, mv("A1", EntryKind::TransferOut, -3, -18, 6));
        assert_eq!(inn, mv("A1", EntryKind::TransferIn, 3, 18, 6));
        hub.push(out);
        let b = balances(&hub);
        assert_eq!((b[0].vials, b[0].doses, b[0].transferred_out), (7, 42, 18));
        let satellite = balances(&[inn]);
        assert_eq!((satellite[0].vials, satellite[0].transferred_in), (3, 18));
        assert_eq!(
            transfer(&b, "A1", 8),
            Err(LedgerError::MoreVialsThanStock { available_vials: 7 })
        );
        assert_eq!(transfer(&b, "A1", 0), Err(LedgerError::NotPositive));
        assert_eq!(transfer(&b, "ZZ", 1), Err(LedgerError::UnknownLot));
    }

    #[test]
    fn corrections_reverse_without_editing() {
        let mut ledger = vec![deliver("A1", 10, 6).unwrap()];
        ledger.extend(plan_day(&balances(&ledger), 20, 0, WasteReason::Other).unwrap());
        let before = ledger.clone();

        let r = reverse(&ledger[1]);
        assert_eq!(r, mv("A1", EntryKind::Correction, 4, 20, 6));
        assert_eq!(reverse(&r).vials, -4);

        let b = balances(&ledger);
        // The administered entry alone would leave doses and vials out of step.
        assert_eq!(correct(&b, &ledger[1..2]), Err(LedgerError::Unbalanced));
        // Taking back the delivery would leave −4 vials.
        assert_eq!(
            correct(&b, &ledger[0..1]),
            Err(LedgerError::MoreVialsThanStock { available_vials: 6 })
        );
        assert_eq!(
            correct(&b, &[mv("ZZ", EntryKind::Delivered, 1, 6, 6)]),
            Err(LedgerError::UnknownLot)
        );
        // The whole day at once is fine.
        let fix = correct(&b, &ledger[1..3]).unwrap();
        assert_eq!(
            fix,
            vec![
                mv("A1", EntryKind::Correction, 4, 20, 6),
                mv("A1", EntryKind::Correction, 0, 4, 6)
            ]
        );
        ledger.extend(fix);
        assert_eq!(ledger[..before.len()], before[..]);
        let b = balances(&ledger);
        assert_eq!((b[0].vials, b[0].doses, b[0].corrected), (10, 60, 24));
        assert_eq!(correct(&b, &[]), Ok(vec![]));
    }

    #[test]
    fn names_labels_and_messages() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
            assert_ne!(k.label(Lang::Ja), k.label(Lang::En));
        }
        for r in WasteReason::ALL {
            assert_eq!(WasteReason::parse(r.as_str()), Some(*r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
            assert_ne!(r.label(Lang::Ja), r.label(Lang::En));
        }
        assert_eq!(EntryKind::parse("nope"), None);
        assert_eq!(EntryKind::TransferIn.label(Lang::Ja), "移送受入");
        assert_eq!(WasteReason::ColdChain.label(Lang::Ja), "温度逸脱");
        assert!(!WasteReason::REPORTABLE.contains(&WasteReason::OpenedVialRemainder));
        assert_eq!(WasteReason::REPORTABLE.len(), 4);

        let e = LedgerError::MoreThanStock {
            available_doses: 36,
        };
        assert_eq!(e.msg(), Msg::LedgerMoreThanStock);
        assert_eq!(
            e.text(Lang::Ja),
            "在庫（36回分）を超える接種回数は登録できません。"
        );
        assert!(e.to_string().contains("36 doses"));
        assert_eq!(
            LedgerError::UnknownLot.text(Lang::En),
            Msg::LedgerUnknownLot.text(Lang::En)
        );

        let m = wasted("A1", 2, 6, WasteReason::Breakage);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"kind\":\"wasted\"") && json.contains("\"breakage\""));
        assert_eq!(serde_json::from_str::<Movement>(&json).unwrap(), m);
    }

    #[test]
    fn days_of_supply_and_idle_stock() {
        assert_eq!(days_of_supply(100, 30, 7), Some(23));
        assert_eq!(days_of_supply(0, 30, 7), Some(0));
        assert_eq!(days_of_supply(100, 0, 7), None);
        assert_eq!(days_of_supply(100, 30, 0), None);
        assert_eq!(days_of_supply(i64::MAX, 1, 7), Some(i64::MAX));
        assert!(!is_idle(0, 0, 7, 14));
        assert!(is_idle(10, 0, 7, 14));
        assert!(is_idle(100, 30, 7, 14));
        assert!(!is_idle(100, 70, 7, 14));
        // Exactly at the threshold is not idle.
        assert!(!is_idle(140, 70, 7, 14));
        assert!(is_idle(150, 70, 7, 14));
    }

    // ---- Property: the ledger adds up after any sequence of accepted steps. ----

    const LOTS: [&str; 4] = ["L0", "L1", "L2", "L3"]; // L3 is never delivered

    #[derive(Debug, Clone)]
    enum Ev {
        Deliver {
            lot: usize,
            vials: i64,
        },
        Transfer {
            lot: usize,
            vials: i64,
        },
        Day {
            doses: i64,
            wasted: i64,
            reason: usize,
        },
        Correct {
            pick: prop::sample::Index,
            whole_step: bool,
        },
    }

    fn ev() -> impl Strategy<Value = Ev> {
        prop_oneof![
            3 => (0..3usize, 1..=20i64).prop_map(|(lot, vials)| Ev::Deliver { lot, vials }),
            2 => (0..4usize, -1..=12i64).prop_map(|(lot, vials)| Ev::Transfer { lot, vials }),
            4 => (-2..=80i64, -1..=6i64, 0..WasteReason::ALL.len())
                .prop_map(|(doses, wasted, reason)| Ev::Day { doses, wasted, reason }),
            2 => (any::<prop::sample::Index>(), any::<bool>())
                .prop_map(|(pick, whole_step)| Ev::Correct { pick, whole_step }),
        ]
    }

    /// The test's own account of one lot, kept from the events, not from the entries.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Lot {
        vials: i64,
        doses: i64,
        delivered: i64,
        tin: i64,
        tout: i64,
        administered: i64,
        wasted: i64,
        corrected: i64,
    }

    #[derive(Debug, Clone, Default)]
    struct Model {
        dpv: [i64; 4],
        /// Lots in order of first delivery.
        order: Vec<usize>,
        lots: [Lot; 4],
    }

    fn lot_index(name: &str) -> usize {
        LOTS.iter().position(|l| *l == name).unwrap()
    }

    /// Simulates a day dose by dose and vial by vial. Per lot position in `order`:
    /// (doses given, vials opened, remainder doses, vials wasted).
    #[allow(clippy::type_complexity)]
    fn simulate_day(
        model: &Model,
        doses: i64,
        wasted: i64,
    ) -> Result<Vec<(i64, i64, i64, i64)>, LedgerError> {
        let n = model.order.len();
        let dpv: Vec<i64> = model.order.iter().map(|&l| model.dpv[l]).collect();
        let mut vials: Vec<i64> = model.order.iter().map(|&l| model.lots[l].vials).collect();
        let mut out = vec![(0, 0, 0, 0); n];
        let mut open: Option<(usize, i64)> = None;
        for _ in 0..doses {
            let (p, left) = match open {
                Some((p, left)) if left > 0 => (p, left),
                _ => {
                    let Some(p) = (0..n).find(|&p| vials[p] > 0) else {
                        let available_doses = model
                            .order
                            .iter()
                            .map(|&l| model.lots[l].vials * model.dpv[l])
                            .sum();
                        return Err(LedgerError::MoreThanStock { available_doses });
                    };
                    vials[p] -= 1;
                    out[p].1 += 1;
                    (p, dpv[p])
                }
            };
            out[p].0 += 1;
            open = Some((p, left - 1));
        }
        if let Some((p, left)) = open {
            out[p].2 += left;
        }
        let available_vials = vials.iter().sum();
        for _ in 0..wasted {
            let Some(p) = (0..n).find(|&p| vials[p] > 0) else {
                return Err(LedgerError::MoreVialsThanStock { available_vials });
            };
            vials[p] -= 1;
            out[p].3 += 1;
        }
        Ok(out)
    }

    /// Checks every rule on the entries as they stand.
    fn check(model: &Model, ledger: &[Movement]) -> Result<(), TestCaseError> {
        let mut expected = Vec::new();
        for &l in &model.order {
            let name = LOTS[l];
            let dpv = model.dpv[l];
            let own: Vec<&Movement> = ledger.iter().filter(|m| m.lot == name).collect();
            let sum = |k: Option<EntryKind>, field: fn(&Movement) -> i64| -> i64 {
                own.iter()
                    .filter(|m| k.is_none_or(|k| m.kind == k))
                    .map(|m| field(m))
                    .sum()
            };
            let vials = sum(None, |m| m.vials);
            let doses = sum(None, |m| m.doses);
            let delivered = sum(Some(EntryKind::Delivered), |m| m.doses);
            let tin = sum(Some(EntryKind::TransferIn), |m| m.doses);
            let tout = -sum(Some(EntryKind::TransferOut), |m| m.doses);
            let administered = -sum(Some(EntryKind::Administered), |m| m.doses);
            let wasted = -sum(Some(EntryKind::Wasted), |m| m.doses);
            let corrected = sum(Some(EntryKind::Correction), |m| m.doses);
            let m = model.lots[l];
            prop_assert!(own.iter().all(|e| e.doses_per_vial == dpv));
            prop_assert_eq!(
                doses,
                m.delivered + m.tin - m.tout - m.administered - m.wasted + m.corrected
            );
            prop_assert_eq!(
                (
                    vials,
                    doses,
                    delivered,
                    tin,
                    tout,
                    administered,
                    wasted,
                    corrected
                ),
                (
                    m.vials,
                    m.doses,
                    m.delivered,
                    m.tin,
                    m.tout,
                    m.administered,
                    m.wasted,
                    m.corrected
                )
            );
            prop_assert_eq!(vials * dpv, doses);
            prop_assert!(vials >= 0 && doses >= 0);
            expected.push(LotBalance {
                lot: name.to_owned(),
                doses_per_vial: dpv,
                vials,
                doses,
                delivered,
                transferred_in: tin,
                transferred_out: tout,
                administered,
                wasted,
                corrected,
            });
        }
        let b = balances(ledger);
        prop_assert_eq!(
            total_doses(&b),
            expected.iter().map(|l| l.doses).sum::<i64>()
        );
        prop_assert_eq!(b, expected);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn the_ledger_always_adds_up(
            dpv in prop::array::uniform4(1..=10i64),
            events in prop::collection::vec(ev(), 1..60),
        ) {
            let mut model = Model { dpv, ..Model::default() };
            let mut ledger: Vec<Movement> = Vec::new();
            // Entry ranges appended by each accepted step, to correct a whole step at once.
            let mut steps: Vec<std::ops::Range<usize>> = Vec::new();
            let mut satellite: Vec<Movement> = Vec::new();
            let mut sent = [0i64; 4];

            for e in events {
                let before = ledger.clone();
                let b = balances(&ledger);
                let new: Vec<Movement> = match e {
                    Ev::Deliver { lot, vials } => {
                        let m = deliver(LOTS[lot], vials, model.dpv[lot]).unwrap();
                        if !model.order.contains(&lot) {
                            model.order.push(lot);
                        }
                        let l = &mut model.lots[lot];
                        l.vials += vials;
                        l.doses += vials * model.dpv[lot];
                        l.delivered += vials * model.dpv[lot];
                        vec![m]
                    }
                    Ev::Transfer { lot, vials } => {
                        let got = transfer(&b, LOTS[lot], vials);
                        let want = if vials < 1 {
                            Err(LedgerError::NotPositive)
                        } else if !model.order.contains(&lot) {
                            Err(LedgerError::UnknownLot)
                        } else if vials > model.lots[lot].vials {
                            Err(LedgerError::MoreVialsThanStock {
                                available_vials: model.lots[lot].vials,
                            })
                        } else {
                            Ok(())
                        };
                        match (got, want) {
                            (Ok((out, inn)), Ok(())) => {
                                let d = vials * model.dpv[lot];
                                prop_assert_eq!(&out, &mv(LOTS[lot], EntryKind::TransferOut, -vials, -d, model.dpv[lot]));
                                prop_assert_eq!(&inn, &mv(LOTS[lot], EntryKind::TransferIn, vials, d, model.dpv[lot]));
                                let l = &mut model.lots[lot];
                                l.vials -= vials;
                                l.doses -= d;
                                l.tout += d;
                                satellite.push(inn);
                                sent[lot] += vials;
                                vec![out]
                            }
                            (got, want) => {
                                prop_assert_eq!(got.map(|_| ()), want);
                                vec![]
                            }
                        }
                    }
                    Ev::Day { doses, wasted: w, reason } => {
                        let reason = WasteReason::ALL[reason];
                        let got = plan_day(&b, doses, w, reason);
                        let want = if doses < 0 || w < 0 {
                            Err(LedgerError::NotPositive)
                        } else if w > 0 && reason == WasteReason::OpenedVialRemainder {
                            Err(LedgerError::ReasonNotReportable)
                        } else {
                            simulate_day(&model, doses, w)
                        };
                        match (got, want) {
                            (Ok(entries), Ok(sim)) => {
                                for (p, &l) in model.order.iter().enumerate() {
                                    let (given, opened, rem, wv) = sim[p];
                                    let dpv = model.dpv[l];
                                    let lot = &mut model.lots[l];
                                    lot.vials -= opened + wv;
                                    lot.doses -= given + rem + wv * dpv;
                                    lot.administered += given;
                                    lot.wasted += rem + wv * dpv;
                                }
                                for m in &entries {
                                    prop_assert!(m.vials != 0 || m.doses != 0);
                                    match m.kind {
                                        EntryKind::Administered => prop_assert_eq!(m.reason, None),
                                        EntryKind::Wasted if m.vials == 0 => {
                                            prop_assert_eq!(m.reason, Some(WasteReason::OpenedVialRemainder))
                                        }
                                        EntryKind::Wasted => prop_assert_eq!(m.reason, Some(reason)),
                                        k => prop_assert!(false, "unexpected kind {:?}", k),
                                    }
                                }
                                entries
                            }
                            (got, want) => {
                                prop_assert_eq!(got.map(|_| ()), want.map(|_| ()));
                                vec![]
                            }
                        }
                    }
                    Ev::Correct { pick, whole_step } => {
                        if ledger.is_empty() {
                            continue;
                        }
                        let i = pick.index(ledger.len());
                        let range = if whole_step {
                            steps.iter().find(|r| r.contains(&i)).cloned().unwrap()
                        } else {
                            i..i + 1
                        };
                        let originals = ledger[range].to_vec();
                        // The test's own verdict: every touched lot must stay whole.
                        let mut after: Vec<(usize, i64, i64)> = Vec::new();
                        for o in &originals {
                            let l = lot_index(&o.lot);
                            if !after.iter().any(|(j, _, _)| *j == l) {
                                after.push((l, model.lots[l].vials, model.lots[l].doses));
                            }
                            let a = after.iter_mut().find(|(j, _, _)| *j == l).unwrap();
                            a.1 -= o.vials;
                            a.2 -= o.doses;
                        }
                        let want = after
                            .iter()
                            .find_map(|&(l, v, d)| {
                                if v < 0 {
                                    Some(LedgerError::MoreVialsThanStock {
                                        available_vials: model.lots[l].vials,
                                    })
                                } else if v * model.dpv[l] != d {
                                    Some(LedgerError::Unbalanced)
                                } else {
                                    None
                                }
                            })
                            .map_or(Ok(()), Err);
                        match (correct(&b, &originals), want) {
                            (Ok(fix), Ok(())) => {
                                prop_assert_eq!(fix.len(), originals.len());
                                for (f, o) in fix.iter().zip(&originals) {
                                    prop_assert_eq!(f, &reverse(o));
                                    prop_assert_eq!(f.kind, EntryKind::Correction);
                                    prop_assert_eq!((f.vials, f.doses), (-o.vials, -o.doses));
                                    let lot = &mut model.lots[lot_index(&o.lot)];
                                    lot.vials -= o.vials;
                                    lot.doses -= o.doses;
                                    lot.corrected -= o.doses;
                                }
                                fix
                            }
                            (got, want) => {
                                prop_assert_eq!(got.map(|_| ()), want);
                                vec![]
                            }
                        }
                    }
                };
                if !new.is_empty() {
                    steps.push(ledger.len()..ledger.len() + new.len());
                    ledger.extend(new);
                }
                // Append-only: no earlier entry ever changes.
                prop_assert_eq!(&ledger[..before.len()], &before[..]);
                check(&model, &ledger)?;
            }

            // The receiving site holds exactly what was sent.
            let sat = balances(&satellite);
            for l in &sat {
                let i = lot_index(&l.lot);
                prop_assert_eq!((l.vials, l.doses, l.transferred_in), (sent[i], sent[i] * model.dpv[i], sent[i] * model.dpv[i]));
            }
        }
    }
}
