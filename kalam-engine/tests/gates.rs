//! The opt-in features, off by default and switched with `SET GATE`. One process per file:
//! gates are global to the process.

use std::time::Duration;

use kalam_engine::{Engine, EngineOptions, UserId};

#[test]
fn audit_log_live_queries_slow_queries_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(
        dir.path(),
        &EngineOptions {
            slow_query_threshold: Duration::ZERO,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let root = UserId::new("root").unwrap();
    let sql = |sql: &str| engine.sql_blocking(&root, sql).unwrap();
    sql(
        "CREATE NAMESPACE app; CREATE USER alice; CREATE USER TABLE app.notes (id INT PRIMARY KEY, body TEXT)",
    );
    let alice = UserId::new("alice").unwrap();
    let subscription = engine.subscribe(&alice, "app.notes").unwrap();
    engine
        .sql_blocking(&alice, "INSERT INTO app.notes VALUES (1, 'off')")
        .unwrap();
    // Off by default: nothing recorded.
    assert_eq!(sql("SELECT * FROM system.audit_log").num_rows(), 0);
    assert!(subscription.next_change(Duration::ZERO).is_none());
    assert!(engine.slow_queries().is_empty());
    assert_eq!(engine.metrics().statements, 0);

    sql(
        "SET GATE audit_log = on; SET GATE live_queries = on; SET GATE slow_query_log = on; SET GATE query_metrics = on",
    );
    engine
        .sql_blocking(&alice, "INSERT INTO app.notes VALUES (2, 'on'), (3, 'on')")
        .unwrap();
    engine
        .sql_blocking(&alice, "DELETE FROM app.notes WHERE id = 1")
        .unwrap();
    // Root's write to the USER table touches root's rows, not alice's: no notification.
    sql("INSERT INTO app.notes VALUES (9, 'root')");
    sql("CREATE SHARED TABLE app.t (id INT PRIMARY KEY)");
    // Each row of a one-column query, as text.
    let lines = |engine: &Engine, user: &UserId, query: &str| -> Vec<String> {
        engine
            .sql_blocking(user, query)
            .unwrap()
            .to_string()
            .lines()
            .skip(3)
            .filter(|l| !l.starts_with('+'))
            .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_owned())
            .collect()
    };
    let audit = "SELECT user_id || ' ' || action || ' ' || target || ' ' || CAST(rows AS TEXT) \
                 FROM system.audit_log ORDER BY entry_id";
    assert_eq!(
        lines(&engine, &root, audit),
        [
            // Switching a gate is audited, the audit log's own switch included.
            "root SET GATE audit_log = on 0",
            "root SET GATE live_queries = on 0",
            "root SET GATE slow_query_log = on 0",
            "root SET GATE query_metrics = on 0",
            "alice INSERT app.notes 2",
            "alice DELETE app.notes 1",
            "root INSERT app.notes 1",
            "root CREATE TABLE app.t 0",
        ]
    );
    // A user who is not a dba reads only their own rows of the audit log, the jobs, the
    // live queries and the users.
    sql("CREATE INDEX ON app.notes (body)");
    assert_eq!(
        lines(&engine, &alice, audit),
        ["alice INSERT app.notes 2", "alice DELETE app.notes 1"]
    );
    assert_eq!(
        lines(&engine, &alice, "SELECT user_id FROM system.users"),
        ["alice"]
    );
    assert_eq!(
        lines(
            &engine,
            &root,
            "SELECT user_id FROM system.users ORDER BY user_id"
        ),
        ["alice", "root"]
    );
    assert_eq!(
        lines(&engine, &alice, "SELECT kind FROM system.jobs"),
        Vec::<String>::new()
    );
    assert_eq!(
        lines(&engine, &root, "SELECT kind FROM system.jobs"),
        ["build_index"]
    );
    let root_subscription = engine.subscribe(&root, "app.notes").unwrap();
    assert_eq!(
        lines(&engine, &alice, "SELECT user_id FROM system.live_queries"),
        ["alice"]
    );
    assert_eq!(
        lines(
            &engine,
            &root,
            "SELECT user_id FROM system.live_queries ORDER BY user_id"
        ),
        ["alice", "root"]
    );
    drop(root_subscription);

    let first = subscription.next_change(Duration::from_secs(1)).unwrap();
    assert_eq!(first.table.to_string(), "app.notes");
    assert!(subscription.next_change(Duration::from_secs(1)).is_some());
    assert!(subscription.next_change(Duration::ZERO).is_none());
    let live = sql("SELECT user_id, table_id, changes FROM system.live_queries").to_string();
    assert!(live.contains("| alice   | app.notes | 2       |"), "{live}");
    assert!(!engine.slow_queries().is_empty());
    assert!(engine.metrics().statements >= 4);
    let gates = sql("SELECT name, \"on\" FROM system.gates WHERE name = 'audit_log'").to_string();
    assert!(gates.contains("| audit_log | true |"), "{gates}");

    // Each statement of a text is logged with its own text; prepared runs, fast path or
    // not, are logged and counted too.
    sql("SELECT 1 AS one; SELECT 2 AS two");
    let logged: Vec<String> = engine.slow_queries().into_iter().map(|q| q.sql).collect();
    assert!(logged.iter().any(|q| q == "SELECT 1 AS one"), "{logged:?}");
    assert!(logged.iter().any(|q| q == "SELECT 2 AS two"), "{logged:?}");
    assert!(!logged.iter().any(|q| q.contains(';')), "{logged:?}");
    let get = engine
        .prepare_blocking(&alice, "SELECT body FROM app.notes WHERE id = $1")
        .unwrap();
    let count = engine
        .prepare_blocking(&alice, "SELECT count(*) FROM app.notes WHERE id > $1")
        .unwrap();
    assert!(get.is_fast_path() && !count.is_fast_path());
    for prepared in [&get, &count] {
        let before = engine.metrics().statements;
        engine
            .execute_blocking(prepared, &[kalam_engine::Value::Int32(2)])
            .unwrap();
        assert_eq!(
            engine.metrics().statements,
            before + 1,
            "{}",
            prepared.sql()
        );
        let last = engine.slow_queries().pop().unwrap();
        assert_eq!(
            (last.user, last.sql.as_str()),
            (alice.clone(), prepared.sql())
        );
    }

    // An unknown gate is an error that lists the gates, and changes nothing.
    let err = engine
        .sql_blocking(&root, "SET GATE no_such_gate = on")
        .unwrap_err();
    assert!(
        matches!(&err, kalam_engine::Error::UnknownGate { name, .. } if name == "no_such_gate"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("audit_log, live_queries, query_metrics, slow_query_log"),
        "{err}"
    );
    assert!(!kalam::gates().iter().any(|g| g.name == "no_such_gate"));

    let before = sql("SELECT * FROM system.audit_log").num_rows();
    sql("SET GATE audit_log = off");
    sql("INSERT INTO app.notes VALUES (10, 'after')");
    // The switch off is the last entry.
    assert_eq!(sql("SELECT * FROM system.audit_log").num_rows(), before + 1);
    assert_eq!(
        lines(&engine, &root, audit).last().map(String::as_str),
        Some("root SET GATE audit_log = off 0")
    );
    drop(subscription);
    assert_eq!(sql("SELECT * FROM system.live_queries").num_rows(), 0);
}
