//! `kalam bench`: options, the progress bar, the reports on disk, and the ladder.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kalam_engine::Durability;
use kalam_engine::bench::{self, BenchOptions, Config, Progress, Report, Rung, Summary};

const HELP: &str = "\
usage: kalam bench [OPTIONS]

Runs the sysbench-style suite on the engine (embedded RocksDB) and on SQLite (bundled,
WAL) side by side, checks that they return the same results, and reports Dolt's
multipliers p50(kalam) / p50(sqlite).

options:
  --tests A,B,...        tests to run (default: all; --list shows them)
  --rows N               rows of each table (default 10000)
  --iterations N         measured events per test (default: run each test for --duration)
  --duration SECS        time per test, both engines together (default 3)
  --warmup N             events per test before measuring (default 20)
  --data DIR             where the databases go (default: a temporary directory)
  --out DIR              where report.json and report.html go (default kalam-bench-report)
  --json                 print the JSON report instead of the table
  --durability D         process (default: the WAL without fsync; SQLite synchronous=NORMAL)
                         or machine (fsync per write; SQLite synchronous=FULL)
  --gates                run with the opt-in gates on
  --no-fast-paths        run every prepared statement through DataFusion
  --optimize-each-run    optimize prepared plans at each run, not once
  --plan-each-run        plan prepared queries physically at each run, not once
  --no-lookup-joins      join on primary keys by hashing a full scan, not by lookups
  --ladder               run the optimisation ladder: the suite once per rung
  --list                 list the tests";

#[derive(Debug, Default)]
struct Args {
    options: BenchOptions,
    out: PathBuf,
    json: bool,
    ladder: bool,
    /// The options to pass on to a child run (the inlining rung).
    passed: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        out: PathBuf::from("kalam-bench-report"),
        ..Args::default()
    };
    let options = &mut parsed.options;
    let mut i = 0;
    while i < args.len() {
        let (start, flag) = (i, args[i].as_str());
        let mut value = || {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{HELP}"))
        };
        let number = |text: String| {
            text.parse::<usize>()
                .map_err(|_| format!("{flag} needs a whole number, not `{text}`"))
        };
        match flag {
            "-h" | "--help" => {
                println!("{HELP}");
                return Ok(None);
            }
            "--list" => {
                for name in bench::test_names() {
                    println!("{name}");
                }
                return Ok(None);
            }
            "--tests" => {
                options.tests = value()?.split(',').map(|t| t.trim().to_owned()).collect();
            }
            "--rows" => options.rows = number(value()?)?,
            "--iterations" => {
                let n = number(value()?)?;
                if n == 0 {
                    return Err("--iterations must be at least 1".into());
                }
                options.iterations = Some(n);
            }
            "--duration" => {
                let text = value()?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--duration needs seconds, not `{text}`"))?;
                options.duration = Duration::from_secs_f64(secs);
            }
            "--warmup" => options.warmup = number(value()?)?,
            "--data" => options.data_dir = Some(PathBuf::from(value()?)),
            "--out" => parsed.out = PathBuf::from(value()?),
            "--durability" => {
                options.config.durability = match value()?.as_str() {
                    "process" => Durability::Process,
                    "machine" => Durability::Machine,
                    other => {
                        return Err(format!("--durability is process or machine, not `{other}`"));
                    }
                };
            }
            "--json" => parsed.json = true,
            "--gates" => options.config.gates = true,
            "--no-fast-paths" => options.config.fast_paths = false,
            "--optimize-each-run" => options.config.optimize_once = false,
            "--plan-each-run" => options.config.plan_once = false,
            "--no-lookup-joins" => options.config.lookup_joins = false,
            "--ladder" => parsed.ladder = true,
            other => return Err(format!("unknown argument `{other}`\n{HELP}")),
        }
        // What a child run needs to measure the same thing (its configuration is the
        // rung's, its output goes elsewhere).
        let own = [
            "--json",
            "--ladder",
            "--out",
            "--data",
            "--gates",
            "--no-fast-paths",
        ];
        if !own.contains(&flag) {
            parsed.passed.extend(args[start..=i].iter().cloned());
        }
        i += 1;
    }
    Ok(Some(parsed))
}

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let Some(args) = parse(args)? else {
        return Ok(());
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    if args.ladder {
        return ladder(&args);
    }
    let report = run(&args.options)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.table());
    }
    write_reports(&report, &args.out)?;
    Ok(())
}

fn run(options: &BenchOptions) -> Result<Report, String> {
    let mut bar = Bar::new();
    let result = bench::run(options, &mut |p| bar.show(p));
    bar.finish();
    result.map_err(|e| e.to_string())
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
fn ladder(args: &Args) -> Result<(), String> {
    let mut rungs = Vec::new();
    let mut last = None;
    for (step, config) in bench::ladder(args.options.config.durability) {
        eprintln!("ladder: {step}");
        let options = BenchOptions {
            config: config.clone(),
            ..args.options.clone()
        };
        let report = run(&options)?;
        rungs.push(Rung {
            step: step.to_owned(),
            summary: report.summary,
        });
        last = Some((report, config));
    }
    if let Some((report, config)) = &last {
        eprintln!("ladder: the same, #[hot] without inline attributes (a second build)");
        match without_inlining(&args.passed, config) {
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
/// cargo, as when run through `cargo run`), and returns its means.
fn without_inlining(passed: &[String], config: &Config) -> Result<Summary, String> {
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
    command.args(passed);
    if config.gates {
        command.arg("--gates");
    }
    if !config.fast_paths {
        command.arg("--no-fast-paths");
    }
    if !config.optimize_once {
        command.arg("--optimize-each-run");
    }
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

/// A progress bar on standard error: redrawn in place on a terminal, a line per stage
/// otherwise.
struct Bar {
    terminal: bool,
    stage: String,
}

impl Bar {
    fn new() -> Self {
        Bar {
            terminal: std::io::stderr().is_terminal(),
            stage: String::new(),
        }
    }

    fn show(&mut self, p: Progress<'_>) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            const WIDTH: usize = 30;
            let total = (p.done as f64 + p.fraction) / p.stages.max(1) as f64;
            let filled = ((total * WIDTH as f64) as usize).min(WIDTH);
            let _ = write!(
                err,
                "\r[{}{}] {:>3}% {:<28}",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                (total * 100.0) as usize,
                p.stage
            );
            let _ = err.flush();
        } else if self.stage != p.stage {
            let _ = writeln!(err, "[{}/{}] {}", p.done, p.stages, p.stage);
        }
        p.stage.clone_into(&mut self.stage);
    }

    fn finish(&mut self) {
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(70));
        }
    }
}
