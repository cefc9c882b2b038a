//! Needles and syringes (針・シリンジ) that go with the vaccine: how many each line of a division
//! gets, in whole packs, and how short a line is when the parent's packs cannot cover every
//! line. One rule, used by the auto-fill, by a division saved on the screen and by the CSV
//! import (see `docs/ALLOCATION.md`, "Needles and syringes").
//!
//! - A line **needs** `⌈doses × per_dose_milli ÷ 1000⌉` pieces: enough to give every dose.
//! - It **wants** that many pieces rounded to whole packs as the nation's supply rules say
//!   (`up` by default, so it covers the doses; `nearest` or `down` when the nation chose so).
//! - When the parent has at least what every line wants, every line gets what it wants.
//! - Otherwise the parent's **whole packs** are shared: first every line gets the whole packs
//!   its need fills (`⌊need ÷ pack⌋`, never more than it wants), then the packs left go one each
//!   to the lines with the most pieces still uncovered (largest remainder; ties to the line
//!   listed first, i.e. the smaller code). Each short line is then short by less than one pack,
//!   and the packs cover as many doses as they can. If the parent cannot give even those whole
//!   packs (a real shortage of supply), its packs are shared in proportion to what each line
//!   wants, by largest remainder.
//! - A line's **shortfall** is `need − pieces` when positive: shown and stored with the line.

use crate::i18n::Lang;
use crate::product::ProductKind;
use serde::{Deserialize, Serialize};

/// How pieces are rounded to whole packs (the nation's supply rules, `pack_rounding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackRounding {
    /// 切り上げ: the packs cover the doses (the default).
    #[default]
    Up,
    /// 四捨五入.
    Nearest,
    /// 切り捨て.
    Down,
}

impl PackRounding {
    /// `"up"`, `"nearest"` or `"down"`; anything else is `Up`, the rounding that covers.
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "nearest" => PackRounding::Nearest,
            "down" => PackRounding::Down,
            _ => PackRounding::Up,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (PackRounding::Up, Lang::Ja) => "切り上げ",
            (PackRounding::Nearest, Lang::Ja) => "四捨五入",
            (PackRounding::Down, Lang::Ja) => "切り捨て",
            (PackRounding::Up, Lang::En) => "rounded up",
            (PackRounding::Nearest, Lang::En) => "rounded to the nearest",
            (PackRounding::Down, Lang::En) => "rounded down",
        }
    }
}

/// The rule for one product (needles or syringes): pieces per dose (in thousandths), pieces
/// per pack, and the rounding to packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SupplyRule {
    pub per_dose_milli: i64,
    pub per_pack: i64,
    pub rounding: PackRounding,
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl SupplyRule {
    /// Pieces per pack, at least 1.
    pub fn pack(&self) -> i64 {
        self.per_pack.max(1)
    }

    /// Pieces that give every one of `doses` doses: `⌈doses × per_dose_milli ÷ 1000⌉`.
    /// Computed in 128 bits; saturates.
    pub fn need(&self, doses: i64) -> i64 {
        let milli = i128::from(doses.max(0)) * i128::from(self.per_dose_milli.max(0));
        clamp_i64((milli + 999) / 1000)
    }

    /// Pieces for `doses` rounded to whole packs by the rule (a multiple of the pack size).
    pub fn wanted(&self, doses: i64) -> i64 {
        let pack = i128::from(self.pack());
        let milli = i128::from(doses.max(0)) * i128::from(self.per_dose_milli.max(0));
        let pack_milli = pack * 1000;
        let packs = match self.rounding {
            PackRounding::Down => milli / pack_milli,
            PackRounding::Nearest => (milli + pack_milli / 2) / pack_milli,
            PackRounding::Up => (milli + pack_milli - 1) / pack_milli,
        };
        clamp_i64(packs * pack)
    }
}

/// What one line gets of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SupplyLine {
    /// Pieces given (a whole number of packs when computed by [`share`]).
    pub pieces: i64,
    /// Pieces that give every dose of the line.
    pub need: i64,
    /// `need − pieces` when positive, else 0.
    pub shortfall: i64,
}

impl SupplyLine {
    pub fn of(pieces: i64, need: i64) -> Self {
        SupplyLine {
            pieces,
            need,
            shortfall: need.saturating_sub(pieces).max(0),
        }
    }
}

/// Needles (or syringes) for each line of a division, from the doses of each line and the
/// pieces the parent has available for these lines. Lines come back in the order given (the
/// caller passes them in code order, which breaks ties). Never gives more than `available` in
/// total; gives every line what the rule wants whenever the parent has that much.
pub fn share(rule: &SupplyRule, doses: &[i64], available: i64) -> Vec<SupplyLine> {
    let pack = rule.pack();
    let need: Vec<i64> = doses.iter().map(|d| rule.need(*d)).collect();
    let wanted: Vec<i64> = doses.iter().map(|d| rule.wanted(*d)).collect();
    let total_wanted = wanted.iter().fold(0i64, |a, w| a.saturating_add(*w));
    let available = available.max(0);
    let pieces: Vec<i64> = if total_wanted <= available {
        wanted
    } else {
        let packs = available / pack;
        let wanted_packs: Vec<i64> = wanted.iter().map(|w| w / pack).collect();
        let base: Vec<i64> = need
            .iter()
            .zip(&wanted_packs)
            .map(|(n, w)| (n / pack).min(*w))
            .collect();
        let base_total = base.iter().fold(0i64, |a, b| a.saturating_add(*b));
        if base_total <= packs {
            let mut given = base;
            let mut left = packs - base_total;
            // The lines that still want a pack, most uncovered pieces first, ties by position.
            let mut order: Vec<usize> = (0..given.len())
                .filter(|i| given[*i] < wanted_packs[*i])
                .collect();
            let uncovered = |i: usize, g: &[i64]| need[i].saturating_sub(g[i].saturating_mul(pack));
            while left > 0 && !order.is_empty() {
                order.sort_by(|a, b| {
                    uncovered(*b, &given)
                        .cmp(&uncovered(*a, &given))
                        .then(a.cmp(b))
                });
                let mut next = Vec::with_capacity(order.len());
                for i in order {
                    if left > 0 {
                        given[i] += 1;
                        left -= 1;
                    }
                    if given[i] < wanted_packs[i] {
                        next.push(i);
                    }
                }
                order = next;
            }
            given.into_iter().map(|p| p.saturating_mul(pack)).collect()
        } else {
            crate::allocation::largest_remainder(packs, &wanted_packs)
                .into_iter()
                .map(|p| p.saturating_mul(pack))
                .collect()
        }
    };
    pieces
        .into_iter()
        .zip(need)
        .map(|(p, n)| SupplyLine::of(p, n))
        .collect()
}

/// How one product of one line was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplyPart {
    pub pieces: i64,
    /// Pieces that give every dose of the line.
    pub need: i64,
    /// `need − pieces` when positive.
    pub shortfall: i64,
    /// Pieces per pack.
    pub per_pack: i64,
    /// `true` when computed from the doses by the rule; `false` when entered (by hand, by file).
    pub derived: bool,
    /// The rounding to packs used (`up`, `nearest`, `down`).
    #[schema(value_type = String)]
    pub rounding: PackRounding,
}

/// The needles and syringes of one line, as stored with the line and explained on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplyNote {
    /// The doses the line receives.
    pub doses: i64,
    pub needles: Option<SupplyPart>,
    pub syringes: Option<SupplyPart>,
}

fn int(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

impl SupplyNote {
    /// The largest shortfall of the line's needles or syringes (0 when both cover the doses).
    pub fn shortfall(&self) -> i64 {
        [self.needles, self.syringes]
            .iter()
            .flatten()
            .map(|p| p.shortfall)
            .max()
            .unwrap_or(0)
    }

    /// The explanation, e.g. 「針・シリンジは接種回数 612 回分を 100 本単位で切り上げ」 and, when
    /// short, 「針が 12 本不足」.
    pub fn describe(&self, lang: Lang) -> String {
        let mut parts = Vec::new();
        let doses = int(self.doses);
        let how = |p: &SupplyPart, what: &str| -> String {
            if p.derived {
                match lang {
                    Lang::Ja => format!(
                        "{what}は接種回数 {doses} 回分を {} 本単位で{}",
                        int(p.per_pack),
                        p.rounding.label(lang)
                    ),
                    Lang::En => format!(
                        "{what}: {doses} doses {} to packs of {}",
                        p.rounding.label(lang),
                        int(p.per_pack)
                    ),
                }
            } else {
                match lang {
                    Lang::Ja => format!("{what}は入力どおり {} 本", int(p.pieces)),
                    Lang::En => format!("{what}: {} as entered", int(p.pieces)),
                }
            }
        };
        let (n, s) = (
            ProductKind::Needle.label(lang),
            ProductKind::Syringe.label(lang),
        );
        match (&self.needles, &self.syringes) {
            (Some(a), Some(b))
                if a.derived
                    && b.derived
                    && a.per_pack == b.per_pack
                    && a.rounding == b.rounding =>
            {
                let both = match lang {
                    Lang::Ja => format!("{n}・{s}"),
                    Lang::En => format!("{n} and syringes"),
                };
                parts.push(how(a, &both));
            }
            (a, b) => {
                if let Some(a) = a {
                    parts.push(how(a, n));
                }
                if let Some(b) = b {
                    parts.push(how(b, s));
                }
            }
        }
        for (p, what) in [(&self.needles, n), (&self.syringes, s)] {
            if let Some(p) = p.filter(|p| p.shortfall > 0) {
                parts.push(match lang {
                    Lang::Ja => format!("{what}が {} 本不足", int(p.shortfall)),
                    Lang::En => format!("{what}: {} short", int(p.shortfall)),
                });
            }
        }
        parts.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UP100: SupplyRule = SupplyRule {
        per_dose_milli: 1000,
        per_pack: 100,
        rounding: PackRounding::Up,
    };

    fn pieces(v: &[SupplyLine]) -> Vec<i64> {
        v.iter().map(|l| l.pieces).collect()
    }

    #[test]
    fn rounds_up_to_whole_packs_when_the_parent_has_enough() {
        let out = share(&UP100, &[612, 5_850, 0, 100], 10_000);
        assert_eq!(pieces(&out), vec![700, 5_900, 0, 100]);
        assert!(out.iter().all(|l| l.shortfall == 0));
        assert_eq!(out[0].need, 612);
    }

    #[test]
    fn rules_other_than_up_round_as_told_and_say_the_shortfall() {
        let down = SupplyRule {
            rounding: PackRounding::Down,
            ..UP100
        };
        let out = share(&down, &[612], 10_000);
        assert_eq!(out[0].pieces, 600);
        assert_eq!(out[0].shortfall, 12);
        let nearest = SupplyRule {
            rounding: PackRounding::Nearest,
            ..UP100
        };
        assert_eq!(share(&nearest, &[650], 10_000)[0].pieces, 700);
        // 1.1 needles per dose: 1,000 doses need 1,100.
        let more = SupplyRule {
            per_dose_milli: 1100,
            ..UP100
        };
        assert_eq!(share(&more, &[1_000], 10_000)[0].pieces, 1_100);
        assert_eq!(more.need(1_001), 1_102);
    }

    #[test]
    fn when_short_the_packs_go_to_the_most_uncovered_lines() {
        // Needs 612, 650, 590, 1200 = 3,052; parent has 3,100 (rounded up from its own doses)
        // but the lines want 700 + 700 + 600 + 1,200 = 3,200.
        let out = share(&UP100, &[612, 650, 590, 1_200], 3_100);
        // Whole packs first: 600, 600, 500, 1,200 = 2,900; 2 packs left go to 650 (50 uncovered
        // → covered) and 590 (90 uncovered) ahead of 612 (12 uncovered).
        assert_eq!(pieces(&out), vec![600, 700, 600, 1_200]);
        assert_eq!(
            out.iter().map(|l| l.shortfall).collect::<Vec<_>>(),
            vec![12, 0, 0, 0]
        );
        // Ties go to the line listed first.
        let out = share(&UP100, &[150, 150], 300);
        assert_eq!(pieces(&out), vec![200, 100]);
    }

    #[test]
    fn a_real_shortage_is_shared_in_proportion() {
        let out = share(&UP100, &[1_000, 3_000], 2_000);
        assert_eq!(pieces(&out), vec![500, 1_500]);
        assert_eq!(out[0].shortfall, 500);
        assert_eq!(share(&UP100, &[500], -5)[0].pieces, 0);
    }

    #[test]
    fn explains_in_both_languages() {
        let part = |pieces, need, derived| SupplyPart {
            pieces,
            need,
            shortfall: (need - pieces).max(0),
            per_pack: 100,
            derived,
            rounding: PackRounding::Up,
        };
        let note = SupplyNote {
            doses: 612,
            needles: Some(part(700, 612, true)),
            syringes: Some(part(700, 612, true)),
        };
        assert_eq!(
            note.describe(Lang::Ja),
            "針・シリンジは接種回数 612 回分を 100 本単位で切り上げ"
        );
        assert_eq!(
            note.describe(Lang::En),
            "Needles and syringes: 612 doses rounded up to packs of 100"
        );
        let short = SupplyNote {
            needles: Some(part(600, 612, true)),
            ..note
        };
        assert_eq!(short.shortfall(), 12);
        assert!(short.describe(Lang::Ja).ends_with("針が 12 本不足"));
        assert!(short.describe(Lang::En).ends_with("Needles: 12 short"));
        let typed = SupplyNote {
            doses: 5_850,
            needles: Some(part(5_800, 5_850, false)),
            syringes: Some(part(5_900, 5_850, true)),
        };
        assert_eq!(
            typed.describe(Lang::Ja),
            "針は入力どおり 5,800 本 / シリンジは接種回数 5,850 回分を 100 本単位で切り上げ / 針が 50 本不足"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// For random doses, pack sizes, rules and parent totals: never more than the parent has;
        /// every line covered whenever the parent has what the lines want; whole packs; the
        /// shortfall flagged exactly when a line is short of its doses; with the default rule
        /// and a parent that covers the doses of all its lines, nobody is short by a pack.
        #[test]
        fn needles_cover_the_doses_within_the_parent(
            doses in proptest::collection::vec(0i64..20_000, 0..60),
            per_pack in 1i64..500,
            per_dose_milli in prop_oneof![Just(1000i64), 0i64..3000],
            rounding in prop_oneof![Just(PackRounding::Up), Just(PackRounding::Nearest), Just(PackRounding::Down)],
            parent in prop_oneof![Just(None), (0i64..2_000_000).prop_map(Some)],
        ) {
            let rule = SupplyRule { per_dose_milli, per_pack, rounding };
            let wanted: i64 = doses.iter().map(|d| rule.wanted(*d)).sum();
            let need: i64 = doses.iter().map(|d| rule.need(*d)).sum();
            // No parent given: exactly what they want, or what covers the doses (rounded up).
            let available = parent.unwrap_or(wanted);
            let out = share(&rule, &doses, available);
            prop_assert_eq!(out.len(), doses.len());
            let total: i64 = out.iter().map(|l| l.pieces).sum();
            prop_assert!(total <= available.max(0));
            for (l, d) in out.iter().zip(&doses) {
                prop_assert_eq!(l.pieces % per_pack, 0);
                prop_assert!(l.pieces >= 0 && l.pieces <= rule.wanted(*d));
                prop_assert_eq!(l.need, rule.need(*d));
                prop_assert_eq!(l.shortfall > 0, l.pieces < l.need);
                prop_assert_eq!(l.shortfall, (l.need - l.pieces).max(0));
                if available >= wanted {
                    prop_assert_eq!(l.pieces, rule.wanted(*d));
                    if rounding == PackRounding::Up {
                        // needles ≥ doses × rate: every dose covered.
                        prop_assert!(l.pieces >= l.need);
                        prop_assert_eq!(l.shortfall, 0);
                    }
                }
                if rounding == PackRounding::Up && available >= need && available < wanted {
                    // The parent covers every dose but not every pack: short by less than a pack.
                    prop_assert!(l.shortfall < per_pack);
                }
            }
            if available < wanted {
                // Nothing left that a pack could still go to.
                let left = available - total;
                prop_assert!(left < per_pack || out.iter().zip(&doses).all(|(l, d)| l.pieces == rule.wanted(*d)));
            }
        }
    }
}
