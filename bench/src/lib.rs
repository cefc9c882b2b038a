//! Benchmarks live in `benches/`; see docs/PERFORMANCE.md. This library holds what several
//! benchmarks share: a national tree of 47 prefectures, 1,741 municipalities and 80,000 sites
//! with skewed populations and requests generated from a fixed seed (an LCG, so every run sees
//! the same tree), and the whole chain of divisions over it.

use vsys_domain::allocation::{Allocation, ChildInput, Formula, Weights, allocate};
use vsys_domain::units::{Presentation, Unit};

pub const PREFECTURES: usize = 47;
pub const MUNICIPALITIES: usize = 1_741;
pub const SITES: usize = 80_000;
/// Pfizer/BioNTech after the label change: 6 doses per vial, 195 vials per tray.
pub const PFIZER: Presentation = Presentation {
    doses_per_vial: 6,
    vials_per_box: 195,
};
/// A national cycle of 10,000 boxes (11.7 million doses).
pub const NATIONAL_BOXES: i64 = 10_000;

/// Knuth's MMIX LCG; `next_f64` in [0, 1).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1_u64 << 53) as f64
    }
    /// A skewed value in [lo, hi): most small, a few large (like populations).
    pub fn skewed(&mut self, lo: f64, hi: f64, power: i32) -> i64 {
        (lo + (hi - lo) * self.next_f64().powi(power)) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

/// `n` positive counts summing to `sum`, roughly proportional to `weights`.
pub fn counts(weights: &[i64], sum: usize) -> Vec<usize> {
    let total: i64 = weights.iter().sum();
    let mut c: Vec<usize> = weights
        .iter()
        .map(|&w| ((w as f64 / total as f64 * sum as f64) as usize).max(1))
        .collect();
    let mut i = 0;
    while c.iter().sum::<usize>() < sum {
        let len = c.len();
        c[i % len] += 1;
        i += 1;
    }
    while c.iter().sum::<usize>() > sum {
        let j = (0..c.len()).max_by_key(|&j| c[j]).unwrap_or(0);
        c[j] -= 1;
    }
    c
}

pub struct Municipality {
    pub input: ChildInput,
    pub sites: Vec<ChildInput>,
}

pub struct Prefecture {
    pub input: ChildInput,
    pub municipalities: Vec<Municipality>,
}

pub struct Nation {
    pub prefectures: Vec<Prefecture>,
    pub prefecture_inputs: Vec<ChildInput>,
    pub municipality_inputs: Vec<Vec<ChildInput>>,
}

pub fn national_tree(seed: u64) -> Nation {
    let mut rng = Lcg(seed);
    let weights: Vec<i64> = (0..PREFECTURES)
        .map(|_| rng.skewed(15.0, 180.0, 3))
        .collect();
    let per_prefecture = counts(&weights, MUNICIPALITIES);
    let mut populations: Vec<Vec<i64>> = per_prefecture
        .iter()
        .map(|&m| (0..m).map(|_| rng.skewed(200.0, 3_700_000.0, 6)).collect())
        .collect();
    let flat: Vec<i64> = populations.iter().flatten().copied().collect();
    let mut site_counts = counts(&flat, SITES).into_iter();
    let mut prefectures = Vec::new();
    for (p, pops) in populations.iter_mut().enumerate() {
        let pcode = format!("{:02}", p + 1);
        let mut municipalities = Vec::new();
        for (m, &population) in pops.iter().enumerate() {
            let mcode = format!("{pcode}{:03}{}", m + 1, m % 10);
            let sites: Vec<ChildInput> = (0..site_counts.next().unwrap_or(1))
                .map(|s| {
                    let reported = rng.chance(0.9);
                    let capacity_doses = rng.skewed(30.0, 12_000.0, 4);
                    let requested_doses =
                        (capacity_doses as f64 * (0.3 + 0.9 * rng.next_f64())) as i64;
                    let delivered = rng.skewed(0.0, 10_000.0, 2);
                    let administered = (delivered as f64 * rng.next_f64()) as i64;
                    let vials = |doses: i64| PFIZER.doses_to_unit_floor(doses, Unit::Vial).amount;
                    ChildInput {
                        code: format!("{mcode}{:04}", s + 1),
                        population: None,
                        requested: reported.then(|| vials(requested_doses)),
                        capacity: reported.then(|| vials(capacity_doses)),
                        administered: reported.then_some(administered),
                        delivered: reported.then_some(delivered),
                        stock: (reported && rng.chance(0.3)).then(|| rng.skewed(0.0, 200.0, 3)),
                        storage_cap: rng.chance(0.05).then(|| rng.skewed(10.0, 2_000.0, 2)),
                    }
                })
                .collect();
            let requested_vials: i64 = sites.iter().filter_map(|s| s.requested).sum();
            let input = ChildInput {
                code: mcode,
                population: Some(population),
                requested: Some(PFIZER.from_vials_floor(requested_vials, Unit::Box).amount),
                administered: Some(sites.iter().filter_map(|s| s.administered).sum()),
                delivered: Some(sites.iter().filter_map(|s| s.delivered).sum()),
                stock: Some(
                    PFIZER
                        .from_vials_floor(sites.iter().filter_map(|s| s.stock).sum(), Unit::Box)
                        .amount,
                ),
                ..ChildInput::default()
            };
            municipalities.push(Municipality { input, sites });
        }
        let sum = |f: fn(&ChildInput) -> Option<i64>| {
            municipalities
                .iter()
                .filter_map(|m| f(&m.input))
                .sum::<i64>()
        };
        let input = ChildInput {
            code: pcode,
            population: Some(sum(|c| c.population)),
            requested: Some(sum(|c| c.requested)),
            administered: Some(sum(|c| c.administered)),
            delivered: Some(sum(|c| c.delivered)),
            stock: Some(sum(|c| c.stock)),
            ..ChildInput::default()
        };
        prefectures.push(Prefecture {
            input,
            municipalities,
        });
    }
    let prefecture_inputs = prefectures.iter().map(|p| p.input.clone()).collect();
    let municipality_inputs = prefectures
        .iter()
        .map(|p| p.municipalities.iter().map(|m| m.input.clone()).collect())
        .collect();
    Nation {
        prefectures,
        prefecture_inputs,
        municipality_inputs,
    }
}

pub fn formula(population: u32, requested: u32, usage: u32) -> Formula {
    Formula {
        version: 1,
        weights: Weights {
            population,
            requested,
            capacity: 0,
            usage,
            equal: 0,
        },
        deduct_stock: true,
        cap_by_request: true,
        cap_by_capacity: true,
    }
}

/// The whole chain: every division of the cycle, kept (as the application keeps them to
/// persist them).
pub fn national_chain(n: &Nation, formulas: &[Formula; 3]) -> Vec<Allocation> {
    let mut out = Vec::with_capacity(1 + PREFECTURES + MUNICIPALITIES);
    let nation = allocate(NATIONAL_BOXES, &n.prefecture_inputs, &formulas[0]);
    for ((p, pl), towns) in n
        .prefectures
        .iter()
        .zip(&nation.lines)
        .zip(&n.municipality_inputs)
    {
        let pref = allocate(pl.amount, towns, &formulas[1]);
        for (m, ml) in p.municipalities.iter().zip(&pref.lines) {
            let total = PFIZER.to_vials(ml.amount, Unit::Box).unwrap_or(0);
            out.push(allocate(total, &m.sites, &formulas[2]));
        }
        out.push(pref);
    }
    out.push(nation);
    out
}
