//! What is allocated and delivered: vaccine, needles, syringes.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

/// The kind of a product, and the item of a delivery line (they may arrive on different days).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Vaccine,
    Needle,
    Syringe,
}

impl ProductKind {
    pub const ALL: [ProductKind; 3] = [
        ProductKind::Vaccine,
        ProductKind::Needle,
        ProductKind::Syringe,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Vaccine => "vaccine",
            ProductKind::Needle => "needle",
            ProductKind::Syringe => "syringe",
        }
    }
    pub fn parse(s: &str) -> Option<ProductKind> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ProductKind::Vaccine, Lang::Ja) => "ワクチン",
            (ProductKind::Needle, Lang::Ja) => "針",
            (ProductKind::Syringe, Lang::Ja) => "シリンジ",
            (ProductKind::Vaccine, Lang::En) => "Vaccine",
            (ProductKind::Needle, Lang::En) => "Needles",
            (ProductKind::Syringe, Lang::En) => "Syringes",
        }
    }
}

crate::stored_code!(ProductKind, "product kind", ProductKind::parse);
