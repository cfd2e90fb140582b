//! SQL end to end: DDL, writes, reads with pushdown, EXPLAIN, MVCC, reopening, and typed
//! errors for bad input (with nothing half-written).

use kalam_engine::{Engine, Error, QueryResult, UserId};

fn root() -> UserId {
    UserId::new("root").unwrap()
}

/// The result as lines of its pretty table.
fn table(result: &QueryResult) -> Vec<String> {
    result.to_string().lines().map(str::to_owned).collect()
}

fn run(engine: &Engine, sql: &str) -> QueryResult {
    engine
        .sql_blocking(&root(), sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn setup() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    run(
        &engine,
        "CREATE NAMESPACE shop;
         CREATE SHARED TABLE shop.items (id INT PRIMARY KEY, name TEXT NOT NULL, price DOUBLE, qty BIGINT);
         INSERT INTO shop.items VALUES (1, 'apple', 0.5, 10), (2, 'pear', 0.75, 0), (3, 'fig', 2.0, 7),
                                       (4, 'kiwi', NULL, 3), (5, 'plum', 1.25, 12)",
    );
    (dir, engine)
}

#[test]
fn select_with_filters_aggregates_order_and_limit() {
    let (_dir, engine) = setup();
    assert_eq!(
        table(&run(
            &engine,
            "SELECT name, price FROM shop.items WHERE id IN (1, 3, 9) ORDER BY id"
        )),
        [
            "+-------+-------+",
            "| name  | price |",
            "+-------+-------+",
            "| apple | 0.5   |",
            "| fig   | 2.0   |",
            "+-------+-------+",
        ]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT count(*) AS n, sum(qty) AS q FROM shop.items WHERE id BETWEEN 2 AND 4"
        )),
        [
            "+---+----+",
            "| n | q  |",
            "+---+----+",
            "| 3 | 10 |",
            "+---+----+",
        ]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id FROM shop.items WHERE price IS NULL OR qty > 11 ORDER BY qty DESC LIMIT 5"
        )),
        ["+----+", "| id |", "+----+", "| 5  |", "| 4  |", "+----+"]
    );
}

#[test]
fn explain_shows_the_access_path() {
    let (_dir, engine) = setup();
    let plan = run(&engine, "EXPLAIN SELECT name FROM shop.items WHERE id = 3").to_string();
    assert!(
        plan.contains(
            "KalamScanExec: table=shop.items (SHARED), access=primary key get of 1 key: id = 3"
        ),
        "{plan}"
    );
    let plan = run(
        &engine,
        "EXPLAIN SELECT name FROM shop.items WHERE id > 1 AND id <= 3",
    )
    .to_string();
    assert!(
        plan.contains("access=primary key range: id > 1 AND id <= 3"),
        "{plan}"
    );
    let plan = run(&engine, "EXPLAIN SELECT name FROM shop.items WHERE qty = 3").to_string();
    assert!(plan.contains("access=full scan"), "{plan}");
    run(&engine, "CREATE INDEX items_qty ON shop.items (qty)");
    let plan = run(&engine, "EXPLAIN SELECT name FROM shop.items WHERE qty = 3").to_string();
    assert!(
        plan.contains("access=index items_qty get: qty IN (3), projection"),
        "{plan}"
    );
    let plan = run(&engine, "EXPLAIN SELECT id FROM shop.items WHERE qty > 3").to_string();
    assert!(
        plan.contains("access=index items_qty range: qty > 3, covering, projection=[id]"),
        "{plan}"
    );
    let plan = run(
        &engine,
        "EXPLAIN SELECT count(*) FROM shop.items WHERE qty BETWEEN 0 AND 3 OR qty BETWEEN 9 AND 11",
    )
    .to_string();
    assert!(
        plan.contains(
            "access=index items_qty 2 ranges: qty >= 0 AND qty <= 3 OR qty >= 9 AND qty <= 11"
        ),
        "{plan}"
    );
    let plan = run(
        &engine,
        "EXPLAIN SELECT name FROM shop.items WHERE id < 2 OR id > 4",
    )
    .to_string();
    assert!(
        plan.contains("access=primary key 2 ranges: id < 2 OR id > 4"),
        "{plan}"
    );
    // EXPLAIN of a write changes nothing.
    run(&engine, "EXPLAIN DELETE FROM shop.items WHERE id = 1");
    assert_eq!(run(&engine, "SELECT * FROM shop.items").num_rows(), 5);
}

#[test]
fn index_and_primary_key_paths_agree_with_full_scans() {
    let (_dir, engine) = setup();
    run(&engine, "CREATE INDEX ON shop.items (qty)");
    let queries = [
        ("qty = 10", "qty + 0 = 10"),
        ("qty IN (0, 7, 99)", "qty + 0 IN (0, 7, 99)"),
        ("qty >= 3 AND qty < 12", "qty + 0 >= 3 AND qty + 0 < 12"),
        ("id > 2", "id + 0 > 2"),
        ("id = 2 OR id = 4", "id + 0 = 2 OR id + 0 = 4"),
        (
            "qty BETWEEN 0 AND 3 OR qty BETWEEN 9 AND 11",
            "qty + 0 BETWEEN 0 AND 3 OR qty + 0 BETWEEN 9 AND 11",
        ),
        (
            "qty < 1 OR qty > 10 OR qty = 7",
            "qty + 0 < 1 OR qty + 0 > 10 OR qty + 0 = 7",
        ),
        (
            "id BETWEEN 1 AND 3 OR id BETWEEN 2 AND 4 OR id = 5",
            "id + 0 BETWEEN 1 AND 3 OR id + 0 BETWEEN 2 AND 4 OR id + 0 = 5",
        ),
        ("qty = 3 OR id = 1", "qty + 0 = 3 OR id + 0 = 1"),
    ];
    // `id, qty` is covered by the index on qty: read from its entries alone.
    for columns in ["*", "id, qty", "count(*), sum(id)"] {
        for (pushed, scanned) in queries {
            let a = run(
                &engine,
                &format!("SELECT {columns} FROM shop.items WHERE {pushed} ORDER BY 1"),
            );
            let b = run(
                &engine,
                &format!("SELECT {columns} FROM shop.items WHERE {scanned} ORDER BY 1"),
            );
            assert_eq!(table(&a), table(&b), "{columns} WHERE {pushed}");
        }
    }
    // The index follows updates and deletes.
    run(&engine, "UPDATE shop.items SET qty = 10 WHERE id = 2");
    run(&engine, "DELETE FROM shop.items WHERE id = 1");
    assert_eq!(
        table(&run(&engine, "SELECT id FROM shop.items WHERE qty = 10")),
        ["+----+", "| id |", "+----+", "| 2  |", "+----+"]
    );
    let jobs = run(
        &engine,
        "SELECT kind, target, rows, status FROM system.jobs",
    );
    assert_eq!(
        table(&jobs),
        [
            "+-------------+-----------------+------+-----------+",
            "| kind        | target          | rows | status    |",
            "+-------------+-----------------+------+-----------+",
            "| build_index | shop.items(qty) | 5    | completed |",
            "+-------------+-----------------+------+-----------+",
        ]
    );
}

/// Multi-row INSERTs of ascending keys, new past the table's last or not, some over a
/// deleted row: each key checked, the new ones found absent from one seek.
#[test]
fn ascending_inserts_check_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    run(
        &engine,
        "CREATE NAMESPACE t; CREATE SHARED TABLE t.k (id BIGINT PRIMARY KEY, v TEXT NOT NULL)",
    );
    let insert = |ids: std::ops::RangeInclusive<i64>, v: &str| {
        let rows: Vec<String> = ids.map(|id| format!("({id}, '{v}')")).collect();
        engine.sql_blocking(
            &root(),
            &format!("INSERT INTO t.k VALUES {}", rows.join(", ")),
        )
    };
    let count = || {
        table(&run(
            &engine,
            "SELECT count(*) AS n, max(id) AS top FROM t.k",
        ))
    };
    assert_eq!(insert(1..=40, "a").unwrap().rows_affected(), Some(40));
    assert_eq!(insert(41..=80, "b").unwrap().rows_affected(), Some(40));
    run(&engine, "DELETE FROM t.k WHERE id = 80");
    // 75 to 79 are there.
    assert!(matches!(
        insert(75..=110, "c"),
        Err(Error::DuplicateKey { .. })
    ));
    // 80 was deleted: written again.
    assert_eq!(insert(80..=119, "d").unwrap().rows_affected(), Some(40));
    // 100 to 119 are there; 120 on is past the last.
    assert!(matches!(
        insert(100..=139, "e"),
        Err(Error::DuplicateKey { .. })
    ));
    assert!(
        count().iter().any(|line| line.contains("| 119 | 119 |")),
        "{:?}",
        count()
    );
    let eighty = table(&run(&engine, "SELECT v FROM t.k WHERE id = 80"));
    assert!(
        eighty.iter().any(|line| line.contains("| d |")),
        "{eighty:?}"
    );
}

#[test]
fn updates_and_deletes_leave_no_stale_versions() {
    let (dir, engine) = setup();
    let updated = run(
        &engine,
        "UPDATE shop.items SET price = price * 2, qty = qty - 1 WHERE qty > 5",
    );
    assert_eq!(updated.rows_affected(), Some(3));
    let deleted = run(
        &engine,
        "DELETE FROM shop.items WHERE name = 'pear' OR id = 4",
    );
    assert_eq!(deleted.rows_affected(), Some(2));
    let expected = [
        "+----+-------+-------+-----+",
        "| id | name  | price | qty |",
        "+----+-------+-------+-----+",
        "| 1  | apple | 1.0   | 9   |",
        "| 3  | fig   | 4.0   | 6   |",
        "| 5  | plum  | 2.5   | 11  |",
        "+----+-------+-------+-----+",
    ];
    assert_eq!(
        table(&run(&engine, "SELECT * FROM shop.items ORDER BY id")),
        expected
    );
    // Point reads see the newest version too.
    assert_eq!(
        run(&engine, "SELECT * FROM shop.items WHERE id = 2").num_rows(),
        0
    );
    // A key can be reused after a delete, and the primary key itself can change.
    run(
        &engine,
        "INSERT INTO shop.items VALUES (2, 'quince', 3.0, 1)",
    );
    run(&engine, "UPDATE shop.items SET id = 20 WHERE id = 2");
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, name FROM shop.items WHERE id >= 2 AND id < 30 ORDER BY id"
        )),
        [
            "+----+--------+",
            "| id | name   |",
            "+----+--------+",
            "| 3  | fig    |",
            "| 5  | plum   |",
            "| 20 | quince |",
            "+----+--------+",
        ]
    );
    // Everything survives a reopen, the catalog included.
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(
        run(
            &engine,
            "SELECT * FROM shop.items WHERE id < 20 ORDER BY id"
        )
        .to_string()
        .lines()
        .count(),
        7
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT table_name, table_type, primary_key FROM system.tables"
        )),
        [
            "+------------+------------+-------------+",
            "| table_name | table_type | primary_key |",
            "+------------+------------+-------------+",
            "| items      | SHARED     | id          |",
            "+------------+------------+-------------+",
        ]
    );
}

/// A table with a key of two columns.
const STOCK: &str = "CREATE SHARED TABLE shop.stock \
    (store TEXT, item INT, count INT NOT NULL, PRIMARY KEY (store, item))";

#[test]
fn composite_keys_joins_and_drop() {
    let (_dir, engine) = setup();
    run(&engine, STOCK);
    run(
        &engine,
        "INSERT INTO shop.stock VALUES ('north', 1, 4), ('north', 3, 1), ('south', 1, 9)",
    );
    let plan = run(
        &engine,
        "EXPLAIN SELECT * FROM shop.stock WHERE store = 'north'",
    )
    .to_string();
    assert!(
        plan.contains("access=primary key prefix: store = 'north'"),
        "{plan}"
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT s.store, i.name, s.count FROM shop.stock s JOIN shop.items i ON i.id = s.item \
             WHERE s.store = 'north' ORDER BY i.name"
        )),
        [
            "+-------+-------+-------+",
            "| store | name  | count |",
            "+-------+-------+-------+",
            "| north | apple | 4     |",
            "| north | fig   | 1     |",
            "+-------+-------+-------+",
        ]
    );
    run(&engine, "DROP TABLE shop.stock");
    assert!(matches!(
        engine.sql_blocking(&root(), "SELECT * FROM shop.stock"),
        Err(Error::UnknownTable(_))
    ));
    // A new table never sees a dropped table's rows.
    run(
        &engine,
        "CREATE SHARED TABLE shop.stock (store TEXT, item INT, count INT, PRIMARY KEY (store, item))",
    );
    assert_eq!(run(&engine, "SELECT * FROM shop.stock").num_rows(), 0);
}

#[test]
fn scans_of_key_columns_alone_read_the_keys_of_live_rows() {
    let (_dir, engine) = setup();
    run(&engine, STOCK);
    run(
        &engine,
        "INSERT INTO shop.stock VALUES ('north', 3, 4), ('north', -1, 1), ('south', 1, 9), ('west', 2, 0);
         DELETE FROM shop.stock WHERE store = 'south';
         UPDATE shop.stock SET count = 5 WHERE item = 3",
    );
    // The key's columns out of their order, over a full scan and a key range.
    for sql in [
        "SELECT item, store FROM shop.stock ORDER BY store, item",
        "SELECT item, store FROM shop.stock WHERE store >= 'north' ORDER BY store, item",
    ] {
        assert_eq!(
            table(&run(&engine, sql)),
            [
                "+------+-------+",
                "| item | store |",
                "+------+-------+",
                "| -1   | north |",
                "| 3    | north |",
                "| 2    | west  |",
                "+------+-------+",
            ],
            "{sql}"
        );
    }
    assert_eq!(
        table(&run(&engine, "SELECT count(*) AS n FROM shop.stock")),
        ["+---+", "| n |", "+---+", "| 3 |", "+---+"]
    );
    // A filter on another column reads the rows.
    assert_eq!(
        table(&run(&engine, "SELECT item FROM shop.stock WHERE count > 1")),
        ["+------+", "| item |", "+------+", "| 3    |", "+------+"]
    );
}

#[test]
fn bad_input_is_a_typed_error_and_writes_nothing() {
    let (_dir, engine) = setup();
    let err = |sql: &str| engine.sql_blocking(&root(), sql).unwrap_err();
    assert!(matches!(
        err("SELEC * FROM shop.items"),
        Error::Parse { .. }
    ));
    assert!(matches!(err("SELECT * FROM shop.nope"), Error::UnknownTable(t) if t == "shop.nope"));
    assert!(
        matches!(err("SELECT * FROM nowhere.items"), Error::UnknownNamespace(n) if n == "nowhere")
    );
    assert!(matches!(
        err("SELECT nope FROM shop.items"),
        Error::Plan { .. }
    ));
    assert!(matches!(
        err("CREATE NAMESPACE shop"),
        Error::AlreadyExists {
            kind: "namespace",
            ..
        }
    ));
    assert!(matches!(
        err("CREATE NAMESPACE \"../etc\""),
        Error::InvalidId(_)
    ));
    assert!(
        matches!(err("CREATE SHARED TABLE shop.t (a INT)"), Error::Plan { message: m, .. } if m.contains("primary key"))
    );
    assert!(matches!(
        err("CREATE SHARED TABLE shop.t (a INT PRIMARY KEY, b JSON)"),
        Error::Unsupported { .. }
    ));
    assert!(matches!(
        err("INSERT INTO system.users VALUES ('x', 'dba', 0, NULL, NULL)"),
        Error::ReadOnly(_)
    ));
    assert!(matches!(
        err("CREATE TEMPORARY VIEW v AS SELECT 1"),
        Error::Unsupported { .. }
    ));

    // A duplicate key anywhere in a multi-row insert rejects the whole statement.
    let e = err("INSERT INTO shop.items VALUES (6, 'lime', 1.0, 1), (1, 'again', 1.0, 1)");
    assert_eq!(
        e.to_string(),
        "duplicate primary key (id = 1) in `shop.items`"
    );
    let e = err("INSERT INTO shop.items VALUES (7, 'a', 1.0, 1), (7, 'b', 1.0, 1)");
    assert!(matches!(e, Error::DuplicateKey { .. }), "{e}");
    let e = err("INSERT INTO shop.items VALUES (8, NULL, 1.0, 1)");
    assert_eq!(
        e.to_string(),
        "column `name` of `shop.items` may not be NULL"
    );
    let e = err("INSERT INTO shop.items VALUES ('eight', 'x', 1.0, 1)");
    assert!(
        matches!(e, Error::TypeMismatch { .. } | Error::Plan { .. }),
        "{e:?}"
    );
    let e = err("UPDATE shop.items SET id = 1 WHERE id = 2");
    assert!(matches!(e, Error::DuplicateKey { .. }), "{e}");
    assert_eq!(run(&engine, "SELECT * FROM shop.items").num_rows(), 5);
    assert_eq!(
        run(&engine, "SELECT * FROM shop.items WHERE id IN (6, 7, 8)").num_rows(),
        0
    );

    // Deep nesting is refused, not a stack overflow.
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(err(&deep), Error::TooComplex(_)));
}

#[test]
fn roles_and_users() {
    let (_dir, engine) = setup();
    run(&engine, "CREATE USER bob; CREATE USER ada WITH ROLE dba");
    let bob = UserId::new("bob").unwrap();
    let e = engine
        .sql_blocking(&bob, "CREATE NAMESPACE mine")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "user `bob` may not create a namespace; that needs the dba role"
    );
    assert!(matches!(
        engine.sql_blocking(&bob, "SET GATE audit_log = on"),
        Err(Error::PermissionDenied { .. })
    ));
    let ada = UserId::new("ada").unwrap();
    engine.sql_blocking(&ada, "CREATE NAMESPACE hers").unwrap();
    let nobody = UserId::new("nobody").unwrap();
    assert!(matches!(
        engine.sql_blocking(&nobody, "SELECT 1"),
        Err(Error::UnknownUser(u)) if u == "nobody"
    ));
    assert_eq!(
        table(&run(
            &engine,
            "SELECT user_id, role FROM system.users ORDER BY user_id"
        )),
        [
            "+---------+--------+",
            "| user_id | role   |",
            "+---------+--------+",
            "| ada     | dba    |",
            "| bob     | user   |",
            "| root    | system |",
            "+---------+--------+",
        ]
    );
}

#[test]
fn a_where_clause_that_is_never_true_changes_nothing() {
    // DataFusion folds these WHEREs to an empty input and then passes the table no filter
    // at all; the engine must not read that as "every row".
    let (_dir, engine) = setup();
    let before = table(&run(&engine, "SELECT * FROM shop.items ORDER BY id"));
    for sql in [
        "UPDATE shop.items SET qty = 0 WHERE id = NULL",
        "UPDATE shop.items SET qty = 0 WHERE 1 = 0",
        "DELETE FROM shop.items WHERE id = NULL",
        "DELETE FROM shop.items WHERE false",
        "DELETE FROM shop.items WHERE id = 1 AND id = 2 AND 1 > 2",
    ] {
        assert_eq!(run(&engine, sql).rows_affected(), Some(0), "{sql}");
    }
    assert_eq!(
        table(&run(&engine, "SELECT * FROM shop.items ORDER BY id")),
        before
    );
    // A WHERE that is always true still means every row.
    assert_eq!(
        run(&engine, "UPDATE shop.items SET qty = 1 WHERE 1 = 1").rows_affected(),
        Some(5)
    );
}

#[test]
fn plans_over_two_tables_of_either_kind() {
    let (_dir, engine) = setup();
    run(
        &engine,
        "CREATE SHARED TABLE shop.a (col0 INT PRIMARY KEY, col1 INT);
         CREATE SHARED TABLE shop.b (col0 INT PRIMARY KEY, col1 INT);
         INSERT INTO shop.a VALUES (1, 10), (2, 20);
         INSERT INTO shop.b VALUES (1, 10), (2, 10), (3, 30)",
    );
    // A cross join under a GROUP BY: each side's schema is its own table's.
    assert_eq!(
        table(&run(
            &engine,
            "SELECT DISTINCT -56 AS v FROM shop.a, shop.b AS x GROUP BY x.col1"
        )),
        ["+-----+", "| v   |", "+-----+", "| -56 |", "+-----+"]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT x.col1, count(*) AS n FROM shop.a, shop.b AS x GROUP BY x.col1 ORDER BY x.col1"
        )),
        [
            "+------+---+",
            "| col1 | n |",
            "+------+---+",
            "| 10   | 4 |",
            "| 30   | 2 |",
            "+------+---+",
        ]
    );
    // System tables too, joined with each other.
    assert_eq!(
        run(
            &engine,
            "SELECT DISTINCT 1 AS v FROM system.tables, system.namespaces AS x GROUP BY x.name"
        )
        .num_rows(),
        1
    );
    let columns = run(
        &engine,
        "SELECT t.table_name, count(*) AS n FROM system.tables t, system.columns c \
         WHERE t.table_name = c.table_name AND t.namespace = c.namespace \
         GROUP BY t.table_name ORDER BY t.table_name",
    );
    assert_eq!(
        table(&columns)[3..5],
        ["| a          | 2 |", "| b          | 2 |"]
    );
}

#[test]
fn writes_whose_where_has_a_subquery_change_only_the_rows_it_selects() {
    // DataFusion hands a table provider only the predicates on the table's own columns; a
    // WHERE with a subquery must not become "every row".
    let (_dir, engine) = setup();
    run(
        &engine,
        "CREATE SHARED TABLE shop.sold (item INT PRIMARY KEY, n INT);
         INSERT INTO shop.sold VALUES (1, 4), (3, 9)",
    );
    let sql = "DELETE FROM shop.items WHERE qty IN (SELECT n FROM shop.sold) OR id = 4";
    assert_eq!(run(&engine, sql).rows_affected(), Some(1));
    let sql = "UPDATE shop.items SET qty = qty - (SELECT max(n) FROM shop.sold s WHERE s.item = items.id) \
               WHERE EXISTS (SELECT 1 FROM shop.sold s WHERE s.item = items.id)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(2));
    let sql = "UPDATE shop.items AS i SET price = (SELECT max(n) FROM shop.sold) WHERE i.id > 2";
    assert_eq!(run(&engine, sql).rows_affected(), Some(2));
    // A new primary key, from a subquery's rows.
    let sql = "UPDATE shop.items SET id = id + 10 WHERE id IN (SELECT item FROM shop.sold)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(2));
    assert_eq!(
        table(&run(&engine, "SELECT * FROM shop.items ORDER BY id")),
        [
            "+----+-------+-------+-----+",
            "| id | name  | price | qty |",
            "+----+-------+-------+-----+",
            "| 2  | pear  | 0.75  | 0   |",
            "| 5  | plum  | 9.0   | 12  |",
            "| 11 | apple | 0.5   | 6   |",
            "| 13 | fig   | 9.0   | -2  |",
            "+----+-------+-------+-----+",
        ]
    );
    // A write through a subquery still checks the key.
    let err = engine
        .sql_blocking(
            &root(),
            "UPDATE shop.items SET id = 2 WHERE id IN (SELECT 5)",
        )
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateKey { .. }), "{err}");
    // A subquery that matches nothing changes nothing.
    let sql = "DELETE FROM shop.items WHERE id IN (SELECT item FROM shop.sold WHERE n > 100)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(0));
    assert_eq!(run(&engine, "SELECT * FROM shop.items").num_rows(), 4);
}

#[test]
fn a_where_with_repeated_subexpressions_deletes_what_it_selects() {
    // The optimizer's common-subexpression elimination would make the WHERE refer to a
    // projection the table never sees.
    let (_dir, engine) = setup();
    let sql = "DELETE FROM shop.items WHERE (qty > 8 AND (price <= 0.6 OR id > 6)) \
               OR (qty = 6 OR price > 1.1 AND id IN (7, 3, 0)) AND qty IS NULL \
               OR qty < 0 OR (price <= 0.6 OR id > 6)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(1));
    let sql = "UPDATE shop.items SET qty = qty + 1 \
               WHERE (qty + 1 > 5 AND price * 2 > 1) OR (qty + 1 > 5 AND price * 2 < 3)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(2));
    assert_eq!(
        table(&run(&engine, "SELECT id, qty FROM shop.items ORDER BY id")),
        [
            "+----+-----+",
            "| id | qty |",
            "+----+-----+",
            "| 2  | 0   |",
            "| 3  | 8   |",
            "| 4  | 3   |",
            "| 5  | 13  |",
            "+----+-----+",
        ]
    );
}

#[test]
fn output_columns_may_share_a_name() {
    // As in SQLite and PostgreSQL: two columns of one name, each with its own values.
    let (_dir, engine) = setup();
    let names = |sql: &str| -> Vec<String> {
        let result = run(&engine, sql);
        result
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(names("SELECT 1, 1"), ["Int64(1)", "Int64(1)"]);
    // Written apart, named alike: a negated number is a negative one, parentheses go.
    assert_eq!(
        names("SELECT -3, (- 3), ((2)), 2 FROM shop.items"),
        ["Int64(-3)", "Int64(-3)", "Int64(2)", "Int64(2)"]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT -qty, -qty, qty FROM shop.items WHERE id = 1"
        )),
        [
            "+--------------------+--------------------+-----+",
            "| (- shop.items.qty) | (- shop.items.qty) | qty |",
            "+--------------------+--------------------+-----+",
            "| -10                | -10                | 10  |",
            "+--------------------+--------------------+-----+",
        ]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT qty, -qty AS qty FROM shop.items WHERE id < 3 ORDER BY id"
        )),
        [
            "+-----+-----+",
            "| qty | qty |",
            "+-----+-----+",
            "| 10  | -10 |",
            "| 0   | 0   |",
            "+-----+-----+",
        ]
    );
    assert_eq!(
        names("SELECT count(*), count(*), max(id) AS m, min(id) AS m FROM shop.items"),
        ["count(*)", "count(*)", "m", "m"]
    );
    assert_eq!(
        names("SELECT *, id FROM shop.items"),
        ["id", "name", "price", "qty", "id"]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, id FROM shop.items WHERE id < 3 UNION ALL SELECT 7, 7 ORDER BY 1"
        )),
        [
            "+----+----+",
            "| id | id |",
            "+----+----+",
            "| 1  | 1  |",
            "| 2  | 2  |",
            "| 7  | 7  |",
            "+----+----+",
        ]
    );
    // An INSERT whose query repeats a column.
    run(
        &engine,
        "CREATE SHARED TABLE shop.pairs (a INT PRIMARY KEY, b INT);
         INSERT INTO shop.pairs SELECT id, id FROM shop.items WHERE id < 3",
    );
    assert_eq!(
        table(&run(&engine, "SELECT b FROM shop.pairs ORDER BY a")),
        ["+---+", "| b |", "+---+", "| 1 |", "| 2 |", "+---+"]
    );
    // Prepared, the same names.
    let prepared = engine
        .prepare_blocking(&root(), "SELECT qty, qty FROM shop.items WHERE id = $1")
        .unwrap();
    let result = engine
        .execute_blocking(&prepared, &[kalam_engine::Value::Int32(3)])
        .unwrap();
    assert_eq!(
        table(&result),
        [
            "+-----+-----+",
            "| qty | qty |",
            "+-----+-----+",
            "| 7   | 7   |",
            "+-----+-----+"
        ]
    );
}

#[test]
fn not_in_a_subquery_with_nulls_is_unknown() {
    // `v NOT IN (rows with a NULL and no v)` is NULL, never TRUE: no row passes it. With a
    // value on the left (no column of the outer row) DataFusion's anti join lost this.
    let (_dir, engine) = setup();
    let count = |sql: &str| {
        let result = run(&engine, sql);
        let batch = &result.batches()[0];
        datafusion::arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap()
    };
    // price has a NULL (kiwi); no price is 3.
    for (sql, expected) in [
        (
            "SELECT count(*) FROM shop.items WHERE 3 NOT IN (SELECT price FROM shop.items)",
            "0",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE 3 NOT IN (SELECT price FROM shop.items WHERE price IS NOT NULL)",
            "5",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE 0.5 NOT IN (SELECT price FROM shop.items)",
            "0",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE 3 NOT IN (SELECT price FROM shop.items WHERE id > 100)",
            "5",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE NULL NOT IN (SELECT price FROM shop.items WHERE id > 100)",
            "5",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE NOT (3 NOT IN (SELECT price FROM shop.items))",
            "0",
        ),
        (
            "SELECT count(*) FROM shop.items WHERE id NOT IN (SELECT qty FROM shop.items)",
            "4",
        ),
    ] {
        assert_eq!(count(sql), expected, "{sql}");
    }
    assert_eq!(
        table(&run(
            &engine,
            "SELECT 3 NOT IN (SELECT price FROM shop.items) AS a, \
                    2.0 NOT IN (SELECT price FROM shop.items) AS b, \
                    4 NOT IN (SELECT qty FROM shop.items) AS c"
        )),
        [
            "+---+-------+------+",
            "| a | b     | c    |",
            "+---+-------+------+",
            "|   | false | true |",
            "+---+-------+------+",
        ]
    );
    // DELETE leaves the rows such a WHERE does not select.
    let sql = "DELETE FROM shop.items WHERE 3 NOT IN (SELECT price FROM shop.items)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(0));
}

#[test]
fn forms_other_databases_answer() {
    let (_dir, engine) = setup();
    // A DELETE's table under an alias.
    let sql = "DELETE FROM shop.items AS i WHERE i.qty > 9 AND i.id IN (SELECT id FROM shop.items AS j WHERE j.price > 1)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(1));
    // A UNION of a branch that is empty and a DISTINCT one, naming columns apart.
    assert_eq!(
        table(&run(
            &engine,
            "SELECT qty AS a FROM shop.items WHERE false \
             UNION SELECT DISTINCT qty % 2 AS b FROM shop.items ORDER BY 1"
        )),
        ["+---+", "| a |", "+---+", "| 0 |", "| 1 |", "+---+"]
    );
    // Under DISTINCT, a CASE the planner knows is never NULL.
    assert_eq!(
        run(
            &engine,
            "SELECT DISTINCT CASE WHEN qty IS NOT NULL AND price IN (0.5) THEN price ELSE 0 END \
             FROM shop.items"
        )
        .num_rows(),
        2
    );
    // A later branch of a UNION with a literal beside a column of the first's names.
    assert_eq!(
        run(
            &engine,
            "SELECT id, qty FROM shop.items UNION SELECT 5, x.id FROM shop.items AS x"
        )
        .num_rows(),
        8
    );
}

#[test]
fn drop_index_removes_it_and_plans_made_before_stop_using_it() {
    let (_dir, engine) = setup();
    run(&engine, "CREATE INDEX by_qty ON shop.items (qty)");
    let explain = |sql: &str| run(&engine, &format!("EXPLAIN {sql}")).to_string();
    let by_qty = "SELECT name FROM shop.items WHERE qty = 7";
    assert!(
        explain(by_qty).contains("index by_qty"),
        "{}",
        explain(by_qty)
    );
    // Prepared while the index exists: a plan made once, a DELETE planned each run.
    let select = engine
        .prepare_blocking(&root(), "SELECT name FROM shop.items WHERE qty = $1")
        .unwrap();
    let delete = engine
        .prepare_blocking(&root(), "DELETE FROM shop.items WHERE qty = $1")
        .unwrap();

    run(&engine, "DROP INDEX shop.by_qty");
    assert!(!explain(by_qty).contains("by_qty"), "{}", explain(by_qty));
    assert_eq!(
        run(
            &engine,
            "SELECT count(*) AS n FROM system.indexes WHERE index_name = 'by_qty'"
        )
        .to_string()
        .lines()
        .nth(3),
        Some("| 0 |")
    );
    // Another index takes its number, on another column.
    run(&engine, "CREATE INDEX by_price ON shop.items (price)");
    let fig = engine
        .execute_blocking(&select, &[kalam_engine::Value::Int64(7)])
        .unwrap();
    assert_eq!(
        table(&fig),
        ["+------+", "| name |", "+------+", "| fig  |", "+------+"]
    );
    let deleted = engine
        .execute_blocking(&delete, &[kalam_engine::Value::Int64(7)])
        .unwrap();
    assert_eq!(deleted.rows_affected(), Some(1));
    assert_eq!(run(&engine, "SELECT * FROM shop.items").num_rows(), 4);

    // The forms of DROP INDEX, and its errors.
    run(&engine, "DROP INDEX IF EXISTS by_qty");
    let err = engine
        .sql_blocking(&root(), "DROP INDEX by_qty")
        .unwrap_err();
    assert!(matches!(err, Error::UnknownIndex(_)), "{err}");
    run(
        &engine,
        "CREATE SHARED TABLE shop.other (id INT PRIMARY KEY, price DOUBLE);
         CREATE INDEX by_price ON shop.other (price)",
    );
    let err = engine
        .sql_blocking(&root(), "DROP INDEX by_price")
        .unwrap_err();
    assert!(err.to_string().contains("name its table"), "{err}");
    run(&engine, "DROP INDEX by_price ON shop.other");
    run(&engine, "DROP INDEX by_price");
    assert!(!explain("SELECT id FROM shop.items WHERE price = 0.5").contains("index"));
    let alice = UserId::new("alice").unwrap();
    run(
        &engine,
        "CREATE USER alice; CREATE INDEX by_name ON shop.items (name)",
    );
    let err = engine
        .sql_blocking(&alice, "DROP INDEX by_name")
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
}

#[test]
fn lists_with_a_null_are_never_true_for_a_missing_value() {
    let (_dir, engine) = setup();
    // The simplifier intersected the lists as if the NULL were not there.
    let sql = "SELECT id FROM shop.items WHERE qty IN (10, 7, 3) AND qty NOT IN (NULL, 12)";
    assert_eq!(run(&engine, sql).num_rows(), 0);
    let sql = "SELECT id FROM shop.items WHERE qty IN (10, 7) AND qty IN (NULL, 7)";
    assert_eq!(
        table(&run(&engine, sql)),
        ["+----+", "| id |", "+----+", "| 3  |", "+----+"]
    );
    assert_eq!(
        table(&run(
            &engine,
            "SELECT qty NOT IN (NULL, 10) AS a, qty IN (NULL, 10) AS b, qty IN (NULL) AS c \
             FROM shop.items WHERE id < 3 ORDER BY id"
        )),
        [
            "+-------+------+---+",
            "| a     | b    | c |",
            "+-------+------+---+",
            "| false | true |   |",
            "|       |      |   |",
            "+-------+------+---+",
        ]
    );
}

#[test]
fn two_lists_on_one_column_are_combined_by_value_not_by_expression() {
    let (_dir, engine) = setup();
    let ids = |result: &QueryResult| table(result)[3..].join("\n");
    // Each query with the `id`s it selects (qty: 1:10, 2:0, 3:7, 4:3, 5:12). The text
    // forms run twice: the second run is on the kept plan, whose literals are parameters.
    let cases = [
        ("qty IN (10, 7) AND qty IN (10, 3)", "| 1  |"),
        ("(qty = 10 OR qty = 7) AND (qty = 10 OR qty = 0)", "| 1  |"),
        ("qty IN (10, 7) AND qty NOT IN (10, 3)", "| 3  |"),
        ("qty NOT IN (10, 7) AND qty IN (10, 3)", "| 4  |"),
        (
            "qty NOT IN (10, 7) OR qty NOT IN (10, 3)",
            "| 2  |\n| 3  |\n| 4  |\n| 5  |",
        ),
        (
            "name IN ('fig', 'kiwi') AND name IN ('fig', 'plum')",
            "| 3  |",
        ),
        // An expression of a column is no literal either: id 3 has qty 7 = id + 4.
        ("qty IN (id + 4, 100) AND qty IN (7, 0)", "| 3  |"),
    ];
    for (filter, expected) in cases {
        let sql = format!("SELECT id FROM shop.items WHERE {filter} ORDER BY id");
        for run_number in 1..=2 {
            let got = ids(&run(&engine, &sql));
            assert_eq!(
                got,
                format!("{expected}\n+----+"),
                "run {run_number}: {sql}"
            );
        }
    }
    // Prepared with parameters, and with the lists in a subquery and outside it, which the
    // optimizer merges into one filter.
    let prepared = engine
        .prepare_blocking(
            &root(),
            "SELECT id FROM shop.items WHERE qty IN ($1, $2) AND qty IN ($3, $4) ORDER BY id",
        )
        .unwrap();
    let params = [10, 7, 10, 3].map(kalam_engine::Value::Int64);
    let got = engine.execute_blocking(&prepared, &params).unwrap();
    assert_eq!(ids(&got), "| 1  |\n+----+");
    let prepared = engine
        .prepare_blocking(
            &root(),
            "SELECT id FROM (SELECT id, qty FROM shop.items WHERE qty NOT IN ($1, $2)) AS s \
             WHERE qty IN ($3, $4) ORDER BY id",
        )
        .unwrap();
    let got = engine.execute_blocking(&prepared, &params).unwrap();
    assert_eq!(ids(&got), "| 4  |\n+----+");
}

#[test]
fn correlated_subqueries_anywhere_are_answered_per_row() {
    let (_dir, engine) = setup();
    // A non-equality correlation, in the output.
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, (SELECT count(*) FROM shop.items AS x WHERE x.qty < items.qty) AS below \
             FROM shop.items ORDER BY id"
        )),
        [
            "+----+-------+",
            "| id | below |",
            "+----+-------+",
            "| 1  | 3     |",
            "| 2  | 0     |",
            "| 3  | 2     |",
            "| 4  | 1     |",
            "| 5  | 4     |",
            "+----+-------+",
        ]
    );
    // EXISTS in a CASE, and under OR with a non-equality correlation.
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, CASE WHEN EXISTS (SELECT 1 FROM shop.items x WHERE x.price > items.price) \
             THEN 'cheaper' ELSE 'top' END AS rank FROM shop.items WHERE price IS NOT NULL ORDER BY id"
        ))[3..8],
        [
            "| 1  | cheaper |",
            "| 2  | cheaper |",
            "| 3  | top     |",
            "| 5  | cheaper |",
            "+----+---------+",
        ]
    );
    let sql = "SELECT id FROM shop.items WHERE id = 4 \
               OR NOT EXISTS (SELECT 1 FROM shop.items x WHERE x.qty > items.qty) ORDER BY id";
    assert_eq!(
        table(&run(&engine, sql)),
        ["+----+", "| id |", "+----+", "| 4  |", "| 5  |", "+----+"]
    );
    // A correlated NOT IN, whose subquery has a NULL for some rows.
    let sql = "SELECT id FROM shop.items WHERE qty NOT IN \
               (SELECT x.qty * 0 + CASE WHEN x.price IS NULL THEN NULL ELSE x.qty END \
                FROM shop.items x WHERE x.id > items.id) ORDER BY id";
    // Rows 1 to 3 see kiwi's NULL after them; 4 sees only 12, 5 nothing.
    assert_eq!(
        table(&run(&engine, sql)),
        ["+----+", "| id |", "+----+", "| 4  |", "| 5  |", "+----+"]
    );
    // A scalar subquery of several rows is an error; of none, NULL.
    let err = engine
        .sql_blocking(
            &root(),
            "SELECT id, (SELECT max(x.id) FROM shop.items x WHERE x.id > items.id GROUP BY x.qty) \
             FROM shop.items",
        )
        .unwrap_err();
    assert!(err.to_string().contains("at most one"), "{err}");
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, (SELECT max(x.id) FROM shop.items x WHERE x.id > items.id) AS next \
             FROM shop.items WHERE id > 3 ORDER BY id"
        ))[3..5],
        ["| 4  | 5    |", "| 5  |      |"]
    );
    // In a write's WHERE and SET.
    let sql = "UPDATE shop.items SET qty = (SELECT count(*) FROM shop.items x WHERE x.id < items.id) \
               WHERE id > 3 OR EXISTS (SELECT 1 FROM shop.items x WHERE x.qty > items.qty * 2)";
    assert_eq!(run(&engine, sql).rows_affected(), Some(3));
    assert_eq!(
        table(&run(&engine, "SELECT id, qty FROM shop.items ORDER BY id")),
        [
            "+----+-----+",
            "| id | qty |",
            "+----+-----+",
            "| 1  | 10  |",
            "| 2  | 1   |",
            "| 3  | 7   |",
            "| 4  | 3   |",
            "| 5  | 4   |",
            "+----+-----+",
        ]
    );
}

#[test]
fn indexes_on_several_columns_read_value_prefixes_and_a_range_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let ids = |engine: &Engine, filter: &str| {
        let sql = format!("SELECT id FROM shop.items WHERE {filter} ORDER BY id");
        let result = run(engine, &sql);
        let ids: Vec<String> = table(&result)[3..]
            .iter()
            .filter(|line| line.starts_with("| "))
            .map(|line| line.trim_matches(['|', ' ']).to_owned())
            .collect();
        ids.join(",")
    };
    let explain = |engine: &Engine, filter: &str| {
        run(
            engine,
            &format!("EXPLAIN SELECT id, name FROM shop.items WHERE {filter}"),
        )
        .to_string()
    };
    {
        let engine = Engine::open(dir.path()).unwrap();
        run(
            &engine,
            "CREATE NAMESPACE shop;
             CREATE SHARED TABLE shop.items (id INT PRIMARY KEY, name TEXT, qty BIGINT);
             INSERT INTO shop.items VALUES (1, 'apple', 10), (2, 'pear', 10), (3, 'fig', 7),
                 (4, NULL, 10), (5, 'plum', NULL), (6, 'kiwi', 10), (7, 'fig', 10);
             CREATE INDEX by_qty_name ON shop.items (qty, name DESC)",
        );
        // Values of the first part, a range on the second (descending), NULLs kept out.
        let plan = explain(&engine, "qty = 10 AND name > 'fig'");
        assert!(
            plan.contains(
                "access=index by_qty_name range: qty IN (10) AND name > 'fig', covering, \
                 projection=[id, name]"
            ),
            "{plan}"
        );
        assert_eq!(ids(&engine, "qty = 10 AND name > 'fig'"), "2,6");
        assert_eq!(ids(&engine, "qty = 10 AND name <= 'kiwi'"), "1,6,7");
        assert_eq!(ids(&engine, "qty IN (7, 10) AND name = 'fig'"), "3,7");
        // The first part alone: every row of the value, whatever its second part.
        assert_eq!(ids(&engine, "qty = 10"), "1,2,4,6,7");
        let plan = explain(&engine, "qty = 10");
        assert!(
            plan.contains("access=index by_qty_name get: qty IN (10)"),
            "{plan}"
        );
        assert_eq!(ids(&engine, "qty > 7"), "1,2,4,6,7");
        assert_eq!(ids(&engine, "qty = 10 AND name IS NULL"), "4");
        // Writes keep the entries: moved, removed, added.
        run(
            &engine,
            "UPDATE shop.items SET name = 'zucchini' WHERE id = 1;
             DELETE FROM shop.items WHERE id = 6;
             INSERT INTO shop.items VALUES (8, 'lime', 10)",
        );
        assert_eq!(ids(&engine, "qty = 10 AND name > 'fig'"), "1,2,8");
    }
    // The index, its order and its directions, are as they were after a reopen.
    let engine = Engine::open(dir.path()).unwrap();
    let plan = explain(&engine, "qty = 10 AND name > 'fig'");
    assert!(plan.contains("access=index by_qty_name range"), "{plan}");
    assert_eq!(ids(&engine, "qty = 10 AND name > 'fig'"), "1,2,8");
    assert_eq!(
        table(&run(
            &engine,
            "SELECT position, column_name, descending, is_unique FROM system.indexes \
             ORDER BY position"
        )),
        [
            "+----------+-------------+------------+-----------+",
            "| position | column_name | descending | is_unique |",
            "+----------+-------------+------------+-----------+",
            "| 0        | qty         | false      | false     |",
            "| 1        | name        | true       | false     |",
            "+----------+-------------+------------+-----------+",
        ]
    );
}

#[test]
fn unique_indexes_refuse_duplicates_with_a_typed_error_and_write_nothing() {
    let (_dir, engine) = setup();
    let count = |sql: &str| run(&engine, sql).num_rows();
    let unique_violation = |sql: &str| {
        let err = engine.sql_blocking(&root(), sql).unwrap_err();
        assert!(
            matches!(err, Error::UniqueViolation { .. }),
            "{sql}: {err:?}"
        );
        err.to_string()
    };
    // Existing duplicates: no index.
    run(&engine, "INSERT INTO shop.items VALUES (6, 'fig', 3.0, 1)");
    let message = unique_violation("CREATE UNIQUE INDEX by_name ON shop.items (name)");
    assert_eq!(
        message,
        "duplicate values (name = 'fig') in unique index `by_name` of `shop.items`"
    );
    assert_eq!(count("SELECT * FROM system.indexes"), 0);
    run(&engine, "DELETE FROM shop.items WHERE id = 6");
    run(&engine, "CREATE UNIQUE INDEX by_name ON shop.items (name)");

    // A duplicate in storage or within the statement: nothing of the statement is written.
    unique_violation("INSERT INTO shop.items VALUES (6, 'lime', 1.0, 1), (7, 'fig', 1.0, 1)");
    unique_violation("INSERT INTO shop.items VALUES (6, 'lime', 1.0, 1), (7, 'lime', 1.0, 1)");
    assert_eq!(count("SELECT * FROM shop.items WHERE id > 5"), 0);
    let insert = engine
        .prepare_blocking(&root(), "INSERT INTO shop.items VALUES ($1, $2, 1.0, 1)")
        .unwrap();
    let err = engine
        .execute_blocking(&insert, &[6.into(), "pear".into()])
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    unique_violation("UPDATE shop.items SET name = 'fig' WHERE id = 1");
    unique_violation("UPDATE shop.items SET name = 'same' WHERE id IN (1, 2)");
    assert_eq!(
        count("SELECT * FROM shop.items WHERE name IN ('same', 'fig')"),
        1
    );

    // Checked as of the statement's end: values may move between its rows.
    run(
        &engine,
        "UPDATE shop.items SET name = CASE id WHEN 1 THEN 'pear' ELSE 'apple' END \
         WHERE id IN (1, 2)",
    );
    assert_eq!(
        count("SELECT * FROM shop.items WHERE id = 1 AND name = 'pear'"),
        1
    );
    // A value freed by a delete may be taken; NULLs are never duplicates.
    run(
        &engine,
        "CREATE UNIQUE INDEX by_price ON shop.items (price);
         DELETE FROM shop.items WHERE name = 'fig';
         INSERT INTO shop.items VALUES (3, 'fig', 2.0, 7), (6, 'lime', NULL, 1),
             (7, 'date', NULL, 1)",
    );
    assert_eq!(count("SELECT * FROM shop.items WHERE price IS NULL"), 3);
    unique_violation("INSERT INTO shop.items VALUES (8, 'sloe', 2.0, 1)");
    // Each user's rows of a USER table are their own: the same value for two users.
    run(
        &engine,
        "CREATE USER TABLE shop.notes (id INT PRIMARY KEY, title TEXT);
         CREATE UNIQUE INDEX ON shop.notes (title);
         CREATE USER alice; CREATE USER bob",
    );
    for user in ["alice", "bob"] {
        let user = UserId::new(user).unwrap();
        engine
            .sql_blocking(&user, "INSERT INTO shop.notes VALUES (1, 'todo')")
            .unwrap();
        let err = engine
            .sql_blocking(&user, "INSERT INTO shop.notes VALUES (2, 'todo')")
            .unwrap_err();
        assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    }
}

#[test]
fn index_options_the_engine_has_not_are_refused_by_name() {
    let (_dir, engine) = setup();
    for (sql, names) in [
        (
            "CREATE INDEX ON shop.items (qty) WHERE qty > 0",
            "partial index",
        ),
        (
            "CREATE INDEX ON shop.items (lower(name))",
            "expression `lower(name)`",
        ),
        (
            "CREATE INDEX ON shop.items (qty NULLS FIRST)",
            "NULLS FIRST",
        ),
        ("CREATE INDEX ON shop.items USING HASH (qty)", "BTREE"),
        ("CREATE INDEX ON shop.items (qty) INCLUDE (name)", "INCLUDE"),
    ] {
        let err = engine.sql_blocking(&root(), sql).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{sql}: {err:?}");
        assert!(err.to_string().contains(names), "{sql}: {err}");
    }
    let err = engine
        .sql_blocking(&root(), "CREATE INDEX ON shop.items (qty, nope)")
        .unwrap_err();
    assert!(matches!(err, Error::UnknownColumn { .. }), "{err:?}");
    assert_eq!(run(&engine, "SELECT * FROM system.indexes").num_rows(), 0);
}

#[test]
fn views_read_their_query_as_the_user_who_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let alice = UserId::new("alice").unwrap();
    let as_alice = |engine: &Engine, sql: &str| {
        engine
            .sql_blocking(&alice, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    {
        let engine = Engine::open(dir.path()).unwrap();
        run(
            &engine,
            "CREATE NAMESPACE app; CREATE USER alice;
             CREATE USER TABLE app.notes (id BIGINT PRIMARY KEY, body TEXT, stars INT);
             INSERT INTO app.notes VALUES (1, 'root''s', 5);
             CREATE VIEW app.starred (note, body) AS SELECT id, body FROM app.notes WHERE stars > 2;
             CREATE VIEW app.long_starred AS SELECT * FROM app.starred s WHERE length(s.body) > 3",
        );
        as_alice(
            &engine,
            "INSERT INTO app.notes VALUES (1, 'hi', 3), (2, 'hello', 4), (3, 'meh', 1)",
        );
        // Each user reads their own rows through the view; views within views too.
        assert_eq!(
            table(&as_alice(
                &engine,
                "SELECT * FROM app.starred ORDER BY note"
            )),
            [
                "+------+-------+",
                "| note | body  |",
                "+------+-------+",
                "| 1    | hi    |",
                "| 2    | hello |",
                "+------+-------+",
            ]
        );
        assert_eq!(run(&engine, "SELECT * FROM app.starred").num_rows(), 1);
        assert_eq!(
            table(&as_alice(
                &engine,
                "SELECT l.note FROM app.long_starred AS l"
            )),
            ["+------+", "| note |", "+------+", "| 2    |", "+------+"]
        );
        // Prepared, joined, and pushed into the view's scan.
        let get = engine
            .prepare_blocking(&alice, "SELECT body FROM app.starred WHERE note = $1")
            .unwrap();
        let hi = engine
            .execute_blocking(&get, &[kalam_engine::Value::Int64(1)])
            .unwrap();
        assert_eq!(
            table(&hi),
            ["+------+", "| body |", "+------+", "| hi   |", "+------+"]
        );
        let plan = as_alice(
            &engine,
            "EXPLAIN SELECT body FROM app.starred WHERE note = 2",
        )
        .to_string();
        assert!(
            plan.contains("access=primary key get of 1 key: id = 2"),
            "{plan}"
        );
        let joined = as_alice(
            &engine,
            "SELECT count(*) AS n FROM app.starred s JOIN app.notes n ON s.note = n.id",
        );
        assert_eq!(table(&joined)[3], "| 2 |");
    }
    // Kept across a reopen; written as the engine shows it.
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(
        table(&run(
            &engine,
            "SELECT view_name, definition FROM system.views WHERE view_name = 'starred'"
        ))[3],
        "| starred   | CREATE VIEW app.starred (note, body) AS SELECT id, body FROM app.notes WHERE stars > 2 |"
    );
    assert_eq!(
        as_alice(&engine, "SELECT * FROM app.long_starred").num_rows(),
        1
    );

    // Refusals: writes, a view that names itself, a name taken, a query that does not plan.
    let refused = |sql: &str| engine.sql_blocking(&root(), sql).unwrap_err();
    let err = refused("DELETE FROM app.starred WHERE note = 1");
    assert!(
        err.to_string().contains("writing to view `app.starred`"),
        "{err}"
    );
    let err = refused("UPDATE app.starred SET body = 'x'");
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    let err = refused("CREATE OR REPLACE VIEW app.starred AS SELECT * FROM app.long_starred");
    assert!(err.to_string().contains("names itself"), "{err}");
    let err = refused("CREATE VIEW app.notes AS SELECT 1");
    assert!(
        matches!(err, Error::AlreadyExists { kind: "table", .. }),
        "{err:?}"
    );
    let err = refused("CREATE SHARED TABLE app.starred (id INT PRIMARY KEY)");
    assert!(
        matches!(err, Error::AlreadyExists { kind: "view", .. }),
        "{err:?}"
    );
    let err = refused("CREATE VIEW app.bad AS SELECT nope FROM app.notes");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = engine
        .sql_blocking(&alice, "CREATE VIEW app.mine AS SELECT 1")
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");

    // Replaced, then dropped; a view over a dropped table says what is missing.
    run(
        &engine,
        "CREATE OR REPLACE VIEW app.starred (note, body) AS SELECT id, body FROM app.notes",
    );
    assert_eq!(as_alice(&engine, "SELECT * FROM app.starred").num_rows(), 3);
    run(
        &engine,
        "DROP VIEW app.long_starred; DROP VIEW IF EXISTS app.long_starred",
    );
    assert!(matches!(
        refused("SELECT * FROM app.long_starred"),
        Error::UnknownTable(_)
    ));
    run(&engine, "DROP TABLE app.notes");
    assert!(matches!(
        refused("SELECT * FROM app.starred"),
        Error::UnknownTable(_)
    ));
    let err = refused("DROP NAMESPACE app");
    assert!(
        err.to_string().contains("still holds view `app.starred`"),
        "{err}"
    );
    run(&engine, "DROP VIEW app.starred; DROP NAMESPACE app");
}

#[test]
fn explain_of_a_write_through_a_subquery_shows_the_query_for_its_rows() {
    let (_dir, engine) = setup();
    run(
        &engine,
        "CREATE SHARED TABLE shop.sold (item INT PRIMARY KEY); INSERT INTO shop.sold VALUES (2), (3)",
    );
    let plan = run(
        &engine,
        "EXPLAIN DELETE FROM shop.items WHERE id IN (SELECT item FROM shop.sold)",
    )
    .to_string();
    assert!(
        plan.contains("Projection: shop.items.id AS kalam.old.id"),
        "{plan}"
    );
    assert!(plan.contains("KalamScanExec: table=shop.sold"), "{plan}");
    assert!(!plan.contains("KalamDeleteExec"), "{plan}");
    let plan = run(
        &engine,
        "EXPLAIN UPDATE shop.items SET qty = (SELECT count(*) FROM shop.sold) WHERE id = 1",
    )
    .to_string();
    assert!(plan.contains("AS kalam.new.qty"), "{plan}");
    assert!(
        plan.contains("access=primary key get of 1 key: id = 1"),
        "{plan}"
    );
    // Explaining wrote nothing; a direct write is still shown as its own operator.
    assert_eq!(run(&engine, "SELECT * FROM shop.items").num_rows(), 5);
    assert_eq!(
        table(&run(&engine, "SELECT qty FROM shop.items WHERE id = 1"))[3],
        "| 10  |"
    );
    let plan = run(&engine, "EXPLAIN DELETE FROM shop.items WHERE id = 1").to_string();
    assert!(plan.contains("KalamDeleteExec"), "{plan}");
}

#[test]
fn defaults_fill_the_columns_an_insert_leaves_out_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let create = "CREATE NAMESPACE bench;
         CREATE TABLE bench.sbtest1 (id INTEGER NOT NULL, k INTEGER DEFAULT '0' NOT NULL,
           c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT ' x ' NOT NULL,
           score DOUBLE DEFAULT -1.5, ok BOOLEAN DEFAULT true, n BIGINT, PRIMARY KEY (id))";
    {
        let engine = Engine::open(dir.path()).unwrap();
        run(&engine, create);
        // Through DataFusion (several rows) and through the one-row fast path.
        run(&engine, "INSERT INTO bench.sbtest1 (id) VALUES (1), (2)");
        let fast = engine
            .prepare_blocking(&root(), "INSERT INTO bench.sbtest1 (id, n) VALUES ($1, $2)")
            .unwrap();
        assert!(fast.is_fast_path());
        engine
            .execute_blocking(&fast, &[3i64.into(), 30i64.into()])
            .unwrap();
        run(
            &engine,
            "INSERT INTO bench.sbtest1 VALUES (4, 7, 'c', 'p', 2.0, false, 40)",
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    run(&engine, "INSERT INTO bench.sbtest1 (id) VALUES (5)");
    assert_eq!(
        table(&run(
            &engine,
            "SELECT id, k, c, pad, score, ok, n FROM bench.sbtest1 ORDER BY id"
        )),
        [
            "+----+---+---+-----+-------+-------+----+",
            "| id | k | c | pad | score | ok    | n  |",
            "+----+---+---+-----+-------+-------+----+",
            "| 1  | 0 |   |  x  | -1.5  | true  |    |",
            "| 2  | 0 |   |  x  | -1.5  | true  |    |",
            "| 3  | 0 |   |  x  | -1.5  | true  | 30 |",
            "| 4  | 7 | c | p   | 2.0   | false | 40 |",
            "| 5  | 0 |   |  x  | -1.5  | true  |    |",
            "+----+---+---+-----+-------+-------+----+",
        ]
    );
    let shown = run(
        &engine,
        "SELECT column_name, default_value FROM system.columns \
         WHERE table_name = 'sbtest1' AND default_value IS NOT NULL ORDER BY ordinal",
    );
    assert_eq!(shown.num_rows(), 5, "{shown}");
    for (bad, what) in [
        (
            "CREATE TABLE bench.t (id INT PRIMARY KEY, k INT DEFAULT 'x')",
            "DEFAULT 'x'",
        ),
        (
            "CREATE TABLE bench.t (id INT PRIMARY KEY, k INT DEFAULT 1 + 1)",
            "DEFAULT 1 + 1",
        ),
        (
            "CREATE TABLE bench.t (id INT PRIMARY KEY, at TIMESTAMP DEFAULT now())",
            "now()",
        ),
    ] {
        let err = engine.sql_blocking(&root(), bad).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{bad}: {err}");
        assert!(err.to_string().contains(what), "{err}");
    }
}

#[test]
fn passwords_and_locks_are_kept_as_verifiers_and_only_admins_change_others() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        run(
            &engine,
            "CREATE USER bob WITH PASSWORD 'pw' ROLE dba; CREATE USER eve NOLOGIN; \
             ALTER USER root WITH PASSWORD 'root-pw'",
        );
        assert!(engine.has_password(&UserId::new("bob").unwrap()));
        assert!(!engine.has_password(&UserId::new("eve").unwrap()));
        let eve = UserId::new("eve").unwrap();
        // A user sets their own password, and nothing else of anyone's.
        engine
            .sql_blocking(&eve, "ALTER USER eve WITH PASSWORD 'mine'")
            .unwrap();
        for bad in [
            "ALTER USER eve LOGIN",
            "ALTER USER bob WITH PASSWORD 'x'",
            "ALTER USER eve ROLE dba",
            "CREATE USER mallory",
        ] {
            assert!(
                matches!(
                    engine.sql_blocking(&eve, bad),
                    Err(Error::PermissionDenied { .. })
                ),
                "{bad}"
            );
        }
        for (bad, state) in [
            ("ALTER USER nobody WITH PASSWORD 'x'", "42704"),
            ("ALTER USER root ROLE user", "42501"),
            ("ALTER USER root NOLOGIN", "42501"),
            ("CREATE USER carl PASSWORD ''", "42601"),
        ] {
            let err = engine.sql_blocking(&root(), bad).unwrap_err();
            assert_eq!(err.sqlstate(), state, "{bad}: {err}");
        }
    }
    // Reopened: the verifiers and the lock are stored; the passwords themselves nowhere.
    let every_statement = kalam_engine::EngineOptions {
        slow_query_threshold: std::time::Duration::ZERO,
        ..kalam_engine::EngineOptions::default()
    };
    let engine = Engine::open_with(dir.path(), &every_statement).unwrap();
    assert!(engine.has_password(&root()));
    assert!(engine.has_password(&UserId::new("eve").unwrap()));
    assert_eq!(
        table(&run(
            &engine,
            "SELECT user_id, role, password, locked FROM system.users ORDER BY user_id"
        )),
        [
            "+---------+--------+----------+--------+",
            "| user_id | role   | password | locked |",
            "+---------+--------+----------+--------+",
            "| bob     | dba    | ******** |        |",
            "| eve     | user   | ******** | true   |",
            "| root    | system | ******** |        |",
            "+---------+--------+----------+--------+",
        ]
    );
    // What the logs keep of those statements has no password in it.
    run(&engine, "SET GATE slow_query_log = on");
    run(&engine, "ALTER USER bob WITH PASSWORD 'hunter2'");
    let logged: Vec<String> = engine.slow_queries().into_iter().map(|q| q.sql).collect();
    assert!(
        logged
            .iter()
            .any(|sql| sql == "ALTER USER bob PASSWORD '********'"),
        "{logged:?}"
    );
    assert!(
        !logged.iter().any(|sql| sql.contains("hunter2")),
        "{logged:?}"
    );
}
