//! The tests of the suite: their statements and what one event runs, after sysbench's
//! Lua scripts and Dolt's additions.

use super::data::{self, Rng};
use crate::Value;

/// Which mean a test counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Averaged into `reads_mean`.
    Read,
    /// Averaged into `writes_mean`.
    Write,
    /// Reported, not averaged (`bulk_insert`).
    Bulk,
}

impl Group {
    /// `read`, `write` or `bulk`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Group::Read => "read",
            Group::Write => "write",
            Group::Bulk => "bulk",
        }
    }
}

/// What the tests share while they run: the table size and the next fresh ids. With
/// several threads each has its own, on a stripe of the ids (`stripe` of every `stripes`)
/// so that no two threads write the same row.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) rows: i64,
    next_id: i64,
    next_bulk_id: i64,
    stripe: i64,
    stripes: i64,
}

impl Ctx {
    pub(crate) fn new(rows: i64) -> Self {
        Ctx {
            rows,
            next_id: rows + 1,
            next_bulk_id: 1,
            stripe: 0,
            stripes: 1,
        }
    }

    /// The context of thread `stripe` of `stripes`, whose fresh ids start past every id
    /// of `self`, as [`fresh_ids_after`](Self::fresh_ids_after) leaves it.
    pub(crate) fn striped(&self, stripe: usize, stripes: usize) -> Ctx {
        let (stripe, stripes) = (stripe as i64, stripes.max(1) as i64);
        Ctx {
            rows: self.rows,
            next_id: self.next_id + stripe,
            next_bulk_id: self.next_bulk_id + stripe,
            stripe: stripe % stripes,
            stripes,
        }
    }

    /// Moves the fresh ids past those every context of `threads` used.
    pub(crate) fn fresh_ids_after<'a>(&mut self, threads: impl IntoIterator<Item = &'a Ctx>) {
        for ctx in threads {
            self.next_id = self.next_id.max(ctx.next_id);
            self.next_bulk_id = self.next_bulk_id.max(ctx.next_bulk_id);
        }
    }

    /// An id of the table, uniform over this context's stripe.
    fn id(&self, rng: &mut Rng) -> i64 {
        // The ids `1 + stripe + n * stripes` up to `rows`: all of them with one stripe.
        let count = ((self.rows - 1 - self.stripe) / self.stripes + 1).max(1);
        1 + self.stripe + rng.range(0, count - 1) * self.stripes
    }

    /// An id no row of `sbtest1` has had.
    fn fresh_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += self.stripes;
        id
    }

    /// An id no row of `bulk` has had.
    fn fresh_bulk_id(&mut self) -> i64 {
        let id = self.next_bulk_id;
        self.next_bulk_id += self.stripes;
        id
    }

    /// `(low, high)` of an id range of sysbench's width 100 (smaller tables: narrower).
    fn id_range(&self, rng: &mut Rng) -> (i64, i64) {
        let width = 100.min(self.rows);
        let low = rng.range(1, self.rows - width + 1);
        (low, low + width - 1)
    }
}

/// One statement of an event.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// The test's `n`th prepared statement, with parameters.
    Prepared(usize, Vec<Value>),
    /// SQL text, run unprepared (bulk loading).
    Text(String),
    /// `BEGIN`: the steps up to the next [`Step::Commit`] run in one transaction.
    Begin,
    /// `COMMIT`.
    Commit,
}

/// The test timed beside a raw RocksDB get of the same rows: the engine's floor.
pub(crate) const FLOOR_TEST: &str = "oltp_point_select";

/// Whether sysbench wraps each event of the test in `BEGIN` ... `COMMIT` (its
/// `oltp_common.lua` does for the tests that run several statements an event, unless
/// `--skip-trx`): what `kalam bench --transactions` does too.
pub(crate) fn in_transaction(test: &str) -> bool {
    matches!(
        test,
        "oltp_read_only" | "oltp_read_write" | "oltp_write_only"
    )
}

/// A test: its statements, prepared once on each engine, and the steps of one event.
#[derive(Debug)]
pub(crate) struct TestSpec {
    pub(crate) name: &'static str,
    pub(crate) group: Group,
    pub(crate) statements: fn() -> Vec<String>,
    pub(crate) event: fn(&mut Rng, &mut Ctx) -> Vec<Step>,
}

const POINT: &str = "SELECT c FROM sb.sbtest1 WHERE id = $1";
const SIMPLE_RANGE: &str = "SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2";
const SUM_RANGE: &str = "SELECT SUM(k) FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2";
const ORDER_RANGE: &str = "SELECT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2 ORDER BY c";
const DISTINCT_RANGE: &str =
    "SELECT DISTINCT c FROM sb.sbtest1 WHERE id BETWEEN $1 AND $2 ORDER BY c";
const UPDATE_INDEX: &str = "UPDATE sb.sbtest1 SET k = k + 1 WHERE id = $1";
const UPDATE_NON_INDEX: &str = "UPDATE sb.sbtest1 SET c = $1 WHERE id = $2";
const DELETE: &str = "DELETE FROM sb.sbtest1 WHERE id = $1";
const TYPED_DELETE: &str = "DELETE FROM sb.typed WHERE id = $1";

fn strings(statements: &[&str]) -> Vec<String> {
    statements.iter().map(|s| (*s).to_owned()).collect()
}

/// The read-only statements, prepared in this order by the OLTP tests.
fn read_statements() -> Vec<String> {
    strings(&[POINT, SIMPLE_RANGE, SUM_RANGE, ORDER_RANGE, DISTINCT_RANGE])
}

/// The write statements, prepared after the reads by `oltp_read_write`.
const WRITES: [&str; 4] = [UPDATE_INDEX, UPDATE_NON_INDEX, DELETE, data::SBTEST_INSERT];

fn read_steps(rng: &mut Rng, ctx: &Ctx, out: &mut Vec<Step>) {
    for _ in 0..10 {
        out.push(Step::Prepared(0, vec![Value::Int64(ctx.id(rng))]));
    }
    for statement in 1..=4 {
        let (low, high) = ctx.id_range(rng);
        out.push(Step::Prepared(
            statement,
            vec![Value::Int64(low), Value::Int64(high)],
        ));
    }
}

/// sysbench's write block: update an indexed and a plain column, delete a row and insert
/// it again. `first` is the index of `UPDATE_INDEX` among the test's statements.
fn write_steps(rng: &mut Rng, ctx: &Ctx, first: usize, out: &mut Vec<Step>) {
    out.push(Step::Prepared(first, vec![Value::Int64(ctx.id(rng))]));
    out.push(Step::Prepared(
        first + 1,
        vec![Value::Text(rng.digits(10)), Value::Int64(ctx.id(rng))],
    ));
    let id = ctx.id(rng);
    out.push(Step::Prepared(first + 2, vec![Value::Int64(id)]));
    out.push(Step::Prepared(
        first + 3,
        data::sbtest_row(rng, id, ctx.rows),
    ));
}

fn range_params(rng: &mut Rng, ctx: &Ctx) -> Vec<Value> {
    let (low, high) = ctx.id_range(rng);
    vec![Value::Int64(low), Value::Int64(high)]
}

/// Every test, reads first (writes change the data the reads would see).
pub(crate) static TESTS: &[TestSpec] = &[
    TestSpec {
        name: "oltp_point_select",
        group: Group::Read,
        statements: || strings(&[POINT]),
        event: |rng, ctx| vec![Step::Prepared(0, vec![Value::Int64(ctx.id(rng))])],
    },
    TestSpec {
        name: "oltp_read_only",
        group: Group::Read,
        statements: read_statements,
        event: |rng, ctx| {
            let mut steps = Vec::with_capacity(14);
            read_steps(rng, ctx, &mut steps);
            steps
        },
    },
    TestSpec {
        name: "select_random_points",
        group: Group::Read,
        statements: || {
            let params: Vec<String> = (1..=10).map(|i| format!("${i}")).collect();
            vec![format!(
                "SELECT id, k, c, pad FROM sb.sbtest1 WHERE k IN ({})",
                params.join(", ")
            )]
        },
        event: |rng, ctx| {
            let keys = (0..10).map(|_| Value::Int64(ctx.id(rng))).collect();
            vec![Step::Prepared(0, keys)]
        },
    },
    TestSpec {
        name: "select_random_ranges",
        group: Group::Read,
        statements: || {
            let ranges: Vec<String> = (0..10)
                .map(|i| format!("k BETWEEN ${} AND ${}", 2 * i + 1, 2 * i + 2))
                .collect();
            vec![format!(
                "SELECT count(k) FROM sb.sbtest1 WHERE {}",
                ranges.join(" OR ")
            )]
        },
        event: |rng, ctx| {
            let mut params = Vec::with_capacity(20);
            for _ in 0..10 {
                let low = ctx.id(rng);
                params.push(Value::Int64(low));
                params.push(Value::Int64(low + 4));
            }
            vec![Step::Prepared(0, params)]
        },
    },
    TestSpec {
        name: "covering_index_scan",
        group: Group::Read,
        statements: || strings(&["SELECT count(id) FROM sb.typed WHERE big_int_col > 0"]),
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "index_scan",
        group: Group::Read,
        statements: || strings(&["SELECT * FROM sb.typed WHERE big_int_col > 0"]),
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "table_scan",
        group: Group::Read,
        statements: || strings(&["SELECT * FROM sb.sbtest1 WHERE k > 0"]),
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "types_table_scan",
        group: Group::Read,
        statements: || strings(&["SELECT * FROM sb.typed WHERE small_int_col > 0"]),
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "groupby_scan",
        group: Group::Read,
        statements: || {
            strings(&[
                "SELECT year_col, count(year_col), max(big_int_col), avg(small_int_col) \
                 FROM sb.typed WHERE big_int_col > 0 GROUP BY year_col ORDER BY year_col",
            ])
        },
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "index_join",
        group: Group::Read,
        statements: || {
            strings(&[
                "SELECT a.id, b.id, b.c FROM sb.sbtest1 a JOIN sb.sbtest1 b ON a.k = b.id \
                 WHERE a.id BETWEEN $1 AND $2",
            ])
        },
        event: |rng, ctx| vec![Step::Prepared(0, range_params(rng, ctx))],
    },
    TestSpec {
        name: "index_join_scan",
        group: Group::Read,
        statements: || {
            strings(&[
                "SELECT a.id, b.id FROM sb.typed a JOIN sb.typed b ON a.id = b.id \
                 WHERE a.big_int_col > 0",
            ])
        },
        event: |_, _| vec![Step::Prepared(0, Vec::new())],
    },
    TestSpec {
        name: "oltp_insert",
        group: Group::Write,
        statements: || strings(&[data::SBTEST_INSERT]),
        event: |rng, ctx| {
            let id = ctx.fresh_id();
            vec![Step::Prepared(0, data::sbtest_row(rng, id, ctx.rows))]
        },
    },
    TestSpec {
        name: "oltp_update_index",
        group: Group::Write,
        statements: || strings(&[UPDATE_INDEX]),
        event: |rng, ctx| vec![Step::Prepared(0, vec![Value::Int64(ctx.id(rng))])],
    },
    TestSpec {
        name: "oltp_update_non_index",
        group: Group::Write,
        statements: || strings(&[UPDATE_NON_INDEX]),
        event: |rng, ctx| {
            vec![Step::Prepared(
                0,
                vec![Value::Text(rng.digits(10)), Value::Int64(ctx.id(rng))],
            )]
        },
    },
    TestSpec {
        name: "oltp_write_only",
        group: Group::Write,
        statements: || strings(&WRITES),
        event: |rng, ctx| {
            let mut steps = Vec::with_capacity(4);
            write_steps(rng, ctx, 0, &mut steps);
            steps
        },
    },
    TestSpec {
        name: "oltp_read_write",
        group: Group::Write,
        statements: || {
            let mut statements = read_statements();
            statements.extend(strings(&WRITES));
            statements
        },
        event: |rng, ctx| {
            let mut steps = Vec::with_capacity(18);
            read_steps(rng, ctx, &mut steps);
            write_steps(rng, ctx, 5, &mut steps);
            steps
        },
    },
    TestSpec {
        name: "oltp_delete_insert",
        group: Group::Write,
        statements: || strings(&[DELETE, data::SBTEST_INSERT]),
        event: |rng, ctx| {
            let id = ctx.id(rng);
            vec![
                Step::Prepared(0, vec![Value::Int64(id)]),
                Step::Prepared(1, data::sbtest_row(rng, id, ctx.rows)),
            ]
        },
    },
    TestSpec {
        name: "types_delete_insert",
        group: Group::Write,
        statements: || vec![TYPED_DELETE.to_owned(), data::typed_insert()],
        event: |rng, ctx| {
            let id = ctx.id(rng);
            vec![
                Step::Prepared(0, vec![Value::Int64(id)]),
                Step::Prepared(1, data::typed_row(rng, id)),
            ]
        },
    },
    TestSpec {
        name: "bulk_insert",
        group: Group::Bulk,
        statements: Vec::new,
        event: |rng, ctx| {
            let mut sql = String::from("INSERT INTO sb.bulk (id, k, c, pad) VALUES ");
            for i in 0..BULK_ROWS {
                let id = ctx.fresh_bulk_id();
                if i > 0 {
                    sql.push_str(", ");
                }
                let k = rng.range(1, ctx.rows);
                sql.push_str(&format!(
                    "({id}, {k}, '{}', '{}')",
                    rng.digits(10),
                    rng.digits(5)
                ));
            }
            vec![Step::Text(sql)]
        },
    },
];

/// Rows per `bulk_insert` statement.
pub(crate) const BULK_ROWS: usize = 100;

/// The test called `name`.
pub(crate) fn find(name: &str) -> Option<&'static TestSpec> {
    TESTS.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn every_step_names_a_prepared_statement_with_its_parameters() {
        let mut ctx = Ctx::new(1000);
        let mut rng = Rng::new(3);
        for test in TESTS {
            let statements = (test.statements)();
            for step in (test.event)(&mut rng, &mut ctx) {
                match step {
                    Step::Prepared(n, params) => {
                        let sql = &statements[n];
                        let wanted = (1..=params.len()).all(|i| sql.contains(&format!("${i}")));
                        assert!(wanted, "{}: {sql} with {} params", test.name, params.len());
                        assert!(!sql.contains(&format!("${}", params.len() + 1)));
                    }
                    Step::Text(sql) => assert!(sql.starts_with("INSERT"), "{}", test.name),
                    // The run adds these around an event; no test's event has its own.
                    Step::Begin | Step::Commit => panic!("{}: a transaction step", test.name),
                }
            }
        }
    }

    #[test]
    fn the_tests_run_in_transactions_are_tests_of_the_suite() {
        let wrapped: Vec<&str> = TESTS
            .iter()
            .map(|t| t.name)
            .filter(|name| in_transaction(name))
            .collect();
        assert_eq!(
            wrapped,
            ["oltp_read_only", "oltp_write_only", "oltp_read_write"]
        );
    }

    #[test]
    fn threads_pick_ids_of_their_own_stripe_and_never_share_a_fresh_one() {
        let rows = 10;
        let mut base = Ctx::new(rows);
        let mut rng = Rng::new(7);
        // One thread: every id of the table, as the single-threaded run picks them.
        let one = base.striped(0, 1);
        let mut seen = std::collections::BTreeSet::new();
        let mut same = Rng::new(7);
        for _ in 0..500 {
            let id = one.id(&mut rng);
            assert_eq!(id, same.range(1, rows));
            seen.insert(id);
        }
        assert_eq!(seen, (1..=rows).collect());
        for threads in [2, 3, 4, 10] {
            let mut ctxs: Vec<Ctx> = (0..threads).map(|t| base.striped(t, threads)).collect();
            let mut fresh = std::collections::BTreeSet::new();
            for (t, ctx) in ctxs.iter_mut().enumerate() {
                let mut ids = std::collections::BTreeSet::new();
                for _ in 0..200 {
                    let id = ctx.id(&mut rng);
                    assert!((1..=rows).contains(&id), "{id}");
                    assert_eq!((id - 1) % threads as i64, t as i64, "{id}");
                    ids.insert(id);
                }
                // The whole stripe is reached.
                assert_eq!(ids.len() as i64, (rows - 1 - t as i64) / threads as i64 + 1);
                for _ in 0..5 {
                    assert!(fresh.insert(ctx.fresh_id()));
                    assert!(fresh.insert(-ctx.fresh_bulk_id()));
                }
            }
            let before = base.next_id;
            base.fresh_ids_after(&ctxs);
            // The next run's fresh ids start past all of these.
            assert!(
                fresh
                    .iter()
                    .all(|&id| id < base.next_id && -id < base.next_bulk_id)
            );
            assert!(fresh.iter().all(|&id| id < 0 || id >= before));
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, test) in TESTS.iter().enumerate() {
            assert!(TESTS[i + 1..].iter().all(|t| t.name != test.name));
            assert!(std::ptr::eq(find(test.name).unwrap(), test));
        }
    }
}
