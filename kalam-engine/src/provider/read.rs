//! Reading the rows an access path selects, in chunks.

use std::ops::Bound;

use crate::catalog::TableMeta;
use crate::error::StorageError;
use crate::storage::{Rows, Scope, Storage, keyspace};

use super::access::Access;

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
        (Access::IndexKeys { index, values }, Cursor::Start) => {
            let mut pks = Vec::new();
            for value in values {
                let value = Bound::Included(value.as_slice());
                pks.extend(index_pks(storage, meta, scope, *index, value, value)?);
            }
            read_keys(storage, meta, scope, pks)
        }
        (
            Access::IndexRange {
                index,
                lower,
                upper,
            },
            Cursor::Start,
        ) => {
            let pks = index_pks(storage, meta, scope, *index, as_ref(lower), as_ref(upper))?;
            read_keys(storage, meta, scope, pks)
        }
        (Access::IndexRanges { index, ranges }, Cursor::Start) => {
            let mut pks = Vec::new();
            for (lower, upper) in ranges {
                pks.extend(index_pks(
                    storage,
                    meta,
                    scope,
                    *index,
                    as_ref(lower),
                    as_ref(upper),
                )?);
            }
            read_keys(storage, meta, scope, pks)
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
        (
            Access::IndexKeys { .. }
            | Access::IndexRange { .. }
            | Access::IndexRanges { .. }
            | Access::Ranges(_),
            _,
        ) => Ok((Vec::new(), Cursor::Done)),
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

/// The primary keys of the entries of `index` whose values lie between the bounds.
fn index_pks(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    index: u32,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let prefix = keyspace::index_prefix(meta.number, index, scope);
    let Some((start, end)) = keyspace::bounded(&prefix, lower, upper) else {
        return Ok(Vec::new());
    };
    let mut pks = Vec::new();
    for key in storage.index_keys(&start, end.as_deref())? {
        // Entry: prefix | value key | pk; the value's key part is self-delimiting.
        let mut rest = &key[prefix.len()..];
        let len = index_value_len(meta, index, &mut rest)?;
        pks.push(key[prefix.len() + len..].to_vec());
    }
    Ok(pks)
}

/// Point reads of `pks`, in key order, all at once.
fn read_keys(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    mut pks: Vec<Vec<u8>>,
) -> Result<(Rows, Cursor), StorageError> {
    pks.sort_unstable();
    pks.dedup();
    read_chunk(
        storage,
        meta,
        scope,
        &Access::Keys(pks),
        Cursor::Start,
        usize::MAX,
    )
}

/// The length of the indexed value's key part at the front of `rest`.
fn index_value_len(meta: &TableMeta, index: u32, rest: &mut &[u8]) -> Result<usize, StorageError> {
    let column = meta
        .indexes
        .iter()
        .find(|i| i.number == index)
        .map(|i| i.column)
        .unwrap_or_default();
    let before = rest.len();
    crate::value::Value::decode_key(meta.columns[column].ty, rest).map_err(|source| {
        StorageError::Corrupt {
            what: "index entry",
            source,
        }
    })?;
    Ok(before - rest.len())
}
