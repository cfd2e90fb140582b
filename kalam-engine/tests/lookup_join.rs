//! Joins on a primary key done by lookups return what DataFusion's hash join returns: the
//! same queries on two engines holding the same rows, one with lookup joins, one without.

use kalam_engine::{Engine, EngineOptions, UserId, Value};
use proptest::prelude::*;

const SCHEMA: &str = "CREATE NAMESPACE app;
     CREATE USER alice;
     CREATE SHARED TABLE app.t (id INT PRIMARY KEY, k INT, c TEXT NOT NULL);
     CREATE SHARED TABLE app.big (id BIGINT PRIMARY KEY, v INT NOT NULL);
     CREATE USER TABLE app.notes (id INT PRIMARY KEY, ref INT, body TEXT);
     CREATE SHARED TABLE app.pair (x INT, y INT, v TEXT, PRIMARY KEY (x, y));
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
    let pairs: Vec<String> = (1..=200)
        .map(|i| format!("({}, {}, 'v{i}')", i % 20, i / 20))
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!(
                "INSERT INTO app.t VALUES {}; INSERT INTO app.big VALUES {}; \
                 INSERT INTO app.pair VALUES {}",
                rows.join(", "),
                big.join(", "),
                pairs.join(", ")
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
    // A table with itself on its primary key: read once, each row with itself.
    "SELECT a.id, b.k, b.c FROM app.t a JOIN app.t b ON a.id = b.id AND a.c = b.c \
     WHERE a.k BETWEEN $1 AND $2 ORDER BY a.id",
    "SELECT a.id, b.k FROM app.t a JOIN app.t b ON a.id = b.id AND a.k = b.k \
     WHERE a.id BETWEEN $1 AND $2 ORDER BY a.id",
    "SELECT * FROM app.t a JOIN app.t b USING (id) WHERE b.id > $1 AND a.id < $2 ORDER BY id",
    "SELECT a.id, b.id, b.c FROM app.t a, app.t b WHERE b.id = a.id AND a.k > $1 AND b.k < $2 \
     ORDER BY a.id",
    "SELECT a.id, c.c FROM app.t a JOIN app.t b ON a.id = b.id JOIN app.t c ON b.id = c.id \
     WHERE b.k > $1 AND c.id < $2 AND a.c <> b.c || 'x' ORDER BY a.id",
    "SELECT a.id, b.k FROM app.t a LEFT JOIN app.t b ON a.id = b.id AND b.k < $2 \
     WHERE a.id > $1 ORDER BY a.id",
    "SELECT n.id, m.body FROM app.notes n JOIN app.notes m ON m.id = n.id \
     WHERE n.ref > $1 AND m.id < $2 ORDER BY n.id",
    "SELECT a.id FROM (SELECT id FROM app.t WHERE k > $1 LIMIT 7) a JOIN app.t b ON a.id = b.id \
     WHERE b.k < $2 ORDER BY a.id",
    "SELECT p.x, p.y, q.v FROM app.pair p JOIN app.pair q ON p.y = q.y AND q.x = p.x \
     WHERE p.x > $1 % 20 AND q.v < 'v' || $2 ORDER BY p.x, p.y",
    "SELECT p.x, p.y, q.y FROM app.pair p JOIN app.pair q ON p.x = q.x \
     WHERE p.y = $1 % 10 AND q.y < $2 % 10 ORDER BY p.x, p.y, q.y",
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

    // A table with itself on its primary key: one scan, no join.
    let explain = |sql: &str| {
        engine
            .sql_blocking(&root, &format!("EXPLAIN {sql}"))
            .unwrap()
            .to_string()
    };
    let plan = explain("SELECT a.id, b.id FROM app.t a JOIN app.t b ON a.id = b.id WHERE a.k > 0");
    assert!(
        !plan.contains("Join") && plan.matches("KalamScanExec").count() == 1,
        "{plan}"
    );
    let plan = explain("SELECT q.v FROM app.pair p JOIN app.pair q ON p.y = q.y AND p.x = q.x");
    assert!(!plan.contains("Join"), "{plan}");
    // On other columns, on one column of a key of two, with a limit on a side, or an outer
    // join: a join still.
    for sql in [
        "SELECT a.id FROM app.t a JOIN app.t b ON a.k = b.k",
        "SELECT p.v FROM app.pair p JOIN app.pair q ON p.x = q.x",
        "SELECT a.id FROM (SELECT id FROM app.t LIMIT 5) a JOIN app.t b ON a.id = b.id",
        "SELECT a.id FROM app.t a LEFT JOIN app.t b ON a.id = b.id",
    ] {
        let plan = explain(sql);
        assert!(plan.contains("Join"), "{sql}: {plan}");
    }
}
