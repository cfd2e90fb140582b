//! Subqueries that DataFusion's decorrelation answers wrongly, rewritten before it runs.
//!
//! `3 NOT IN (SELECT b FROM t)`: with nothing of the outer row on its left, DataFusion
//! moves `b = 3` into the subquery and anti-joins on nothing, which loses what NOT IN says
//! of NULLs (one NULL `b` and no 3 make the answer NULL, not TRUE): the rows stay that
//! should go. The engine answers it from one uncorrelated scalar subquery instead: the
//! strongest match among the subquery's rows (2 for an equal value, 1 for a NULL, 0 for
//! neither, NULL for no rows).

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue, Spans};
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::expr::InSubquery;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Subquery, lit, when};

use crate::error::Error;

/// `plan` with every uncorrelated NOT IN of a value without columns rewritten.
pub(super) fn rewrite(plan: LogicalPlan) -> Result<LogicalPlan, Error> {
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| expr.transform_up(not_in_of_a_value))
    })
    .map(|t| t.data)
    .map_err(Error::from_datafusion)
}

fn not_in_of_a_value(expr: Expr) -> datafusion::common::Result<Transformed<Expr>> {
    let Expr::InSubquery(InSubquery {
        expr: value,
        subquery,
        negated: true,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    if value.any_column_refs() || !subquery.outer_ref_columns.is_empty() {
        return Ok(Transformed::no(expr));
    }
    let rows = subquery.subquery.as_ref();
    let item = Expr::Column(Column::from(rows.schema().qualified_field(0)));
    let strength = when(item.clone().eq(value.as_ref().clone()), lit(2i64))
        .when(item.is_null(), lit(1i64))
        .otherwise(lit(0i64))?;
    let strongest = LogicalPlanBuilder::from(rows.clone())
        .aggregate(Vec::<Expr>::new(), vec![max(strength)])?
        .build()?;
    let strongest = Expr::ScalarSubquery(Subquery {
        subquery: Arc::new(strongest),
        outer_ref_columns: Vec::new(),
        spans: Spans::new(),
    });
    let unknown = lit(ScalarValue::Boolean(None));
    let answer = when(strongest.clone().is_null(), lit(true))
        .when(value.as_ref().clone().is_null(), unknown.clone())
        .when(strongest.clone().eq(lit(2i64)), lit(false))
        .when(strongest.eq(lit(1i64)), unknown)
        .otherwise(lit(true))?;
    Ok(Transformed::yes(answer))
}
