//! `#[hot]` accessors against the same getters written by hand, called from this crate
//! into `kalam-bench-models`.
//!
//! ```sh
//! cargo bench --bench hot_accessors                       # release
//! cargo bench --bench hot_accessors --profile bench-o1    # opt-level 1, incremental
//! python3 scripts/bench-ratios.py                         # the ratios, side by side
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kalam_bench_models::{HotRow, InlineRow, PlainRow};

const ROWS: u64 = 1_000;

fn fields(i: u64) -> (u64, f64, String, Vec<u32>) {
    (
        i,
        i as f64 * 0.5,
        format!("row-{i}"),
        vec![i as u32; (i % 4) as usize],
    )
}

/// Reads every field of every row; the same loop for each row type.
macro_rules! scan {
    ($rows:expr) => {{
        let mut total = 0u64;
        for row in $rows {
            total = total
                .wrapping_add(row.id())
                .wrapping_add(row.score() as u64)
                .wrapping_add(row.name().len() as u64)
                .wrapping_add(row.tags().len() as u64);
        }
        total
    }};
}

fn accessors(c: &mut Criterion) {
    let hot: Vec<HotRow> = (0..ROWS)
        .map(fields)
        .map(|(a, b, c, d)| HotRow::new(a, b, c, d))
        .collect();
    let plain: Vec<PlainRow> = (0..ROWS)
        .map(fields)
        .map(|(a, b, c, d)| PlainRow::new(a, b, c, d))
        .collect();
    let inline: Vec<InlineRow> = (0..ROWS)
        .map(fields)
        .map(|(a, b, c, d)| InlineRow::new(a, b, c, d))
        .collect();

    let mut group = c.benchmark_group("accessors");
    group.bench_function("hot", |b| b.iter(|| scan!(black_box(&hot))));
    group.bench_function("plain", |b| b.iter(|| scan!(black_box(&plain))));
    group.bench_function("inline_by_hand", |b| b.iter(|| scan!(black_box(&inline))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = accessors
}
criterion_main!(benches);
