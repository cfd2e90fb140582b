//! Output columns of one name. SQLite and PostgreSQL answer `SELECT 1, 1` and
//! `SELECT a, -a AS a FROM t` with two columns of the same name; DataFusion refuses a
//! projection whose names repeat. Before planning, the engine gives each repeated item of
//! a statement's own SELECT lists a stand-in name; after, it names the plan's output
//! columns back as they were written (each output column is then qualified by how many
//! columns of its name come before it, which keeps DataFusion's schemas unambiguous).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::common::TableReference;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{Ident, Query, Select, SelectItem, SetExpr, Statement};

use super::names::ident_name;
use crate::error::Error;

/// The prefix of a stand-in name; what follows is its index in [`Renamed`].
const STAND_IN: &str = "__kalam_column_";

/// The items [`rename_repeats`] renamed, by stand-in index: the alias each was written
/// with, or `None` for an expression without one (its name is DataFusion's for it).
#[derive(Debug, Default)]
pub(crate) struct Renamed {
    names: Vec<Option<String>>,
    /// Whether the statement's output has them (a query, not an INSERT's source).
    output: bool,
}

/// Renames the repeated items of the SELECT lists of `statement` (a query, or the query of
/// an INSERT); `None` when nothing repeats.
pub(crate) fn rename_repeats(statement: &mut Statement) -> Option<Renamed> {
    let mut renamed = Renamed::default();
    match statement {
        Statement::Query(query) => {
            renamed.output = true;
            rename_query(query, &mut renamed);
        }
        Statement::Insert(insert) => {
            if let Some(query) = insert.source.as_mut() {
                rename_query(query, &mut renamed);
            }
        }
        _ => {}
    }
    (!renamed.names.is_empty()).then_some(renamed)
}

fn rename_query(query: &mut Query, renamed: &mut Renamed) {
    // The branches of a UNION, INTERSECT or EXCEPT, and parenthesized queries. Every item of
    // a set operation's branches is renamed: DataFusion names the output columns as the
    // first branch's and renames the others' to match, which fails when a renamed item
    // meets a column of its new name (`SELECT a, b .. UNION SELECT 5, x.a ..`) or when a
    // name reads as a qualified one (`x.b - x.b`).
    let every = matches!(query.body.as_ref(), SetExpr::SetOperation { .. });
    let mut bodies = vec![query.body.as_mut()];
    while let Some(body) = bodies.pop() {
        match body {
            SetExpr::Select(select) => rename_select(select, every, renamed),
            SetExpr::SetOperation { left, right, .. } => {
                bodies.push(left.as_mut());
                bodies.push(right.as_mut());
            }
            SetExpr::Query(inner) => bodies.push(inner.body.as_mut()),
            _ => {}
        }
    }
}

/// About the name DataFusion gives an expression: its text, less its case for names,
/// parentheses and the sign of a negated number (`(- 3)` and `-3` are both `Int64(-3)`).
fn planned_name(expr: &datafusion::sql::sqlparser::ast::Expr) -> String {
    use datafusion::sql::sqlparser::ast::{
        Expr as SqlExpr, UnaryOperator, Value, VisitMut, VisitorMut,
    };
    struct Plain;
    impl VisitorMut for Plain {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
            loop {
                let negated = match expr {
                    SqlExpr::Nested(inner) => {
                        *expr = std::mem::replace(inner.as_mut(), SqlExpr::value(Value::Null));
                        continue;
                    }
                    SqlExpr::UnaryOp {
                        op: UnaryOperator::Minus,
                        expr: inner,
                    } => match inner.as_ref() {
                        SqlExpr::Value(v) => match &v.value {
                            Value::Number(n, long) => Value::Number(format!("-{n}"), *long),
                            _ => return ControlFlow::Continue(()),
                        },
                        _ => return ControlFlow::Continue(()),
                    },
                    _ => return ControlFlow::Continue(()),
                };
                *expr = SqlExpr::value(negated);
            }
        }
    }
    let mut plain = expr.clone();
    let _ = plain.visit(&mut Plain);
    plain.to_string().to_lowercase()
}

/// Renames the repeated items of `select`, or all of them (`every`).
fn rename_select(select: &mut Select, every: bool, renamed: &mut Renamed) {
    // A wildcard's columns are known only once planned: beside one, every item is renamed.
    let every = every
        || select.projection.iter().any(|item| {
            matches!(
                item,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        });
    let mut seen = HashSet::new();
    for item in &mut select.projection {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(expr) => (expr, None),
            SelectItem::ExprWithAlias { expr, alias } => {
                let alias = ident_name(alias);
                (expr, Some(alias))
            }
            _ => continue,
        };
        let name = match (&alias, &*expr) {
            (Some(alias), _) => alias.clone(),
            (None, datafusion::sql::sqlparser::ast::Expr::Identifier(ident)) => ident_name(ident),
            (None, datafusion::sql::sqlparser::ast::Expr::CompoundIdentifier(parts)) => {
                parts.last().map(ident_name).unwrap_or_default()
            }
            (None, other) => planned_name(other),
        };
        if seen.insert(name) && !every {
            continue;
        }
        let stand_in = Ident::new(format!("{STAND_IN}{}", renamed.names.len()));
        renamed.names.push(alias);
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: stand_in,
        };
    }
}

/// `plan` (of the statement [`rename_repeats`] renamed) with its output columns named as
/// written.
pub(crate) fn restore_names(plan: LogicalPlan, renamed: &Renamed) -> Result<LogicalPlan, Error> {
    if !renamed.output {
        return Ok(plan);
    }
    let schema = plan.schema();
    let mut earlier: Vec<String> = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (qualifier, field) in schema.iter() {
        let name = match field
            .name()
            .strip_prefix(STAND_IN)
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(index) => match renamed.names.get(index).cloned().flatten() {
                Some(alias) => alias,
                None => default_name(&plan, field.name()).unwrap_or_else(|| field.name().clone()),
            },
            None => field.name().clone(),
        };
        let occurrence = earlier.iter().filter(|n| **n == name).count();
        let column = Expr::Column(datafusion::common::Column::from((qualifier, field)));
        columns.push(
            column.alias_qualified(Some(TableReference::bare(occurrence.to_string())), &name),
        );
        earlier.push(name);
    }
    LogicalPlanBuilder::from(plan)
        .project(columns)
        .and_then(LogicalPlanBuilder::build)
        .map_err(Error::from_datafusion)
}

/// The name DataFusion gives the expression that `plan` aliased as `stand_in`.
fn default_name(plan: &LogicalPlan, stand_in: &str) -> Option<String> {
    let mut name = None;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Projection(projection) = node {
            for expr in &projection.expr {
                if let Expr::Alias(alias) = expr
                    && alias.name == stand_in
                {
                    name = Some(alias.expr.qualified_name().1);
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    name
}
