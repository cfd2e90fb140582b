//! DataFusion's view of the engine's tables: scans with pushed-down access paths, and
//! INSERT, UPDATE and DELETE as plans that write through the storage.

pub(crate) mod access;
mod lookup;
mod read;
pub(crate) mod system;
pub(crate) mod write;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, UInt64Array};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::cast::as_boolean_array;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::TableType as DfTableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

pub(crate) use lookup::LookupJoinRule;
use read::visit_chunk;
pub(crate) use read::{Cursor, read_chunk};
pub(crate) use write::{apply_delete, apply_insert, apply_update, backfill_index};

use crate::Shared;
use crate::catalog::TableMeta;
use crate::error::{Error, StorageError};
use crate::ids::UserId;
use crate::models::{Role, TableType};
use crate::params;
use crate::row::RowDecoder;
use crate::storage::Scope;

/// Who runs the statement: set on the session of every query, read by every scan and write.
#[derive(Debug)]
pub(crate) struct QueryUser {
    pub(crate) id: UserId,
    pub(crate) role: Role,
}

/// The scope of `meta`'s rows that `user` works on.
pub(crate) fn scope_of<'a>(meta: &TableMeta, user: &'a UserId) -> Scope<'a> {
    match meta.kind {
        TableType::User => Scope::User(user.as_str()),
        TableType::Shared | TableType::System => Scope::Shared,
    }
}

pub(crate) fn query_user(state: &dyn Session) -> Result<Arc<QueryUser>> {
    state.config().get_extension::<QueryUser>().ok_or_else(|| {
        datafusion::error::DataFusionError::Internal("no user on the session".into())
    })
}

/// A user or shared table.
#[derive(Debug)]
pub(crate) struct KalamTableProvider {
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: Arc<TableMeta>,
}

#[async_trait]
impl TableProvider for KalamTableProvider {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.meta.schema)
    }

    fn table_type(&self) -> DfTableType {
        DfTableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                if access::is_usable(&self.meta, filter) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let user = query_user(state)?;
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.meta.columns.len()).collect());
        let filters = Filters::new(state, &self.meta, filters, &projection)?;
        let path = if filters.exprs.iter().any(params::has_param) {
            Path::PerRun
        } else {
            Path::Fixed(filters.plan(&self.meta, &projection, true))
        };
        Ok(Arc::new(ScanExec::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            user.id.clone(),
            (path, filters),
            projection,
            limit,
        )?))
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return Err(Error::Unsupported(format!("INSERT {insert_op}")).into_datafusion());
        }
        let user = query_user(state)?;
        Ok(Arc::new(DmlExec::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            user,
            Dml::Insert(input),
        )))
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let user = query_user(state)?;
        let (plan, predicates) = self.selection(state, &filters)?;
        Ok(Arc::new(DmlExec::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            user,
            Dml::Delete { plan, predicates },
        )))
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let user = query_user(state)?;
        let (plan, predicates) = self.selection(state, &filters)?;
        let schema = DFSchema::try_from(self.meta.schema.as_ref().clone())?;
        let assignments = assignments
            .into_iter()
            .map(|(name, expr)| {
                let column = self.meta.column(&name).ok_or_else(|| {
                    Error::UnknownColumn {
                        table: self.meta.id.to_string(),
                        column: name.clone(),
                    }
                    .into_datafusion()
                })?;
                Ok((column, state.create_physical_expr(expr, &schema)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(DmlExec::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            user,
            Dml::Update {
                plan,
                predicates,
                assignments,
            },
        )))
    }
}

impl KalamTableProvider {
    /// The access path of a DELETE or UPDATE, and its predicates to check on each row.
    fn selection(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> Result<(access::Plan, Vec<Arc<dyn PhysicalExpr>>)> {
        let schema = DFSchema::try_from(self.meta.schema.as_ref().clone())?;
        let predicates = filters
            .iter()
            .map(|f| state.create_physical_expr(f.clone(), &schema))
            .collect::<Result<Vec<_>>>()?;
        Ok((access::plan(&self.meta, filters, true), predicates))
    }
}

fn properties(schema: SchemaRef) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(1),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

/// How a scan finds its access path.
#[derive(Debug)]
enum Path {
    /// Chosen while planning.
    Fixed(access::Plan),
    /// Chosen as each run starts, from the filters with the run's parameter values (a
    /// prepared statement's plan, made once, see [`crate::params`]).
    PerRun,
}

/// The filters pushed into a scan. They are pushed `Exact`: the scan returns only rows
/// that pass them all, checking on each row those its access path does not answer.
#[derive(Debug)]
struct Filters {
    exprs: Vec<Expr>,
    /// The columns each filter reads.
    columns: Vec<Vec<usize>>,
    /// The scan's projection, then the other columns the filters read.
    read: Vec<usize>,
    read_schema: SchemaRef,
    /// Each filter as an expression over the `read` columns.
    checks: Vec<Arc<dyn PhysicalExpr>>,
}

impl Filters {
    fn new(
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
    fn plan(&self, meta: &TableMeta, projection: &[usize], describe: bool) -> access::Plan {
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
    shared: Arc<Shared>,
    meta: Arc<TableMeta>,
    user: UserId,
    path: Path,
    filters: Filters,
    projection: Vec<usize>,
    schema: SchemaRef,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl ScanExec {
    fn new(
        shared: Arc<Shared>,
        meta: Arc<TableMeta>,
        user: UserId,
        (path, filters): (Path, Filters),
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
    fn is_full(&self) -> bool {
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
            Path::Fixed(plan) => {
                write!(f, "{plan}")?;
                if !plan.residual.is_empty() {
                    f.write_str(", filter=")?;
                    show(
                        f,
                        &mut plan.residual.iter().map(|&i| &self.filters.exprs[i]),
                    )?;
                }
            }
            Path::PerRun => {
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
        let plan = match &self.path {
            Path::Fixed(plan) => Cow::Borrowed(plan),
            Path::PerRun => Cow::Owned(self.filters.plan(&self.meta, &self.projection, false)),
        };
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
        let state = ScanState {
            shared: Arc::clone(&self.shared),
            meta: Arc::clone(&self.meta),
            user: self.user.clone(),
            access: plan.into_owned().access,
            checks,
            read,
            read_schema,
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
    access: access::Access,
    /// The filters the access path does not answer, checked on each row read.
    checks: Vec<Arc<dyn PhysicalExpr>>,
    /// The columns decoded: the projection, then (with checks) the columns they read.
    read: Vec<usize>,
    read_schema: SchemaRef,
    /// How many of `read` the scan returns.
    width: usize,
    remaining: usize,
    cursor: Cursor,
    batch_size: usize,
}

impl ScanState {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.remaining == 0 || matches!(self.cursor, Cursor::Done) {
                return Ok(None);
            }
            let scope = scope_of(&self.meta, &self.user);
            let cursor = std::mem::replace(&mut self.cursor, Cursor::Done);
            let mut batch = match &self.access {
                access::Access::Index {
                    index,
                    ranges,
                    covering: true,
                } => read::covered_batch(
                    &self.shared.storage,
                    &self.meta,
                    scope,
                    (*index, ranges),
                    &self.read,
                    Arc::clone(&self.read_schema),
                )?,
                _ => {
                    // Checks drop rows: read whole chunks, then keep what the limit allows.
                    let max = if self.checks.is_empty() {
                        self.batch_size.min(self.remaining)
                    } else {
                        self.batch_size
                    };
                    // Rows go from RocksDB's buffers straight into the column builders.
                    let expected = match &self.access {
                        access::Access::Keys(keys) => keys.len().min(max),
                        _ => max.min(256),
                    };
                    let mut decoder =
                        RowDecoder::new(Arc::clone(&self.meta.types), &self.read, expected);
                    self.cursor = visit_chunk(
                        &self.shared.storage,
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

/// Decodes stored rows into a batch of the `projection` columns.
pub(crate) fn decode_batch(
    meta: &TableMeta,
    projection: &[usize],
    schema: SchemaRef,
    rows: &[(Vec<u8>, Vec<u8>)],
) -> Result<RecordBatch> {
    let mut decoder = RowDecoder::new(Arc::clone(&meta.types), projection, rows.len());
    for (_, row) in rows {
        decoder
            .push(row)
            .map_err(|source| Error::from(StorageError::corrupt_row(source)).into_datafusion())?;
    }
    Ok(decoder.finish(schema)?)
}

/// The write statements.
#[derive(Debug)]
pub(crate) enum Dml {
    Insert(Arc<dyn ExecutionPlan>),
    Delete {
        plan: access::Plan,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
    },
    Update {
        plan: access::Plan,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
        assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    },
}

/// Runs a write when executed (never while planning, so `EXPLAIN` changes nothing) and
/// returns the `count` of rows written.
#[derive(Debug)]
pub(crate) struct DmlExec {
    shared: Arc<Shared>,
    meta: Arc<TableMeta>,
    user: Arc<QueryUser>,
    dml: Arc<Dml>,
    properties: Arc<PlanProperties>,
}

pub(crate) fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

impl DmlExec {
    fn new(shared: Arc<Shared>, meta: Arc<TableMeta>, user: Arc<QueryUser>, dml: Dml) -> Self {
        DmlExec {
            shared,
            meta,
            user,
            dml: Arc::new(dml),
            properties: properties(count_schema()),
        }
    }
}

impl DisplayAs for DmlExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dml.as_ref() {
            Dml::Insert(_) => write!(f, "KalamInsertExec: table={}", self.meta.id),
            Dml::Delete { plan, .. } => {
                write!(f, "KalamDeleteExec: table={}, access={plan}", self.meta.id)
            }
            Dml::Update { plan, .. } => {
                write!(f, "KalamUpdateExec: table={}, access={plan}", self.meta.id)
            }
        }
    }
}

impl ExecutionPlan for DmlExec {
    fn name(&self) -> &str {
        "KalamDmlExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        match self.dml.as_ref() {
            Dml::Insert(input) => vec![input],
            _ => Vec::new(),
        }
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (self.dml.as_ref(), children.as_slice()) {
            (Dml::Insert(_), [input]) => Ok(Arc::new(DmlExec {
                shared: Arc::clone(&self.shared),
                meta: Arc::clone(&self.meta),
                user: Arc::clone(&self.user),
                dml: Arc::new(Dml::Insert(Arc::clone(input))),
                properties: Arc::clone(&self.properties),
            })),
            _ => Ok(self),
        }
    }

    fn execute(
        &self,
        _partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let (shared, meta, user, dml) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            Arc::clone(&self.user),
            Arc::clone(&self.dml),
        );
        let run = async move {
            let count = match dml.as_ref() {
                Dml::Insert(input) => {
                    let batches =
                        datafusion::physical_plan::collect(Arc::clone(input), context).await?;
                    apply_insert(&shared, &meta.id, &user, &batches)
                }
                Dml::Delete { plan, predicates } => {
                    apply_delete(&shared, &meta.id, &user, &plan.access, predicates)
                }
                Dml::Update {
                    plan,
                    predicates,
                    assignments,
                } => apply_update(
                    &shared,
                    &meta.id,
                    &user,
                    &plan.access,
                    predicates,
                    assignments,
                ),
            }
            .map_err(Error::into_datafusion)?;
            Ok(RecordBatch::try_new(
                count_schema(),
                vec![Arc::new(UInt64Array::from(vec![count]))],
            )?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            count_schema(),
            futures::stream::once(run),
        )))
    }
}
