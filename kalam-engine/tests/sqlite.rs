//! The sysbench-shaped statements give the same answers on the engine and on SQLite, over
//! the same data, after the same writes.

use datafusion::arrow::util::display::array_value_to_string;
use kalam_engine::{Engine, QueryResult, UserId};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

fn kalam_rows(result: &QueryResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for batch in result.batches() {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(row) {
                            "NULL".to_owned()
                        } else {
                            array_value_to_string(c, row).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}

fn sqlite_rows(db: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut statement = db.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => v.to_string(),
                        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        ValueRef::Blob(b) => format!("{b:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sysbench_statements_agree_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let root = UserId::new("root").unwrap();
    let db = Connection::open_in_memory().unwrap();
    let ddl =
        "(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)";
    engine
        .sql_blocking(&root, &format!("CREATE NAMESPACE sb; CREATE SHARED TABLE sb.sbtest1 {ddl}; CREATE INDEX k_1 ON sb.sbtest1 (k)"))
        .unwrap();
    db.execute_batch(&format!(
        "CREATE TABLE sbtest1 {ddl}; CREATE INDEX k_1 ON sbtest1 (k)"
    ))
    .unwrap();
    // Deterministic pseudo-random rows, the way sysbench fills sbtest1.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let rows: Vec<String> = (1..=500)
        .map(|id| {
            let c: String = (0..10)
                .map(|_| format!("{:011}", next(100_000_000_000)))
                .collect::<Vec<_>>()
                .join("-");
            format!("({id}, {}, '{c}', 'pad-{}')", next(250), next(1000))
        })
        .collect();
    for chunk in rows.chunks(100) {
        let insert = format!("INSERT INTO sbtest1 VALUES {}", chunk.join(", "));
        engine
            .sql_blocking(&root, &insert.replace("sbtest1", "sb.sbtest1"))
            .unwrap();
        db.execute_batch(&insert).unwrap();
    }
    let writes = [
        "UPDATE sbtest1 SET k = k + 1 WHERE id = 17",
        "UPDATE sbtest1 SET c = 'changed' WHERE id = 99",
        "DELETE FROM sbtest1 WHERE id = 250",
        "INSERT INTO sbtest1 (id, k, c, pad) VALUES (250, 7, 'reinserted', 'p')",
        "UPDATE sbtest1 SET k = k + 1 WHERE k BETWEEN 10 AND 20",
        "DELETE FROM sbtest1 WHERE k = 3",
    ];
    for write in writes {
        let a = engine
            .sql_blocking(&root, &write.replace("sbtest1", "sb.sbtest1"))
            .unwrap();
        let b = db.execute(write, []).unwrap();
        assert_eq!(a.rows_affected(), Some(b as u64), "{write}");
    }
    let reads = [
        "SELECT c FROM sbtest1 WHERE id = 17",
        "SELECT c FROM sbtest1 WHERE id = 250",
        "SELECT c FROM sbtest1 WHERE id BETWEEN 90 AND 189 ORDER BY id",
        "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 1 AND 100",
        "SELECT c FROM sbtest1 WHERE id BETWEEN 200 AND 299 ORDER BY c",
        "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 300 AND 399 ORDER BY c",
        "SELECT id, k FROM sbtest1 WHERE k = 7 ORDER BY id",
        "SELECT COUNT(*) FROM sbtest1 WHERE k IN (1, 2, 3, 4, 5)",
        "SELECT k, COUNT(*) FROM sbtest1 WHERE id < 200 GROUP BY k ORDER BY k",
        "SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest1",
    ];
    for read in reads {
        let ours = engine
            .sql_blocking(&root, &read.replace("sbtest1", "sb.sbtest1"))
            .unwrap();
        assert_eq!(kalam_rows(&ours), sqlite_rows(&db, read), "{read}");
    }
}
