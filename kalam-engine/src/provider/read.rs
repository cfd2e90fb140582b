//! Reading the rows an access path selects, in chunks.

use std::ops::Bound;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::catalog::TableMeta;
use crate::error::{Error, StorageError};
use crate::storage::{Rows, Scope, Storage, keyspace};

use super::access::{Access, KeyRange};
use crate::row::RowDecoder;
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
        // Whole rows, even when the index covers the columns (see [`covered_batch`]).
        (Access::Index { index, ranges, .. }, Cursor::Start) => {
            let pks = index_pks(storage, meta, scope, (*index, ranges))?;
            Ok((storage.get_many(meta.number, scope, &pks)?, Cursor::Done))
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

/// Calls `visit` with the value's key part and the primary key of each entry of `index`
/// whose value lies in any of `ranges`, once each, in index order.
fn index_entries(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    (index, ranges): (u32, &[KeyRange]),
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let prefix = keyspace::index_prefix(meta.number, index, scope);
    let bounded: Vec<(Vec<u8>, Option<Vec<u8>>)> = ranges
        .iter()
        .filter_map(|(lower, upper)| keyspace::bounded(&prefix, as_ref(lower), as_ref(upper)))
        .collect();
    storage.index_keys(&bounded, |key| {
        // Entry: prefix | value key | pk; the value's key part is self-delimiting.
        let entry = &key[prefix.len()..];
        let len = index_value_len(meta, index, entry)?;
        let (value, pk) = entry.split_at(len);
        visit(value, pk)
    })
}

/// The primary keys of the rows whose values of `index` lie in any of `ranges`, sorted.
fn index_pks(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    (index, ranges): (u32, &[KeyRange]),
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut pks = Vec::new();
    index_entries(storage, meta, scope, (index, ranges), |_, pk| {
        pks.push(pk.to_vec());
        Ok(())
    })?;
    pks.sort_unstable();
    Ok(pks)
}

/// The `columns` (the indexed one and primary-key ones) of the rows whose indexed values
/// lie in any of `ranges`, read from the index entries alone: a covering scan.
pub(crate) fn covered_batch(
    storage: &Storage,
    meta: &TableMeta,
    scope: Scope<'_>,
    (index, ranges): (u32, &[KeyRange]),
    columns: &[usize],
    schema: SchemaRef,
) -> datafusion::common::Result<RecordBatch> {
    let indexed = [meta.indexed_column(index).unwrap_or_default()];
    let mut decoder = RowDecoder::new(Arc::clone(&meta.types), columns, 0);
    index_entries(storage, meta, scope, (index, ranges), |value, pk| {
        decoder
            .push_keys(&[(&indexed, value), (&meta.pk, pk)])
            .map_err(|source| StorageError::Corrupt {
                what: "index entry",
                source,
            })
    })
    .map_err(|e| Error::from(e).into_datafusion())?;
    Ok(decoder.finish(schema)?)
}

/// The length of the indexed value's key part at the front of `entry`.
fn index_value_len(meta: &TableMeta, index: u32, entry: &[u8]) -> Result<usize, StorageError> {
    let column = meta.indexed_column(index).unwrap_or_default();
    let mut rest = entry;
    Value::decode_key(meta.columns[column].ty, &mut rest).map_err(|source| {
        StorageError::Corrupt {
            what: "index entry",
            source,
        }
    })?;
    Ok(entry.len() - rest.len())
}
