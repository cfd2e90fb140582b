//! UPDATE and DELETE, in two shapes.
//!
//! **Direct**: the statement reads only its table, and its WHERE and SET have no subquery
//! (`UPDATE ns.t SET a = a + 1 WHERE id < 10`). DataFusion hands the table provider the
//! WHERE as predicates on the table's columns, and the write path selects and writes the
//! rows under the table's lock, in one step. Common-subexpression elimination is left out
//! of their optimization: it would make the predicates refer to a projection the provider
//! never sees.
//!
//! **Found**: anything else (`WHERE id IN (SELECT ..)`, `EXISTS`, a scalar subquery in SET,
//! `UPDATE .. FROM`). DataFusion would hand the provider only the predicates on the
//! table's own columns, and so change rows the statement does not select. Instead the
//! statement becomes a query for the rows it changes: each row's old values and, for an
//! UPDATE, its new ones. The engine runs the query, then writes the rows under the table's
//! lock, each only if it is still as the query saw it; a row changed meanwhile makes the
//! statement run again. `EXPLAIN` of such a statement shows that query.

use std::sync::{Arc, LazyLock};

use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, TableReference};
use datafusion::datasource::source_as_provider;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{DmlStatement, Expr, LogicalPlan, LogicalPlanBuilder, WriteOp};
use datafusion::optimizer::Optimizer;

use crate::error::Error;
use crate::provider::KalamTableProvider;
use crate::result::{QueryResult, changed};
use crate::session::query_user;
use crate::write::{Found, apply_found};

/// The name prefix of a found row's old values in the query of a found UPDATE or DELETE.
const OLD: &str = "kalam.old.";
/// The name prefix of a found row's new values.
const NEW: &str = "kalam.new.";

/// How many times a found UPDATE or DELETE runs when rows change under it.
const ATTEMPTS: usize = 4;

/// The optimizer of direct UPDATE and DELETE: the engine's rules but common-subexpression
/// elimination.
static DIRECT_OPTIMIZER: LazyLock<Optimizer> = LazyLock::new(|| {
    Optimizer::with_rules(super::optimizer_rules(&["common_sub_expression_eliminate"]))
});

/// Whether an expression holds a subquery or refers to an outer query's columns.
fn has_subquery(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_)
                | Expr::Exists(_)
                | Expr::InSubquery(_)
                | Expr::SetComparison(_)
                | Expr::OuterReferenceColumn(..)
        ))
    })
    .unwrap_or(true)
}

/// Whether the input of an UPDATE or DELETE of `target` is one the table provider runs
/// itself: a scan of `target`, perhaps aliased, filtered and projected, without subqueries.
fn is_direct(input: &LogicalPlan, target: &TableReference) -> bool {
    let indirect = input.exists(|node| {
        Ok(match node {
            LogicalPlan::Projection(_) | LogicalPlan::Filter(_) | LogicalPlan::SubqueryAlias(_) => {
                node.expressions().iter().any(has_subquery)
            }
            LogicalPlan::TableScan(scan) => !scan.table_name.resolved_eq(target),
            _ => true,
        })
    });
    !indirect.unwrap_or(true)
}

/// Whether `plan` is a direct UPDATE or DELETE.
fn is_direct_dml(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Dml(dml)
        if matches!(dml.op, WriteOp::Update | WriteOp::Delete)
            && is_direct(&dml.input, &dml.table_name))
}

/// `plan` with a found UPDATE or DELETE made into the query for its rows; any other plan
/// as it is. Run on the plan as the SQL planner made it, before optimizing.
pub(super) fn find_rows(plan: LogicalPlan) -> Result<LogicalPlan, Error> {
    let LogicalPlan::Dml(dml) = &plan else {
        return Ok(plan);
    };
    if !matches!(dml.op, WriteOp::Update | WriteOp::Delete) || is_direct_dml(&plan) {
        return Ok(plan);
    }
    let target = target_qualifier(&dml.input, &dml.table_name);
    let table = dml.target.schema();
    let (source, new) = match (&dml.op, dml.input.as_ref()) {
        (WriteOp::Delete, input) => (input.clone(), Vec::new()),
        (WriteOp::Update, LogicalPlan::Projection(projection)) => {
            let new = projection
                .expr
                .iter()
                .zip(table.fields())
                .map(|(expr, field)| {
                    expr.clone()
                        .unalias()
                        .alias(format!("{NEW}{}", field.name()))
                })
                .collect();
            (projection.input.as_ref().clone(), new)
        }
        _ => {
            return Err(Error::unsupported(format!(
                "this form of {}: {}",
                dml.op,
                plan.display()
            )));
        }
    };
    let old = table.fields().iter().map(|field| {
        Expr::Column(Column::new(Some(target.clone()), field.name()))
            .alias(format!("{OLD}{}", field.name()))
    });
    let query = LogicalPlanBuilder::from(source)
        .project(old.chain(new))
        .and_then(LogicalPlanBuilder::build)
        .map_err(Error::from_datafusion)?;
    Ok(LogicalPlan::Dml(DmlStatement::new(
        dml.table_name.clone(),
        Arc::clone(&dml.target),
        dml.op.clone(),
        Arc::new(query),
    )))
}

/// `EXPLAIN` of a found UPDATE or DELETE as `EXPLAIN` of the query for its rows (their
/// old values as `kalam.old.*` columns, an UPDATE's new ones as `kalam.new.*`), which is
/// what runs before the rows are written; any other plan as it is.
pub(super) fn explain_found(plan: LogicalPlan) -> Result<LogicalPlan, Error> {
    let LogicalPlan::Explain(explain) = &plan else {
        return Ok(plan);
    };
    if !matches!(explain.plan.as_ref(), LogicalPlan::Dml(_)) {
        return Ok(plan);
    }
    let LogicalPlan::Dml(dml) = find_rows(explain.plan.as_ref().clone())? else {
        return Ok(plan);
    };
    if found(&dml).is_none() {
        return Ok(plan);
    }
    LogicalPlanBuilder::from(dml.input.as_ref().clone())
        .explain(explain.verbose, false)
        .and_then(LogicalPlanBuilder::build)
        .map_err(Error::from_datafusion)
}

/// The name the target table's columns go by in the input of its UPDATE: its alias
/// (`UPDATE ns.t AS x ..`), else its name.
fn target_qualifier(input: &LogicalPlan, target: &TableReference) -> TableReference {
    let mut qualifier = target.clone();
    let _ = input.apply(|node| {
        if let LogicalPlan::SubqueryAlias(alias) = node
            && let LogicalPlan::TableScan(scan) = alias.input.as_ref()
            && scan.table_name.resolved_eq(target)
        {
            qualifier = alias.alias.clone();
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    qualifier
}

/// DataFusion's optimization of `plan`, without common-subexpression elimination for a
/// direct UPDATE or DELETE.
pub(super) fn optimize(state: &SessionState, plan: &LogicalPlan) -> Result<LogicalPlan, Error> {
    if !is_direct_dml(plan) {
        return state.optimize(plan).map_err(Error::from_datafusion);
    }
    let analyzed = state
        .analyzer()
        .execute_and_check(plan.clone(), state.config_options(), |_, _| {})
        .map_err(Error::from_datafusion)?;
    DIRECT_OPTIMIZER
        .optimize(analyzed, state, |_, _| {})
        .map_err(Error::from_datafusion)
}

/// What a found UPDATE or DELETE is: its table and whether it updates. `None` for any
/// other plan.
fn found(dml: &DmlStatement) -> Option<(Arc<dyn TableProvider>, bool)> {
    let update = match dml.op {
        WriteOp::Update => true,
        WriteOp::Delete => false,
        _ => return None,
    };
    let fields = dml.input.schema().fields();
    let width = dml.target.schema().fields().len() * if update { 2 } else { 1 };
    let marked = fields.len() == width
        && fields.iter().enumerate().all(|(i, field)| {
            let prefix = if i < dml.target.schema().fields().len() {
                OLD
            } else {
                NEW
            };
            field.name().starts_with(prefix)
        });
    if !marked {
        return None;
    }
    Some((source_as_provider(&dml.target).ok()?, update))
}

/// Runs `plan` (optimized) if it is a found UPDATE or DELETE; gives it back otherwise.
pub(super) async fn run_found(
    state: &SessionState,
    task: &Arc<TaskContext>,
    plan: LogicalPlan,
) -> Result<Result<QueryResult, Error>, LogicalPlan> {
    let LogicalPlan::Dml(dml) = &plan else {
        return Err(plan);
    };
    let Some((provider, update)) = found(dml) else {
        return Err(plan);
    };
    let Some(table) =
        (provider.as_ref() as &dyn std::any::Any).downcast_ref::<KalamTableProvider>()
    else {
        return Ok(Err(Error::ReadOnly(dml.table_name.to_string())));
    };
    Ok(run_attempts(state, task, dml, table, update).await)
}

async fn run_attempts(
    state: &SessionState,
    task: &Arc<TaskContext>,
    dml: &DmlStatement,
    table: &KalamTableProvider,
    update: bool,
) -> Result<QueryResult, Error> {
    let user = query_user(state).map_err(Error::from_datafusion)?;
    let mut attempt = 1;
    loop {
        let physical = state
            .query_planner()
            .create_physical_plan(&dml.input, state)
            .await
            .map_err(Error::from_datafusion)?;
        let batches = datafusion::physical_plan::collect(physical, Arc::clone(task))
            .await
            .map_err(Error::from_datafusion)?;
        let rows = Found {
            batches: &batches,
            update,
        };
        match apply_found(&table.shared, &table.meta.id, &user, &rows) {
            Err(Error::WriteConflict { .. }) if attempt < ATTEMPTS => attempt += 1,
            result => return result.map(changed),
        }
    }
}
