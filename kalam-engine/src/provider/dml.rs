//! INSERT, UPDATE and DELETE as execution plans: each runs the write path when executed.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt64Array};
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::properties;
use crate::access::AccessPath;
use crate::catalog::TableMeta;
use crate::error::Error;
use crate::result::count_schema;
use crate::session::{QueryUser, running_user};
use crate::shared::Shared;
use crate::write::{apply_delete, apply_insert, apply_update};

/// The write statements.
#[derive(Debug)]
pub(super) enum Dml {
    Insert(Arc<dyn ExecutionPlan>),
    Delete {
        plan: AccessPath,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
    },
    Update {
        plan: AccessPath,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
        assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    },
}

/// Runs a write when executed (never while planning, so `EXPLAIN` changes nothing) and
/// returns the `count` of rows written.
#[derive(Debug)]
pub(super) struct DmlExec {
    shared: Arc<Shared>,
    meta: Arc<TableMeta>,
    user: Arc<QueryUser>,
    dml: Arc<Dml>,
    properties: Arc<PlanProperties>,
}

impl DmlExec {
    pub(super) fn new(
        shared: Arc<Shared>,
        meta: Arc<TableMeta>,
        user: Arc<QueryUser>,
        dml: Dml,
    ) -> Self {
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
        // The user it was planned for, in the transaction that runs it.
        let user = running_user(&context)
            .filter(|running| running.id == self.user.id)
            .unwrap_or_else(|| Arc::clone(&self.user));
        let (shared, meta, dml) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
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
                    apply_delete(&shared, &meta, &user, &plan.access, predicates)
                }
                Dml::Update {
                    plan,
                    predicates,
                    assignments,
                } => apply_update(&shared, &meta, &user, &plan.access, predicates, assignments),
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
