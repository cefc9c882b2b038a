//! What a vaccination site's registry entry says of it: contract, type and reservation status.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

/// 契約状況: whether the site holds the vaccination contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// 契約済.
    Contracted,
    /// 手続中.
    Pending,
    /// 未契約.
    NotContracted,
}

impl ContractStatus {
    pub const ALL: [ContractStatus; 3] = [
        ContractStatus::Contracted,
        ContractStatus::Pending,
        ContractStatus::NotContracted,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Contracted => "contracted",
            ContractStatus::Pending => "pending",
            ContractStatus::NotContracted => "not_contracted",
        }
    }
    pub fn parse(s: &str) -> Option<ContractStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
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

/// 基本型 or 連携型/サテライト型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteType {
    Hub,
    Satellite,
}

impl SiteType {
    pub const ALL: [SiteType; 2] = [SiteType::Hub, SiteType::Satellite];
    pub fn as_str(self) -> &'static str {
        match self {
            SiteType::Hub => "hub",
            SiteType::Satellite => "satellite",
        }
    }
    pub fn parse(s: &str) -> Option<SiteType> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SiteType::Hub, Lang::Ja) => "基本型",
            (SiteType::Satellite, Lang::Ja) => "サテライト型",
            (SiteType::Hub, Lang::En) => "Hub",
            (SiteType::Satellite, Lang::En) => "Satellite",
        }
    }
}

/// A site's reservation status as the public site shows it:
/// ○ 予約可能 / △ 残り少数 / × 予約受付不可 / ● 予約不要 / 未登録.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reservation {
    Available,
    Few,
    None,
    NotNeeded,
    Unregistered,
}

impl Reservation {
    pub const ALL: [Reservation; 5] = [
        Reservation::Available,
        Reservation::Few,
        Reservation::None,
        Reservation::NotNeeded,
        Reservation::Unregistered,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Reservation::Available => "available",
            Reservation::Few => "few",
            Reservation::None => "none",
            Reservation::NotNeeded => "not_needed",
            Reservation::Unregistered => "unregistered",
        }
    }
    pub fn parse(s: &str) -> Option<Reservation> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
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
}

crate::stored_code!(ContractStatus, "contract status", ContractStatus::parse);
crate::stored_code!(SiteType, "site type", SiteType::parse);
crate::stored_code!(Reservation, "reservation status", Reservation::parse);
