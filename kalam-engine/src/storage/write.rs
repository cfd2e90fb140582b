//! Writes: a set of row versions, index entries and catalog rows, committed atomically
//! under one sequence number.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use foldhash::fast::RandomState;
use rocksdb::WriteOptions;

use super::flush::Hidden;
use super::keyspace::{self, Scope, TableNumber};
use super::read::{ENTRY_LEN, cached_entries, push_entry};
use super::snapshot::Overlay;
use super::{CF_META, Durability, SEQ_KEY, Storage, TAG_DELETED, TAG_ROW, family};
use crate::error::StorageError;

impl Storage {
    /// Commits `set` atomically, every row version with one new sequence number, which it
    /// returns.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to write; then nothing of the set is written.
    pub fn write(&self, set: &WriteSet) -> Result<u64, StorageError> {
        let seq = self.seq.fetch_add(1, Ordering::AcqRel) + 1;
        self.commit(set, seq)?;
        Ok(seq)
    }

    /// Commits a transaction's writes: every row it wrote must still be as its snapshot
    /// had it, and every unique value it claims still free; then all of them go in one
    /// atomic write, under one new sequence number, which it returns. The caller holds the
    /// write lock of every table the overlay writes, so that nothing changes between the
    /// checks and the write.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read or write; then nothing is written. A failed check is
    /// `Ok(Err(conflict))`, and nothing is written either.
    pub(crate) fn commit_overlay(
        &self,
        overlay: Overlay,
    ) -> Result<Result<u64, Conflict>, StorageError> {
        let now = self.now();
        let mut set = WriteSet::new();
        for (prefix, pending) in overlay.rows {
            let current = now.newest_at(&prefix)?;
            if current.as_ref().and_then(|v| v.row.as_ref()) != pending.base.as_ref() {
                return Ok(Err(Conflict::Row(table_of(&prefix))));
            }
            // A row it wrote and deleted again, which never was: nothing to write.
            if pending.row.is_none() && current.is_none() {
                continue;
            }
            let supersedes = current.map_or(Supersedes::Nothing, |v| Supersedes::Version(v.key));
            set.ops.push(Op::Row {
                key: prefix,
                row: pending.row,
                supersedes,
            });
        }
        for (prefix, pk) in &overlay.claims {
            // A claim whose row the transaction moved or deleted later claims nothing.
            let entry = [prefix.as_slice(), pk].concat();
            if overlay.index.get(&entry).is_none_or(|staged| !staged.there) {
                continue;
            }
            let mut taken = false;
            now.index_lookups::<StorageError>(vec![prefix.as_slice()], |key| {
                // Another row's entry, unless the transaction removes it.
                taken |= key != entry.as_slice()
                    && overlay.index.get(key).is_none_or(|staged| staged.there);
                Ok(())
            })?;
            if taken {
                return Ok(Err(Conflict::Unique(table_of(prefix))));
            }
        }
        for (key, staged) in overlay.index {
            let value = staged.there.then(Vec::new);
            set.ops.push(Op::Index {
                key,
                value,
                lookup: staged.lookup,
            });
        }
        for (key, value) in overlay.catalog {
            set.ops.push(Op::Catalog { key, value });
        }
        self.write(&set).map(Ok)
    }

    /// Writes `set` under `seq`. Writers of different tables commit in any order, so the
    /// stored sequence number is merged, never put: the meta family keeps the highest one
    /// any commit wrote (see [`max_seq`](super::max_seq)), and reopening never goes back.
    pub(super) fn commit(&self, set: &WriteSet, seq: u64) -> Result<(), StorageError> {
        // Sized at once: a batch grown by doubling copies itself a dozen times for a
        // bulk INSERT's hundred rows.
        let mut batch = rocksdb::WriteBatch::with_capacity_bytes(set.batch_bytes());
        let hidden = set.fill(&mut batch, seq, self)?;
        batch.merge_cf(family(&self.db, CF_META)?, SEQ_KEY, seq.to_be_bytes());
        let mut options = WriteOptions::default();
        options.set_sync(self.durability == Durability::Machine);
        let writing = self.cache.writing(set.row_prefixes(), set.drops_rows());
        // A set of a few index entries, each of a known lookup, keeps the lookups it
        // changes, as written; other sets drop them.
        let drops_lookups = set.drops_lookups();
        let keeps_lookups = !drops_lookups && set.index_lookups().nth(KEPT_LOOKUPS).is_none();
        let looked_up = if keeps_lookups {
            self.index_cache.writing_taken(set.index_lookups())
        } else {
            self.index_cache.writing(set.index_lookups(), drops_lookups)
        };
        let written = self.db.write_opt(batch, &options);
        // A row rewritten alone (an update or delete by key) is kept in the row cache as
        // written: the next statement on it reads it there, not from RocksDB.
        match (&written, set.rewritten_row()) {
            (Ok(()), Some(Rewritten { prefix, seq, row })) => {
                let tag = [if row.is_some() { TAG_ROW } else { TAG_DELETED }];
                writing.written(prefix, &[seq, &tag, row.unwrap_or_default()]);
            }
            _ => drop(writing),
        }
        // So are the index lookups a small set changes, each with its entries as written.
        if written.is_ok() && keeps_lookups {
            looked_up.rewritten(|lookup, entries| set.lookup_written(lookup, entries));
        } else {
            drop(looked_up);
        }
        written?;
        self.hid(hidden);
        Ok(())
    }
}

pub(super) enum Op {
    Row {
        key: Vec<u8>,
        row: Option<Vec<u8>>,
        supersedes: Supersedes,
    },
    Index {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        /// The length of the key's index prefix and values: what a lookup of the values
        /// reads (see [`WriteSet::put_index_entry`]); `None` if not known.
        lookup: Option<usize>,
    },
    Catalog {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    /// A unique index's value claimed by a row (the entry's prefix up to the primary key,
    /// and the key): nothing to write; a transaction's commit checks it is still free.
    Claim {
        prefix: Vec<u8>,
        pk: Vec<u8>,
    },
    DropTable(TableNumber),
    DropIndex(TableNumber, u32),
}

/// The most index entries a set writes for the index cache to keep the lookups it changes
/// (see [`WriteSet::lookup_written`]): a few rows' worth.
pub(super) const KEPT_LOOKUPS: usize = 8;

/// A row a set rewrites alone (see [`WriteSet::rewritten_row`]).
struct Rewritten<'a> {
    /// The row's prefix.
    prefix: &'a [u8],
    /// The suffix of the key the version keeps: the key of the version it replaces.
    seq: &'a [u8],
    /// The new row; `None`: deleted.
    row: Option<&'a [u8]>,
}

/// Why a transaction's commit wrote nothing: another writer committed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// A row the transaction wrote changed since its snapshot; in this table.
    Row(TableNumber),
    /// Another row took values of a unique index the transaction's rows claim; in this
    /// table.
    Unique(TableNumber),
}

/// The table of a row prefix or index key.
fn table_of(key: &[u8]) -> TableNumber {
    TableNumber(
        key.get(..4)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or_default())),
    )
}

/// The stored version a new row version replaces, as far as its writer knows.
#[derive(Debug)]
pub(crate) enum Supersedes {
    /// Not known: the commit looks it up.
    Unknown,
    /// The row has no version yet.
    Nothing,
    /// This version (its full key), read by the writer under the table's write lock: the
    /// new one takes its key.
    Version(Vec<u8>),
}

/// Row versions and index entries to commit together: all or none of them.
#[derive(Default)]
pub struct WriteSet {
    ops: Vec<Op>,
    /// Whether its writer checked that no two of its rows have the same key.
    distinct_rows: bool,
}

impl std::fmt::Debug for WriteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteSet")
            .field("ops", &self.ops.len())
            .finish()
    }
}

impl WriteSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// About the size of the RocksDB batch [`fill`](Self::fill) makes of the set (and the
    /// commit's sequence number): each record's key and value, and at most 16 bytes of
    /// framing (its type, family and two lengths), a row's possible deletion of the
    /// version it supersedes included.
    fn batch_bytes(&self) -> usize {
        const HEADER: usize = 12;
        const FRAMING: usize = 16;
        let records: usize = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Row { key, row, .. } => {
                    let version = key.len() + keyspace::SEQ_LEN + FRAMING;
                    2 * version + 1 + row.as_ref().map_or(0, Vec::len)
                }
                Op::Index { key, value, .. } | Op::Catalog { key, value } => {
                    key.len() + value.as_ref().map_or(0, Vec::len) + FRAMING
                }
                Op::Claim { .. } => 0,
                Op::DropTable(_) | Op::DropIndex(..) => 4 * FRAMING,
            })
            .sum();
        HEADER + records + SEQ_KEY.len() + 8 + FRAMING
    }

    /// Says that no two rows the set writes have the same key (an INSERT's, which checks
    /// that itself): the commit then keeps no set of the keys it wrote.
    pub(crate) fn distinct_rows(&mut self) {
        self.distinct_rows = true;
    }

    /// Writes a new version of row `pk`.
    pub fn put_row(&mut self, table: TableNumber, scope: Scope<'_>, pk: &[u8], row: Vec<u8>) {
        self.replace_row(table, scope, pk, Some(row), Supersedes::Unknown);
    }

    /// Deletes row `pk`: a new version that hides the older ones.
    pub fn delete_row(&mut self, table: TableNumber, scope: Scope<'_>, pk: &[u8]) {
        self.replace_row(table, scope, pk, None, Supersedes::Unknown);
    }

    /// Writes a new version of row `pk` (`None`: a deletion) over the one it `supersedes`,
    /// which goes.
    pub(crate) fn replace_row(
        &mut self,
        table: TableNumber,
        scope: Scope<'_>,
        pk: &[u8],
        row: Option<Vec<u8>>,
        supersedes: Supersedes,
    ) {
        let key = keyspace::row_prefix(table, scope, pk);
        self.ops.push(Op::Row {
            key,
            row,
            supersedes,
        });
    }

    /// Sets a secondary-index entry. Its commit empties the cache of index lookups; the
    /// engine's own entries say what they hold ([`put_index_entry`](Self::put_index_entry)).
    pub fn put_index(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::Index {
            key,
            value: Some(value),
            lookup: None,
        });
    }

    /// Removes a secondary-index entry, as [`put_index`](Self::put_index) sets one.
    pub fn delete_index(&mut self, key: Vec<u8>) {
        self.ops.push(Op::Index {
            key,
            value: None,
            lookup: None,
        });
    }

    /// Sets a secondary-index entry, without a value, whose first `lookup` bytes are its
    /// index's prefix and the values of all the index's parts (the rest, the row's primary
    /// key): its commit drops only the cached lookup of those values.
    pub(crate) fn put_index_entry(&mut self, key: Vec<u8>, lookup: usize) {
        self.ops.push(Op::Index {
            key,
            value: Some(Vec::new()),
            lookup: Some(lookup),
        });
    }

    /// Removes a secondary-index entry, as [`put_index_entry`](Self::put_index_entry) sets
    /// one.
    pub(crate) fn delete_index_entry(&mut self, key: Vec<u8>, lookup: usize) {
        self.ops.push(Op::Index {
            key,
            value: None,
            lookup: Some(lookup),
        });
    }

    /// Sets a system-table row (catalog family).
    pub fn put_catalog(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::Catalog {
            key,
            value: Some(value),
        });
    }

    /// Removes a system-table row.
    pub fn delete_catalog(&mut self, key: Vec<u8>) {
        self.ops.push(Op::Catalog { key, value: None });
    }

    /// Deletes every row version and index entry of `table`.
    pub fn delete_table_data(&mut self, table: TableNumber) {
        self.ops.push(Op::DropTable(table));
    }

    /// Removes every entry of secondary index `index` of `table`, in every scope.
    pub fn delete_index_data(&mut self, table: TableNumber, index: u32) {
        self.ops.push(Op::DropIndex(table, index));
    }

    /// Records that a row with primary key `pk` holds the values of a unique index whose
    /// entries for them start with `prefix`. Nothing is written for it: a transaction's
    /// commit checks that no other row took the values since.
    pub(crate) fn claim_unique(&mut self, prefix: Vec<u8>, pk: &[u8]) {
        self.ops.push(Op::Claim {
            prefix,
            pk: pk.to_vec(),
        });
    }

    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether the set drops a table's or an index's data.
    pub(crate) fn drops_data(&self) -> bool {
        self.ops
            .iter()
            .any(|op| matches!(op, Op::DropTable(_) | Op::DropIndex(..)))
    }

    /// The prefixes of the rows the set writes.
    fn row_prefixes(&self) -> impl Iterator<Item = &[u8]> {
        self.ops.iter().filter_map(|op| match op {
            Op::Row { key, .. } => Some(key.as_slice()),
            _ => None,
        })
    }

    /// The set's one row, if it writes one row and over the version its writer read
    /// (which the new one overwrites in place).
    fn rewritten_row(&self) -> Option<Rewritten<'_>> {
        // A table's data dropped in the same set may take the row with it.
        if self.drops_data() {
            return None;
        }
        let mut rows = self.ops.iter().filter_map(|op| match op {
            Op::Row {
                key,
                row,
                supersedes,
            } => Some((key, row, supersedes)),
            _ => None,
        });
        let (key, row, Supersedes::Version(old)) = rows.next()? else {
            return None;
        };
        let seq = old
            .strip_prefix(key.as_slice())
            .filter(|seq| seq.len() == keyspace::SEQ_LEN)?;
        rows.next().is_none().then_some(Rewritten {
            prefix: key,
            seq,
            row: row.as_deref(),
        })
    }

    /// Whether the set drops a table's rows.
    fn drops_rows(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::DropTable(_)))
    }

    /// The index lookups (index prefix and values) whose entries the set writes.
    fn index_lookups(&self) -> impl Iterator<Item = &[u8]> {
        self.ops.iter().filter_map(|op| match op {
            Op::Index {
                key,
                lookup: Some(lookup),
                ..
            } => key.get(..*lookup),
            _ => None,
        })
    }

    /// Whether the set writes index entries without saying what lookup they belong to, or
    /// drops a table's or an index's data: every cached lookup may be wrong after it.
    fn drops_lookups(&self) -> bool {
        self.drops_data()
            || self.ops.iter().any(|op| match op {
                Op::Index { key, lookup, .. } => lookup.is_none_or(|lookup| lookup > key.len()),
                _ => false,
            })
    }

    /// The entries of the index lookup `lookup` once the set is written, from `entries`,
    /// those it held before, as the index cache keeps them (see `push_entry`), in key
    /// order: the set's entries under it added or removed, in its order. `None` if an
    /// entry is too long to keep.
    fn lookup_written(&self, lookup: &[u8], entries: &[u8]) -> Option<Vec<u8>> {
        let mut written = entries.to_vec();
        for op in &self.ops {
            let Op::Index {
                key,
                value,
                lookup: Some(len),
            } = op
            else {
                continue;
            };
            let Some(pk) = key.strip_prefix(lookup).filter(|_| *len == lookup.len()) else {
                continue;
            };
            // Where the entry is, or would go: the lists are short, so a walk.
            let mut at = 0;
            let mut there = false;
            for entry in cached_entries(&written) {
                match entry.cmp(pk) {
                    std::cmp::Ordering::Less => at += ENTRY_LEN + entry.len(),
                    order => {
                        there = order == std::cmp::Ordering::Equal;
                        break;
                    }
                }
            }
            match (there, value) {
                (false, Some(_)) => {
                    let mut added = Vec::with_capacity(ENTRY_LEN + pk.len());
                    if !push_entry(&mut added, pk) {
                        return None;
                    }
                    written.splice(at..at, added);
                }
                (true, None) => {
                    written.drain(at..at + ENTRY_LEN + pk.len());
                }
                _ => {}
            }
        }
        Some(written)
    }

    pub(super) fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// Adds the set to `batch` under `seq`; returns how many entries of the rows and of
    /// the index family it hides (versions overwritten or deleted, entries deleted).
    pub(super) fn fill(
        &self,
        batch: &mut rocksdb::WriteBatch,
        seq: u64,
        storage: &Storage,
    ) -> Result<Hidden, StorageError> {
        let mut hidden = Hidden::default();
        let (rows, index, catalog) = (storage.rows()?, storage.index()?, storage.catalog()?);
        let mut versions = None;
        // The rows this set has written so far, kept only when it writes more than one
        // and its writer did not check they are distinct.
        let many = !self.distinct_rows
            && self
                .ops
                .iter()
                .filter(|op| matches!(op, Op::Row { .. }))
                .count()
                > 1;
        let mut written: HashSet<&[u8], RandomState> = HashSet::default();
        // A row's value and version key are built here, then copied into the batch.
        let (mut value, mut version) = (Vec::new(), Vec::new());
        for op in &self.ops {
            match op {
                Op::Row {
                    key,
                    row,
                    supersedes,
                } => {
                    value.clear();
                    match row {
                        Some(row) => {
                            value.push(TAG_ROW);
                            value.extend_from_slice(row);
                        }
                        None => value.push(TAG_DELETED),
                    }
                    let first = !many || written.insert(key);
                    if let (Supersedes::Version(old), true) = (supersedes, first) {
                        // Read under the table's write lock, the version is the row's
                        // newest: it is overwritten in place, and scans meet one key per
                        // row instead of stepping over a deleted one per update.
                        batch.put_cf(rows, old, &value);
                        hidden.rows += 1;
                        continue;
                    }
                    // Otherwise the newest version so far goes: nothing reads a row's older
                    // versions. (A version written by a concurrent set in between stays,
                    // hidden by this one.)
                    match supersedes {
                        Supersedes::Nothing => {}
                        Supersedes::Version(old) => {
                            batch.delete_cf(rows, old);
                            hidden.rows += 1;
                        }
                        Supersedes::Unknown => {
                            let versions = versions.get_or_insert_with(|| storage.raw_rows(rows));
                            versions.seek(key);
                            if let Some(old) = versions.key()
                                && keyspace::is_version_of(old, key)
                            {
                                batch.delete_cf(rows, old);
                                hidden.rows += 1;
                            }
                            versions.status()?;
                        }
                    }
                    version.clear();
                    keyspace::push_version_key(key, seq, &mut version);
                    batch.put_cf(rows, &version, &value);
                }
                Op::Index {
                    key,
                    value: Some(value),
                    ..
                } => batch.put_cf(index, key, value),
                Op::Index {
                    key, value: None, ..
                } => {
                    batch.delete_cf(index, key);
                    hidden.index += 1;
                }
                Op::Catalog {
                    key,
                    value: Some(value),
                } => batch.put_cf(catalog, key, value),
                Op::Catalog { key, value: None } => batch.delete_cf(catalog, key),
                Op::Claim { .. } => {}
                Op::DropTable(table) => {
                    let from = table.0.to_be_bytes();
                    let to = keyspace::prefix_end(&from).unwrap_or_else(|| vec![0xFF; 5]);
                    batch.delete_range_cf(rows, &from[..], &to[..]);
                    batch.delete_range_cf(index, &from[..], &to[..]);
                }
                Op::DropIndex(table, number) => {
                    let mut from = table.0.to_be_bytes().to_vec();
                    from.extend_from_slice(&number.to_be_bytes());
                    let to = keyspace::prefix_end(&from).unwrap_or_else(|| vec![0xFF; 9]);
                    batch.delete_range_cf(index, &from[..], &to[..]);
                }
            }
        }
        Ok(hidden)
    }
}
