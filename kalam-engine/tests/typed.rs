//! Typed tables: `#[derive(KalamTable)]` structs declared to the engine, written and read
//! as structs and through SQL, scoped per user, indexed, evolved across row versions, and
//! refused with a typed error when the stored table is not the one the type declares.

use kalam::KalamTable;
use kalam_engine::{Engine, Error, TableType, UserId};

#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "sbtest", namespace = "bench")]
struct SbTest {
    #[column(primary_key)]
    id: i64,
    k: i64,
    c: String,
    pad: Option<String>,
}

fn row(id: i64, k: i64) -> SbTest {
    SbTest {
        id,
        k,
        c: format!("c{id}"),
        pad: (id % 2 == 0).then(|| format!("p{id}")),
    }
}

fn root() -> UserId {
    UserId::new("root").unwrap()
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    Engine::open(dir.path()).unwrap()
}

/// An engine in `dir` with the SHARED table of [`SbTest`].
fn with_sbtest(dir: &tempfile::TempDir) -> Engine {
    let engine = engine(dir);
    engine
        .sql_blocking(&root(), "CREATE NAMESPACE bench")
        .unwrap();
    engine
        .create_typed::<SbTest>(&root(), TableType::Shared)
        .unwrap();
    engine
}

fn text(engine: &Engine, user: &UserId, sql: &str) -> String {
    engine.sql_blocking(user, sql).unwrap().to_string()
}

/// The single value of a one-row, one-column result, as the table shows it.
fn scalar(engine: &Engine, user: &UserId, sql: &str) -> String {
    let result = engine.sql_blocking(user, sql).unwrap();
    assert_eq!(result.num_rows(), 1, "{sql}: {result}");
    let shown = result.to_string();
    shown
        .lines()
        .nth(3)
        .unwrap()
        .trim_matches(|c| c == '|' || c == ' ')
        .to_owned()
}

#[test]
fn typed_and_sql_access_see_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, root) = (with_sbtest(&dir), root());
    let rows: Vec<SbTest> = (1..=20).map(|id| row(id, id % 5)).collect();
    assert_eq!(engine.insert(&root, &rows).unwrap(), 20);

    // Typed reads.
    assert_eq!(
        engine.get::<SbTest>(&root, &SbTest::key_for(&7)).unwrap(),
        Some(row(7, 2))
    );
    assert_eq!(
        engine.get::<SbTest>(&root, &SbTest::key_for(&99)).unwrap(),
        None
    );
    let range: Vec<i64> = engine
        .scan::<SbTest>(&root, SbTest::key_for(&5)..SbTest::key_for(&9))
        .unwrap()
        .map(|r| r.unwrap().id)
        .collect();
    assert_eq!(range, [5, 6, 7, 8]);
    assert_eq!(engine.scan::<SbTest>(&root, ..).unwrap().count(), 20);

    // SQL reads the same rows, through the generated decoder.
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT c, pad FROM bench.sbtest WHERE id IN (3, 4)"
        ),
        "+----+-----+\n| c  | pad |\n+----+-----+\n| c3 |     |\n| c4 | p4  |\n+----+-----+"
    );
    assert_eq!(
        scalar(
            &engine,
            &root,
            "SELECT sum(k) FROM bench.sbtest WHERE id BETWEEN 1 AND 10"
        ),
        (1..=10).map(|id| id % 5).sum::<i64>().to_string()
    );

    // SQL writes, read back typed.
    engine
        .sql_blocking(
            &root,
            "INSERT INTO bench.sbtest VALUES (21, 1, 'sql', NULL);
             UPDATE bench.sbtest SET c = 'changed', pad = 'x' WHERE id = 3;
             DELETE FROM bench.sbtest WHERE id = 4",
        )
        .unwrap();
    assert_eq!(
        engine.get::<SbTest>(&root, &SbTest::key_for(&21)).unwrap(),
        Some(SbTest {
            id: 21,
            k: 1,
            c: "sql".into(),
            pad: None
        })
    );
    let three = engine
        .get::<SbTest>(&root, &SbTest::key_for(&3))
        .unwrap()
        .unwrap();
    assert_eq!(
        (three.c.as_str(), three.pad.as_deref()),
        ("changed", Some("x"))
    );
    assert_eq!(
        engine.get::<SbTest>(&root, &SbTest::key_for(&4)).unwrap(),
        None
    );

    // A NOT NULL column of the type refuses NULL from SQL, with the column's name.
    let err = engine
        .sql_blocking(&root, "INSERT INTO bench.sbtest VALUES (30, 1, NULL, NULL)")
        .unwrap_err();
    assert!(
        matches!(err, Error::NullViolation { ref column, .. } if column == "c"),
        "{err}"
    );

    // Duplicate keys from the typed API: nothing of the batch is written.
    let err = engine.insert(&root, &[row(40, 1), row(5, 1)]).unwrap_err();
    assert!(matches!(err, Error::DuplicateKey { .. }), "{err}");
    assert_eq!(
        engine.get::<SbTest>(&root, &SbTest::key_for(&40)).unwrap(),
        None
    );

    // The catalog: its Rust type, its row version, its columns.
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT table_type, row_version, rust_type LIKE '%SbTest' AS typed FROM system.tables \
             WHERE table_name = 'sbtest'"
        ),
        "+------------+-------------+-------+\n| table_type | row_version | typed |\n\
         +------------+-------------+-------+\n| SHARED     | 1           | true  |\n\
         +------------+-------------+-------+"
    );
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT column_name, data_type, nullable FROM system.columns \
             WHERE table_name = 'sbtest' ORDER BY ordinal"
        ),
        "+-------------+-----------+----------+\n| column_name | data_type | nullable |\n\
         +-------------+-----------+----------+\n| id          | BIGINT    | false    |\n\
         | k           | BIGINT    | false    |\n| c           | TEXT      | false    |\n\
         | pad         | TEXT      | true     |\n+-------------+-----------+----------+"
    );
}

#[test]
fn indexes_serve_typed_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, root) = (with_sbtest(&dir), root());
    engine.insert(&root, &[row(1, 7), row(2, 8)]).unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE INDEX k_idx ON bench.sbtest (k); CREATE UNIQUE INDEX c_idx ON bench.sbtest (c)",
        )
        .unwrap();
    // Rows written after the index, typed, have entries too.
    engine.insert(&root, &[row(3, 7), row(4, 9)]).unwrap();
    let plan = text(
        &engine,
        &root,
        "EXPLAIN SELECT id FROM bench.sbtest WHERE k = 7",
    );
    assert!(plan.contains("k_idx"), "{plan}");
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT id FROM bench.sbtest WHERE k = 7 ORDER BY id"
        ),
        "+----+\n| id |\n+----+\n| 1  |\n| 3  |\n+----+"
    );
    // The unique index holds against typed writes.
    let mut clash = row(5, 1);
    clash.c = "c1".into();
    let err = engine.insert(&root, &[clash]).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    // And it survives reopening, with the type attached again.
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .create_typed::<SbTest>(&root, TableType::Shared)
        .unwrap();
    engine.insert(&root, &[row(6, 7)]).unwrap();
    assert_eq!(
        scalar(
            &engine,
            &root,
            "SELECT count(*) FROM bench.sbtest WHERE k = 7"
        ),
        "3"
    );
}

#[derive(KalamTable, Clone, Debug, PartialEq)]
#[table(name = "notes", namespace = "app")]
struct Note {
    #[column(primary_key)]
    id: i64,
    body: String,
}

#[test]
fn user_tables_stay_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let root = root();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE app; CREATE USER alice; CREATE USER bob",
        )
        .unwrap();
    engine.create_typed::<Note>(&root, TableType::User).unwrap();
    let (alice, bob) = (UserId::new("alice").unwrap(), UserId::new("bob").unwrap());
    let note = |id, body: &str| Note {
        id,
        body: body.into(),
    };
    engine
        .insert(&alice, &[note(1, "a1"), note(2, "a2")])
        .unwrap();
    // The same key in another user's rows is another row.
    engine.insert(&bob, &[note(1, "b1")]).unwrap();
    assert_eq!(
        engine.get::<Note>(&bob, &Note::key_for(&1)).unwrap(),
        Some(note(1, "b1"))
    );
    assert_eq!(engine.get::<Note>(&bob, &Note::key_for(&2)).unwrap(), None);
    let bodies = |user: &UserId| -> Vec<String> {
        engine
            .scan::<Note>(user, ..)
            .unwrap()
            .map(|n| n.unwrap().body)
            .collect()
    };
    assert_eq!(bodies(&alice), ["a1", "a2"]);
    assert_eq!(bodies(&bob), ["b1"]);
    assert_eq!(scalar(&engine, &bob, "SELECT count(*) FROM app.notes"), "1");
    engine
        .sql_blocking(&bob, "DELETE FROM app.notes WHERE id = 2")
        .unwrap();
    assert_eq!(bodies(&alice), ["a1", "a2"]);
    // Only an administrator declares tables.
    let err = engine
        .create_typed::<Note>(&bob, TableType::User)
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
}

#[test]
fn typed_writes_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let root = root();
    engine
        .sql_blocking(&root, "CREATE NAMESPACE app; SET GATE audit_log = on")
        .unwrap();
    engine
        .create_typed::<Note>(&root, TableType::Shared)
        .unwrap();
    engine
        .insert(
            &root,
            &[Note {
                id: 1,
                body: "x".into(),
            }],
        )
        .unwrap();
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT action, target, rows FROM system.audit_log WHERE target = 'app.notes' ORDER BY entry_id"
        ),
        "+--------------+-----------+------+\n| action       | target    | rows |\n\
         +--------------+-----------+------+\n| CREATE TABLE | app.notes | 0    |\n\
         | INSERT       | app.notes | 1    |\n+--------------+-----------+------+"
    );
}

// The same table, declared otherwise.
mod other {
    use kalam::KalamTable;

    #[derive(KalamTable, Clone, Debug, PartialEq)]
    #[table(name = "notes", namespace = "app")]
    pub(crate) struct Note {
        #[column(primary_key)]
        pub(crate) id: i64,
        pub(crate) body: Option<String>,
    }

    #[derive(KalamTable, Clone, Debug, PartialEq)]
    #[table(name = "notes", namespace = "app")]
    pub(crate) struct Wide {
        #[column(primary_key)]
        pub(crate) id: i64,
        pub(crate) body: String,
        pub(crate) extra: i32,
    }

    #[derive(KalamTable)]
    #[table(name = "counters", namespace = "app")]
    pub(crate) struct Unsigned {
        #[column(primary_key)]
        pub(crate) id: u32,
    }
}

fn mismatch(err: Error) -> String {
    match err {
        Error::TypedTableMismatch { difference, .. } => difference,
        other => panic!("expected a mismatch, got {other}"),
    }
}

#[test]
fn another_declaration_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = root();
    {
        let engine = engine(&dir);
        engine.sql_blocking(&root, "CREATE NAMESPACE app").unwrap();
        engine
            .create_typed::<Note>(&root, TableType::Shared)
            .unwrap();
        engine
            .insert(
                &root,
                &[Note {
                    id: 1,
                    body: "kept".into(),
                }],
            )
            .unwrap();
    }
    let engine = engine(&dir);
    // Not attached yet in this process: typed access says so; SQL reads the rows.
    let err = engine.get::<Note>(&root, &Note::key_for(&1)).unwrap_err();
    assert!(mismatch(err).contains("create_typed"));
    assert_eq!(
        text(&engine, &root, "SELECT body FROM app.notes"),
        "+------+\n| body |\n+------+\n| kept |\n+------+"
    );

    let err = engine
        .create_typed::<other::Note>(&root, TableType::Shared)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`app.notes` is stored with another definition than `{}` declares: column 1 is \
             stored as `body` (TEXT NOT NULL), and declared as `body` (TEXT)",
            std::any::type_name::<other::Note>()
        )
    );
    let err = engine
        .create_typed::<other::Wide>(&root, TableType::Shared)
        .unwrap_err();
    assert_eq!(
        mismatch(err),
        "the type declares column `extra` (INT NOT NULL) in version 1, which its rows lack"
    );
    let err = engine
        .create_typed::<Note>(&root, TableType::User)
        .unwrap_err();
    assert_eq!(
        mismatch(err),
        "it is a SHARED table, and the type is declared USER"
    );
    // A table declared in SQL is not taken over.
    engine
        .sql_blocking(&root, "CREATE TABLE app.counters (id BIGINT PRIMARY KEY)")
        .unwrap();
    let err = engine
        .create_typed::<other::Unsigned>(&root, TableType::Shared)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { message, .. } if message.contains("`id` is u32 (UInt32)")),
        "{err}"
    );
    // Nothing was changed: the right type still attaches and reads its row.
    engine
        .create_typed::<Note>(&root, TableType::Shared)
        .unwrap();
    assert_eq!(
        engine
            .get::<Note>(&root, &Note::key_for(&1))
            .unwrap()
            .unwrap()
            .body,
        "kept"
    );
    let err = engine
        .insert(&root, &[other::Note { id: 2, body: None }])
        .unwrap_err();
    assert!(mismatch(err).contains("it is the table of"));
}

#[test]
fn sql_tables_are_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let root = root();
    engine
        .sql_blocking(&root, "CREATE NAMESPACE app; CREATE TABLE app.notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    let err = engine
        .create_typed::<Note>(&root, TableType::Shared)
        .unwrap_err();
    assert_eq!(
        mismatch(err),
        "it was declared in SQL, and a Rust type cannot take over its rows"
    );
}

// A model in three versions: 2 adds `limit` (default 100) and `email`, 3 adds `currency`.
mod versions {
    use kalam::KalamTable;

    #[derive(KalamTable, Clone, Debug, PartialEq)]
    #[table(name = "accounts", namespace = "app")]
    pub(crate) struct V1 {
        #[column(primary_key)]
        pub(crate) id: i64,
        pub(crate) owner: String,
    }

    #[derive(KalamTable, Clone, Debug, PartialEq)]
    #[table(name = "accounts", namespace = "app", version = 2)]
    pub(crate) struct V2 {
        #[column(primary_key)]
        pub(crate) id: i64,
        pub(crate) owner: String,
        #[column(since = 2, default = 100)]
        pub(crate) limit: i64,
        #[column(since = 2)]
        pub(crate) email: Option<String>,
    }

    #[derive(KalamTable, Clone, Debug, PartialEq)]
    #[table(name = "accounts", namespace = "app", version = 3)]
    pub(crate) struct V3 {
        #[column(primary_key)]
        pub(crate) id: i64,
        pub(crate) owner: String,
        #[column(since = 2, default = 100)]
        pub(crate) limit: i64,
        #[column(since = 2)]
        pub(crate) email: Option<String>,
        #[column(since = 3, default = String::from("eur"))]
        pub(crate) currency: String,
    }
}

#[test]
fn a_model_evolves_across_row_versions() {
    use versions::{V1, V2, V3};
    let dir = tempfile::tempdir().unwrap();
    let root = root();
    {
        let engine = engine(&dir);
        engine.sql_blocking(&root, "CREATE NAMESPACE app").unwrap();
        engine.create_typed::<V1>(&root, TableType::Shared).unwrap();
        engine
            .insert(
                &root,
                &[V1 {
                    id: 1,
                    owner: "ada".into(),
                }],
            )
            .unwrap();
    }
    {
        let engine = engine(&dir);
        engine.create_typed::<V2>(&root, TableType::Shared).unwrap();
        engine
            .insert(
                &root,
                &[V2 {
                    id: 2,
                    owner: "bob".into(),
                    limit: 5,
                    email: Some("b@x".into()),
                }],
            )
            .unwrap();
        assert_eq!(
            engine
                .get::<V2>(&root, &V2::key_for(&1))
                .unwrap()
                .unwrap()
                .limit,
            100
        );
        // An older type no longer reads the table.
        let err = engine
            .create_typed::<V1>(&root, TableType::Shared)
            .unwrap_err();
        assert_eq!(
            mismatch(err),
            "its rows are of version 2, newer than the type's 1"
        );
    }
    let engine = engine(&dir);
    // Without the type attached, SQL reads every version from the catalog's description.
    let all = "SELECT id, owner, \"limit\", email FROM app.accounts ORDER BY id";
    let expected = "+----+-------+-------+-------+\n| id | owner | limit | email |\n\
                    +----+-------+-------+-------+\n| 1  | ada   | 100   |       |\n\
                    | 2  | bob   | 5     | b@x   |\n+----+-------+-------+-------+";
    assert_eq!(text(&engine, &root, all), expected);
    engine.create_typed::<V3>(&root, TableType::Shared).unwrap();
    // With it attached, the generated decoder gives the same.
    assert_eq!(text(&engine, &root, all), expected);
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT currency FROM app.accounts ORDER BY id"
        ),
        "+----------+\n| currency |\n+----------+\n| eur      |\n| eur      |\n+----------+"
    );
    let rows: Vec<V3> = engine
        .scan::<V3>(&root, ..)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows[0],
        V3 {
            id: 1,
            owner: "ada".into(),
            limit: 100,
            email: None,
            currency: "eur".into()
        }
    );
    // An UPDATE of an old row writes it at the current version.
    engine
        .sql_blocking(
            &root,
            "UPDATE app.accounts SET currency = 'usd' WHERE id = 1",
        )
        .unwrap();
    assert_eq!(
        engine.get::<V3>(&root, &V3::key_for(&1)).unwrap().unwrap(),
        V3 {
            id: 1,
            owner: "ada".into(),
            limit: 100,
            email: None,
            currency: "usd".into()
        }
    );
    assert_eq!(
        text(
            &engine,
            &root,
            "SELECT column_name, added_in_version, default_value FROM system.columns \
             WHERE table_name = 'accounts' AND added_in_version IS NOT NULL ORDER BY ordinal"
        ),
        "+-------------+------------------+---------------+\n\
         | column_name | added_in_version | default_value |\n\
         +-------------+------------------+---------------+\n\
         | limit       | 2                | 100           |\n\
         | email       | 2                |               |\n\
         | currency    | 3                | eur           |\n\
         +-------------+------------------+---------------+"
    );
}

mod model {
    //! Random typed and SQL operations on one table, against a model: after each, the
    //! typed view (get, scan) and the SQL view (SELECT) both equal the model.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{SbTest, root};
    use kalam_engine::{Engine, TableType};

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<SbTest>),
        SqlInsert(SbTest),
        SqlUpdate {
            id: i64,
            k: i64,
            pad: Option<String>,
        },
        SqlUpdateRange {
            below: i64,
        },
        SqlDelete(i64),
        CheckRange(i64, i64),
    }

    fn sbtest() -> impl Strategy<Value = SbTest> {
        (
            0..24i64,
            0..6i64,
            "[a-z']{0,6}",
            prop::option::of("[a-z]{0,4}"),
        )
            .prop_map(|(id, k, c, pad)| SbTest { id, k, c, pad })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            prop::collection::vec(sbtest(), 1..4).prop_map(Op::Insert),
            sbtest().prop_map(Op::SqlInsert),
            (0..24i64, 0..6i64, prop::option::of("[a-z]{0,4}"))
                .prop_map(|(id, k, pad)| Op::SqlUpdate { id, k, pad }),
            (0..24i64).prop_map(|below| Op::SqlUpdateRange { below }),
            (0..24i64).prop_map(Op::SqlDelete),
            (0..24i64, 0..24i64).prop_map(|(a, b)| Op::CheckRange(a.min(b), a.max(b))),
        ]
    }

    fn literal(text: Option<&str>) -> String {
        text.map_or_else(
            || "NULL".to_owned(),
            |t| format!("'{}'", t.replace('\'', "''")),
        )
    }

    /// The rows as SQL returns them, ordered by id.
    fn sql_rows(engine: &Engine, filter: &str) -> String {
        engine
            .sql_blocking(
                &root(),
                &format!("SELECT id, k, c, pad FROM bench.sbtest {filter} ORDER BY id"),
            )
            .unwrap()
            .to_string()
    }

    /// The same table as SQL would show the model's rows, through a SQL-declared twin.
    fn shown(twin: &Engine, rows: &[&SbTest]) -> String {
        let root = root();
        twin.sql_blocking(&root, "DELETE FROM bench.sbtest WHERE true")
            .unwrap();
        for row in rows {
            twin.sql_blocking(
                &root,
                &format!(
                    "INSERT INTO bench.sbtest VALUES ({}, {}, {}, {})",
                    row.id,
                    row.k,
                    literal(Some(&row.c)),
                    literal(row.pad.as_deref())
                ),
            )
            .unwrap();
        }
        sql_rows(twin, "")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn typed_and_sql_views_agree_with_a_model(ops in prop::collection::vec(op(), 1..24)) {
            let dir = tempfile::tempdir().unwrap();
            let root = root();
            let engine = Engine::open(dir.path().join("typed")).unwrap();
            engine.sql_blocking(&root, "CREATE NAMESPACE bench").unwrap();
            engine.create_typed::<SbTest>(&root, TableType::Shared).unwrap();
            engine.sql_blocking(&root, "CREATE INDEX k_idx ON bench.sbtest (k)").unwrap();
            let twin = Engine::open(dir.path().join("sql")).unwrap();
            twin.sql_blocking(
                &root,
                "CREATE NAMESPACE bench; CREATE TABLE bench.sbtest (id BIGINT PRIMARY KEY, \
                 k BIGINT NOT NULL, c TEXT NOT NULL, pad TEXT)",
            )
            .unwrap();
            let mut model: BTreeMap<i64, SbTest> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(rows) => {
                        let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        let clash = ids.len() < rows.len() || ids.iter().any(|id| model.contains_key(id));
                        let result = engine.insert(&root, &rows);
                        prop_assert_eq!(result.is_err(), clash, "{:?}", result);
                        if !clash {
                            model.extend(rows.into_iter().map(|r| (r.id, r)));
                        }
                    }
                    Op::SqlInsert(row) => {
                        let sql = format!(
                            "INSERT INTO bench.sbtest VALUES ({}, {}, {}, {})",
                            row.id, row.k, literal(Some(&row.c)), literal(row.pad.as_deref())
                        );
                        let result = engine.sql_blocking(&root, &sql);
                        prop_assert_eq!(result.is_err(), model.contains_key(&row.id));
                        model.entry(row.id).or_insert(row);
                    }
                    Op::SqlUpdate { id, k, pad } => {
                        let sql = format!(
                            "UPDATE bench.sbtest SET k = {k}, pad = {} WHERE id = {id}",
                            literal(pad.as_deref())
                        );
                        engine.sql_blocking(&root, &sql).unwrap();
                        if let Some(row) = model.get_mut(&id) {
                            row.k = k;
                            row.pad = pad;
                        }
                    }
                    Op::SqlUpdateRange { below } => {
                        let sql = format!("UPDATE bench.sbtest SET k = k + 1 WHERE id < {below}");
                        engine.sql_blocking(&root, &sql).unwrap();
                        for row in model.values_mut().filter(|r| r.id < below) {
                            row.k += 1;
                        }
                    }
                    Op::SqlDelete(id) => {
                        engine
                            .sql_blocking(&root, &format!("DELETE FROM bench.sbtest WHERE id = {id}"))
                            .unwrap();
                        model.remove(&id);
                    }
                    Op::CheckRange(low, high) => {
                        let typed: Vec<SbTest> = engine
                            .scan::<SbTest>(&root, SbTest::key_for(&low)..=SbTest::key_for(&high))
                            .unwrap()
                            .collect::<Result<_, _>>()
                            .unwrap();
                        let expected: Vec<SbTest> = model.range(low..=high).map(|(_, r)| r.clone()).collect();
                        prop_assert_eq!(&typed, &expected);
                        let rows: Vec<&SbTest> = expected.iter().collect();
                        prop_assert_eq!(
                            sql_rows(&engine, &format!("WHERE id BETWEEN {low} AND {high}")),
                            shown(&twin, &rows)
                        );
                        // Through the index on k too.
                        let k = low % 6;
                        let by_k: Vec<&SbTest> = model.values().filter(|r| r.k == k).collect();
                        prop_assert_eq!(sql_rows(&engine, &format!("WHERE k = {k}")), shown(&twin, &by_k));
                    }
                }
                for id in [0, 7, 23] {
                    prop_assert_eq!(
                        engine.get::<SbTest>(&root, &SbTest::key_for(&id)).unwrap(),
                        model.get(&id).cloned()
                    );
                }
            }
            let all: Vec<SbTest> = engine.scan::<SbTest>(&root, ..).unwrap().collect::<Result<_, _>>().unwrap();
            let expected: Vec<SbTest> = model.values().cloned().collect();
            prop_assert_eq!(&all, &expected);
            prop_assert_eq!(sql_rows(&engine, ""), shown(&twin, &model.values().collect::<Vec<_>>()));
        }
    }
}
