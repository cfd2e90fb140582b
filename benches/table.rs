//! `#[derive(KalamTable)]` against hand-written twins: storage keys, rows (and serde with
//! bincode), and Arrow record batches both ways. Same rows, same formats.
//!
//! ```sh
//! cargo bench --features arrow --bench table && python3 scripts/bench-ratios.py
//! ```

#[path = "twins/table.rs"]
mod twins;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kalam::{ArrowTable, Table};

use twins::{Job, batch_by_hand, decode_by_hand, encode_by_hand, key_by_hand, rows, rows_by_hand};

fn table(c: &mut Criterion) {
    // The twins write the same bytes and batches: `tests/table_twins.rs` checks it.
    let jobs = rows(1_000);
    let config = bincode::config::standard();

    let mut key = c.benchmark_group("key");
    key.bench_function("generated", |b| {
        b.iter(|| jobs.iter().map(|j| black_box(j.key()).len()).sum::<usize>());
    });
    key.bench_function("by_hand", |b| {
        b.iter(|| {
            jobs.iter()
                .map(|j| black_box(key_by_hand(j)).len())
                .sum::<usize>()
        });
    });
    key.finish();

    let mut encode = c.benchmark_group("row_encode");
    let mut buf = Vec::with_capacity(1 << 20);
    encode.bench_function("generated", |b| {
        b.iter(|| {
            buf.clear();
            jobs.iter().for_each(|j| j.encode(&mut buf));
            buf.len()
        });
    });
    encode.bench_function("by_hand", |b| {
        b.iter(|| {
            buf.clear();
            jobs.iter().for_each(|j| encode_by_hand(j, &mut buf));
            buf.len()
        });
    });
    encode.bench_function("serde_bincode", |b| {
        b.iter(|| {
            buf.clear();
            for j in &jobs {
                bincode::serde::encode_into_std_write(j, &mut buf, config).unwrap();
            }
            buf.len()
        });
    });
    encode.finish();

    let generated: Vec<Vec<u8>> = jobs.iter().map(Table::to_row).collect();
    let serialized: Vec<Vec<u8>> = jobs
        .iter()
        .map(|j| bincode::serde::encode_to_vec(j, config).unwrap())
        .collect();
    let mut decode = c.benchmark_group("row_decode");
    decode.bench_function("generated", |b| {
        b.iter(|| {
            generated
                .iter()
                .map(|r| Job::decode(r).unwrap().job_id)
                .sum::<i64>()
        });
    });
    decode.bench_function("by_hand", |b| {
        b.iter(|| {
            generated
                .iter()
                .map(|r| decode_by_hand(r).unwrap().job_id)
                .sum::<i64>()
        });
    });
    decode.bench_function("serde_bincode", |b| {
        b.iter(|| {
            serialized
                .iter()
                .map(|r| {
                    bincode::serde::decode_from_slice::<Job, _>(r, config)
                        .unwrap()
                        .0
                        .job_id
                })
                .sum::<i64>()
        });
    });
    decode.finish();

    let mut to_batch = c.benchmark_group("to_record_batch");
    to_batch.bench_function("generated", |b| {
        b.iter(|| Job::to_record_batch(black_box(&jobs)).unwrap().num_rows());
    });
    to_batch.bench_function("by_hand", |b| {
        b.iter(|| batch_by_hand(black_box(&jobs)).num_rows());
    });
    to_batch.finish();

    let batch = batch_by_hand(&jobs);
    let mut from_batch = c.benchmark_group("from_record_batch");
    from_batch.bench_function("generated", |b| {
        b.iter(|| Job::from_record_batch(black_box(&batch)).unwrap().len());
    });
    from_batch.bench_function("by_hand", |b| {
        b.iter(|| rows_by_hand(black_box(&batch)).len());
    });
    from_batch.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = table
}
criterion_main!(benches);
