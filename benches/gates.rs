//! What an opt-in feature costs when it is off, compiled out or on, next to the code
//! without the call and to disabled `tracing` and `log` call sites.
//!
//! Every variant runs the same loop: a little work per item, then the observability hook.
//!
//! ```sh
//! cargo bench --bench gates && python3 scripts/bench-ratios.py
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kalam::opt_in_feature;

const ITEMS: u64 = 1_000;

#[derive(Debug)]
struct Entry {
    id: u64,
    table: &'static str,
}

/// What the hook does when it runs: format the entry and keep its length.
#[inline(never)]
fn record(entry: &Entry) {
    black_box(format!("{} {}", entry.id, entry.table).len());
}

#[opt_in_feature("bench-off")]
fn gated_off(entry: &Entry) {
    record(entry);
}

#[opt_in_feature("bench-on")]
fn gated_on(entry: &Entry) {
    record(entry);
}

// This package has no such feature, so the body is always compiled out.
#[opt_in_feature("bench-out", feature = "bench-compiled-in")]
fn compiled_out(entry: &Entry) {
    record(entry);
}

/// The per-item work every variant shares.
#[inline(always)]
fn work(i: u64) -> Entry {
    Entry {
        id: black_box(i).wrapping_mul(31),
        table: "jobs",
    }
}

fn loop_with(hook: impl Fn(&Entry)) -> u64 {
    let mut total = 0;
    for i in 0..ITEMS {
        let entry = work(i);
        hook(&entry);
        total += entry.id;
    }
    total
}

fn gates(c: &mut Criterion) {
    kalam::set_gate("bench-off", false);
    kalam::set_gate("bench-on", true);
    // No tracing subscriber and no logger: both are disabled, as in a service that has
    // them compiled in but not turned on.
    log::set_max_level(log::LevelFilter::Off);

    let mut off = c.benchmark_group("gate_off");
    off.bench_function("without_call", |b| b.iter(|| loop_with(|_| {})));
    off.bench_function("opt_in_off", |b| b.iter(|| loop_with(gated_off)));
    off.bench_function("compiled_out", |b| b.iter(|| loop_with(compiled_out)));
    off.bench_function("tracing_disabled", |b| {
        b.iter(|| loop_with(|e| tracing::debug!(target: "audit", id = e.id, table = e.table)));
    });
    off.bench_function("log_disabled", |b| {
        b.iter(|| loop_with(|e| log::debug!(target: "audit", "{} {}", e.id, e.table)));
    });
    off.finish();

    let mut on = c.benchmark_group("gate_on");
    on.bench_function("plain_call", |b| b.iter(|| loop_with(record)));
    on.bench_function("opt_in_on", |b| b.iter(|| loop_with(gated_on)));
    on.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = gates
}
criterion_main!(benches);
