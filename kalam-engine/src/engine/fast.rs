//! Fast paths: simple shapes that run straight on RocksDB, without DataFusion, and return
//! exactly what the general path returns (`tests/prepared.rs` and `tests/fast_writes.rs`
//! prove it statement by statement, against an engine without fast paths).
//!
//! | shape | runs as |
//! | --- | --- |
//! | `SELECT a, b FROM t WHERE pk = $1 [AND pk2 = $2]` | one get |
//! | `SELECT a, b FROM t WHERE pk BETWEEN $1 AND $2` (one-column key) | one range read |
//! | `SELECT a, b FROM t WHERE k IN ($1, $2, ...)` (`k` a one-column key or an index's first column) | the access path a scan would take, without DataFusion |
//! | `SELECT a FROM t WHERE k BETWEEN $1 AND $2 OR k BETWEEN $3 AND $4 ...` (the same `k`, of integers or text) | the same, the ranges' union |
//! | any of the selects above as `SELECT c .. ORDER BY c`, `SELECT DISTINCT c .. ORDER BY c` | the rows read, sorted by Arrow's kernel |
//! | any of them as `SELECT count(*), count(c), sum(c), min(c), max(c) ..` (prepared) | the rows read, aggregated as DataFusion does (see `finish.rs`); counts alone over an index that covers them, its entries counted, none decoded |
//! | `INSERT INTO t [(cols)] VALUES ($1, $2, ...) [, (...)]` | a get per row (duplicate check) and one write |
//! | `UPDATE t SET c = $1, n = n + 1 WHERE pk = $2` (no key column assigned) | a get and one write |
//! | `DELETE FROM t WHERE pk = $1` | a get and one write |
//!
//! The shapes serve prepared statements, where every value is a parameter, and statements
//! sent as text, where every value is a literal of its column's kind (`WHERE id = 42`,
//! `VALUES (1, 'a', NULL)`): a text of these shapes is neither planned nor optimized. A
//! multi-row INSERT's rows of literals are read without the tokenizer (`sql/values.rs`). A
//! literal that is not plainly of its column's type (`'42'` for an INT, `2147483648` for
//! one, any timestamp) leaves the statement to the general path, and its casts and errors.
//!
//! Every write keeps the general path's rules: types, NOT NULL, duplicate keys, index
//! entries, the audit row and live-query notifications, in one atomic write.

use std::borrow::Cow;
use std::ops::Bound;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, Expr as SqlExpr, FromTable, GroupByExpr, Parens, SetExpr, Statement,
    TableFactor, TableObject, TableWithJoins,
};

use super::finish::{self, Finish, Shaped};
use super::literal::{literal, plainly};
use crate::access::{self, Access, Cursor, Lookup, covered_batch, visit_chunk};
use crate::catalog::TableMeta;
use crate::error::{Error, StorageError};
use crate::ids::TableId;
use crate::result::{QueryResult, changed};
use crate::row::Decoder;
use crate::session::{QueryUser, scope_of};
use crate::shared::Shared;
use crate::sql::InsertRows;
use crate::sql::names::{ident_name, table_id};
use crate::value::{ColumnType, Value};
use crate::write;

/// A statement that skips DataFusion.
#[derive(Debug, Clone)]
pub(crate) enum FastPath {
    /// A primary-key point select.
    Get {
        table: TableId,
        read: Read,
        /// For each primary-key column, its value.
        key: Vec<Operand>,
    },
    /// A primary-key range select: `WHERE pk BETWEEN $a AND $b` on a one-column key.
    Range {
        table: TableId,
        read: Read,
        /// The low and high bounds (both included).
        bounds: (Operand, Operand),
    },
    /// A select of the rows whose `column` is one of `values`: `WHERE k IN ($1, $2, ...)`
    /// or `WHERE k BETWEEN $1 AND $2 [OR k BETWEEN $3 AND $4 ...]`, on a column the
    /// primary key or an index leads with.
    Lookup {
        table: TableId,
        read: Read,
        column: usize,
        keep: Keep,
    },
    /// An INSERT of rows of values.
    Insert {
        table: TableId,
        /// For each row, for each column of the table, its value (`None`: left out, the
        /// column's DEFAULT).
        rows: Vec<Vec<Option<Operand>>>,
    },
    /// An UPDATE of one row by primary key.
    Update {
        table: TableId,
        key: Vec<Operand>,
        assignments: Vec<(usize, Assign)>,
    },
    /// A DELETE of one row by primary key.
    Delete { table: TableId, key: Vec<Operand> },
}

/// The values of its column a [`FastPath::Lookup`] keeps.
#[derive(Debug, Clone)]
pub(crate) enum Keep {
    /// `IN (a, b, ...)`.
    In(Vec<Operand>),
    /// `BETWEEN a AND b OR .. BETWEEN c AND d`: the union of the ranges.
    Between(Vec<(Operand, Operand)>),
}

/// What a select reads of each row, and what it makes of the rows.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    /// The table's columns decoded, in order.
    projection: Vec<usize>,
    /// The result's schema.
    schema: SchemaRef,
    finish: Finish,
}

impl Read {
    /// The schema of the columns read, before the finish.
    fn rows_schema(&self) -> SchemaRef {
        self.finish.rows_schema(&self.schema)
    }

    /// The result of the rows pushed into `decoder`.
    fn result(&self, decoder: &mut Decoder) -> Result<QueryResult, Error> {
        let rows = decoder
            .finish(self.rows_schema())
            .map_err(|e| Error::from_datafusion(e.into()))?;
        self.result_of(rows)
    }

    /// The result of `rows`, the columns read.
    fn result_of(&self, rows: RecordBatch) -> Result<QueryResult, Error> {
        let batch = self.finish.batch(rows, &self.schema)?;
        Ok(QueryResult::new(Arc::clone(&self.schema), vec![batch]))
    }
}

/// A value in a fast path's statement.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// `$n + 1`, of a prepared statement.
    Param(usize),
    /// A literal of the statement's text, of its column's type.
    Literal(Value),
}

/// The new value of an updated column.
#[derive(Debug, Clone)]
pub(crate) enum Assign {
    /// `c = $n` or `c = 'literal'`.
    Set(Operand),
    /// `c = c + n` or `c = c - n` (the literal signed).
    Add(i64),
}

/// What the values of a statement may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Parameters only: a prepared statement, its types checked by planning it.
    Params,
    /// Literals only: a statement's text, not planned.
    Literals,
}

impl Values {
    /// `expr` as an operand for a column of type `ty`.
    fn operand(self, expr: &SqlExpr, ty: ColumnType) -> Option<Operand> {
        match self {
            Values::Params => placeholder(expr).map(Operand::Param),
            Values::Literals => literal_of(expr, ty).map(Operand::Literal),
        }
    }
}

impl FastPath {
    /// The fast path of the prepared `statement` whose rows have `schema`, if it has one
    /// of the shapes with parameters for values.
    pub(crate) fn of(shared: &Shared, statement: &Statement, schema: &SchemaRef) -> Option<Self> {
        Self::shaped(shared, statement, Values::Params, Some(schema))
    }

    /// The fast path of `statement` as sent in a text, if it has one of the shapes with
    /// literals for values. `bounded`: only shapes whose rows are known to be few (a
    /// point select, a range of at most a batch of integer keys, or fewer than a batch of
    /// primary keys), for a caller that streams anything larger.
    pub(crate) fn of_text(shared: &Shared, statement: &Statement, bounded: bool) -> Option<Self> {
        if !shared.fast_paths {
            return None;
        }
        let fast = Self::shaped(shared, statement, Values::Literals, None)?;
        let few = match &fast {
            FastPath::Range {
                bounds: (Operand::Literal(low), Operand::Literal(high)),
                ..
            } => span(low, high) < BATCH && matches!(low, Value::Int32(_) | Value::Int64(_)),
            // Keys of a primary key are as many rows; an index's value may be any number.
            FastPath::Lookup {
                table,
                column,
                keep: Keep::In(values),
                ..
            } => {
                values.len() < BATCH
                    && shared
                        .catalog
                        .table(table)
                        .is_some_and(|meta| meta.pk == [*column])
            }
            FastPath::Lookup {
                keep: Keep::Between(_),
                ..
            } => false,
            _ => true,
        };
        (few || !bounded).then_some(fast)
    }

    /// The fast path of a multi-row INSERT whose rows were read as values, if its head
    /// has the shape and each value is plainly of its column's type: the rows move into
    /// it (and are gone from `rows` either way; [`InsertRows::tree`] reads them again).
    pub(crate) fn of_rows(shared: &Shared, rows: &mut InsertRows) -> Option<TextInsert> {
        let Statement::Insert(insert) = &rows.head else {
            return None;
        };
        if !shared.fast_paths {
            return None;
        }
        let Target {
            table,
            meta,
            columns,
            ..
        } = insert_target(shared, insert)?;
        let types: Vec<DataType> = columns
            .iter()
            .map(|&c| meta.columns[c].ty.arrow())
            .collect();
        // Rows that give every column in the table's order are typed in place.
        let in_order = columns.iter().copied().eq(0..meta.columns.len());
        let rows = std::mem::take(&mut rows.rows)
            .into_iter()
            .map(|row| {
                if row.len() != columns.len() {
                    return None;
                }
                let typed = row
                    .into_iter()
                    .zip(&types)
                    .map(|(value, ty)| plainly(value, ty));
                if in_order {
                    return typed.collect();
                }
                let placed = placed(&meta, &columns, columns.len(), typed)?;
                let defaults = meta.columns.iter().map(|column| column.default.clone());
                Some(
                    placed
                        .into_iter()
                        .zip(defaults)
                        .map(|(v, d)| v.unwrap_or(d))
                        .collect(),
                )
            })
            .collect::<Option<_>>()?;
        Some(TextInsert { table, rows })
    }

    fn shaped(
        shared: &Shared,
        statement: &Statement,
        values: Values,
        schema: Option<&SchemaRef>,
    ) -> Option<Self> {
        match statement {
            Statement::Query(query) => get_shape(shared, query, values, schema),
            Statement::Insert(insert) => insert_shape(shared, insert, values),
            Statement::Update(update) => update_shape(shared, update, values),
            Statement::Delete(delete) => delete_shape(shared, delete, values),
            _ => None,
        }
    }

    /// Whether the statement is a point select.
    pub(crate) fn is_get(&self) -> bool {
        matches!(self, FastPath::Get { .. })
    }

    /// Runs the statement of a text, which has no parameters, as `user`, once: an
    /// INSERT's literals move into its rows rather than being copied.
    pub(crate) fn run_text(self, shared: &Shared, user: &QueryUser) -> Result<QueryResult, Error> {
        let FastPath::Insert { table, rows } = self else {
            return self.run(shared, user, &[]);
        };
        let meta = shared.catalog.existing(&table)?;
        let values = rows
            .into_iter()
            .map(|operands| {
                let operands = operands.into_iter().map(|o| o.map(Cow::Owned));
                row_values(&meta, &[], operands)
            })
            .collect::<Result<_, _>>()?;
        Ok(changed(write::insert_values(shared, &meta, user, values)?))
    }

    /// Runs the statement as `user` with `params` (their number already checked).
    pub(crate) fn run(
        &self,
        shared: &Shared,
        user: &QueryUser,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        let count = match self {
            FastPath::Get { table, read, key } => {
                return get(shared, user, table, read, key, params);
            }
            FastPath::Range {
                table,
                read,
                bounds,
            } => return range(shared, user, table, read, bounds, params),
            FastPath::Lookup {
                table,
                read,
                column,
                keep,
            } => return lookup(shared, user, (table, read), (*column, keep), params),
            FastPath::Insert { table, rows } => {
                let meta = shared.catalog.existing(table)?;
                let values = rows
                    .iter()
                    .map(|operands| {
                        let operands = operands.iter().map(|o| o.as_ref().map(Cow::Borrowed));
                        row_values(&meta, params, operands)
                    })
                    .collect::<Result<_, _>>()?;
                write::insert_values(shared, &meta, user, values)?
            }
            FastPath::Update {
                table,
                key,
                assignments,
            } => {
                let meta = shared.catalog.existing(table)?;
                let Some(pk) = primary_key(&meta, key, params)? else {
                    return Ok(changed(0));
                };
                write::update_by_key(shared, &meta, user, &pk, |meta, values| {
                    for (column, assign) in assignments {
                        let column = *column;
                        let ty = meta.columns[column].ty;
                        values[column] = match assign {
                            Assign::Set(operand) => coerce(params, operand, ty)?,
                            Assign::Add(n) => add(&values[column], *n, &meta.columns[column].name)?,
                        };
                    }
                    Ok(())
                })?
            }
            FastPath::Delete { table, key } => {
                let meta = shared.catalog.existing(table)?;
                let Some(pk) = primary_key(&meta, key, params)? else {
                    return Ok(changed(0));
                };
                write::delete_by_key(shared, &meta, user, &pk)?
            }
        };
        Ok(changed(count))
    }
}

/// An INSERT text's rows, read as values: each whole, in the table's column order (a
/// column the INSERT leaves out its DEFAULT), and of its column's type. They run once.
#[derive(Debug)]
pub(crate) struct TextInsert {
    table: TableId,
    rows: Vec<Vec<Value>>,
}

impl TextInsert {
    /// Inserts the rows as `user`.
    pub(crate) fn run(self, shared: &Shared, user: &QueryUser) -> Result<QueryResult, Error> {
        let meta = shared.catalog.existing(&self.table)?;
        Ok(changed(write::insert_values(
            shared, &meta, user, self.rows,
        )?))
    }
}

/// `operand` as a value of type `ty`: a parameter coerced, a literal as it is (made of
/// that type when the shape was recognized).
fn coerce(params: &[Value], operand: &Operand, ty: ColumnType) -> Result<Value, Error> {
    match *operand {
        Operand::Param(param) => params[param].coerce(ty).ok_or_else(|| {
            Error::parameters(format!("${}: {} is not a {ty}", param + 1, params[param]))
        }),
        Operand::Literal(ref value) => Ok(value.clone()),
    }
}

/// A row of an INSERT's fast path as values: each operand coerced (a literal it owns
/// moved), a column left out of the INSERT its DEFAULT, NULL without one.
fn row_values<'o>(
    meta: &TableMeta,
    params: &[Value],
    operands: impl Iterator<Item = Option<Cow<'o, Operand>>>,
) -> Result<Vec<Value>, Error> {
    meta.columns
        .iter()
        .zip(operands)
        .map(|(column, operand)| match operand {
            Some(Cow::Owned(Operand::Literal(value))) => Ok(value),
            Some(operand) => coerce(params, &operand, column.ty),
            None => Ok(column.default.clone()),
        })
        .collect()
}

/// `value + n`, as SQL computes it: NULL stays NULL, overflow is an error.
fn add(value: &Value, n: i64, column: &str) -> Result<Value, Error> {
    let overflow = || Error::execution(format!("`{column}` overflows"));
    Ok(match *value {
        Value::Null => Value::Null,
        Value::Int32(v) => Value::Int32(
            i64::from(v)
                .checked_add(n)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(overflow)?,
        ),
        Value::Int64(v) => Value::Int64(v.checked_add(n).ok_or_else(overflow)?),
        Value::Float64(v) => Value::Float64(v + n as f64),
        _ => return Err(Error::type_mismatch(format!("`{column}` is not a number"))),
    })
}

/// The primary key from the parameters; `None` if one is NULL (no row has it).
fn primary_key(
    meta: &TableMeta,
    key: &[Operand],
    params: &[Value],
) -> Result<Option<Vec<u8>>, Error> {
    let mut pk = Vec::new();
    for (&column, operand) in meta.pk.iter().zip(key) {
        match coerce(params, operand, meta.columns[column].ty)? {
            Value::Null => return Ok(None),
            value => value.write_key(&mut pk),
        }
    }
    Ok(Some(pk))
}

fn get(
    shared: &Shared,
    user: &QueryUser,
    table: &TableId,
    read: &Read,
    key: &[Operand],
    params: &[Value],
) -> Result<QueryResult, Error> {
    let meta = shared.catalog.existing(table)?;
    let mut decoder = Decoder::new(&meta, &read.projection, 1);
    if let Some(pk) = primary_key(&meta, key, params)? {
        let scope = scope_of(&meta, &user.id);
        if let Some(row) = user
            .reads(&shared.storage)
            .view()
            .get(meta.number, scope, &pk)?
        {
            decoder.push(&row).map_err(StorageError::corrupt_row)?;
        }
    }
    read.result(&mut decoder)
}

fn range(
    shared: &Shared,
    user: &QueryUser,
    table: &TableId,
    read: &Read,
    (low, high): &(Operand, Operand),
    params: &[Value],
) -> Result<QueryResult, Error> {
    let meta = shared.catalog.existing(table)?;
    let ty = meta.columns[meta.pk[0]].ty;
    let (low, high) = (coerce(params, low, ty)?, coerce(params, high, ty)?);
    // Rows are decoded as the range is read, straight from RocksDB's buffers.
    let mut decoder = Decoder::new(&meta, &read.projection, span(&low, &high));
    if low != Value::Null && high != Value::Null {
        let (mut from, mut to) = (Vec::new(), Vec::new());
        low.write_key(&mut from);
        high.write_key(&mut to);
        let scope = scope_of(&meta, &user.id);
        user.reads(&shared.storage).view().visit_range(
            meta.number,
            scope,
            (Bound::Included(&from), Bound::Included(&to)),
            usize::MAX,
            |_, row| {
                decoder
                    .push(row)
                    .map_err(|source| Error::from(StorageError::corrupt_row(source)))
            },
        )?;
    }
    read.result(&mut decoder)
}

/// The rows whose `column` has a value `keep` keeps, read as a scan with the filter
/// `column IN (..)` or `column BETWEEN .. OR ..` reads them: the same access path, so the
/// same rows in the same order (primary-key order, or the index's when it covers the
/// columns read). A NULL among the values (`k IN (1, NULL)`, `k BETWEEN NULL AND 5 OR
/// ..`) leaves a filter that DataFusion cannot push into the scan as it is written: that
/// scan reads every row, in primary-key order, and so does this one's order.
fn lookup(
    shared: &Shared,
    user: &QueryUser,
    (table, read): (&TableId, &Read),
    (column, keep): (usize, &Keep),
    params: &[Value],
) -> Result<QueryResult, Error> {
    let meta = shared.catalog.existing(table)?;
    let kept = Kept::of(keep, params, meta.columns[column].ty)?;
    let Some(lookup) = kept.lookup() else {
        return read.result(&mut Decoder::new(&meta, &read.projection, 0));
    };
    let mut path = access::plan_lookup(&meta, column, lookup);
    if !kept.dropped_null {
        path = path.covering(&meta, &read.projection);
    }
    let scope = scope_of(&meta, &user.id);
    let reads = user.reads(&shared.storage);
    if let Access::Index {
        index,
        ranges,
        covering: true,
    } = &path.access
    {
        // Counts of rows, or of columns no entry read holds a NULL in (the key's, and the
        // one looked up, whose NULLs were left out): the entries counted, none decoded.
        let never_null = |c: usize| {
            let c = read.projection[c];
            c == column || meta.pk.contains(&c)
        };
        if read.finish.counts_rows(never_null) {
            let entries = access::count_entries(reads.view(), &meta, scope, (*index, ranges))?;
            let batch = read.finish.counted(entries, &read.schema)?;
            return Ok(QueryResult::new(Arc::clone(&read.schema), vec![batch]));
        }
        let rows = covered_batch(
            reads.view(),
            &meta,
            scope,
            (*index, ranges),
            &read.projection,
            read.rows_schema(),
        )
        .map_err(Error::from_datafusion)?;
        return read.result_of(rows);
    }
    // Exact unless the index the shape was found for is gone: then rows are checked.
    let checked = !path.residual.is_empty();
    let mut decoder = Decoder::new(&meta, &read.projection, kept.expected());
    let start = (&path.access, Cursor::Start);
    visit_chunk(reads.view(), &meta, scope, start, usize::MAX, |_, row| {
        if checked {
            let values = meta.layout.decode(row).map_err(StorageError::corrupt_row)?;
            if !kept.keeps(&values[column]) {
                return Ok(());
            }
        }
        decoder.push(row).map_err(StorageError::corrupt_row)
    })?;
    read.result(&mut decoder)
}

/// A [`Keep`] with this run's values: those that can keep a row (not NULL).
struct Kept {
    values: Lookup,
    /// Whether a NULL was left out.
    dropped_null: bool,
}

impl Kept {
    /// `keep` with `params`.
    fn of(keep: &Keep, params: &[Value], ty: ColumnType) -> Result<Kept, Error> {
        let mut dropped_null = false;
        let values = match keep {
            Keep::In(operands) => {
                let mut list = Vec::with_capacity(operands.len());
                for operand in operands {
                    match coerce(params, operand, ty)? {
                        Value::Null => dropped_null = true,
                        value => list.push(value),
                    }
                }
                Lookup::Values(list)
            }
            Keep::Between(operands) => {
                let mut ranges = Vec::with_capacity(operands.len());
                for (low, high) in operands {
                    let (low, high) = (coerce(params, low, ty)?, coerce(params, high, ty)?);
                    if low.is_null() || high.is_null() {
                        dropped_null = true;
                        continue;
                    }
                    ranges.push((low, high));
                }
                Lookup::Ranges(ranges)
            }
        };
        Ok(Kept {
            values,
            dropped_null,
        })
    }

    /// What to look up, as a scan with the filter on the column would (see
    /// [`access::plan_lookup`]); `None` when no value is kept (`k IN (NULL)`,
    /// `k BETWEEN NULL AND 5`).
    fn lookup(&self) -> Option<&Lookup> {
        match &self.values {
            Lookup::Values(list) if list.is_empty() => None,
            Lookup::Ranges(ranges) if ranges.is_empty() => None,
            kept => Some(kept),
        }
    }

    /// How many rows to expect: a guess for the decoder.
    fn expected(&self) -> usize {
        match &self.values {
            Lookup::Values(list) => list.len(),
            Lookup::Ranges(ranges) => ranges.len() * 8,
        }
    }

    /// Whether a row whose column is `value` is kept: only asked when the access path
    /// does not answer the filter exactly (the index is gone), so the bounds' keys are
    /// encoded here, not on every run. Keys order as their values (integers, text).
    fn keeps(&self, value: &Value) -> bool {
        let key = |value: &Value| {
            let mut key = Vec::new();
            value.write_key(&mut key);
            key
        };
        match &self.values {
            Lookup::Values(list) => list.contains(value),
            Lookup::Ranges(_) if value.is_null() => false,
            Lookup::Ranges(ranges) => {
                let value = key(value);
                ranges
                    .iter()
                    .any(|(low, high)| key(low) <= value && value <= key(high))
            }
        }
    }
}

/// How many rows an integer key range can hold, up to a batch: the decoder's capacity.
fn span(low: &Value, high: &Value) -> usize {
    let (low, high) = match (low, high) {
        (Value::Int64(low), Value::Int64(high)) => (*low, *high),
        (Value::Int32(low), Value::Int32(high)) => (i64::from(*low), i64::from(*high)),
        _ => return 0,
    };
    if low > high {
        return 0;
    }
    usize::try_from(high.abs_diff(low)).map_or(BATCH, |n| n.saturating_add(1).min(BATCH))
}

/// The largest capacity [`span`] gives.
const BATCH: usize = 1024;

/// The table a statement names, with its definition.
fn table_of(shared: &Shared, name: &ast::ObjectName) -> Option<(TableId, Arc<TableMeta>)> {
    let id = table_id(name).ok()?;
    let meta = shared.catalog.table(&id)?;
    Some((id, meta))
}

/// The one plain table of a FROM clause.
fn single_table(from: &TableWithJoins) -> Option<&ast::ObjectName> {
    let TableFactor::Table {
        name,
        alias: None,
        args: None,
        with_hints,
        version: None,
        with_ordinality: false,
        partitions,
        json_path: None,
        sample: None,
        index_hints,
    } = &from.relation
    else {
        return None;
    };
    let plain = from.joins.is_empty()
        && with_hints.is_empty()
        && partitions.is_empty()
        && index_hints.is_empty();
    plain.then_some(name)
}

/// Whether a query has no clause around its body: no WITH, ORDER BY, LIMIT, locks, ...
fn bare(query: &ast::Query) -> bool {
    query.order_by.is_none() && bare_but_order(query)
}

/// Whether a query has no clause around its body but perhaps an ORDER BY.
fn bare_but_order(query: &ast::Query) -> bool {
    query.with.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.locks.is_empty()
        && query.for_clause.is_none()
        && query.settings.is_none()
        && query.format_clause.is_none()
        && query.pipe_operators.is_empty()
}

/// Whether a SELECT has nothing but its projection, one FROM and a WHERE.
fn plain_select(select: &ast::Select) -> bool {
    select.optimizer_hints.is_empty()
        && select.select_modifiers.is_none()
        && select.top.is_none()
        && select.exclude.is_none()
        && select.into.is_none()
        && select.lateral_views.is_empty()
        && select.prewhere.is_none()
        && select.connect_by.is_empty()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        && select.cluster_by.is_empty()
        && select.distribute_by.is_empty()
        && select.sort_by.is_empty()
        && select.having.is_none()
        && select.named_window.is_empty()
        && select.qualify.is_none()
        && select.value_table_mode.is_none()
        && matches!(select.flavor, ast::SelectFlavor::Standard)
}

fn get_shape(
    shared: &Shared,
    query: &ast::Query,
    values: Values,
    schema: Option<&SchemaRef>,
) -> Option<FastPath> {
    if !bare_but_order(query) {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    if !plain_select(select) {
        return None;
    }
    let (table, meta) = table_of(shared, single_table(from)?)?;
    let Shaped { projection, finish } =
        finish::shape(&meta, select, query.order_by.as_ref(), schema)?;
    let selection = select.selection.as_ref()?;
    // A prepared statement's rows are as planned; a text's are the table's columns.
    let schema = match schema {
        Some(schema) => Arc::clone(schema),
        None => Arc::new(meta.schema.project(&projection).ok()?),
    };
    let read = Read {
        projection,
        schema,
        finish,
    };
    if let Some(bounds) = pk_between(&meta, selection, values) {
        return Some(FastPath::Range {
            table,
            read,
            bounds,
        });
    }
    if let Some((column, keep)) = kept_values(&meta, selection, values) {
        return Some(FastPath::Lookup {
            table,
            read,
            column,
            keep,
        });
    }
    let key = key_operands(&meta, selection, values)?;
    Some(FastPath::Get { table, read, key })
}

/// The bounds of `pk BETWEEN a AND b` on a one-column primary key.
fn pk_between(meta: &TableMeta, selection: &SqlExpr, values: Values) -> Option<(Operand, Operand)> {
    let SqlExpr::Between {
        expr,
        negated: false,
        low,
        high,
    } = selection
    else {
        return None;
    };
    let (SqlExpr::Identifier(column), [pk]) = (expr.as_ref(), meta.pk.as_slice()) else {
        return None;
    };
    if meta.column(&ident_name(column)) != Some(*pk) {
        return None;
    }
    let ty = meta.columns[*pk].ty;
    Some((values.operand(low, ty)?, values.operand(high, ty)?))
}

/// What an INSERT of a fast path's shape writes.
struct Target<'i> {
    table: TableId,
    meta: Arc<TableMeta>,
    /// The column each value of a row goes to, in order.
    columns: Vec<usize>,
    /// The rows of its VALUES.
    rows: &'i [Parens<Vec<SqlExpr>>],
}

/// The target of `insert`, if it has a fast path's shape.
fn insert_target<'i>(shared: &Shared, insert: &'i ast::Insert) -> Option<Target<'i>> {
    let plain = insert.optimizer_hints.is_empty()
        && insert.or.is_none()
        && !insert.ignore
        && insert.table_alias.is_none()
        && !insert.overwrite
        && insert.assignments.is_empty()
        && insert.partitioned.is_none()
        && insert.after_columns.is_empty()
        && insert.on.is_none()
        && insert.returning.is_none()
        && insert.output.is_none()
        && !insert.replace_into
        && insert.priority.is_none()
        && insert.insert_alias.is_none()
        && insert.settings.is_none()
        && insert.format_clause.is_none()
        && insert.multi_table_insert_type.is_none()
        && insert.multi_table_into_clauses.is_empty()
        && insert.multi_table_when_clauses.is_empty();
    let TableObject::TableName(name) = &insert.table else {
        return None;
    };
    let source = insert.source.as_ref()?;
    if !plain || !bare(source) {
        return None;
    }
    let SetExpr::Values(ast::Values {
        explicit_row: false,
        value_keyword: false,
        rows: source_rows,
    }) = source.body.as_ref()
    else {
        return None;
    };
    let (table, meta) = table_of(shared, name)?;
    let columns: Vec<usize> = if insert.columns.is_empty() {
        (0..meta.columns.len()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|name| match name.0.as_slice() {
                [part] => meta.column(&ident_name(part.as_ident()?)),
                _ => None,
            })
            .collect::<Option<_>>()?
    };
    Some(Target {
        table,
        meta,
        columns,
        rows: source_rows,
    })
}

fn insert_shape(shared: &Shared, insert: &ast::Insert, values: Values) -> Option<FastPath> {
    let Target {
        table,
        meta,
        columns,
        rows,
    } = insert_target(shared, insert)?;
    let rows = rows
        .iter()
        .map(|row| {
            let operands = row.content.iter().zip(&columns);
            let operands = operands.map(|(expr, &c)| values.operand(expr, meta.columns[c].ty));
            placed(&meta, &columns, row.content.len(), operands)
        })
        .collect::<Option<_>>()?;
    Some(FastPath::Insert { table, rows })
}

/// A row's operands, given in the order of `columns` (`width` of them), in the table's
/// column order, `None` for a column the INSERT leaves out; `None` if the row is not as
/// wide as `columns`, names a column twice, or an operand is not plainly its column's.
fn placed<T: Clone>(
    meta: &TableMeta,
    columns: &[usize],
    width: usize,
    operands: impl Iterator<Item = Option<T>>,
) -> Option<Vec<Option<T>>> {
    if width != columns.len() {
        return None;
    }
    let mut row = vec![None; meta.columns.len()];
    for (&column, operand) in columns.iter().zip(operands) {
        if row[column].replace(operand?).is_some() {
            return None;
        }
    }
    Some(row)
}

fn update_shape(shared: &Shared, update: &ast::Update, values: Values) -> Option<FastPath> {
    if !update.optimizer_hints.is_empty()
        || update.from.is_some()
        || update.returning.is_some()
        || update.output.is_some()
        || update.or.is_some()
        || !update.order_by.is_empty()
        || update.limit.is_some()
    {
        return None;
    }
    let (table, meta) = table_of(shared, single_table(&update.table)?)?;
    let mut assignments = Vec::with_capacity(update.assignments.len());
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return None;
        };
        let [part] = name.0.as_slice() else {
            return None;
        };
        let column = meta.column(&ident_name(part.as_ident()?))?;
        if meta.pk.contains(&column) || assignments.iter().any(|&(c, _)| c == column) {
            return None;
        }
        let assign = match &assignment.value {
            SqlExpr::BinaryOp { left, op, right } => {
                let SqlExpr::Identifier(same) = left.as_ref() else {
                    return None;
                };
                let n = integer(right)?;
                let numeric = matches!(
                    meta.columns[column].ty,
                    ColumnType::Int32 | ColumnType::Int64 | ColumnType::Float64
                );
                if ident_name(same) != meta.columns[column].name || !numeric {
                    return None;
                }
                match op {
                    ast::BinaryOperator::Plus => Assign::Add(n),
                    ast::BinaryOperator::Minus => Assign::Add(n.checked_neg()?),
                    _ => return None,
                }
            }
            value => Assign::Set(values.operand(value, meta.columns[column].ty)?),
        };
        assignments.push((column, assign));
    }
    let key = key_operands(&meta, update.selection.as_ref()?, values)?;
    Some(FastPath::Update {
        table,
        key,
        assignments,
    })
}

fn delete_shape(shared: &Shared, delete: &ast::Delete, values: Values) -> Option<FastPath> {
    if !delete.optimizer_hints.is_empty()
        || !delete.tables.is_empty()
        || delete.using.is_some()
        || delete.returning.is_some()
        || delete.output.is_some()
        || !delete.order_by.is_empty()
        || delete.limit.is_some()
    {
        return None;
    }
    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
    let [from] = from.as_slice() else {
        return None;
    };
    let (table, meta) = table_of(shared, single_table(from)?)?;
    let key = key_operands(&meta, delete.selection.as_ref()?, values)?;
    Some(FastPath::Delete { table, key })
}

/// `k IN (a, b, ...)`, or `k BETWEEN a AND b OR k BETWEEN c AND d ...` (parenthesised
/// or not), on a column `k` the primary key or an index leads with: the column and the
/// values kept. Ranges are on integers and text alone, whose keys order as their values.
fn kept_values(meta: &TableMeta, selection: &SqlExpr, values: Values) -> Option<(usize, Keep)> {
    let (column, keep) = match selection {
        SqlExpr::InList {
            expr,
            list,
            negated: false,
        } => {
            let column = column_of(meta, expr)?;
            let ty = meta.columns[column].ty;
            let operands = list
                .iter()
                .map(|value| values.operand(value, ty))
                .collect::<Option<Vec<_>>>()?;
            (column, Keep::In(operands))
        }
        _ => {
            let mut ranges = Vec::new();
            let column = between_union(meta, selection, values, &mut ranges)?;
            let ordered = matches!(
                meta.columns[column].ty,
                ColumnType::Int32 | ColumnType::Int64 | ColumnType::Text
            );
            if !ordered {
                return None;
            }
            (column, Keep::Between(ranges))
        }
    };
    let empty = matches!(&keep, Keep::In(list) if list.is_empty());
    (!empty && access::looks_up(meta, column)).then_some((column, keep))
}

/// The plain column `expr` names.
fn column_of(meta: &TableMeta, expr: &SqlExpr) -> Option<usize> {
    match expr {
        SqlExpr::Identifier(column) => meta.column(&ident_name(column)),
        _ => None,
    }
}

/// The one column of a disjunction of `column BETWEEN low AND high`, its ranges pushed
/// onto `ranges`.
fn between_union(
    meta: &TableMeta,
    expr: &SqlExpr,
    values: Values,
    ranges: &mut Vec<(Operand, Operand)>,
) -> Option<usize> {
    match expr {
        SqlExpr::Nested(inner) => between_union(meta, inner, values, ranges),
        SqlExpr::BinaryOp {
            left,
            op: ast::BinaryOperator::Or,
            right,
        } => {
            let column = between_union(meta, left, values, ranges)?;
            (between_union(meta, right, values, ranges)? == column).then_some(column)
        }
        SqlExpr::Between {
            expr,
            negated: false,
            low,
            high,
        } => {
            let column = column_of(meta, expr)?;
            let ty = meta.columns[column].ty;
            ranges.push((values.operand(low, ty)?, values.operand(high, ty)?));
            Some(column)
        }
        _ => None,
    }
}

/// `$n` as the parameter index `n - 1`.
fn placeholder(expr: &SqlExpr) -> Option<usize> {
    let SqlExpr::Value(value) = expr else {
        return None;
    };
    let ast::Value::Placeholder(name) = &value.value else {
        return None;
    };
    name.strip_prefix('$')?
        .parse::<usize>()
        .ok()?
        .checked_sub(1)
}

/// An integer literal.
fn integer(expr: &SqlExpr) -> Option<i64> {
    let SqlExpr::Value(value) = expr else {
        return None;
    };
    let ast::Value::Number(text, false) = &value.value else {
        return None;
    };
    text.parse().ok()
}

/// For each primary-key column, its value, when `selection` is exactly
/// `pk1 = v1 AND pk2 = v2 ...`.
fn key_operands(meta: &TableMeta, selection: &SqlExpr, values: Values) -> Option<Vec<Operand>> {
    let mut equalities = Vec::new();
    conjuncts(selection, &mut equalities)?;
    let mut key: Vec<Option<Operand>> = vec![None; meta.pk.len()];
    for (column, value) in equalities {
        let column = meta.column(&column)?;
        let position = meta.pk.iter().position(|&p| p == column)?;
        let operand = values.operand(value, meta.columns[column].ty)?;
        if key[position].replace(operand).is_some() {
            return None;
        }
    }
    key.into_iter().collect()
}

/// `column = value` conjuncts of a WHERE clause; `None` if it holds anything else.
fn conjuncts<'a>(expr: &'a SqlExpr, out: &mut Vec<(String, &'a SqlExpr)>) -> Option<()> {
    match expr {
        SqlExpr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out)?;
            conjuncts(right, out)
        }
        SqlExpr::Nested(inner) => conjuncts(inner, out),
        SqlExpr::BinaryOp {
            left,
            op: ast::BinaryOperator::Eq,
            right,
        } => {
            let ((SqlExpr::Identifier(column), value) | (value, SqlExpr::Identifier(column))) =
                (left.as_ref(), right.as_ref())
            else {
                return None;
            };
            out.push((ident_name(column), value));
            Some(())
        }
        _ => None,
    }
}

/// A literal of a statement's text as a value of a column of type `ty`, when it is
/// plainly one (see [`plainly`]); anything else is the general path's, with its casts and
/// errors.
fn literal_of(expr: &SqlExpr, ty: ColumnType) -> Option<Value> {
    plainly(literal(expr)?, &ty.arrow())
}

#[cfg(test)]
mod tests {
    use super::FastPath;
    use crate::sql::{self, Stmt};
    use crate::{Engine, UserId};

    /// Which texts take a fast path, unplanned; `tests/prepared.rs` and
    /// `tests/fast_writes.rs` check that those give what DataFusion gives.
    #[test]
    fn texts_of_the_shapes_with_plain_literals_skip_planning() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        engine
            .sql_blocking(
                &UserId::new("root").unwrap(),
                "CREATE NAMESPACE app;
                 CREATE SHARED TABLE app.t (id INT PRIMARY KEY, k BIGINT, c TEXT, f DOUBLE, b BOOLEAN, at TIMESTAMP);
                 CREATE VIEW app.v AS SELECT id, c FROM app.t",
            )
            .unwrap();
        let fast = |text: &str, bounded: bool| {
            let Stmt::Sql(statement) = sql::parse(text).unwrap().remove(0).stmt else {
                panic!("{text} is not SQL");
            };
            FastPath::of_text(&engine.shared, &statement, bounded).is_some()
        };
        let taken = [
            "SELECT c FROM app.t WHERE id = 5",
            "SELECT * FROM app.t WHERE -5 = id",
            "SELECT c, k FROM app.t WHERE id = NULL",
            "SELECT c FROM app.t WHERE id BETWEEN 1 AND 100",
            "SELECT c FROM app.t WHERE id = 5 ORDER BY c",
            "SELECT DISTINCT c FROM app.t WHERE id BETWEEN 1 AND 9 ORDER BY c DESC NULLS LAST",
            "SELECT f FROM app.t WHERE id BETWEEN 1 AND 9 ORDER BY f",
            "INSERT INTO app.t (id, k, c) VALUES (1, -2, 'it''s')",
            "INSERT INTO app.t VALUES (1, 2, 'a', 1.5, TRUE, NULL), (2, NULL, NULL, 3, false, NULL)",
            "UPDATE app.t SET c = 'x', k = k + 1, f = 2 WHERE id = 3",
            "DELETE FROM app.t WHERE id = 2147483647",
        ];
        for text in taken {
            assert!(fast(text, false), "{text}");
        }
        let general = [
            // Literals not plainly of their column's type: DataFusion's casts and errors.
            "SELECT c FROM app.t WHERE id = '5'",
            "SELECT c FROM app.t WHERE id = 2147483648",
            "SELECT c FROM app.t WHERE id = 1.0",
            "INSERT INTO app.t (id, c) VALUES (1, 5)",
            "INSERT INTO app.t (id, at) VALUES (1, '2026-01-01 00:00:00')",
            "INSERT INTO app.t (id, f) VALUES (1, 1e999)",
            "UPDATE app.t SET b = 1 WHERE id = 3",
            // Clauses the shapes do not have.
            "SELECT c FROM app.t WHERE id = 5 LIMIT 1",
            "SELECT DISTINCT c FROM app.t WHERE id = 5",
            "SELECT DISTINCT f FROM app.t WHERE id BETWEEN 1 AND 9 ORDER BY f",
            "SELECT c FROM app.t WHERE id = 5 ORDER BY k",
            "SELECT c, k FROM app.t WHERE id = 5 ORDER BY c",
            "SELECT c FROM app.t WHERE id = 5 ORDER BY c, c",
            "SELECT c FROM app.t WHERE id = 5 ORDER BY upper(c)",
            // Aggregates are fast once planned, which names their columns.
            "SELECT sum(k) FROM app.t WHERE id BETWEEN 1 AND 9",
            "SELECT c AS d FROM app.t WHERE id = 5",
            "SELECT c FROM app.t x WHERE id = 5",
            "SELECT c, c FROM app.t WHERE id = 5",
            "SELECT c FROM app.t WHERE id = 5 OR id = 6",
            "SELECT c FROM app.t WHERE k = 5",
            "SELECT c FROM app.v WHERE id = 5",
            "SELECT c FROM app.t WHERE id = 5 FOR UPDATE",
            "WITH w AS (SELECT 1) SELECT c FROM app.t WHERE id = 5",
            "INSERT INTO app.t (id) VALUES (1) RETURNING id",
            "INSERT INTO app.t (id) VALUES (1) ON CONFLICT DO NOTHING",
            "INSERT INTO app.t (id, id) VALUES (1, 2)",
            "INSERT INTO app.t (id) SELECT 1",
            "UPDATE app.t SET id = 4 WHERE id = 3",
            "DELETE FROM app.t WHERE id = 2 RETURNING c",
            "SELECT c FROM system.users WHERE user_id = 'root'",
            "SELECT c FROM t WHERE id = 5",
        ];
        for text in general {
            assert!(!fast(text, false), "{text}");
        }
        // A caller that streams what may be large takes only what is known to be small.
        assert!(fast(
            "SELECT c FROM app.t WHERE id BETWEEN 1 AND 1000",
            true
        ));
        assert!(!fast(
            "SELECT c FROM app.t WHERE id BETWEEN 1 AND 1024",
            true
        ));
        assert!(fast("SELECT c FROM app.t WHERE id = 1", true));
    }

    /// A lookup's path is the one a scan chooses for the filter written out: the same
    /// gets, ranges, index and residual, so the same rows in the same order.
    #[test]
    fn a_lookup_takes_the_path_of_its_filter_written_out() {
        use datafusion::common::Column;
        use datafusion::logical_expr::Expr;

        use crate::access::{self, Lookup};
        use crate::ids::TableId;
        use crate::value::Value;

        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        engine
            .sql_blocking(
                &UserId::new("root").unwrap(),
                "CREATE NAMESPACE app;
                 CREATE SHARED TABLE app.t (id INT PRIMARY KEY, k BIGINT, c TEXT, f DOUBLE, n INT);
                 CREATE INDEX by_k ON app.t (k);
                 CREATE INDEX by_c_k ON app.t (c DESC, k);
                 CREATE INDEX by_f ON app.t (f)",
            )
            .unwrap();
        let meta = engine
            .shared
            .catalog
            .table(&TableId::parse("app.t").unwrap())
            .unwrap();
        let int = Value::Int32;
        let lists: [(usize, Vec<Value>); 6] = [
            (0, vec![int(5), int(-3), int(5), int(40)]),
            (1, vec![Value::Int64(9)]),
            (1, vec![Value::Int64(3), Value::Int64(1), Value::Int64(3)]),
            (2, vec![Value::from("b"), Value::from(""), Value::from("a")]),
            (3, vec![Value::Float64(0.0), Value::Float64(2.5)]),
            (4, vec![Value::Int32(1), Value::Int32(2)]),
        ];
        let ranges: [(usize, Vec<(Value, Value)>); 5] = [
            (0, vec![(int(1), int(9))]),
            (
                0,
                vec![(int(8), int(2)), (int(1), int(3)), (int(2), int(6))],
            ),
            (
                1,
                vec![
                    (Value::Int64(-4), Value::Int64(4)),
                    (Value::Int64(9), Value::Int64(9)),
                ],
            ),
            (2, vec![(Value::from("a"), Value::from("c"))]),
            (
                3,
                vec![
                    (Value::Float64(-1.0), Value::Float64(0.0)),
                    (Value::Float64(3.0), Value::Float64(4.0)),
                ],
            ),
        ];
        let column =
            |c: usize| Expr::Column(Column::new_unqualified(meta.columns[c].name.as_str()));
        let literal = |v: &Value| Expr::Literal(v.to_scalar(), None);
        let same = |c: usize, lookup: Lookup, filter: Expr| {
            let direct = access::plan_lookup(&meta, c, &lookup);
            let written = access::plan(&meta, &[filter], false);
            assert_eq!(direct.access, written.access, "{lookup:?}");
            assert_eq!(direct.residual, written.residual, "{lookup:?}");
        };
        for (c, values) in &lists {
            let filter = column(*c).in_list(values.iter().map(literal).collect(), false);
            same(*c, Lookup::Values(values.clone()), filter);
        }
        for (c, bounds) in &ranges {
            let filter = bounds
                .iter()
                .map(|(low, high)| column(*c).between(literal(low), literal(high)))
                .reduce(Expr::or)
                .unwrap();
            same(*c, Lookup::Ranges(bounds.clone()), filter);
        }
    }
}
