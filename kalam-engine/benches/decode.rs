//! The generated scan decoder of a typed table against the engine's shared run-time one:
//! the same stored rows into the same Arrow batches, rows per second.
//!
//! ```sh
//! cargo bench -p kalam-engine --bench decode
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kalam_engine::bench::decode::{DecodePair, Table};

const ROWS: usize = 10_000;

fn decode(c: &mut Criterion) {
    for (name, table) in [("sbtest1", Table::Sbtest1), ("types", Table::Types)] {
        let pair = DecodePair::new(table, ROWS);
        let all: Vec<usize> = (0..pair.columns()).collect();
        // Both decoders once before measuring either: the allocator then serves the
        // batches' buffers from the state either leaves, and the one measured first does
        // not pay the page faults of growing the heap alone.
        for _ in 0..3 {
            black_box(pair.generated(&all));
            black_box(pair.shared(&all));
        }
        // Every column (`SELECT *`), and one (a scan that reads one column of the rows).
        for (shape, projection) in [("all_columns", all), ("one_column", vec![1])] {
            let mut group = c.benchmark_group(format!("scan_decode/{name}/{shape}"));
            group.throughput(Throughput::Elements(ROWS as u64));
            group.bench_function("generated", |b| {
                b.iter(|| black_box(pair.generated(black_box(&projection))).num_rows());
            });
            group.bench_function("shared", |b| {
                b.iter(|| black_box(pair.shared(black_box(&projection))).num_rows());
            });
            group.finish();
        }
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
