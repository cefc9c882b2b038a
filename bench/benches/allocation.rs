//! The auto-fill formula over a national cycle: 47 prefectures, 1,741 municipalities, 80,000
//! sites, with skewed populations and requests generated from a fixed seed (an LCG, so every
//! run sees the same tree). Printed with a same-run baseline: summing the 80,000 sites' inputs.
//!
//! - `national_chain`: the whole chain, nation → prefectures (boxes) → municipalities (boxes)
//!   → sites (vials), i.e. 1 + 47 + 1,741 calls of `allocate`, each child's amount becoming the
//!   total of its own children; the 1,789 results (80,000 site lines with their explanations)
//!   are kept and freed outside the timing.
//! - `national_chain_incl_drop`: the same, freeing the results inside the timing.
//! - `flat_80000_sites_incl_drop`: one division among 80,000 children (the worst case for one
//!   call; no real parent has that many), its result freed inside the timing.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vsys_bench::{MUNICIPALITIES, NATIONAL_BOXES, SITES, formula, national_chain, national_tree};
use vsys_domain::allocation::{ChildInput, allocate};

fn chain(c: &mut Criterion) {
    let n = national_tree(20_210_301);
    let formulas = [formula(80, 20, 0), formula(80, 0, 20), formula(0, 100, 0)];
    let all_sites: Vec<ChildInput> = n
        .prefectures
        .iter()
        .flat_map(|p| {
            p.municipalities
                .iter()
                .flat_map(|m| m.sites.iter().cloned())
        })
        .collect();
    assert_eq!(all_sites.len(), SITES);
    assert_eq!(
        n.municipality_inputs.iter().map(Vec::len).sum::<usize>(),
        MUNICIPALITIES
    );
    let divisions = national_chain(&n, &formulas);
    let site_lines: Vec<_> = divisions
        .iter()
        .filter(|d| d.lines.first().is_some_and(|l| l.code.len() == 10))
        .collect();
    let lines: usize = site_lines.iter().map(|d| d.lines.len()).sum();
    let vials: i64 = site_lines
        .iter()
        .flat_map(|d| &d.lines)
        .map(|l| l.amount)
        .sum();
    assert_eq!(lines, SITES);
    assert!(
        divisions
            .iter()
            .all(|d| d.lines.iter().map(|l| l.amount).sum::<i64>() + d.undistributed == d.total)
    );
    println!(
        "national chain: {} divisions, {lines} site lines, {vials} of {} vials given to sites",
        divisions.len(),
        NATIONAL_BOXES * 195
    );
    drop(divisions);
    let flat_total = NATIONAL_BOXES * 195;
    let flat = allocate(flat_total, &all_sites, &formulas[2]);
    assert_eq!(
        flat.lines.iter().map(|l| l.amount).sum::<i64>() + flat.undistributed,
        flat_total
    );

    let mut g = c.benchmark_group("allocation");
    g.sample_size(20);
    g.bench_function("baseline_sum_of_inputs", |b| {
        b.iter(|| {
            black_box(&all_sites)
                .iter()
                .map(|s| s.requested.unwrap_or(0) + s.capacity.unwrap_or(0) + s.stock.unwrap_or(0))
                .sum::<i64>()
        })
    });
    // The results are dropped outside the timing (criterion's `iter_with_large_drop`): freeing
    // 80,000 lines is the caller's cost, measured on its own by `national_chain_incl_drop`.
    g.bench_function("national_chain", |b| {
        b.iter_with_large_drop(|| national_chain(black_box(&n), &formulas))
    });
    g.bench_function("national_chain_incl_drop", |b| {
        b.iter(|| national_chain(black_box(&n), &formulas))
    });
    // One result at a time, freed inside the timing: the memory of the previous one is reused,
    // as in a server dividing one parent at a time.
    g.bench_function("flat_80000_sites_incl_drop", |b| {
        b.iter(|| allocate(black_box(flat_total), black_box(&all_sites), &formulas[2]))
    });
    g.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
