//! Access paths on a secondary index: the values of its first parts
//! (`a = 1 AND b IN (2, 3)` on an index on `(a, b, c)`), then optionally a range on the
//! next one (`.. AND c > 5`), on the index the filters pin down furthest.

use std::ops::Bound;

use super::filters::encode;
use super::{Access, AccessPath, Analysis, KeyRange, MAX_POINTS, Part, entry, list};
use crate::catalog::Index;
use crate::value::Value;

/// How far into an index's key the filters reach: the values of its first parts, then
/// whether there are bounds on the next one.
struct Reach<'a> {
    index: &'a Index,
    values: Vec<Vec<Value>>,
    range: bool,
}

impl Reach<'_> {
    /// Longer is better: more parts with values, then a range after them.
    fn rank(&self) -> (usize, bool) {
        (self.values.len(), self.range)
    }
}

fn reach<'a>(a: &Analysis<'_>, index: &'a Index) -> Reach<'a> {
    let mut values = Vec::new();
    let mut points = 1usize;
    for part in &index.parts {
        let c = &a.constraints[part.column];
        let Some(eq) = &c.eq else {
            let range = c.lower.is_some() || c.upper.is_some();
            return Reach {
                index,
                values,
                range,
            };
        };
        points = points.saturating_mul(eq.len().max(1));
        if points > MAX_POINTS {
            break;
        }
        values.push(eq.clone());
    }
    Reach {
        index,
        values,
        range: false,
    }
}

/// The index whose key the filters reach furthest (the first of those that reach as far),
/// read as gets of its first parts' values or ranges after them.
pub(super) fn path(a: &mut Analysis<'_>) -> Option<AccessPath> {
    let best = a
        .meta
        .indexes
        .iter()
        .map(|index| reach(a, index))
        .filter(|r| r.rank() > (0, false))
        .reduce(|best, r| if r.rank() > best.rank() { r } else { best })?;
    let index = best.index;
    let mut shown = Vec::new();
    let mut prefixes = vec![Vec::new()];
    for (position, values) in best.values.iter().enumerate() {
        let column = index.parts[position].column;
        shown.push(text!(
            a.describe,
            "{} IN ({})",
            a.name(column),
            list(values)
        ));
        let mut parts: Vec<Vec<u8>> = values
            .iter()
            .map(|v| entry::part(index, position, &encode(v)))
            .collect();
        parts.sort_unstable();
        parts.dedup();
        prefixes = prefixes
            .iter()
            .flat_map(|prefix| {
                parts
                    .iter()
                    .map(move |part| [prefix.as_slice(), part].concat())
            })
            .collect();
    }
    let answered: Vec<usize> = index.parts[..best.values.len()]
        .iter()
        .map(|p| p.column)
        .collect();
    let residual = |a: &Analysis<'_>, bounds: Option<usize>| {
        a.residual(|_, part| match part {
            Part::Values(column) => answered.contains(&column),
            Part::Bounds(column) => Some(column) == bounds,
            _ => false,
        })
    };
    if prefixes.is_empty() {
        let description = text!(
            a.describe,
            "index {} get: {}",
            index.name,
            shown.join(" AND ")
        );
        return Some(a.nothing(description));
    }
    if !best.range {
        return Some(AccessPath {
            description: text!(
                a.describe,
                "index {} get: {}",
                index.name,
                shown.join(" AND ")
            ),
            access: Access::Index {
                index: index.number,
                ranges: prefixes
                    .into_iter()
                    .map(|p| (Bound::Included(p.clone()), Bound::Included(p)))
                    .collect(),
                covering: false,
            },
            residual: residual(a, None),
        });
    }
    let position = best.values.len();
    let column = index.parts[position].column;
    let c = &mut a.constraints[column];
    let (lower, upper) = (c.lower.take(), c.upper.take());
    let mut bound = |b: Option<(Bound<Vec<u8>>, String)>| {
        b.map(|(bound, text)| {
            shown.push(text);
            bound
        })
    };
    let (lower, upper) = (bound(lower), bound(upper));
    let ranges = prefixes
        .iter()
        .map(|prefix| bounds(index, position, prefix, lower.as_ref(), upper.as_ref()))
        .collect();
    Some(AccessPath {
        description: text!(
            a.describe,
            "index {} range: {}",
            index.name,
            shown.join(" AND ")
        ),
        access: Access::Index {
            index: index.number,
            ranges,
            covering: false,
        },
        residual: residual(a, Some(column)),
    })
}

/// The entries after `prefix` whose part `position` lies between `lower` and `upper`
/// (bounds on the column's key part; a missing one: any value, but not NULL).
fn bounds(
    index: &Index,
    position: usize,
    prefix: &[u8],
    lower: Option<&Bound<Vec<u8>>>,
    upper: Option<&Bound<Vec<u8>>>,
) -> KeyRange {
    let any = [prefix, &entry::present(index, position)].concat();
    let at = |key: &[u8]| [prefix, &entry::part(index, position, key)].concat();
    let map = |bound: Option<&Bound<Vec<u8>>>| match bound {
        Some(Bound::Included(key)) => Bound::Included(at(key)),
        Some(Bound::Excluded(key)) => Bound::Excluded(at(key)),
        Some(Bound::Unbounded) | None => Bound::Included(any.clone()),
    };
    // A descending part stores the highest values first.
    if index.parts[position].descending {
        (map(upper), map(lower))
    } else {
        (map(lower), map(upper))
    }
}

/// A range of the first column's key parts as a range of `index`'s entries.
pub(super) fn first_part(index: &Index, (lower, upper): KeyRange) -> KeyRange {
    bounds(index, 0, &[], Some(&lower), Some(&upper))
}
