//! Subqueries DataFusion cannot decorrelate, run once per distinct outer row.
//!
//! DataFusion turns a correlated subquery into a join where it can: in a conjunct of a
//! WHERE, correlated by equality. Anywhere else (`SELECT a, (SELECT count(*) FROM t x WHERE
//! x.b < t.b) ..`, an `EXISTS` under `OR` or in a `CASE`, a correlated `NOT IN`) its
//! physical planner refuses it. After optimizing, the engine replaces each subquery left
//! in the plan with a function of the outer row's columns it refers to: for each distinct
//! tuple of their values the function binds them into the subquery (planned once, the
//! outer columns as parameters), runs it and keeps its answer until the next write
//! commits. The statement's own parameters in the subquery (`$1`) are arguments of the
//! function too, bound with the statement's.
//!
//! SQL's rules hold: a scalar subquery of no rows is NULL and of several an error (as in
//! PostgreSQL), `x IN (..)` is NULL when no row equals `x` but one is NULL, `NOT IN` its
//! negation, `EXISTS` is never NULL.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ParamValues, Result, ScalarValue, exec_err};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::expr::{Exists, InSubquery, Placeholder, ScalarFunction};
use datafusion::logical_expr::utils::{conjunction, split_conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, Filter, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Subquery, Volatility, lit,
};

use super::rewrites::map_keeping_names;
use crate::error::Error;
use crate::shared::Shared;

/// Whether a part of an expression of `plan` `matches`; in the plans of its subqueries
/// too if `with_subqueries`.
fn any_expr(plan: &LogicalPlan, with_subqueries: bool, matches: impl Fn(&Expr) -> bool) -> bool {
    let mut found = false;
    let mut visit = |node: &LogicalPlan| {
        for expr in node.expressions() {
            found |= expr.exists(|e| Ok(matches(e))).unwrap_or(false);
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    };
    let _ = if with_subqueries {
        plan.apply_with_subqueries(&mut visit)
    } else {
        plan.apply(&mut visit)
    };
    found
}

/// Whether the physical planner refuses a subquery: anything but an uncorrelated scalar
/// subquery.
fn refused(expr: &Expr) -> bool {
    match expr {
        Expr::ScalarSubquery(subquery) => !subquery.outer_ref_columns.is_empty(),
        Expr::Exists(_) | Expr::InSubquery(_) => true,
        _ => false,
    }
}

/// `plan` (optimized) with every subquery the physical planner refuses made a per-row
/// function.
pub(super) fn rewrite(plan: LogicalPlan, state: &SessionState) -> Result<LogicalPlan, Error> {
    if !any_expr(&plan, false, refused) {
        return Ok(plan);
    }
    plan.transform_up(|node| map_keeping_names(node, |e| per_row(e, state)))
        .map(|t| t.data)
        .map_err(Error::from_datafusion)
}

/// Whether a subquery must be made a per-row function before DataFusion sees it: its
/// analyzer refuses a correlated scalar subquery that is not one aggregate without GROUP BY
/// ("must be aggregated"), its decorrelation fails on one correlated other than by
/// equality, and its physical planner refuses a correlated `NOT IN` (a null-aware anti
/// join on one column only).
fn refused_early(expr: &Expr) -> bool {
    match expr {
        Expr::InSubquery(InSubquery {
            subquery,
            negated: true,
            ..
        }) => !subquery.outer_ref_columns.is_empty(),
        // `NOT (x IN (..))`, which DataFusion makes a NOT IN.
        Expr::Not(inner) => {
            matches!(inner.as_ref(), Expr::InSubquery(InSubquery { subquery, negated: false, .. })
            if !subquery.outer_ref_columns.is_empty())
        }
        Expr::ScalarSubquery(subquery) if !subquery.outer_ref_columns.is_empty() => {
            let mut plan = subquery.subquery.as_ref();
            while let LogicalPlan::Projection(projection) = plan {
                plan = projection.input.as_ref();
            }
            let aggregated = matches!(plan, LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty());
            !aggregated || !correlated_by_equality(&subquery.subquery)
        }
        _ => false,
    }
}

/// Whether the outer columns a subquery refers to appear only in equalities of a WHERE's
/// conjuncts (`x.b = t.b`), the form DataFusion decorrelates a scalar subquery of; it
/// plans others (`x.b < t.b`) into joins on columns that do not exist.
fn correlated_by_equality(plan: &LogicalPlan) -> bool {
    let outer = |e: &Expr| {
        e.exists(|e| Ok(matches!(e, Expr::OuterReferenceColumn(..))))
            .unwrap_or(true)
    };
    let mut equalities = true;
    let _ = plan.apply_with_subqueries(|node| {
        let exprs = node.expressions();
        let conjuncts: Vec<&Expr> = match node {
            LogicalPlan::Filter(filter) => split_conjunction(&filter.predicate),
            _ => exprs.iter().collect(),
        };
        for conjunct in conjuncts {
            let fine = match conjunct {
                Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::Eq,
                    right,
                }) if matches!(node, LogicalPlan::Filter(_)) => {
                    outer(left) != outer(right) || (!outer(left) && !outer(right))
                }
                other => !outer(other),
            };
            equalities &= fine;
        }
        Ok(if equalities {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    equalities
}

/// `plan` (as planned, before optimizing) with each subquery that DataFusion would refuse
/// early (see [`refused_early`]) made a per-row function.
pub(super) fn rewrite_early(plan: LogicalPlan, state: &SessionState) -> Result<LogicalPlan, Error> {
    let plan = nested_in_per_row(plan, state)?;
    if !any_expr(&plan, true, refused_early) {
        return Ok(plan);
    }
    plan.transform_up_with_subqueries(|node| {
        map_keeping_names(node, |e| match e {
            Expr::Not(inner) => match *inner {
                Expr::InSubquery(InSubquery {
                    expr,
                    subquery,
                    negated: false,
                }) if !subquery.outer_ref_columns.is_empty() => per_row(
                    Expr::InSubquery(InSubquery {
                        expr,
                        subquery,
                        negated: true,
                    }),
                    state,
                ),
                other => Ok(Transformed::no(Expr::Not(Box::new(other)))),
            },
            e if refused_early(&e) => per_row(e, state),
            e => Ok(Transformed::no(e)),
        })
    })
    .map(|t| t.data)
    .map_err(Error::from_datafusion)
}

/// `plan` with each IN subquery that is not a whole conjunct of a WHERE made a per-row
/// function. DataFusion would make one under OR or NOT a mark join, which answers FALSE
/// where IN answers NULL (`NULL IN (..)`, or no match among rows with a NULL): under NOT,
/// or for NOT IN, rows pass that should not.
fn nested_in_per_row(plan: LogicalPlan, state: &SessionState) -> Result<LogicalPlan, Error> {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        for expr in node.expressions() {
            let whole = matches!(node, LogicalPlan::Filter(_));
            let conjuncts = if whole {
                split_conjunction(&expr)
            } else {
                vec![&expr]
            };
            for conjunct in conjuncts {
                let top = whole && matches!(conjunct, Expr::InSubquery(_));
                found |= conjunct
                    .exists(|e| {
                        Ok(matches!(e, Expr::InSubquery(_)) && !(top && std::ptr::eq(e, conjunct)))
                    })
                    .unwrap_or(false);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if !found {
        return Ok(plan);
    }
    let nested = |e: Expr| {
        e.transform_up(|e| match e {
            Expr::InSubquery(_) => per_row(e, state),
            e => Ok(Transformed::no(e)),
        })
        .map(|t| t.data)
    };
    plan.transform_up_with_subqueries(|node| match node {
        LogicalPlan::Filter(filter) => {
            let conjuncts = split_conjunction_owned(filter.predicate)
                .into_iter()
                .map(|conjunct| match conjunct {
                    Expr::InSubquery(InSubquery {
                        expr,
                        subquery,
                        negated,
                    }) => Ok(Expr::InSubquery(InSubquery {
                        expr: Box::new(nested(*expr)?),
                        subquery,
                        negated,
                    })),
                    other => nested(other),
                })
                .collect::<Result<Vec<_>>>()?;
            let predicate = conjunction(conjuncts).unwrap_or_else(|| lit(true));
            Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
                predicate,
                filter.input,
            )?)))
        }
        other => map_keeping_names(other, |e| match e {
            Expr::InSubquery(_) => per_row(e, state),
            e => Ok(Transformed::no(e)),
        }),
    })
    .map(|t| t.data)
    .map_err(Error::from_datafusion)
}

fn per_row(expr: Expr, state: &SessionState) -> Result<Transformed<Expr>> {
    if !refused(&expr) {
        return Ok(Transformed::no(expr));
    }
    let (kind, subquery, value) = match expr {
        Expr::ScalarSubquery(subquery) => (Kind::Scalar, subquery, None),
        Expr::Exists(Exists { subquery, negated }) => (Kind::Exists { negated }, subquery, None),
        Expr::InSubquery(InSubquery {
            expr,
            subquery,
            negated,
        }) => (Kind::In { negated }, subquery, Some(*expr)),
        other => return Ok(Transformed::no(other)),
    };
    let function = PerRow::new(kind, &subquery, state)?;
    let outer = subquery.outer_ref_columns.iter().map(|e| match e {
        Expr::OuterReferenceColumn(_, column) => Expr::Column(column.clone()),
        other => other.clone(),
    });
    // The statement's parameters in the subquery are arguments too: the statement's
    // parameters are its arguments' and are bound there, before each run.
    let parameters = function.parameters.iter().cloned().map(Expr::Placeholder);
    let args = value.into_iter().chain(outer).chain(parameters).collect();
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(function)), args),
    )))
}

/// What the subquery answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Scalar,
    Exists {
        negated: bool,
    },
    /// The first argument is the value looked for.
    In {
        negated: bool,
    },
}

/// A subquery's answer for one tuple of outer values.
#[derive(Debug, Clone)]
enum Answer {
    Scalar(ScalarValue),
    Exists(bool),
    /// The values of the subquery's rows (NULL aside), and whether one was NULL.
    Rows {
        values: HashSet<ScalarValue>,
        null: bool,
        empty: bool,
    },
}

/// The name of the per-row function of a subquery.
const PER_ROW: &str = "kalam_subquery_per_row";

/// Whether `plan` runs a subquery per row: such a subquery runs on the session it was
/// planned in, and a prepared statement that holds one is planned again to run in a
/// transaction.
pub(super) fn holds_per_row(plan: &LogicalPlan) -> bool {
    plan.exists(|node| {
        Ok(node.expressions().iter().any(|expr| {
            expr.exists(|e| Ok(matches!(e, Expr::ScalarFunction(f) if f.name() == PER_ROW)))
                .unwrap_or(true)
        }))
    })
    .unwrap_or(true)
}

/// The name of the parameter outer column `i` is bound to.
fn parameter(i: usize) -> String {
    format!("kalam_outer_{i}")
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The per-row function of one subquery.
#[derive(Debug)]
struct PerRow {
    /// Tells functions apart (DataFusion compares and hashes them).
    id: u64,
    kind: Kind,
    /// The subquery, optimized, its outer columns parameters.
    plan: LogicalPlan,
    outer: usize,
    /// The statement's parameters (`$1`, ..) the subquery reads, as arguments after the
    /// outer columns.
    parameters: Vec<Placeholder>,
    output: DataType,
    state: SessionState,
    signature: Signature,
    /// The answers per tuple of arguments, and the storage's sequence number they were
    /// found at: a later write makes them stale (a prepared plan runs many times).
    answers: Mutex<(u64, HashMap<Vec<ScalarValue>, Answer>)>,
}

impl PartialEq for PerRow {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for PerRow {}

impl Hash for PerRow {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PerRow {
    fn new(kind: Kind, subquery: &Subquery, state: &SessionState) -> Result<Self> {
        let columns: Vec<&Column> = subquery
            .outer_ref_columns
            .iter()
            .filter_map(|e| match e {
                Expr::OuterReferenceColumn(_, column) => Some(column),
                _ => None,
            })
            .collect();
        let plan = subquery
            .subquery
            .as_ref()
            .clone()
            .transform_up_with_subqueries(|node| {
                map_keeping_names(node, |e| match e {
                    Expr::OuterReferenceColumn(field, column) => {
                        match columns.iter().position(|c| **c == column) {
                            Some(i) => Ok(Transformed::yes(Expr::Placeholder(
                                Placeholder::new_with_field(
                                    format!("${}", parameter(i)),
                                    Some(field),
                                ),
                            ))),
                            None => Ok(Transformed::no(Expr::OuterReferenceColumn(field, column))),
                        }
                    }
                    other => Ok(Transformed::no(other)),
                })
            })?
            .data;
        let mut parameters: Vec<Placeholder> = Vec::new();
        plan.apply_with_subqueries(|node| {
            for expr in node.expressions() {
                expr.apply(|e| {
                    if let Expr::Placeholder(p) = e
                        && !p.id.starts_with("$kalam_outer_")
                        && !parameters.iter().any(|q| q.id == p.id)
                    {
                        parameters.push(p.clone());
                    }
                    Ok(TreeNodeRecursion::Continue)
                })?;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let plan = state.optimize(&plan)?;
        let output = match kind {
            Kind::Scalar => plan.schema().field(0).data_type().clone(),
            _ => DataType::Boolean,
        };
        Ok(PerRow {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            kind,
            plan,
            outer: columns.len(),
            parameters,
            output,
            state: state.clone(),
            signature: Signature::variadic_any(Volatility::Volatile),
            answers: Mutex::default(),
        })
    }

    /// Runs the subquery with `arguments` bound: the outer columns', then the statement's
    /// parameters'.
    fn run(&self, arguments: &[ScalarValue]) -> Result<Answer> {
        let (outer, parameters) = arguments.split_at(self.outer.min(arguments.len()));
        let values = outer
            .iter()
            .enumerate()
            .map(|(i, v)| (parameter(i), v.clone().into()))
            .chain(
                self.parameters
                    .iter()
                    .zip(parameters)
                    .map(|(p, v)| (p.id.trim_start_matches('$').to_owned(), v.clone().into())),
            )
            .collect();
        let plan = self
            .plan
            .clone()
            .with_param_values(ParamValues::Map(values))?;
        let plan = rewrite(plan, &self.state).map_err(Error::into_datafusion)?;
        // This thread waits here for the subquery, so what its plan spawns (the tasks
        // that merge partitions) runs on the engine's runtime: on the caller's, it could
        // wait for this very thread.
        let shared = self.state.config().get_extension::<Shared>();
        let _entered = shared.as_ref().map(|shared| shared.runtime.enter());
        let batches: Vec<RecordBatch> = futures::executor::block_on(async {
            let physical = self
                .state
                .query_planner()
                .create_physical_plan(&plan, &self.state)
                .await?;
            datafusion::physical_plan::collect(physical, self.state.task_ctx()).await
        })?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(match self.kind {
            Kind::Exists { .. } => Answer::Exists(rows > 0),
            Kind::Scalar => {
                if rows > 1 {
                    return exec_err!(
                        "a scalar subquery returned {rows} rows; it may return at most one \
                         (use an aggregate such as max(..), or LIMIT 1)"
                    );
                }
                match batches.iter().find(|b| b.num_rows() > 0) {
                    Some(batch) => Answer::Scalar(ScalarValue::try_from_array(batch.column(0), 0)?),
                    None => Answer::Scalar(ScalarValue::try_from(&self.output)?),
                }
            }
            Kind::In { .. } => {
                let mut values = HashSet::new();
                let mut null = false;
                for batch in &batches {
                    for row in 0..batch.num_rows() {
                        let value = ScalarValue::try_from_array(batch.column(0), row)?;
                        if value.is_null() {
                            null = true;
                        } else {
                            values.insert(value);
                        }
                    }
                }
                Answer::Rows {
                    values,
                    null,
                    empty: rows == 0,
                }
            }
        })
    }

    /// The answer for one row: `value` looked for (IN), `answer` for its outer values.
    fn value_of(&self, value: Option<ScalarValue>, answer: &Answer) -> Result<ScalarValue> {
        Ok(match (answer, self.kind) {
            (Answer::Scalar(v), _) => v.clone(),
            (Answer::Exists(found), Kind::Exists { negated }) => {
                ScalarValue::Boolean(Some(*found != negated))
            }
            (
                Answer::Rows {
                    values,
                    null,
                    empty,
                },
                Kind::In { negated },
            ) => {
                let value = value.unwrap_or(ScalarValue::Null);
                let found = if *empty {
                    Some(false)
                } else if value.is_null() {
                    None
                } else {
                    let wanted = match values.iter().next() {
                        Some(sample) if sample.data_type() != value.data_type() => {
                            value.cast_to(&sample.data_type())?
                        }
                        _ => value,
                    };
                    if values.contains(&wanted) {
                        Some(true)
                    } else if *null {
                        None
                    } else {
                        Some(false)
                    }
                };
                ScalarValue::Boolean(found.map(|f| f != negated))
            }
            _ => return exec_err!("a subquery's answer of the wrong kind"),
        })
    }
}

impl ScalarUDFImpl for PerRow {
    fn name(&self) -> &str {
        PER_ROW
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // Each argument as an array of the batch's rows (a literal's too).
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let (value, outer) = match self.kind {
            Kind::In { .. } => (arrays.first(), &arrays[1.min(arrays.len())..]),
            _ => (None, &arrays[..]),
        };
        debug_assert_eq!(outer.len(), self.outer + self.parameters.len());
        let seq = self
            .state
            .config()
            .get_extension::<Shared>()
            .map_or(u64::MAX, |shared| shared.storage.last_seq());
        {
            let mut answers = self
                .answers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if answers.0 != seq {
                *answers = (seq, HashMap::new());
            }
        }
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let key = outer
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<Result<Vec<_>>>()?;
            let cached = self
                .answers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .1
                .get(&key)
                .cloned();
            let answer = match cached {
                Some(answer) => answer,
                None => {
                    let answer = self.run(&key)?;
                    self.answers
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .1
                        .insert(key, answer.clone());
                    answer
                }
            };
            let value = value
                .map(|a| ScalarValue::try_from_array(a, row))
                .transpose()?;
            out.push(self.value_of(value, &answer)?);
        }
        if out.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.output),
            ));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}
