//! The key of a secondary-index entry after its prefix ([`index_prefix`]): each part's
//! value, in the index's order, then the row's primary key.
//!
//! - The first part is its column's key part ([`Value::write_key`]). A row whose first
//!   indexed value is NULL has no entry: every path through an index constrains its first
//!   column, which a NULL never matches.
//! - Each later part is a tag, `0x00` for NULL or `0x01` then the key part, so that the
//!   rows of `a = 1` are all found in an index on `(a, b)`, whatever their `b`.
//! - A descending part's bytes are inverted, tag included. Key parts are self-delimiting
//!   (no part's encoding is a prefix of another's), which inverting keeps, and inverting
//!   reverses their order.
//!
//! Every part is self-delimiting, so the primary key starts where the last part ends.
//!
//! [`index_prefix`]: crate::storage::keyspace::index_prefix

use kalam::DecodeError;

use crate::catalog::Index;
use crate::value::ColumnType;
use crate::value::Value;

/// The tag of a NULL in a later part.
const NULL: u8 = 0x00;
/// The tag of a value in a later part.
const PRESENT: u8 = 0x01;

fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// The bytes of part `position` of `index` for a value whose key part is `key`.
pub(crate) fn part(index: &Index, position: usize, key: &[u8]) -> Vec<u8> {
    let mut out = present(index, position);
    let start = out.len();
    out.extend_from_slice(key);
    if index.parts[position].descending {
        invert(&mut out[start..]);
    }
    out
}

/// The bytes every non-NULL value of part `position` starts with.
pub(crate) fn present(index: &Index, position: usize) -> Vec<u8> {
    match (position, index.parts[position].descending) {
        (0, _) => Vec::new(),
        (_, false) => vec![PRESENT],
        (_, true) => vec![!PRESENT],
    }
}

/// Appends the parts of the entry of a row holding `values` (all the table's columns);
/// `false`, and nothing appended, when the row has no entry (its first part is NULL).
pub(crate) fn write_parts(index: &Index, values: &[Value], out: &mut Vec<u8>) -> bool {
    if values[index.leading()] == Value::Null {
        return false;
    }
    for (position, part) in index.parts.iter().enumerate() {
        let start = out.len();
        let value = &values[part.column];
        if position > 0 {
            out.push(if *value == Value::Null { NULL } else { PRESENT });
        }
        value.write_key(out);
        if part.descending {
            invert(&mut out[start..]);
        }
    }
    true
}

/// Whether a row holding `values` has a value in every part: a unique index checks only
/// such rows.
pub(crate) fn complete(index: &Index, values: &[Value]) -> bool {
    index.parts.iter().all(|p| values[p.column] != Value::Null)
}

/// Pushes to `values` the values of `index`'s parts at the front of `entry` (an entry
/// without its prefix), each with its column's number; returns the length they take.
pub(crate) fn push_parts(
    types: &[ColumnType],
    index: &Index,
    entry: &[u8],
    values: &mut Vec<(usize, Value)>,
) -> Result<usize, DecodeError> {
    let mut columns = index.parts.iter().map(|p| p.column);
    visit_parts(types, index, entry, |value| {
        values.extend(columns.next().map(|column| (column, value)));
    })
}

/// The length `index`'s parts take at the front of `entry`: where its primary key starts.
pub(crate) fn parts_len(
    types: &[ColumnType],
    index: &Index,
    entry: &[u8],
) -> Result<usize, DecodeError> {
    visit_parts(types, index, entry, drop)
}

/// Reads each part's value at the front of `entry` into `visit`; the length they take.
fn visit_parts(
    types: &[ColumnType],
    index: &Index,
    entry: &[u8],
    mut visit: impl FnMut(Value),
) -> Result<usize, DecodeError> {
    let mut rest = entry;
    for (position, part) in index.parts.iter().enumerate() {
        let ty = types[part.column];
        let read = |input: &mut &[u8]| -> Result<Value, DecodeError> {
            if position > 0 {
                let (&tag, tail) = input.split_first().ok_or(DecodeError::Truncated {
                    needed: 1,
                    remaining: 0,
                })?;
                *input = tail;
                match tag {
                    NULL => return Ok(Value::Null),
                    PRESENT => {}
                    other => return Err(DecodeError::InvalidTag(other)),
                }
            }
            Value::decode_key(ty, input)
        };
        let value = if part.descending {
            // Reads an inverted copy: the part's length is known only once it is read.
            let flipped: Vec<u8> = rest.iter().map(|b| !b).collect();
            let mut input = flipped.as_slice();
            let value = read(&mut input)?;
            rest = &rest[flipped.len() - input.len()..];
            value
        } else {
            read(&mut rest)?
        };
        visit(value);
    }
    Ok(entry.len() - rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::IndexPart;

    fn index(parts: &[bool]) -> Index {
        Index {
            name: "i".into(),
            number: 1,
            parts: parts
                .iter()
                .enumerate()
                .map(|(column, &descending)| IndexPart { column, descending })
                .collect(),
            unique: false,
        }
    }

    fn entry(index: &Index, values: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(write_parts(index, values, &mut out));
        out
    }

    #[test]
    fn parts_sort_as_their_directions_say_with_nulls_first_when_ascending() {
        let asc_desc = index(&[false, true]);
        let row = |a: i64, b: Option<&str>| {
            entry(
                &asc_desc,
                &[Value::Int64(a), b.map_or(Value::Null, Value::from)],
            )
        };
        // `a` ascending, then `b` descending: NULL (the lowest) last.
        let sorted = [
            row(1, Some("b")),
            row(1, Some("ab")),
            row(1, Some("a")),
            row(1, Some("")),
            row(1, None),
            row(2, Some("z")),
        ];
        for pair in sorted.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        // A value's part is a prefix of its entries, and no other value's.
        let key = |v: &str| {
            let mut k = Vec::new();
            Value::from(v).write_key(&mut k);
            k
        };
        let one = {
            let mut k = Vec::new();
            Value::Int64(1).write_key(&mut k);
            k
        };
        let a = [part(&asc_desc, 0, &one), part(&asc_desc, 1, &key("a"))].concat();
        assert!(row(1, Some("a")).starts_with(&a));
        assert!(!row(1, Some("ab")).starts_with(&a));
        // Every value of `b`, and no NULL, starts with what `present` says.
        let any_b = [part(&asc_desc, 0, &one), present(&asc_desc, 1)].concat();
        assert!(row(1, Some("")).starts_with(&any_b));
        assert!(!row(1, None).starts_with(&any_b));
    }

    #[test]
    fn parts_read_back_with_their_length() {
        let types = [ColumnType::Text, ColumnType::Int64, ColumnType::Bytes];
        for directions in [
            [false, false, false],
            [true, false, true],
            [true, true, true],
        ] {
            let index = index(&directions);
            let values = [
                Value::from("x\0y"),
                Value::Null,
                Value::Bytes(vec![0, 0xFF, 1]),
            ];
            let mut bytes = entry(&index, &values);
            let len = bytes.len();
            bytes.extend_from_slice(b"pk");
            let mut read = Vec::new();
            let used = push_parts(&types, &index, &bytes, &mut read).unwrap();
            let columns: Vec<usize> = (0..values.len()).collect();
            assert_eq!(
                (read, used),
                (columns.into_iter().zip(values.clone()).collect(), len),
                "{directions:?}"
            );
        }
        assert!(!write_parts(
            &index(&[false]),
            &[Value::Null],
            &mut Vec::new()
        ));
    }
}
