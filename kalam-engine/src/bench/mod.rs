//! `kalam bench`: the sysbench-style suite, run on the engine and on SQLite side by side,
//! scored with Dolt's multipliers.
//!
//! Every engine gets the same generated data (`sbtest1` with a secondary index on `k`, and
//! the table of the typed tests with an index on `big_int_col`), the same prepared
//! statements and the same parameters, in one process. The engine runs in one or two
//! variants ([`Tables`]): with the tables declared in SQL, and with the same tables declared
//! in Rust (`#[derive(KalamTable)]` structs, stored and scanned by their generated code).
//! Each measured event runs on every engine, in an order that turns with each event, and
//! their results are compared: a wrong answer stops the run with [`BenchError::Mismatch`].
//! Per test, the multiplier is `p50(kalam) / p50(sqlite)`; `reads_mean` and `writes_mean`
//! average the multipliers of each group and `read_write_mean` averages the two.
//!
//! ```no_run
//! use kalam_engine::bench::{self, BenchOptions};
//!
//! let options = BenchOptions { rows: 1_000, ..BenchOptions::default() };
//! let report = bench::run(&options, &mut |_| {})?;
//! println!("{}", report.table());
//! # Ok::<(), kalam_engine::bench::BenchError>(())
//! ```

mod data;
pub mod decode;
mod models;
mod report;
mod sides;
mod tests;
mod threads;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use report::{Config, Report, Scaling, SqliteCache, Stats, Summary, Tables, TestResult};
pub use tests::Group;
pub use threads::{Load, ThreadResult};

use self::data::Rng;
use self::sides::{Kalam, Rows, Side, Sqlite};
use self::tests::{Ctx, Step, TestSpec};
use crate::{Durability, EngineOptions, TableNumber, Value};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The engine failed a statement.
    #[error("kalam: {0}")]
    Kalam(#[from] crate::Error),
    /// SQLite failed a statement.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The engines disagree: the run is void.
    #[error(
        "wrong answer in {test}: the engines disagree\n  statement: {statement}\n  parameters: {params}\n  kalam:  {kalam}\n  sqlite: {sqlite}"
    )]
    Mismatch {
        /// The test.
        test: String,
        /// The statement, as written for the engine.
        statement: String,
        /// Its parameters.
        params: String,
        /// What the engine returned (the first rows).
        kalam: String,
        /// What SQLite returned (the first rows).
        sqlite: String,
    },
    /// Files and directories.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Bad options or an unusable data directory.
    #[error("{0}")]
    Setup(String),
}

/// How to run the suite.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchOptions {
    /// Test names, in suite order; empty for all. See [`test_names`].
    pub tests: Vec<String>,
    /// Rows of `sbtest1` and of the typed table.
    pub rows: usize,
    /// Measured events per test; `None` to run each test for [`duration`](Self::duration).
    pub iterations: Option<usize>,
    /// Time per test (both engines together) when `iterations` is `None`.
    pub duration: Duration,
    /// Events per test and engine before measuring.
    pub warmup: usize,
    /// Where the databases go (created, must not hold them already); a temporary
    /// directory, removed afterwards, when `None`.
    pub data_dir: Option<PathBuf>,
    /// The engine's configuration (gates, fast paths, durability).
    pub config: Config,
    /// The seed of the generated data and parameters.
    pub seed: u64,
    /// Runs of the whole suite, one after the other on the same engines; each test's
    /// figures are those of its run with the median multiplier, and its
    /// [`TestResult::multipliers`] those of every run.
    pub repeat: usize,
    /// Thread counts at which every test runs again, after the compared runs, from that
    /// many threads on each engine in turn, for throughput and latency
    /// ([`Report::threads`]); empty for none.
    pub threads: Vec<usize>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            tests: Vec::new(),
            rows: 10_000,
            iterations: None,
            duration: Duration::from_secs(3),
            warmup: 20,
            data_dir: None,
            config: Config::default(),
            seed: 1,
            repeat: 1,
            threads: Vec::new(),
        }
    }
}

/// The names of all tests, in the order they run.
#[must_use]
pub fn test_names() -> Vec<&'static str> {
    tests::TESTS.iter().map(|t| t.name).collect()
}

/// Where a run is, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// What runs now: a test name, or `loading`.
    pub stage: &'a str,
    /// Stages done, of [`stages`](Self::stages).
    pub done: usize,
    /// All stages (loading, then each test).
    pub stages: usize,
    /// How far the current stage is, `0.0..=1.0`.
    pub fraction: f64,
}

/// Runs the suite.
///
/// # Errors
///
/// [`BenchError::Mismatch`] when the engines disagree on any result, and any failure of
/// either engine or of the data directory.
pub fn run(
    options: &BenchOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, BenchError> {
    let specs = select(&options.tests)?;
    if options.rows < 2 {
        return Err(BenchError::Setup("--rows must be at least 2".into()));
    }
    if options.repeat == 0 {
        return Err(BenchError::Setup("--repeat must be at least 1".into()));
    }
    // Each thread writes rows of its own stripe of the ids: at least one row a thread.
    if let Some(&n) = options
        .threads
        .iter()
        .find(|&&n| n == 0 || n > options.rows)
    {
        return Err(BenchError::Setup(format!(
            "--threads {n}: each count must be from 1 to the number of rows ({})",
            options.rows
        )));
    }
    let temp;
    let dir: &Path = match &options.data_dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new().prefix("kalam-bench-").tempdir()?;
            temp.path()
        }
    };
    let variants = options.config.tables.variants();
    let sqlite_path = dir.join("sqlite.db");
    let kalam_dirs: Vec<PathBuf> = variants
        .iter()
        .map(|v| dir.join(format!("kalam-{}", v.name())))
        .collect();
    for path in kalam_dirs.iter().chain([&sqlite_path]) {
        if path.exists() {
            return Err(BenchError::Setup(format!(
                "{} already exists; give an empty --data directory",
                path.display()
            )));
        }
    }
    std::fs::create_dir_all(dir)?;
    let engine_options = EngineOptions {
        durability: options.config.durability,
        fast_paths: options.config.fast_paths,
        optimize_once: options.config.optimize_once,
        plan_once: options.config.plan_once,
        lookup_joins: options.config.lookup_joins,
        ..EngineOptions::default()
    };
    let mut kalams = Vec::with_capacity(variants.len());
    for (&tables, dir) in variants.iter().zip(&kalam_dirs) {
        kalams.push(Kalam::open(dir, &engine_options, tables)?);
    }
    let mut sqlite = Sqlite::open(
        &sqlite_path,
        options.config.durability,
        options.config.sqlite_cache,
    )?;
    let stages = specs.len() * (options.repeat + options.threads.len()) + 1;
    let mut report_progress = |stage: &str, done: usize, fraction: f64| {
        progress(Progress {
            stage,
            done,
            stages,
            fraction,
        });
    };
    let rows = options.rows as i64;
    load(&mut kalams, &mut sqlite, rows, options.seed, &mut |f| {
        report_progress("loading", 0, f);
    })?;
    for kalam in &kalams {
        options.config.apply_gates(kalam)?;
    }

    let mut ctx = Ctx::new(rows);
    let mut rng = Rng::new(options.seed ^ 0x5EED);
    let mut runs: Vec<Vec<TestResult>> = vec![Vec::with_capacity(options.repeat); specs.len()];
    let mut done = 0;
    for _ in 0..options.repeat {
        for (spec, results) in specs.iter().zip(&mut runs) {
            done += 1;
            let result = run_test(
                spec,
                options,
                (&mut kalams, &mut sqlite),
                &mut ctx,
                &mut rng,
                &mut |f| {
                    report_progress(spec.name, done, f);
                },
            )?;
            if spec.group != Group::Read {
                for kalam in &mut kalams {
                    same_tables(spec.name, kalam, &mut sqlite)?;
                }
            }
            results.push(result);
        }
    }
    // From several threads, last: the runs above compare every answer.
    let mut threaded = Vec::with_capacity(specs.len() * options.threads.len());
    if let Some(kalam) = kalams.first_mut() {
        for &n in &options.threads {
            for (turn, spec) in specs.iter().enumerate() {
                done += 1;
                report_progress(spec.name, done, 0.0);
                let engines = (&*kalam, sqlite_path.as_path());
                threaded.push(threads::run(spec, n, options, engines, &mut ctx, turn)?);
                if spec.group != Group::Read {
                    let test = format!("{} ({n} threads)", spec.name);
                    same_tables(&test, kalam, &mut sqlite)?;
                }
            }
        }
    }
    let results = runs.into_iter().filter_map(TestResult::median_of).collect();
    report_progress("done", stages, 1.0);
    Ok(Report::new(options, (results, threaded), peak_memory()))
}

fn select(names: &[String]) -> Result<Vec<&'static TestSpec>, BenchError> {
    if names.is_empty() {
        return Ok(tests::TESTS.iter().collect());
    }
    let mut specs = Vec::new();
    for name in names {
        let spec = tests::find(name).ok_or_else(|| {
            BenchError::Setup(format!(
                "no test `{name}`; the tests are: {}",
                test_names().join(", ")
            ))
        })?;
        if !specs.iter().any(|s: &&TestSpec| s.name == spec.name) {
            specs.push(spec);
        }
    }
    // Suite order: reads before the writes that change their data.
    specs.sort_by_key(|s| tests::TESTS.iter().position(|t| t.name == s.name));
    Ok(specs)
}

/// Creates the tables on every engine (each variant of the engine with its declaration of
/// them) and fills them with the same rows.
fn load(
    kalams: &mut [Kalam],
    sqlite: &mut Sqlite,
    rows: i64,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<(), BenchError> {
    let typed = data::typed_ddl();
    let tables = [data::SBTEST_DDL[0], &typed[0], data::BULK_DDL];
    let indexes = [data::SBTEST_DDL[1], &typed[1]];
    for statement in tables.iter().chain(&indexes) {
        sqlite.batch(&sqlite.dialect(statement))?;
    }
    for kalam in kalams.iter_mut() {
        kalam.batch(&format!("CREATE NAMESPACE {}", data::NAMESPACE))?;
        match kalam.tables() {
            Tables::Typed => models::create(kalam.engine(), kalam.root())?,
            _ => {
                for statement in tables {
                    kalam.batch(statement)?;
                }
            }
        }
        for statement in indexes {
            kalam.batch(statement)?;
        }
    }
    let inserts = [data::SBTEST_INSERT.to_owned(), data::typed_insert()];
    let sqlite_inserts = [sqlite.prepare(&inserts[0])?, sqlite.prepare(&inserts[1])?];
    let mut rng = Rng::new(seed);
    let rows_of =
        |rng: &mut Rng, id: i64| [data::sbtest_row(rng, id, rows), data::typed_row(rng, id)];
    // SQLite loads in one transaction; the engine commits each row.
    let mut generated = Vec::with_capacity(rows as usize);
    for id in 1..=rows {
        generated.push(rows_of(&mut rng, id));
    }
    sqlite.in_transaction(|sqlite| {
        for row in &generated {
            for (statement, values) in sqlite_inserts.iter().zip(row) {
                sqlite.run(*statement, values)?;
            }
        }
        Ok(())
    })?;
    let total = (generated.len() * kalams.len()).max(1) as f64;
    let mut done = 0;
    for kalam in kalams.iter_mut() {
        let kalam_inserts = [kalam.prepare(&inserts[0])?, kalam.prepare(&inserts[1])?];
        for row in &generated {
            for (statement, values) in kalam_inserts.iter().zip(row) {
                kalam.run(*statement, values)?;
            }
            done += 1;
            if done % 256 == 0 {
                progress(done as f64 / total);
            }
        }
        same_tables("loading", kalam, sqlite)?;
    }
    Ok(())
}

/// Runs an event's steps on one engine: the time of the statements alone, and their
/// results as comparable rows (each taken right after its statement, before the next
/// one can change the data, and outside the timing).
fn run_steps(
    side: &mut dyn Side,
    statements: &[usize],
    steps: &[Step],
    results: &mut Vec<Rows>,
) -> Result<Duration, BenchError> {
    let mut elapsed = Duration::ZERO;
    for step in steps {
        let text = match step {
            Step::Text(sql) => side.dialect(sql),
            _ => Cow::Borrowed(""),
        };
        let started = Instant::now();
        let output = match step {
            Step::Prepared(n, params) => side.run(statements[*n], params)?,
            Step::Text(_) => side.batch(&text)?,
            Step::Begin => side.begin()?,
            Step::Commit => side.commit()?,
        };
        elapsed += started.elapsed();
        results.push(match step {
            Step::Prepared(n, params) => side.rows(statements[*n], params, output)?,
            Step::Text(_) | Step::Begin | Step::Commit => side.rows(0, &[], output)?,
        });
    }
    Ok(elapsed)
}

/// Runs a test: warm-up, then measured events until the iterations or the time are used.
/// Each event runs on every engine, in an order that turns with each event.
fn run_test(
    spec: &TestSpec,
    options: &BenchOptions,
    (kalams, sqlite): (&mut [Kalam], &mut Sqlite),
    ctx: &mut Ctx,
    rng: &mut Rng,
    progress: &mut dyn FnMut(f64),
) -> Result<TestResult, BenchError> {
    let sql = (spec.statements)();
    let mut kalam_statements = vec![Vec::with_capacity(sql.len()); kalams.len()];
    let mut sqlite_statements = Vec::with_capacity(sql.len());
    for statement in &sql {
        for (kalam, statements) in kalams.iter_mut().zip(&mut kalam_statements) {
            statements.push(kalam.prepare(statement)?);
        }
        sqlite_statements.push(sqlite.prepare(statement)?);
    }
    // One slot per engine variant, then SQLite's.
    let sides = kalams.len() + 1;
    let mut times = vec![Vec::new(); sides];
    // The floor's times, in the test that has one.
    let mut floor = match kalams.first() {
        Some(kalam) if spec.name == tests::FLOOR_TEST => Some((sbtest_table(kalam)?, Vec::new())),
        _ => None,
    };
    let mut results: Vec<Vec<Rows>> = vec![Vec::new(); sides];
    for kalam in kalams.iter_mut() {
        kalam.settle()?;
    }
    sqlite.settle()?;
    progress(0.0);
    let started = Instant::now();
    let mut last_progress = started;
    let mut event = 0usize;
    loop {
        let measured = event.checked_sub(options.warmup);
        match (measured, options.iterations) {
            (Some(n), Some(limit)) if n >= limit => break,
            (Some(n), None) if n >= 5 && started.elapsed() >= options.duration => break,
            _ => {}
        }
        let mut steps = (spec.event)(rng, ctx);
        if options.config.transactions && tests::in_transaction(spec.name) {
            steps.insert(0, Step::Begin);
            steps.push(Step::Commit);
        }
        // Turn who goes first, so that no engine always runs on another's warm caches.
        for turn in 0..sides {
            let side = (event + turn) % sides;
            results[side].clear();
            let elapsed = if side == kalams.len() {
                run_steps(sqlite, &sqlite_statements, &steps, &mut results[side])?
            } else {
                let statements = &kalam_statements[side];
                run_steps(&mut kalams[side], statements, &steps, &mut results[side])?
            };
            if measured.is_some() {
                times[side].push(elapsed);
            }
        }
        if let (Some((table, times)), Some(_), Some(kalam)) = (&mut floor, measured, kalams.first())
        {
            times.push(raw_gets(kalam, *table, &steps)?);
        }
        let (kalam_results, sqlite_results) = results.split_at(kalams.len());
        let sqlite_results = &sqlite_results[0];
        for (kalam, rows) in kalams.iter().zip(kalam_results) {
            compare(
                &kalam.label(spec.name),
                &sql,
                &steps,
                (rows, sqlite_results),
            )?;
        }
        event += 1;
        if last_progress.elapsed() >= Duration::from_millis(100) {
            last_progress = Instant::now();
            let fraction = match (measured, options.iterations) {
                (None, _) => 0.0,
                (Some(n), Some(limit)) => n as f64 / limit.max(1) as f64,
                (Some(_), None) => {
                    started.elapsed().as_secs_f64() / options.duration.as_secs_f64().max(1e-9)
                }
            };
            progress(fraction.min(1.0));
        }
    }
    let mut stats: Vec<Stats> = times.iter_mut().map(|t| Stats::of(t)).collect();
    let sqlite_stats = stats.pop().unwrap_or_else(|| Stats::of(&mut []));
    let mut variants = kalams.iter().map(Kalam::tables).zip(stats);
    let (_, kalam_stats) = variants.next().unwrap_or((Tables::Sql, sqlite_stats));
    Ok(TestResult::new(
        (spec.name, spec.group),
        sql,
        (kalam_stats, sqlite_stats),
        (
            variants.next().map(|(_, typed)| typed),
            floor.map(|(_, mut times)| Stats::of(&mut times)),
        ),
    ))
}

/// The storage number of the engine's `sbtest1`.
fn sbtest_table(kalam: &Kalam) -> Result<TableNumber, BenchError> {
    let id = crate::TableId::parse(&format!("{}.sbtest1", data::NAMESPACE))
        .map_err(crate::Error::from)?;
    let meta = kalam.engine().shared.catalog.table(&id);
    Ok(meta
        .ok_or_else(|| BenchError::Setup(format!("no table {id}")))?
        .number)
}

/// The time of a raw RocksDB get of the `sbtest1` row each step of an event asks for by
/// id (its first parameter): the storage key built from the id, and the get, nothing else.
fn raw_gets(kalam: &Kalam, table: TableNumber, steps: &[Step]) -> Result<Duration, BenchError> {
    let storage = kalam.engine().storage();
    let mut elapsed = Duration::ZERO;
    for step in steps {
        let Step::Prepared(_, params) = step else {
            continue;
        };
        let Some(row) = params.first() else {
            continue;
        };
        let started = Instant::now();
        let mut key = Vec::with_capacity(8);
        row.write_key(&mut key);
        let found = storage
            .get_stored(table, crate::Scope::Shared, &key)
            .map_err(crate::Error::from)?;
        elapsed += started.elapsed();
        if found.is_none() {
            return Err(BenchError::Setup(format!(
                "the floor's raw get found no row for {row}"
            )));
        }
    }
    Ok(elapsed)
}

/// Checks that an engine and SQLite returned the same for every step of an event.
fn compare(
    test: &str,
    sql: &[String],
    steps: &[Step],
    (kalam, sqlite): (&[Rows], &[Rows]),
) -> Result<(), BenchError> {
    for ((step, kalam), sqlite) in steps.iter().zip(kalam).zip(sqlite) {
        let (kalam, sqlite) = (kalam.clone().sorted(), sqlite.clone().sorted());
        if !kalam.same(&sqlite) {
            let (statement, params) = match step {
                Step::Prepared(n, params) => (sql[*n].clone(), show_params(params)),
                Step::Text(text) => (text.chars().take(200).collect(), String::new()),
                Step::Begin => ("BEGIN".to_owned(), String::new()),
                Step::Commit => ("COMMIT".to_owned(), String::new()),
            };
            return Err(BenchError::Mismatch {
                test: test.to_owned(),
                statement,
                params,
                kalam: kalam.sample(),
                sqlite: sqlite.sample(),
            });
        }
    }
    Ok(())
}

fn show_params(params: &[Value]) -> String {
    let shown: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, v)| format!("${}={v}", i + 1))
        .collect();
    shown.join(", ")
}

/// Both engines hold the same rows in every table (after loading and each write test).
fn same_tables(test: &str, kalam: &mut Kalam, sqlite: &mut Sqlite) -> Result<(), BenchError> {
    for table in ["sb.sbtest1", "sb.typed", "sb.bulk"] {
        let sql = format!("SELECT * FROM {table}");
        let k = kalam.prepare(&sql)?;
        let s = sqlite.prepare(&sql)?;
        let step = [Step::Prepared(0, Vec::new())];
        let mut results = (Vec::new(), Vec::new());
        run_steps(kalam, &[k], &step, &mut results.0)?;
        run_steps(sqlite, &[s], &step, &mut results.1)?;
        compare(
            &kalam.label(&format!("{test} (tables afterwards)")),
            &[sql],
            &step,
            (&results.0, &results.1),
        )?;
    }
    Ok(())
}

/// The process's peak resident memory, in bytes (Linux; `None` elsewhere).
#[must_use]
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Config {
    fn apply_gates(&self, kalam: &Kalam) -> Result<(), BenchError> {
        let state = if self.gates { "on" } else { "off" };
        for gate in report::GATES {
            kalam
                .engine()
                .sql_blocking(kalam.root(), &format!("SET GATE {gate} = {state}"))?;
        }
        Ok(())
    }
}

/// SQLite's `synchronous` setting matched to `durability`.
#[must_use]
pub fn sqlite_synchronous(durability: Durability) -> &'static str {
    Sqlite::synchronous(durability)
}

/// One rung of the optimisation ladder: what it adds, and the means it measured.
#[derive(Clone, Debug, Serialize)]
pub struct Rung {
    /// The optimisation this rung adds to the one above.
    pub step: String,
    /// The means with it.
    pub summary: Summary,
}

/// The runtime rungs of the ladder, cumulative: each configuration adds one optimisation
/// to the one before. (`#[hot]` inlining is a build, measured by the `kalam` binary.)
#[must_use]
pub fn ladder(durability: Durability) -> Vec<(&'static str, Config)> {
    let mut config = Config {
        gates: true,
        fast_paths: false,
        optimize_once: false,
        plan_once: false,
        lookup_joins: false,
        durability,
        tables: Tables::Sql,
        transactions: false,
        sqlite_cache: SqliteCache::default(),
    };
    let mut rungs = vec![("all opt-in gates on, every run optimized", config.clone())];
    config.gates = false;
    rungs.push(("+ gates off (#[opt_in_feature])", config.clone()));
    config.optimize_once = true;
    rungs.push(("+ prepared plans optimized once", config.clone()));
    config.fast_paths = true;
    rungs.push(("+ fast paths: point get, writes by key", config.clone()));
    config.plan_once = true;
    rungs.push(("+ prepared queries planned physically once", config.clone()));
    config.lookup_joins = true;
    rungs.push((
        "+ joins on primary keys: lookups, a self-join read once",
        config.clone(),
    ));
    config.tables = Tables::Typed;
    rungs.push((
        "+ tables on generated code (declared in Rust)",
        config.clone(),
    ));
    config.transactions = true;
    rungs.push((
        "+ oltp_* events in BEGIN .. COMMIT, as sysbench runs them",
        config,
    ));
    rungs
}

/// The ladder as a table, like the Dolt write-up's: each rung's means and the change of
/// `read_write_mean` from the rung above.
#[must_use]
pub fn ladder_table(rungs: &[Rung]) -> String {
    use std::fmt::Write as _;
    let show = |m: Option<f64>| m.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"));
    let width = rungs
        .iter()
        .map(|r| r.step.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:<width$} {:>10} {:>11} {:>15} {:>8}\n{}\n",
        "step",
        "reads_mean",
        "writes_mean",
        "read_write_mean",
        "change",
        "-".repeat(width + 48)
    );
    let mut previous: Option<f64> = None;
    for rung in rungs {
        let now = rung.summary.read_write_mean;
        let change = match (previous, now) {
            (Some(p), Some(n)) if p > 0.0 => format!("{:+.0}%", (n / p - 1.0) * 100.0),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:<width$} {:>10} {:>11} {:>15} {:>8}",
            rung.step,
            show(rung.summary.reads_mean),
            show(rung.summary.writes_mean),
            show(now),
            change
        );
        previous = now;
    }
    out
}
