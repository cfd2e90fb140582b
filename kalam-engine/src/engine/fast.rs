//! Fast paths of prepared statements: simple shapes that run straight on RocksDB, without
//! DataFusion, and return exactly what the general path returns (`tests/prepared.rs`
//! proves it statement by statement).
//!
//! | shape | runs as |
//! | --- | --- |
//! | `SELECT a, b FROM t WHERE pk = $1 [AND pk2 = $2]` | one get |
//! | `SELECT a, b FROM t WHERE pk BETWEEN $1 AND $2` (one-column key) | one range read |
//! | `INSERT INTO t [(cols)] VALUES ($1, $2, ...)` (one row, parameters only) | a get (duplicate check) and one write |
//! | `UPDATE t SET c = $1, n = n + 1 WHERE pk = $2` (no key column assigned) | a get and one write |
//! | `DELETE FROM t WHERE pk = $1` | a get and one write |
//!
//! Every write keeps the general path's rules: types, NOT NULL, duplicate keys, index
//! entries, the audit row and live-query notifications, in one atomic write.

use std::ops::Bound;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, Expr as SqlExpr, FromTable, GroupByExpr, SelectItem, SetExpr,
    Statement, TableFactor, TableObject, TableWithJoins,
};

use crate::access::decode_batch;
use crate::catalog::TableMeta;
use crate::error::{Error, StorageError};
use crate::ids::TableId;
use crate::result::{QueryResult, changed};
use crate::row::Decoder;
use crate::session::{QueryUser, scope_of};
use crate::shared::Shared;
use crate::sql::names::{ident_name, table_id};
use crate::value::{ColumnType, Value};
use crate::write;

/// A prepared statement that skips DataFusion.
#[derive(Debug, Clone)]
pub(crate) enum FastPath {
    /// A primary-key point select.
    Get {
        table: TableId,
        projection: Vec<usize>,
        schema: SchemaRef,
        /// For each primary-key column, the index of its parameter.
        key: Vec<usize>,
    },
    /// A primary-key range select: `WHERE pk BETWEEN $a AND $b` on a one-column key.
    Range {
        table: TableId,
        projection: Vec<usize>,
        schema: SchemaRef,
        /// The parameters of the low and high bounds (both included).
        bounds: (usize, usize),
    },
    /// A one-row INSERT of parameters.
    Insert {
        table: TableId,
        /// For each column of the table, the index of its parameter (`None`: NULL).
        values: Vec<Option<usize>>,
    },
    /// An UPDATE of one row by primary key.
    Update {
        table: TableId,
        key: Vec<usize>,
        assignments: Vec<(usize, Assign)>,
    },
    /// A DELETE of one row by primary key.
    Delete { table: TableId, key: Vec<usize> },
}

/// The new value of an updated column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Assign {
    /// `c = $n`.
    Param(usize),
    /// `c = c + n` or `c = c - n` (the literal signed).
    Add(i64),
}

impl FastPath {
    /// The fast path of `statement`, if it has one of the shapes.
    pub(crate) fn of(shared: &Shared, statement: &Statement, schema: &SchemaRef) -> Option<Self> {
        match statement {
            Statement::Query(query) => get_shape(shared, query, schema),
            Statement::Insert(insert) => insert_shape(shared, insert),
            Statement::Update(update) => update_shape(shared, update),
            Statement::Delete(delete) => delete_shape(shared, delete),
            _ => None,
        }
    }

    /// Whether the statement is a point select.
    pub(crate) fn is_get(&self) -> bool {
        matches!(self, FastPath::Get { .. })
    }

    /// Runs the statement as `user` with `params` (their number already checked).
    pub(crate) fn run(
        &self,
        shared: &Shared,
        user: &QueryUser,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        let count = match self {
            FastPath::Get {
                table,
                projection,
                schema,
                key,
            } => return get(shared, user, table, projection, schema, key, params),
            FastPath::Range {
                table,
                projection,
                schema,
                bounds,
            } => return range(shared, user, table, projection, schema, *bounds, params),
            FastPath::Insert { table, values } => {
                let meta = meta(shared, table)?;
                let mut row = Vec::with_capacity(values.len());
                for (column, param) in meta.columns.iter().zip(values) {
                    row.push(match param {
                        Some(param) => coerce(params, *param, column.ty)?,
                        // Left out of the INSERT: the column's DEFAULT, NULL without one.
                        None => column.default.clone(),
                    });
                }
                write::insert_row(shared, table, user, row)?
            }
            FastPath::Update {
                table,
                key,
                assignments,
            } => {
                let meta = meta(shared, table)?;
                let Some(pk) = primary_key(&meta, key, params)? else {
                    return Ok(changed(0));
                };
                write::update_by_key(shared, table, user, &pk, |meta, values| {
                    for &(column, assign) in assignments {
                        let ty = meta.columns[column].ty;
                        values[column] = match assign {
                            Assign::Param(param) => coerce(params, param, ty)?,
                            Assign::Add(n) => add(&values[column], n, &meta.columns[column].name)?,
                        };
                    }
                    Ok(())
                })?
            }
            FastPath::Delete { table, key } => {
                let meta = meta(shared, table)?;
                let Some(pk) = primary_key(&meta, key, params)? else {
                    return Ok(changed(0));
                };
                write::delete_by_key(shared, table, user, &pk)?
            }
        };
        Ok(changed(count))
    }
}

fn meta(shared: &Shared, table: &TableId) -> Result<Arc<TableMeta>, Error> {
    shared
        .catalog
        .table(table)
        .ok_or_else(|| Error::UnknownTable(table.to_string()))
}

/// Parameter `param` as a value of type `ty`.
fn coerce(params: &[Value], param: usize, ty: ColumnType) -> Result<Value, Error> {
    params[param].coerce(ty).ok_or_else(|| {
        Error::parameters(format!("${}: {} is not a {ty}", param + 1, params[param]))
    })
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
    key: &[usize],
    params: &[Value],
) -> Result<Option<Vec<u8>>, Error> {
    let mut pk = Vec::new();
    for (&column, &param) in meta.pk.iter().zip(key) {
        match coerce(params, param, meta.columns[column].ty)? {
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
    projection: &[usize],
    schema: &SchemaRef,
    key: &[usize],
    params: &[Value],
) -> Result<QueryResult, Error> {
    let meta = meta(shared, table)?;
    let Some(pk) = primary_key(&meta, key, params)? else {
        let empty = RecordBatch::new_empty(Arc::clone(schema));
        return Ok(QueryResult::new(Arc::clone(schema), vec![empty]));
    };
    let scope = scope_of(&meta, &user.id);
    let rows: Vec<(Vec<u8>, Vec<u8>)> = user
        .reads(&shared.storage)
        .view()
        .get(meta.number, scope, &pk)?
        .map(|row| (pk, row))
        .into_iter()
        .collect();
    let batch = decode_batch(&meta, projection, Arc::clone(schema), &rows)
        .map_err(Error::from_datafusion)?;
    Ok(QueryResult::new(Arc::clone(schema), vec![batch]))
}

fn range(
    shared: &Shared,
    user: &QueryUser,
    table: &TableId,
    projection: &[usize],
    schema: &SchemaRef,
    (low, high): (usize, usize),
    params: &[Value],
) -> Result<QueryResult, Error> {
    let meta = meta(shared, table)?;
    let ty = meta.columns[meta.pk[0]].ty;
    let (low, high) = (coerce(params, low, ty)?, coerce(params, high, ty)?);
    // Rows are decoded as the range is read, straight from RocksDB's buffers.
    let mut decoder = Decoder::new(&meta, projection, span(&low, &high));
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
    let batch = decoder
        .finish(Arc::clone(schema))
        .map_err(|e| Error::from_datafusion(e.into()))?;
    Ok(QueryResult::new(Arc::clone(schema), vec![batch]))
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
        partitions,
        ..
    } = &from.relation
    else {
        return None;
    };
    (from.joins.is_empty() && with_hints.is_empty() && partitions.is_empty()).then_some(name)
}

fn get_shape(shared: &Shared, query: &ast::Query, schema: &SchemaRef) -> Option<FastPath> {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    if select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
    {
        return None;
    }
    let (table, meta) = table_of(shared, single_table(from)?)?;
    let mut projection = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(options) if options.to_string().is_empty() => {
                projection.extend(0..meta.columns.len());
            }
            SelectItem::UnnamedExpr(SqlExpr::Identifier(ident)) => {
                projection.push(meta.column(&ident_name(ident))?);
            }
            _ => return None,
        }
    }
    // A column twice (`SELECT k, k`): the row decoder fills each column once.
    if (1..projection.len()).any(|i| projection[..i].contains(&projection[i])) {
        return None;
    }
    let selection = select.selection.as_ref()?;
    if let Some(bounds) = pk_between(&meta, selection) {
        return Some(FastPath::Range {
            table,
            projection,
            schema: Arc::clone(schema),
            bounds,
        });
    }
    let key = key_params(&meta, selection)?;
    Some(FastPath::Get {
        table,
        projection,
        schema: Arc::clone(schema),
        key,
    })
}

/// The parameters of `pk BETWEEN $a AND $b` on a one-column primary key.
fn pk_between(meta: &TableMeta, selection: &SqlExpr) -> Option<(usize, usize)> {
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
    Some((placeholder(low)?, placeholder(high)?))
}

fn insert_shape(shared: &Shared, insert: &ast::Insert) -> Option<FastPath> {
    let plain = insert.or.is_none()
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
        && insert.format_clause.is_none();
    let TableObject::TableName(name) = &insert.table else {
        return None;
    };
    let source = insert.source.as_ref()?;
    if !plain || source.with.is_some() || source.order_by.is_some() || source.limit_clause.is_some()
    {
        return None;
    }
    let SetExpr::Values(values) = source.body.as_ref() else {
        return None;
    };
    let [row] = values.rows.as_slice() else {
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
    if columns.len() != row.content.len() {
        return None;
    }
    let mut params = vec![None; meta.columns.len()];
    for (&column, expr) in columns.iter().zip(&row.content) {
        if params[column].replace(placeholder(expr)?).is_some() {
            return None;
        }
    }
    Some(FastPath::Insert {
        table,
        values: params,
    })
}

fn update_shape(shared: &Shared, update: &ast::Update) -> Option<FastPath> {
    if update.from.is_some()
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
            value => Assign::Param(placeholder(value)?),
        };
        assignments.push((column, assign));
    }
    let key = key_params(&meta, update.selection.as_ref()?)?;
    Some(FastPath::Update {
        table,
        key,
        assignments,
    })
}

fn delete_shape(shared: &Shared, delete: &ast::Delete) -> Option<FastPath> {
    if !delete.tables.is_empty()
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
    let key = key_params(&meta, delete.selection.as_ref()?)?;
    Some(FastPath::Delete { table, key })
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

/// For each primary-key column, its parameter, when `selection` is exactly
/// `pk1 = $i AND pk2 = $j ...`.
fn key_params(meta: &TableMeta, selection: &SqlExpr) -> Option<Vec<usize>> {
    let mut equalities = Vec::new();
    conjuncts(selection, &mut equalities)?;
    let mut params: Vec<Option<usize>> = vec![None; meta.pk.len()];
    for (column, param) in equalities {
        let position = meta
            .pk
            .iter()
            .position(|&p| Some(p) == meta.column(&column))?;
        if params[position].replace(param).is_some() {
            return None;
        }
    }
    params.into_iter().collect()
}

/// `column = $n` conjuncts of a WHERE clause; `None` if it holds anything else.
fn conjuncts(expr: &SqlExpr, out: &mut Vec<(String, usize)>) -> Option<()> {
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
            out.push((ident_name(column), placeholder(value)?));
            Some(())
        }
        _ => None,
    }
}
