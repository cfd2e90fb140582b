//! The engine against SQLite on random schemas, rows and statements: every query gives
//! the same rows, every write the same count and the same tables after it, and a statement
//! one side refuses the other refuses too. See `generate.rs` for what is generated and
//! which differences of dialect are left out.
//!
//! CI runs [`SEEDS`] seeds of [`STATEMENTS`] statements each, and every seed of
//! [`REGRESSIONS`] (seeds that once failed). `KALAM_DIFF_SEEDS=first..last` and
//! `KALAM_DIFF_STATEMENTS=n` run others: `scripts/differential.sh` runs many.

mod generate;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, UInt64Type};
use kalam_engine::{Engine, QueryResult, UserId};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use generate::{Generator, Rng, render, schema};

/// Seeds run in CI, from 1.
const SEEDS: u64 = 40;
/// Statements per seed in CI.
const STATEMENTS: usize = 60;
/// Seeds that found a defect once, each run in CI with [`STATEMENTS`] statements.
const REGRESSIONS: &[u64] = &[208, 475];

/// A value as both sides print it: integers and booleans as integers (SQLite has no
/// booleans), reals to 6 decimals, text as it is.
fn kalam_value(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".to_owned();
    }
    match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).to_string(),
        DataType::Float64 => format!("{:.6}", array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => u8::from(array.as_boolean().value(row)).to_string(),
        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
        DataType::Utf8View => array.as_string_view().value(row).to_owned(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_owned(),
        other => panic!("a value of type {other} in a generated statement's result"),
    }
}

fn kalam_rows(result: &QueryResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for batch in result.batches() {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| kalam_value(c.as_ref(), row))
                    .collect(),
            );
        }
    }
    rows
}

fn sqlite_rows(db: &Connection, sql: &str) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut statement = db.prepare(sql)?;
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => format!("{v:.6}"),
                        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        ValueRef::Blob(b) => format!("{b:?}"),
                    })
                })
                .collect()
        })?
        .collect()
}

/// One run: a fresh schema on both sides, then `statements` statements.
struct Run {
    seed: u64,
    engine: Engine,
    db: Connection,
    user: UserId,
    /// The statements so far, to reproduce a failure.
    history: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Run {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let user = UserId::new("root").unwrap();
        engine.sql_blocking(&user, "CREATE NAMESPACE ns").unwrap();
        Run {
            seed,
            engine,
            db: Connection::open_in_memory().unwrap(),
            user,
            history: Vec::new(),
            _dir: dir,
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "seed {}: {what}\nstatements of the run, the failing one last:\n{}",
            self.seed,
            self.history.join(";\n")
        )
    }

    fn setup(&mut self, statement: &str) {
        self.history.push(render(statement, None));
        if let Err(e) = self.db.execute_batch(&render(statement, None)) {
            self.fail(&format!("SQLite refused the schema: {e}"));
        }
        if let Err(e) = self
            .engine
            .sql_blocking(&self.user, &render(statement, Some("ns")))
        {
            self.fail(&format!("the engine refused the schema: {e}"));
        }
    }

    fn query(&mut self, statement: &str, ordered: bool) {
        self.history.push(render(statement, None));
        let kalam = self
            .engine
            .sql_blocking(&self.user, &render(statement, Some("ns")))
            .map(|r| kalam_rows(&r));
        let sqlite = sqlite_rows(&self.db, &render(statement, None));
        match (kalam, sqlite) {
            (Ok(mut kalam), Ok(mut sqlite)) => {
                if !ordered {
                    kalam.sort();
                    sqlite.sort();
                }
                if kalam != sqlite {
                    self.fail(&format!(
                        "different rows\nengine: {kalam:?}\nSQLite: {sqlite:?}"
                    ));
                }
            }
            (Err(_), Err(_)) => {}
            (Err(e), Ok(_)) => self.fail(&format!("the engine refused it: {e}")),
            (Ok(rows), Err(e)) => self.fail(&format!(
                "SQLite refused it ({e}); the engine gave {rows:?}"
            )),
        }
    }

    fn write(&mut self, statement: &str) {
        self.history.push(render(statement, None));
        let kalam = self
            .engine
            .sql_blocking(&self.user, &render(statement, Some("ns")))
            .map(|r| r.rows_affected().unwrap_or(0));
        let sqlite = self.db.execute(&render(statement, None), []);
        match (kalam, sqlite) {
            (Ok(kalam), Ok(sqlite)) if kalam == sqlite as u64 => {}
            (Ok(kalam), Ok(sqlite)) => {
                self.fail(&format!("the engine changed {kalam} rows, SQLite {sqlite}"))
            }
            (Err(_), Err(_)) => {}
            (Err(e), Ok(_)) => self.fail(&format!("the engine refused it: {e}")),
            (Ok(_), Err(e)) => self.fail(&format!("SQLite refused it: {e}")),
        }
        for table in generate::TABLES {
            self.query(&format!("SELECT * FROM {{{table}}}"), false);
        }
    }
}

fn run_seed(seed: u64, statements: usize) {
    let mut rng = Rng::new(seed);
    let mut run = Run::new(seed);
    for statement in schema(&mut rng) {
        run.setup(&statement);
    }
    let mut generator = Generator::new(&mut rng);
    for _ in 0..statements {
        if generator_wants_write(&mut generator) {
            let statement = generator.write();
            run.write(&statement);
        } else {
            let (statement, ordered) = generator.query();
            run.query(&statement, ordered);
        }
    }
}

/// One statement in five writes.
fn generator_wants_write(generator: &mut Generator<'_>) -> bool {
    generator.chance(20)
}

fn seeds_from_env() -> Option<(std::ops::RangeInclusive<u64>, usize)> {
    let seeds = std::env::var("KALAM_DIFF_SEEDS").ok()?;
    let (first, last) = seeds.split_once("..").unwrap_or((&seeds, &seeds));
    let range = first.trim().parse().unwrap()..=last.trim().parse().unwrap();
    let statements = std::env::var("KALAM_DIFF_STATEMENTS")
        .ok()
        .map_or(STATEMENTS, |n| n.parse().unwrap());
    Some((range, statements))
}

#[test]
fn random_statements_agree_with_sqlite() {
    if let Some((seeds, statements)) = seeds_from_env() {
        for seed in seeds {
            run_seed(seed, statements);
        }
        return;
    }
    for seed in (1..=SEEDS).chain(REGRESSIONS.iter().copied()) {
        run_seed(seed, STATEMENTS);
    }
}
