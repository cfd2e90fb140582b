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
    assert_eq!(
        sql("SELECT user_id, action, target, rows FROM system.audit_log ORDER BY entry_id")
            .to_string()
            .lines()
            .collect::<Vec<_>>(),
        [
            "+---------+--------------+-----------+------+",
            "| user_id | action       | target    | rows |",
            "+---------+--------------+-----------+------+",
            "| alice   | INSERT       | app.notes | 2    |",
            "| alice   | DELETE       | app.notes | 1    |",
            "| root    | INSERT       | app.notes | 1    |",
            "| root    | CREATE TABLE | app.t     | 0    |",
            "+---------+--------------+-----------+------+",
        ]
    );
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

    sql("SET GATE audit_log = off");
    sql("INSERT INTO app.notes VALUES (10, 'after')");
    assert_eq!(sql("SELECT * FROM system.audit_log").num_rows(), 4);
    drop(subscription);
    assert_eq!(sql("SELECT * FROM system.live_queries").num_rows(), 0);
}
