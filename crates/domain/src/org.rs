//! Organisations: kinds, codes and the place of each in the hierarchy.

use crate::i18n::{Lang, Msg};
use serde::{Deserialize, Serialize};
use std::fmt;

crate::code_enum! {
    /// The kinds of organisation that hold accounts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum OrgKind as "organisation kind" {
        Nation = "nation",
        Prefecture = "prefecture",
        Municipality = "municipality",
        /// 医療機関 (10-digit 医療機関コード, or a 老健施設/介護医療院 code in the same form).
        Institution = "institution",
        /// 市町村の集団接種会場 (code `9` + municipality + 4-digit serial).
        Site = "site",
        Manufacturer = "manufacturer",
        Wholesaler = "wholesaler",
        DryIceMaker = "dry_ice_maker",
        SyringeWarehouse = "syringe_warehouse",
    }
}

impl OrgKind {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (OrgKind::Nation, Lang::Ja) => "国",
            (OrgKind::Prefecture, Lang::Ja) => "都道府県",
            (OrgKind::Municipality, Lang::Ja) => "市町村",
            (OrgKind::Institution, Lang::Ja) => "医療機関",
            (OrgKind::Site, Lang::Ja) => "接種会場",
            (OrgKind::Manufacturer, Lang::Ja) => "製薬メーカー",
            (OrgKind::Wholesaler, Lang::Ja) => "卸業者",
            (OrgKind::DryIceMaker, Lang::Ja) => "ドライアイスメーカー",
            (OrgKind::SyringeWarehouse, Lang::Ja) => "針・シリンジ倉庫",
            (OrgKind::Nation, Lang::En) => "Nation",
            (OrgKind::Prefecture, Lang::En) => "Prefecture",
            (OrgKind::Municipality, Lang::En) => "Municipality",
            (OrgKind::Institution, Lang::En) => "Medical institution",
            (OrgKind::Site, Lang::En) => "Vaccination site",
            (OrgKind::Manufacturer, Lang::En) => "Manufacturer",
            (OrgKind::Wholesaler, Lang::En) => "Wholesaler",
            (OrgKind::DryIceMaker, Lang::En) => "Dry-ice maker",
            (OrgKind::SyringeWarehouse, Lang::En) => "Needle/syringe warehouse",
        }
    }

    /// The kinds allowed as the parent of this kind in the hierarchy (`None` for the nation).
    /// Wholesalers hang under the prefecture that contracts them; the other suppliers under the
    /// nation.
    pub fn parent_kinds(self) -> &'static [OrgKind] {
        match self {
            OrgKind::Nation => &[],
            OrgKind::Prefecture
            | OrgKind::Manufacturer
            | OrgKind::DryIceMaker
            | OrgKind::SyringeWarehouse => &[OrgKind::Nation],
            OrgKind::Municipality | OrgKind::Wholesaler => &[OrgKind::Prefecture],
            OrgKind::Institution | OrgKind::Site => &[OrgKind::Municipality],
        }
    }

    /// A place where people are vaccinated: a medical institution or a municipal site.
    pub fn is_site(self) -> bool {
        matches!(self, OrgKind::Institution | OrgKind::Site)
    }

    /// A level of government that governs sites: the nation, prefectures, municipalities.
    pub fn is_government(self) -> bool {
        matches!(
            self,
            OrgKind::Nation | OrgKind::Prefecture | OrgKind::Municipality
        )
    }

    /// An organisation that delivers (wholesalers, manufacturers, needle/syringe warehouses,
    /// dry-ice makers).
    pub fn is_deliverer(self) -> bool {
        matches!(
            self,
            OrgKind::Wholesaler
                | OrgKind::Manufacturer
                | OrgKind::SyringeWarehouse
                | OrgKind::DryIceMaker
        )
    }

    /// Deliverers that serve areas the organisation above them sets (wholesalers: the
    /// municipalities a prefecture contracts them for; dry-ice makers: their regions).
    pub fn serves_areas(self) -> bool {
        matches!(self, OrgKind::Wholesaler | OrgKind::DryIceMaker)
    }

    /// Kinds whose administrators need TOTP two-factor authentication.
    pub fn admins_need_totp(self) -> bool {
        matches!(self, OrgKind::Nation | OrgKind::Prefecture)
    }
}

crate::stored_code!(Role, "role", |s| Role::parse(s).ok());

/// An organisation code, checked against the convention of its kind:
/// nation `JP`; prefectures `01`–`47`; municipalities 5 digits; institutions and sites 10
/// digits (sites `9` + municipality + serial); manufacturers `M001`; wholesalers `W13001`;
/// dry-ice makers `D001`; needle/syringe warehouses `N001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgCode(String);

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl OrgCode {
    /// Infers the kind from the code's shape. Ten-digit codes starting with `9` are municipal
    /// sites; other ten-digit codes are institutions.
    pub fn kind(&self) -> OrgKind {
        let s = self.0.as_str();
        match s.as_bytes().first() {
            Some(b'J') => OrgKind::Nation,
            Some(b'M') => OrgKind::Manufacturer,
            Some(b'W') => OrgKind::Wholesaler,
            Some(b'D') => OrgKind::DryIceMaker,
            Some(b'N') => OrgKind::SyringeWarehouse,
            _ if s.len() == 2 => OrgKind::Prefecture,
            _ if s.len() == 5 => OrgKind::Municipality,
            Some(b'9') => OrgKind::Site,
            _ => OrgKind::Institution,
        }
    }

    pub fn parse(raw: &str) -> Result<OrgCode, Msg> {
        let s = raw.trim();
        let valid = match s.as_bytes().first() {
            None => return Err(Msg::Required),
            Some(b'J') => s == "JP",
            Some(b'M' | b'D' | b'N') => digits(&s[1..], 3),
            Some(b'W') => digits(&s[1..], 5) && matches!(s[1..3].parse::<u8>(), Ok(1..=47)),
            Some(_) if s.len() == 2 => matches!(s.parse::<u8>(), Ok(1..=47)) && digits(s, 2),
            Some(_) => {
                (digits(s, 5) && matches!(s[..2].parse::<u8>(), Ok(1..=47))) || digits(s, 10)
            }
        };
        if valid {
            Ok(OrgCode(s.to_owned()))
        } else {
            Err(Msg::InvalidOrgCode)
        }
    }

    /// The code of a municipal site: `9` + municipality code + 4-digit serial.
    pub fn site(municipality: &OrgCode, serial: u16) -> Option<OrgCode> {
        (municipality.kind() == OrgKind::Municipality && serial <= 9999)
            .then(|| OrgCode(format!("9{}{serial:04}", municipality.0)))
    }

    /// The municipality a site code names.
    pub fn site_municipality(&self) -> Option<OrgCode> {
        (self.kind() == OrgKind::Site).then(|| OrgCode(self.0[1..6].to_owned()))
    }

    pub fn nation() -> OrgCode {
        OrgCode("JP".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The materialised path of an organisation: `/JP/13/13103/9131030001/`. An organisation is in
/// the scope of another exactly when its path starts with the other's path.
pub fn child_path(parent_path: &str, code: &OrgCode) -> String {
    format!("{parent_path}{code}/")
}

/// A user's role inside their organisation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, Msg> {
        match s.trim() {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(Msg::InvalidRole),
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::Admin, Lang::Ja) => "管理者",
            (Role::Operator, Lang::Ja) => "担当者",
            (Role::Viewer, Lang::Ja) => "閲覧者",
            (Role::Admin, Lang::En) => "Administrator",
            (Role::Operator, Lang::En) => "Operator",
            (Role::Viewer, Lang::En) => "Viewer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_conventions() {
        for (code, kind) in [
            ("JP", OrgKind::Nation),
            ("13", OrgKind::Prefecture),
            ("01", OrgKind::Prefecture),
            ("13103", OrgKind::Municipality),
            ("1312345678", OrgKind::Institution),
            ("9131030001", OrgKind::Site),
            ("M001", OrgKind::Manufacturer),
            ("W13001", OrgKind::Wholesaler),
            ("D001", OrgKind::DryIceMaker),
            ("N001", OrgKind::SyringeWarehouse),
        ] {
            let c = OrgCode::parse(code).map_err(|m| m.key()).map(|c| c.kind());
            assert_eq!(c, Ok(kind), "{code}");
        }
        for bad in [
            "",
            "00",
            "48",
            "JPN",
            "1310",
            "99103",
            "M01",
            "W48001",
            "131234567X",
            "x",
        ] {
            assert!(OrgCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn site_codes() {
        let m = OrgCode::parse("13103").unwrap_or_else(|_| OrgCode::nation());
        let s = OrgCode::site(&m, 1).map(|s| s.to_string());
        assert_eq!(s.as_deref(), Some("9131030001"));
        let back = OrgCode::parse("9131030001")
            .ok()
            .and_then(|s| s.site_municipality());
        assert_eq!(back, Some(m));
    }

    #[test]
    fn roles_order() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
        assert_eq!(Role::parse("root"), Err(Msg::InvalidRole));
    }
}
