//! Units of vaccine and supplies as types: box (箱), vial (バイアル), dose (回分) and pack (パック,
//! needles and syringes only), and exact conversions between them.
//!
//! A [`Presentation`] is the packaging of one vaccine *as it applies to one cycle*: when a vial's
//! dose count changes (e.g. 5 → 6), the new cycle gets a new `Presentation` and every earlier
//! figure keeps being read with the one of its own cycle, so history is never rewritten.
//!
//! Conversions never round silently: converting *to* a coarser unit either is exact
//! ([`Presentation::to_vials`] answers `None` otherwise) or rounds down and reports what was cut
//! ([`Presentation::from_vials_floor`], [`Presentation::doses_to_unit_floor`]), so a screen can
//! say "3 doses were not counted". Rounding down is towards −∞ and the remainder is never
//! negative. Arithmetic that could overflow `i64` is checked (`None`) or saturating (documented
//! per method); real amounts are many orders of magnitude below either limit.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

crate::code_enum! {
    /// A unit in which an amount is counted. Every screen and CSV says which one it shows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    pub enum Unit as "unit" {
        /// 箱 (a box, or a tray, of vials).
        Box = "box",
        /// バイアル.
        Vial = "vial",
        /// 回分 (one dose).
        Dose = "dose",
        /// パック (needles and syringes; never vaccine).
        Pack = "pack",
    }
}

impl Unit {
    /// The unit's name as shown next to an amount.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Unit::Box, Lang::Ja) => "箱",
            (Unit::Vial, Lang::Ja) => "バイアル",
            (Unit::Dose, Lang::Ja) => "回分",
            (Unit::Pack, Lang::Ja) => "パック",
            (Unit::Box, Lang::En) => "box",
            (Unit::Vial, Lang::En) => "vial",
            (Unit::Dose, Lang::En) => "dose",
            (Unit::Pack, Lang::En) => "pack",
        }
    }
}

/// The packaging of a vaccine for one cycle: doses per vial and vials per box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Presentation {
    pub doses_per_vial: u32,
    pub vials_per_box: u32,
}

/// An amount in a coarser unit, rounded down, with the vials that did not make a whole unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rounded {
    pub amount: i64,
    /// Vials cut by rounding down (`0 ≤ remainder_vials < vials_per_box` for boxes).
    pub remainder_vials: i64,
}

/// An amount of doses converted to a coarser unit, rounded down, with the doses that were cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoundedDoses {
    pub amount: i64,
    /// Doses cut by rounding down (never negative, less than one unit).
    pub remainder_doses: i64,
}

impl Presentation {
    /// Doses in one box (saturating: `u32 × u32` does not always fit in `i64`).
    pub fn doses_per_box(&self) -> i64 {
        i64::from(self.doses_per_vial).saturating_mul(i64::from(self.vials_per_box))
    }

    /// An amount in `unit` as vials, exactly: boxes × vials per box; vials as they are; doses
    /// only when they make whole vials. `None` for packs (not vaccine), for doses that do not
    /// divide, for a presentation with zero doses per vial, and on overflow.
    pub fn to_vials(&self, amount: i64, unit: Unit) -> Option<i64> {
        match unit {
            Unit::Box => amount.checked_mul(i64::from(self.vials_per_box)),
            Unit::Vial => Some(amount),
            Unit::Dose => {
                let per = i64::from(self.doses_per_vial);
                if per == 0 || amount.checked_rem(per)? != 0 {
                    None
                } else {
                    amount.checked_div(per)
                }
            }
            Unit::Pack => None,
        }
    }

    /// Doses in `vials` vials (saturating at the `i64` limits).
    pub fn doses(&self, vials: i64) -> i64 {
        vials.saturating_mul(i64::from(self.doses_per_vial))
    }

    /// Vials expressed in `unit`, rounded down; what was cut is reported in vials.
    ///
    /// Boxes: `vials ÷ vials_per_box` rounded down (a presentation with zero vials per box makes
    /// no box: amount 0, every vial remains). Vials: exact. Doses: exact (saturating). Packs are
    /// not vaccine: amount 0, every vial remains.
    pub fn from_vials_floor(&self, vials: i64, unit: Unit) -> Rounded {
        match unit {
            Unit::Box => match i64::from(self.vials_per_box) {
                0 => Rounded {
                    amount: 0,
                    remainder_vials: vials,
                },
                per => Rounded {
                    amount: vials.div_euclid(per),
                    remainder_vials: vials.rem_euclid(per),
                },
            },
            Unit::Vial => Rounded {
                amount: vials,
                remainder_vials: 0,
            },
            Unit::Dose => Rounded {
                amount: self.doses(vials),
                remainder_vials: 0,
            },
            Unit::Pack => Rounded {
                amount: 0,
                remainder_vials: vials,
            },
        }
    }

    /// Doses (a request, a capacity) in a level's `unit`, rounded down; what was cut is
    /// reported in doses. Vials: `doses ÷ doses_per_vial`; boxes: `doses ÷ (doses_per_vial ×
    /// vials_per_box)`; doses: exact. A zero divisor, or packs, convert nothing: amount 0, every
    /// dose remains.
    pub fn doses_to_unit_floor(&self, doses: i64, unit: Unit) -> RoundedDoses {
        let per = match unit {
            Unit::Dose => {
                return RoundedDoses {
                    amount: doses,
                    remainder_doses: 0,
                };
            }
            Unit::Vial => i64::from(self.doses_per_vial),
            Unit::Box => self.doses_per_box(),
            Unit::Pack => 0,
        };
        if per == 0 {
            RoundedDoses {
                amount: 0,
                remainder_doses: doses,
            }
        } else {
            RoundedDoses {
                amount: doses.div_euclid(per),
                remainder_doses: doses.rem_euclid(per),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pfizer/BioNTech as first shipped (5 doses per vial, 195 vials per tray) and after the
    /// label change to 6 doses.
    const FIVE: Presentation = Presentation {
        doses_per_vial: 5,
        vials_per_box: 195,
    };
    const SIX: Presentation = Presentation {
        doses_per_vial: 6,
        vials_per_box: 195,
    };

    #[test]
    fn labels_in_both_languages() {
        assert_eq!(Unit::Box.label(Lang::Ja), "箱");
        assert_eq!(Unit::Vial.label(Lang::Ja), "バイアル");
        assert_eq!(Unit::Dose.label(Lang::Ja), "回分");
        assert_eq!(Unit::Pack.label(Lang::Ja), "パック");
        assert_eq!(Unit::Box.label(Lang::En), "box");
        assert_eq!(Unit::Dose.label(Lang::En), "dose");
        for u in Unit::ALL {
            assert_eq!(Unit::parse(u.as_str()), Some(u));
            assert_eq!(
                serde_json::to_string(&u).unwrap(),
                format!("\"{}\"", u.as_str())
            );
        }
        assert_eq!(Unit::parse("tray"), None);
    }

    #[test]
    fn boxes_and_vials_convert_exactly() {
        assert_eq!(FIVE.to_vials(3, Unit::Box), Some(585));
        assert_eq!(FIVE.to_vials(585, Unit::Vial), Some(585));
        assert_eq!(FIVE.to_vials(10, Unit::Dose), Some(2));
        assert_eq!(FIVE.to_vials(11, Unit::Dose), None);
        assert_eq!(FIVE.to_vials(1, Unit::Pack), None);
        assert_eq!(FIVE.to_vials(i64::MAX, Unit::Box), None);
        let zero = Presentation {
            doses_per_vial: 0,
            vials_per_box: 0,
        };
        assert_eq!(zero.to_vials(5, Unit::Dose), None);
        assert_eq!(zero.to_vials(5, Unit::Box), Some(0));
    }

    #[test]
    fn rounding_down_reports_what_was_cut() {
        assert_eq!(
            FIVE.from_vials_floor(400, Unit::Box),
            Rounded {
                amount: 2,
                remainder_vials: 10
            }
        );
        assert_eq!(
            FIVE.from_vials_floor(390, Unit::Box),
            Rounded {
                amount: 2,
                remainder_vials: 0
            }
        );
        assert_eq!(
            FIVE.from_vials_floor(7, Unit::Vial),
            Rounded {
                amount: 7,
                remainder_vials: 0
            }
        );
        assert_eq!(
            FIVE.from_vials_floor(7, Unit::Dose),
            Rounded {
                amount: 35,
                remainder_vials: 0
            }
        );
        assert_eq!(
            FIVE.from_vials_floor(7, Unit::Pack),
            Rounded {
                amount: 0,
                remainder_vials: 7
            }
        );
        // Towards −∞ with a non-negative remainder (a correction can be negative).
        assert_eq!(
            FIVE.from_vials_floor(-1, Unit::Box),
            Rounded {
                amount: -1,
                remainder_vials: 194
            }
        );

        assert_eq!(
            FIVE.doses_to_unit_floor(23, Unit::Vial),
            RoundedDoses {
                amount: 4,
                remainder_doses: 3
            }
        );
        assert_eq!(
            FIVE.doses_to_unit_floor(23, Unit::Dose),
            RoundedDoses {
                amount: 23,
                remainder_doses: 0
            }
        );
        assert_eq!(
            FIVE.doses_to_unit_floor(2_000, Unit::Box),
            RoundedDoses {
                amount: 2,
                remainder_doses: 50
            }
        );
        assert_eq!(
            FIVE.doses_to_unit_floor(9, Unit::Pack),
            RoundedDoses {
                amount: 0,
                remainder_doses: 9
            }
        );
    }

    #[test]
    fn a_vial_size_change_from_5_to_6_doses() {
        // The same 390 vials (2 trays) are 1,950 doses under the old label, 2,340 under the new.
        assert_eq!(FIVE.doses(390), 1_950);
        assert_eq!(SIX.doses(390), 2_340);
        assert_eq!(FIVE.doses_per_box(), 975);
        assert_eq!(SIX.doses_per_box(), 1_170);
        // A site asking for 1,000 doses: 200 vials before, 166 vials (4 doses cut) after.
        assert_eq!(
            FIVE.doses_to_unit_floor(1_000, Unit::Vial),
            RoundedDoses {
                amount: 200,
                remainder_doses: 0
            }
        );
        assert_eq!(
            SIX.doses_to_unit_floor(1_000, Unit::Vial),
            RoundedDoses {
                amount: 166,
                remainder_doses: 4
            }
        );
        // 30 doses are 6 vials or 5 vials; 25 doses do not make whole 6-dose vials.
        assert_eq!(FIVE.to_vials(30, Unit::Dose), Some(6));
        assert_eq!(SIX.to_vials(30, Unit::Dose), Some(5));
        assert_eq!(SIX.to_vials(25, Unit::Dose), None);
        // Box ↔ vial does not depend on the dose count.
        assert_eq!(FIVE.to_vials(4, Unit::Box), SIX.to_vials(4, Unit::Box));
        // Round trips: vials → doses → vials is exact under either label.
        for p in [FIVE, SIX] {
            for v in [0_i64, 1, 194, 195, 196, 100_000] {
                assert_eq!(p.to_vials(p.doses(v), Unit::Dose), Some(v));
                let r = p.from_vials_floor(v, Unit::Box);
                assert_eq!(
                    p.to_vials(r.amount, Unit::Box)
                        .map(|x| x + r.remainder_vials),
                    Some(v)
                );
                let d = p.doses_to_unit_floor(p.doses(v) + 1, Unit::Vial);
                assert_eq!((d.amount, d.remainder_doses), (v, 1));
            }
        }
    }

    #[test]
    fn overflow_is_checked_or_saturating() {
        assert_eq!(SIX.doses(i64::MAX), i64::MAX);
        assert_eq!(SIX.doses(i64::MIN), i64::MIN);
        assert_eq!(SIX.to_vials(i64::MIN, Unit::Box), None);
        assert_eq!(SIX.to_vials(i64::MIN, Unit::Dose), None);
    }
}
