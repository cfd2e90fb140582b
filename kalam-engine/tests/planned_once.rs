//! Prepared queries planned physically once: every run of the one plan returns what the
//! statement with its values written in returns, whatever ran before it, on any thread.
//!
//! The engines here have no fast paths, which would take several of these shapes (the
//! sysbench ones) off DataFusion: every query is a plan.

use kalam_engine::{Engine, EngineOptions, UserId, Value};
use proptest::prelude::*;

/// The default options but the fast paths.
fn planned() -> EngineOptions {
    EngineOptions {
        fast_paths: false,
        ..EngineOptions::default()
    }
}

fn setup(options: &EngineOptions) -> (tempfile::TempDir, Engine, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(dir.path(), options).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE sb;
             CREATE SHARED TABLE sb.t (id INT PRIMARY KEY, k INT NOT NULL, c TEXT NOT NULL);
             CREATE INDEX ON sb.t (k)",
        )
        .unwrap();
    let rows: Vec<String> = (1..=150)
        .map(|i| format!("({i}, {}, 'c{}')", i * 7 % 160, i % 9))
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!("INSERT INTO sb.t VALUES {}", rows.join(", ")),
        )
        .unwrap();
    (dir, engine, root)
}

/// Each with its number of parameters.
const QUERIES: &[(&str, usize)] = &[
    ("SELECT SUM(k) FROM sb.t WHERE id BETWEEN $1 AND $2", 2),
    (
        "SELECT c FROM sb.t WHERE id BETWEEN $1 AND $2 ORDER BY c",
        2,
    ),
    (
        "SELECT DISTINCT c FROM sb.t WHERE id BETWEEN $1 AND $2 ORDER BY c",
        2,
    ),
    (
        "SELECT id, k FROM sb.t WHERE k IN ($1, $2, $3) ORDER BY id",
        3,
    ),
    (
        "SELECT count(k) FROM sb.t WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
        4,
    ),
    (
        "SELECT a.id, b.id, b.c FROM sb.t a JOIN sb.t b ON a.k = b.id \
         WHERE a.id BETWEEN $1 AND $2 ORDER BY a.id",
        2,
    ),
    (
        "SELECT k, count(*) AS n FROM sb.t WHERE id > $1 GROUP BY k HAVING count(*) >= $2 \
         ORDER BY k",
        2,
    ),
    (
        "SELECT id, k + $1 AS shifted FROM sb.t WHERE id < $2 ORDER BY id DESC LIMIT 5",
        2,
    ),
    ("SELECT max(id) FROM sb.t WHERE k = $1", 1),
    (
        "SELECT id FROM sb.t WHERE k = (SELECT max(k) FROM sb.t WHERE id < $1) ORDER BY id",
        1,
    ),
];

/// `sql` with `$n` replaced by `values[n - 1]` (highest first, so `$1` leaves `$10` alone).
fn literal(sql: &str, values: &[i32]) -> String {
    let mut sql = sql.to_owned();
    for (n, value) in values.iter().enumerate().rev() {
        sql = sql.replace(&format!("${}", n + 1), &value.to_string());
    }
    sql
}

fn params(values: &[i32]) -> Vec<Value> {
    values.iter().map(|&v| Value::Int32(v)).collect()
}

#[test]
fn every_run_matches_the_statement_with_its_values_written_in() {
    let (_dir, engine, root) = setup(&planned());
    for &(sql, count) in QUERIES {
        let prepared = engine.prepare_blocking(&root, sql).unwrap();
        assert!(prepared.is_planned_once(), "{sql}");
        proptest!(ProptestConfig::with_cases(40), |(values in prop::collection::vec(-5..170i32, count))| {
            let run = engine.execute_blocking(&prepared, &params(&values)).unwrap();
            let written = literal(sql, &values);
            let twin = engine.sql_blocking(&root, &written).unwrap();
            prop_assert_eq!(run.to_string(), twin.to_string(), "{}", written);
        });
    }
}

#[test]
fn text_and_null_parameters_are_bound_per_run() {
    let (_dir, engine, root) = setup(&planned());
    let prepared = engine
        .prepare_blocking(
            &root,
            "SELECT c, id FROM sb.t WHERE c = $1 AND id <= $2 ORDER BY id",
        )
        .unwrap();
    assert!(prepared.is_planned_once());
    for (c, id) in [("c3", 100), ("c0", 20), ("nope", 150), ("c3", 5)] {
        let run = engine
            .execute_blocking(&prepared, &[Value::from(c), Value::Int32(id)])
            .unwrap();
        let sql = format!("SELECT c, id FROM sb.t WHERE c = '{c}' AND id <= {id} ORDER BY id");
        assert_eq!(
            run.to_string(),
            engine.sql_blocking(&root, &sql).unwrap().to_string()
        );
    }
    let none = engine
        .execute_blocking(&prepared, &[Value::Null, Value::Int32(100)])
        .unwrap();
    assert_eq!(none.num_rows(), 0);
}

#[test]
fn runs_on_many_threads_at_once_each_get_their_own_values() {
    let (_dir, engine, root) = setup(&planned());
    let sql = QUERIES[0].0;
    let prepared = engine.prepare_blocking(&root, sql).unwrap();
    assert!(prepared.is_planned_once());
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (engine, root, prepared) = (&engine, &root, prepared.clone());
            scope.spawn(move || {
                for i in 0..60 {
                    let values = [thread * 10 + i, thread * 10 + i + 40];
                    let run = engine
                        .execute_blocking(&prepared, &params(&values))
                        .unwrap();
                    let twin = engine.sql_blocking(root, &literal(sql, &values)).unwrap();
                    assert_eq!(run.to_string(), twin.to_string(), "{values:?}");
                }
            });
        }
    });
}

#[test]
fn writes_and_the_switched_off_option_plan_each_run() {
    let (_dir, engine, root) = setup(&planned());
    let update = engine
        .prepare_blocking(&root, "UPDATE sb.t SET c = $1 WHERE k = $2")
        .unwrap();
    assert!(!update.is_fast_path() && !update.is_planned_once());
    let changed = engine
        .execute_blocking(&update, &[Value::from("new"), Value::Int32(14)])
        .unwrap();
    assert_eq!(changed.rows_affected(), Some(1));

    let off = EngineOptions {
        plan_once: false,
        ..planned()
    };
    let (_dir, engine, root) = setup(&off);
    let prepared = engine.prepare_blocking(&root, QUERIES[0].0).unwrap();
    assert!(!prepared.is_planned_once());
    let run = engine
        .execute_blocking(&prepared, &params(&[1, 10]))
        .unwrap();
    let twin = engine
        .sql_blocking(&root, &literal(QUERIES[0].0, &[1, 10]))
        .unwrap();
    assert_eq!(run.to_string(), twin.to_string());
}
