//! The table provider of a user or shared table: scans, and writes as plans.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::TableType as DfTableType;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;

use super::dml::{Dml, DmlExec};
use super::scan::{Filters, PathChoice, ScanExec, prefilter};
use crate::access::{self, AccessPath, is_usable};
use crate::catalog::TableMeta;
use crate::error::Error;
use crate::session::query_user;
use crate::shared::Shared;
use crate::sql::params;

/// A user or shared table.
#[derive(Debug)]
pub(crate) struct KalamTableProvider {
    pub(crate) shared: Arc<Shared>,
    pub(crate) meta: Arc<TableMeta>,
    /// What an INSERT that leaves out a column writes in it (`DEFAULT`), by column.
    defaults: Vec<Option<Expr>>,
}

#[async_trait]
impl TableProvider for KalamTableProvider {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.meta.schema)
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        let i = self.meta.columns.iter().position(|c| c.name == column)?;
        self.defaults.get(i)?.as_ref()
    }

    fn table_type(&self) -> DfTableType {
        DfTableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters.iter().map(|filter| self.pushdown(filter)).collect())
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
        // The filters pushed `Inexact` are the scan's prefilter; the others it answers
        // (their parameters, if any, are calls by now: see `params::slotted`).
        let (inexact, exact): (Vec<Expr>, Vec<Expr>) = filters
            .iter()
            .cloned()
            .partition(|f| self.pushdown(f) == TableProviderFilterPushDown::Inexact);
        let prefilter = prefilter(&self.meta, &inexact);
        let filters = Filters::new(state, &self.meta, &exact, &projection)?;
        let path = if filters.exprs.iter().any(params::has_param) {
            PathChoice::PerRun
        } else {
            PathChoice::Fixed(filters.plan(&self.meta, &projection, true))
        };
        Ok(Arc::new(ScanExec::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.meta),
            user.id.clone(),
            (path, filters, prefilter),
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
            return Err(Error::unsupported(format!("INSERT {insert_op}")).into_datafusion());
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
    pub(crate) fn new(shared: Arc<Shared>, meta: Arc<TableMeta>) -> Self {
        let defaults = meta
            .columns
            .iter()
            .map(|c| (!c.default.is_null()).then(|| Expr::Literal(c.default.to_scalar(), None)))
            .collect();
        KalamTableProvider {
            shared,
            meta,
            defaults,
        }
    }

    /// How `filter` is pushed into a scan: `Exact` when an access path can use it,
    /// `Inexact` when it is the scan's prefilter (checked on each stored row before it is
    /// decoded, and again above the scan).
    fn pushdown(&self, filter: &Expr) -> TableProviderFilterPushDown {
        if is_usable(&self.meta, filter) {
            TableProviderFilterPushDown::Exact
        } else if prefilter(&self.meta, [filter]).is_some() {
            TableProviderFilterPushDown::Inexact
        } else {
            TableProviderFilterPushDown::Unsupported
        }
    }

    /// The access path of a DELETE or UPDATE, and its predicates to check on each row.
    fn selection(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> Result<(AccessPath, Vec<Arc<dyn PhysicalExpr>>)> {
        let schema = DFSchema::try_from(self.meta.schema.as_ref().clone())?;
        let predicates = filters
            .iter()
            .map(|f| state.create_physical_expr(f.clone(), &schema))
            .collect::<Result<Vec<_>>>()?;
        Ok((access::plan(&self.meta, filters, true), predicates))
    }
}
