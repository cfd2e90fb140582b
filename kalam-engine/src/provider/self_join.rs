//! A join of a table with itself on its whole primary key, read as one scan.
//!
//! In `SELECT a.id, b.c FROM t a JOIN t b ON a.id = b.id WHERE a.k > 0` each row of `a`
//! meets one row of `b`, itself: the key is unique and never NULL, and both sides read the
//! statement's one view of the table (its snapshot, its transaction's writes, its user's
//! rows). The join is then the scan of `t` under both sides' filters, with `b`'s columns
//! read from the same row; DataFusion would scan the table twice and hash one scan to
//! probe it with the other. Views over a table joined back to it, and queries written by
//! tools, make such joins.
//!
//! [`SelfJoinRule`] rewrites an inner join whose sides are scans of one engine table
//! (each perhaps under an alias and a filter, neither with a limit) and whose equalities
//! pair every primary-key column with itself. What else the join says (its other
//! equalities, its filter) becomes a filter on the row.

use std::any::Any;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, JoinType, Result, TableReference};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    Expr, Filter, Join, LogicalPlan, Projection, SubqueryAlias, TableScan, TableScanBuilder,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use super::table::KalamTableProvider;
use crate::catalog::TableMeta;

/// The optimizer rule; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct SelfJoinRule;

impl OptimizerRule for SelfJoinRule {
    fn name(&self) -> &str {
        "eliminate_self_join"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(join) = &plan else {
            return Ok(Transformed::no(plan));
        };
        match one_scan(join)? {
            Some(scan) => Ok(Transformed::yes(scan)),
            None => Ok(Transformed::no(plan)),
        }
    }
}

/// A side of a join that is a scan of an engine table: `[alias] [filter] scan`.
struct Side<'a> {
    alias: Option<&'a TableReference>,
    /// A filter between the alias and the scan, on columns named as the scan names them.
    filter: Option<&'a Expr>,
    scan: &'a TableScan,
    meta: Arc<TableMeta>,
}

fn side(plan: &LogicalPlan) -> Option<Side<'_>> {
    let (alias, plan) = match plan {
        LogicalPlan::SubqueryAlias(alias) => (Some(&alias.alias), alias.input.as_ref()),
        other => (None, other),
    };
    let (filter, plan) = match plan {
        LogicalPlan::Filter(filter) => (Some(&filter.predicate), filter.input.as_ref()),
        other => (None, other),
    };
    let LogicalPlan::TableScan(scan) = plan else {
        return None;
    };
    if scan.fetch.is_some() {
        return None;
    }
    let provider = source_as_provider(&scan.source).ok()?;
    let table = (provider.as_ref() as &dyn Any).downcast_ref::<KalamTableProvider>()?;
    Some(Side {
        alias,
        filter,
        scan,
        meta: Arc::clone(&table.meta),
    })
}

impl Side<'_> {
    /// The name the side's columns are qualified with: its alias, or the table's name.
    fn name(&self) -> &TableReference {
        self.alias.unwrap_or(&self.scan.table_name)
    }
}

/// Whether `expr` is the column `name` of the side named `side`.
fn is_column(expr: &Expr, side: &TableReference, name: &str) -> bool {
    matches!(expr, Expr::Column(c) if c.name == name && c.relation.as_ref() == Some(side))
}

/// `expr` with the columns qualified `from` qualified `to`.
fn renamed(expr: &Expr, from: &TableReference, to: &TableReference) -> Result<Expr> {
    expr.clone()
        .transform(|e| match e {
            Expr::Column(c) if c.relation.as_ref() == Some(from) => Ok(Transformed::yes(
                Expr::Column(Column::new(Some(to.clone()), c.name)),
            )),
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
}

/// `join` as one scan, when it is a join of a table with itself on its primary key.
fn one_scan(join: &Join) -> Result<Option<LogicalPlan>> {
    if join.join_type != JoinType::Inner || join.null_aware {
        return Ok(None);
    }
    let (Some(left), Some(right)) = (side(&join.left), side(&join.right)) else {
        return Ok(None);
    };
    if left.meta.id != right.meta.id || left.name() == right.name() || left.meta.pk.is_empty() {
        return Ok(None);
    }
    // Every key column equal to itself; the other equalities stay, as filters.
    let pairs_key_column = |(l, r): &(Expr, Expr), i: usize| {
        let name = left.meta.columns[i].name.as_str();
        is_column(l, left.name(), name) && is_column(r, right.name(), name)
    };
    let keyed = |pair: &&(Expr, Expr)| left.meta.pk.iter().any(|&i| pairs_key_column(pair, i));
    if !left
        .meta
        .pk
        .iter()
        .all(|&i| join.on.iter().any(|pair| pairs_key_column(pair, i)))
    {
        return Ok(None);
    }
    // One scan reading what either side read, under both sides' filters.
    let projection = match (&left.scan.projection, &right.scan.projection) {
        (Some(l), Some(r)) => {
            let mut both: Vec<usize> = l.iter().chain(r).copied().collect();
            both.sort_unstable();
            both.dedup();
            Some(both)
        }
        _ => None,
    };
    let (from, to) = (&right.scan.table_name, &left.scan.table_name);
    let mut filters = left.scan.filters.clone();
    for filter in &right.scan.filters {
        let filter = renamed(filter, from, to)?;
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    let scan = TableScanBuilder::from(left.scan.clone())
        .with_projection(projection)
        .with_filters(filters)
        .build()?;
    let mut plan = LogicalPlan::TableScan(scan);
    let mut on_row = Vec::new();
    on_row.extend(left.filter.cloned());
    if let Some(filter) = right.filter {
        on_row.push(renamed(filter, from, to)?);
    }
    if let Some(predicate) = conjunction(on_row) {
        plan = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan))?);
    }
    if let Some(alias) = left.alias {
        plan = LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(Arc::new(plan), alias.clone())?);
    }
    // What the join said besides the key, now of one row.
    let mut on_joined = Vec::new();
    for pair in join.on.iter().filter(|pair| !keyed(pair)) {
        on_joined.push(
            pair.0
                .clone()
                .eq(renamed(&pair.1, right.name(), left.name())?),
        );
    }
    if let Some(filter) = &join.filter {
        on_joined.push(renamed(filter, right.name(), left.name())?);
    }
    if let Some(predicate) = conjunction(on_joined) {
        plan = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan))?);
    }
    // The join's columns: the left side's as they are, the right side's read from the
    // same row under their own names.
    let width = join.left.schema().fields().len();
    let columns = join
        .schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            if i < width {
                Expr::Column(Column::new(qualifier.cloned(), field.name()))
            } else {
                Expr::Column(Column::new(Some(left.name().clone()), field.name()))
                    .alias_qualified(qualifier.cloned(), field.name())
            }
        })
        .collect();
    Ok(Some(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(plan),
    )?)))
}
