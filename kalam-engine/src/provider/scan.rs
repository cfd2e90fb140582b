//! The scan of a table: its access path, chosen while planning or as each run starts, and
//! the filters it checks on each row.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::cast::as_boolean_array;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
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
use crate::row::Decoder;
use crate::session::{Reads, running_txn, scope_of};
use crate::shared::Shared;
use crate::txn::Txn;

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

/// Reads a table through its access path, a chunk of rows per batch.
#[derive(Debug)]
pub(crate) struct ScanExec {
    pub(super) shared: Arc<Shared>,
    pub(super) meta: Arc<TableMeta>,
    pub(super) user: UserId,
    path: PathChoice,
    filters: Filters,
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
        (path, filters): (PathChoice, Filters),
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
            projection,
            schema,
            limit,
        })
    }

    /// Whether the scan reads every row of its scope: no filters, no limit.
    pub(super) fn is_full(&self) -> bool {
        self.filters.exprs.is_empty() && self.limit.is_none()
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
                    self.cursor = visit_chunk(
                        reads.view(),
                        &self.meta,
                        scope,
                        (&self.access, cursor),
                        max,
                        |_, row| decoder.push(row).map_err(StorageError::corrupt_row),
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
