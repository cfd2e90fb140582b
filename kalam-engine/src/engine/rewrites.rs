//! Forms DataFusion's optimizer answers wrongly, rewritten before it runs.
//!
//! - `3 NOT IN (SELECT b FROM t)`: with nothing of the outer row on its left, DataFusion
//!   moves `b = 3` into the subquery and anti-joins on nothing, which loses what NOT IN
//!   says of NULLs (one NULL `b` and no 3 make the answer NULL, not TRUE): the rows stay
//!   that should go. The engine answers it from one uncorrelated scalar subquery instead:
//!   the strongest match among the subquery's rows (2 for an equal value, 1 for a NULL, 0
//!   for neither, NULL for no rows).
//! - `c IN (-2, 9) AND c NOT IN (NULL, 10)`: the simplifier intersects the two lists as
//!   if the NULL were not there, and `c = 9` passes a WHERE that is never TRUE. A list's
//!   NULL is taken out of it: `c NOT IN (NULL, 10)` is `c NOT IN (10) AND NULL`, and
//!   `c IN (NULL, 10)` is `c IN (10) OR NULL`, which say the same in every context.
//! - `c IN ($1, $2) AND c IN ($3, $4)`: the simplifier intersects two lists on one value
//!   (and takes one from the other, for NOT IN) by their expressions, as if two that differ
//!   could not be equal: `$1, $2` and `$3, $4` share none, and the filter becomes FALSE.
//!   Kept plans have parameters there (prepared statements, and text ones run on their
//!   form's plan), and columns or casts are no better. [`GuardedSimplify`] writes such a
//!   list as comparisons before the simplifier sees it: `c = $1 OR c = $2` (`c <> $1 AND
//!   c <> $2` for NOT IN), which says the same, NULLs included. Lists of literals only
//!   are compared by value, rightly, and stay lists.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue, Spans};
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::expr::{InList, InSubquery};
use datafusion::logical_expr::{
    BinaryExpr, Expr, LogicalPlan, LogicalPlanBuilder, Operator, Subquery, lit, when,
};
use datafusion::optimizer::simplify_expressions::SimplifyExpressions;
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use crate::error::Error;

/// `plan` with both forms rewritten, in its subqueries too.
pub(super) fn rewrite(plan: LogicalPlan) -> Result<LogicalPlan, Error> {
    plan.transform_up_with_subqueries(|node| {
        map_keeping_names(node, |e| {
            not_in_of_a_value(e)?.transform_data(null_out_of_list)
        })
    })
    .map(|t| t.data)
    .map_err(Error::from_datafusion)
}

/// `node` with `f` applied to every part of its expressions; those that name an output
/// column (a projection's, an aggregate's) keep their names, which the nodes above refer
/// to.
pub(super) fn map_keeping_names(
    node: LogicalPlan,
    mut f: impl FnMut(Expr) -> datafusion::common::Result<Transformed<Expr>>,
) -> datafusion::common::Result<Transformed<LogicalPlan>> {
    let names_outputs = matches!(node, LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_));
    node.map_expressions(|expr| {
        let name = names_outputs.then(|| expr.schema_name().to_string());
        let rewritten = expr.transform_up(&mut f)?;
        match name {
            Some(name) if rewritten.transformed => rewritten.map_data(|e| e.alias_if_changed(name)),
            _ => Ok(rewritten),
        }
    })
}

fn null_out_of_list(expr: Expr) -> datafusion::common::Result<Transformed<Expr>> {
    let Expr::InList(InList {
        expr: value,
        list,
        negated,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    let is_null = |e: &Expr| matches!(e, Expr::Literal(v, _) if v.is_null());
    if !list.iter().any(is_null) {
        return Ok(Transformed::no(expr));
    }
    let rest: Vec<Expr> = list.iter().filter(|e| !is_null(e)).cloned().collect();
    let unknown = lit(ScalarValue::Boolean(None));
    let rewritten = match (rest.is_empty(), *negated) {
        // `v IN (NULL)` and `v NOT IN (NULL)` are NULL.
        (true, _) => unknown,
        (false, false) => Expr::InList(InList::new(value.clone(), rest, false)).or(unknown),
        (false, true) => Expr::InList(InList::new(value.clone(), rest, true)).and(unknown),
    };
    Ok(Transformed::yes(rewritten))
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

/// DataFusion's `simplify_expressions`, run on a plan whose IN lists it would combine by
/// their expressions are written as comparisons first (the module's third form). It
/// takes the rule's place in the optimizer, under its name.
#[derive(Debug, Default)]
pub(crate) struct GuardedSimplify(SimplifyExpressions);

impl OptimizerRule for GuardedSimplify {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        self.0.apply_order()
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> datafusion::common::Result<Transformed<LogicalPlan>> {
        let guarded = map_keeping_names(plan, lists_apart)?;
        let mut simplified = self.0.rewrite(guarded.data, config)?;
        simplified.transformed |= guarded.transformed;
        Ok(simplified)
    }
}

/// `expr`, an AND or an OR, with each IN list of its chain that holds more than literals
/// and shares its value with another list of the chain written as comparisons.
fn lists_apart(expr: Expr) -> datafusion::common::Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr {
        op: op @ (Operator::And | Operator::Or),
        ..
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    let op = *op;
    let mut lists = Vec::new();
    lists_of_chain(&expr, op, &mut lists);
    let at_risk: Vec<Expr> = lists
        .iter()
        .filter(|list| {
            !of_literals(list) && lists.iter().filter(|other| other.expr == list.expr).count() > 1
        })
        .map(|list| list.expr.as_ref().clone())
        .collect();
    if at_risk.is_empty() {
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(write_apart(expr, op, &at_risk)))
}

/// The IN lists among the operands of `expr`'s chain of `op`.
fn lists_of_chain<'a>(expr: &'a Expr, op: Operator, out: &mut Vec<&'a InList>) {
    match expr {
        Expr::BinaryExpr(binary) if binary.op == op => {
            lists_of_chain(&binary.left, op, out);
            lists_of_chain(&binary.right, op, out);
        }
        Expr::InList(list) => out.push(list),
        _ => {}
    }
}

fn of_literals(list: &InList) -> bool {
    list.list
        .iter()
        .all(|item| matches!(item, Expr::Literal(..)))
}

/// `expr`'s chain of `op` with its lists on a value of `at_risk` that hold more than
/// literals written as comparisons.
fn write_apart(expr: Expr, op: Operator, at_risk: &[Expr]) -> Expr {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: inner,
            right,
        }) if inner == op => Expr::BinaryExpr(BinaryExpr::new(
            Box::new(write_apart(*left, op, at_risk)),
            op,
            Box::new(write_apart(*right, op, at_risk)),
        )),
        Expr::InList(list) if !of_literals(&list) && at_risk.contains(&list.expr) => {
            let InList {
                expr: value,
                list,
                negated,
            } = list;
            let compare = |item: Expr| {
                let value = value.as_ref().clone();
                if negated {
                    value.not_eq(item)
                } else {
                    value.eq(item)
                }
            };
            // An empty list holds only literals; `lit` says what one would.
            list.into_iter()
                .map(compare)
                .reduce(|all, next| if negated { all.and(next) } else { all.or(next) })
                .unwrap_or_else(|| lit(negated))
        }
        other => other,
    }
}
