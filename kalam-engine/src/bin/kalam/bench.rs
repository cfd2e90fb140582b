//! `kalam bench`: its options, the progress bar, the reports on disk, and the ladder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kalam_engine::Durability;
use kalam_engine::bench::{
    self, BenchOptions, Config, Progress, Report, Rung, SqliteCache, Summary, Tables,
};

/// Runs the sysbench-style suite on the engine (embedded RocksDB) and on SQLite (bundled,
/// WAL) side by side, checks that they return the same results, and reports Dolt's
/// multipliers p50(kalam) / p50(sqlite).
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Where the databases go (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where report.json and report.html go.
    #[arg(long, value_name = "DIR", default_value = "kalam-bench-report")]
    out: PathBuf,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    json: bool,
    /// Run the optimisation ladder: the suite once per rung, each adding one optimisation.
    #[arg(long)]
    ladder: bool,
    /// List the tests and exit.
    #[arg(long)]
    list: bool,
}

/// What a run measures: the tests, their sizes and the engine's configuration. A child
/// run of the ladder gets exactly these, through [`RunArgs::flags`].
#[derive(Debug, Args)]
struct RunArgs {
    /// Tests to run, comma-separated (default: all; --list shows them).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    tests: Vec<String>,
    /// Rows of each table.
    #[arg(long, value_name = "N", default_value_t = BenchOptions::default().rows)]
    rows: usize,
    /// Measured events per test (default: run each test for --duration).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    iterations: Option<usize>,
    /// Seconds per test, both engines together.
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = seconds)]
    duration: Duration,
    /// Events per test and engine before measuring.
    #[arg(long, value_name = "N", default_value_t = BenchOptions::default().warmup)]
    warmup: usize,
    /// Runs of the whole suite on the same engines: each test reports its median run and
    /// the range of its multipliers.
    #[arg(long, value_name = "K", default_value = "1", value_parser = at_least_one)]
    repeat: usize,
    /// After the compared runs, run every test again from N threads on each engine in
    /// turn (the engine shared by its threads, SQLite a connection per thread), for each
    /// N given: throughput, p50 and p99 (for example `--threads 1,2,4`).
    #[arg(long, value_name = "N,...", value_delimiter = ',', value_parser = at_least_one)]
    threads: Vec<usize>,
    /// `process`: the WAL without fsync, SQLite synchronous=NORMAL; `machine`: an fsync
    /// per write, SQLite synchronous=FULL.
    #[arg(long, value_enum, default_value = "process")]
    durability: DurabilityArg,
    /// Run with the opt-in gates on.
    #[arg(long)]
    gates: bool,
    /// Run every prepared statement through DataFusion.
    #[arg(long)]
    no_fast_paths: bool,
    /// Optimize prepared plans at each run, not once.
    #[arg(long)]
    optimize_each_run: bool,
    /// Plan prepared queries physically at each run, not once.
    #[arg(long)]
    plan_each_run: bool,
    /// Join on primary keys by hashing a full scan, not by lookups, and a table with
    /// itself on its primary key as two scans.
    #[arg(long)]
    no_lookup_joins: bool,
    /// The engine's tables declared in SQL, in Rust (`#[derive(KalamTable)]` structs on
    /// generated code), or both side by side against the same SQLite.
    #[arg(long, value_enum, default_value = "both")]
    tables: TablesArg,
    /// Run each event of oltp_read_only, oltp_read_write and oltp_write_only in one
    /// transaction (BEGIN ... COMMIT) on every engine, as sysbench does.
    #[arg(long)]
    transactions: bool,
    /// SQLite's page cache: `matched`, as much memory as the engine keeps rows in (its
    /// block cache, row and index caches and memtables), memory-mapped too; `default`, SQLite's 2 MB.
    #[arg(long, value_enum, default_value = "matched")]
    sqlite_cache: SqliteCacheArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SqliteCacheArg {
    Matched,
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TablesArg {
    Sql,
    Typed,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DurabilityArg {
    Process,
    Machine,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("expected at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a positive number of seconds, not `{text}`"))
}

impl RunArgs {
    /// The options of the suite these flags ask for.
    fn options(&self, data_dir: Option<PathBuf>) -> BenchOptions {
        BenchOptions {
            tests: self.tests.clone(),
            rows: self.rows,
            iterations: self.iterations,
            duration: self.duration,
            warmup: self.warmup,
            repeat: self.repeat,
            threads: self.threads.clone(),
            data_dir,
            config: Config {
                gates: self.gates,
                fast_paths: !self.no_fast_paths,
                optimize_once: !self.optimize_each_run,
                plan_once: !self.plan_each_run,
                lookup_joins: !self.no_lookup_joins,
                durability: match self.durability {
                    DurabilityArg::Process => Durability::Process,
                    DurabilityArg::Machine => Durability::Machine,
                },
                tables: match self.tables {
                    TablesArg::Sql => Tables::Sql,
                    TablesArg::Typed => Tables::Typed,
                    TablesArg::Both => Tables::Both,
                },
                transactions: self.transactions,
                sqlite_cache: match self.sqlite_cache {
                    SqliteCacheArg::Matched => SqliteCache::Matched,
                    SqliteCacheArg::Default => SqliteCache::Default,
                },
            },
            ..BenchOptions::default()
        }
    }

    /// The flags that ask for `options` (but its data directory): the one place where
    /// options become flags again, for the ladder's child run.
    fn flags(options: &BenchOptions) -> Vec<String> {
        let mut flags = Vec::new();
        if !options.tests.is_empty() {
            flags.push(format!("--tests={}", options.tests.join(",")));
        }
        flags.push(format!("--rows={}", options.rows));
        if let Some(n) = options.iterations {
            flags.push(format!("--iterations={n}"));
        }
        flags.push(format!("--duration={}", options.duration.as_secs_f64()));
        flags.push(format!("--warmup={}", options.warmup));
        flags.push(format!("--repeat={}", options.repeat));
        if !options.threads.is_empty() {
            let counts: Vec<String> = options.threads.iter().map(ToString::to_string).collect();
            flags.push(format!("--threads={}", counts.join(",")));
        }
        let config = &options.config;
        flags.push(
            match config.durability {
                Durability::Machine => "--durability=machine",
                _ => "--durability=process",
            }
            .to_owned(),
        );
        flags.push(format!("--tables={}", config.tables.name()));
        flags.push(format!("--sqlite-cache={}", config.sqlite_cache.name()));
        for (on, flag) in [
            (config.gates, "--gates"),
            (!config.fast_paths, "--no-fast-paths"),
            (!config.optimize_once, "--optimize-each-run"),
            (!config.plan_once, "--plan-each-run"),
            (!config.lookup_joins, "--no-lookup-joins"),
            (config.transactions, "--transactions"),
        ] {
            if on {
                flags.push(flag.to_owned());
            }
        }
        flags
    }
}

pub(crate) fn main(args: &BenchArgs) -> Result<(), String> {
    if args.list {
        for name in bench::test_names() {
            println!("{name}");
        }
        return Ok(());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let options = args.run.options(args.data.clone());
    if args.ladder {
        return ladder(args, &options);
    }
    let report = run(&options)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.table());
        let threads = report.threads_table();
        if !threads.is_empty() {
            println!("{threads}");
        }
    }
    write_reports(&report, &args.out)?;
    Ok(())
}

fn run(options: &BenchOptions) -> Result<Report, String> {
    let bar = progress_bar();
    let mut stage = String::new();
    let result = bench::run(options, &mut |p| show(&bar, &mut stage, p));
    bar.finish_and_clear();
    result.map_err(|e| e.to_string())
}

/// The progress bar on standard error, hidden when standard output is not a terminal or
/// under CI.
fn progress_bar() -> ProgressBar {
    if !std::io::stdout().is_terminal() || std::env::var_os("CI").is_some() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Moves the bar to `p`, naming its stage when it changes from `stage`.
fn show(bar: &ProgressBar, stage: &mut String, p: Progress<'_>) {
    let total = (p.done as f64 + p.fraction) / p.stages.max(1) as f64;
    bar.set_position((total.clamp(0.0, 1.0) * 1000.0) as u64);
    if *stage != p.stage {
        p.stage.clone_into(stage);
        bar.set_message(format!("[{}/{}] {}", p.done + 1, p.stages, p.stage));
    }
}

fn write_reports(report: &Report, out: &Path) -> Result<(), String> {
    for (name, text) in [
        ("report.json", report.to_json()),
        ("report.html", report.html()),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The ladder: the suite once per runtime rung, then once more in a build whose `#[hot]`
/// adds no inline attributes.
fn ladder(args: &BenchArgs, options: &BenchOptions) -> Result<(), String> {
    let mut rungs = Vec::new();
    let mut last = None;
    for (step, config) in bench::ladder(options.config.durability) {
        eprintln!("ladder: {step}");
        let rung = BenchOptions {
            config,
            ..options.clone()
        };
        let report = run(&rung)?;
        rungs.push(Rung {
            step: step.to_owned(),
            summary: report.summary,
        });
        last = Some((report, rung));
    }
    if let Some((report, rung)) = &last {
        eprintln!("ladder: the same, #[hot] without inline attributes (a second build)");
        match without_inlining(rung) {
            Ok(summary) => {
                // The last rung again, without what inlining adds.
                rungs.push(Rung {
                    step: "- #[hot] inline attributes (the rung above, rebuilt)".to_owned(),
                    summary,
                });
            }
            Err(why) => eprintln!("ladder: the inlining rung is skipped: {why}"),
        }
        write_reports(report, &args.out)?;
    }
    let table = bench::ladder_table(&rungs);
    let json = serde_json::to_string_pretty(&rungs).map_err(|e| e.to_string())?;
    let path = args.out.join("ladder.json");
    std::fs::write(&path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    if args.json {
        println!("{json}");
    } else {
        println!("{table}");
    }
    Ok(())
}

/// Builds and runs this binary with the `no-hot-inline` feature (needs the source tree and
/// cargo, as when run through `cargo run`) on the same options as `rung`, and returns its
/// means.
fn without_inlining(rung: &BenchOptions) -> Result<Summary, String> {
    // `cargo run` sets the variable; the build-time one may name another checkout.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("Cargo.toml");
    if !manifest.exists() {
        return Err(format!("no source tree at {}", manifest.display()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    command.args([
        "--features",
        "no-hot-inline",
        "--bin",
        "kalam",
        "--",
        "bench",
        "--json",
    ]);
    command.args(RunArgs::flags(rung));
    let out = std::env::temp_dir().join(format!("kalam-ladder-{}", std::process::id()));
    command.arg("--out").arg(&out);
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let _ = std::fs::remove_dir_all(&out);
    if !output.status.success() {
        return Err(format!(
            "the build without inlining failed ({})",
            output.status
        ));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("its report: {e}"))?;
    let mean = |name: &str| report["summary"][name].as_f64();
    Ok(Summary {
        reads_mean: mean("reads_mean"),
        writes_mean: mean("writes_mean"),
        read_write_mean: mean("read_write_mean"),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(flags: &[String]) -> BenchOptions {
        let args = std::iter::once("probe".to_owned()).chain(flags.iter().cloned());
        Probe::try_parse_from(args).unwrap().run.options(None)
    }

    #[test]
    fn flags_ask_for_the_options_they_were_made_from() {
        let defaults = parse(&[]);
        assert_eq!(defaults, BenchOptions::default());
        let mut every = vec![defaults.clone()];
        for (_, config) in bench::ladder(Durability::Process) {
            every.push(BenchOptions {
                config,
                ..defaults.clone()
            });
        }
        every.push(BenchOptions {
            tests: vec!["oltp_insert".into(), "table_scan".into()],
            rows: 300,
            iterations: Some(7),
            duration: Duration::from_millis(1500),
            warmup: 2,
            repeat: 3,
            threads: vec![1, 2, 4],
            config: Config {
                durability: Durability::Machine,
                plan_once: false,
                tables: Tables::Typed,
                sqlite_cache: SqliteCache::Default,
                ..Config::default()
            },
            ..BenchOptions::default()
        });
        for options in every {
            assert_eq!(parse(&RunArgs::flags(&options)), options);
        }
    }
}
