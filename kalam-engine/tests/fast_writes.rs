//! Writes of the fast-path shapes (INSERT of values, UPDATE and DELETE by primary key),
//! prepared or sent as text with literals, do exactly what DataFusion's general path does:
//! the same random statements run on two engines, fast paths on and off, with the same
//! outcome for each statement, the same rows, the same index entries and the same audit
//! log afterwards.

use kalam_engine::{Engine, EngineOptions, Error, Prepared, UserId, Value};
use proptest::prelude::*;

const SETUP: &str = "CREATE NAMESPACE app;
    CREATE USER alice;
    CREATE SHARED TABLE app.items (id BIGINT PRIMARY KEY, k INT NOT NULL, name TEXT DEFAULT 'unnamed', price DOUBLE);
    CREATE INDEX ON app.items (k);
    CREATE USER TABLE app.notes (topic TEXT, n BIGINT, body TEXT NOT NULL, PRIMARY KEY (topic, n));
    SET GATE audit_log = on";

/// `(sql, fast path expected)`; sent as text, each `$n` is written as its literal.
const STATEMENTS: [(&str, bool); 11] = [
    (
        "INSERT INTO app.items (id, k, name, price) VALUES ($1, $2, $3, $4)",
        true,
    ),
    ("INSERT INTO app.items VALUES ($1, $2, $3, $4)", true),
    (
        "UPDATE app.items SET k = k + 3, name = $1 WHERE id = $2",
        true,
    ),
    ("UPDATE app.items SET price = $1 WHERE id = $2", true),
    ("DELETE FROM app.items WHERE id = $1", true),
    (
        "INSERT INTO app.notes (n, topic, body) VALUES ($1, $2, $3)",
        true,
    ),
    (
        "UPDATE app.notes SET body = $1 WHERE topic = $2 AND n = $3",
        true,
    ),
    ("DELETE FROM app.notes WHERE n = $1 AND topic = $2", true),
    // Not a fast-path shape: a range. Runs through DataFusion on both.
    ("UPDATE app.items SET k = k - 1 WHERE id > $1", false),
    (
        "INSERT INTO app.items VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
        true,
    ),
    // Columns out of the table's order, one left out for its DEFAULT.
    (
        "INSERT INTO app.items (price, id, k) VALUES ($1, $2, $3), ($4, $5, $6)",
        true,
    ),
];

struct Twin {
    _dir: tempfile::TempDir,
    engine: Engine,
    prepared: Vec<(Prepared, Prepared)>,
}

fn open(fast_paths: bool) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        fast_paths,
        text_plans: fast_paths,
        ..EngineOptions::default()
    };
    let engine = Engine::open_with(dir.path(), &options).unwrap();
    engine.sql_blocking(&root(), SETUP).unwrap();
    (dir, engine)
}

fn root() -> UserId {
    UserId::new("root").unwrap()
}

fn alice() -> UserId {
    UserId::new("alice").unwrap()
}

impl Twin {
    fn new(fast_paths: bool) -> Self {
        let (dir, engine) = open(fast_paths);
        let prepared = STATEMENTS
            .iter()
            .map(|(sql, fast)| {
                let as_root = engine.prepare_blocking(&root(), sql).unwrap();
                let as_alice = engine.prepare_blocking(&alice(), sql).unwrap();
                assert_eq!(as_root.is_fast_path(), *fast && fast_paths, "{sql}");
                (as_root, as_alice)
            })
            .collect();
        Twin {
            _dir: dir,
            engine,
            prepared,
        }
    }

    fn run(&self, statement: usize, as_alice: bool, params: &[Value]) -> Result<String, String> {
        let (root, alice) = &self.prepared[statement];
        let prepared = if as_alice { alice } else { root };
        self.engine
            .execute_blocking(prepared, params)
            .map(|r| format!("{:?}", r.rows_affected()))
            .map_err(|e| kind(&e))
    }

    /// The statement as text, its parameters written as literals.
    fn run_text(
        &self,
        statement: usize,
        as_alice: bool,
        params: &[Value],
    ) -> Result<String, String> {
        let user = if as_alice { alice() } else { root() };
        self.engine
            .sql_blocking(&user, &literal_form(STATEMENTS[statement].0, params))
            .map(|r| format!("{:?}", r.rows_affected()))
            .map_err(|e| kind(&e))
    }

    fn contents(&self) -> Vec<String> {
        let queries = [
            (root(), "SELECT * FROM app.items ORDER BY id"),
            // Through the index on k: its entries must agree with the rows.
            (
                root(),
                "SELECT id, k FROM app.items WHERE k BETWEEN -100 AND 100 ORDER BY id",
            ),
            (
                root(),
                "SELECT id FROM app.items WHERE k IN (0, 1, 2, 3, 4, 5, 6) ORDER BY id",
            ),
            (root(), "SELECT * FROM app.notes ORDER BY topic, n"),
            (alice(), "SELECT * FROM app.notes ORDER BY topic, n"),
            (
                root(),
                // DML only: the gate belongs to the process, so whether the other engine's
                // DDL ran with it on depends on timing.
                "SELECT user_id, action, target, rows FROM system.audit_log \
                 WHERE action IN ('INSERT', 'UPDATE', 'DELETE') ORDER BY entry_id",
            ),
        ];
        queries
            .iter()
            .map(|(user, sql)| self.engine.sql_blocking(user, sql).unwrap().to_string())
            .collect()
    }
}

/// `sql` with each `$n` replaced by the SQL literal of `params[n - 1]`.
fn literal_form(sql: &str, params: &[Value]) -> String {
    // The highest first, so that `$1` does not match the start of `$10`.
    (0..params.len()).rev().fold(sql.to_owned(), |sql, i| {
        sql.replace(&format!("${}", i + 1), &params[i].to_string())
    })
}

/// The kind of an error: the variant, without its message.
fn kind(error: &Error) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A statement and its parameters: small key spaces so that duplicates, misses and
/// NULLs all happen.
fn step() -> impl Strategy<Value = (usize, bool, Vec<Value>)> {
    let id = prop_oneof![8 => (0..12i64).prop_map(Value::Int64), 1 => Just(Value::Null)];
    let k = prop_oneof![
        6 => (-3..8i32).prop_map(Value::Int32),
        1 => Just(Value::Null),
        1 => Just(Value::Int64(1 << 40)),
    ];
    let text = prop_oneof![
        4 => "[a-c]{1,3}".prop_map(Value::Text),
        1 => Just(Value::Null),
    ];
    let price = prop_oneof![
        (0..100i32).prop_map(|p| Value::Float64(f64::from(p) / 4.0)),
        Just(Value::Null)
    ];
    (0..STATEMENTS.len(), any::<bool>()).prop_flat_map(move |(statement, as_alice)| {
        let params = match statement {
            0 | 1 => (id.clone(), k.clone(), text.clone(), price.clone())
                .prop_map(|(a, b, c, d)| vec![a, b, c, d])
                .boxed(),
            2 => (text.clone(), id.clone())
                .prop_map(|(a, b)| vec![a, b])
                .boxed(),
            3 => (price.clone(), id.clone())
                .prop_map(|(a, b)| vec![a, b])
                .boxed(),
            4 | 8 => id.clone().prop_map(|a| vec![a]).boxed(),
            9 => (
                (id.clone(), k.clone(), text.clone(), price.clone()),
                (id.clone(), k.clone(), text.clone(), price.clone()),
            )
                .prop_map(|((a, b, c, d), (e, f, g, h))| vec![a, b, c, d, e, f, g, h])
                .boxed(),
            10 => (
                (price.clone(), id.clone(), k.clone()),
                (price.clone(), id.clone(), k.clone()),
            )
                .prop_map(|((a, b, c), (d, e, f))| vec![a, b, c, d, e, f])
                .boxed(),
            5 => (id.clone(), text.clone(), text.clone())
                .prop_map(|(a, b, c)| vec![a, b, c])
                .boxed(),
            6 => (text.clone(), text.clone(), id.clone())
                .prop_map(|(a, b, c)| vec![a, b, c])
                .boxed(),
            _ => (id.clone(), text.clone())
                .prop_map(|(a, b)| vec![a, b])
                .boxed(),
        };
        params.prop_map(move |params| (statement, as_alice, params))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fast_writes_do_what_the_general_path_does(
        steps in prop::collection::vec((step(), any::<bool>()), 1..40),
    ) {
        let fast = Twin::new(true);
        let general = Twin::new(false);
        for ((statement, as_alice, params), as_text) in &steps {
            let (a, b) = if *as_text {
                (
                    fast.run_text(*statement, *as_alice, params),
                    general.run_text(*statement, *as_alice, params),
                )
            } else {
                (
                    fast.run(*statement, *as_alice, params),
                    general.run(*statement, *as_alice, params),
                )
            };
            prop_assert_eq!(&a, &b, "{} with {:?} (text: {})", STATEMENTS[*statement].0, params, as_text);
        }
        prop_assert_eq!(fast.contents(), general.contents());
    }
}

#[test]
fn fast_writes_keep_the_rules() {
    let twin = Twin::new(true);
    let insert = |params: &[Value]| twin.run(0, false, params);
    let row = |id: i64, k: i32| {
        vec![
            Value::Int64(id),
            Value::Int32(k),
            Value::from("n"),
            Value::Null,
        ]
    };
    assert_eq!(insert(&row(1, 1)), Ok("Some(1)".into()));
    assert_eq!(insert(&row(1, 2)), Err("DuplicateKey".into()));
    assert_eq!(
        insert(&[Value::Int64(2), Value::Null, Value::Null, Value::Null]),
        Err("NullViolation".into())
    );
    assert_eq!(
        insert(&[
            Value::from("two"),
            Value::Int32(1),
            Value::Null,
            Value::Null
        ]),
        Err("Parameters".into())
    );
    // Nothing half-written: one row, one index entry.
    let contents = twin.contents();
    assert!(contents[0].contains("| 1  | 1 | n    |"), "{}", contents[0]);
    assert_eq!(contents[0].lines().count(), 5, "{}", contents[0]);
    // k = k + 3 moves the index entry.
    assert_eq!(
        twin.run(2, false, &[Value::from("m"), Value::Int64(1)]),
        Ok("Some(1)".into())
    );
    let by_k = |k: i32| {
        twin.engine
            .sql_blocking(&root(), &format!("SELECT id FROM app.items WHERE k = {k}"))
            .unwrap()
            .num_rows()
    };
    assert_eq!((by_k(1), by_k(4)), (0, 1));
    // A miss changes nothing; a NULL key matches nothing.
    assert_eq!(twin.run(4, false, &[Value::Int64(9)]), Ok("Some(0)".into()));
    assert_eq!(twin.run(4, false, &[Value::Null]), Ok("Some(0)".into()));
    assert_eq!(twin.run(4, false, &[Value::Int64(1)]), Ok("Some(1)".into()));
    assert_eq!(by_k(4), 0);
}
