//! `kalam serve` through psql, PostgreSQL's own client (Debian's postgresql-client, which
//! `scripts/setup.sh` installs): a password login, DDL, DML, SQL's PREPARE and EXECUTE,
//! errors with their SQLSTATE, a transaction, two users' rows, a refused login, and the
//! drain on SIGTERM. The whole transcript is compared with `tests/psql/session.out`
//! (`KALAM_BLESS=1` rewrites it; read the diff before committing).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `kalam serve` on a free port of a fresh directory, and the port.
fn serve(dir: &Path) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kalam"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("KALAM_ROOT_PASSWORD", "root-pw")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("kalam serve ended before listening")
            .unwrap();
        if let Some(addr) = line.strip_prefix("kalam serve: listening on ") {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining its standard error, so that it never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

/// Runs `script` in psql as `user`, and returns what psql printed (both streams).
fn psql(port: u16, user: &str, password: &str, database: &str, script: &str) -> String {
    // Both streams into one file, in the order psql writes them.
    let mut out = tempfile::tempfile().unwrap();
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-v", "VERBOSITY=verbose", "-f", "-"])
        .arg(format!(
            "host=127.0.0.1 port={port} user={user} dbname={database} connect_timeout=10"
        ))
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "disable")
        .stdin(Stdio::piped())
        .stdout(out.try_clone().unwrap())
        .stderr(out.try_clone().unwrap())
        .spawn()
        .expect("psql runs: install postgresql-client (scripts/setup.sh does)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait().unwrap();
    let mut text = String::new();
    out.seek(SeekFrom::Start(0)).unwrap();
    out.read_to_string(&mut text).unwrap();
    text.replace(&format!("port {port}"), "port PORT")
}

#[test]
fn psql_session() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = serve(dir.path());
    let mut transcript = String::new();
    let mut session = |title: &str, user: &str, password: &str, database: &str, script: &str| {
        transcript.push_str(&format!("-- {title}\n"));
        transcript.push_str(&psql(port, user, password, database, script));
    };
    session(
        "root, no database yet",
        "root",
        "root-pw",
        "postgres",
        "CREATE NAMESPACE app;\nCREATE USER alice WITH PASSWORD 'alice-pw';\n",
    );
    session(
        "root in app",
        "root",
        "root-pw",
        "app",
        "CREATE TABLE kv (id INT PRIMARY KEY, v TEXT, n BIGINT);
INSERT INTO kv VALUES (1, 'one', 10), (2, 'two', 20);
SELECT id, v, n FROM kv ORDER BY id;
UPDATE kv SET n = n + 1 WHERE id = 1;
PREPARE get (INT) AS SELECT v, n FROM kv WHERE id = $1;
EXECUTE get (1);
EXECUTE get (3);
DEALLOCATE get;
EXECUTE get (1);
SELECT * FROM missing;
INSERT INTO kv VALUES (1, 'dup', 0);
SELEC 1;
BEGIN;
INSERT INTO kv VALUES (3, 'three', 30);
SELECT count(*) AS inside FROM kv;
ROLLBACK;
SELECT count(*) AS after FROM kv;
SELECT current_user, current_database(), current_schema();
CREATE USER TABLE notes (id INT PRIMARY KEY, body TEXT);
INSERT INTO notes VALUES (1, 'root''s note');
",
    );
    session(
        "alice in app",
        "alice",
        "alice-pw",
        "app",
        "INSERT INTO notes VALUES (1, 'alice''s note');
SELECT body FROM notes;
CREATE TABLE t (id INT PRIMARY KEY);
",
    );
    session(
        "root again",
        "root",
        "root-pw",
        "app",
        "SELECT body FROM notes;\n",
    );
    session("a wrong password", "alice", "nope", "app", "SELECT 1;\n");
    session(
        "a database that is no namespace",
        "root",
        "root-pw",
        "nowhere",
        "SELECT 1;\n",
    );

    // SIGTERM drains and ends the process cleanly.
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");

    let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psql/session.out");
    if std::env::var_os("KALAM_BLESS").is_some() {
        std::fs::write(&expected, &transcript).unwrap();
    }
    let wanted = std::fs::read_to_string(&expected).unwrap_or_default();
    assert_eq!(
        transcript, wanted,
        "the psql transcript differs from tests/psql/session.out (KALAM_BLESS=1 rewrites it)"
    );
}
