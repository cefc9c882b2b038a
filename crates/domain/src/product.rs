//! What is allocated and delivered: vaccine, needles, syringes.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// The kind of a product, and the item of a delivery line (they may arrive on different
    /// days).
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        utoipa::ToSchema,
    )]
    pub enum ProductKind as "product kind" {
        Vaccine = "vaccine",
        Needle = "needle",
        Syringe = "syringe",
    }
}

impl ProductKind {
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
