//! The allocation chain: levels, node statuses (未確認 → 確認済 → 分配完了 → 確定) and which
//! transitions are allowed.

use crate::i18n::Lang;
use crate::org::OrgKind;
use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// A level of the chain.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        utoipa::ToSchema,
    )]
    pub enum Level as "level" {
        Nation = "nation",
        Prefecture = "prefecture",
        Municipality = "municipality",
        Site = "site",
    }
}

impl Level {
    /// The level of an organisation kind (institutions and municipal sites are both sites).
    pub fn of(kind: OrgKind) -> Option<Level> {
        match kind {
            OrgKind::Nation => Some(Level::Nation),
            OrgKind::Prefecture => Some(Level::Prefecture),
            OrgKind::Municipality => Some(Level::Municipality),
            OrgKind::Institution | OrgKind::Site => Some(Level::Site),
            _ => None,
        }
    }
    /// The level below, in the standard chain.
    pub fn child(self) -> Option<Level> {
        match self {
            Level::Nation => Some(Level::Prefecture),
            Level::Prefecture => Some(Level::Municipality),
            Level::Municipality => Some(Level::Site),
            Level::Site => None,
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Level::Nation, Lang::Ja) => "国",
            (Level::Prefecture, Lang::Ja) => "都道府県",
            (Level::Municipality, Lang::Ja) => "市町村",
            (Level::Site, Lang::Ja) => "医療機関・接種会場",
            (Level::Nation, Lang::En) => "Nation",
            (Level::Prefecture, Lang::En) => "Prefecture",
            (Level::Municipality, Lang::En) => "Municipality",
            (Level::Site, Lang::En) => "Site",
        }
    }
}

crate::code_enum! {
    /// The status of one node.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        utoipa::ToSchema,
    )]
    pub enum Status as "allocation status" {
        /// 未確認: received, not yet confirmed by its owner.
        Unconfirmed = "unconfirmed",
        /// 確認済: confirmed; the owner may divide it among its children.
        Confirmed = "confirmed",
        /// 分配完了: the owner finished dividing; the children have been told.
        Divided = "divided",
        /// 確定: finalised by the level that closes the chain; nothing below changes any more.
        Final = "final",
    }
}

impl Status {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Status::Unconfirmed, Lang::Ja) => "未確認",
            (Status::Confirmed, Lang::Ja) => "確認済",
            (Status::Divided, Lang::Ja) => "分配完了",
            (Status::Final, Lang::Ja) => "確定",
            (Status::Unconfirmed, Lang::En) => "Unconfirmed",
            (Status::Confirmed, Lang::En) => "Confirmed",
            (Status::Divided, Lang::En) => "Divided",
            (Status::Final, Lang::En) => "Final",
        }
    }
    /// CSS modifier of the status badge.
    pub fn badge(self) -> &'static str {
        match self {
            Status::Unconfirmed => "badge-unconfirmed",
            Status::Confirmed => "badge-confirmed",
            Status::Divided => "badge-divided",
            Status::Final => "badge-final",
        }
    }
}

/// Something a node's owner (or its parent) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The owner confirms what it received.
    Confirm,
    /// The owner changes its division among its children.
    EditDivision,
    /// The owner marks its division finished (分配完了).
    FinishDivision,
    /// The parent sends a finished division back to be redone.
    SendBack,
    /// The owner (divider) takes its 分配完了 back, while no child has acted on it yet.
    Withdraw,
    /// The closing level finalises (確定).
    Finalise,
}

/// Why a transition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotReleased,
    WrongStatus,
    Finalised,
}

/// The status after `t`, or why `t` is not allowed now. `released` says whether the parent has
/// handed the node down (the nation's own node always is).
pub fn apply(status: Status, released: bool, t: Transition) -> Result<Status, Refusal> {
    use Status::*;
    use Transition::*;
    if status == Final {
        return Err(Refusal::Finalised);
    }
    if !released && t != SendBack {
        return Err(Refusal::NotReleased);
    }
    match (t, status) {
        (Confirm, Unconfirmed) => Ok(Confirmed),
        (EditDivision, Confirmed) => Ok(Confirmed),
        (FinishDivision, Confirmed) => Ok(Divided),
        (SendBack | Withdraw, Divided) => Ok(Confirmed),
        (Finalise, Divided) => Ok(Final),
        _ => Err(Refusal::WrongStatus),
    }
}

/// Whether a finished division can still be withdrawn by its owner: only while every child is
/// still 未確認 (no one below has confirmed, divided or been finalised on the strength of it).
pub fn may_withdraw(children: impl IntoIterator<Item = Status>) -> bool {
    children.into_iter().all(|s| s == Status::Unconfirmed)
}

crate::code_enum! {
    /// The two chains a cycle can use.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Chain as "chain" {
        /// nation → prefecture → municipality → site; the prefecture finalises.
        Standard = "standard",
        /// The healthcare-worker priority programme (医療従事者等への先行接種): nation →
        /// prefecture → municipality, the municipality level finalised by the nation, then
        /// institutions allocated directly by the prefecture, which finalises.
        Priority = "priority",
    }
}

impl Chain {
    /// Who divides a node of `level`: the node's owner, or (priority programme, municipality
    /// level) the prefecture above it.
    pub fn divider(self, level: Level) -> Divider {
        match (self, level) {
            (Chain::Priority, Level::Municipality) => Divider::Parent,
            _ => Divider::Owner,
        }
    }

    /// Whether a municipality divides among municipal vaccination sites too (the priority
    /// programme allocates to medical institutions only).
    pub fn includes_municipal_sites(self) -> bool {
        self == Chain::Standard
    }

    /// Whether an organisation of `kind` registers requests (capacity, 希望量) in a cycle of
    /// this chain: medical institutions always, municipal sites only where they are allocated.
    pub fn takes_requests_from(self, kind: OrgKind) -> bool {
        match kind {
            OrgKind::Institution => true,
            OrgKind::Site => self.includes_municipal_sites(),
            _ => false,
        }
    }
}

/// Who acts on a node's division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divider {
    Owner,
    Parent,
}

/// The level that finalises the whole chain below it: the prefecture, in both chains (in the
/// priority programme, after the nation has fixed the municipality level).
pub fn closing_level(_chain: Chain) -> Level {
    Level::Prefecture
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_flow() {
        let s = apply(Status::Unconfirmed, true, Transition::Confirm);
        assert_eq!(s, Ok(Status::Confirmed));
        assert_eq!(
            apply(Status::Confirmed, true, Transition::EditDivision),
            Ok(Status::Confirmed)
        );
        assert_eq!(
            apply(Status::Confirmed, true, Transition::FinishDivision),
            Ok(Status::Divided)
        );
        assert_eq!(
            apply(Status::Divided, true, Transition::SendBack),
            Ok(Status::Confirmed)
        );
        assert_eq!(
            apply(Status::Divided, true, Transition::Finalise),
            Ok(Status::Final)
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            apply(Status::Unconfirmed, false, Transition::Confirm),
            Err(Refusal::NotReleased)
        );
        assert_eq!(
            apply(Status::Unconfirmed, true, Transition::EditDivision),
            Err(Refusal::WrongStatus)
        );
        assert_eq!(
            apply(Status::Divided, true, Transition::EditDivision),
            Err(Refusal::WrongStatus)
        );
        assert_eq!(
            apply(Status::Final, true, Transition::SendBack),
            Err(Refusal::Finalised)
        );
        for t in [
            Transition::Confirm,
            Transition::EditDivision,
            Transition::FinishDivision,
            Transition::Finalise,
        ] {
            assert_eq!(apply(Status::Final, true, t), Err(Refusal::Finalised));
        }
    }

    #[test]
    fn withdrawing_a_finished_division() {
        assert_eq!(
            apply(Status::Divided, true, Transition::Withdraw),
            Ok(Status::Confirmed)
        );
        for st in [Status::Unconfirmed, Status::Confirmed] {
            assert_eq!(
                apply(st, true, Transition::Withdraw),
                Err(Refusal::WrongStatus)
            );
        }
        assert_eq!(
            apply(Status::Final, true, Transition::Withdraw),
            Err(Refusal::Finalised)
        );
        assert_eq!(
            apply(Status::Divided, false, Transition::Withdraw),
            Err(Refusal::NotReleased)
        );
        assert!(may_withdraw([]));
        assert!(may_withdraw([Status::Unconfirmed, Status::Unconfirmed]));
        assert!(!may_withdraw([Status::Unconfirmed, Status::Confirmed]));
        assert!(!may_withdraw([Status::Divided]));
    }

    #[test]
    fn levels() {
        assert_eq!(Level::of(OrgKind::Institution), Some(Level::Site));
        assert_eq!(Level::of(OrgKind::Wholesaler), None);
        assert_eq!(Level::Prefecture.child(), Some(Level::Municipality));
        assert_eq!(closing_level(Chain::Standard), Level::Prefecture);
        assert_eq!(
            Chain::Priority.divider(Level::Municipality),
            Divider::Parent
        );
        assert_eq!(Chain::Priority.divider(Level::Prefecture), Divider::Owner);
        assert_eq!(Chain::Standard.divider(Level::Municipality), Divider::Owner);
        assert!(!Chain::Priority.includes_municipal_sites());
        assert!(Chain::Standard.takes_requests_from(OrgKind::Site));
        assert!(!Chain::Priority.takes_requests_from(OrgKind::Site));
        assert!(Chain::Priority.takes_requests_from(OrgKind::Institution));
        assert!(!Chain::Standard.takes_requests_from(OrgKind::Municipality));
        assert_eq!(
            Status::parse("divided").map(|s| s.label(Lang::Ja)),
            Some("分配完了")
        );
    }
}
