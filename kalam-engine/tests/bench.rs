//! `kalam bench` end to end, in a tiny configuration: every test runs on the engine (its
//! tables declared in SQL, and in Rust) and on SQLite, their answers agree (the run fails
//! otherwise), and the reports are written. No timing is asserted.

use std::path::Path;
use std::process::{Command, Output};

fn kalam(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kalam"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the kalam binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_whole_suite_runs_and_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = kalam(
        &[
            "bench",
            "--rows",
            "300",
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--data",
            "data",
            "--out",
            "report",
        ],
        dir.path(),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let names = text(&kalam(&["bench", "--list"], dir.path()).stdout);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 19, "{names:?}");
    for name in &names {
        assert!(stdout.contains(name), "{name} missing from\n{stdout}");
    }
    assert!(stdout.contains("read_write_mean"), "{stdout}");

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    let tests = json["tests"].as_array().unwrap();
    assert_eq!(tests.len(), names.len());
    for test in tests {
        // By default the engine runs twice: tables declared in SQL, and in Rust.
        for side in ["kalam", "typed", "sqlite"] {
            assert_eq!(test[side]["events"], 3, "{test}");
            assert!(test[side]["p50_us"].as_f64().unwrap() > 0.0, "{test}");
        }
        let p50 = |side: &str| test[side]["p50_us"].as_f64().unwrap();
        for (field, expected) in [
            ("multiplier", p50("kalam") / p50("sqlite")),
            ("typed_multiplier", p50("typed") / p50("sqlite")),
            ("typed_over_sql", p50("typed") / p50("kalam")),
        ] {
            assert!(
                (test[field].as_f64().unwrap() - expected).abs() < 1e-9,
                "{field}: {test}"
            );
        }
    }
    // The floor: a raw get beside the point select, in the same events, and only there.
    for test in tests {
        let floor = &test["floor"];
        if test["name"] == "oltp_point_select" {
            assert_eq!(floor["events"], 3, "{test}");
            let over =
                test["kalam"]["p50_us"].as_f64().unwrap() / floor["p50_us"].as_f64().unwrap();
            assert!(
                (test["over_floor"].as_f64().unwrap() - over).abs() < 1e-9,
                "{test}"
            );
        } else {
            assert!(floor.is_null() && test["over_floor"].is_null(), "{test}");
        }
    }
    assert!(
        stdout.contains("a raw RocksDB get of oltp_point_select's row"),
        "{stdout}"
    );
    assert!(json["summary"]["read_write_mean"].as_f64().unwrap() > 0.0);
    assert!(json["typed_summary"]["read_write_mean"].as_f64().unwrap() > 0.0);
    assert_eq!(json["config"]["tables"], "both");
    assert!(stdout.contains("typed/sql"), "{stdout}");
    assert!(json["peak_memory_bytes"].as_u64().unwrap() > 0);
    let method = json["method"].to_string();
    assert!(
        method.contains("synchronous=NORMAL") && method.contains("prepared"),
        "{method}"
    );
    // SQLite's page cache is the engine's memory unless asked otherwise.
    assert_eq!(json["config"]["sqlite_cache"], "matched");
    assert!(
        method.contains("cache_size and mmap_size of 416 MiB"),
        "{method}"
    );
    assert!(json["machine"].as_str().unwrap().ends_with(" threads"));

    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("oltp_point_select"));
    // The databases stay where asked, and a second run refuses to reuse them.
    assert!(dir.path().join("data/kalam-sql").is_dir());
    assert!(dir.path().join("data/kalam-typed").is_dir());
    assert!(dir.path().join("data/sqlite.db").is_file());
    let again = kalam(&["bench", "--rows", "10", "--data", "data"], dir.path());
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn bad_options_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            &["bench", "--tests", "nope"][..],
            "no test `nope`; the tests are: oltp_point_select",
        ),
        (
            &["bench", "--rows", "many"][..],
            "invalid value 'many' for '--rows <N>'",
        ),
        (
            &["bench", "--iterations", "0"][..],
            "invalid value '0' for '--iterations <N>': expected at least 1",
        ),
        (
            &["bench", "--durability", "disk"][..],
            "invalid value 'disk' for '--durability <DURABILITY>'\n  [possible values: process, machine]",
        ),
        (
            &["bench", "--frobnicate"][..],
            "unexpected argument '--frobnicate' found",
        ),
    ] {
        let out = kalam(args, dir.path());
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_ladder_runs_each_rung_and_reports_a_skipped_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kalam"))
        .args([
            "bench",
            "--ladder",
            "--tests",
            "oltp_point_select,oltp_update_index",
            "--rows",
            "200",
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--out",
            "report",
        ])
        // No cargo to build the rung without inlining: it is skipped, and says so.
        .env("CARGO", dir.path().join("no-such-cargo"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for (step, _) in kalam_engine::bench::ladder(kalam_engine::Durability::Process) {
        assert!(stdout.contains(step), "{step} missing from\n{stdout}");
    }
    assert!(stderr.contains("the inlining rung is skipped"), "{stderr}");
    let rungs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/ladder.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        rungs.as_array().unwrap().len(),
        kalam_engine::bench::ladder(kalam_engine::Durability::Process).len()
    );
}

#[test]
fn repeat_runs_the_suite_again_and_reports_each_tests_median_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = kalam(
        &[
            "bench",
            "--rows",
            "200",
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--tables",
            "sql",
            "--tests",
            "oltp_point_select,oltp_insert",
            "--repeat",
            "3",
            "--out",
            "report",
        ],
        dir.path(),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("multipliers over 3 runs"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["repeat"], 3);
    for test in json["tests"].as_array().unwrap() {
        let mut runs: Vec<f64> = test["multipliers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap())
            .collect();
        assert_eq!(runs.len(), 3, "{test}");
        runs.sort_by(f64::total_cmp);
        // The figures are the median run's, whose multiplier is theirs.
        assert_eq!(test["multiplier"].as_f64().unwrap(), runs[1], "{test}");
        let p50 = |side: &str| test[side]["p50_us"].as_f64().unwrap();
        assert!(
            (p50("kalam") / p50("sqlite") - runs[1]).abs() < 1e-9,
            "{test}"
        );
    }
    let zero = kalam(&["bench", "--repeat", "0"], dir.path());
    assert!(!zero.status.success());
    assert!(
        text(&zero.stderr).contains("at least 1"),
        "{}",
        text(&zero.stderr)
    );
}

#[test]
fn threads_run_every_test_at_each_count_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let out = kalam(
        &[
            "bench",
            "--rows",
            "300",
            "--iterations",
            "3",
            "--warmup",
            "1",
            "--tables",
            "sql",
            "--transactions",
            "--threads",
            "1,2,4",
            "--out",
            "report",
        ],
        dir.path(),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let threaded = json["threads"].as_array().unwrap();
    assert_eq!(threaded.len(), 3 * names.len());
    // By thread count, then in suite order.
    for (i, run) in threaded.iter().enumerate() {
        let threads = [1, 2, 4][i / names.len()];
        assert_eq!(run["threads"], threads, "{run}");
        assert_eq!(run["name"], names[i % names.len()], "{run}");
        for side in ["kalam", "sqlite"] {
            // --iterations counts each thread's events.
            assert_eq!(run[side]["latency"]["events"], 3 * threads, "{run}");
            assert!(run[side]["ops_per_sec"].as_f64().unwrap() > 0.0, "{run}");
            // Threads write rows of their own: nothing conflicts.
            assert_eq!(run[side]["retried"], 0, "{run}");
        }
        let side = |s: &str, f: &str| -> f64 {
            match f {
                "ops" => run[s]["ops_per_sec"].as_f64().unwrap(),
                _ => run[s]["latency"]["p50_us"].as_f64().unwrap(),
            }
        };
        let multiplier = side("kalam", "p50") / side("sqlite", "p50");
        let throughput = side("kalam", "ops") / side("sqlite", "ops");
        assert!((run["multiplier"].as_f64().unwrap() - multiplier).abs() < 1e-9);
        assert!((run["throughput_ratio"].as_f64().unwrap() - throughput).abs() < 1e-9);
    }
    for threads in [1, 2, 4] {
        assert!(
            stdout.contains(&format!("{threads} threads: read_write_mean")),
            "{stdout}"
        );
    }
    assert!(json["method"].to_string().contains("BEGIN IMMEDIATE"));
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("From several threads"), "{html}");

    for (args, expected) in [
        (
            &["bench", "--rows", "10", "--threads", "2,20"][..],
            "--threads 20: each count must be from 1 to the number of rows (10)",
        ),
        (
            &["bench", "--threads", "0"][..],
            "invalid value '0' for '--threads <N,...>': expected at least 1",
        ),
    ] {
        let out = kalam(args, dir.path());
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
