//! The two engines behind one interface: prepared statements run with parameters, and
//! results turned into comparable rows after the clock stops.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{
    Array, AsArray, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use rusqlite::types::ValueRef;

use super::{BenchError, SqliteCache, Tables};
use crate::engine::Open;
use crate::{Durability, Engine, EngineOptions, Prepared, QueryResult, UserId, Value};

/// One value of a result, in the types both engines share (booleans and timestamps are
/// integers, as SQLite stores them).
#[derive(Clone, Debug)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Int(_) | Cell::Float(_) => 1,
            Cell::Text(_) => 2,
            Cell::Bytes(_) => 3,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match *self {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(f) => Some(f),
            _ => None,
        }
    }

    fn total_cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            (Cell::Bytes(a), Cell::Bytes(b)) => a.cmp(b),
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                _ => self.rank().cmp(&other.rank()),
            },
        }
    }

    /// Equal, floats within a relative 1e-9 (sums and averages add in different orders).
    fn same(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Int(a), Cell::Int(b)) => a == b,
            (Cell::Float(_), _) | (_, Cell::Float(_)) => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
                _ => false,
            },
            (Cell::Null, Cell::Null) => true,
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::Bytes(a), Cell::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Text(s) => write!(f, "'{s}'"),
            Cell::Bytes(b) => write!(
                f,
                "x'{}'",
                b.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        }
    }
}

/// The rows of a result, or the count of rows a write changed.
#[derive(Clone, Debug)]
pub(crate) enum Rows {
    Rows(Vec<Vec<Cell>>),
    Changed(u64),
}

impl Rows {
    /// Sorted rows, so that results without `ORDER BY` compare whatever order each engine
    /// returns them in.
    pub(crate) fn sorted(self) -> Rows {
        match self {
            Rows::Rows(mut rows) => {
                rows.sort_by(|a, b| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| x.total_cmp(y))
                        .find(|o| o.is_ne())
                        .unwrap_or(Ordering::Equal)
                });
                Rows::Rows(rows)
            }
            changed => changed,
        }
    }

    /// Same rows (after [`sorted`](Self::sorted)) or the same count.
    pub(crate) fn same(&self, other: &Rows) -> bool {
        match (self, other) {
            (Rows::Rows(a), Rows::Rows(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.same(q)))
            }
            (Rows::Changed(a), Rows::Changed(b)) => a == b,
            _ => false,
        }
    }

    /// The first rows, for an error message.
    pub(crate) fn sample(&self) -> String {
        match self {
            Rows::Changed(n) => format!("{n} rows changed"),
            Rows::Rows(rows) => {
                let mut out = format!("{} rows", rows.len());
                for row in rows.iter().take(3) {
                    let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
                    out.push_str(&format!("\n      ({})", cells.join(", ")));
                }
                if rows.len() > 3 {
                    out.push_str("\n      ...");
                }
                out
            }
        }
    }
}

/// What a statement returned, as each engine hands it over: the engine's Arrow batches,
/// SQLite's rows read in place (copied out afterwards, outside the timing), or a count.
#[derive(Debug)]
pub(crate) enum Output {
    Kalam(QueryResult),
    /// A SQLite query whose rows were stepped through and read in place.
    SqliteRead,
    Changed(u64),
}

/// The engine's batches as comparable rows.
fn kalam_rows(result: &QueryResult) -> Result<Rows, BenchError> {
    if let Some(count) = result.rows_affected() {
        return Ok(Rows::Changed(count));
    }
    let mut rows = Vec::new();
    for batch in result.batches() {
        let start = rows.len();
        rows.resize_with(start + batch.num_rows(), Vec::new);
        for column in batch.columns() {
            for (i, row) in rows[start..].iter_mut().enumerate() {
                row.push(cell(column.as_ref(), i)?);
            }
        }
    }
    Ok(Rows::Rows(rows))
}

fn cell(array: &dyn Array, row: usize) -> Result<Cell, BenchError> {
    if array.is_null(row) {
        return Ok(Cell::Null);
    }
    let any = array.as_any();
    Ok(match array.data_type() {
        DataType::Boolean => Cell::Int(i64::from(
            any.downcast_ref::<BooleanArray>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
        )),
        DataType::Int32 => Cell::Int(i64::from(
            any.downcast_ref::<Int32Array>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
        )),
        DataType::Int64 => Cell::Int(
            any.downcast_ref::<Int64Array>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
        ),
        DataType::UInt64 => Cell::Int(
            any.downcast_ref::<UInt64Array>()
                .map(|a| a.value(row) as i64)
                .unwrap_or_default(),
        ),
        DataType::Float64 => Cell::Float(
            any.downcast_ref::<Float64Array>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
        ),
        DataType::Utf8 => Cell::Text(
            any.downcast_ref::<StringArray>()
                .map(|a| a.value(row).to_owned())
                .unwrap_or_default(),
        ),
        DataType::Utf8View => Cell::Text(array.as_string_view().value(row).to_owned()),
        DataType::Binary => Cell::Bytes(
            any.downcast_ref::<BinaryArray>()
                .map(|a| a.value(row).to_vec())
                .unwrap_or_default(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, None) => Cell::Int(
            any.downcast_ref::<TimestampMicrosecondArray>()
                .map(|a| a.value(row))
                .unwrap_or_default(),
        ),
        other => {
            return Err(BenchError::Setup(format!(
                "the engine returned a {other} column, which the comparison does not know"
            )));
        }
    })
}

/// An engine under test.
/// The longest a side waits for its deferred work before a test ([`Side::settle`]).
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

pub(crate) trait Side {
    /// Prepares `sql` (written for the engine, `$n` parameters); returns its handle.
    fn prepare(&mut self, sql: &str) -> Result<usize, BenchError>;
    /// Runs a prepared statement: the part that is timed.
    fn run(&mut self, statement: usize, params: &[Value]) -> Result<Output, BenchError>;
    /// `sql`, written for the engine, in this side's dialect: done before a text step's
    /// clock starts, so that a side is not timed translating what it was not sent.
    fn dialect<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(sql)
    }
    /// Runs SQL text once, unprepared: `sql` is in the side's [dialect](Self::dialect).
    fn batch(&mut self, sql: &str) -> Result<Output, BenchError>;
    /// Begins a transaction: the runs up to [`commit`](Self::commit) are in it.
    fn begin(&mut self) -> Result<Output, BenchError>;
    /// Commits the transaction.
    fn commit(&mut self) -> Result<Output, BenchError>;
    /// Ends the transaction, if one is open, writing nothing of it (after a failed event).
    fn rollback(&mut self) -> Result<(), BenchError>;
    /// Finishes the work the side leaves for later (the engine's flushes and compactions,
    /// SQLite's WAL checkpoint) before a test's clock starts: one test's deferred work is
    /// not timed in the next (sysbench, run test by test, prepares anew each time).
    fn settle(&mut self) -> Result<(), BenchError>;
    /// What a run returned, as comparable rows (not timed).
    fn rows(
        &mut self,
        statement: usize,
        params: &[Value],
        output: Output,
    ) -> Result<Rows, BenchError>;
}

/// The engine, as `root`, on its own RocksDB directory, with the suite's tables declared
/// as `tables` says. Threads share one engine, each with a `Kalam` of its own
/// ([`sharing`](Self::sharing)): its own prepared statements and transaction.
pub(crate) struct Kalam {
    engine: Arc<Engine>,
    root: UserId,
    tables: Tables,
    prepared: Vec<Prepared>,
    /// The transaction the runs are in, between `begin` and `commit`.
    open: Option<Open>,
}

impl fmt::Debug for Kalam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kalam")
            .field("prepared", &self.prepared.len())
            .finish()
    }
}

impl Kalam {
    pub(crate) fn open(
        dir: &Path,
        options: &EngineOptions,
        tables: Tables,
    ) -> Result<Self, BenchError> {
        let engine = Arc::new(Engine::open_with(dir, options)?);
        let root = UserId::new("root").map_err(|e| BenchError::Setup(e.to_string()))?;
        Ok(Kalam {
            engine,
            root,
            tables,
            prepared: Vec::new(),
            open: None,
        })
    }

    /// Another client of the same engine, as the same user: no statements prepared, no
    /// transaction open.
    pub(crate) fn sharing(&self) -> Kalam {
        Kalam {
            engine: Arc::clone(&self.engine),
            root: self.root.clone(),
            tables: self.tables,
            prepared: Vec::new(),
            open: None,
        }
    }

    /// How its tables are declared.
    pub(crate) fn tables(&self) -> Tables {
        self.tables
    }

    /// `test`, naming the variant when it is not the tables declared in SQL.
    pub(crate) fn label(&self, test: &str) -> String {
        match self.tables {
            Tables::Typed => format!("{test} (tables declared in Rust)"),
            _ => test.to_owned(),
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn root(&self) -> &UserId {
        &self.root
    }
}

impl Side for Kalam {
    fn prepare(&mut self, sql: &str) -> Result<usize, BenchError> {
        let prepared = self.engine.prepare_blocking(&self.root, sql)?;
        self.prepared.push(prepared);
        Ok(self.prepared.len() - 1)
    }

    fn run(&mut self, statement: usize, params: &[Value]) -> Result<Output, BenchError> {
        let prepared = &self.prepared[statement];
        let result = match &self.open {
            Some(open) => self.engine.execute_in(open, prepared, params)?,
            None => self.engine.execute_blocking(prepared, params)?,
        };
        Ok(Output::Kalam(result))
    }

    fn begin(&mut self) -> Result<Output, BenchError> {
        self.open = Some(self.engine.open_txn(&self.root)?);
        Ok(Output::Changed(0))
    }

    fn commit(&mut self) -> Result<Output, BenchError> {
        if let Some(open) = self.open.take() {
            self.engine.commit_open(open)?;
        }
        Ok(Output::Changed(0))
    }

    fn rollback(&mut self) -> Result<(), BenchError> {
        // A transaction held without a handle writes nothing until committed.
        self.open = None;
        Ok(())
    }

    fn settle(&mut self) -> Result<(), BenchError> {
        // Bounded: a test's own writes are not waited out forever.
        self.engine
            .storage()
            .wait_for_background(SETTLE_LIMIT)
            .map_err(crate::Error::from)?;
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<Output, BenchError> {
        Ok(Output::Kalam(self.engine.sql_blocking(&self.root, sql)?))
    }

    fn rows(&mut self, _: usize, _: &[Value], output: Output) -> Result<Rows, BenchError> {
        match output {
            Output::Kalam(result) => kalam_rows(&result),
            Output::Changed(n) => Ok(Rows::Changed(n)),
            Output::SqliteRead => Err(BenchError::Setup("a SQLite result from the engine".into())),
        }
    }
}

/// SQLite's version of a statement written for the engine: no namespace, no table kind,
/// `?n` parameters.
pub(crate) fn sqlite_sql(sql: &str) -> String {
    let sql = sql
        .replace("CREATE SHARED TABLE", "CREATE TABLE")
        .replace("sb.", "");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// SQLite through rusqlite, its bundled library, in WAL mode. Threads each open a
/// connection of their own to the same file.
pub(crate) struct Sqlite {
    connection: rusqlite::Connection,
    statements: Vec<String>,
    /// How a transaction begins: `BEGIN`, or `BEGIN IMMEDIATE` for writers among
    /// several connections (a deferred one that reads, then writes, fails with
    /// `SQLITE_BUSY` when another connection wrote in between, whatever the timeout).
    begin: &'static str,
}

impl fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sqlite")
            .field("statements", &self.statements)
            .finish()
    }
}

impl Sqlite {
    /// `synchronous` as matched to the engine's durability.
    pub(crate) fn synchronous(durability: Durability) -> &'static str {
        match durability {
            Durability::Machine => "FULL",
            _ => "NORMAL",
        }
    }

    pub(crate) fn open(
        path: &Path,
        durability: Durability,
        cache: SqliteCache,
    ) -> Result<Self, BenchError> {
        let connection = rusqlite::Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", Self::synchronous(durability))?;
        if let Some(bytes) = cache.bytes() {
            // A negative cache_size is in KiB.
            connection.pragma_update(None, "cache_size", -((bytes >> 10) as i64))?;
            connection.pragma_update(None, "mmap_size", bytes as i64)?;
        }
        connection.set_prepared_statement_cache_capacity(64);
        // Other connections' writes wait for the lock rather than fail at once.
        connection.busy_timeout(Duration::from_secs(10))?;
        Ok(Sqlite {
            connection,
            statements: Vec::new(),
            begin: "BEGIN",
        })
    }

    /// Transactions begin with `BEGIN IMMEDIATE`: the write lock taken first.
    pub(crate) fn begin_immediate(mut self) -> Self {
        self.begin = "BEGIN IMMEDIATE";
        self
    }

    pub(crate) fn version() -> &'static str {
        rusqlite::version()
    }
}

/// A parameter bound by reference: no copy of its text or bytes.
struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Boolean(b) => ValueRef::Integer(i64::from(*b)),
            Value::Int32(i) => ValueRef::Integer(i64::from(*i)),
            Value::Int64(i) | Value::Timestamp(i) => ValueRef::Integer(*i),
            Value::Float64(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

impl Side for Sqlite {
    fn prepare(&mut self, sql: &str) -> Result<usize, BenchError> {
        let sql = sqlite_sql(sql);
        // Compiled now (errors surface here) and kept in the connection's cache.
        self.connection.prepare_cached(&sql)?;
        self.statements.push(sql);
        Ok(self.statements.len() - 1)
    }

    fn run(&mut self, statement: usize, params: &[Value]) -> Result<Output, BenchError> {
        let mut stmt = self
            .connection
            .prepare_cached(&self.statements[statement])?;
        let params = rusqlite::params_from_iter(params.iter().map(Param));
        if !stmt.readonly() {
            return Ok(Output::Changed(stmt.execute(params)? as u64));
        }
        // Every value read in place, as a client reads a result; copied out later.
        let width = stmt.column_count();
        let mut rows = stmt.query(params)?;
        while let Some(row) = rows.next()? {
            for i in 0..width {
                std::hint::black_box(row.get_ref(i)?);
            }
        }
        Ok(Output::SqliteRead)
    }

    fn dialect<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        Cow::Owned(sqlite_sql(sql))
    }

    fn batch(&mut self, sql: &str) -> Result<Output, BenchError> {
        let changed = self.connection.execute(sql, [])?;
        Ok(Output::Changed(changed as u64))
    }

    fn begin(&mut self) -> Result<Output, BenchError> {
        self.connection.execute_batch(self.begin)?;
        Ok(Output::Changed(0))
    }

    fn commit(&mut self) -> Result<Output, BenchError> {
        self.connection.execute_batch("COMMIT")?;
        Ok(Output::Changed(0))
    }

    fn rollback(&mut self) -> Result<(), BenchError> {
        if !self.connection.is_autocommit() {
            self.connection.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn settle(&mut self) -> Result<(), BenchError> {
        // The WAL copied into the database and emptied, as a fresh run's would be.
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn rows(
        &mut self,
        statement: usize,
        params: &[Value],
        output: Output,
    ) -> Result<Rows, BenchError> {
        match output {
            Output::Changed(n) => return Ok(Rows::Changed(n)),
            Output::Kalam(_) => {
                return Err(BenchError::Setup("an engine result from SQLite".into()));
            }
            Output::SqliteRead => {}
        }
        // The same query again (nothing ran in between), its values copied out.
        let mut stmt = self
            .connection
            .prepare_cached(&self.statements[statement])?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(Param)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(i) => Cell::Int(i),
                    ValueRef::Real(f) => Cell::Float(f),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            out.push(cells);
        }
        Ok(Rows::Rows(out))
    }
}

impl Sqlite {
    /// Runs `f` in one transaction (for loading data).
    pub(crate) fn in_transaction(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<(), BenchError>,
    ) -> Result<(), BenchError> {
        self.connection.execute_batch("BEGIN")?;
        let result = f(self);
        self.connection
            .execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_translate_for_sqlite() {
        assert_eq!(
            sqlite_sql("SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $12"),
            "SELECT c FROM sbtest1 WHERE id BETWEEN ?1 AND ?12"
        );
        assert_eq!(
            sqlite_sql("CREATE SHARED TABLE sb.t (id BIGINT PRIMARY KEY)"),
            "CREATE TABLE t (id BIGINT PRIMARY KEY)"
        );
    }

    #[test]
    fn a_matched_sqlite_gets_the_engines_memory_and_a_default_one_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let pragma = |sqlite: &Sqlite, name: &str| -> i64 {
            sqlite
                .connection
                .pragma_query_value(None, name, |row| row.get(0))
                .unwrap()
        };
        let path = dir.path().join("matched.db");
        let matched = Sqlite::open(&path, Durability::Process, SqliteCache::Matched).unwrap();
        let bytes = crate::storage::MEMORY_BYTES as i64;
        assert_eq!(pragma(&matched, "cache_size"), -(bytes / 1024));
        assert_eq!(pragma(&matched, "mmap_size"), bytes);
        let path = dir.path().join("default.db");
        let default = Sqlite::open(&path, Durability::Process, SqliteCache::Default).unwrap();
        assert_eq!(pragma(&default, "cache_size"), -2000);
        assert_eq!(pragma(&default, "mmap_size"), 0);
    }

    #[test]
    fn rows_compare_in_any_order_with_float_tolerance() {
        let a = Rows::Rows(vec![
            vec![Cell::Int(2), Cell::Float(0.1 + 0.2)],
            vec![Cell::Int(1), Cell::Text("x".into())],
        ]);
        let b = Rows::Rows(vec![
            vec![Cell::Int(1), Cell::Text("x".into())],
            vec![Cell::Int(2), Cell::Float(0.3)],
        ]);
        assert!(a.clone().sorted().same(&b.clone().sorted()));
        let c = Rows::Rows(vec![
            vec![Cell::Int(1), Cell::Text("y".into())],
            vec![Cell::Int(2), Cell::Float(0.3)],
        ]);
        assert!(!c.sorted().same(&b.sorted()));
        assert!(!Rows::Changed(1).same(&Rows::Changed(2)));
    }
}
