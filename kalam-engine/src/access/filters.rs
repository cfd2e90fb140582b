//! What each pushed-down filter says about one column: the values it may take, its
//! bounds as key bounds, or a disjunction of ranges.

use std::borrow::Cow;
use std::ops::Bound;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};

use super::KeyRange;
use crate::catalog::TableMeta;
use crate::sql::params::value_of;
use crate::value::{ColumnType, Value};

/// What the filters say about one column.
#[derive(Default)]
pub(super) struct Constraint {
    pub(super) eq: Option<Vec<Value>>,
    pub(super) lower: Option<(Bound<Vec<u8>>, String)>,
    pub(super) upper: Option<(Bound<Vec<u8>>, String)>,
}

impl Constraint {
    /// Both constraints: the common values, the tighter bounds.
    pub(super) fn and(&mut self, other: Constraint) {
        if let Some(eq) = other.eq {
            self.eq = Some(match self.eq.take() {
                Some(old) => old.into_iter().filter(|v| eq.contains(v)).collect(),
                None => eq,
            });
        }
        if let Some(lower) = other.lower {
            self.lower = Some(tighter(self.lower.take(), lower, false));
        }
        if let Some(upper) = other.upper {
            self.upper = Some(tighter(self.upper.take(), upper, true));
        }
    }
}

/// A comparison's column, its value, and whether the value is on the left.
fn column_and_value<'a>(
    left: &'a Expr,
    right: &'a Expr,
) -> Option<(&'a str, Cow<'a, ScalarValue>, bool)> {
    match (left, right) {
        (Expr::Column(c), value) => Some((c.name.as_str(), value_of(value)?, false)),
        (value, Expr::Column(c)) => Some((c.name.as_str(), value_of(value)?, true)),
        _ => None,
    }
}

pub(super) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    value.write_key(&mut out);
    out
}

/// Whether `value` is a float zero. SQL may find `-0.0` equal to `0.0`, but their keys
/// differ: a zero stands for both in values and bounds (and float filters are checked on
/// each row anyway, see [`exact_type`]).
fn is_zero(value: &Value) -> bool {
    matches!(value, Value::Float64(z) if *z == 0.0)
}

/// The values to look up for `value`.
fn points(value: Value) -> Vec<Value> {
    if is_zero(&value) {
        vec![Value::Float64(-0.0), Value::Float64(0.0)]
    } else {
        vec![value]
    }
}

/// The lower key bound for `value`, `included` or not.
fn lower_key(value: &Value, included: bool) -> Bound<Vec<u8>> {
    match value {
        zero if is_zero(zero) => Bound::Included(encode(&Value::Float64(-0.0))),
        v if included => Bound::Included(encode(v)),
        v => Bound::Excluded(encode(v)),
    }
}

/// The upper key bound for `value`, `included` or not.
fn upper_key(value: &Value, included: bool) -> Bound<Vec<u8>> {
    match value {
        zero if is_zero(zero) => Bound::Included(encode(&Value::Float64(0.0))),
        v if included => Bound::Included(encode(v)),
        v => Bound::Excluded(encode(v)),
    }
}

/// The column a filter constrains and how, when the filter has a usable shape (shown for
/// `EXPLAIN` when `describe`).
pub(super) fn constraint_of(
    meta: &TableMeta,
    filter: &Expr,
    describe: bool,
) -> Option<(usize, Constraint)> {
    let typed = |name: &str, scalar: &ScalarValue| {
        let column = meta.column(name)?;
        Some((column, Value::from_scalar(scalar, meta.columns[column].ty)?))
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (name, scalar, flipped) = column_and_value(left, right)?;
            let (column, value) = typed(name, &scalar)?;
            let op = if flipped { op.swap()? } else { *op };
            let mut c = Constraint::default();
            if value == Value::Null {
                // Any comparison with NULL is never true.
                c.eq = Some(Vec::new());
                return Some((column, c));
            }
            let shown = text!(describe, "{name} {op} {value}");
            match op {
                Operator::Eq => c.eq = Some(points(value)),
                Operator::Gt => c.lower = Some((lower_key(&value, false), shown)),
                Operator::GtEq => c.lower = Some((lower_key(&value, true), shown)),
                Operator::Lt => c.upper = Some((upper_key(&value, false), shown)),
                Operator::LtEq => c.upper = Some((upper_key(&value, true), shown)),
                _ => return None,
            }
            Some((column, c))
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) => {
            let Expr::Column(col) = expr.as_ref() else {
                return None;
            };
            let column = meta.column(&col.name)?;
            let values = list
                .iter()
                .map(|item| Value::from_scalar(value_of(item)?.as_ref(), meta.columns[column].ty))
                .collect::<Option<Vec<_>>>()?;
            Some((column, in_values(values)))
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            let Expr::Column(col) = expr.as_ref() else {
                return None;
            };
            let (column, low) = typed(&col.name, value_of(low)?.as_ref())?;
            let (_, high) = typed(&col.name, value_of(high)?.as_ref())?;
            if low == Value::Null || high == Value::Null {
                return None;
            }
            Some((
                column,
                between(&low, &high, describe.then_some(col.name.as_str())),
            ))
        }
        _ => None,
    }
}

/// What `column IN (values)` says: its values, but NULL, which matches nothing.
pub(super) fn in_values(values: impl IntoIterator<Item = Value>) -> Constraint {
    let values = values
        .into_iter()
        .filter(|v| *v != Value::Null)
        .flat_map(points)
        .collect();
    Constraint {
        eq: Some(values),
        ..Constraint::default()
    }
}

/// What `column BETWEEN low AND high` says, neither bound NULL; shown with the column's
/// `name` when given.
pub(super) fn between(low: &Value, high: &Value, name: Option<&str>) -> Constraint {
    let shown = |op: &str, value: &Value| {
        name.map_or_else(String::new, |name| format!("{name} {op} {value}"))
    };
    Constraint {
        eq: None,
        lower: Some((lower_key(low, true), shown(">=", low))),
        upper: Some((upper_key(high, true), shown("<=", high))),
    }
}

/// `column BETWEEN a AND b OR column BETWEEN c AND d ...`, none of the bounds NULL, as
/// [`union_of`] reads it from the filter written out (not shown: for a path chosen per
/// run).
pub(super) fn union_of_ranges(meta: &TableMeta, column: usize, ranges: &[(Value, Value)]) -> Union {
    Union {
        column,
        ranges: ranges
            .iter()
            .map(|(low, high)| (lower_key(low, true), upper_key(high, true)))
            .collect(),
        shown: String::new(),
        exact: exact_type(meta.columns[column].ty),
        values: None,
    }
}

/// Whether pushing `filter` down can narrow a scan of `meta`. Parameters count as the
/// literals they will be: a prepared plan is optimized before its values are known, and
/// its scans read them with [`value_of`] as each run starts.
pub(crate) fn is_usable(meta: &TableMeta, filter: &Expr) -> bool {
    filter_column(meta, filter).is_some_and(|column| {
        meta.pk.contains(&column) || meta.indexes.iter().any(|i| i.holds(column))
    })
}

/// The one column a filter of a usable shape constrains: `column op value`,
/// `column [NOT] BETWEEN`, `column IN (values)`, and ANDs and ORs of those on one column.
fn filter_column(meta: &TableMeta, filter: &Expr) -> Option<usize> {
    let value = |e: &Expr| matches!(e, Expr::Literal(..) | Expr::Placeholder(_));
    let column = |e: &Expr| match e {
        Expr::Column(c) => meta.column(&c.name),
        _ => None,
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And | Operator::Or,
            right,
        }) => {
            let left = filter_column(meta, left)?;
            (filter_column(meta, right)? == left).then_some(left)
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let comparison = matches!(
                op,
                Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
            );
            match (column(left), column(right)) {
                (Some(c), None) if comparison && value(right) => Some(c),
                (None, Some(c)) if comparison && value(left) => Some(c),
                _ => None,
            }
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) => list.iter().all(value).then(|| column(expr)).flatten(),
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => (value(low) && value(high)).then(|| column(expr)).flatten(),
        _ => None,
    }
}

/// A disjunction of ranges on one column (`k BETWEEN 1 AND 5 OR k BETWEEN 9 AND 12 OR
/// k = 20`).
pub(super) struct Union {
    pub(super) column: usize,
    pub(super) ranges: Vec<KeyRange>,
    /// How `EXPLAIN` shows the ranges.
    pub(super) shown: String,
    /// Whether the ranges hold exactly the rows the disjunction keeps: each disjunct is
    /// values or bounds (not both), on a column of an [`exact_type`].
    pub(super) exact: bool,
    /// The values, when every disjunct is values (`a = 1 OR a = 2`, as DataFusion writes
    /// a short `IN` list).
    pub(super) values: Option<Vec<Value>>,
}

pub(super) fn union_of(meta: &TableMeta, filter: &Expr, describe: bool) -> Option<Union> {
    let mut disjuncts = Vec::new();
    split_or(filter, &mut disjuncts);
    if disjuncts.len() < 2 {
        return None;
    }
    let mut column = None;
    let mut ranges = Vec::new();
    let mut shown = Vec::new();
    let mut exact = true;
    let mut points = Some(Vec::new());
    for disjunct in disjuncts {
        // One disjunct: a conjunction of constraints on the column.
        let mut conjuncts = Vec::new();
        split_and(disjunct, &mut conjuncts);
        let mut merged = Constraint::default();
        for conjunct in conjuncts {
            let (c, constraint) = constraint_of(meta, conjunct, describe)?;
            if *column.get_or_insert(c) != c {
                return None;
            }
            merged.and(constraint);
        }
        let column = column?;
        let name = &meta.columns[column].name;
        let bounded = merged.lower.is_some() || merged.upper.is_some();
        match merged.eq {
            Some(values) => {
                exact &= !bounded;
                if let Some(points) = &mut points {
                    points.extend(values.iter().cloned());
                }
                for value in values {
                    shown.push(text!(describe, "{name} = {value}"));
                    let key = encode(&value);
                    ranges.push((Bound::Included(key.clone()), Bound::Included(key)));
                }
            }
            None => {
                points = None;
                let (lower, a) = merged.lower.unwrap_or((Bound::Unbounded, String::new()));
                let (upper, b) = merged.upper.unwrap_or((Bound::Unbounded, String::new()));
                let both: Vec<String> = [a, b].into_iter().filter(|s| !s.is_empty()).collect();
                shown.push(both.join(" AND "));
                ranges.push((lower, upper));
            }
        }
    }
    let column = column?;
    Some(Union {
        column,
        ranges,
        shown: shown.join(" OR "),
        exact: exact && exact_type(meta.columns[column].ty),
        values: points,
    })
}

/// Whether keys built from a filter's values select exactly the rows the filter keeps on
/// a column of type `ty`. Not for floats, always checked row by row: their key order and
/// SQL's comparisons part ways on NaN and signed zeros.
pub(super) fn exact_type(ty: ColumnType) -> bool {
    ty != ColumnType::Float64
}

fn split_or<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            split_or(left, out);
            split_or(right, out);
        }
        other => out.push(other),
    }
}

fn split_and<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            split_and(left, out);
            split_and(right, out);
        }
        other => out.push(other),
    }
}

/// Keeps the tighter of two lower (or, with `upper`, upper) bounds.
fn tighter(
    old: Option<(Bound<Vec<u8>>, String)>,
    new: (Bound<Vec<u8>>, String),
    upper: bool,
) -> (Bound<Vec<u8>>, String) {
    fn key(b: &Bound<Vec<u8>>) -> &[u8] {
        match b {
            Bound::Included(k) | Bound::Excluded(k) => k,
            Bound::Unbounded => &[],
        }
    }
    let Some(old) = old else { return new };
    let (a, b) = (key(&old.0), key(&new.0));
    let new_wins = if upper {
        b < a || (b == a && matches!(new.0, Bound::Excluded(_)))
    } else {
        b > a || (b == a && matches!(new.0, Bound::Excluded(_)))
    };
    if new_wins { new } else { old }
}
