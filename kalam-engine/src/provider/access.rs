//! From pushed-down filters to a RocksDB access path: point gets on the primary key, a key
//! range, or an index lookup, instead of a full scan.
//!
//! Filters are pushed as `Inexact`: DataFusion still applies them, so the access path only
//! has to return a superset of the matching rows; choosing a narrower one is an
//! optimization, never a change in results.

use std::fmt;
use std::ops::Bound;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};

use crate::catalog::TableMeta;
use crate::value::Value;

/// How many primary keys an `IN` list or a product of them may expand to.
const MAX_POINTS: usize = 4096;

/// A range of keys (or of index values): lower and upper bound.
pub(crate) type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// How a scan reaches its rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Access {
    /// Every row of the scope.
    Full,
    /// No row can match (`pk = NULL`).
    Nothing,
    /// Point gets of these full primary keys, in key order.
    Keys(Vec<Vec<u8>>),
    /// The rows whose keys lie in this range (bounds are key prefixes).
    Range {
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
    },
    /// The rows whose keys lie in any of these ranges (they may overlap).
    Ranges(Vec<KeyRange>),
    /// The rows whose indexed column lies in any of these ranges (a value `v` is the
    /// range `[v, v]`). `covering`: the scan needs only the indexed column and the
    /// primary key, which the index entries hold, so no row is read.
    Index {
        index: u32,
        ranges: Vec<KeyRange>,
        covering: bool,
    },
}

/// An access path and how `EXPLAIN` shows it.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) access: Access,
    pub(crate) description: String,
}

impl Plan {
    /// The plan, its index access marked as covering when the scan projects nothing but
    /// the indexed column and primary-key columns.
    pub(crate) fn covering(mut self, meta: &TableMeta, projection: &[usize]) -> Self {
        if let Access::Index {
            index, covering, ..
        } = &mut self.access
        {
            let column = meta.indexed_column(*index);
            if projection
                .iter()
                .all(|c| meta.pk.contains(c) || Some(*c) == column)
            {
                *covering = true;
                self.description.push_str(", covering");
            }
        }
        self
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// What the filters say about one column.
#[derive(Default)]
struct Constraint {
    eq: Option<Vec<Value>>,
    lower: Option<(Bound<Vec<u8>>, String)>,
    upper: Option<(Bound<Vec<u8>>, String)>,
}

impl Constraint {
    /// Both constraints: the common values, the tighter bounds.
    fn and(&mut self, other: Constraint) {
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

fn column_and_literal<'a>(
    left: &'a Expr,
    right: &'a Expr,
) -> Option<(&'a str, &'a ScalarValue, bool)> {
    match (left, right) {
        (Expr::Column(c), Expr::Literal(v, _)) => Some((c.name.as_str(), v, false)),
        (Expr::Literal(v, _), Expr::Column(c)) => Some((c.name.as_str(), v, true)),
        _ => None,
    }
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    value.write_key(&mut out);
    out
}

/// The column a filter constrains and how, when the filter has a usable shape.
fn constraint_of(meta: &TableMeta, filter: &Expr) -> Option<(usize, Constraint)> {
    let typed = |name: &str, scalar: &ScalarValue| {
        let column = meta.column(name)?;
        Some((column, Value::from_scalar(scalar, meta.columns[column].ty)?))
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (name, scalar, flipped) = column_and_literal(left, right)?;
            let (column, value) = typed(name, scalar)?;
            let op = if flipped { op.swap()? } else { *op };
            let mut c = Constraint::default();
            if value == Value::Null {
                // Any comparison with NULL is never true.
                c.eq = Some(Vec::new());
                return Some((column, c));
            }
            let shown = format!("{name} {op} {value}");
            match op {
                Operator::Eq => c.eq = Some(vec![value]),
                Operator::Gt => c.lower = Some((Bound::Excluded(encode(&value)), shown)),
                Operator::GtEq => c.lower = Some((Bound::Included(encode(&value)), shown)),
                Operator::Lt => c.upper = Some((Bound::Excluded(encode(&value)), shown)),
                Operator::LtEq => c.upper = Some((Bound::Included(encode(&value)), shown)),
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
                .map(|item| match item {
                    Expr::Literal(v, _) => Value::from_scalar(v, meta.columns[column].ty),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            let values = values.into_iter().filter(|v| *v != Value::Null).collect();
            Some((
                column,
                Constraint {
                    eq: Some(values),
                    ..Constraint::default()
                },
            ))
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            let (Expr::Column(col), Expr::Literal(low, _), Expr::Literal(high, _)) =
                (expr.as_ref(), low.as_ref(), high.as_ref())
            else {
                return None;
            };
            let (column, low) = typed(&col.name, low)?;
            let (_, high) = typed(&col.name, high)?;
            if low == Value::Null || high == Value::Null {
                return None;
            }
            let name = &col.name;
            Some((
                column,
                Constraint {
                    eq: None,
                    lower: Some((Bound::Included(encode(&low)), format!("{name} >= {low}"))),
                    upper: Some((Bound::Included(encode(&high)), format!("{name} <= {high}"))),
                },
            ))
        }
        _ => None,
    }
}

/// Whether pushing `filter` down can narrow a scan of `meta`. Parameters count as the
/// literals they will be: a prepared plan is optimized before its values are bound.
pub(crate) fn is_usable(meta: &TableMeta, filter: &Expr) -> bool {
    filter_column(meta, filter)
        .is_some_and(|column| meta.pk.contains(&column) || meta.index_on(column).is_some())
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
/// k = 20`): the column, the ranges, and how `EXPLAIN` shows them.
type Union = (usize, Vec<KeyRange>, String);

fn union_of(meta: &TableMeta, filter: &Expr) -> Option<Union> {
    let mut disjuncts = Vec::new();
    split_or(filter, &mut disjuncts);
    if disjuncts.len() < 2 {
        return None;
    }
    let mut column = None;
    let mut ranges = Vec::new();
    let mut shown = Vec::new();
    for disjunct in disjuncts {
        // One disjunct: a conjunction of constraints on the column.
        let mut conjuncts = Vec::new();
        split_and(disjunct, &mut conjuncts);
        let mut merged = Constraint::default();
        for conjunct in conjuncts {
            let (c, constraint) = constraint_of(meta, conjunct)?;
            if *column.get_or_insert(c) != c {
                return None;
            }
            merged.and(constraint);
        }
        let name = &meta.columns[column?].name;
        match merged.eq {
            Some(values) => {
                for value in values {
                    shown.push(format!("{name} = {value}"));
                    let key = encode(&value);
                    ranges.push((Bound::Included(key.clone()), Bound::Included(key)));
                }
            }
            None => {
                let (lower, a) = merged.lower.unwrap_or((Bound::Unbounded, String::new()));
                let (upper, b) = merged.upper.unwrap_or((Bound::Unbounded, String::new()));
                let both: Vec<String> = [a, b].into_iter().filter(|s| !s.is_empty()).collect();
                shown.push(both.join(" AND "));
                ranges.push((lower, upper));
            }
        }
    }
    Some((column?, ranges, shown.join(" OR ")))
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

/// The narrowest access path the filters allow.
pub(crate) fn plan(meta: &TableMeta, filters: &[Expr]) -> Plan {
    let mut constraints: Vec<Constraint> =
        meta.columns.iter().map(|_| Constraint::default()).collect();
    let mut unions = Vec::new();
    for filter in filters {
        let Some((column, c)) = constraint_of(meta, filter) else {
            unions.extend(union_of(meta, filter));
            continue;
        };
        constraints[column].and(c);
    }
    let name = |column: usize| meta.columns[column].name.as_str();
    let list = |values: &[Value]| {
        values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };

    // Equality on every primary-key column: point gets.
    if meta.pk.iter().all(|&c| constraints[c].eq.is_some()) {
        let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
        let mut shown = Vec::new();
        for &column in &meta.pk {
            let values = constraints[column].eq.as_deref().unwrap_or_default();
            if values.is_empty() {
                return Plan {
                    access: Access::Nothing,
                    description: format!("no rows ({} matches nothing)", name(column)),
                };
            }
            if keys.len() * values.len() > MAX_POINTS {
                keys.clear();
                break;
            }
            keys = keys
                .iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let mut key = prefix.clone();
                        v.write_key(&mut key);
                        key
                    })
                })
                .collect();
            shown.push(match values {
                [one] => format!("{} = {one}", name(column)),
                many => format!("{} IN ({})", name(column), list(many)),
            });
        }
        if !keys.is_empty() {
            keys.sort_unstable();
            keys.dedup();
            return Plan {
                description: format!(
                    "primary key get of {} key{}: {}",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" },
                    shown.join(" AND ")
                ),
                access: Access::Keys(keys),
            };
        }
    }

    // Equality on leading primary-key columns, then perhaps a range on the next one.
    let mut prefix = Vec::new();
    let mut shown = Vec::new();
    for &column in &meta.pk {
        match constraints[column].eq.as_deref() {
            Some([one]) => {
                one.write_key(&mut prefix);
                shown.push(format!("{} = {one}", name(column)));
            }
            _ => {
                let c = &mut constraints[column];
                if c.lower.is_some() || c.upper.is_some() {
                    let mut join = |bound: Option<(Bound<Vec<u8>>, String)>| match bound {
                        Some((Bound::Included(k), s)) => {
                            shown.push(s);
                            Bound::Included([prefix.as_slice(), &k].concat())
                        }
                        Some((Bound::Excluded(k), s)) => {
                            shown.push(s);
                            Bound::Excluded([prefix.as_slice(), &k].concat())
                        }
                        _ if prefix.is_empty() => Bound::Unbounded,
                        _ => Bound::Included(prefix.clone()),
                    };
                    let lower = join(c.lower.take());
                    let upper = join(c.upper.take());
                    return Plan {
                        access: Access::Range { lower, upper },
                        description: format!("primary key range: {}", shown.join(" AND ")),
                    };
                }
                break;
            }
        }
    }
    if !prefix.is_empty() {
        return Plan {
            access: Access::Range {
                lower: Bound::Included(prefix.clone()),
                upper: Bound::Included(prefix),
            },
            description: format!("primary key prefix: {}", shown.join(" AND ")),
        };
    }

    // A secondary index.
    for index in &meta.indexes {
        let c = &mut constraints[index.column];
        if let Some(values) = &c.eq {
            let mut keys: Vec<Vec<u8>> = values.iter().map(encode).collect();
            keys.sort_unstable();
            keys.dedup();
            return Plan {
                description: format!(
                    "index {} get: {} IN ({})",
                    index.name,
                    name(index.column),
                    list(values)
                ),
                access: if keys.is_empty() {
                    Access::Nothing
                } else {
                    Access::Index {
                        index: index.number,
                        ranges: keys
                            .into_iter()
                            .map(|k| (Bound::Included(k.clone()), Bound::Included(k)))
                            .collect(),
                        covering: false,
                    }
                },
            };
        }
        if c.lower.is_some() || c.upper.is_some() {
            let mut shown = Vec::new();
            let mut take = |bound: Option<(Bound<Vec<u8>>, String)>| match bound {
                Some((b, s)) => {
                    shown.push(s);
                    b
                }
                None => Bound::Unbounded,
            };
            let lower = take(c.lower.take());
            let upper = take(c.upper.take());
            return Plan {
                description: format!("index {} range: {}", index.name, shown.join(" AND ")),
                access: Access::Index {
                    index: index.number,
                    ranges: vec![(lower, upper)],
                    covering: false,
                },
            };
        }
    }
    // A disjunction of ranges on the (first) primary-key column or an indexed one.
    for (column, ranges, shown) in unions {
        let how = format!(
            "{} range{}: {shown}",
            ranges.len(),
            if ranges.len() == 1 { "" } else { "s" }
        );
        if meta.pk.first() == Some(&column) {
            return Plan {
                description: format!("primary key {how}"),
                access: Access::Ranges(ranges),
            };
        }
        if let Some(index) = meta.index_on(column) {
            return Plan {
                description: format!("index {} {how}", index.name),
                access: Access::Index {
                    index: index.number,
                    ranges,
                    covering: false,
                },
            };
        }
    }
    Plan {
        access: Access::Full,
        description: "full scan".to_owned(),
    }
}
