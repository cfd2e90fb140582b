//! Access paths on a secondary index: gets of values, or one range of values.

use std::ops::Bound;

use super::filters::encode;
use super::{Access, AccessPath, Analysis, Part, list};

/// The first index whose column the filters give values or bounds.
pub(super) fn path(a: &mut Analysis<'_>) -> Option<AccessPath> {
    let meta = a.meta;
    for index in &meta.indexes {
        let column = index.column;
        if let Some(values) = &a.constraints[column].eq {
            let description = text!(
                a.describe,
                "index {} get: {} IN ({})",
                index.name,
                a.name(column),
                list(values)
            );
            let mut keys: Vec<Vec<u8>> = values.iter().map(encode).collect();
            if keys.is_empty() {
                return Some(a.nothing(description));
            }
            keys.sort_unstable();
            keys.dedup();
            return Some(AccessPath {
                description,
                access: Access::Index {
                    index: index.number,
                    ranges: keys
                        .into_iter()
                        .map(|k| (Bound::Included(k.clone()), Bound::Included(k)))
                        .collect(),
                    covering: false,
                },
                residual: a.residual(|_, part| part == Part::Values(column)),
            });
        }
        let c = &mut a.constraints[column];
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
            return Some(AccessPath {
                description: text!(
                    a.describe,
                    "index {} range: {}",
                    index.name,
                    shown.join(" AND ")
                ),
                access: Access::Index {
                    index: index.number,
                    ranges: vec![(lower, upper)],
                    covering: false,
                },
                residual: a.residual(|_, part| part == Part::Bounds(column)),
            });
        }
    }
    None
}
