//! Reading the rows an access path selects, in chunks.

use std::ops::Bound;

use crate::catalog::TableMeta;
use crate::error::StorageError;
use crate::storage::{Rows, Scope, Storage, keyspace};

use super::access::{Access, KeyRange};
use crate::row::encode_values;
use crate::value::Value;

/// Where a chunked read continues.
#[derive(Clone, Debug)]
pub(crate) enum Cursor {
    /// Not started.
    Start,
    /// After this primary key (range reads) or this many keys (point reads).
    After(Vec<u8>),
    At(usize),
    /// Finished.
    Done,
}

/// Reads up to `max` rows of `access` from `cursor` on: `(primary key, row)` pairs, and
/// where to continue.
pub(crate) fn read_chunk(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    access: &Access,
    cursor: Cursor,
    max: usize,
) -> Result<(Rows, Cursor), StorageError> {
    let max = max.max(1);
    match (access, cursor) {
        (_, Cursor::Done) | (Access::Nothing, _) => Ok((Vec::new(), Cursor::Done)),
        (Access::Keys(keys), cursor) => {
            let start = match cursor {
                Cursor::At(n) => n,
                _ => 0,
            };
            let end = (start + max).min(keys.len());
            let rows = storage.get_many(meta.number, scope, &keys[start..end])?;
            let next = if end == keys.len() {
                Cursor::Done
            } else {
                Cursor::At(end)
            };
            Ok((rows, next))
        }
        (Access::Full, cursor) => range(
            storage,
            meta,
            scope,
            Bound::Unbounded,
            Bound::Unbounded,
            &cursor,
            max,
        ),
        (Access::Range { lower, upper }, cursor) => range(
            storage,
            meta,
            scope,
            as_ref(lower),
            as_ref(upper),
            &cursor,
            max,
        ),
        (
            Access::Index {
                index,
                ranges,
                covering,
            },
            Cursor::Start,
        ) => {
            let mut entries = index_entries(storage, meta, scope, *index, ranges)?;
            // Overlapping ranges find a row twice; rows come in key order.
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
            let rows = if *covering {
                covered_rows(meta, *index, entries)?
            } else {
                let pks: Vec<Vec<u8>> = entries.into_iter().map(|(pk, _)| pk).collect();
                storage.get_many(meta.number, scope, &pks)?
            };
            Ok((rows, Cursor::Done))
        }
        (Access::Ranges(ranges), Cursor::Start) => {
            // Each range whole, then the rows once each, in key order.
            let mut rows = Vec::new();
            for (lower, upper) in ranges {
                rows.extend(storage.scan_range(
                    meta.number,
                    scope,
                    as_ref(lower),
                    as_ref(upper),
                    usize::MAX,
                )?);
            }
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            rows.dedup_by(|a, b| a.0 == b.0);
            Ok((rows, Cursor::Done))
        }
        (Access::Index { .. } | Access::Ranges(_), _) => Ok((Vec::new(), Cursor::Done)),
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn range(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
    cursor: &Cursor,
    max: usize,
) -> Result<(Rows, Cursor), StorageError> {
    let rows = match cursor {
        Cursor::After(last) => {
            storage.scan_range(meta.number, scope, Bound::Excluded(last), upper, max)?
        }
        _ => storage.scan_range(meta.number, scope, lower, upper, max)?,
    };
    let next = match rows.last() {
        Some((pk, _)) if rows.len() == max => Cursor::After(pk.clone()),
        _ => Cursor::Done,
    };
    Ok((rows, next))
}

/// The entries of `index` whose values lie in any of `ranges`, as `(primary key, value's
/// key part)`.
fn index_entries(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    index: u32,
    ranges: &[KeyRange],
) -> Result<Rows, StorageError> {
    let prefix = keyspace::index_prefix(meta.number, index, scope);
    let bounded: Vec<(Vec<u8>, Option<Vec<u8>>)> = ranges
        .iter()
        .filter_map(|(lower, upper)| keyspace::bounded(&prefix, as_ref(lower), as_ref(upper)))
        .collect();
    let mut out = Vec::new();
    for mut key in storage.index_keys(&bounded)? {
        // Entry: prefix | value key | pk; the value's key part is self-delimiting.
        let mut rest = &key[prefix.len()..];
        let len = index_value_len(meta, index, &mut rest)?;
        let pk = key.split_off(prefix.len() + len);
        key.drain(..prefix.len());
        out.push((pk, key));
    }
    Ok(out)
}

/// Rows made from index entries alone (a covering scan): the indexed column and the
/// primary-key columns filled in, the others NULL (the scan does not project them).
fn covered_rows(
    meta: &TableMeta,
    index: u32,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<Rows, StorageError> {
    let corrupt = |source| StorageError::Corrupt {
        what: "index entry",
        source,
    };
    let column = meta.indexed_column(index).unwrap_or_default();
    let mut values = vec![Value::Null; meta.columns.len()];
    let mut rows = Vec::with_capacity(entries.len());
    for (pk, value) in entries {
        values[column] =
            Value::decode_key(meta.columns[column].ty, &mut value.as_slice()).map_err(corrupt)?;
        let mut rest = pk.as_slice();
        for &c in &meta.pk {
            values[c] = Value::decode_key(meta.columns[c].ty, &mut rest).map_err(corrupt)?;
        }
        let mut row = Vec::new();
        encode_values(&values, &mut row);
        rows.push((pk, row));
    }
    Ok(rows)
}

/// The length of the indexed value's key part at the front of `rest`.
fn index_value_len(meta: &TableMeta, index: u32, rest: &mut &[u8]) -> Result<usize, StorageError> {
    let column = meta.indexed_column(index).unwrap_or_default();
    let before = rest.len();
    Value::decode_key(meta.columns[column].ty, rest).map_err(|source| StorageError::Corrupt {
        what: "index entry",
        source,
    })?;
    Ok(before - rest.len())
}
