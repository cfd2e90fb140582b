//! Filters are pushed into scans `Exact`: DataFusion does not check them again, so a scan
//! must return exactly the rows they keep, whichever access path it takes and whichever
//! filters that path leaves to be checked row by row. Every query here runs on a table
//! whose keys and indexes the filters use, and on a twin with the same rows where no
//! filter can be used by an access path (the scan's prefilter narrows its rows, DataFusion's
//! own filter decides); the answers must be the same. A third twin has indexes on several
//! columns, some descending, one unique. And the twin's rows, copied into DataFusion's own
//! in-memory table, answer every query the same: the reference no scan of the engine takes
//! part in.

use std::sync::Arc;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use kalam_engine::{Engine, UserId, Value};
use proptest::prelude::*;

const COLUMNS: &str = "a INT, b TEXT, c BIGINT, f DOUBLE, ts TIMESTAMP";

fn setup() -> (tempfile::TempDir, Engine, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            &format!(
                "CREATE NAMESPACE sb;
                 CREATE SHARED TABLE sb.keyed ({COLUMNS}, PRIMARY KEY (a, b));
                 CREATE INDEX ON sb.keyed (c);
                 CREATE INDEX ON sb.keyed (f);
                 CREATE INDEX ON sb.keyed (ts);
                 CREATE SHARED TABLE sb.plain (rid BIGINT PRIMARY KEY, {COLUMNS});
                 CREATE SHARED TABLE sb.composite ({COLUMNS}, PRIMARY KEY (a, b));
                 CREATE INDEX ON sb.composite (c DESC, ts);
                 CREATE INDEX ON sb.composite (ts DESC, c, f);
                 CREATE UNIQUE INDEX ON sb.composite (b, a DESC);
                 CREATE INDEX ON sb.composite (f, b DESC)"
            ),
        )
        .unwrap();
    let floats = ["-0.0", "0.0", "0.5", "1.5", "2.5", "NULL"];
    let mut rows = Vec::new();
    for a in 0..12 {
        for (i, b) in ["x", "y", "z"].iter().enumerate() {
            let c = (a * 7 + i * 3) % 40;
            let (c, ts) = if (a + i) % 11 == 0 {
                ("NULL".to_owned(), "NULL".to_owned())
            } else {
                (
                    c.to_string(),
                    format!("TIMESTAMP '2024-01-01 00:00:{c:02}'"),
                )
            };
            let f = floats[(a + i) % floats.len()];
            rows.push(format!("{a}, '{b}', {c}, {f}, {ts}"));
        }
    }
    let keyed: Vec<String> = rows.iter().map(|r| format!("({r})")).collect();
    let plain: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(rid, r)| format!("({rid}, {r})"))
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!(
                "INSERT INTO sb.keyed VALUES {0}; INSERT INTO sb.plain VALUES {1};
                 INSERT INTO sb.composite VALUES {0}",
                keyed.join(", "),
                plain.join(", ")
            ),
        )
        .unwrap();
    (dir, engine, root)
}

fn comparison() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["=", "<", "<=", ">", ">="])
}

/// One filter on one column, of the shapes pushdown knows and some it only narrows with.
fn atom() -> impl Strategy<Value = String> {
    let int = || -2..14i32;
    let big = || -2..42i64;
    prop_oneof![
        (comparison(), int()).prop_map(|(op, v)| format!("a {op} {v}")),
        (int(), int()).prop_map(|(x, y)| format!("a BETWEEN {x} AND {y}")),
        (int(), int(), int()).prop_map(|(x, y, z)| format!("a IN ({x}, {y}, {z})")),
        (int(), int()).prop_map(|(x, y)| format!("(a < {x} OR a > {y})")),
        (comparison(), prop::sample::select(vec!["x", "y", "z", "w"]))
            .prop_map(|(op, v)| format!("b {op} '{v}'")),
        Just("b IN ('x', 'z')".to_owned()),
        (comparison(), big()).prop_map(|(op, v)| format!("c {op} {v}")),
        (big(), big()).prop_map(|(x, y)| format!("c BETWEEN {x} AND {y}")),
        (big(), big()).prop_map(|(x, y)| format!("c IN ({x}, {y}, NULL)")),
        (big(), big(), big()).prop_map(|(x, y, z)| format!("(c BETWEEN {x} AND {y} OR c = {z})")),
        (big(), big(), big()).prop_map(|(x, y, z)| format!("(c >= {x} AND c = {y} OR c = {z})")),
        Just("c = NULL".to_owned()),
        (
            comparison(),
            prop::sample::select(vec!["-0.0", "0.0", "0.5", "1.0", "2.5"])
        )
            .prop_map(|(op, v)| format!("f {op} {v}")),
        (comparison(), 0..42u32)
            .prop_map(|(op, s)| format!("ts {op} TIMESTAMP '2024-01-01 00:00:{s:02}'")),
        // Values for the first parts of an index on several columns, bounds on the next.
        (big(), big(), comparison(), 0..42u32).prop_map(|(x, y, op, s)| format!(
            "c IN ({x}, {y}) AND ts {op} TIMESTAMP '2024-01-01 00:00:{s:02}'"
        )),
        (
            0..42u32,
            big(),
            comparison(),
            prop::sample::select(vec!["0.0", "0.5", "1.5"])
        )
            .prop_map(|(s, c, op, f)| format!(
                "ts = TIMESTAMP '2024-01-01 00:00:{s:02}' AND c = {c} AND f {op} {f}"
            )),
        (
            prop::sample::select(vec!["x", "y", "w"]),
            comparison(),
            int()
        )
            .prop_map(|(b, op, a)| format!("b = '{b}' AND a {op} {a}")),
    ]
}

/// `sql` on the keyed table, and on its twin.
fn both(engine: &Engine, root: &UserId, sql: &str) -> (String, String) {
    let run = |sql: &str| engine.sql_blocking(root, sql).unwrap().to_string();
    (run(sql), run(&sql.replace("sb.keyed", "sb.plain")))
}

/// `sql` on the twin without keys or indexes on the filtered columns, and on a copy of
/// its rows in DataFusion's in-memory table (`sb.plain` read as `plain`), as pretty-printed
/// batches.
fn reference(engine: &Engine, root: &UserId, sql: &str) -> (String, String) {
    let sql = sql.replace("sb.keyed", "sb.plain");
    let pretty = |batches: &[datafusion::arrow::array::RecordBatch]| {
        pretty_format_batches(batches).unwrap().to_string()
    };
    let all = engine.sql_blocking(root, "SELECT * FROM sb.plain").unwrap();
    let table = MemTable::try_new(Arc::clone(all.schema()), vec![all.batches().to_vec()]).unwrap();
    let context = SessionContext::new();
    context.register_table("plain", Arc::new(table)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let expected = runtime.block_on(async {
        let frame = context
            .sql(&sql.replace("sb.plain", "plain"))
            .await
            .unwrap();
        frame.collect().await.unwrap()
    });
    let got = engine.sql_blocking(root, &sql).unwrap();
    (pretty(got.batches()), pretty(&expected))
}

/// `sql` on the table with indexes on several columns, and on the twin without any.
fn composite(engine: &Engine, root: &UserId, sql: &str) -> (String, String) {
    let run = |sql: &str| engine.sql_blocking(root, sql).unwrap().to_string();
    (
        run(&sql.replace("sb.keyed", "sb.composite")),
        run(&sql.replace("sb.keyed", "sb.plain")),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn every_pushed_filter_keeps_the_rows_datafusion_keeps(
        atoms in prop::collection::vec(atom(), 1..=3),
        limit in 1..6usize,
    ) {
        let (_dir, engine, root) = setup();
        let filter = atoms.join(" AND ");
        let rows = format!("SELECT a, b, c, f, ts FROM sb.keyed WHERE {filter} ORDER BY a, b");
        let (keyed, plain) = both(&engine, &root, &rows);
        prop_assert_eq!(&keyed, &plain, "{}", rows);
        let (composite_rows, plain) = composite(&engine, &root, &rows);
        prop_assert_eq!(composite_rows, plain, "{}", rows);
        let (plain, expected) = reference(&engine, &root, &rows);
        prop_assert_eq!(plain, expected, "{}", rows);
        // Only the key and indexed columns: an index on them covers the scan.
        for columns in ["c", "f", "ts", "c, ts", "ts, c, f", "f, b"] {
            let covered = format!(
                "SELECT a, b, {columns} FROM sb.keyed WHERE {filter} ORDER BY a, b"
            );
            let (keyed, plain) = both(&engine, &root, &covered);
            prop_assert_eq!(keyed, plain, "{}", covered);
            let (composite_rows, plain) = composite(&engine, &root, &covered);
            prop_assert_eq!(composite_rows, plain, "{}", covered);
        }
        // The limit goes into the scan: it counts the rows that pass the filters.
        let count = format!(
            "SELECT count(*) FROM (SELECT b FROM sb.keyed WHERE {filter} LIMIT {limit})"
        );
        let (keyed, plain) = both(&engine, &root, &count);
        prop_assert_eq!(keyed, plain, "{}", count);
        let (composite_rows, plain) = composite(&engine, &root, &count);
        prop_assert_eq!(composite_rows, plain, "{}", count);
    }
}

#[test]
fn explain_shows_no_filter_over_an_exact_access_path_and_the_checks_left_to_the_scan() {
    let (_dir, engine, root) = setup();
    let explain = |sql: &str| {
        engine
            .sql_blocking(&root, &format!("EXPLAIN {sql}"))
            .unwrap()
            .to_string()
    };
    let plan = explain("SELECT count(c) FROM sb.keyed WHERE c BETWEEN 3 AND 9 OR c = 20");
    assert!(!plan.contains("FilterExec"), "{plan}");
    assert!(
        plan.contains("access=index keyed_c_idx 2 ranges: c >= 3 AND c <= 9 OR c = 20, covering"),
        "{plan}"
    );
    // The point gets answer the IN list; `a > 1` is checked on the rows they read.
    let plan = explain("SELECT c FROM sb.keyed WHERE a IN (1, 2) AND b = 'x' AND a > 1");
    assert!(!plan.contains("FilterExec"), "{plan}");
    assert!(
        plan.contains(
            "access=primary key get of 2 keys: a IN (1, 2) AND b = 'x', \
             filter=[a > Int32(1)], projection=[c]"
        ),
        "{plan}"
    );
    // Float keys narrow the read (a zero reads both zeros); the comparison itself is
    // always checked, here on the index entries alone.
    let plan = explain("SELECT a FROM sb.keyed WHERE f = 0.0");
    assert!(
        plan.contains(
            "access=index keyed_f_idx get: f IN (-0, 0), covering, filter=[f = Float64(0)], \
             projection=[a]"
        ),
        "{plan}"
    );
    let (keyed, plain) = both(
        &engine,
        &root,
        "SELECT a, b, f FROM sb.keyed WHERE f = 0.0 ORDER BY a, b",
    );
    assert_eq!(keyed, plain);
}

#[test]
fn prepared_scans_choose_their_checks_per_run() {
    let (_dir, engine, root) = setup();
    let sql = "SELECT a, b, c FROM sb.keyed WHERE c BETWEEN $1 AND $2 AND a > $3 ORDER BY a, b";
    let prepared = engine.prepare_blocking(&root, sql).unwrap();
    assert!(prepared.is_planned_once());
    for (low, high, a) in [(0, 40, 3), (5, 9, -1), (9, 5, 0), (0, 40, 20), (12, 12, 0)] {
        let run = engine
            .execute_blocking(
                &prepared,
                &[Value::Int64(low), Value::Int64(high), Value::Int32(a)],
            )
            .unwrap();
        let written = sql
            .replace("$1", &low.to_string())
            .replace("$2", &high.to_string())
            .replace("$3", &a.to_string());
        let (keyed, plain) = both(&engine, &root, &written);
        assert_eq!(keyed, plain, "{written}");
        assert_eq!(run.to_string(), keyed, "{written}");
    }
}
