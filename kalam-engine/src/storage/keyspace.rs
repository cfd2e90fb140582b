//! How logical tables share one RocksDB keyspace.
//!
//! A row version's key is
//!
//! ```text
//! table id (u32, big-endian) | scope | primary key | !seq (u64, big-endian)
//! ```
//!
//! - `scope` is `0x00` for shared rows, and `0x01` then the owner's id (an escaped,
//!   terminated string) for a user's rows, so that one user's rows are one contiguous range
//!   that neither another user's keys nor shared keys can fall into;
//! - the primary key is the table's order-preserving key (`kalam::Table::write_key`), whose
//!   parts are self-delimiting, so that `pk | seq` never mixes two keys up;
//! - `!seq`, the sequence number of the commit that wrote the key, inverted, sorts the
//!   newest version of a row first. A writer that read a row's newest version under the
//!   table's write lock (an update, a fast-path write) overwrites it in place, so a row
//!   keeps one key; a blind write adds a newer key and deletes the one it finds.

use kalam::{str_key_len, write_str_key};

/// A table's number in the keyspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableNumber(pub u32);

/// Whose rows: everyone's (a SHARED table) or one user's (a USER table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    /// One set of rows for everybody.
    Shared,
    /// The rows of this user only.
    User(&'a str),
}

/// Length of the version suffix.
pub(crate) const SEQ_LEN: usize = 8;

/// The scope tag of shared rows.
const SHARED: u8 = 0x00;
/// The scope tag of a user's rows.
const USER: u8 = 0x01;

/// The prefix of every key of `table` in `scope`.
#[must_use]
pub(crate) fn scope_prefix(table: TableNumber, scope: Scope<'_>) -> Vec<u8> {
    let mut key = Vec::with_capacity(scope_prefix_len(scope));
    push_scope_prefix(table, scope, &mut key);
    key
}

/// The length of a scope prefix.
fn scope_prefix_len(scope: Scope<'_>) -> usize {
    let user_len = match scope {
        Scope::Shared => 0,
        Scope::User(user) => str_key_len(user),
    };
    4 + 1 + user_len
}

/// Appends the scope prefix of `table` to `key`.
fn push_scope_prefix(table: TableNumber, scope: Scope<'_>, key: &mut Vec<u8>) {
    key.extend_from_slice(&table.0.to_be_bytes());
    match scope {
        Scope::Shared => key.push(SHARED),
        Scope::User(user) => {
            key.push(USER);
            write_str_key(user, key);
        }
    }
}

/// The prefix of the entries of secondary index `index` of `table` in `scope`, in the
/// `index` family: `table | index (u32, big-endian) | scope`, then each entry's indexed
/// value (as a key part) and the row's primary key.
#[must_use]
pub(crate) fn index_prefix(table: TableNumber, index: u32, scope: Scope<'_>) -> Vec<u8> {
    let scoped = scope_prefix(table, scope);
    let mut key = Vec::with_capacity(scoped.len() + 4);
    key.extend_from_slice(&scoped[..4]);
    key.extend_from_slice(&index.to_be_bytes());
    key.extend_from_slice(&scoped[4..]);
    key
}

/// The prefix of every version of one row: the scope prefix and the primary key.
#[must_use]
pub(crate) fn row_prefix(table: TableNumber, scope: Scope<'_>, pk: &[u8]) -> Vec<u8> {
    // Room for a version's suffix too: one allocation a key.
    let mut key = Vec::with_capacity(scope_prefix_len(scope) + pk.len() + SEQ_LEN);
    push_scope_prefix(table, scope, &mut key);
    key.extend_from_slice(pk);
    key
}

/// Appends the key of one version of a row to `key`.
pub(crate) fn push_version_key(row_prefix: &[u8], seq: u64, key: &mut Vec<u8>) {
    key.extend_from_slice(row_prefix);
    key.extend_from_slice(&(!seq).to_be_bytes());
}

/// Whether `key` is the key of a version of the row whose prefix is `row_prefix` (and not
/// of a row whose key merely starts with the same bytes).
#[must_use]
pub(crate) fn is_version_of(key: &[u8], row_prefix: &[u8]) -> bool {
    key.len() == row_prefix.len() + SEQ_LEN && key.starts_with(row_prefix)
}

/// Splits a version key into its row prefix and sequence number.
#[must_use]
pub(crate) fn split_version(key: &[u8]) -> Option<(&[u8], u64)> {
    let at = key.len().checked_sub(SEQ_LEN)?;
    let (prefix, seq) = key.split_at(at);
    Some((prefix, !u64::from_be_bytes(seq.try_into().ok()?)))
}

/// The keys under `prefix` from `lower` to `upper`, as a key to seek to and an exclusive
/// end (`None`: to the end of the keyspace), or `None` when the range is empty. Bounds are
/// prefixes of what follows `prefix`: `Included(p)` takes every key that continues with
/// `p`, `Excluded(p)` none of them.
#[must_use]
pub(crate) fn bounded(
    prefix: &[u8],
    lower: std::ops::Bound<&[u8]>,
    upper: std::ops::Bound<&[u8]>,
) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    use std::ops::Bound;
    let with = |part: &[u8]| [prefix, part].concat();
    let start = match lower {
        Bound::Unbounded => prefix.to_vec(),
        Bound::Included(part) => with(part),
        Bound::Excluded(part) => prefix_end(&with(part))?,
    };
    let end = match upper {
        Bound::Unbounded => prefix_end(prefix),
        Bound::Included(part) => prefix_end(&with(part)),
        Bound::Excluded(part) => Some(with(part)),
    };
    match end {
        Some(end) if end <= start => None,
        end => Some((start, end)),
    }
}

/// Key ranges as [`bounded`] makes them, sorted and with overlapping or touching ones
/// merged: each key lies in at most one.
#[must_use]
pub(crate) fn disjoint(ranges: &[(Vec<u8>, Option<Vec<u8>>)]) -> Vec<(&[u8], Option<&[u8]>)> {
    let mut sorted: Vec<(&[u8], Option<&[u8]>)> = ranges
        .iter()
        .map(|(lower, upper)| (lower.as_slice(), upper.as_deref()))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(&[u8], Option<&[u8]>)> = Vec::with_capacity(sorted.len());
    for (lower, upper) in sorted {
        match out.last_mut() {
            // Reaches this one: the end is the later of the two (`None` is the end of all).
            Some((_, end)) if end.is_none_or(|end| lower <= end) => {
                *end = end.zip(upper).map(|(a, b)| a.max(b));
            }
            _ => out.push((lower, upper)),
        }
    }
    out
}

/// Sorts `keys` ascending, as `sort_unstable` does. Keys all of one width of at most eight
/// bytes (a BIGINT or INT primary key, encoded) are sorted as the big-endian integers they
/// spell, which order as their bytes do: the sort compares numbers held side by side
/// instead of following each key to its bytes, and a read of ten thousand rows through an
/// index spent a tenth of its time in the slower sort.
pub(crate) fn sort_keys(keys: &mut Vec<Vec<u8>>) {
    let width = keys.first().map_or(0, Vec::len);
    if width > 8 || keys.iter().any(|key| key.len() != width) {
        keys.sort_unstable();
        return;
    }
    let mut numbered: Vec<(u64, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let mut bytes = [0; 8];
            bytes[..width].copy_from_slice(key);
            (u64::from_be_bytes(bytes), i)
        })
        .collect();
    numbered.sort_unstable();
    let mut unsorted = std::mem::take(keys);
    keys.extend(
        numbered
            .iter()
            .map(|&(_, i)| std::mem::take(&mut unsorted[i])),
    );
}

/// The smallest key greater than every key that starts with `prefix`, if there is one.
#[must_use]
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The key of one version of a row.
    fn version_key(row_prefix: &[u8], seq: u64) -> Vec<u8> {
        let mut key = Vec::new();
        push_version_key(row_prefix, seq, &mut key);
        key
    }

    proptest! {
        #[test]
        fn keys_sort_as_their_bytes_do(
            width in 0usize..=10,
            keys in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=10), 0..64),
            mixed in any::<bool>(),
        ) {
            // Keys of one width (the integer sort), or of the widths drawn (the bytes').
            let mut keys: Vec<Vec<u8>> = keys
                .into_iter()
                .map(|mut key| {
                    if !mixed {
                        key.resize(width, 0x5A);
                    }
                    key
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_keys(&mut keys);
            prop_assert_eq!(keys, expected);
        }
    }

    #[test]
    fn disjoint_ranges_cover_the_same_keys_once() {
        let range =
            |lower: &[u8], upper: Option<&[u8]>| (lower.to_vec(), upper.map(<[u8]>::to_vec));
        let ranges = [
            range(b"m", Some(b"p")),
            range(b"a", Some(b"c")),
            range(b"b", Some(b"d")),
            range(b"d", Some(b"e")),
            range(b"n", Some(b"o")),
            range(b"x", None),
            range(b"y", Some(b"z")),
        ];
        let expected: [(&[u8], Option<&[u8]>); 3] =
            [(b"a", Some(b"e")), (b"m", Some(b"p")), (b"x", None)];
        assert_eq!(disjoint(&ranges), expected);
        // Every key in some range is in exactly one of the result.
        let merged = disjoint(&ranges);
        for key in [
            &b"a"[..],
            b"bb",
            b"c",
            b"d",
            b"dz",
            b"e",
            b"mm",
            b"o",
            b"q",
            b"x",
            b"zz",
        ] {
            let inside = |(lower, upper): (&[u8], Option<&[u8]>)| {
                key >= lower && upper.is_none_or(|upper| key < upper)
            };
            let before = ranges
                .iter()
                .any(|(l, u)| inside((l.as_slice(), u.as_deref())));
            let after = merged.iter().filter(|r| inside(**r)).count();
            assert_eq!(usize::from(before), after, "{key:?}");
        }
    }

    #[test]
    fn newer_versions_sort_first_and_users_never_overlap() {
        let row = row_prefix(TableNumber(7), Scope::User("alice"), &[1, 2]);
        assert!(version_key(&row, 9) < version_key(&row, 3));
        assert_eq!(split_version(&version_key(&row, 9)), Some((&row[..], 9)));
        assert!(is_version_of(&version_key(&row, 9), &row));
        // A longer key that starts with the same bytes is another row's.
        let longer = row_prefix(TableNumber(7), Scope::User("alice"), &[1, 2, 3]);
        assert!(!is_version_of(&version_key(&longer, 9), &row));
        // "al" is a prefix of "alice" as text, but not as a scope.
        let al = scope_prefix(TableNumber(7), Scope::User("al"));
        assert!(!row.starts_with(&al));
        assert!(
            scope_prefix(TableNumber(7), Scope::Shared)
                < scope_prefix(TableNumber(8), Scope::Shared)
        );
        // Shared keys and user keys of one table never share a prefix.
        let shared = scope_prefix(TableNumber(7), Scope::Shared);
        assert!(
            !row.starts_with(&shared)
                && !shared.starts_with(&scope_prefix(TableNumber(7), Scope::User("")))
        );
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
    }
}
