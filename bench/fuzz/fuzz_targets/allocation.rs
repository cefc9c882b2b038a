//! The allocation formula on arbitrary numbers (any `i64`, any `u32` weight): no panic, never
//! more than the total, never a negative amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsys_domain::allocation::{ChildInput, Weights, allocate};
use vsys_domain::units::{Presentation, Unit};
use vsys_domain::Formula;

fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

fn opt(data: &mut &[u8]) -> Option<i64> {
    let [tag] = take::<1>(data);
    let v = i64::from_le_bytes(take::<8>(data));
    match tag % 4 {
        0 => None,
        1 => Some(v),
        2 => Some(v.rem_euclid(10_000)),
        _ => Some(if tag & 0x80 == 0 { i64::MAX } else { i64::MIN }),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let total = i64::from_le_bytes(take::<8>(&mut d));
    let w: Vec<u32> = (0..5).map(|_| u32::from_le_bytes(take::<4>(&mut d))).collect();
    let [flags] = take::<1>(&mut d);
    let f = Formula {
        version: 1,
        weights: Weights { population: w[0], requested: w[1], capacity: w[2], usage: w[3], equal: w[4] },
        deduct_stock: flags & 1 != 0,
        cap_by_request: flags & 2 != 0,
        cap_by_capacity: flags & 4 != 0,
    };
    let mut kids = Vec::new();
    let mut i = 0u32;
    while !d.is_empty() && kids.len() < 200 {
        kids.push(ChildInput {
            code: format!("{:05}", i % 7 * 13 + i),
            population: opt(&mut d),
            requested: opt(&mut d),
            capacity: opt(&mut d),
            administered: opt(&mut d),
            delivered: opt(&mut d),
            stock: opt(&mut d),
            storage_cap: opt(&mut d),
        });
        i += 1;
    }
    let a = allocate(total, &kids, &f);
    let given: i128 = a.lines.iter().map(|l| i128::from(l.amount)).sum();
    assert!(given <= i128::from(total.max(0)));
    assert!(a.lines.iter().all(|l| l.amount >= 0));
    let p = Presentation { doses_per_vial: w[0], vials_per_box: w[1] };
    for unit in Unit::ALL {
        let _ = p.to_vials(total, unit);
        let _ = p.from_vials_floor(total, unit);
        let _ = p.doses_to_unit_floor(total, unit);
    }
});
