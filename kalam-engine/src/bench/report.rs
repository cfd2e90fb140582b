//! What a run measured, and its three renderings: the terminal table, `report.json` and a
//! self-contained `report.html` with an SVG chart of the multipliers.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{BenchOptions, Group, Sqlite, ThreadResult, tests};
use crate::Durability;

/// The opt-in gates the `gates` switch turns on together.
pub(crate) const GATES: [&str; 4] = [
    "audit_log",
    "live_queries",
    "slow_query_log",
    "query_metrics",
];

/// The engine's configuration for a run: the switches the optimisation ladder flips.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// The opt-in gates (audit log, live queries, slow-query log, metrics) on.
    pub gates: bool,
    /// Prepared statements of simple shapes skip DataFusion
    /// ([`EngineOptions::fast_paths`](crate::EngineOptions::fast_paths)).
    pub fast_paths: bool,
    /// Prepared statements optimized once, at prepare
    /// ([`EngineOptions::optimize_once`](crate::EngineOptions::optimize_once)).
    pub optimize_once: bool,
    /// Prepared queries planned physically once, at prepare
    /// ([`EngineOptions::plan_once`](crate::EngineOptions::plan_once)).
    pub plan_once: bool,
    /// Joins on a primary key look keys up
    /// ([`EngineOptions::lookup_joins`](crate::EngineOptions::lookup_joins)).
    pub lookup_joins: bool,
    /// The durability of both engines.
    #[serde(serialize_with = "durability_name")]
    pub durability: Durability,
    /// How the engine's tables are declared: in SQL, in Rust, or both side by side.
    pub tables: Tables,
    /// Each event of `oltp_read_only`, `oltp_read_write` and `oltp_write_only` in one
    /// transaction, `BEGIN` ... `COMMIT`, on every engine, as sysbench runs them.
    pub transactions: bool,
    /// SQLite's page cache: as much memory as the engine's, or SQLite's default.
    pub sqlite_cache: SqliteCache,
}

/// How much memory SQLite's page cache gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteCache {
    /// What the engine keeps rows in at most: its block cache, its row and index caches
    /// and the memtables of its row and index families (`PRAGMA cache_size`), with as much
    /// memory-mapped I/O (`PRAGMA mmap_size`).
    #[default]
    Matched,
    /// SQLite's default: 2 MB of page cache, no memory mapping.
    Default,
}

impl SqliteCache {
    /// Its name on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SqliteCache::Matched => "matched",
            SqliteCache::Default => "default",
        }
    }

    /// The bytes of page cache it gives SQLite; `None` for SQLite's default.
    #[must_use]
    pub fn bytes(self) -> Option<usize> {
        match self {
            SqliteCache::Matched => Some(crate::storage::MEMORY_BYTES),
            SqliteCache::Default => None,
        }
    }
}

/// How the suite's tables are declared on the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tables {
    /// `CREATE TABLE` in SQL: rows in the engine's own format, read by its run-time codec.
    Sql,
    /// `#[derive(KalamTable)]` structs (`Engine::create_typed`): rows in their generated
    /// format, scanned by their generated decoders.
    Typed,
    /// Both, each on its own engine, against the same SQLite in one run.
    #[default]
    Both,
}

impl Tables {
    /// Its name on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Tables::Sql => "sql",
            Tables::Typed => "typed",
            Tables::Both => "both",
        }
    }

    /// The engine variants a run opens, in report order.
    pub(crate) fn variants(self) -> Vec<Tables> {
        match self {
            Tables::Both => vec![Tables::Sql, Tables::Typed],
            one => vec![one],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gates: false,
            fast_paths: true,
            optimize_once: true,
            plan_once: true,
            lookup_joins: true,
            durability: Durability::default(),
            tables: Tables::default(),
            transactions: false,
            sqlite_cache: SqliteCache::default(),
        }
    }
}

fn durability_name<S: serde::Serializer>(d: &Durability, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Durability::Machine => "machine",
        _ => "process",
    })
}

/// Latencies of one engine in one test, in microseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stats {
    /// Measured events.
    pub events: usize,
    /// Median latency of an event.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Events per second of one thread: `1 / mean`.
    pub ops_per_sec: f64,
}

impl Stats {
    pub(crate) fn of(times: &mut [Duration]) -> Stats {
        times.sort_unstable();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        // Nearest rank.
        let rank = |p: f64| {
            let n = times.len();
            let i = ((p / 100.0) * n as f64).ceil() as usize;
            times.get(i.clamp(1, n.max(1)) - 1).copied().map_or(0.0, us)
        };
        let mean = if times.is_empty() {
            0.0
        } else {
            times.iter().map(|&d| us(d)).sum::<f64>() / times.len() as f64
        };
        Stats {
            events: times.len(),
            p50_us: rank(50.0),
            p99_us: rank(99.0),
            mean_us: mean,
            ops_per_sec: if mean > 0.0 { 1e6 / mean } else { 0.0 },
        }
    }
}

/// The CPU model (Linux's `/proc/cpuinfo`) and the threads available, as
/// `AMD EPYC 7B13, 2 threads`.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        });
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    format!(
        "{}, {threads} threads",
        model.as_deref().unwrap_or("unknown CPU")
    )
}

/// One test's figures on both engines.
#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    /// The test.
    pub name: &'static str,
    /// `read`, `write` or `bulk`.
    pub group: &'static str,
    /// Its statements, as written for the engine.
    pub statements: Vec<String>,
    /// The engine's latencies (with the tables declared in SQL, unless only the typed
    /// ones ran).
    pub kalam: Stats,
    /// SQLite's latencies.
    pub sqlite: Stats,
    /// `p50(kalam) / p50(sqlite)`; below 1 the engine is faster.
    pub multiplier: f64,
    /// With both declarations: the engine's latencies on the tables declared in Rust.
    pub typed: Option<Stats>,
    /// `p50(typed) / p50(sqlite)`.
    pub typed_multiplier: Option<f64>,
    /// `p50(typed) / p50(kalam)`: below 1 the generated code is faster.
    pub typed_over_sql: Option<f64>,
    /// In `oltp_point_select`: the floor, a raw RocksDB get of each event's row (the
    /// storage key built, no SQL, no decoding, past the row cache), timed in the same
    /// events.
    pub floor: Option<Stats>,
    /// `p50(kalam) / p50(floor)`: the engine's overhead over its storage.
    pub over_floor: Option<f64>,
    /// The multiplier of each run of the suite (`--repeat`), in the order they ran; the
    /// figures above are those of the run with the median one.
    pub multipliers: Vec<f64>,
}

impl TestResult {
    pub(crate) fn new(
        (name, group): (&'static str, Group),
        statements: Vec<String>,
        (kalam, sqlite): (Stats, Stats),
        (typed, floor): (Option<Stats>, Option<Stats>),
    ) -> Self {
        let ratio = |a: f64, b: f64| a / b.max(1e-9);
        TestResult {
            name,
            group: group.name(),
            statements,
            kalam,
            sqlite,
            multiplier: ratio(kalam.p50_us, sqlite.p50_us),
            typed,
            typed_multiplier: typed.map(|t| ratio(t.p50_us, sqlite.p50_us)),
            typed_over_sql: typed.map(|t| ratio(t.p50_us, kalam.p50_us)),
            floor,
            over_floor: floor.map(|f| ratio(kalam.p50_us, f.p50_us)),
            multipliers: vec![ratio(kalam.p50_us, sqlite.p50_us)],
        }
    }

    /// Of the runs of one test, the one with the median multiplier (the lower of the two
    /// middle ones for an even count), holding every run's multiplier.
    pub(crate) fn median_of(runs: Vec<TestResult>) -> Option<TestResult> {
        let multipliers: Vec<f64> = runs.iter().map(|r| r.multiplier).collect();
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| multipliers[a].total_cmp(&multipliers[b]));
        let median = *order.get(runs.len().checked_sub(1)? / 2)?;
        let mut result = runs.into_iter().nth(median)?;
        result.multipliers = multipliers;
        Some(result)
    }

    /// The lowest and highest multiplier over the runs.
    #[must_use]
    pub fn range(&self) -> (f64, f64) {
        self.multipliers
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &m| {
                (lo.min(m), hi.max(m))
            })
    }
}

/// Dolt's means.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Summary {
    /// Mean multiplier of the read tests run.
    pub reads_mean: Option<f64>,
    /// Mean multiplier of the write tests run (not `bulk_insert`).
    pub writes_mean: Option<f64>,
    /// Mean of the two (of the one, when only one group ran).
    pub read_write_mean: Option<f64>,
}

impl Summary {
    fn of(results: &[TestResult], multiplier: impl Fn(&TestResult) -> Option<f64>) -> Summary {
        let multipliers: Vec<(&str, f64)> = results
            .iter()
            .filter_map(|r| Some((r.group, multiplier(r)?)))
            .collect();
        Summary::of_groups(&multipliers)
    }

    /// The means of `(group, multiplier)` pairs.
    fn of_groups(multipliers: &[(&str, f64)]) -> Summary {
        let mean = |group: Group| {
            let ms: Vec<f64> = multipliers
                .iter()
                .filter(|(g, _)| *g == group.name())
                .map(|(_, m)| *m)
                .collect();
            (!ms.is_empty()).then(|| ms.iter().sum::<f64>() / ms.len() as f64)
        };
        let (reads, writes) = (mean(Group::Read), mean(Group::Write));
        let read_write_mean = match (reads, writes) {
            (Some(r), Some(w)) => Some((r + w) / 2.0),
            (one, other) => one.or(other),
        };
        Summary {
            reads_mean: reads,
            writes_mean: writes,
            read_write_mean,
        }
    }
}

/// What one thread count of a run gave, over its tests.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Scaling {
    /// The thread count.
    pub threads: usize,
    /// Dolt's means of the multipliers at this count.
    pub summary: Summary,
    /// The geometric mean of `ops(kalam) / ops(sqlite)` over the tests.
    pub throughput_ratio: Option<f64>,
    /// The thread count the growths below are relative to (the first of the run).
    pub from: usize,
    /// The engine's read tests: throughput here over throughput at `from` threads
    /// (geometric mean over the tests).
    pub kalam_reads_growth: Option<f64>,
    /// SQLite's, likewise.
    pub sqlite_reads_growth: Option<f64>,
}

impl std::fmt::Display for Scaling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |m: Option<f64>| m.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"));
        write!(
            f,
            "{} threads: read_write_mean {} (reads {}, writes {}); throughput kalam/sqlite {} \
             (geometric mean); read tests' throughput x{} kalam, x{} sqlite from {} thread{}",
            self.threads,
            show(self.summary.read_write_mean),
            show(self.summary.reads_mean),
            show(self.summary.writes_mean),
            show(self.throughput_ratio),
            show(self.kalam_reads_growth),
            show(self.sqlite_reads_growth),
            self.from,
            if self.from == 1 { "" } else { "s" },
        )
    }
}

/// A run: how it was set up, each test, the means, the peak memory.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The UTC date of the run, `YYYY-MM-DD`.
    pub date: String,
    /// The machine: its CPU model (where the system tells it) and how many threads it
    /// runs at once.
    pub machine: String,
    /// Rows of each table.
    pub rows: usize,
    /// Warm-up events per test.
    pub warmup: usize,
    /// Runs of the suite: each test's figures are its median run's.
    pub repeat: usize,
    /// The engine's switches.
    pub config: Config,
    /// How each engine is set up and what the run compares.
    pub method: Vec<String>,
    /// The tests, in the order they ran.
    pub tests: Vec<TestResult>,
    /// Dolt's means.
    pub summary: Summary,
    /// With both declarations: Dolt's means of the engine on the tables declared in Rust.
    pub typed_summary: Option<Summary>,
    /// The process's peak resident memory, both engines together.
    pub peak_memory_bytes: Option<u64>,
    /// Each test from several threads (`--threads`), by thread count, then test.
    pub threads: Vec<ThreadResult>,
}

impl Report {
    pub(crate) fn new(
        options: &BenchOptions,
        (tests, threads): (Vec<TestResult>, Vec<ThreadResult>),
        peak: Option<u64>,
    ) -> Self {
        let sync = Sqlite::synchronous(options.config.durability);
        let durability = match options.config.durability {
            Durability::Machine => {
                "RocksDB writes the WAL and fsyncs it before a write is acknowledged"
            }
            _ => {
                "RocksDB writes the WAL without fsync (an acknowledged write survives the \
                 process being killed, not a power loss)"
            }
        };
        let mut method = vec![
            format!("kalam: embedded RocksDB; {durability}"),
            format!(
                "sqlite {}: rusqlite, bundled library, journal_mode=WAL, synchronous={sync} \
                 (the same guarantee), {}",
                Sqlite::version(),
                match options.config.sqlite_cache.bytes() {
                    Some(bytes) => format!(
                        "cache_size and mmap_size of {} MiB: the engine's block cache, row \
                         and index caches and memtables",
                        bytes >> 20
                    ),
                    None => "its default page cache (2 MB), no mmap".to_owned(),
                }
            ),
            if options.config.transactions {
                "both: prepared statements with parameters, one thread, same process, same \
                 data; each event of oltp_read_only, oltp_read_write and oltp_write_only in \
                 one transaction (BEGIN ... COMMIT), every other write statement committing \
                 on its own"
                    .to_owned()
            } else {
                "both: prepared statements with parameters, one thread, same process, same \
                 data; no BEGIN/COMMIT: each write statement commits on its own"
                    .to_owned()
            },
            format!(
                "bulk_insert: one INSERT of {} rows as SQL text on both, not averaged",
                tests::BULK_ROWS
            ),
            "every result compared between the engines".to_owned(),
            format!(
                "{}: also timed in the same events, a raw RocksDB get of each row (the \
                 storage key built from the id, no SQL, no decoding, past the engine's row \
                 cache): the engine's floor",
                tests::FLOOR_TEST
            ),
            match options.config.tables {
                Tables::Sql => "kalam's tables declared in SQL (CREATE TABLE)".to_owned(),
                Tables::Typed => "kalam's tables declared in Rust (#[derive(KalamTable)], \
                                  Engine::create_typed)"
                    .to_owned(),
                Tables::Both => "kalam twice, each on its own RocksDB: tables declared in SQL \
                                 (kalam) and in Rust (typed); each event runs on the three \
                                 engines in turn"
                    .to_owned(),
            },
        ];
        if !options.threads.is_empty() {
            method.push(format!(
                "threads ({}): after the compared runs, each test from N threads on one \
                 engine, then on the other, the first for half the test's time, the second \
                 for as many events on each thread, the same events; the engine{} shared \
                 by its threads, each with its own prepared statements; SQLite with a \
                 connection per thread and a 10 s busy timeout, write tests' transactions \
                 BEGIN IMMEDIATE; each thread writes its own stripe of the ids, so both \
                 engines end each write test with the same rows (compared); the answers of \
                 concurrent reads are not compared",
                options
                    .threads
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                match options.config.tables {
                    Tables::Both => " (tables declared in SQL)",
                    _ => "",
                }
            ));
        }
        Report {
            date: today(),
            machine: machine(),
            rows: options.rows,
            repeat: options.repeat,
            warmup: options.warmup,
            config: options.config.clone(),
            method,
            summary: Summary::of(&tests, |t| Some(t.multiplier)),
            typed_summary: (options.config.tables == Tables::Both)
                .then(|| Summary::of(&tests, |t| t.typed_multiplier)),
            tests,
            peak_memory_bytes: peak,
            threads,
        }
    }

    /// The threads table: each test at each thread count, both engines' throughput and
    /// latency, and for each count Dolt's means of the multipliers and how the engine's
    /// throughput grew from the first count. Empty without `--threads`.
    #[must_use]
    pub fn threads_table(&self) -> String {
        let mut out = String::new();
        if self.threads.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "{:<24} {:>7} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "test",
            "threads",
            "kalam/s",
            "sqlite/s",
            "ops ratio",
            "kalam p50",
            "sqlite p50",
            "kalam p99",
            "sqlite p99",
            "multiplier"
        );
        let _ = writeln!(out, "{}", "-".repeat(118));
        for t in &self.threads {
            let retried = t.kalam.retried + t.sqlite.retried;
            let _ = writeln!(
                out,
                "{:<24} {:>7} {:>10.0} {:>10.0} {:>9.2} {:>8.1}µs {:>8.1}µs {:>8.1}µs {:>8.1}µs {:>10.2}{}",
                t.name,
                t.threads,
                t.kalam.ops_per_sec,
                t.sqlite.ops_per_sec,
                t.throughput_ratio,
                t.kalam.latency.p50_us,
                t.sqlite.latency.p50_us,
                t.kalam.latency.p99_us,
                t.sqlite.latency.p99_us,
                t.multiplier,
                if retried > 0 {
                    format!("  ({} + {} retried)", t.kalam.retried, t.sqlite.retried)
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(out, "{}", "-".repeat(118));
        for scaling in self.thread_scaling() {
            let _ = writeln!(out, "{scaling}");
        }
        out
    }

    /// For each thread count: Dolt's means of its multipliers, the geometric mean of its
    /// throughput ratios, and the read tests' throughput over that at the first count
    /// (geometric means over the tests), on each engine.
    #[must_use]
    pub fn thread_scaling(&self) -> Vec<Scaling> {
        let mut counts: Vec<usize> = Vec::new();
        for t in &self.threads {
            if !counts.contains(&t.threads) {
                counts.push(t.threads);
            }
        }
        let Some(&from) = counts.first() else {
            return Vec::new();
        };
        let geometric = |values: &[f64]| {
            let logs: Vec<f64> = values
                .iter()
                .filter(|v| **v > 0.0)
                .map(|v| v.ln())
                .collect();
            (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
        };
        let growth = |n: usize, ops: fn(&ThreadResult) -> f64| {
            let ratios: Vec<f64> = self
                .threads
                .iter()
                .filter(|t| t.threads == n && t.group == Group::Read.name())
                .filter_map(|t| {
                    let base = self
                        .threads
                        .iter()
                        .find(|b| b.threads == from && b.name == t.name)?;
                    Some(ops(t) / ops(base).max(1e-9))
                })
                .collect();
            geometric(&ratios)
        };
        counts
            .into_iter()
            .map(|n| {
                let at: Vec<&ThreadResult> =
                    self.threads.iter().filter(|t| t.threads == n).collect();
                let multipliers: Vec<(&str, f64)> =
                    at.iter().map(|t| (t.group, t.multiplier)).collect();
                let ratios: Vec<f64> = at.iter().map(|t| t.throughput_ratio).collect();
                Scaling {
                    threads: n,
                    summary: Summary::of_groups(&multipliers),
                    throughput_ratio: geometric(&ratios),
                    from,
                    kalam_reads_growth: growth(n, |t| t.kalam.ops_per_sec),
                    sqlite_reads_growth: growth(n, |t| t.sqlite.ops_per_sec),
                }
            })
            .collect()
    }

    /// The report as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The terminal table: one row per test, then the means. With both declarations of the
    /// tables, each test shows the engine on either, and the ratio typed/sql.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = String::new();
        let bulk = |t: &TestResult| {
            if t.group == "bulk" {
                "  (not averaged)"
            } else {
                ""
            }
        };
        if self.typed_summary.is_some() {
            let _ = writeln!(
                out,
                "{:<24} {:>11} {:>11} {:>11} {:>10} {:>10} {:>10}",
                "test", "kalam p50", "typed p50", "sqlite p50", "multiplier", "typed", "typed/sql"
            );
            let _ = writeln!(out, "{}", "-".repeat(93));
            for t in &self.tests {
                let typed = t.typed.map_or(0.0, |s| s.p50_us);
                let _ = writeln!(
                    out,
                    "{:<24} {:>9.1}µs {:>9.1}µs {:>9.1}µs {:>10.2} {:>10.2} {:>10.2}{}",
                    t.name,
                    t.kalam.p50_us,
                    typed,
                    t.sqlite.p50_us,
                    t.multiplier,
                    t.typed_multiplier.unwrap_or(0.0),
                    t.typed_over_sql.unwrap_or(0.0),
                    bulk(t)
                );
            }
            let _ = writeln!(out, "{}", "-".repeat(93));
        } else {
            let _ = writeln!(
                out,
                "{:<24} {:>11} {:>11} {:>11} {:>11} {:>10} {:>10} {:>10}",
                "test",
                "kalam p50",
                "sqlite p50",
                "kalam p99",
                "sqlite p99",
                "kalam/s",
                "sqlite/s",
                "multiplier"
            );
            let _ = writeln!(out, "{}", "-".repeat(105));
            for t in &self.tests {
                let _ = writeln!(
                    out,
                    "{:<24} {:>9.1}µs {:>9.1}µs {:>9.1}µs {:>9.1}µs {:>10.0} {:>10.0} {:>10.2}{}",
                    t.name,
                    t.kalam.p50_us,
                    t.sqlite.p50_us,
                    t.kalam.p99_us,
                    t.sqlite.p99_us,
                    t.kalam.ops_per_sec,
                    t.sqlite.ops_per_sec,
                    t.multiplier,
                    bulk(t)
                );
            }
            let _ = writeln!(out, "{}", "-".repeat(105));
        }
        if self.repeat > 1 {
            let _ = writeln!(
                out,
                "multipliers over {} runs of the suite (the table gives each test's median run):",
                self.repeat
            );
            for t in &self.tests {
                let (lo, hi) = t.range();
                let _ = writeln!(
                    out,
                    "  {:<24} {:.2} ({lo:.2} to {hi:.2})",
                    t.name, t.multiplier
                );
            }
        }
        for t in &self.tests {
            if let (Some(floor), Some(over)) = (t.floor, t.over_floor) {
                let _ = writeln!(
                    out,
                    "floor           a raw RocksDB get of {}'s row: p50 {:.2}µs; the engine \
                     takes {over:.2} times that",
                    t.name, floor.p50_us
                );
            }
        }
        let show = |m: Option<f64>| m.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"));
        let _ = writeln!(out, "reads_mean      {}", show(self.summary.reads_mean));
        let _ = writeln!(out, "writes_mean     {}", show(self.summary.writes_mean));
        let _ = writeln!(
            out,
            "read_write_mean {}",
            show(self.summary.read_write_mean)
        );
        if let Some(typed) = &self.typed_summary {
            let _ = writeln!(
                out,
                "typed (tables declared in Rust): reads_mean {}, writes_mean {}, read_write_mean {}",
                show(typed.reads_mean),
                show(typed.writes_mean),
                show(typed.read_write_mean)
            );
        }
        if let Some(bytes) = self.peak_memory_bytes {
            let _ = writeln!(
                out,
                "peak memory     {:.1} MiB",
                bytes as f64 / (1024.0 * 1024.0)
            );
        }
        let _ = writeln!(
            out,
            "{} rows, tables {}, sqlite cache {}, transactions {}, gates {}, fast paths {}, optimize once {}, plan once {}, lookup joins {}, {}, {}",
            self.rows,
            self.config.tables.name(),
            self.config.sqlite_cache.name(),
            on(self.config.transactions),
            on(self.config.gates),
            on(self.config.fast_paths),
            on(self.config.optimize_once),
            on(self.config.plan_once),
            on(self.config.lookup_joins),
            self.machine,
            self.date
        );
        out
    }

    /// The report as one HTML page: the method, a chart of the multipliers and the table.
    #[must_use]
    pub fn html(&self) -> String {
        let mut rows = String::new();
        for t in &self.tests {
            let _ = writeln!(
                rows,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td>\
                 <td>{:.0}</td><td>{:.0}</td><td><b>{:.2}</b></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.name,
                t.group,
                t.kalam.p50_us,
                t.sqlite.p50_us,
                t.kalam.p99_us,
                t.sqlite.p99_us,
                t.kalam.ops_per_sec,
                t.sqlite.ops_per_sec,
                t.multiplier,
                t.typed
                    .map_or_else(|| "-".to_owned(), |s| format!("{:.1}", s.p50_us)),
                t.typed_multiplier
                    .map_or_else(|| "-".to_owned(), |m| format!("{m:.2}")),
                t.typed_over_sql
                    .map_or_else(|| "-".to_owned(), |m| format!("{m:.2}")),
            );
        }
        let show = |m: Option<f64>| m.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"));
        let method: String = self
            .method
            .iter()
            .map(|m| format!("<li>{}</li>", escape(m)))
            .collect();
        let memory = self.peak_memory_bytes.map_or_else(
            || "unknown".to_owned(),
            |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        );
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>kalam bench {date}</title>\n<style>\
             body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}}\
             table{{border-collapse:collapse}}td,th{{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}}\
             td:first-child,th:first-child,td:nth-child(2){{text-align:left}}\
             </style></head><body>\n<h1>kalam bench</h1>\n\
             <p>{date}, {machine}: {rows} rows, warm-up {warmup} events, gates {gates}, fast paths {fast}, \
             optimize once {once}, plan once {plan_once}, lookup joins {lookup}. \
             Multiplier = p50(kalam) / p50(sqlite); below 1 the engine is faster.</p>\n\
             <ul>{method}</ul>\n{chart}\n\
             <p>reads_mean <b>{reads}</b> · writes_mean <b>{writes}</b> · read_write_mean <b>{rw}</b> · \
             peak memory {memory}</p>\n\
             <table><tr><th>test</th><th>group</th><th>kalam p50 µs</th><th>sqlite p50 µs</th>\
             <th>kalam p99 µs</th><th>sqlite p99 µs</th><th>kalam ops/s</th><th>sqlite ops/s</th>\
             <th>multiplier</th><th>typed p50 µs</th><th>typed multiplier</th><th>typed/sql</th></tr>\n\
             {rows_html}</table>\n<p>typed: the engine on the tables declared in Rust ({typed}).</p>\n\
             {threads}</body></html>\n",
            date = self.date,
            machine = self.machine,
            rows = self.rows,
            warmup = self.warmup,
            gates = on(self.config.gates),
            fast = on(self.config.fast_paths),
            once = on(self.config.optimize_once),
            plan_once = on(self.config.plan_once),
            lookup = on(self.config.lookup_joins),
            chart = self.chart(),
            reads = show(self.summary.reads_mean),
            writes = show(self.summary.writes_mean),
            rw = show(self.summary.read_write_mean),
            typed = self.typed_summary.map_or_else(
                || format!("not run: tables {}", self.config.tables.name()),
                |t| format!("read_write_mean {}", show(t.read_write_mean))
            ),
            rows_html = rows,
            threads = self.threads_html(),
        )
    }

    /// The threads table as HTML; empty without `--threads`.
    fn threads_html(&self) -> String {
        if self.threads.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "<h2>From several threads</h2>\n<table><tr><th>test</th><th>threads</th>\
             <th>kalam ops/s</th><th>sqlite ops/s</th><th>kalam/sqlite ops</th>\
             <th>kalam p50 µs</th><th>sqlite p50 µs</th><th>kalam p99 µs</th>\
             <th>sqlite p99 µs</th><th>multiplier</th></tr>\n",
        );
        for t in &self.threads {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{:.2}</td><td>{:.1}</td>\
                 <td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td><b>{:.2}</b></td></tr>",
                t.name,
                t.threads,
                t.kalam.ops_per_sec,
                t.sqlite.ops_per_sec,
                t.throughput_ratio,
                t.kalam.latency.p50_us,
                t.sqlite.latency.p50_us,
                t.kalam.latency.p99_us,
                t.sqlite.latency.p99_us,
                t.multiplier,
            );
        }
        out.push_str("</table>\n<ul>");
        for scaling in self.thread_scaling() {
            let _ = write!(out, "<li>{}</li>", escape(&scaling.to_string()));
        }
        out.push_str("</ul>\n");
        out
    }

    /// Horizontal bars on a log scale, from 1.0 to each test's multiplier: green when the
    /// engine is faster, red when slower.
    #[must_use]
    pub fn chart(&self) -> String {
        const LABEL: f64 = 190.0;
        const WIDTH: f64 = 560.0;
        const BAR: f64 = 22.0;
        let logs: Vec<f64> = self
            .tests
            .iter()
            .map(|t| t.multiplier.max(1e-3).log10())
            .collect();
        let low = logs.iter().copied().fold(0.0_f64, f64::min).floor();
        let high = logs
            .iter()
            .copied()
            .fold(0.0_f64, f64::max)
            .ceil()
            .max(low + 1.0);
        let x = |log: f64| LABEL + (log - low) / (high - low) * WIDTH;
        let height = BAR * self.tests.len() as f64 + 40.0;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" \
             font-family=\"system-ui,sans-serif\" font-size=\"12\">\n",
            w = LABEL + WIDTH + 70.0
        );
        // Decades.
        let mut decade = low;
        while decade <= high {
            let _ = writeln!(
                svg,
                "<line x1=\"{x0:.1}\" y1=\"0\" x2=\"{x0:.1}\" y2=\"{y:.1}\" stroke=\"{color}\"/>\
                 <text x=\"{x0:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{label}</text>",
                x0 = x(decade),
                y = height - 25.0,
                ty = height - 10.0,
                color = if decade == 0.0 { "#333" } else { "#ddd" },
                label = format_decade(decade)
            );
            decade += 1.0;
        }
        for (i, (t, &log)) in self.tests.iter().zip(&logs).enumerate() {
            let y = i as f64 * BAR + 4.0;
            let (a, b) = (x(0.0).min(x(log)), x(0.0).max(x(log)));
            let color = if t.multiplier <= 1.0 {
                "#2e8b57"
            } else {
                "#c0392b"
            };
            let _ = writeln!(
                svg,
                "<text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{name}</text>\
                 <rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{color}\"/>\
                 <text x=\"{vx:.1}\" y=\"{ty:.1}\">{m:.2}×</text>",
                lx = LABEL - 8.0,
                ty = y + BAR * 0.6,
                name = t.name,
                w = (b - a).max(1.0),
                h = BAR - 6.0,
                vx = b + 4.0,
                m = t.multiplier
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

fn on(switch: bool) -> &'static str {
    if switch { "on" } else { "off" }
}

fn format_decade(log: f64) -> String {
    let value = 10f64.powf(log);
    if value >= 1.0 {
        format!("{value:.0}×")
    } else {
        format!("{value}×")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn dates_and_percentiles() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let mut times: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let stats = Stats::of(&mut times);
        assert_eq!((stats.p50_us, stats.p99_us), (50.0, 99.0));
        assert!((stats.mean_us - 50.5).abs() < 1e-9);
    }

    #[test]
    fn means_follow_dolt() {
        let stats = |p50: f64| Stats {
            events: 1,
            p50_us: p50,
            p99_us: p50,
            mean_us: p50,
            ops_per_sec: 1e6 / p50,
        };
        let t = |name, group, k: f64| {
            let typed = Some(stats(k / 2.0));
            TestResult::new(
                (name, group),
                Vec::new(),
                (stats(k), stats(10.0)),
                (typed, None),
            )
        };
        let tests = [
            t("a", Group::Read, 10.0),
            t("b", Group::Read, 30.0),
            t("c", Group::Write, 5.0),
            t("d", Group::Bulk, 100.0),
        ];
        let summary = Summary::of(&tests, |t| Some(t.multiplier));
        assert_eq!(summary.reads_mean, Some(2.0));
        assert_eq!(summary.writes_mean, Some(0.5));
        assert_eq!(summary.read_write_mean, Some(1.25));
        // The typed variant, at half the engine's latencies: half its multipliers.
        assert_eq!(tests[1].typed_over_sql, Some(0.5));
        let typed = Summary::of(&tests, |t| t.typed_multiplier);
        assert_eq!(typed.read_write_mean, Some(0.625));
    }
}
