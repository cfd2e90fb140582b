//! The scan of a table: its access path, chosen while planning or as each run starts, and
//! the filters it checks on each row.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::common::cast::as_boolean_array;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::properties;
use crate::access::{
    self, Access, AccessPath, Cursor, covered_batch, keys_chunk, still_usable, visit_chunk,
};
use crate::catalog::TableMeta;
use crate::error::{Error, StorageError};
use crate::ids::UserId;
use crate::row::{Cmp, Constant, Decoder, RowFilter, Term};
use crate::session::{Reads, running_txn, scope_of};
use crate::shared::Shared;
use crate::txn::Txn;
use crate::value::ColumnType;

/// How a scan finds its access path.
#[derive(Debug)]
pub(super) enum PathChoice {
    /// Chosen while planning.
    Fixed(AccessPath),
    /// Chosen as each run starts, from the filters with the run's parameter values (a
    /// prepared statement's plan, made once, see [`crate::sql::params`]).
    PerRun,
}

/// The filters pushed into a scan. They are pushed `Exact`: the scan returns only rows
/// that pass them all, checking on each row those its access path does not answer.
#[derive(Debug)]
pub(super) struct Filters {
    pub(super) exprs: Vec<Expr>,
    /// The columns each filter reads.
    columns: Vec<Vec<usize>>,
    /// The scan's projection, then the other columns the filters read.
    read: Vec<usize>,
    read_schema: SchemaRef,
    /// Each filter as an expression over the `read` columns.
    checks: Vec<Arc<dyn PhysicalExpr>>,
}

impl Filters {
    pub(super) fn new(
        state: &dyn Session,
        meta: &TableMeta,
        exprs: &[Expr],
        projection: &[usize],
    ) -> Result<Self> {
        let mut read = projection.to_vec();
        let mut columns = Vec::with_capacity(exprs.len());
        for expr in exprs {
            let mut used: Vec<usize> = expr
                .column_refs()
                .iter()
                .filter_map(|c| meta.column(&c.name))
                .collect();
            used.sort_unstable();
            used.dedup();
            for &c in &used {
                if !read.contains(&c) {
                    read.push(c);
                }
            }
            columns.push(used);
        }
        let read_schema = Arc::new(meta.schema.project(&read)?);
        let df_schema = DFSchema::try_from(read_schema.as_ref().clone())?;
        let checks = exprs
            .iter()
            .map(|e| state.create_physical_expr(unnormalize_col(e.clone()), &df_schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Filters {
            exprs: exprs.to_vec(),
            columns,
            read,
            read_schema,
            checks,
        })
    }

    /// The access path for these filters with the current run's parameters, its index
    /// access covering when the projection and the residual filters read nothing else;
    /// described for `EXPLAIN` when `describe`.
    pub(super) fn plan(
        &self,
        meta: &TableMeta,
        projection: &[usize],
        describe: bool,
    ) -> AccessPath {
        let plan = access::plan(meta, &self.exprs, describe);
        let mut read = projection.to_vec();
        for &i in &plan.residual {
            read.extend(&self.columns[i]);
        }
        plan.covering(meta, &read)
    }
}

/// The prefilter of `filters`, each a comparison of a column with a constant or an AND of
/// those, on INT, BIGINT and TEXT columns; `None` if there are none or one is of another
/// shape.
pub(crate) fn prefilter<'e>(
    meta: &TableMeta,
    filters: impl IntoIterator<Item = &'e Expr>,
) -> Option<RowFilter> {
    let mut terms = Vec::new();
    for filter in filters {
        if !push_terms(meta, filter, &mut terms) {
            return None;
        }
    }
    RowFilter::new(terms)
}

/// Pushes the terms of `filter` onto `terms`; `false` if it has another shape.
fn push_terms(meta: &TableMeta, filter: &Expr, terms: &mut Vec<Term>) -> bool {
    let column = |e: &Expr| match e {
        Expr::Column(c) => meta.column(&c.name),
        _ => None,
    };
    let constant = |column: usize, e: &Expr| {
        let Expr::Literal(value, _) = e else {
            return None;
        };
        match (meta.columns[column].ty, value) {
            (ColumnType::Int32 | ColumnType::Int64, value) => integer(value).map(Constant::Int),
            (
                ColumnType::Text,
                ScalarValue::Utf8(Some(text))
                | ScalarValue::LargeUtf8(Some(text))
                | ScalarValue::Utf8View(Some(text)),
            ) => Some(Constant::Text(text.clone())),
            _ => None,
        }
    };
    let mut term = |c: usize, op: Cmp, e: &Expr| {
        constant(c, e).map(|constant| {
            terms.push(Term {
                column: c,
                op,
                constant,
            });
        })
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => push_terms(meta, left, terms) && push_terms(meta, right, terms),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let op = match op {
                Operator::Eq => Cmp::Eq,
                Operator::NotEq => Cmp::NotEq,
                Operator::Lt => Cmp::Lt,
                Operator::LtEq => Cmp::LtEq,
                Operator::Gt => Cmp::Gt,
                Operator::GtEq => Cmp::GtEq,
                _ => return false,
            };
            match (column(left), column(right)) {
                (Some(c), None) => term(c, op, right).is_some(),
                (None, Some(c)) => term(c, op.flipped(), left).is_some(),
                _ => false,
            }
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => column(expr).is_some_and(|c| {
            term(c, Cmp::GtEq, low).is_some() && term(c, Cmp::LtEq, high).is_some()
        }),
        _ => false,
    }
}

/// An integer constant as an `i64`; `None` for another type, a NULL or one out of range.
fn integer(value: &ScalarValue) -> Option<i64> {
    match *value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(v)),
        ScalarValue::Int64(Some(v)) => Some(v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(v).ok(),
        _ => None,
    }
}

/// Reads a table through its access path, a chunk of rows per batch.
#[derive(Debug)]
pub(crate) struct ScanExec {
    pub(super) shared: Arc<Shared>,
    pub(super) meta: Arc<TableMeta>,
    pub(super) user: UserId,
    path: PathChoice,
    filters: Filters,
    /// Checked on each stored row the path reads, before it is decoded (see
    /// [`prefilter`]).
    prefilter: Option<Arc<RowFilter>>,
    pub(super) projection: Vec<usize>,
    pub(super) schema: SchemaRef,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl ScanExec {
    pub(super) fn new(
        shared: Arc<Shared>,
        meta: Arc<TableMeta>,
        user: UserId,
        (path, filters, prefilter): (PathChoice, Filters, Option<RowFilter>),
        projection: Vec<usize>,
        limit: Option<usize>,
    ) -> Result<Self> {
        let schema = Arc::new(meta.schema.project(&projection)?);
        Ok(ScanExec {
            properties: properties(Arc::clone(&schema)),
            shared,
            meta,
            user,
            path,
            filters,
            prefilter: prefilter.map(Arc::new),
            projection,
            schema,
            limit,
        })
    }

    /// Whether the scan reads every row of its scope: no filters, no limit.
    pub(super) fn is_full(&self) -> bool {
        self.filters.exprs.is_empty() && self.prefilter.is_none() && self.limit.is_none()
    }
}

impl DisplayAs for ScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |f: &mut fmt::Formatter<'_>, filters: &mut dyn Iterator<Item = &Expr>| {
            let shown: Vec<String> = filters.map(ToString::to_string).collect();
            write!(f, "[{}]", shown.join(", "))
        };
        write!(
            f,
            "KalamScanExec: table={} ({}), access=",
            self.meta.id, self.meta.kind
        )?;
        match &self.path {
            PathChoice::Fixed(plan) => {
                write!(f, "{plan}")?;
                if !plan.residual.is_empty() {
                    f.write_str(", filter=")?;
                    show(
                        f,
                        &mut plan.residual.iter().map(|&i| &self.filters.exprs[i]),
                    )?;
                }
            }
            PathChoice::PerRun => {
                f.write_str("per run, from ")?;
                show(f, &mut self.filters.exprs.iter())?;
            }
        }
        let columns: Vec<&str> = self
            .projection
            .iter()
            .map(|&c| self.meta.columns[c].name.as_str())
            .collect();
        if let Some(prefilter) = &self.prefilter {
            write!(f, ", prefilter=[{}]", prefilter.describe(&self.meta))?;
        }
        write!(f, ", projection=[{}]", columns.join(", "))?;
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for ScanExec {
    fn name(&self) -> &str {
        "KalamScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size();
        // A plan chosen for this run is moved into the scan, not copied.
        let mut meta = Arc::clone(&self.meta);
        let mut plan = match &self.path {
            PathChoice::Fixed(plan) => Cow::Borrowed(plan),
            PathChoice::PerRun => Cow::Owned(self.filters.plan(&meta, &self.projection, false)),
        };
        // A path through an index checks that the index is still there (it may have been
        // dropped since the plan was made), and plans on the table as it is otherwise.
        if matches!(plan.access, Access::Index { .. }) {
            let current = self
                .shared
                .catalog
                .table(&self.meta.id)
                .filter(|current| current.number == self.meta.number)
                .unwrap_or_else(|| Arc::clone(&self.meta));
            if !still_usable(&plan.access, &self.meta, &current) {
                plan = Cow::Owned(self.filters.plan(&current, &self.projection, false));
                meta = current;
            }
        }
        let (read, read_schema) = if plan.residual.is_empty() {
            (self.projection.clone(), Arc::clone(&self.schema))
        } else {
            (
                self.filters.read.clone(),
                Arc::clone(&self.filters.read_schema),
            )
        };
        let checks = plan
            .residual
            .iter()
            .map(|&i| Arc::clone(&self.filters.checks[i]))
            .collect();
        let keys_only = read.iter().all(|column| meta.pk.contains(column));
        let state = ScanState {
            shared: Arc::clone(&self.shared),
            meta,
            user: self.user.clone(),
            txn: running_txn(&context),
            access: plan.into_owned().access,
            checks,
            prefilter: self.prefilter.clone(),
            read,
            read_schema,
            keys_only,
            width: self.projection.len(),
            remaining: self.limit.unwrap_or(usize::MAX),
            cursor: Cursor::Start,
            batch_size,
        };
        let stream = futures::stream::unfold(state, |mut state| async move {
            let batch = state.next_batch().transpose()?;
            Some((batch, state))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

struct ScanState {
    shared: Arc<Shared>,
    meta: Arc<TableMeta>,
    user: UserId,
    /// The transaction the scan runs in: it reads its snapshot and writes.
    txn: Option<Arc<Txn>>,
    access: Access,
    /// The filters the access path does not answer, checked on each row read.
    checks: Vec<Arc<dyn PhysicalExpr>>,
    /// Checked on each stored row before it is decoded: rows it drops are not.
    prefilter: Option<Arc<RowFilter>>,
    /// The columns decoded: the projection, then (with checks) the columns they read.
    read: Vec<usize>,
    read_schema: SchemaRef,
    /// Whether `read` holds primary-key columns only, which the rows' keys hold.
    keys_only: bool,
    /// How many of `read` the scan returns.
    width: usize,
    remaining: usize,
    cursor: Cursor,
    batch_size: usize,
}

impl ScanState {
    /// How many rows to read next.
    fn chunk(&self) -> usize {
        // Checks drop rows: read whole chunks, then keep what the limit allows.
        if self.checks.is_empty() {
            self.batch_size.min(self.remaining)
        } else {
            self.batch_size
        }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.remaining == 0 || matches!(self.cursor, Cursor::Done) {
                return Ok(None);
            }
            let scope = scope_of(&self.meta, &self.user);
            let reads = Reads::of(&self.shared.storage, self.txn.as_deref());
            let cursor = std::mem::replace(&mut self.cursor, Cursor::Done);
            let mut batch = match &self.access {
                Access::Index {
                    index,
                    ranges,
                    covering: true,
                } => covered_batch(
                    reads.view(),
                    &self.meta,
                    scope,
                    (*index, ranges),
                    &self.read,
                    Arc::clone(&self.read_schema),
                )?,
                _ if self.keys_only => {
                    let (batch, cursor) = keys_chunk(
                        reads.view(),
                        &self.meta,
                        scope,
                        (&self.access, cursor),
                        (self.chunk(), &self.read),
                        Arc::clone(&self.read_schema),
                    )?;
                    self.cursor = cursor;
                    batch
                }
                _ => {
                    let max = self.chunk();
                    // Rows go from RocksDB's buffers straight into the column builders.
                    let expected = match &self.access {
                        Access::Keys(keys) => keys.len().min(max),
                        _ => max.min(256),
                    };
                    let mut decoder = Decoder::new(&self.meta, &self.read, expected);
                    let layout = &self.meta.layout;
                    let prefilter = self.prefilter.as_deref();
                    self.cursor = visit_chunk(
                        reads.view(),
                        &self.meta,
                        scope,
                        (&self.access, cursor),
                        max,
                        |_, row| {
                            let kept = prefilter.map_or(Ok(true), |p| p.keeps(layout, row));
                            match kept.map_err(StorageError::corrupt_row)? {
                                true => decoder.push(row).map_err(StorageError::corrupt_row),
                                false => Ok(()),
                            }
                        },
                    )
                    .map_err(|e| Error::from(e).into_datafusion())?;
                    decoder.finish(Arc::clone(&self.read_schema))?
                }
            };
            if !self.checks.is_empty() {
                for check in &self.checks {
                    let keep = check.evaluate(&batch)?.into_array(batch.num_rows())?;
                    batch = filter_record_batch(&batch, as_boolean_array(&keep)?)?;
                }
                batch = batch.project(&(0..self.width).collect::<Vec<_>>())?;
            }
            let batch = batch.slice(0, batch.num_rows().min(self.remaining));
            self.remaining -= batch.num_rows();
            if batch.num_rows() > 0 || matches!(self.cursor, Cursor::Done) {
                return Ok(Some(batch));
            }
        }
    }
}
