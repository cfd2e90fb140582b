//! From pushed-down filters to a RocksDB access path: point gets on the primary key, a key
//! range, or an index lookup, instead of a full scan.
//!
//! Filters are pushed as `Exact`: DataFusion does not apply them again. An [`AccessPath`]
//! says which filters it answers exactly (the rows it reads are precisely those the filter
//! keeps); the scan checks the others, its [`AccessPath::residual`], on each row.
//! Choosing a narrower path is an optimization, never a change in results.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `filters.rs` | what one filter says about one column: values, bounds, a union of ranges |
//! | `primary.rs` | point gets and ranges on the primary key |
//! | `index.rs` | gets and ranges on a secondary index |
//! | `entry.rs` | the keys of a secondary index's entries |
//! | `read.rs` | reading the rows of a path from storage, a chunk at a time |

use std::fmt;
use std::ops::Bound;

use datafusion::logical_expr::Expr;

use crate::catalog::TableMeta;
use crate::value::Value;

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

pub(crate) mod entry;
mod filters;
mod index;
mod primary;
mod read;

pub(crate) use filters::is_usable;
pub(crate) use read::{
    Cursor, count_entries, covered_batch, decode_batch, keys_chunk, read_chunk, visit_chunk,
};

use filters::{Constraint, Union, constraint_of, exact_type, union_of};

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
    /// The rows whose entries in index `index` lie in any of these ranges (of the
    /// entries' keys after their prefix: see [`entry`]). `covering`: the scan needs only
    /// the indexed columns and the primary key, which the entries hold, so no row is read.
    Index {
        index: u32,
        ranges: Vec<KeyRange>,
        covering: bool,
    },
}

/// Whether `access`, chosen when the table was `planned`, still reads what it read then in
/// the table as it is (`current`): an index may have been dropped, or its number given to
/// another since. Callers fall back to another path otherwise.
pub(crate) fn still_usable(access: &Access, planned: &TableMeta, current: &TableMeta) -> bool {
    match access {
        Access::Index { index, .. } => planned
            .index(*index)
            .is_some_and(|i| current.index(*index).is_some_and(|c| c.parts == i.parts)),
        _ => true,
    }
}

/// An access path, how `EXPLAIN` shows it, and the filters it does not answer.
#[derive(Clone, Debug)]
pub(crate) struct AccessPath {
    pub(crate) access: Access,
    pub(crate) description: String,
    /// The positions of the filters whose rows the access path may not all match: the
    /// scan checks them on each row.
    pub(crate) residual: Vec<usize>,
}

impl AccessPath {
    /// The path, its index access marked as covering when the scan reads nothing but the
    /// indexed columns and primary-key columns: `columns`, those it projects and those its
    /// residual filters read.
    pub(crate) fn covering(mut self, meta: &TableMeta, columns: &[usize]) -> Self {
        if let Access::Index {
            index, covering, ..
        } = &mut self.access
        {
            let index = meta.index(*index);
            if columns
                .iter()
                .all(|&c| meta.pk.contains(&c) || index.is_some_and(|i| i.holds(c)))
            {
                *covering = true;
                // A path chosen per run has no description (see `plan`).
                if !self.description.is_empty() {
                    self.description.push_str(", covering");
                }
            }
        }
        self
    }
}

impl fmt::Display for AccessPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
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

/// What the filters say, column by column, for each kind of path to read.
struct Analysis<'a> {
    meta: &'a TableMeta,
    describe: bool,
    /// What the filters say about each column.
    constraints: Vec<Constraint>,
    /// What each filter tells the path.
    parts: Vec<Part>,
    /// The filters that are disjunctions of ranges on one column, by position.
    unions: Vec<(usize, Union)>,
}

impl<'a> Analysis<'a> {
    /// Nothing said yet, of `filters` to come.
    fn empty(meta: &'a TableMeta, filters: usize, describe: bool) -> Self {
        Analysis {
            meta,
            describe,
            constraints: meta.columns.iter().map(|_| Constraint::default()).collect(),
            parts: Vec::with_capacity(filters),
            unions: Vec::new(),
        }
    }

    fn new(meta: &'a TableMeta, filters: &[Expr], describe: bool) -> Self {
        let mut a = Analysis::empty(meta, filters.len(), describe);
        for (i, filter) in filters.iter().enumerate() {
            if let Some((column, c)) = constraint_of(meta, filter, describe) {
                a.constrain(column, c);
            } else if let Some(union) = union_of(meta, filter, describe) {
                a.unite(i, union);
            } else {
                a.parts.push(Part::Other);
            }
        }
        a
    }

    /// Adds the next filter, which says `c` of `column`.
    fn constrain(&mut self, column: usize, c: Constraint) {
        self.parts
            .push(if !exact_type(self.meta.columns[column].ty) {
                Part::Other
            } else if c.eq.is_some() {
                Part::Values(column)
            } else {
                Part::Bounds(column)
            });
        self.constraints[column].and(c);
    }

    /// Adds the next filter, the `filter`th, a disjunction of ranges.
    fn unite(&mut self, filter: usize, union: Union) {
        // A union of values is also a list of values, for point gets.
        self.parts.push(match &union.values {
            _ if !union.exact => Part::Other,
            Some(_) => Part::Values(union.column),
            None => Part::Union,
        });
        if let Some(values) = &union.values {
            self.constraints[union.column].and(Constraint {
                eq: Some(values.clone()),
                ..Constraint::default()
            });
        }
        self.unions.push((filter, union));
    }

    /// The narrowest access path, trying each kind in turn: primary-key gets, a
    /// primary-key range, an index, a union of ranges, then a full scan.
    fn choose(mut self) -> AccessPath {
        primary::points(&self)
            .or_else(|| primary::range(&mut self))
            .or_else(|| index::path(&mut self))
            .or_else(|| self.union())
            .unwrap_or_else(|| AccessPath {
                access: Access::Full,
                description: text!(self.describe, "full scan"),
                residual: (0..self.parts.len()).collect(),
            })
    }

    /// The filters a path leaves to the scan, given the parts it answers.
    fn residual(&self, answers: impl Fn(usize, Part) -> bool) -> Vec<usize> {
        (0..self.parts.len())
            .filter(|&i| !answers(i, self.parts[i]))
            .collect()
    }

    fn name(&self, column: usize) -> &'a str {
        self.meta.columns[column].name.as_str()
    }

    /// The path that reads nothing.
    fn nothing(&self, description: String) -> AccessPath {
        AccessPath {
            access: Access::Nothing,
            description,
            residual: Vec::new(),
        }
    }

    /// A disjunction of ranges on the (first) primary-key column or an indexed one.
    fn union(&mut self) -> Option<AccessPath> {
        let meta = self.meta;
        for (filter, union) in std::mem::take(&mut self.unions) {
            let how = text!(
                self.describe,
                "{} range{}: {}",
                union.ranges.len(),
                if union.ranges.len() == 1 { "" } else { "s" },
                union.shown
            );
            let left = self.residual(|i, part| i == filter && part != Part::Other);
            if meta.pk.first() == Some(&union.column) {
                return Some(AccessPath {
                    description: text!(self.describe, "primary key {how}"),
                    access: Access::Ranges(union.ranges),
                    residual: left,
                });
            }
            if let Some(index) = meta.index_led_by(union.column) {
                return Some(AccessPath {
                    description: text!(self.describe, "index {} {how}", index.name),
                    access: Access::Index {
                        index: index.number,
                        ranges: union
                            .ranges
                            .into_iter()
                            .map(|range| index::first_part(index, range))
                            .collect(),
                        covering: false,
                    },
                    residual: left,
                });
            }
        }
        None
    }
}

/// Values as `EXPLAIN` lists them.
fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the filter `column IN (values)` has an exact access path other than a full
/// scan: gets on a one-column primary key, or on an index that leads with the column.
pub(crate) fn looks_up(meta: &TableMeta, column: usize) -> bool {
    exact_type(meta.columns[column].ty)
        && (meta.pk == [column] || meta.indexes.iter().any(|i| i.leading() == column))
}

/// The narrowest access path the filters allow, trying each kind in turn: primary-key
/// gets, a primary-key range, an index, a union of ranges, then a full scan. Its
/// description for `EXPLAIN` is written only when `describe` (a path chosen per run is
/// never shown).
pub(crate) fn plan(meta: &TableMeta, filters: &[Expr], describe: bool) -> AccessPath {
    Analysis::new(meta, filters, describe).choose()
}

/// The values of one column a fast path looks up, or its ranges; none NULL.
#[derive(Clone, Debug)]
pub(crate) enum Lookup {
    /// `column IN (values)`.
    Values(Vec<Value>),
    /// `column BETWEEN low AND high [OR column BETWEEN ..]`, bounds included.
    Ranges(Vec<(Value, Value)>),
}

/// The path [`plan`] chooses for the one filter that `lookup` of `column` writes out,
/// without writing it out: a fast path's choice at each run, not described. `lookup` has
/// a value or a range at least.
pub(crate) fn plan_lookup(meta: &TableMeta, column: usize, lookup: &Lookup) -> AccessPath {
    let mut a = Analysis::empty(meta, 1, false);
    match lookup {
        Lookup::Values(values) => a.constrain(column, filters::in_values(values.iter().cloned())),
        Lookup::Ranges(ranges) => match ranges.as_slice() {
            [(low, high)] => a.constrain(column, filters::between(low, high, None)),
            _ => a.unite(0, filters::union_of_ranges(meta, column, ranges)),
        },
    }
    a.choose()
}
