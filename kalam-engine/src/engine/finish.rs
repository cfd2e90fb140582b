//! What a fast select makes of the rows it reads: the rows themselves, their one column
//! sorted (`ORDER BY c`, `SELECT DISTINCT c .. ORDER BY c`), or one row of aggregates
//! (`COUNT`, `SUM`, `MIN`, `MAX`).
//!
//! Each is computed as DataFusion computes it: the sort is Arrow's sort kernel with
//! DataFusion's default NULL ordering (NULLs last ascending, first descending), DISTINCT
//! keeps the first of each run of equal sorted values, `SUM` adds integers with wrapping
//! as DataFusion's accumulator does, and `MIN` and `MAX` are DataFusion's own
//! accumulators. Shapes whose result could differ by the order of the work (`SUM` of
//! floats, DISTINCT of floats, whose `-0.0` and `NaN` hash as they like) stay on the
//! general path.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::kernels::cmp::distinct;
use datafusion::arrow::compute::{SortOptions, cast, filter, sort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::min_max::{MaxAccumulator, MinAccumulator};
use datafusion::logical_expr::Accumulator;
use datafusion::sql::sqlparser::ast::{
    self, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, OrderByKind, SelectItem,
};

use crate::catalog::TableMeta;
use crate::error::Error;
use crate::sql::names::ident_name;
use crate::value::ColumnType;

/// What a fast select makes of the rows it reads.
#[derive(Debug, Clone)]
pub(crate) enum Finish {
    /// The rows as read, in primary-key order.
    Rows,
    /// The values of the one column read, sorted; each once when `distinct`.
    Sorted {
        options: SortOptions,
        distinct: bool,
    },
    /// One row: an aggregate per output column, over the columns read (`read`, their
    /// schema).
    Aggregate {
        read: SchemaRef,
        aggregates: Vec<Aggregate>,
    },
}

/// An aggregate of a fast select; columns are positions among the columns read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Aggregate {
    /// `COUNT(*)`.
    CountRows,
    /// `COUNT(c)`: the values that are not NULL.
    Count(usize),
    /// `SUM(c)` of an integer column, as a BIGINT.
    Sum(usize),
    /// `MIN(c)`.
    Min(usize),
    /// `MAX(c)`.
    Max(usize),
}

/// A SELECT's projection, and what is made of its rows.
pub(super) struct Shaped {
    /// The table's columns to read, in output order (the aggregated columns, each once,
    /// for aggregates).
    pub(super) projection: Vec<usize>,
    pub(super) finish: Finish,
}

/// The projection of a select list of plain columns (`*` among them), each once.
fn columns(meta: &TableMeta, items: &[SelectItem]) -> Option<Vec<usize>> {
    let mut projection = Vec::new();
    for item in items {
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
    let twice = (1..projection.len()).any(|i| projection[..i].contains(&projection[i]));
    (!twice).then_some(projection)
}

/// The shape of a select list, its DISTINCT and its ORDER BY, if a fast select can make
/// it: plain columns in any order; one column sorted on itself, DISTINCT or not; or
/// aggregates alone, when `schema` (the planned one, which names them) is known.
pub(super) fn shape(
    meta: &TableMeta,
    select: &ast::Select,
    order_by: Option<&ast::OrderBy>,
    schema: Option<&SchemaRef>,
) -> Option<Shaped> {
    let distinct = match &select.distinct {
        None => false,
        Some(ast::Distinct::Distinct) => true,
        Some(_) => return None,
    };
    if let Some(projection) = columns(meta, &select.projection) {
        let finish = match order_by {
            None if !distinct => Finish::Rows,
            None => return None,
            Some(order_by) => {
                let options = sorted_on(meta, &projection, order_by)?;
                let ty = meta.columns[projection[0]].ty;
                // Floats' DISTINCT is by hash, with its own view of -0.0 and NaN.
                if distinct && ty == ColumnType::Float64 {
                    return None;
                }
                Finish::Sorted { options, distinct }
            }
        };
        return Some(Shaped { projection, finish });
    }
    if distinct || order_by.is_some() {
        return None;
    }
    let schema = schema?;
    let mut projection = Vec::new();
    let mut aggregates = Vec::with_capacity(select.projection.len());
    for (item, field) in select.projection.iter().zip(schema.fields()) {
        let SelectItem::UnnamedExpr(SqlExpr::Function(function)) = item else {
            return None;
        };
        let (name, argument) = aggregate_call(function)?;
        let column = match argument {
            None => None,
            Some(ident) => Some(meta.column(&ident_name(ident))?),
        };
        let position = |projection: &mut Vec<usize>, column: usize| {
            projection
                .iter()
                .position(|&c| c == column)
                .unwrap_or_else(|| {
                    projection.push(column);
                    projection.len() - 1
                })
        };
        let aggregate = match (name.as_str(), column) {
            ("count", None) => Aggregate::CountRows,
            ("count", Some(c)) => Aggregate::Count(position(&mut projection, c)),
            ("sum", Some(c)) => {
                let integer = matches!(meta.columns[c].ty, ColumnType::Int32 | ColumnType::Int64);
                if !integer {
                    return None;
                }
                Aggregate::Sum(position(&mut projection, c))
            }
            ("min", Some(c)) => Aggregate::Min(position(&mut projection, c)),
            ("max", Some(c)) => Aggregate::Max(position(&mut projection, c)),
            _ => return None,
        };
        // The planned type of each output column is the one computed here.
        let ty = match (aggregate, column) {
            (Aggregate::Min(_) | Aggregate::Max(_), Some(c)) => meta.columns[c].ty.arrow(),
            _ => DataType::Int64,
        };
        if field.data_type() != &ty {
            return None;
        }
        aggregates.push(aggregate);
    }
    if aggregates.len() != schema.fields().len() || aggregates.is_empty() {
        return None;
    }
    let read = Arc::new(meta.schema.project(&projection).ok()?);
    Some(Shaped {
        projection,
        finish: Finish::Aggregate { read, aggregates },
    })
}

/// `ORDER BY c [ASC|DESC] [NULLS FIRST|LAST]` on the one column selected: its options.
fn sorted_on(
    meta: &TableMeta,
    projection: &[usize],
    order_by: &ast::OrderBy,
) -> Option<SortOptions> {
    let (OrderByKind::Expressions(exprs), None) = (&order_by.kind, &order_by.interpolate) else {
        return None;
    };
    let ([expr], [column]) = (exprs.as_slice(), projection) else {
        return None;
    };
    let SqlExpr::Identifier(ident) = &expr.expr else {
        return None;
    };
    if expr.with_fill.is_some() || meta.column(&ident_name(ident)) != Some(*column) {
        return None;
    }
    let descending = expr.options.asc == Some(false);
    Some(SortOptions {
        descending,
        // DataFusion's default: NULLs sort as the largest value.
        nulls_first: expr.options.nulls_first.unwrap_or(descending),
    })
}

/// The lowercased name of a plain call `f(*)` or `f(column)`, and its column.
fn aggregate_call(function: &ast::Function) -> Option<(String, Option<&ast::Ident>)> {
    let plain = !function.uses_odbc_syntax
        && matches!(function.parameters, FunctionArguments::None)
        && function.filter.is_none()
        && function.null_treatment.is_none()
        && function.over.is_none()
        && function.within_group.is_empty();
    let ([name], FunctionArguments::List(list)) = (function.name.0.as_slice(), &function.args)
    else {
        return None;
    };
    let [FunctionArg::Unnamed(argument)] = list.args.as_slice() else {
        return None;
    };
    if !plain || list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    let name = ident_name(name.as_ident()?);
    match argument {
        FunctionArgExpr::Wildcard => Some((name, None)),
        FunctionArgExpr::Expr(SqlExpr::Identifier(ident)) => Some((name, Some(ident))),
        _ => None,
    }
}

impl Finish {
    /// The schema of the columns read, given the result's.
    pub(super) fn rows_schema(&self, schema: &SchemaRef) -> SchemaRef {
        match self {
            Finish::Aggregate { read, .. } => Arc::clone(read),
            Finish::Rows | Finish::Sorted { .. } => Arc::clone(schema),
        }
    }

    /// The result, with the output `schema`, of `rows`: the columns read, with
    /// [`Finish::rows_schema`].
    pub(super) fn batch(
        &self,
        rows: RecordBatch,
        schema: &SchemaRef,
    ) -> Result<RecordBatch, Error> {
        let arrow = |e: ArrowError| Error::from_datafusion(e.into());
        match self {
            Finish::Rows => Ok(rows),
            Finish::Sorted { options, distinct } => {
                let column = rows.column(0);
                let order = sort_to_indices(column, Some(*options), None).map_err(arrow)?;
                let mut sorted = take(column, &order, None).map_err(arrow)?;
                if *distinct && sorted.len() > 1 {
                    sorted = first_of_runs(&sorted).map_err(arrow)?;
                }
                RecordBatch::try_new(Arc::clone(schema), vec![sorted]).map_err(arrow)
            }
            Finish::Aggregate { aggregates, .. } => {
                let columns = aggregates
                    .iter()
                    .map(|aggregate| aggregate.of(&rows)?.to_array_of_size(1))
                    .collect::<datafusion::common::Result<Vec<ArrayRef>>>()
                    .map_err(Error::from_datafusion)?;
                RecordBatch::try_new(Arc::clone(schema), columns).map_err(arrow)
            }
        }
    }
}

impl Finish {
    /// Whether the finish is counts alone, each of the rows or of a column read (by its
    /// position among them) that `never_null` says holds no NULL: then the number of rows
    /// is all it needs (see [`counted`](Self::counted)).
    pub(super) fn counts_rows(&self, never_null: impl Fn(usize) -> bool) -> bool {
        matches!(self, Finish::Aggregate { aggregates, .. } if aggregates.iter().all(|a| match *a {
            Aggregate::CountRows => true,
            Aggregate::Count(c) => never_null(c),
            _ => false,
        }))
    }

    /// The result, of `schema`, of a finish that [`counts_rows`](Self::counts_rows) over
    /// `rows` rows.
    pub(super) fn counted(&self, rows: usize, schema: &SchemaRef) -> Result<RecordBatch, Error> {
        let count: ArrayRef = Arc::new(Int64Array::from(vec![rows as i64]));
        let columns = vec![count; schema.fields().len()];
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map_err(|e| Error::from_datafusion(e.into()))
    }
}

/// The first value of each run of equal values of a sorted array (NULLs equal).
fn first_of_runs(sorted: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let n = sorted.len();
    let changed = distinct(&sorted.slice(1, n - 1), &sorted.slice(0, n - 1))?;
    let keep: BooleanArray = std::iter::once(Some(true)).chain(changed.iter()).collect();
    filter(sorted, &keep)
}

impl Aggregate {
    /// The aggregate over `rows`, the columns read.
    fn of(self, rows: &RecordBatch) -> datafusion::common::Result<ScalarValue> {
        Ok(match self {
            Aggregate::CountRows => ScalarValue::Int64(Some(rows.num_rows() as i64)),
            Aggregate::Count(c) => {
                let column = rows.column(c);
                ScalarValue::Int64(Some((column.len() - column.null_count()) as i64))
            }
            Aggregate::Sum(c) => {
                let column = cast(rows.column(c), &DataType::Int64)?;
                let values = column.as_primitive::<Int64Type>();
                // As DataFusion's SUM of integers: wrapping, NULL over no values.
                ScalarValue::Int64(datafusion::arrow::compute::sum(values))
            }
            Aggregate::Min(c) => {
                let mut min = MinAccumulator::try_new(rows.column(c).data_type())?;
                min.update_batch(std::slice::from_ref(rows.column(c)))?;
                min.evaluate()?
            }
            Aggregate::Max(c) => {
                let mut max = MaxAccumulator::try_new(rows.column(c).data_type())?;
                max.update_batch(std::slice::from_ref(rows.column(c)))?;
                max.evaluate()?
            }
        })
    }
}
