//! Joins on a primary key done by lookups return what DataFusion's hash join returns: the
//! same queries on two engines holding the same rows, one with lookup joins, one without.

use kalam_engine::{Engine, EngineOptions, UserId, Value};
use proptest::prelude::*;

const SCHEMA: &str = "CREATE NAMESPACE app;
     CREATE USER alice;
     CREATE SHARED TABLE app.t (id INT PRIMARY KEY, k INT, c TEXT NOT NULL);
     CREATE SHARED TABLE app.big (id BIGINT PRIMARY KEY, v INT NOT NULL);
     CREATE USER TABLE app.notes (id INT PRIMARY KEY, ref INT, body TEXT);
     CREATE INDEX ON app.t (k)";

fn open(lookup_joins: bool) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        lookup_joins,
        ..EngineOptions::default()
    };
    let engine = Engine::open_with(dir.path(), &options).unwrap();
    let root = UserId::new("root").unwrap();
    engine.sql_blocking(&root, SCHEMA).unwrap();
    // `k` points at ids, some missing (above 300), some NULL, many shared.
    let rows: Vec<String> = (1..=300)
        .map(|i| match i % 11 {
            0 => format!("({i}, NULL, 'c{i}')"),
            _ => format!("({i}, {}, 'c{i}')", i * 13 % 340),
        })
        .collect();
    let big: Vec<String> = (1..=3000).map(|i| format!("({i}, {})", i % 7)).collect();
    engine
        .sql_blocking(
            &root,
            &format!(
                "INSERT INTO app.t VALUES {}; INSERT INTO app.big VALUES {}",
                rows.join(", "),
                big.join(", ")
            ),
        )
        .unwrap();
    for user in ["root", "alice"] {
        let id = UserId::new(user).unwrap();
        let notes: Vec<String> = (1..=40)
            .map(|i| format!("({i}, {}, '{user} {i}')", (i * 3) % 50))
            .collect();
        engine
            .sql_blocking(
                &id,
                &format!("INSERT INTO app.notes VALUES {}", notes.join(", ")),
            )
            .unwrap();
    }
    (dir, engine)
}

const JOINS: &[&str] = &[
    "SELECT a.id, b.id, b.c FROM app.t a JOIN app.t b ON a.k = b.id \
     WHERE a.id BETWEEN $1 AND $2 ORDER BY a.id",
    "SELECT b.c, a.id FROM app.t b JOIN app.t a ON b.id = a.k \
     WHERE a.id BETWEEN $1 AND $2 ORDER BY a.id",
    "SELECT a.id, b.v FROM app.t a JOIN app.big b ON b.id = a.k \
     WHERE a.k BETWEEN $1 AND $2 ORDER BY a.id",
    "SELECT count(*), sum(b.v) FROM app.big a JOIN app.big b ON a.id = b.id \
     WHERE a.v >= $1 AND a.id > $2",
    "SELECT n.id, t.c FROM app.notes n JOIN app.t t ON n.ref = t.id \
     WHERE n.id BETWEEN $1 AND $2 ORDER BY n.id",
    "SELECT n.id, m.body FROM app.notes n JOIN app.notes m ON n.ref = m.id \
     WHERE n.id > $1 AND m.id < $2 ORDER BY n.id",
];

#[test]
fn lookups_return_what_the_hash_join_returns() {
    let (_a, lookups) = open(true);
    let (_b, hashes) = open(false);
    for user in ["root", "alice"] {
        let user = UserId::new(user).unwrap();
        for sql in JOINS {
            let with = lookups.prepare_blocking(&user, sql).unwrap();
            let without = hashes.prepare_blocking(&user, sql).unwrap();
            proptest!(ProptestConfig::with_cases(24), |(low in -5..320i32, width in 0..3000i32)| {
                let params = [Value::Int32(low), Value::Int32(low.saturating_add(width))];
                let looked_up = lookups.execute_blocking(&with, &params).unwrap();
                let hashed = hashes.execute_blocking(&without, &params).unwrap();
                prop_assert_eq!(looked_up.to_string(), hashed.to_string(), "{} {:?}", sql, params);
            });
        }
    }
}

#[test]
fn explain_shows_the_lookup_and_large_sides_still_join() {
    let (_dir, engine) = open(true);
    let root = UserId::new("root").unwrap();
    let plan = engine
        .sql_blocking(
            &root,
            "EXPLAIN SELECT a.id, b.c FROM app.t a JOIN app.t b ON a.k = b.id WHERE a.id < 10",
        )
        .unwrap()
        .to_string();
    assert!(
        plan.contains("KalamLookupJoinExec: k@")
            && plan.contains(" = app.t.id (SHARED), columns=[id, c], a primary key get per row"),
        "{plan}"
    );
    // No full scan's key to look up in: a plain hash join.
    let plan = engine
        .sql_blocking(
            &root,
            "EXPLAIN SELECT a.id FROM app.t a JOIN app.t b ON a.k = b.k WHERE a.id < 10",
        )
        .unwrap()
        .to_string();
    assert!(
        !plan.contains("KalamLookupJoinExec") && plan.contains("HashJoinExec"),
        "{plan}"
    );

    // 3,000 driving rows: more than are looked up one by one.
    let all = engine
        .sql_blocking(
            &root,
            "SELECT count(*) FROM app.big a JOIN app.big b ON a.id = b.id",
        )
        .unwrap()
        .to_string();
    assert!(all.contains("| 3000 "), "{all}");
}
