//! Many users run random SQL against one USER table; no user ever sees or changes another
//! user's row, whatever the statement.

use kalam_engine::{Engine, UserId};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const USERS: usize = 6;

fn statement() -> impl Strategy<Value = String> {
    let id = 0..20i64;
    prop_oneof![
        (id.clone(), 0..100i64)
            .prop_map(|(id, v)| format!("INSERT INTO app.notes VALUES ({id}, {v}, 'n{id}')")),
        (id.clone(), 0..100i64)
            .prop_map(|(id, v)| format!("UPDATE app.notes SET v = {v} WHERE id = {id}")),
        (0..100i64).prop_map(|v| format!("UPDATE app.notes SET v = v + 1 WHERE v < {v}")),
        id.clone()
            .prop_map(|id| format!("DELETE FROM app.notes WHERE id = {id}")),
        (0..100i64).prop_map(|v| format!("DELETE FROM app.notes WHERE v > {v} AND id % 3 = 0")),
        id.prop_map(|id| format!("UPDATE app.notes SET id = id + 100 WHERE id = {id}")),
    ]
}

#[test]
fn users_only_ever_see_their_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(&root, "CREATE NAMESPACE app; CREATE USER TABLE app.notes (id BIGINT PRIMARY KEY, v BIGINT, owner_note TEXT)")
        .unwrap();
    engine
        .sql_blocking(&root, "CREATE INDEX ON app.notes (v)")
        .unwrap();
    let users: Vec<UserId> = (0..USERS)
        .map(|i| {
            engine
                .sql_blocking(&root, &format!("CREATE USER u{i}"))
                .unwrap();
            UserId::new(format!("u{i}")).unwrap()
        })
        .collect();
    // Each user's expected rows, kept by replaying the same statements per user in a model:
    // rather than re-implementing SQL, each user's table is compared with a shadow SHARED
    // table that only that user writes to.
    for i in 0..USERS {
        engine
            .sql_blocking(&root, &format!("CREATE SHARED TABLE app.shadow{i} (id BIGINT PRIMARY KEY, v BIGINT, owner_note TEXT)"))
            .unwrap();
    }
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(
            &prop::collection::vec((0..USERS, statement()), 1..40),
            |steps| {
                for (user, sql) in &steps {
                    let mine = engine.sql_blocking(&users[*user], sql);
                    let shadow = engine.sql_blocking(
                        &root,
                        &sql.replace("app.notes", &format!("app.shadow{user}")),
                    );
                    prop_assert_eq!(mine.is_ok(), shadow.is_ok(), "{}", sql);
                    if let (Ok(a), Ok(b)) = (mine, shadow) {
                        prop_assert_eq!(a.rows_affected(), b.rows_affected(), "{}", sql);
                    }
                }
                for (i, user) in users.iter().enumerate() {
                    for query in [
                        "SELECT * FROM app.notes ORDER BY id",
                        "SELECT * FROM app.notes WHERE v >= 0 ORDER BY id",
                    ] {
                        let mine = engine.sql_blocking(user, query).unwrap().to_string();
                        let shadow = engine
                            .sql_blocking(
                                &root,
                                &query.replace("app.notes", &format!("app.shadow{i}")),
                            )
                            .unwrap()
                            .to_string();
                        prop_assert_eq!(mine, shadow);
                    }
                }
                // Root sees none of the users' rows.
                prop_assert_eq!(
                    engine
                        .sql_blocking(&root, "SELECT * FROM app.notes")
                        .unwrap()
                        .num_rows(),
                    0
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn a_plain_create_table_is_shared_by_every_user() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE app; CREATE USER alice;
             CREATE TABLE app.items (id BIGINT PRIMARY KEY, name TEXT)",
        )
        .unwrap();
    let alice = UserId::new("alice").unwrap();
    engine
        .sql_blocking(&alice, "INSERT INTO app.items VALUES (1, 'by alice')")
        .unwrap();
    // Root sees alice's row: one set of rows, not one per user.
    let rows = engine
        .sql_blocking(&root, "SELECT name FROM app.items")
        .unwrap()
        .to_string();
    assert!(rows.contains("| by alice |"), "{rows}");
    let kind = engine
        .sql_blocking(
            &root,
            "SELECT table_type FROM system.tables WHERE table_name = 'items'",
        )
        .unwrap()
        .to_string();
    assert!(kind.contains("| SHARED     |"), "{kind}");
}
