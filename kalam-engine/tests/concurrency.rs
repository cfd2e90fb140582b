//! Several threads of mixed reads and writes for a bounded time; then the invariants: the
//! total moved between accounts is conserved, counts match, and the index agrees with the
//! rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kalam_engine::{Engine, Error, UserId};

const ACCOUNTS: i64 = 50;

/// The single value of a one-row, one-column result, as the table shows it.
fn scalar(engine: &Engine, root: &UserId, sql: &str) -> String {
    engine
        .sql_blocking(root, sql)
        .unwrap()
        .to_string()
        .lines()
        .nth(3)
        .unwrap()
        .trim_matches(|c| c == '|' || c == ' ')
        .to_owned()
}
const START: i64 = 1_000;

#[test]
fn mixed_threads_keep_the_invariants() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path()).unwrap());
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE bank;
             CREATE SHARED TABLE bank.accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, bucket INT NOT NULL);
             CREATE INDEX ON bank.accounts (bucket);
             CREATE SHARED TABLE bank.log (id BIGINT PRIMARY KEY, amount BIGINT NOT NULL)",
        )
        .unwrap();
    let values: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("({i}, {START}, {})", i % 5))
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!("INSERT INTO bank.accounts VALUES {}", values.join(", ")),
        )
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(3);
    // Log id 0 is the one every thread races for (arm 3); the others are handed out from 1
    // on, so no two inserts but those of arm 3 can take the same id.
    let next_log = Arc::new(AtomicU64::new(1));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (engine, root, next_log) = (Arc::clone(&engine), root.clone(), Arc::clone(&next_log));
            std::thread::spawn(move || {
                let mut ops = 0u64;
                let mut i = t;
                while Instant::now() < deadline {
                    i = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let (a, b) = ((i >> 33) as i64 % ACCOUNTS, (i >> 17) as i64 % ACCOUNTS);
                    match i % 4 {
                        // A transfer is one statement: both rows in one atomic write.
                        0 => {
                            engine
                                .sql_blocking(&root, &format!(
                                    "UPDATE bank.accounts SET balance = balance + CASE WHEN id = {a} THEN -1 ELSE 1 END \
                                     WHERE id IN ({a}, {b}) AND {a} <> {b}"
                                ))
                                .unwrap();
                        }
                        1 => {
                            let id = next_log.fetch_add(1, Ordering::Relaxed);
                            engine.sql_blocking(&root, &format!("INSERT INTO bank.log VALUES ({id}, {a})")).unwrap();
                        }
                        2 => {
                            engine
                                .sql_blocking(&root, &format!("UPDATE bank.accounts SET bucket = {} WHERE id = {a}", b % 5))
                                .unwrap();
                        }
                        _ => {
                            assert_eq!(
                                scalar(&engine, &root, "SELECT SUM(balance) FROM bank.accounts"),
                                (ACCOUNTS * START).to_string()
                            );
                            match engine.sql_blocking(&root, &format!("INSERT INTO bank.log VALUES (0, {a})")) {
                                Err(Error::DuplicateKey { .. }) => {}
                                Ok(_) => {} // the first one wins
                                Err(other) => panic!("{other}"),
                            }
                        }
                    }
                    ops += 1;
                }
                ops
            })
        })
        .collect();
    let ops: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(ops > 0);

    let scalar = |sql: &str| scalar(&engine, &root, sql);
    assert_eq!(
        scalar("SELECT SUM(balance) FROM bank.accounts"),
        (ACCOUNTS * START).to_string()
    );
    assert_eq!(
        scalar("SELECT COUNT(*) FROM bank.accounts"),
        ACCOUNTS.to_string()
    );
    let logged = next_log.load(Ordering::Relaxed) - 1;
    let zero_taken = scalar("SELECT COUNT(*) FROM bank.log WHERE id = 0");
    assert_eq!(
        scalar("SELECT COUNT(*) FROM bank.log"),
        (logged + u64::from(zero_taken == "1")).to_string()
    );
    // The index agrees with the rows: each bucket through the index equals a full scan.
    for bucket in 0..5 {
        assert_eq!(
            scalar(&format!(
                "SELECT COUNT(*) FROM bank.accounts WHERE bucket = {bucket}"
            )),
            scalar(&format!(
                "SELECT COUNT(*) FROM bank.accounts WHERE bucket + 0 = {bucket}"
            )),
        );
    }
}

#[test]
fn writes_through_subqueries_lose_no_update() {
    // An UPDATE whose WHERE has a subquery finds its rows with a query, then writes them:
    // a row another thread changed in between must not be overwritten with stale values.
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path()).unwrap());
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE c;
             CREATE SHARED TABLE c.counters (id INT PRIMARY KEY, n BIGINT NOT NULL);
             CREATE SHARED TABLE c.wanted (id INT PRIMARY KEY);
             INSERT INTO c.counters VALUES (1, 0), (2, 0);
             INSERT INTO c.wanted VALUES (1), (2)",
        )
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (engine, root, done) = (Arc::clone(&engine), root.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                for _ in 0..40 {
                    let sql =
                        "UPDATE c.counters SET n = n + 1 WHERE id IN (SELECT id FROM c.wanted)";
                    match engine.sql_blocking(&root, sql) {
                        Ok(result) => {
                            assert_eq!(result.rows_affected(), Some(2));
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::WriteConflict(_)) => {}
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let done = done.load(Ordering::Relaxed);
    assert!(done > 0);
    let sums = engine
        .sql_blocking(&root, "SELECT min(n) AS lo, max(n) AS hi FROM c.counters")
        .unwrap()
        .to_string();
    assert!(
        sums.contains(&format!("| {done} | {done} |")),
        "{done} updates succeeded:\n{sums}"
    );
}

/// Single-row writes by primary key (the fast paths of UPDATE, INSERT and DELETE) lock
/// only their key's stripe of the table: threads on the same few rows still lose no
/// increment, insert a key once, and leave the index agreeing with the rows, while a
/// whole-table statement and a new index come between them.
#[test]
fn single_row_writers_of_the_same_rows_lose_no_update() {
    const ROWS: i64 = 6;
    const THREADS: u64 = 4;
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path()).unwrap());
    let root = UserId::new("root").unwrap();
    engine
        .sql_blocking(
            &root,
            "CREATE NAMESPACE c;
             CREATE SHARED TABLE c.counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, g BIGINT NOT NULL);
             CREATE INDEX by_g ON c.counters (g)",
        )
        .unwrap();
    let rows: Vec<String> = (0..ROWS)
        .map(|id| format!("({id}, 0, 0)"))
        .chain(
            (1000..1400)
                .filter(|id| id % 8 == 5)
                .map(|id| format!("({id}, 0, -1)")),
        )
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!("INSERT INTO c.counters VALUES {}", rows.join(", ")),
        )
        .unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (engine, root) = (Arc::clone(&engine), root.clone());
            std::thread::spawn(move || {
                let (mut added, mut deleted, mut inserted) = (0u64, 0u64, Vec::new());
                for i in 0..400i64 {
                    let id = (i * 7 + t as i64) % ROWS;
                    match i % 8 {
                        // Every thread races to insert the same new keys, and to delete
                        // the same old ones: each inserted once, each deleted once.
                        3 => {
                            let new = 100 + i;
                            match engine.sql_blocking(
                                &root,
                                &format!("INSERT INTO c.counters VALUES ({new}, 0, {new})"),
                            ) {
                                Ok(_) => inserted.push(new),
                                Err(Error::DuplicateKey { .. }) => {}
                                Err(other) => panic!("{other}"),
                            }
                        }
                        5 => {
                            let gone = engine
                                .sql_blocking(
                                    &root,
                                    &format!("DELETE FROM c.counters WHERE id = {}", 1000 + i),
                                )
                                .unwrap();
                            deleted += gone.rows_affected().unwrap();
                        }
                        // A statement over the whole table, between the single-row ones.
                        7 if t == 0 => {
                            engine
                                .sql_blocking(
                                    &root,
                                    "UPDATE c.counters SET g = g + 0 WHERE id < 0 OR n < 0",
                                )
                                .unwrap();
                        }
                        _ => {
                            let changed = engine
                                .sql_blocking(
                                    &root,
                                    &format!(
                                        "UPDATE c.counters SET n = n + 1, g = g + 1 WHERE id = {id}"
                                    ),
                                )
                                .unwrap();
                            added += changed.rows_affected().unwrap();
                        }
                    }
                    if t == 1 && i == 200 {
                        engine
                            .sql_blocking(&root, "CREATE INDEX by_n ON c.counters (n)")
                            .unwrap();
                    }
                }
                (added, deleted, inserted)
            })
        })
        .collect();
    let (mut added, mut deleted, mut inserted) = (0, 0, Vec::new());
    for thread in threads {
        let (a, d, i) = thread.join().unwrap();
        added += a;
        deleted += d;
        inserted.extend(i);
    }
    assert_eq!(deleted, 50, "each old key deleted once");
    inserted.sort_unstable();
    let count = inserted.len();
    inserted.dedup();
    assert_eq!(inserted.len(), count, "a key was inserted twice");
    assert_eq!(count, 50, "each new key inserted once");

    let scalar = |sql: &str| scalar(&engine, &root, sql);
    assert!(added > 0);
    assert_eq!(
        scalar(&format!("SELECT SUM(n) FROM c.counters WHERE id < {ROWS}")),
        added.to_string()
    );
    assert_eq!(
        scalar(&format!("SELECT SUM(g) FROM c.counters WHERE id < {ROWS}")),
        added.to_string()
    );
    // Both indexes agree with the rows.
    for id in 0..ROWS {
        let g = scalar(&format!("SELECT g FROM c.counters WHERE id = {id}"));
        let by_g = scalar(&format!(
            "SELECT COUNT(*) FROM c.counters WHERE g = {g} AND id = {id}"
        ));
        assert_eq!(by_g, "1", "row {id} through by_g");
        let by_n = scalar(&format!(
            "SELECT COUNT(*) FROM c.counters WHERE n = {g} AND id = {id}"
        ));
        assert_eq!(by_n, "1", "row {id} through by_n");
    }
    assert_eq!(
        scalar("SELECT COUNT(*) FROM c.counters WHERE g >= 0"),
        scalar("SELECT COUNT(*) FROM c.counters WHERE g + 0 >= 0"),
    );
}

#[test]
fn index_lookups_beside_writers_of_their_values_end_as_the_rows_are() {
    const ROWS: i64 = 40;
    const VALUES: i64 = 5;
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(dir.path()).unwrap());
    let root = UserId::new("root").unwrap();
    let rows: Vec<String> = (0..ROWS)
        .map(|id| format!("({id}, {})", id % VALUES))
        .collect();
    engine
        .sql_blocking(
            &root,
            &format!(
                "CREATE NAMESPACE l;
                 CREATE SHARED TABLE l.t (id BIGINT PRIMARY KEY, k BIGINT NOT NULL);
                 CREATE INDEX by_k ON l.t (k);
                 INSERT INTO l.t VALUES {}",
                rows.join(", ")
            ),
        )
        .unwrap();
    let all: Vec<String> = (0..VALUES).map(|v| v.to_string()).collect();
    let all = all.join(", ");
    let deadline = Instant::now() + Duration::from_millis(1500);
    // Two threads move rows between a few values (each move drops the cached lookups of
    // both values), two look the values up (each miss offers what it read to the cache).
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (engine, root, all) = (Arc::clone(&engine), root.clone(), all.clone());
            std::thread::spawn(move || {
                let mut i = t as i64;
                while Instant::now() < deadline {
                    i += 1;
                    let sql = if t < 2 {
                        format!(
                            "UPDATE l.t SET k = {} WHERE id = {}",
                            (i * 3 + t as i64) % VALUES,
                            (i * 7) % ROWS
                        )
                    } else if i % 2 == 0 {
                        format!("SELECT id FROM l.t WHERE k IN ({all})")
                    } else {
                        format!("SELECT id FROM l.t WHERE k = {}", i % VALUES)
                    };
                    engine.sql_blocking(&root, &sql).unwrap();
                }
                i
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap() > 10, "a thread barely ran");
    }
    // Each value's lookup, read twice (the second from the cache), finds the rows a scan
    // finds.
    let scalar = |sql: &str| scalar(&engine, &root, sql);
    for _ in 0..2 {
        for v in 0..VALUES {
            assert_eq!(
                scalar(&format!("SELECT COUNT(*) FROM l.t WHERE k = {v}")),
                scalar(&format!("SELECT COUNT(*) FROM l.t WHERE k + 0 = {v}")),
                "value {v}"
            );
        }
        assert_eq!(
            scalar(&format!("SELECT COUNT(*) FROM l.t WHERE k IN ({all})")),
            ROWS.to_string()
        );
    }
}
