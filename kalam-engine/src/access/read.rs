//! Reading the rows an access path selects, in chunks.

use std::ops::Bound;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use kalam::DecodeError;

use super::{Access, KeyRange, entry};
use crate::catalog::{Index, TableMeta};
use crate::error::{Error, StorageError};
use crate::row::{Decoder, RowDecoder};
use crate::storage::{Rows, Scope, TableNumber, View, copied, keyspace};
use crate::value::{ColumnType, Value};

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
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    access: &Access,
    cursor: Cursor,
    max: usize,
) -> Result<(Rows, Cursor), StorageError> {
    copied(|visit| visit_chunk(view, meta, scope, (access, cursor), max, visit))
}

/// [`read_chunk`], each row handed to `visit` as `(primary key, row)`, in key order,
/// instead of copied; returns where to continue. An index access reads whole rows, even
/// when the index covers the columns (see [`covered_batch`]).
pub(crate) fn visit_chunk(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (access, cursor): (&Access, Cursor),
    max: usize,
    visit: impl FnMut(&[u8], &[u8]) -> Result<(), StorageError>,
) -> Result<Cursor, StorageError> {
    let max = max.max(1);
    let table = meta.number;
    match (access, cursor) {
        (_, Cursor::Done) | (Access::Nothing, _) => Ok(Cursor::Done),
        (Access::Keys(keys), cursor) => {
            let start = match cursor {
                Cursor::At(n) => n,
                _ => 0,
            };
            let end = (start + max).min(keys.len());
            view.visit_many(table, scope, &keys[start..end], visit)?;
            Ok(if end == keys.len() {
                Cursor::Done
            } else {
                Cursor::At(end)
            })
        }
        (Access::Full, cursor) => {
            let bounds = (Bound::Unbounded, Bound::Unbounded);
            range(view, table, scope, bounds, (&cursor, max), visit)
        }
        (Access::Range { lower, upper }, cursor) => {
            let bounds = (as_ref(lower), as_ref(upper));
            range(view, table, scope, bounds, (&cursor, max), visit)
        }
        (Access::Index { index, ranges, .. }, Cursor::Start) => {
            let pks = index_pks(view, meta, scope, (*index, ranges))?;
            view.visit_many(table, scope, &pks, visit)?;
            Ok(Cursor::Done)
        }
        (Access::Ranges(ranges), Cursor::Start) => {
            // Overlapping ranges are merged: each row once, in key order.
            let bounds: Vec<_> = ranges.iter().map(|(l, u)| (as_ref(l), as_ref(u))).collect();
            view.visit_ranges(table, scope, &bounds, visit)?;
            Ok(Cursor::Done)
        }
        (Access::Index { .. } | Access::Ranges(_), _) => Ok(Cursor::Done),
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Up to `max` rows between the bounds, from `cursor` on, to `visit`; where to continue.
fn range(
    view: View<'_>,
    table: TableNumber,
    scope: Scope<'_>,
    (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
    (cursor, max): (&Cursor, usize),
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StorageError>,
) -> Result<Cursor, StorageError> {
    let lower = match cursor {
        Cursor::After(last) => Bound::Excluded(last.as_slice()),
        _ => lower,
    };
    let mut last = Vec::new();
    let count = view.visit_range(table, scope, (lower, upper), max, |pk, row| {
        last.clear();
        last.extend_from_slice(pk);
        visit(pk, row)
    })?;
    Ok(if count == max {
        Cursor::After(last)
    } else {
        Cursor::Done
    })
}

/// Calls `visit` with each entry of `index` whose value lies in any of `ranges`, once
/// each, in index order: the value's key part then the primary key (both
/// self-delimiting), without the entry's prefix.
fn index_entries(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (index, ranges): (u32, &[KeyRange]),
    mut visit: impl FnMut(&[u8]) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let prefix = keyspace::index_prefix(meta.number, index, scope);
    // Every range one value of all the index's parts: lookups, which a cache can answer.
    if let Some((bytes, ends)) = lookups(meta, index_of(meta, index)?, &prefix, ranges) {
        let lookups = ends
            .iter()
            .scan(0, |start, &end| {
                Some(&bytes[std::mem::replace(start, end)..end])
            })
            .collect();
        return view.index_lookups(lookups, |key| visit(&key[prefix.len()..]));
    }
    let bounded: Vec<(Vec<u8>, Option<Vec<u8>>)> = ranges
        .iter()
        .filter_map(|(lower, upper)| keyspace::bounded(&prefix, as_ref(lower), as_ref(upper)))
        .collect();
    view.index_keys(&bounded, |key| visit(&key[prefix.len()..]))
}

/// The most values of an integer range read as lookups of each (see [`lookups`]).
const EXPANDED: i64 = 16;

/// The lookups (`prefix` and the values) of `ranges` over `index`, if each range is one
/// value of all the index's parts, or a few values of an index of one ascending integer
/// column (`k BETWEEN 5 AND 9`): each of them a lookup. A lookup whose values a recent
/// read looked up is answered from the index cache; the others are read as the range
/// would be, the lookups next to each other without a seek between them.
///
/// The lookups are written one after the other in one buffer (a range of a few values is
/// as many lookups, each a few bytes): the buffer, and where each lookup ends in it.
fn lookups(
    meta: &TableMeta,
    index: &Index,
    prefix: &[u8],
    ranges: &[KeyRange],
) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut bytes = Vec::new();
    let mut ends = Vec::with_capacity(ranges.len());
    for range in ranges {
        match range {
            (Bound::Included(low), Bound::Included(high))
                if low == high
                    && entry::parts_len(&meta.types, index, low).ok() == Some(low.len()) =>
            {
                bytes.extend_from_slice(prefix);
                bytes.extend_from_slice(low);
                ends.push(bytes.len());
            }
            _ => {
                let ty = integer_column(meta, index)?;
                let (low, high) = integer_bounds(ty, range)?;
                if high.checked_sub(low).is_none_or(|span| span >= EXPANDED) {
                    return None;
                }
                for value in low..=high {
                    bytes.extend_from_slice(prefix);
                    match ty {
                        ColumnType::Int32 => Value::Int32(i32::try_from(value).ok()?),
                        _ => Value::Int64(value),
                    }
                    .write_key(&mut bytes);
                    ends.push(bytes.len());
                }
            }
        }
    }
    Some((bytes, ends))
}

/// The type of `index`'s one column, if it is an ascending index of one integer column.
fn integer_column(meta: &TableMeta, index: &Index) -> Option<ColumnType> {
    let [part] = index.parts.as_slice() else {
        return None;
    };
    let ty = meta.types[part.column];
    (!part.descending && matches!(ty, ColumnType::Int32 | ColumnType::Int64)).then_some(ty)
}

/// The first and last values of a range of an integer column of type `ty`, if it is
/// bounded on both sides by whole values; `low > high` if it holds none.
fn integer_bounds(ty: ColumnType, (lower, upper): &KeyRange) -> Option<(i64, i64)> {
    let value = |bytes: &[u8]| -> Option<i64> {
        let mut input = bytes;
        let value = match Value::decode_key(ty, &mut input).ok()? {
            Value::Int32(v) => i64::from(v),
            Value::Int64(v) => v,
            _ => return None,
        };
        input.is_empty().then_some(value)
    };
    let low = match lower {
        Bound::Included(bytes) => value(bytes)?,
        Bound::Excluded(bytes) => value(bytes)?.checked_add(1)?,
        Bound::Unbounded => return None,
    };
    let high = match upper {
        Bound::Included(bytes) => value(bytes)?,
        Bound::Excluded(bytes) => value(bytes)?.checked_sub(1)?,
        Bound::Unbounded => return None,
    };
    Some((low, high))
}

/// The index numbered `number`, which the path chosen on `meta` reads.
fn index_of(meta: &TableMeta, number: u32) -> Result<&Index, StorageError> {
    meta.index(number).ok_or_else(|| {
        StorageError::corrupt_index_entry(DecodeError::Invalid(format!(
            "`{}` has no index numbered {number}",
            meta.id
        )))
    })
}

/// The primary keys of the rows whose entries of `index` lie in any of `ranges`, sorted.
fn index_pks(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (number, ranges): (u32, &[KeyRange]),
) -> Result<Vec<Vec<u8>>, StorageError> {
    let index = index_of(meta, number)?;
    let mut pks = Vec::new();
    index_entries(view, meta, scope, (number, ranges), |entry| {
        let len = entry::parts_len(&meta.types, index, entry)
            .map_err(StorageError::corrupt_index_entry)?;
        pks.push(entry[len..].to_vec());
        Ok(())
    })?;
    keyspace::sort_keys(&mut pks);
    Ok(pks)
}

/// The `columns` (indexed ones and primary-key ones) of the rows whose entries of `index`
/// lie in any of `ranges`, read from the entries alone: a covering scan.
pub(crate) fn covered_batch(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (number, ranges): (u32, &[KeyRange]),
    columns: &[usize],
    schema: SchemaRef,
) -> datafusion::common::Result<RecordBatch> {
    let fail = |e: StorageError| Error::from(e).into_datafusion();
    let index = index_of(meta, number).map_err(fail)?;
    let mut decoder = RowDecoder::new(Arc::clone(&meta.layout), columns, 0);
    let mut values = Vec::with_capacity(index.parts.len() + meta.pk.len());
    // A key column the index holds too is pushed once, from the index's part.
    let pushed: Vec<bool> = meta.pk.iter().map(|&c| !index.holds(c)).collect();
    index_entries(view, meta, scope, (number, ranges), |entry| {
        let mut read = || -> Result<(), DecodeError> {
            // The parts' values, then the primary-key columns'.
            values.clear();
            let len = entry::push_parts(&meta.types, index, entry, &mut values)?;
            key_values(meta, &entry[len..], &pushed, &mut values)?;
            decoder.push_values(&values)
        };
        read().map_err(StorageError::corrupt_index_entry)
    })
    .map_err(fail)?;
    Ok(decoder.finish(schema)?)
}

/// How many entries of `index` lie in any of `ranges`: the rows a covering read of them
/// would decode (each once), counted without decoding them.
pub(crate) fn count_entries(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (number, ranges): (u32, &[KeyRange]),
) -> Result<usize, StorageError> {
    let mut entries = 0;
    index_entries(view, meta, scope, (number, ranges), |_| {
        entries += 1;
        Ok(())
    })?;
    Ok(entries)
}

/// Up to `max` rows of `access` from `cursor` on, as [`visit_chunk`] reads them, as a batch
/// of `columns`, all of them primary-key columns: decoded from the rows' keys, their
/// stored values left undecoded (a scan for a join on the key, or a count). Returns the
/// batch and where to continue.
pub(crate) fn keys_chunk(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    (access, cursor): (&Access, Cursor),
    (max, columns): (usize, &[usize]),
    schema: SchemaRef,
) -> datafusion::common::Result<(RecordBatch, Cursor)> {
    let mut decoder = RowDecoder::new(Arc::clone(&meta.layout), columns, max.min(256));
    let mut values = Vec::with_capacity(columns.len());
    let wanted: Vec<bool> = meta.pk.iter().map(|c| columns.contains(c)).collect();
    let cursor = visit_chunk(view, meta, scope, (access, cursor), max, |pk, _| {
        let mut read = || -> Result<(), DecodeError> {
            values.clear();
            key_values(meta, pk, &wanted, &mut values)?;
            decoder.push_values(&values)
        };
        read().map_err(StorageError::corrupt_row)
    })
    .map_err(|e| Error::from(e).into_datafusion())?;
    Ok((decoder.finish(schema)?, cursor))
}

/// Decodes the primary-key columns of `pk` (a row's primary key) and pushes to `values`
/// those `wanted` marks (one flag per key column), with their column numbers.
fn key_values(
    meta: &TableMeta,
    mut pk: &[u8],
    wanted: &[bool],
    values: &mut Vec<(usize, Value)>,
) -> Result<(), DecodeError> {
    for (&column, &want) in meta.pk.iter().zip(wanted) {
        let value = Value::decode_key(meta.types[column], &mut pk)?;
        if want {
            values.push((column, value));
        }
    }
    Ok(())
}

/// Decodes stored rows into a batch of the `projection` columns.
pub(crate) fn decode_batch(
    meta: &TableMeta,
    projection: &[usize],
    schema: SchemaRef,
    rows: &[(Vec<u8>, Vec<u8>)],
) -> datafusion::common::Result<RecordBatch> {
    let mut decoder = Decoder::new(meta, projection, rows.len());
    for (_, row) in rows {
        decoder
            .push(row)
            .map_err(|source| Error::from(StorageError::corrupt_row(source)).into_datafusion())?;
    }
    Ok(decoder.finish(schema)?)
}
