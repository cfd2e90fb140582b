//! The generated scan decoder of a typed table against the engine's shared run-time one:
//! the same stored rows into the same Arrow batches, rows per second.
//!
//! ```sh
//! GLIBC_TUNABLES=glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456 \
//!     cargo bench -p kalam-engine --bench decode
//! ```
//!
//! A batch of 10,000 rows has buffers of a megabyte and more. With glibc's default
//! thresholds each is mapped and unmapped by the allocator, and which benchmark pays the
//! page faults of that depends on the order they run in (the first one measured, here):
//! the tunables above keep such buffers on the heap for both, so that the pair compares
//! the decoders.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kalam_engine::bench::decode::{DecodePair, Table};

const ROWS: usize = 10_000;

fn decode(c: &mut Criterion) {
    for (name, table) in [("sbtest1", Table::Sbtest1), ("types", Table::Types)] {
        let pair = DecodePair::new(table, ROWS);
        let all: Vec<usize> = (0..pair.columns()).collect();
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
