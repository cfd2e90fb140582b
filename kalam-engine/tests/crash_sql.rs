//! SQL writes survive SIGKILL: every acknowledged multi-row INSERT is there after reopening,
//! whole (both rows) with its index entries, and the catalog is intact.

use std::io::Write;

mod common;

use kalam_engine::{Engine, UserId};

const DIR_ENV: &str = "KALAM_CRASH_SQL_DIR";
/// The second row of each statement sits this far from the first.
const PAIR: u64 = 1_000_000;

#[test]
#[ignore = "the writer process of killed_sql_writer_loses_nothing"]
fn sql_writer() {
    let dir = std::env::var(DIR_ENV).expect("run by the crash test");
    let engine = Engine::open(dir).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE app; CREATE SHARED TABLE app.t (id BIGINT PRIMARY KEY, k INT NOT NULL, v TEXT);
             CREATE INDEX ON app.t (k)",
        )
        .unwrap();
    let mut stdout = std::io::stdout().lock();
    for n in 0u64.. {
        engine
            .sql_blocking(
                &root,
                &format!(
                    "INSERT INTO app.t VALUES ({n}, {}, 'row {n}'), ({}, {}, 'pair {n}')",
                    n % 7,
                    n + PAIR,
                    n % 7
                ),
            )
            .unwrap();
        writeln!(stdout, "ack {n}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn killed_sql_writer_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = common::kill_writer("sql_writer", (DIR_ENV, dir.path()), 500);

    let engine = Engine::open(dir.path()).unwrap();
    let root = UserId::new("root").unwrap();
    let count = |sql: &str| -> u64 {
        let result = engine.sql_blocking(&root, sql).unwrap();
        let line = result.to_string().lines().nth(3).unwrap().to_owned();
        line.trim_matches(|c| c == '|' || c == ' ').parse().unwrap()
    };
    let firsts = count(&format!("SELECT COUNT(*) FROM app.t WHERE id < {PAIR}"));
    let pairs = count(&format!("SELECT COUNT(*) FROM app.t WHERE id >= {PAIR}"));
    assert!(
        firsts > acknowledged,
        "every acknowledged insert is there: {firsts} rows, last ack {acknowledged}"
    );
    assert_eq!(firsts, pairs, "no statement is torn");
    assert_eq!(
        count(&format!("SELECT MAX(id) FROM app.t WHERE id < {PAIR}")) + 1,
        firsts,
        "no gap"
    );
    for k in 0..7 {
        assert_eq!(
            count(&format!("SELECT COUNT(*) FROM app.t WHERE k = {k}")),
            count(&format!("SELECT COUNT(*) FROM app.t WHERE k + 0 = {k}")),
            "the index agrees with the rows"
        );
    }
}
