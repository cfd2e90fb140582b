//! No statement aborts the process: deep and long expressions, huge IN lists, wide rows
//! and many statements in one text are answered, or refused with a typed error. Each runs
//! on a thread with 2 MiB of stack, as a tokio worker has.

use kalam_engine::{Engine, Error, UserId};

fn root() -> UserId {
    UserId::new("root").unwrap()
}

/// Runs `f` on a thread with a tokio worker's stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .sql_blocking(
            &root(),
            "CREATE NAMESPACE ns; CREATE TABLE ns.t (id BIGINT PRIMARY KEY, v BIGINT);
             INSERT INTO ns.t VALUES (1, 10), (2, 20), (3, 30)",
        )
        .unwrap();
    (dir, engine)
}

fn single_value(engine: &Engine, sql: &str) -> Result<String, Error> {
    let result = engine.sql_blocking(&root(), sql)?;
    let batch = &result.batches()[0];
    Ok(datafusion::arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap())
}

#[test]
fn long_chains_are_answered_up_to_the_limit_and_refused_beyond() {
    on_small_stack(|| {
        let (_dir, engine) = engine();
        // Up to the limit, answered: a sum, an OR of equalities, a chain of ANDs, in a
        // SELECT, a WHERE, an UPDATE and a prepared statement.
        let sum = format!("SELECT {} AS s", vec!["1"; 2_000].join(" + "));
        assert_eq!(single_value(&engine, &sum).unwrap(), "2000");
        let ors: Vec<String> = (0..990).map(|i| format!("id = {i}")).collect();
        let sql = format!("SELECT count(*) FROM ns.t WHERE {}", ors.join(" OR "));
        assert_eq!(single_value(&engine, &sql).unwrap(), "3");
        let ands = vec!["v > 0"; 990].join(" AND ");
        let sql = format!("UPDATE ns.t SET v = v + 1 WHERE {ands}");
        assert_eq!(
            engine.sql_blocking(&root(), &sql).unwrap().rows_affected(),
            Some(3)
        );
        let prepared = engine
            .prepare_blocking(
                &root(),
                &format!("SELECT v FROM ns.t WHERE id = $1 AND {ands}"),
            )
            .unwrap();
        assert_eq!(
            engine
                .execute_blocking(&prepared, &[kalam_engine::Value::Int64(2)])
                .unwrap()
                .num_rows(),
            1
        );
        // Well past it, refused with a typed error, at every size.
        for terms in [2_002, 10_000, 200_000] {
            let sum = format!("SELECT {}", vec!["1"; terms].join(" + "));
            let ors = format!(
                "SELECT 1 FROM ns.t WHERE {}",
                vec!["id = 1"; terms].join(" OR ")
            );
            let casts = format!("SELECT 1{}", "::BIGINT".repeat(terms));
            for sql in [sum, ors, casts] {
                let err = engine.sql_blocking(&root(), &sql).unwrap_err();
                assert!(matches!(err, Error::TooComplex(_)), "{err}");
                assert!(err.to_string().contains("2000 levels deep"), "{err}");
                let err = engine.prepare_blocking(&root(), &sql).unwrap_err();
                assert!(matches!(err, Error::TooComplex(_)), "{err}");
            }
        }
        // Nesting is refused, by the parser's recursion limit or the engine's, at any depth.
        for depth in [100, 10_000, 100_000] {
            let nested = format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
            let err = engine.sql_blocking(&root(), &nested).unwrap_err();
            assert!(
                matches!(err, Error::Parse { .. } | Error::TooComplex(_)),
                "{err}"
            );
            let negated = format!("SELECT {}1", "-".repeat(depth));
            assert!(engine.sql_blocking(&root(), &negated).is_err());
        }
        // The engine still answers.
        assert_eq!(
            single_value(&engine, "SELECT sum(v) FROM ns.t").unwrap(),
            "63"
        );
    });
}

#[test]
fn huge_lists_wide_rows_and_many_statements_are_answered() {
    on_small_stack(|| {
        let (_dir, engine) = engine();
        // An IN list of 100,000 values, in a SELECT and a DELETE.
        let list: Vec<String> = (0..100_000).map(|i| (i * 2 + 1).to_string()).collect();
        let sql = format!(
            "SELECT count(*) FROM ns.t WHERE id IN ({})",
            list.join(", ")
        );
        assert_eq!(single_value(&engine, &sql).unwrap(), "2");
        let sql = format!("SELECT count(*) FROM ns.t WHERE v IN ({})", list.join(", "));
        assert_eq!(single_value(&engine, &sql).unwrap(), "0");
        // A table of 1,000 columns, and a row of each.
        let columns: Vec<String> = (0..1_000).map(|i| format!("c{i} BIGINT")).collect();
        engine
            .sql_blocking(
                &root(),
                &format!(
                    "CREATE TABLE ns.wide (id BIGINT PRIMARY KEY, {})",
                    columns.join(", ")
                ),
            )
            .unwrap();
        let values: Vec<String> = (0..1_000).map(|i| i.to_string()).collect();
        engine
            .sql_blocking(
                &root(),
                &format!("INSERT INTO ns.wide VALUES (1, {})", values.join(", ")),
            )
            .unwrap();
        assert_eq!(
            single_value(&engine, "SELECT c999 - c1 FROM ns.wide WHERE id = 1").unwrap(),
            "998"
        );
        // A text value of 4 MiB.
        let big = "x".repeat(4 << 20);
        engine
            .sql_blocking(
                &root(),
                "CREATE TABLE ns.texts (id BIGINT PRIMARY KEY, body TEXT)",
            )
            .unwrap();
        engine
            .sql_blocking(
                &root(),
                &format!("INSERT INTO ns.texts VALUES (1, '{big}')"),
            )
            .unwrap();
        assert_eq!(
            single_value(&engine, "SELECT length(body) FROM ns.texts").unwrap(),
            (4 << 20).to_string()
        );
        // 2,000 statements on one line of text, each run.
        let many = "UPDATE ns.t SET v = v + 1 WHERE id = 1; ".repeat(2_000);
        engine.sql_blocking(&root(), &many).unwrap();
        assert_eq!(
            single_value(&engine, "SELECT v FROM ns.t WHERE id = 1").unwrap(),
            "2010"
        );
    });
}
