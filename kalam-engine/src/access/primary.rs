//! Access paths on the primary key: point gets, and a range under a prefix of equalities.

use std::ops::Bound;

use super::{Access, AccessPath, Analysis, MAX_POINTS, Part, list};

/// Equality on every primary-key column: point gets of every combination of the values,
/// unless there are more than [`MAX_POINTS`].
pub(super) fn points(a: &Analysis<'_>) -> Option<AccessPath> {
    let meta = a.meta;
    if !meta.pk.iter().all(|&c| a.constraints[c].eq.is_some()) {
        return None;
    }
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    let mut shown = Vec::new();
    for &column in &meta.pk {
        let values = a.constraints[column].eq.as_deref().unwrap_or_default();
        if values.is_empty() {
            return Some(a.nothing(text!(
                a.describe,
                "no rows ({} matches nothing)",
                a.name(column)
            )));
        }
        if keys.len() * values.len() > MAX_POINTS {
            return None;
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
            [one] => text!(a.describe, "{} = {one}", a.name(column)),
            many => text!(a.describe, "{} IN ({})", a.name(column), list(many)),
        });
    }
    keys.sort_unstable();
    keys.dedup();
    Some(AccessPath {
        description: text!(
            a.describe,
            "primary key get of {} key{}: {}",
            keys.len(),
            if keys.len() == 1 { "" } else { "s" },
            shown.join(" AND ")
        ),
        access: Access::Keys(keys),
        residual: a.residual(|_, part| matches!(part, Part::Values(c) if meta.pk.contains(&c))),
    })
}

/// Equality on leading primary-key columns, then perhaps a range on the next one.
pub(super) fn range(a: &mut Analysis<'_>) -> Option<AccessPath> {
    let meta = a.meta;
    let mut prefix = Vec::new();
    let mut prefix_columns = Vec::new();
    let mut shown = Vec::new();
    for &column in &meta.pk {
        if let Some([one]) = a.constraints[column].eq.as_deref() {
            one.write_key(&mut prefix);
            prefix_columns.push(column);
            shown.push(text!(a.describe, "{} = {one}", a.name(column)));
            continue;
        }
        let c = &mut a.constraints[column];
        if c.lower.is_none() && c.upper.is_none() {
            break;
        }
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
        return Some(AccessPath {
            access: Access::Range { lower, upper },
            description: text!(a.describe, "primary key range: {}", shown.join(" AND ")),
            residual: a.residual(|_, part| match part {
                Part::Values(c) => prefix_columns.contains(&c),
                Part::Bounds(c) => c == column,
                _ => false,
            }),
        });
    }
    if prefix.is_empty() {
        return None;
    }
    Some(AccessPath {
        access: Access::Range {
            lower: Bound::Included(prefix.clone()),
            upper: Bound::Included(prefix),
        },
        description: text!(a.describe, "primary key prefix: {}", shown.join(" AND ")),
        residual: a
            .residual(|_, part| matches!(part, Part::Values(c) if prefix_columns.contains(&c))),
    })
}
