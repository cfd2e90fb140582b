//! `kalam serve` through a real client (tokio-postgres): SCRAM logins and what they must
//! not tell, the database as the default namespace, DDL, DML, prepared statements with
//! typed parameters, SQLSTATEs, transactions, per-user isolation, session settings, the
//! limits, hostile bytes from many connections, a load of 32 connections, and the drain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use kalam_engine::server::{Server, ServerOptions};
use kalam_engine::{Engine, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// A server on a free loopback port over a fresh engine: root (password `root-pw`), the
/// namespace `app`, and users alice (`alice-pw`), bob (`bob-pw`) and a locked carol.
struct Running {
    addr: SocketAddr,
    engine: Option<Arc<Engine>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    fn start(options: &ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        // Off the test's runtime: the engine blocks on its own.
        let engine = std::thread::spawn(move || {
            let engine = Arc::new(Engine::open(path).unwrap());
            let root = UserId::new("root").unwrap();
            engine.set_password(&root, "root-pw").unwrap();
            engine
                .sql_blocking(
                    &root,
                    "CREATE NAMESPACE app; CREATE NAMESPACE other;
                     CREATE USER alice WITH PASSWORD 'alice-pw';
                     CREATE USER bob WITH PASSWORD 'bob-pw';
                     CREATE USER carol WITH PASSWORD 'carol-pw' NOLOGIN;
                     CREATE USER dave",
                )
                .unwrap();
            engine
        })
        .join()
        .unwrap();
        let server = Server::bind(
            Arc::clone(&engine),
            ServerOptions {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..options.clone()
            },
        )
        .unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .unwrap();
        });
        Running {
            addr,
            engine: Some(engine),
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Runs `sql` as root in the engine directly, off the test's runtime.
    fn engine_rows(&self, sql: &str) -> usize {
        let engine = Arc::clone(self.engine.as_ref().unwrap());
        let sql = sql.to_owned();
        std::thread::spawn(move || {
            engine
                .sql_blocking(&UserId::new("root").unwrap(), &sql)
                .unwrap()
                .num_rows()
        })
        .join()
        .unwrap()
    }

    fn config(&self, user: &str, password: &str, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.addr.port())
            .user(user)
            .password(password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    async fn connect(&self, user: &str, password: &str) -> Client {
        self.connect_to(user, password, "app").await.unwrap()
    }

    async fn connect_to(
        &self,
        user: &str,
        password: &str,
        database: &str,
    ) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = self.config(user, password, database).connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// [`connect`](Self::connect), and the end of the connection's task: how the server
    /// ended it.
    async fn connect_watched(
        &self,
        user: &str,
        password: &str,
    ) -> (
        Client,
        tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
    ) {
        let (client, connection) = self
            .config(user, password, "app")
            .connect(NoTls)
            .await
            .unwrap();
        (client, tokio::spawn(connection))
    }

    /// Stops the server and waits for it to drain.
    fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        // A failed test may have left a statement running: do not wait for it to drain.
        if std::thread::panicking() {
            return;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        // An engine's runtime cannot be dropped on another runtime's thread.
        if let Some(engine) = self.engine.take() {
            std::thread::spawn(move || drop(engine)).join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn code(err: &tokio_postgres::Error) -> String {
    err.code()
        .map_or_else(|| format!("no SQLSTATE: {err}"), |c| c.code().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_check_passwords_and_tell_nothing_else() {
    let server = Running::start(&ServerOptions::default());
    let ok = server.connect("alice", "alice-pw").await;
    let row = ok.query_one("SELECT current_user", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "alice");

    let mut messages = Vec::new();
    for (user, password) in [
        ("alice", "wrong"),
        ("nobody", "alice-pw"),
        ("carol", "carol-pw"),
        ("dave", ""),
        ("dave", "anything"),
    ] {
        let err = server.connect_to(user, password, "app").await.unwrap_err();
        assert_eq!(code(&err), "28P01", "{user}: {err}");
        let db = err.as_db_error().unwrap();
        messages.push(db.message().replace(user, "USER"));
    }
    // The same words for a wrong password, an unknown user and a locked one.
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");

    // Unlocked, carol gets in; a database that names no namespace is refused.
    let root = server.connect("root", "root-pw").await;
    root.batch_execute("ALTER USER carol LOGIN").await.unwrap();
    server.connect("carol", "carol-pw").await;
    let err = server
        .connect_to("root", "root-pw", "nowhere")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "3D000");
    // A user changes their own password, and only that.
    let alice = server.connect("alice", "alice-pw").await;
    alice
        .batch_execute("ALTER USER alice WITH PASSWORD 'new-pw'")
        .await
        .unwrap();
    let err = alice
        .batch_execute("ALTER USER bob WITH PASSWORD 'x'")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42501");
    server.connect("alice", "new-pw").await;
    assert_eq!(
        code(
            &server
                .connect_to("alice", "alice-pw", "app")
                .await
                .unwrap_err()
        ),
        "28P01"
    );
    // system.users shows that there is a password, never its verifier.
    let rows = root
        .simple_query("SELECT user_id, password FROM system.users WHERE user_id = 'alice'")
        .await
        .unwrap();
    let shown: Vec<Option<&str>> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(1)),
            _ => None,
        })
        .collect();
    assert_eq!(shown, [Some("********")]);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_through_the_wire_in_the_database_namespace() {
    let server = Running::start(&ServerOptions::default());
    let root = server.connect("root", "root-pw").await;
    root.batch_execute(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, price DOUBLE, ok BOOLEAN, \
         blob BYTEA, at TIMESTAMP, n INT);
         INSERT INTO items VALUES (1, 'one', 1.5, true, NULL, NULL, 10), (2, 'two', 2.5, false, NULL, NULL, 20)",
    )
    .await
    .unwrap();
    // The table is app.items: the database named its namespace.
    assert_eq!(server.engine_rows("SELECT * FROM app.items"), 2);

    // Prepared statements with typed parameters, in binary, both ways.
    let insert = root
        .prepare("INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .await
        .unwrap();
    let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
    let n = root
        .execute(
            &insert,
            &[
                &3i64,
                &"three",
                &3.25f64,
                &true,
                &vec![0u8, 1, 255],
                &at,
                &30i32,
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let select = root
        .prepare("SELECT name, price, ok, blob, at, n FROM items WHERE id = $1")
        .await
        .unwrap();
    let row = root.query_one(&select, &[&3i64]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "three");
    assert_eq!(row.get::<_, f64>(1), 3.25);
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, Vec<u8>>(3), vec![0, 1, 255]);
    assert_eq!(row.get::<_, SystemTime>(4), at);
    assert_eq!(row.get::<_, i32>(5), 30);
    let none = root.query_opt(&select, &[&99i64]).await.unwrap();
    assert!(none.is_none());
    // A range through the planned path, the same statement many times.
    let range = root
        .prepare("SELECT id FROM items WHERE id BETWEEN $1 AND $2 ORDER BY id")
        .await
        .unwrap();
    for _ in 0..3 {
        let ids: Vec<i64> = root
            .query(&range, &[&1i64, &2i64])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, [1, 2]);
    }
    let updated = root
        .execute(
            "UPDATE items SET n = n + $1 WHERE id <= $2",
            &[&1i32, &2i64],
        )
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let deleted = root
        .execute("DELETE FROM items WHERE id = 2", &[])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let sum: i64 = root
        .query_one("SELECT sum(n) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, 11 + 30);

    // Errors carry their SQLSTATE, and the connection goes on.
    for (sql, state) in [
        ("SELEC 1", SqlState::SYNTAX_ERROR),
        ("SELECT * FROM missing", SqlState::UNDEFINED_TABLE),
        (
            "INSERT INTO items VALUES (1, 'dup', 0, true, NULL, NULL, 0)",
            SqlState::UNIQUE_VIOLATION,
        ),
        ("SET no_such_setting = 1", SqlState::UNDEFINED_OBJECT),
    ] {
        let err = root.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code(), Some(&state), "{sql}: {err}");
        let err = root.query(sql, &[]).await.unwrap_err();
        assert_eq!(err.code(), Some(&state), "{sql} (extended): {err}");
    }
    assert_eq!(root.query("SELECT 1", &[]).await.unwrap().len(), 1);

    // Session settings and the functions that name the session.
    root.batch_execute("SET search_path TO other")
        .await
        .unwrap();
    let row = root
        .query_one(
            "SELECT current_schema(), current_database(), version()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "other");
    assert_eq!(row.get::<_, String>(1), "app");
    assert!(row.get::<_, String>(2).starts_with("PostgreSQL 15"));
    let err = root.batch_execute("SELECT * FROM items").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));
    let shown = root.query_one("SHOW search_path", &[]).await.unwrap();
    assert_eq!(shown.get::<_, String>(0), "other");
    root.batch_execute(
        "SET search_path = app; SET application_name = 'tests'; SET extra_float_digits = 3",
    )
    .await
    .unwrap();
    assert_eq!(
        root.query("SELECT id FROM items", &[]).await.unwrap().len(),
        2
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_users_over_the_wire() {
    let server = Running::start(&ServerOptions::default());
    let mut root = server.connect("root", "root-pw").await;
    root.batch_execute(
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT);
         INSERT INTO accounts VALUES (1, 100), (2, 100);
         CREATE USER TABLE notes (id BIGINT PRIMARY KEY, body TEXT)",
    )
    .await
    .unwrap();

    // A transaction through the driver's API, committed.
    let tx = root.transaction().await.unwrap();
    tx.execute(
        "UPDATE accounts SET balance = balance - 30 WHERE id = 1",
        &[],
    )
    .await
    .unwrap();
    tx.execute(
        "UPDATE accounts SET balance = balance + 30 WHERE id = 2",
        &[],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let other = server.connect("root", "root-pw").await;
    let balances: Vec<i64> = other
        .query("SELECT balance FROM accounts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(balances, [70, 130]);

    // Two writers of one row: the second COMMIT fails with 40001, and its session is
    // out of the transaction (a retry loop's ROLLBACK, then the next statement, work).
    root.batch_execute("BEGIN; UPDATE accounts SET balance = 0 WHERE id = 1")
        .await
        .unwrap();
    other
        .batch_execute("BEGIN; UPDATE accounts SET balance = 1 WHERE id = 1; COMMIT")
        .await
        .unwrap();
    let err = root.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE),
        "{err}"
    );
    root.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(root.query("SELECT 1", &[]).await.unwrap().len(), 1);

    // A failed statement fails the transaction; COMMIT then rolls it back.
    root.batch_execute("BEGIN; UPDATE accounts SET balance = 5 WHERE id = 2")
        .await
        .unwrap();
    assert!(root.batch_execute("SELECT * FROM missing").await.is_err());
    let err = root.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    root.batch_execute("COMMIT").await.unwrap();
    let b: i64 = root
        .query_one("SELECT balance FROM accounts WHERE id = 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(b, 130);

    // USER tables stay per user over the wire.
    let alice = server.connect("alice", "alice-pw").await;
    let bob = server.connect("bob", "bob-pw").await;
    alice
        .execute("INSERT INTO notes VALUES ($1, $2)", &[&1i64, &"alice's"])
        .await
        .unwrap();
    bob.execute("INSERT INTO notes VALUES ($1, $2)", &[&1i64, &"bob's"])
        .await
        .unwrap();
    assert_eq!(notes(&alice).await, ["alice's"]);
    assert_eq!(notes(&bob).await, ["bob's"]);
    // Users cannot do what only administrators may.
    let err = alice
        .batch_execute("CREATE TABLE t2 (id INT PRIMARY KEY)")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    server.stop();
}

async fn notes(client: &Client) -> Vec<String> {
    client
        .query("SELECT body FROM notes", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A result larger than any buffer arrives whole, row by row; a client that leaves in the
/// middle of one leaves the server serving; an error in the middle of the rows reaches
/// the client after the rows before it, and fails the transaction it was read in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_stream_to_the_client() {
    let server = Running::start(&ServerOptions::default());
    let root = server.connect("root", "root-pw").await;
    root.batch_execute("CREATE TABLE big (id BIGINT PRIMARY KEY, pad TEXT)")
        .await
        .unwrap();
    let rows = 60_000;
    for chunk in 0..(rows / 2000) {
        let values: Vec<String> = (chunk * 2000..(chunk + 1) * 2000)
            .map(|i| format!("({i}, '{}')", "p".repeat(100)))
            .collect();
        root.batch_execute(&format!("INSERT INTO big VALUES {}", values.join(", ")))
            .await
            .unwrap();
    }
    // Simple protocol: every row, in order.
    let messages = root.simple_query("SELECT id, pad FROM big").await.unwrap();
    let ids: Vec<i64> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), rows);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // The same with a literal in WHERE, twice: the session's kept plan streams as well.
    for low in [10, 20] {
        let messages = root
            .simple_query(&format!("SELECT id FROM big WHERE id >= {low}"))
            .await
            .unwrap();
        let count = messages
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count();
        assert_eq!(count, rows - low);
    }
    // Extended protocol, a prepared statement with parameters: every row too.
    let prepared = root
        .prepare("SELECT id, pad FROM big WHERE id >= $1 AND id < $2")
        .await
        .unwrap();
    let found = root.query(&prepared, &[&5i64, &55_000i64]).await.unwrap();
    assert_eq!(found.len(), 54_995);
    assert_eq!(found.last().unwrap().get::<_, i64>(0), 54_999);

    // A client that takes a few rows and leaves.
    for _ in 0..3 {
        let quitter = server.connect("root", "root-pw").await;
        let mut stream = Box::pin(
            quitter
                .query_raw("SELECT id, pad FROM big", std::iter::empty::<i64>())
                .await
                .unwrap(),
        );
        use futures::StreamExt;
        for _ in 0..5 {
            stream.next().await.unwrap().unwrap();
        }
        drop(stream);
        drop(quitter);
    }
    assert_eq!(root.query("SELECT 1", &[]).await.unwrap().len(), 1);

    // An error after some rows: the rows, then the error; in a transaction, it fails it.
    root.batch_execute("BEGIN").await.unwrap();
    let err = root
        .simple_query("SELECT 10 / (id - 50000) FROM big")
        .await
        .unwrap_err();
    assert!(err.code().is_some(), "{err}");
    let err = root.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    root.batch_execute("ROLLBACK").await.unwrap();
    // The same through a prepared statement's stream.
    root.batch_execute("BEGIN").await.unwrap();
    let err = root
        .query("SELECT 10 / (id - $1) FROM big", &[&50_000i64])
        .await
        .unwrap_err();
    assert!(err.code().is_some(), "{err}");
    let err = root.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    root.batch_execute("ROLLBACK").await.unwrap();
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_with_the_protocols_errors() {
    let server = Running::start(&ServerOptions {
        max_connections: 2,
        idle_timeout: Some(Duration::from_millis(600)),
        max_statement_bytes: 1000,
        // One worker thread serves every connection.
        workers: 1,
        ..ServerOptions::default()
    });
    let (a, a_end) = server.connect_watched("root", "root-pw").await;
    let b = server.connect("root", "root-pw").await;
    let err = server
        .connect_to("root", "root-pw", "app")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::TOO_MANY_CONNECTIONS), "{err}");

    let long = format!("SELECT '{}'", "x".repeat(2000));
    let err = a.batch_execute(&long).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::PROGRAM_LIMIT_EXCEEDED));
    let err = a.query(&long, &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::PROGRAM_LIMIT_EXCEEDED));
    a.batch_execute("SELECT 1").await.unwrap();

    // Idle connections close after the timeout, saying so, and free their places.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(a.batch_execute("SELECT 1").await.is_err());
    let err = a_end.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IDLE_SESSION_TIMEOUT), "{err}");
    assert!(b.is_closed() || b.batch_execute("SELECT 1").await.is_err());
    let c = server.connect("root", "root-pw").await;
    c.batch_execute("SELECT 1").await.unwrap();
    server.stop();
}

/// A subquery run per outer row blocks the thread that runs its statement, and the plan of
/// one over a UNION spawns tasks to merge its partitions: they must not wait for that
/// thread, whether the connection has a thread of its own or shares the only worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subquery_per_row_over_a_union_answers_on_any_runtime() {
    for workers in [0, 1] {
        let server = Running::start(&ServerOptions {
            workers,
            ..ServerOptions::default()
        });
        let root = server.connect("root", "root-pw").await;
        root.batch_execute(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, b BIGINT);
             INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (4, 40)",
        )
        .await
        .unwrap();
        // Correlated by `<`: DataFusion cannot make it a join, the engine runs it per row.
        let sql = "SELECT id, (SELECT count(*) FROM (SELECT b FROM t UNION ALL SELECT b FROM t) x \
                   WHERE x.b < t.b) AS below FROM t ORDER BY id";
        let rows = tokio::time::timeout(Duration::from_secs(60), root.query(sql, &[]))
            .await
            .unwrap_or_else(|_| panic!("no answer in a minute with workers = {workers}"))
            .unwrap();
        let got: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // Each b has the smaller ones below it, twice over in the UNION ALL.
        let bs = [10i64, 20, 30, 40];
        let expected: Vec<(i64, i64)> = (1..=4)
            .zip(bs)
            .map(|(id, b)| (id, 2 * bs.iter().filter(|&&x| x < b).count() as i64))
            .collect();
        assert_eq!(got, expected, "workers = {workers}");
        server.stop();
    }
}

/// Random and truncated protocol messages, from many connections at once: none brings the
/// server down, and a client connected throughout goes on working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bytes_close_only_their_own_connection() {
    let server = Running::start(&ServerOptions::default());
    let client = server.connect("root", "root-pw").await;
    let startup = {
        let mut body = Vec::new();
        body.extend_from_slice(&196_608u32.to_be_bytes());
        for part in ["user", "root", "database", "app"] {
            body.extend_from_slice(part.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut message = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        message.extend_from_slice(&body);
        message
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut tasks = Vec::new();
    for round in 0..64 {
        let len = (next() % 300) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let prefix = match round % 4 {
            // A valid startup, then garbage where SCRAM's messages belong.
            0 => startup.clone(),
            // A startup cut short, and nothing after it.
            1 => {
                bytes.clear();
                startup[..(next() as usize % startup.len())].to_vec()
            }
            // A message that claims to be huge.
            2 => vec![0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff],
            _ => Vec::new(),
        };
        bytes.splice(0..0, prefix);
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let Ok(mut socket) = tokio::net::TcpStream::connect(addr).await else {
                return;
            };
            let _ = socket.write_all(&bytes).await;
            let mut sink = vec![0; 4096];
            let _ = tokio::time::timeout(Duration::from_millis(500), socket.read(&mut sink)).await;
        }));
        if round % 8 == 0 {
            client.batch_execute("SELECT 1").await.unwrap();
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let row = client.query_one("SELECT 41 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    server.connect("root", "root-pw").await;
    server.stop();
}

/// 32 connections of transfers, inserts and reads for a bounded time; then the money is
/// all there, every insert acknowledged is there once, and the index agrees with the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_connections_keep_the_invariants() {
    let server = Running::start(&ServerOptions::default());
    let root = server.connect("root", "root-pw").await;
    root.batch_execute(
        "CREATE TABLE acct (id BIGINT PRIMARY KEY, balance BIGINT, k INT);
         CREATE INDEX ON acct (k);
         CREATE TABLE log (id BIGINT PRIMARY KEY, who INT)",
    )
    .await
    .unwrap();
    let values: Vec<String> = (0..64).map(|i| format!("({i}, 1000, {})", i % 8)).collect();
    root.batch_execute(&format!("INSERT INTO acct VALUES {}", values.join(", ")))
        .await
        .unwrap();
    let inserted = Arc::new(AtomicU64::new(0));
    let next_id = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut workers = Vec::new();
    for w in 0..32u32 {
        let client = server.connect("root", "root-pw").await;
        let (inserted, next_id) = (Arc::clone(&inserted), Arc::clone(&next_id));
        workers.push(tokio::spawn(async move {
            let debit = client
                .prepare("UPDATE acct SET balance = balance - $1 WHERE id = $2")
                .await
                .unwrap();
            let credit = client
                .prepare("UPDATE acct SET balance = balance + $1 WHERE id = $2")
                .await
                .unwrap();
            let insert = client
                .prepare("INSERT INTO log VALUES ($1, $2)")
                .await
                .unwrap();
            let read = client
                .prepare("SELECT balance FROM acct WHERE id = $1")
                .await
                .unwrap();
            let mut i = u64::from(w);
            while Instant::now() < deadline {
                i = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let (from, to) = ((i >> 33) as i64 % 64, (i >> 40) as i64 % 64);
                match i % 3 {
                    0 => {
                        client.batch_execute("BEGIN").await.unwrap();
                        let ok = client.execute(&debit, &[&7i64, &from]).await.is_ok()
                            && client.execute(&credit, &[&7i64, &to]).await.is_ok();
                        let end = if ok { "COMMIT" } else { "ROLLBACK" };
                        // A COMMIT that loses to another writer fails with 40001: retried
                        // by nobody here, and nothing of it stays.
                        if let Err(err) = client.batch_execute(end).await {
                            assert_eq!(
                                err.code(),
                                Some(&SqlState::T_R_SERIALIZATION_FAILURE),
                                "{err}"
                            );
                        }
                    }
                    1 => {
                        let id = next_id.fetch_add(1, Ordering::Relaxed) as i64;
                        client.execute(&insert, &[&id, &(w as i32)]).await.unwrap();
                        inserted.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        client.query_one(&read, &[&from]).await.unwrap();
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let total: i64 = root
        .query_one("SELECT sum(balance) FROM acct", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 64 * 1000);
    let logged: i64 = root
        .query_one("SELECT count(*) FROM log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged as u64, inserted.load(Ordering::Relaxed));
    assert!(logged > 0);
    for k in 0..8i32 {
        let by_index: i64 = root
            .query_one("SELECT count(*) FROM acct WHERE k = $1", &[&k])
            .await
            .unwrap()
            .get(0);
        assert_eq!(by_index, 8, "k = {k}");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_drains_and_keeps_what_was_acknowledged() {
    let mut server = Running::start(&ServerOptions::default());
    let root = server.connect("root", "root-pw").await;
    root.batch_execute("CREATE TABLE kept (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    for i in 0..20i64 {
        root.execute("INSERT INTO kept VALUES ($1)", &[&i])
            .await
            .unwrap();
    }
    let (idle, idle_end) = server.connect_watched("alice", "alice-pw").await;
    let stopping = std::thread::spawn({
        let stop = server.stop.take();
        let thread = server.thread.take();
        move || {
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
            if let Some(thread) = thread {
                thread.join().unwrap();
            }
        }
    });
    tokio::task::spawn_blocking(move || stopping.join().unwrap())
        .await
        .unwrap();
    // Stopped: connections are closed, saying so, and no new ones are taken.
    assert!(idle.batch_execute("SELECT 1").await.is_err());
    let err = idle_end.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::ADMIN_SHUTDOWN), "{err}");
    assert!(root.batch_execute("SELECT 1").await.is_err());
    assert!(server.connect_to("root", "root-pw", "app").await.is_err());
    assert_eq!(server.engine_rows("SELECT id FROM app.kept"), 20);
}
