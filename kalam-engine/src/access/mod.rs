//! From pushed-down filters to a RocksDB access path: point gets on the primary key, a key
//! range, or an index lookup, instead of a full scan.
//!
//! Filters are pushed as `Exact`: DataFusion does not apply them again. A [`Plan`] says
//! which filters its access path answers exactly (the rows it reads are precisely those
//! the filter keeps); the scan checks the others, its [`Plan::residual`], on each row.
//! Choosing a narrower path is an optimization, never a change in results.

use std::borrow::Cow;
use std::fmt;
use std::ops::Bound;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, expr::InList};

use crate::catalog::TableMeta;
use crate::params::value_of;
use crate::value::{ColumnType, Value};

/// How many primary keys an `IN` list or a product of them may expand to.
const MAX_POINTS: usize = 4096;

/// `format!` when `$describe`, an empty string otherwise.
macro_rules! text {
    ($describe:expr, $($arg:tt)*) => {
        if $describe {
            format!($($arg)*)
        } else {
            String::new()
        }
    };
}

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

/// An access path, how `EXPLAIN` shows it, and the filters it does not answer.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) access: Access,
    pub(crate) description: String,
    /// The positions of the filters whose rows the access path may not all match: the
    /// scan checks them on each row.
    pub(crate) residual: Vec<usize>,
}

impl Plan {
    /// The plan, its index access marked as covering when the scan reads nothing but the
    /// indexed column and primary-key columns: `columns`, those it projects and those its
    /// residual filters read.
    pub(crate) fn covering(mut self, meta: &TableMeta, columns: &[usize]) -> Self {
        if let Access::Index {
            index, covering, ..
        } = &mut self.access
        {
            let column = meta.indexed_column(*index);
            if columns
                .iter()
                .all(|c| meta.pk.contains(c) || Some(*c) == column)
            {
                *covering = true;
                // A plan chosen per run has no description (see `plan`).
                if !self.description.is_empty() {
                    self.description.push_str(", covering");
                }
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

fn encode(value: &Value) -> Vec<u8> {
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
fn constraint_of(meta: &TableMeta, filter: &Expr, describe: bool) -> Option<(usize, Constraint)> {
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
            let values = values
                .into_iter()
                .filter(|v| *v != Value::Null)
                .flat_map(points)
                .collect();
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
            let Expr::Column(col) = expr.as_ref() else {
                return None;
            };
            let (column, low) = typed(&col.name, value_of(low)?.as_ref())?;
            let (_, high) = typed(&col.name, value_of(high)?.as_ref())?;
            if low == Value::Null || high == Value::Null {
                return None;
            }
            let name = &col.name;
            Some((
                column,
                Constraint {
                    eq: None,
                    lower: Some((lower_key(&low, true), text!(describe, "{name} >= {low}"))),
                    upper: Some((upper_key(&high, true), text!(describe, "{name} <= {high}"))),
                },
            ))
        }
        _ => None,
    }
}

/// Whether pushing `filter` down can narrow a scan of `meta`. Parameters count as the
/// literals they will be: a prepared plan is optimized before its values are known, and
/// its scans read them with [`value_of`] as each run starts.
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
/// k = 20`).
struct Union {
    column: usize,
    ranges: Vec<KeyRange>,
    /// How `EXPLAIN` shows the ranges.
    shown: String,
    /// Whether the ranges hold exactly the rows the disjunction keeps: each disjunct is
    /// values or bounds (not both), on a column of an [`exact_type`].
    exact: bool,
    /// The values, when every disjunct is values (`a = 1 OR a = 2`, as DataFusion writes
    /// a short `IN` list).
    values: Option<Vec<Value>>,
}

fn union_of(meta: &TableMeta, filter: &Expr, describe: bool) -> Option<Union> {
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
fn exact_type(ty: ColumnType) -> bool {
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

/// What a filter tells the access path.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// The values a column may take (`=`, `IN`).
    Values(usize),
    /// Bounds on a column (`<`, `>=`, `BETWEEN`).
    Bounds(usize),
    /// An exact disjunction of ranges ([`Union::exact`]), not all of them values.
    Union,
    /// Nothing exact: at most it narrows the path, and the scan checks it on each row.
    Other,
}

/// The narrowest access path the filters allow; its description for `EXPLAIN` is written
/// only when `describe` (a plan chosen per run is never shown).
pub(crate) fn plan(meta: &TableMeta, filters: &[Expr], describe: bool) -> Plan {
    let mut constraints: Vec<Constraint> =
        meta.columns.iter().map(|_| Constraint::default()).collect();
    let mut parts = Vec::with_capacity(filters.len());
    let mut unions = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        let Some((column, c)) = constraint_of(meta, filter, describe) else {
            let Some(union) = union_of(meta, filter, describe) else {
                parts.push(Part::Other);
                continue;
            };
            // A union of values is also a list of values, for point gets.
            parts.push(match &union.values {
                _ if !union.exact => Part::Other,
                Some(_) => Part::Values(union.column),
                None => Part::Union,
            });
            if let Some(values) = &union.values {
                constraints[union.column].and(Constraint {
                    eq: Some(values.clone()),
                    ..Constraint::default()
                });
            }
            unions.push((i, union));
            continue;
        };
        parts.push(if !exact_type(meta.columns[column].ty) {
            Part::Other
        } else if c.eq.is_some() {
            Part::Values(column)
        } else {
            Part::Bounds(column)
        });
        constraints[column].and(c);
    }
    // The filters a path leaves to the scan, given the parts it answers.
    let residual = |answers: &dyn Fn(usize, Part) -> bool| -> Vec<usize> {
        (0..parts.len())
            .filter(|&i| !answers(i, parts[i]))
            .collect()
    };
    let nothing = |description: String| Plan {
        access: Access::Nothing,
        description,
        residual: Vec::new(),
    };
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
                return nothing(text!(
                    describe,
                    "no rows ({} matches nothing)",
                    name(column)
                ));
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
                [one] => text!(describe, "{} = {one}", name(column)),
                many => text!(describe, "{} IN ({})", name(column), list(many)),
            });
        }
        if !keys.is_empty() {
            keys.sort_unstable();
            keys.dedup();
            return Plan {
                description: text!(
                    describe,
                    "primary key get of {} key{}: {}",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" },
                    shown.join(" AND ")
                ),
                access: Access::Keys(keys),
                residual: residual(
                    &|_, part| matches!(part, Part::Values(c) if meta.pk.contains(&c)),
                ),
            };
        }
    }

    // Equality on leading primary-key columns, then perhaps a range on the next one.
    let mut prefix = Vec::new();
    let mut prefix_columns = Vec::new();
    let mut shown = Vec::new();
    for &column in &meta.pk {
        match constraints[column].eq.as_deref() {
            Some([one]) => {
                one.write_key(&mut prefix);
                prefix_columns.push(column);
                shown.push(text!(describe, "{} = {one}", name(column)));
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
                        description: text!(describe, "primary key range: {}", shown.join(" AND ")),
                        residual: residual(&|_, part| match part {
                            Part::Values(c) => prefix_columns.contains(&c),
                            Part::Bounds(c) => c == column,
                            _ => false,
                        }),
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
            description: text!(describe, "primary key prefix: {}", shown.join(" AND ")),
            residual: residual(
                &|_, part| matches!(part, Part::Values(c) if prefix_columns.contains(&c)),
            ),
        };
    }

    // A secondary index.
    for index in &meta.indexes {
        let column = index.column;
        let c = &mut constraints[column];
        if let Some(values) = &c.eq {
            let description = text!(
                describe,
                "index {} get: {} IN ({})",
                index.name,
                name(column),
                list(values)
            );
            let mut keys: Vec<Vec<u8>> = values.iter().map(encode).collect();
            if keys.is_empty() {
                return nothing(description);
            }
            keys.sort_unstable();
            keys.dedup();
            return Plan {
                description,
                access: Access::Index {
                    index: index.number,
                    ranges: keys
                        .into_iter()
                        .map(|k| (Bound::Included(k.clone()), Bound::Included(k)))
                        .collect(),
                    covering: false,
                },
                residual: residual(&|_, part| part == Part::Values(column)),
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
                description: text!(
                    describe,
                    "index {} range: {}",
                    index.name,
                    shown.join(" AND ")
                ),
                access: Access::Index {
                    index: index.number,
                    ranges: vec![(lower, upper)],
                    covering: false,
                },
                residual: residual(&|_, part| part == Part::Bounds(column)),
            };
        }
    }
    // A disjunction of ranges on the (first) primary-key column or an indexed one.
    for (filter, union) in unions {
        let how = text!(
            describe,
            "{} range{}: {}",
            union.ranges.len(),
            if union.ranges.len() == 1 { "" } else { "s" },
            union.shown
        );
        let left = residual(&|i, part| i == filter && part != Part::Other);
        if meta.pk.first() == Some(&union.column) {
            return Plan {
                description: text!(describe, "primary key {how}"),
                access: Access::Ranges(union.ranges),
                residual: left,
            };
        }
        if let Some(index) = meta.index_on(union.column) {
            return Plan {
                description: text!(describe, "index {} {how}", index.name),
                access: Access::Index {
                    index: index.number,
                    ranges: union.ranges,
                    covering: false,
                },
                residual: left,
            };
        }
    }
    Plan {
        access: Access::Full,
        description: text!(describe, "full scan"),
        residual: (0..filters.len()).collect(),
    }
}
