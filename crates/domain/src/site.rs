//! What a vaccination site's registry entry says of it: contract, type and reservation status.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// 契約状況: whether the site holds the vaccination contract.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum ContractStatus as "contract status" {
        /// 契約済.
        Contracted = "contracted",
        /// 手続中.
        Pending = "pending",
        /// 未契約.
        NotContracted = "not_contracted",
    }
}

impl ContractStatus {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ContractStatus::Contracted, Lang::Ja) => "契約済",
            (ContractStatus::Pending, Lang::Ja) => "手続中",
            (ContractStatus::NotContracted, Lang::Ja) => "未契約",
            (ContractStatus::Contracted, Lang::En) => "Contracted",
            (ContractStatus::Pending, Lang::En) => "In progress",
            (ContractStatus::NotContracted, Lang::En) => "Not contracted",
        }
    }
}

crate::code_enum! {
    /// 基本型 or 連携型/サテライト型.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum SiteType as "site type" {
        Hub = "hub",
        Satellite = "satellite",
    }
}

impl SiteType {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SiteType::Hub, Lang::Ja) => "基本型",
            (SiteType::Satellite, Lang::Ja) => "サテライト型",
            (SiteType::Hub, Lang::En) => "Hub",
            (SiteType::Satellite, Lang::En) => "Satellite",
        }
    }
}

crate::code_enum! {
    /// A site's reservation status as the public site shows it:
    /// ○ 予約可能 / △ 残り少数 / × 予約受付不可 / ● 予約不要 / 未登録.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Reservation as "reservation status" {
        Available = "available",
        Few = "few",
        None = "none",
        NotNeeded = "not_needed",
        Unregistered = "unregistered",
    }
}

impl Reservation {
    /// The mark and the words.
    pub fn label(self, lang: Lang) -> (&'static str, &'static str) {
        match (self, lang) {
            (Reservation::Available, Lang::Ja) => ("○", "予約可能"),
            (Reservation::Few, Lang::Ja) => ("△", "残り少数"),
            (Reservation::None, Lang::Ja) => ("×", "予約受付不可"),
            (Reservation::NotNeeded, Lang::Ja) => ("●", "予約不要"),
            (Reservation::Unregistered, Lang::Ja) => ("-", "未登録"),
            (Reservation::Available, Lang::En) => ("○", "Accepting bookings"),
            (Reservation::Few, Lang::En) => ("△", "Few slots left"),
            (Reservation::None, Lang::En) => ("×", "Not accepting bookings"),
            (Reservation::NotNeeded, Lang::En) => ("●", "No booking needed"),
            (Reservation::Unregistered, Lang::En) => ("-", "Not registered"),
        }
    }

    /// A status as a person or a booking system writes it: the code (`available`, any case),
    /// the Japanese words (予約可能, 残り少数, 予約受付不可, 予約不要, 未登録), the marks (○ or 〇,
    /// △, × or ✕, ●, -) or the English words, with spaces around it ignored.
    pub fn read(raw: &str) -> Option<Reservation> {
        let s = raw.trim();
        let s = match s {
            "〇" => "○",
            "✕" => "×",
            other => other,
        };
        Reservation::ALL.iter().copied().find(|r| {
            let (mark, ja) = r.label(Lang::Ja);
            let (_, en) = r.label(Lang::En);
            s.eq_ignore_ascii_case(r.as_str()) || s == mark || s == ja || s.eq_ignore_ascii_case(en)
        })
    }
}

crate::code_enum! {
    /// 予約方法: how a citizen books at the site.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Booking as "booking method" {
        /// By telephone to the site.
        Phone = "phone",
        /// On the site's own booking web page (`booking_url`).
        Web = "web",
        /// No booking: walk in (予約不要).
        WalkIn = "walk_in",
        /// Through the municipality's booking system (コールセンター・予約システム).
        Municipal = "municipal",
    }
}

impl Booking {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Booking::Phone, Lang::Ja) => "電話で予約",
            (Booking::Web, Lang::Ja) => "Webで予約",
            (Booking::WalkIn, Lang::Ja) => "予約不要（直接来院）",
            (Booking::Municipal, Lang::Ja) => "市町村の予約システム・コールセンターで予約",
            (Booking::Phone, Lang::En) => "Book by phone",
            (Booking::Web, Lang::En) => "Book online",
            (Booking::WalkIn, Lang::En) => "No booking: walk in",
            (Booking::Municipal, Lang::En) => {
                "Book through the municipality's booking system or call centre"
            }
        }
    }
}

/// Whether citizens find a site on the public site (コロナワクチンナビ), and if not why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publicity {
    /// Shown to citizens.
    Public,
    /// Not shown: the site does not (yet) hold the vaccination contract (契約済).
    NotContracted,
    /// Not shown: a contracted institution its municipality has not confirmed yet
    /// (協力医療機関の確認).
    AwaitingConfirmation,
}

impl Publicity {
    /// The one rule of who is public: a contracted municipal site (集団接種会場), or a
    /// contracted medical institution its municipality has confirmed. `None` for an
    /// organisation that is not a site. The store's `sites::public_rows` filters with the same
    /// rule in SQL.
    pub fn of(
        kind: crate::OrgKind,
        contract: ContractStatus,
        confirmed: bool,
    ) -> Option<Publicity> {
        use crate::OrgKind;
        if !matches!(kind, OrgKind::Site | OrgKind::Institution) {
            return None;
        }
        Some(if contract != ContractStatus::Contracted {
            Publicity::NotContracted
        } else if kind == OrgKind::Institution && !confirmed {
            Publicity::AwaitingConfirmation
        } else {
            Publicity::Public
        })
    }
}

/// Whether citizens find the site on the public site ([`Publicity::of`]).
pub fn is_public(kind: crate::OrgKind, contract: ContractStatus, confirmed: bool) -> bool {
    Publicity::of(kind, contract, confirmed) == Some(Publicity::Public)
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_sites_are_contracted_and_confirmed_institutions_or_municipal_sites() {
        use super::{ContractStatus as C, Publicity as P, is_public};
        use crate::OrgKind as K;
        assert_eq!(P::of(K::Site, C::Contracted, false), Some(P::Public));
        assert_eq!(P::of(K::Institution, C::Contracted, true), Some(P::Public));
        assert_eq!(
            P::of(K::Institution, C::Contracted, false),
            Some(P::AwaitingConfirmation)
        );
        assert_eq!(
            P::of(K::Institution, C::Pending, true),
            Some(P::NotContracted)
        );
        assert_eq!(
            P::of(K::Site, C::NotContracted, false),
            Some(P::NotContracted)
        );
        assert_eq!(P::of(K::Municipality, C::Contracted, true), None);
        assert!(is_public(K::Site, C::Contracted, false));
        assert!(!is_public(K::Institution, C::Contracted, false));
    }

    use super::*;

    #[test]
    fn reservation_statuses_as_written() {
        for r in Reservation::ALL {
            assert_eq!(Reservation::read(r.as_str()), Some(r));
            assert_eq!(Reservation::read(r.label(Lang::Ja).0), Some(r));
            assert_eq!(Reservation::read(r.label(Lang::Ja).1), Some(r));
            assert_eq!(Reservation::read(r.label(Lang::En).1), Some(r));
        }
        assert_eq!(
            Reservation::read(" 予約可能 "),
            Some(Reservation::Available)
        );
        assert_eq!(Reservation::read("〇"), Some(Reservation::Available));
        assert_eq!(Reservation::read("✕"), Some(Reservation::None));
        assert_eq!(
            Reservation::read("NOT_NEEDED"),
            Some(Reservation::NotNeeded)
        );
        assert_eq!(Reservation::read("●"), Some(Reservation::NotNeeded));
        assert_eq!(Reservation::read("未登録"), Some(Reservation::Unregistered));
        assert_eq!(Reservation::read(""), None);
        assert_eq!(Reservation::read("予約"), None);
        assert_eq!(Reservation::read("maybe"), None);
    }
}
