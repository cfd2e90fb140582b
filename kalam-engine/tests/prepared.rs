//! Prepared statements: the primary-key fast paths return exactly what the DataFusion path
//! returns, for every key, present or not, and so do their literal forms sent as text;
//! other statements bind parameters into a plan.

use kalam_engine::{Engine, EngineOptions, Error, QueryResult, UserId, Value};
use proptest::prelude::*;

fn setup() -> (tempfile::TempDir, Engine, UserId) {
    setup_with(true)
}

/// The same data on an engine without fast paths or kept plans of texts: every statement
/// through DataFusion, planned as it comes.
fn general() -> (tempfile::TempDir, Engine, UserId) {
    setup_with(false)
}

fn setup_with(fast_paths: bool) -> (tempfile::TempDir, Engine, UserId) {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        fast_paths,
        text_plans: fast_paths,
        ..EngineOptions::default()
    };
    let engine = Engine::open_with(dir.path(), &options).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE sb;
             CREATE SHARED TABLE sb.sbtest1 (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
             CREATE USER TABLE sb.pairs (a TEXT, b BIGINT, note TEXT, PRIMARY KEY (a, b))",
        )
        .unwrap();
    let values: Vec<String> = (1..=200)
        .map(|i| {
            format!(
                "({i}, {}, 'c-{i}-{}', 'pad{i}')",
                i * 7 % 50,
                "x".repeat(i % 13)
            )
        })
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!("INSERT INTO sb.sbtest1 VALUES {}", values.join(", ")),
        )
        .unwrap();
    engine
        .sql_blocking(
            &root,
            "INSERT INTO sb.pairs VALUES ('x', 1, 'one'), ('x', 2, NULL), ('y', 1, 'why')",
        )
        .unwrap();
    (dir, engine, root)
}

#[test]
fn point_selects_take_the_fast_path_and_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    let shapes = [
        (
            "SELECT c FROM sb.sbtest1 WHERE id = $1",
            "SELECT c FROM sb.sbtest1 WHERE id = {}",
        ),
        (
            "SELECT * FROM sb.sbtest1 WHERE id = $1",
            "SELECT * FROM sb.sbtest1 WHERE id = {}",
        ),
        (
            "SELECT pad, id, k FROM sb.sbtest1 WHERE $1 = id",
            "SELECT pad, id, k FROM sb.sbtest1 WHERE {} = id",
        ),
    ];
    for (prepared, literal) in shapes {
        let statement = engine.prepare_blocking(&root, prepared).unwrap();
        assert!(statement.is_point_get(), "{prepared}");
        proptest!(|(id in -5..210i32)| {
            let fast = engine.execute_blocking(&statement, &[Value::Int32(id)]).unwrap();
            let sql = literal.replace("{}", &id.to_string());
            let slow = general.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(fast.to_string(), slow.to_string());
            prop_assert_eq!(fast.num_rows(), slow.num_rows());
            // Same schema too, field by field.
            prop_assert_eq!(fast.schema().fields(), slow.schema().fields());
            // The literal form as text, which takes the fast path unplanned.
            let text = engine.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(text.to_string(), slow.to_string());
            prop_assert_eq!(text.schema().fields(), slow.schema().fields());
            // A BIGINT parameter that fits works the same.
            let wide = engine.execute_blocking(&statement, &[Value::Int64(id.into())]).unwrap();
            prop_assert_eq!(wide.to_string(), slow.to_string());
        });
    }
    // Composite keys on a USER table: the fast path uses the user's scope.
    let statement = engine
        .prepare_blocking(&root, "SELECT note FROM sb.pairs WHERE b = $2 AND a = $1")
        .unwrap();
    assert!(statement.is_point_get());
    for (a, b) in [("x", 1), ("x", 2), ("y", 1), ("y", 2), ("z", 0)] {
        let fast = engine
            .execute_blocking(&statement, &[Value::from(a), Value::Int64(b)])
            .unwrap();
        let sql = format!("SELECT note FROM sb.pairs WHERE b = {b} AND a = '{a}'");
        let slow = general.sql_blocking(&root, &sql).unwrap();
        assert_eq!(fast.to_string(), slow.to_string(), "{a} {b}");
        let text = engine.sql_blocking(&root, &sql).unwrap();
        assert_eq!(text.to_string(), slow.to_string(), "{sql}");
    }
    // A NULL key matches nothing, like `id = NULL`.
    let statement = engine
        .prepare_blocking(&root, "SELECT c FROM sb.sbtest1 WHERE id = $1")
        .unwrap();
    assert_eq!(
        engine
            .execute_blocking(&statement, &[Value::Null])
            .unwrap()
            .num_rows(),
        0
    );
}

#[test]
fn other_statements_bind_parameters_into_a_plan() {
    let (_dir, engine, root) = setup();
    let range = engine
        .prepare_blocking(
            &root,
            "SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2 ORDER BY c",
        )
        .unwrap();
    assert!(!range.is_point_get());
    let fast = engine
        .execute_blocking(&range, &[Value::Int32(10), Value::Int32(20)])
        .unwrap();
    let slow = engine
        .sql_blocking(
            &root,
            "SELECT c FROM sb.sbtest1 WHERE id BETWEEN 10 AND 20 ORDER BY c",
        )
        .unwrap();
    assert_eq!(fast.to_string(), slow.to_string());
    assert_eq!(fast.num_rows(), 11);

    let update = engine
        .prepare_blocking(&root, "UPDATE sb.sbtest1 SET k = k + 1 WHERE id = $1")
        .unwrap();
    assert_eq!(
        engine
            .execute_blocking(&update, &[Value::Int32(5)])
            .unwrap()
            .rows_affected(),
        Some(1)
    );
    let insert = engine
        .prepare_blocking(
            &root,
            "INSERT INTO sb.sbtest1 (id, k, c, pad) VALUES ($1, $2, $3, $4)",
        )
        .unwrap();
    engine
        .execute_blocking(
            &insert,
            &[
                Value::Int32(1000),
                Value::Int32(1),
                Value::from("c"),
                Value::from("p"),
            ],
        )
        .unwrap();
    let get = engine
        .prepare_blocking(&root, "SELECT k, c FROM sb.sbtest1 WHERE id = $1")
        .unwrap();
    assert_eq!(
        engine
            .execute_blocking(&get, &[Value::Int32(5)])
            .unwrap()
            .to_string(),
        engine
            .sql_blocking(&root, "SELECT k, c FROM sb.sbtest1 WHERE id = 5")
            .unwrap()
            .to_string()
    );
    assert_eq!(
        engine
            .execute_blocking(&get, &[Value::Int32(1000)])
            .unwrap()
            .num_rows(),
        1
    );

    // Wrong parameters are typed errors.
    assert!(matches!(
        engine.execute_blocking(&get, &[]),
        Err(Error::Parameters { .. })
    ));
    assert!(matches!(
        engine.execute_blocking(&get, &[Value::from("five")]),
        Err(Error::Parameters { .. })
    ));
    assert!(matches!(
        engine.execute_blocking(&get, &[Value::Int64(1 << 40)]),
        Err(Error::Parameters { .. })
    ));
    assert!(matches!(
        engine.prepare_blocking(&root, "SELECT 1; SELECT 2"),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn writes_with_subqueries_bind_parameters_and_change_only_their_rows() {
    let (_dir, engine, root) = setup();
    let count = |sql: &str| {
        engine
            .sql_blocking(&root, sql)
            .unwrap()
            .batches()
            .first()
            .map(|b| {
                datafusion::arrow::util::display::array_value_to_string(b.column(0), 0).unwrap()
            })
    };
    let update = engine
        .prepare_blocking(
            &root,
            "UPDATE sb.sbtest1 SET pad = $1 WHERE k IN (SELECT k FROM sb.sbtest1 WHERE id = $2)",
        )
        .unwrap();
    let changed = engine
        .execute_blocking(&update, &[Value::from("seen"), Value::Int32(3)])
        .unwrap();
    // Rows 3, 53, 103 and 153 share k = 21.
    assert_eq!(changed.rows_affected(), Some(4));
    assert_eq!(
        count("SELECT count(*) FROM sb.sbtest1 WHERE pad = 'seen'").as_deref(),
        Some("4")
    );
    let delete = engine
        .prepare_blocking(
            &root,
            "DELETE FROM sb.sbtest1 WHERE id > $1 AND k = (SELECT max(k) FROM sb.sbtest1 WHERE pad = $2)",
        )
        .unwrap();
    for _ in 0..2 {
        let deleted = engine
            .execute_blocking(&delete, &[Value::Int32(100), Value::from("seen")])
            .unwrap();
        assert_eq!(deleted.rows_affected(), Some(2));
        engine
            .sql_blocking(
                &root,
                "UPDATE sb.sbtest1 SET pad = 'seen' WHERE id IN (4, 104, 154)",
            )
            .unwrap();
    }
    assert_eq!(
        count("SELECT count(*) FROM sb.sbtest1").as_deref(),
        Some("196")
    );
}

/// The statement with literal bounds, for DataFusion's path.
type Literal = fn(i32, i32) -> String;

#[test]
fn primary_key_ranges_take_the_fast_path_and_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    let shapes: [(&str, Literal); 2] = [
        (
            "SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2",
            |a, b| format!("SELECT c FROM sb.sbtest1 WHERE id BETWEEN {a} AND {b}"),
        ),
        (
            "SELECT k, id FROM sb.sbtest1 WHERE id BETWEEN $2 AND $1",
            |a, b| format!("SELECT k, id FROM sb.sbtest1 WHERE id BETWEEN {b} AND {a}"),
        ),
    ];
    for (prepared, literal) in shapes {
        let statement = engine.prepare_blocking(&root, prepared).unwrap();
        assert!(
            statement.is_fast_path() && !statement.is_point_get(),
            "{prepared}"
        );
        proptest!(|(a in -5..210i32, b in -5..210i32)| {
            let fast = engine
                .execute_blocking(&statement, &[Value::Int32(a), Value::Int32(b)])
                .unwrap();
            let sql = literal(a, b);
            let slow = general.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(fast.to_string(), slow.to_string(), "{}", sql);
            let text = engine.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(text.to_string(), slow.to_string(), "{}", sql);
            prop_assert_eq!(text.schema().fields(), slow.schema().fields());
        });
    }
    let statement = engine
        .prepare_blocking(&root, "SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2")
        .unwrap();
    let none = engine
        .execute_blocking(&statement, &[Value::Null, Value::Int32(5)])
        .unwrap();
    assert_eq!(none.num_rows(), 0);
    assert!(matches!(
        engine.execute_blocking(&statement, &[Value::from("x"), Value::Int32(5)]),
        Err(Error::Parameters { .. })
    ));
}

/// The parameters of `values` (`None` for NULL, the others made by `value`), and
/// `prepared` with them written as literals in place of `$1`, `$2`, ...
fn bound<T: Copy + ToString>(
    prepared: &str,
    values: &[Option<T>],
    value: fn(T) -> Value,
) -> (Vec<Value>, String) {
    let params = values
        .iter()
        .map(|v| v.map_or(Value::Null, value))
        .collect();
    let mut sql = prepared.to_owned();
    // From the last, so that `$1` does not replace the start of `$10`.
    for (i, v) in values.iter().enumerate().rev() {
        let v = v.map_or("NULL".to_owned(), |v| v.to_string());
        sql = sql.replace(&format!("${}", i + 1), &v);
    }
    (params, sql)
}

#[test]
fn in_lists_and_ranges_on_keys_and_indexes_take_the_fast_path_and_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    for e in [&engine, &general] {
        e.sql_blocking(&root, "CREATE INDEX by_k ON sb.sbtest1 (k)")
            .unwrap();
    }
    let shapes = [
        "SELECT id, k, c, pad FROM sb.sbtest1 WHERE k IN ($1, $2, $3, $4)",
        "SELECT c FROM sb.sbtest1 WHERE id IN ($3, $1, $4, $2)",
        "SELECT * FROM sb.sbtest1 WHERE k IN ($2, $2, $4, $1, $3)",
        // The index covers these columns: its order, as a scan reads it.
        "SELECT id, k FROM sb.sbtest1 WHERE k IN ($1, $2, $3, $4)",
        // Unions of ranges, overlapping or not, on an index and on the key.
        "SELECT count(k) FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
        "SELECT k, id FROM sb.sbtest1 WHERE (k BETWEEN $3 AND $1) OR (k BETWEEN $2 AND $4 OR k BETWEEN $1 AND $1)",
        "SELECT pad FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2 OR id BETWEEN $4 AND $3",
        "SELECT min(c), max(id), sum(k) FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
        // Counts the index's entries answer alone.
        "SELECT count(*), count(id), count(k) FROM sb.sbtest1 WHERE k IN ($1, $2, $3, $4)",
        "SELECT count(id) FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
    ];
    for prepared in shapes {
        let statement = engine.prepare_blocking(&root, prepared).unwrap();
        assert!(
            statement.is_fast_path() && !statement.is_point_get(),
            "{prepared}"
        );
        // Values present, absent, repeated, NULL.
        proptest!(|(values in proptest::collection::vec(proptest::option::of(-3..210i32), 4))| {
            let (params, sql) = bound(prepared, &values, Value::Int32);
            let fast = engine.execute_blocking(&statement, &params).unwrap();
            let slow = general.sql_blocking(&root, &sql).unwrap();
            // A union of ranges is compared as rows in any order: DataFusion may factor a
            // bound every range shares out of the OR (`k <= 68` of `k BETWEEN NULL AND 68
            // OR k BETWEEN 0 AND 68`) and read that range in the index's order, where the
            // fast path reads the union's rows in key order; without ORDER BY both are
            // right. IN lists keep their order: each path reads them as the other does.
            let shown = |result: &QueryResult| {
                let text = result.to_string();
                if !prepared.contains(" OR ") {
                    return text;
                }
                let mut lines: Vec<&str> = text.lines().collect();
                lines.sort_unstable();
                lines.join("\n")
            };
            prop_assert_eq!(shown(&fast), shown(&slow), "{}", sql);
            prop_assert_eq!(fast.schema().fields(), slow.schema().fields());
            let text = engine.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(shown(&text), shown(&slow), "{}", sql);
        });
    }
    // Columns no key or index leads with go through DataFusion, and so do unions of
    // ranges on two columns, or with other conditions.
    for sql in [
        "SELECT id FROM sb.sbtest1 WHERE c IN ($1, $2)",
        "SELECT a FROM sb.pairs WHERE b IN ($1, $2)",
        "SELECT id FROM sb.sbtest1 WHERE c BETWEEN $1 AND $2 OR c BETWEEN $3 AND $4",
        "SELECT id FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR id BETWEEN $3 AND $4",
        "SELECT id FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR k = $3",
        "SELECT id FROM sb.sbtest1 WHERE k NOT BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
    ] {
        assert!(
            !engine.prepare_blocking(&root, sql).unwrap().is_fast_path(),
            "{sql}"
        );
    }
    // The index dropped after the statement was prepared: its rows are still exactly those.
    let statement = engine
        .prepare_blocking(
            &root,
            "SELECT id FROM sb.sbtest1 WHERE k IN ($1, $2) ORDER BY id",
        )
        .unwrap();
    let params = [Value::Int32(7), Value::Int32(21)];
    let before = engine.execute_blocking(&statement, &params).unwrap();
    assert!(before.num_rows() > 0);
    let ranges = engine
        .prepare_blocking(
            &root,
            "SELECT count(*), sum(k) FROM sb.sbtest1 WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4",
        )
        .unwrap();
    let bounds = [3, 9, 8, 20].map(Value::Int32);
    let counted = engine.execute_blocking(&ranges, &bounds).unwrap();
    engine.sql_blocking(&root, "DROP INDEX sb.by_k").unwrap();
    let after = engine.execute_blocking(&statement, &params).unwrap();
    assert_eq!(before.to_string(), after.to_string());
    let recounted = engine.execute_blocking(&ranges, &bounds).unwrap();
    assert_eq!(counted.to_string(), recounted.to_string());
    let sql =
        "SELECT count(*), sum(k) FROM sb.sbtest1 WHERE k BETWEEN 3 AND 9 OR k BETWEEN 8 AND 20";
    let expected = general.sql_blocking(&root, sql).unwrap();
    assert_eq!(recounted.to_string(), expected.to_string());
}

/// A table with what sorting, DISTINCT and aggregates trip on: repeated values, NULLs,
/// BIGINTs at their extremes (whose SUM wraps), signed zeros, and an INT at its maximum.
fn mixed(engine: &Engine, root: &UserId) {
    engine
        .sql_blocking(
            root,
            "CREATE SHARED TABLE sb.mixed (id INT PRIMARY KEY, k BIGINT, n INT, f DOUBLE, t TEXT)",
        )
        .unwrap();
    let rows: Vec<String> = (1..=80i64)
        .map(|i| {
            let k = match i % 6 {
                0 => "NULL".to_owned(),
                1 => (i64::MAX - i).to_string(),
                2 => (i64::MIN + i).to_string(),
                _ => (i % 4).to_string(),
            };
            let n = match (i % 5, i % 11) {
                (0, _) => "NULL".to_owned(),
                (_, 0) => i32::MAX.to_string(),
                _ => (i % 3 - 1).to_string(),
            };
            let f = match (i % 4, i % 9, i % 10) {
                (0, _, _) => "NULL".to_owned(),
                (_, 0, _) => "-0.0".to_owned(),
                (_, _, 3) => "0.0".to_owned(),
                _ => format!("{:.1}", (i % 5) as f64 * 0.5 - 1.0),
            };
            let t = if i % 8 == 0 {
                "NULL".to_owned()
            } else {
                format!("'t{}'", i % 4)
            };
            format!("({i}, {k}, {n}, {f}, {t})")
        })
        .collect();
    engine
        .sql_blocking(
            root,
            &format!("INSERT INTO sb.mixed VALUES {}", rows.join(", ")),
        )
        .unwrap();
}

#[test]
fn sorted_distinct_and_aggregate_selects_take_the_fast_path_and_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    for e in [&engine, &general] {
        mixed(e, &root);
    }
    let ranges = [
        "SELECT t FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY t",
        "SELECT t FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY t DESC",
        "SELECT DISTINCT t FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY t",
        "SELECT DISTINCT k FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY k DESC NULLS LAST",
        "SELECT DISTINCT n FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY n ASC NULLS FIRST",
        "SELECT f FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY f",
        "SELECT f FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY f DESC",
        "SELECT SUM(k) FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT sum(n), count(*), COUNT(f), min(f), max(f), min(t), max(k), Sum(k) FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT count(t), max(t) FROM sb.mixed WHERE id IN ($1, $2)",
        "SELECT min(k), max(n) FROM sb.mixed WHERE id = $1",
        "SELECT DISTINCT t FROM sb.mixed WHERE id IN ($2, $1) ORDER BY t DESC",
    ];
    for prepared in ranges {
        let statement = engine.prepare_blocking(&root, prepared).unwrap();
        assert!(statement.is_fast_path(), "{prepared}");
        proptest!(|(a in -3..85i32, b in -3..85i32)| {
            let params = [Value::Int32(a), Value::Int32(b)];
            let params = if prepared.contains("$2") { &params[..] } else { &params[..1] };
            let fast = engine.execute_blocking(&statement, params).unwrap();
            let sql = prepared.replace("$1", &a.to_string()).replace("$2", &b.to_string());
            let slow = general.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(fast.to_string(), slow.to_string(), "{}", sql);
            prop_assert_eq!(fast.schema().fields(), slow.schema().fields(), "{}", sql);
            let text = engine.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(text.to_string(), slow.to_string(), "{}", sql);
            prop_assert_eq!(text.schema().fields(), slow.schema().fields(), "{}", sql);
        });
    }
    // Shapes whose answer could depend on the order of the work stay with DataFusion.
    for sql in [
        "SELECT SUM(f) FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT DISTINCT f FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY f",
        "SELECT DISTINCT t FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT t FROM sb.mixed WHERE id BETWEEN $1 AND $2 ORDER BY k",
        "SELECT avg(k) FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT count(DISTINCT k) FROM sb.mixed WHERE id BETWEEN $1 AND $2",
        "SELECT SUM(k) + 1 FROM sb.mixed WHERE id BETWEEN $1 AND $2",
    ] {
        assert!(
            !engine.prepare_blocking(&root, sql).unwrap().is_fast_path(),
            "{sql}"
        );
    }
}

#[test]
fn counts_over_an_index_that_covers_them_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    for e in [&engine, &general] {
        mixed(e, &root);
        // `k` repeats and holds NULLs; so does `n`, the second part.
        e.sql_blocking(&root, "CREATE INDEX by_k_n ON sb.mixed (k, n)")
            .unwrap();
    }
    let counts = [
        "SELECT count(*), count(k), count(id) FROM sb.mixed WHERE k IN ($1, $2, $3)",
        "SELECT count(k) FROM sb.mixed WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $2",
        // `n` may be NULL in the entries read: counted from the values.
        "SELECT count(n), count(*) FROM sb.mixed WHERE k IN ($1, $2, $3)",
        "SELECT count(*), max(n) FROM sb.mixed WHERE k IN ($1, $2, $3)",
    ];
    for prepared in counts {
        let statement = engine.prepare_blocking(&root, prepared).unwrap();
        assert!(statement.is_fast_path(), "{prepared}");
        proptest!(|(values in proptest::collection::vec(proptest::option::of(-2..6i64), 3))| {
            let (params, sql) = bound(prepared, &values, Value::Int64);
            let fast = engine.execute_blocking(&statement, &params).unwrap();
            let slow = general.sql_blocking(&root, &sql).unwrap();
            prop_assert_eq!(fast.to_string(), slow.to_string(), "{}", sql);
            prop_assert_eq!(fast.schema().fields(), slow.schema().fields(), "{}", sql);
        });
    }
}

#[test]
fn correlated_subqueries_with_parameters_inside_answer_as_their_literal_forms() {
    let (_dir, engine, root) = setup();
    engine
        .sql_blocking(
            &root,
            "CREATE SHARED TABLE sb.bad (id INT PRIMARY KEY, k INT, pad TEXT);
             INSERT INTO sb.bad VALUES (1, 21, 'pad3'), (2, 21, NULL), (3, 49, 'pad7'), (4, 7, 'x')",
        )
        .unwrap();
    // A NOT IN per row (correlated, so the engine runs it per distinct outer `k`), a
    // correlated scalar subquery with a non-equality correlation, each with parameters
    // inside and outside.
    let statements = [
        "SELECT id FROM sb.sbtest1 t WHERE t.id < $1 AND t.pad NOT IN \
         (SELECT b.pad FROM sb.bad b WHERE b.k = t.k AND b.id > $2) ORDER BY id",
        "SELECT id, (SELECT count(*) FROM sb.bad b WHERE b.k < t.k AND b.id <> $2) AS n \
         FROM sb.sbtest1 t WHERE t.id < $1 ORDER BY id",
    ];
    for sql in statements {
        let prepared = engine.prepare_blocking(&root, sql).unwrap();
        for (below, id) in [(30, 0), (30, 1), (60, 2), (10, 4), (200, 9)] {
            let run = engine
                .execute_blocking(&prepared, &[Value::Int32(below), Value::Int32(id)])
                .unwrap();
            let written = sql
                .replace("$1", &below.to_string())
                .replace("$2", &id.to_string());
            let literal = engine.sql_blocking(&root, &written).unwrap();
            assert_eq!(run.to_string(), literal.to_string(), "{written}");
            assert!(literal.num_rows() > 0 || below < 10, "{written}");
        }
        // A run after a write sees it: nothing is kept from one run to the next.
        let before = engine
            .execute_blocking(&prepared, &[Value::Int32(60), Value::Int32(0)])
            .unwrap()
            .to_string();
        engine
            .sql_blocking(
                &root,
                "INSERT INTO sb.bad VALUES (5, 14, 'pad2'), (6, 0, 'y')",
            )
            .unwrap();
        let after = engine
            .execute_blocking(&prepared, &[Value::Int32(60), Value::Int32(0)])
            .unwrap()
            .to_string();
        let literal = engine
            .sql_blocking(&root, &sql.replace("$1", "60").replace("$2", "0"))
            .unwrap()
            .to_string();
        assert_eq!(after, literal, "{sql}");
        assert_ne!(before, after, "{sql}");
        engine
            .sql_blocking(&root, "DELETE FROM sb.bad WHERE id > 4")
            .unwrap();
    }
}

#[test]
fn queries_sent_as_text_run_on_kept_plans_and_match_datafusion() {
    let (_dir, engine, root) = setup();
    let (_general_dir, general, _) = general();
    let forms: [fn(i32, i32) -> String; 9] = [
        |a, b| format!("SELECT c FROM sb.sbtest1 WHERE id BETWEEN {a} AND {b} ORDER BY c"),
        |a, b| format!("SELECT SUM(k) FROM sb.sbtest1 WHERE id BETWEEN {a} AND {b}"),
        |a, b| format!("SELECT DISTINCT c FROM sb.sbtest1 WHERE id BETWEEN {a} AND {b} ORDER BY c"),
        |a, b| {
            format!(
                "SELECT id, k, pad FROM sb.sbtest1 WHERE k IN ({a}, {b}, {}) ORDER BY id",
                a + b
            )
        },
        |a, b| {
            format!(
                "SELECT count(k) FROM sb.sbtest1 WHERE k BETWEEN {a} AND {b} OR k BETWEEN {b} AND {}",
                b + 3
            )
        },
        |a, b| {
            format!(
                "SELECT id FROM sb.sbtest1 WHERE pad = 'pad{a}' OR (id > {b} AND NOT k < {a}) ORDER BY id"
            )
        },
        // Literals not of their column's type: as written, DataFusion's casts.
        |a, b| format!("SELECT id FROM sb.sbtest1 WHERE id < '{a}' AND k > {b}.5 ORDER BY id"),
        |a, _| {
            format!(
                "SELECT count(*) FROM sb.sbtest1 WHERE id < {} OR k = NULL",
                i64::from(a) << 33
            )
        },
        |a, b| {
            format!(
                "SELECT b, count(*) FROM sb.pairs WHERE b <= {a} AND a <> 'y{b}' GROUP BY b ORDER BY b"
            )
        },
    ];
    // The property's closure is `Fn`: the session it runs in is borrowed at each case.
    let session = std::cell::RefCell::new(engine.session(&root).unwrap());
    proptest!(|(form in 0..forms.len(), a in -5..60i32, b in -5..60i32, in_txn: bool)| {
        let mut session = session.borrow_mut();
        let sql = forms[form](a, b);
        let expected = general.sql_blocking(&root, &sql);
        let text = if in_txn {
            session.sql_blocking("BEGIN").unwrap();
            let text = session.sql_blocking(&sql);
            session.sql_blocking("COMMIT").unwrap();
            text
        } else {
            session.sql_blocking(&sql)
        };
        match (text, expected) {
            (Ok(text), Ok(expected)) => {
                prop_assert_eq!(text.to_string(), expected.to_string(), "{}", sql);
                prop_assert_eq!(text.schema().fields(), expected.schema().fields(), "{}", sql);
            }
            (Err(text), Err(expected)) => {
                prop_assert_eq!(text.sqlstate(), expected.sqlstate(), "{}", sql);
            }
            (text, expected) => prop_assert!(false, "{sql}: {text:?} against {expected:?}"),
        }
    });
    // A write between runs is seen: plans are kept, not results.
    let mut session = session.into_inner();
    let sum = "SELECT SUM(k) FROM sb.sbtest1 WHERE id BETWEEN 1 AND 3";
    let before = session.sql_blocking(sum).unwrap().to_string();
    session
        .sql_blocking("UPDATE sb.sbtest1 SET k = k + 100 WHERE id = 2")
        .unwrap();
    let after = session.sql_blocking(sum).unwrap().to_string();
    assert_ne!(before, after);
    // A change to the catalog drops the plans: an index made meanwhile serves the next run.
    session
        .sql_blocking("CREATE INDEX ON sb.sbtest1 (k)")
        .unwrap();
    let by_k = "SELECT id FROM sb.sbtest1 WHERE k IN (7, 14) ORDER BY id";
    general
        .sql_blocking(&root, "UPDATE sb.sbtest1 SET k = k + 100 WHERE id = 2")
        .unwrap();
    assert_eq!(
        session.sql_blocking(by_k).unwrap().to_string(),
        general.sql_blocking(&root, by_k).unwrap().to_string()
    );
}
