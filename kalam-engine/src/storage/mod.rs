//! Rows on RocksDB: logical tables as key ranges, versions by sequence number, atomic
//! write sets.
//!
//! Column families:
//!
//! | family | holds |
//! | --- | --- |
//! | `rows` | every version of every row of user and shared tables (see [`keyspace`]) |
//! | `index` | secondary-index entries, written in the same batch as their rows |
//! | `catalog` | the system tables' rows |
//! | `meta` | the last sequence number |
//!
//! A version's value is a tag byte (`0` a row, `1` a deletion) and the row's bytes. Reads
//! see the newest version of each row; a deletion hides the row.

mod batch;
pub mod keyspace;

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{ColumnFamily, DB, DBRawIterator, Options, ReadOptions, WriteOptions};

pub(crate) use batch::Supersedes;
pub use batch::WriteSet;

/// A stored version of a row.
#[derive(Debug)]
pub(crate) struct Version {
    /// Its full key, sequence number included.
    pub(crate) key: Vec<u8>,
    /// The row, or `None` for a deletion.
    pub(crate) row: Option<Vec<u8>>,
}

/// `(key, value)` pairs read from a column family, in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;
pub use keyspace::{Scope, TableNumber};

use crate::error::StorageError;

const CF_ROWS: &str = "rows";
const CF_INDEX: &str = "index";
const CF_CATALOG: &str = "catalog";
const CF_META: &str = "meta";
const FAMILIES: [&str; 4] = [CF_ROWS, CF_INDEX, CF_CATALOG, CF_META];
/// The families whose keys are updated and scanned: tuned for scans over updated keys.
const SCANNED: [&str; 2] = [CF_ROWS, CF_INDEX];

const SEQ_KEY: &[u8] = b"seq";
/// Every update adds an entry to the memtable (the row's key again; an index entry's
/// deletion), and scans step over the hidden ones until a flush drops them. When a scan of
/// the rows or index family steps over this many hidden memtable entries in one seek or
/// step, or over as many as it returns on average between seeks, RocksDB flushes the
/// memtable. Flushing on what scans meet, rather than shrinking the memtable (it keeps
/// RocksDB's 64 MiB default), keeps freshly loaded rows in memory and costs writes
/// nothing. In `kalam bench` after the insert and update tests, oltp_read_write went from
/// 1.9-3.1 to 1.3-1.5 times SQLite with a 16 MiB memtable and no trigger (with 30,000
/// events per test: 1.65 to 0.99).
const SCAN_FLUSH_TRIGGERS: [(&str, &str); 2] = [
    ("memtable_op_scan_flush_trigger", "64"),
    ("memtable_avg_op_scan_flush_trigger", "1"),
];
const TAG_ROW: u8 = 0;
const TAG_DELETED: u8 = 1;

/// How far an acknowledged write is guaranteed to survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Every write goes to RocksDB's write-ahead log before it is acknowledged, without an
    /// fsync: it survives the process being killed (the log is in the OS page cache), not
    /// a power loss or kernel crash.
    #[default]
    Process,
    /// Every write is also fsynced before it is acknowledged: it survives a power loss, at
    /// the cost of a disk flush per write.
    Machine,
}

/// The engine's RocksDB database.
#[derive(Debug)]
pub struct Storage {
    db: DB,
    durability: Durability,
    /// The last sequence number handed out.
    seq: AtomicU64,
}

impl Storage {
    /// Opens (or creates) the database in `path`, with [`Durability::Process`].
    ///
    /// # Errors
    ///
    /// If RocksDB cannot open the directory (missing permissions, held by another process,
    /// corrupt), or the stored sequence number is unreadable.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens (or creates) the database in `path`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = FAMILIES.map(|name| {
            let mut family = Options::default();
            family.set_compression_type(rocksdb::DBCompressionType::Lz4);
            if SCANNED.contains(&name) {
                // Each flush is compacted at once into the sorted run below: a scan merges
                // the memtable and one run instead of up to four overlapping files, each
                // with its own copy of the rows updated since. In `kalam bench` after the
                // insert and update tests: oltp_read_write 1.28-1.40 -> 0.79-0.83 times
                // SQLite, oltp_write_only 1.0 -> 0.9 (its updates read rows too). The
                // price is write amplification: a flush rewrites the part of the run that
                // its keys overlap, all of it under random writes to a large table.
                family.set_level_zero_file_num_compaction_trigger(1);
            }
            (name, family)
        });
        let db = DB::open_cf_with_opts(&options, path, families)?;
        for name in SCANNED {
            db.set_options_cf(family(&db, name)?, &SCAN_FLUSH_TRIGGERS)?;
        }
        let seq = match db.get_cf(family(&db, CF_META)?, SEQ_KEY)? {
            None => 0,
            Some(bytes) => {
                let bytes: [u8; 8] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| StorageError::Corrupt {
                            what: "sequence number",
                            source: kalam::DecodeError::Truncated {
                                needed: 8,
                                remaining: bytes.len(),
                            },
                        })?;
                u64::from_be_bytes(bytes)
            }
        };
        Ok(Storage {
            db,
            durability,
            seq: AtomicU64::new(seq),
        })
    }

    /// The durability of writes.
    #[must_use]
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The sequence number of the last committed write set.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Commits `set` atomically, every row version with one new sequence number, which it
    /// returns.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to write; then nothing of the set is written.
    pub fn write(&self, set: &WriteSet) -> Result<u64, StorageError> {
        let seq = self.seq.fetch_add(1, Ordering::AcqRel) + 1;
        let mut batch = rocksdb::WriteBatch::default();
        set.fill(&mut batch, seq, self)?;
        batch.put_cf(family(&self.db, CF_META)?, SEQ_KEY, seq.to_be_bytes());
        let mut options = WriteOptions::default();
        options.set_sync(self.durability == Durability::Machine);
        self.db.write_opt(batch, &options)?;
        Ok(seq)
    }

    /// The newest version of the row `pk` of `table` in `scope`, unless it was deleted.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn get(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pk: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .newest(table, scope, pk)?
            .and_then(|version| version.row))
    }

    /// The newest version of the row `pk` of `table` in `scope`, live or a deletion.
    pub(crate) fn newest(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pk: &[u8],
    ) -> Result<Option<Version>, StorageError> {
        let prefix = keyspace::row_prefix(table, scope, pk);
        let mut iter = self.db.raw_iterator_cf(family(&self.db, CF_ROWS)?);
        iter.seek(&prefix);
        if let (Some(key), Some(value)) = (iter.key(), iter.value())
            && keyspace::is_version_of(key, &prefix)
        {
            return Ok(Some(Version {
                row: live(value)?.map(<[u8]>::to_vec),
                key: key.to_vec(),
            }));
        }
        iter.status()?;
        Ok(None)
    }

    /// [`get`](Self::get) of each of `pks`: the `(pk, row)` pairs of the rows that exist,
    /// in the order of `pks`. Sorted keys are read by one iterator moving forward: a key a
    /// few keys past the one before is reached by stepping, not seeking, so dense keys (an
    /// index range over much of a table) read as fast as a scan; once steps fall short
    /// twice in a row, sparse keys are only sought.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn get_many(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pks: &[Vec<u8>],
    ) -> Result<Rows, StorageError> {
        copied(|visit| self.visit_many(table, scope, pks, visit)).map(|(rows, ())| rows)
    }

    /// [`get_many`](Self::get_many), each row found handed to `visit` as `(primary key,
    /// row)` instead of copied.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub(crate) fn visit_many<E: From<StorageError>>(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pks: &[Vec<u8>],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut iter = self.db.raw_iterator_cf(family(&self.db, CF_ROWS)?);
        let mut prefix = keyspace::scope_prefix(table, scope);
        let scope_len = prefix.len();
        let mut misses = 0;
        for (i, pk) in pks.iter().enumerate() {
            prefix.truncate(scope_len);
            prefix.extend_from_slice(pk);
            // Stepping only goes forward: a key before the last one is sought.
            let stepped =
                i > 0 && misses < MISSES && pks[i - 1] < *pk && step_to(&mut iter, &prefix);
            if stepped {
                misses = 0;
            } else {
                misses += usize::from(i > 0);
                iter.seek(&prefix);
            }
            if let (Some(key), Some(value)) = (iter.key(), iter.value())
                && keyspace::is_version_of(key, &prefix)
                && let Some(row) = live(value)?
            {
                visit(pk, row)?;
            }
        }
        iter.status().map_err(StorageError::from)?;
        Ok(())
    }

    /// The newest live version of every row of `table` in `scope` whose primary key starts
    /// with `pk_prefix` (all of them for an empty prefix), in key order.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read; the iterator reports it as its last item.
    pub fn scan(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pk_prefix: &[u8],
    ) -> Result<RowIter<'_>, StorageError> {
        let scope_len = keyspace::scope_prefix(table, scope).len();
        let prefix = keyspace::row_prefix(table, scope, pk_prefix);
        let mut options = ReadOptions::default();
        if let Some(end) = keyspace::prefix_end(&prefix) {
            options.set_iterate_upper_bound(end);
        }
        let mut iter = self
            .db
            .raw_iterator_cf_opt(family(&self.db, CF_ROWS)?, options);
        iter.seek(&prefix);
        Ok(RowIter {
            iter,
            prefix,
            scope_len,
            last_row: Vec::new(),
            advance: false,
            done: false,
        })
    }

    /// The newest live version of every row of `table` in `scope` whose primary key lies
    /// between `lower` and `upper`, in key order, at most `max` of them. Bounds are key
    /// prefixes: `Included(p)` takes every key that starts with `p`, `Excluded(p)` none of
    /// them, so a bound on the first columns of a composite key works as one would expect.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn scan_range(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        max: usize,
    ) -> Result<Rows, StorageError> {
        copied(|visit| self.visit_range(table, scope, (lower, upper), max, visit))
            .map(|(rows, _)| rows)
    }

    /// [`scan_range`](Self::scan_range), each row handed to `visit` as `(primary key,
    /// row)` instead of copied; returns how many rows it visited.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub(crate) fn visit_range<E: From<StorageError>>(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        (lower, upper): KeyBounds<'_>,
        max: usize,
        visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let scope_prefix = keyspace::scope_prefix(table, scope);
        let Some((start, end)) = keyspace::bounded(&scope_prefix, lower, upper) else {
            return Ok(0);
        };
        self.visit_bounded(scope_prefix, (&start, end), max, visit)
    }

    /// [`visit_range`](Self::visit_range) over several ranges, which may overlap: each
    /// row once, in key order.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub(crate) fn visit_ranges<E: From<StorageError>>(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        ranges: &[KeyBounds<'_>],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let scope_prefix = keyspace::scope_prefix(table, scope);
        let bounded: Vec<_> = ranges
            .iter()
            .filter_map(|&(lower, upper)| keyspace::bounded(&scope_prefix, lower, upper))
            .collect();
        for (start, end) in keyspace::disjoint(&bounded) {
            let end = end.map(<[u8]>::to_vec);
            self.visit_bounded(scope_prefix.clone(), (start, end), usize::MAX, &mut visit)?;
        }
        Ok(())
    }

    /// Up to `max` rows of the scope whose prefix is `scope_prefix`, from the key `start`
    /// to the key `end` (exclusive; the end of the family if `None`), to `visit`; returns
    /// how many it visited.
    fn visit_bounded<E: From<StorageError>>(
        &self,
        scope_prefix: Vec<u8>,
        (start, end): (&[u8], Option<Vec<u8>>),
        max: usize,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut options = ReadOptions::default();
        if let Some(end) = end {
            options.set_iterate_upper_bound(end);
        }
        let mut iter = self
            .db
            .raw_iterator_cf_opt(family(&self.db, CF_ROWS)?, options);
        iter.seek(start);
        let mut rows = RowIter {
            iter,
            scope_len: scope_prefix.len(),
            prefix: scope_prefix,
            last_row: Vec::new(),
            advance: false,
            done: false,
        };
        let mut count = 0;
        while count < max {
            let Some(row) = rows.next_row() else { break };
            let (pk, row) = row?;
            visit(pk, row)?;
            count += 1;
        }
        Ok(count)
    }

    /// Calls `visit` with the key of each secondary-index entry in any of `ranges` (each
    /// from its lower key, inclusive, to its upper one, exclusive, or to the end of the
    /// family), once, in key order, through one iterator.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub fn index_keys<E: From<StorageError>>(
        &self,
        ranges: &[(Vec<u8>, Option<Vec<u8>>)],
        mut visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let ranges = keyspace::disjoint(ranges);
        let mut options = ReadOptions::default();
        // The iterator stops at the last end instead of stepping over deleted entries to
        // the next live one.
        let last_end = ranges
            .iter()
            .map(|(_, upper)| upper.as_ref())
            .collect::<Option<Vec<_>>>()
            .and_then(|ends| ends.into_iter().max().cloned());
        if let Some(end) = last_end {
            options.set_iterate_upper_bound(end);
        }
        let mut iter = self
            .db
            .raw_iterator_cf_opt(family(&self.db, CF_INDEX)?, options);
        for (lower, upper) in ranges {
            iter.seek(lower);
            while let Some(key) = iter.key() {
                if upper.is_some_and(|upper| key >= upper) {
                    break;
                }
                visit(key)?;
                iter.next();
            }
            iter.status().map_err(StorageError::from)?;
        }
        Ok(())
    }

    /// The system-table rows whose keys start with `prefix`, in key order.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn catalog_rows(&self, prefix: &[u8]) -> Result<Rows, StorageError> {
        let end = keyspace::prefix_end(prefix);
        self.range_of(CF_CATALOG, prefix, end.as_deref())
    }

    /// The largest catalog key that starts with `prefix`.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn last_catalog_key(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let mut iter = self.db.raw_iterator_cf(family(&self.db, CF_CATALOG)?);
        match keyspace::prefix_end(prefix) {
            Some(end) => iter.seek_for_prev(end),
            None => iter.seek_to_last(),
        }
        // seek_for_prev lands on `end` itself when it exists: step back past it.
        while let Some(key) = iter.key() {
            if key.starts_with(prefix) {
                return Ok(Some(key.to_vec()));
            }
            if key < prefix {
                break;
            }
            iter.prev();
        }
        iter.status()?;
        Ok(None)
    }

    fn range_of(
        &self,
        cf: &'static str,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> Result<Rows, StorageError> {
        let mut options = ReadOptions::default();
        if let Some(upper) = upper {
            options.set_iterate_upper_bound(upper.to_vec());
        }
        let mut iter = self.db.raw_iterator_cf_opt(family(&self.db, cf)?, options);
        iter.seek(lower);
        let mut out = Vec::new();
        while let (Some(key), Some(value)) = (iter.key(), iter.value()) {
            out.push((key.to_vec(), value.to_vec()));
            iter.next();
        }
        iter.status()?;
        Ok(out)
    }

    /// An iterator over the row versions of `rows`, the rows family.
    pub(crate) fn raw_rows<'a>(&'a self, rows: &'a ColumnFamily) -> DBRawIterator<'a> {
        self.db.raw_iterator_cf(rows)
    }

    pub(crate) fn rows(&self) -> Result<&ColumnFamily, StorageError> {
        family(&self.db, CF_ROWS)
    }

    pub(crate) fn index(&self) -> Result<&ColumnFamily, StorageError> {
        family(&self.db, CF_INDEX)
    }

    pub(crate) fn catalog(&self) -> Result<&ColumnFamily, StorageError> {
        family(&self.db, CF_CATALOG)
    }
}

fn family<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily, StorageError> {
    db.cf_handle(name)
        .ok_or(StorageError::MissingColumnFamily(name))
}

/// The row bytes of a version, or `None` for a deletion.
fn live(value: &[u8]) -> Result<Option<&[u8]>, StorageError> {
    match value.split_first() {
        Some((&TAG_ROW, row)) => Ok(Some(row)),
        Some((&TAG_DELETED, _)) => Ok(None),
        Some((&tag, _)) => Err(StorageError::Corrupt {
            what: "row version",
            source: kalam::DecodeError::InvalidTag(tag),
        }),
        None => Err(StorageError::Corrupt {
            what: "row version",
            source: kalam::DecodeError::Truncated {
                needed: 1,
                remaining: 0,
            },
        }),
    }
}

/// The rows of a [`Storage::scan`]: `(primary key, row)` pairs, newest versions only.
pub struct RowIter<'a> {
    iter: DBRawIterator<'a>,
    prefix: Vec<u8>,
    scope_len: usize,
    /// The row prefix of the last version seen, to skip its older versions.
    last_row: Vec<u8>,
    /// Whether the iterator is still on the row last returned.
    advance: bool,
    done: bool,
}

impl std::fmt::Debug for RowIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowIter")
            .field("prefix", &self.prefix)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The rows a visiting read (`visit_range`, `visit_many`) hands over, copied, and what
/// the read returned.
pub(crate) fn copied<T>(
    read: impl FnOnce(
        &mut dyn FnMut(&[u8], &[u8]) -> Result<(), StorageError>,
    ) -> Result<T, StorageError>,
) -> Result<(Rows, T), StorageError> {
    let mut rows = Vec::new();
    let out = read(&mut |pk, row| {
        rows.push((pk.to_vec(), row.to_vec()));
        Ok(())
    })?;
    Ok((rows, out))
}

/// The lower and upper bound of a range of primary keys, as key prefixes (see
/// [`Storage::scan_range`]).
pub(crate) type KeyBounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// A row borrowed from storage: `(primary key, row)`.
pub(crate) type RowRef<'a> = (&'a [u8], &'a [u8]);

/// What [`RowIter::next_row`] makes of the entry under the iterator.
enum Entry {
    /// An older version, a deletion: on to the next entry.
    Skip,
    /// The newest version of a live row.
    Row,
    /// Past the prefix.
    End,
    /// No entry: the end of the family, or an error.
    Exhausted,
    Failed(StorageError),
}

impl RowIter<'_> {
    /// The next row, `(primary key, row)`, borrowed from the iterator until the next call.
    pub(crate) fn next_row(&mut self) -> Option<Result<RowRef<'_>, StorageError>> {
        if std::mem::take(&mut self.advance) {
            self.iter.next();
        }
        while !self.done {
            let entry = match (self.iter.key(), self.iter.value()) {
                (Some(key), _) if !key.starts_with(&self.prefix) => Entry::End,
                (Some(key), Some(value)) => match keyspace::split_version(key) {
                    None => Entry::Failed(StorageError::Corrupt {
                        what: "row key",
                        source: kalam::DecodeError::Truncated {
                            needed: keyspace::SEQ_LEN,
                            remaining: key.len(),
                        },
                    }),
                    Some((row, _)) if row == self.last_row.as_slice() => Entry::Skip,
                    Some((row, _)) => {
                        self.last_row.clear();
                        self.last_row.extend_from_slice(row);
                        match live(value) {
                            Ok(Some(_)) => Entry::Row,
                            Ok(None) => Entry::Skip,
                            Err(err) => Entry::Failed(err),
                        }
                    }
                },
                _ => Entry::Exhausted,
            };
            match entry {
                Entry::Skip => self.iter.next(),
                Entry::Row => {
                    self.advance = true;
                    let (key, value) = (self.iter.key()?, self.iter.value()?);
                    let pk = &key[self.scope_len..key.len() - keyspace::SEQ_LEN];
                    return Some(live(value).map(|row| (pk, row.unwrap_or_default())));
                }
                Entry::End => self.done = true,
                Entry::Exhausted => {
                    self.done = true;
                    return self.iter.status().err().map(|e| Err(e.into()));
                }
                Entry::Failed(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
        None
    }
}

impl Iterator for RowIter<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
            .map(|row| row.map(|(pk, row)| (pk.to_vec(), row.to_vec())))
    }
}

#[cfg(test)]
impl Storage {
    /// The stored versions of row `pk` of `table` in `scope`, newest first: `Some(row)`, or
    /// `None` for a deletion.
    pub(crate) fn versions(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pk: &[u8],
    ) -> Vec<Option<Vec<u8>>> {
        let prefix = keyspace::row_prefix(table, scope, pk);
        let mut iter = self.raw_rows(self.rows().unwrap());
        iter.seek(&prefix);
        let mut found = Vec::new();
        while let (Some(key), Some(value)) = (iter.key(), iter.value()) {
            if !key.starts_with(&prefix) {
                break;
            }
            found.push(live(value).unwrap().map(<[u8]>::to_vec));
            iter.next();
        }
        found
    }
}

/// How many keys [`Storage::get_many`] steps over to reach the next key it wants.
const STEPS: usize = 8;

/// After how many tries in a row that fall short [`Storage::get_many`] only seeks.
const MISSES: usize = 2;

/// Moves `iter` forward, over at most [`STEPS`] keys, to the first key at or after
/// `target`; whether it got there.
fn step_to(iter: &mut DBRawIterator<'_>, target: &[u8]) -> bool {
    for _ in 0..STEPS {
        match iter.key() {
            Some(key) if key >= target => return true,
            Some(_) => iter.next(),
            None => return false,
        }
    }
    iter.key().is_some_and(|key| key >= target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A storage in a fresh temporary directory, removed when its guard is dropped.
    fn open() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn a_write_removes_the_version_it_supersedes() {
        let (_dir, storage) = open();
        let (table, other) = (TableNumber(7), TableNumber(8));
        let write = |table, row: Option<u8>| {
            let mut set = WriteSet::new();
            match row {
                Some(byte) => set.put_row(table, Scope::Shared, b"k", vec![byte]),
                None => set.delete_row(table, Scope::Shared, b"k"),
            }
            storage.write(&set).unwrap();
        };
        write(other, Some(9));
        for byte in 0..5 {
            write(table, Some(byte));
            assert_eq!(
                storage.versions(table, Scope::Shared, b"k"),
                [Some(vec![byte])]
            );
        }
        write(table, None);
        assert_eq!(storage.versions(table, Scope::Shared, b"k"), [None]);
        assert_eq!(storage.get(table, Scope::Shared, b"k").unwrap(), None);
        write(table, Some(6));
        assert_eq!(
            storage.versions(table, Scope::Shared, b"k"),
            [Some(vec![6])]
        );
        // A writer that read the newest version names it; one with none, says so.
        let newest = storage.newest(table, Scope::Shared, b"k").unwrap().unwrap();
        let mut set = WriteSet::new();
        set.replace_row(
            table,
            Scope::Shared,
            b"k",
            Some(vec![7]),
            Supersedes::Version(newest.key),
        );
        set.replace_row(
            table,
            Scope::Shared,
            b"new",
            Some(vec![1]),
            Supersedes::Nothing,
        );
        storage.write(&set).unwrap();
        assert_eq!(
            storage.versions(table, Scope::Shared, b"k"),
            [Some(vec![7])]
        );
        assert_eq!(
            storage.versions(table, Scope::Shared, b"new"),
            [Some(vec![1])]
        );
        // Another table's row with the same key is untouched.
        assert_eq!(
            storage.versions(other, Scope::Shared, b"k"),
            [Some(vec![9])]
        );
    }

    #[test]
    fn get_many_finds_what_get_finds_stepping_or_seeking() {
        let (_dir, storage) = open();
        let (table, next) = (TableNumber(5), TableNumber(6));
        let key = |n: u8| vec![b'r', n];
        let mut set = WriteSet::new();
        for n in (0..60).step_by(2) {
            set.put_row(table, Scope::Shared, &key(n), vec![n]);
            set.put_row(next, Scope::Shared, &key(n), vec![100 + n]);
        }
        storage.write(&set).unwrap();
        let mut set = WriteSet::new();
        for n in [4, 6, 30] {
            set.delete_row(table, Scope::Shared, &key(n));
        }
        storage.write(&set).unwrap();
        // Dense runs (stepped to), gaps, deleted and missing rows, keys past the table's.
        let wanted: [&[u8]; 5] = [
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12],
            &[1, 3, 29, 30, 31, 32, 58, 59],
            &[2, 40],
            &[56, 57, 58, 59, 60, 61],
            &[8, 2, 10, 9, 0, 12],
        ];
        for wanted in wanted {
            let pks: Vec<Vec<u8>> = wanted.iter().map(|&n| key(n)).collect();
            let expected: Vec<(Vec<u8>, Vec<u8>)> = pks
                .iter()
                .filter_map(|pk| {
                    let row = storage.get(table, Scope::Shared, pk).unwrap()?;
                    Some((pk.clone(), row))
                })
                .collect();
            assert_eq!(
                storage.get_many(table, Scope::Shared, &pks).unwrap(),
                expected,
                "{wanted:?}"
            );
        }
    }

    #[test]
    fn a_named_version_is_overwritten_in_place_unless_the_set_wrote_the_row_before() {
        let (_dir, storage) = open();
        let table = TableNumber(3);
        let newest = || storage.newest(table, Scope::Shared, b"k").unwrap().unwrap();
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"k", vec![1]);
        storage.write(&set).unwrap();
        let first = newest().key;
        // Writes `byte` over the first version, named.
        let over_first = |set: &mut WriteSet, byte: u8| {
            let named = Supersedes::Version(first.clone());
            set.replace_row(table, Scope::Shared, b"k", Some(vec![byte]), named);
        };

        let mut set = WriteSet::new();
        over_first(&mut set, 2);
        storage.write(&set).unwrap();
        assert_eq!(newest().key, first);
        assert_eq!(
            storage.versions(table, Scope::Shared, b"k"),
            [Some(vec![2])]
        );

        // Written twice in one set, the row ends with the second write, whatever the
        // first one did to the version the second names.
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"k", vec![3]);
        over_first(&mut set, 4);
        storage.write(&set).unwrap();
        assert_ne!(newest().key, first);
        assert_eq!(
            storage.versions(table, Scope::Shared, b"k"),
            [Some(vec![4])]
        );
    }

    #[test]
    fn overlapping_ranges_visit_each_row_once_in_key_order() {
        let (_dir, storage) = open();
        let table = TableNumber(6);
        let mut set = WriteSet::new();
        for n in 0..20_u8 {
            set.put_row(table, Scope::Shared, &[n], vec![n]);
        }
        set.delete_row(table, Scope::Shared, &[6]);
        storage.write(&set).unwrap();
        let key = |n: u8| [n];
        let (k1, k2, k4, k5, k8, k15) = (key(1), key(2), key(4), key(5), key(8), key(15));
        let ranges: [KeyBounds<'_>; 4] = [
            (Bound::Included(&k4), Bound::Included(&k8)),
            (Bound::Included(&k2), Bound::Excluded(&k5)),
            (Bound::Included(&k15), Bound::Unbounded),
            (Bound::Included(&k1), Bound::Included(&k1)),
        ];
        let mut seen = Vec::new();
        storage
            .visit_ranges::<StorageError>(table, Scope::Shared, &ranges, |pk, row| {
                assert_eq!(pk, row);
                seen.push(pk[0]);
                Ok(())
            })
            .unwrap();
        let expected: Vec<u8> = (1..=8).filter(|&n| n != 6).chain(15..20).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_scan_over_many_hidden_versions_gets_the_memtable_flushed() {
        let (_dir, storage) = open();
        let table = TableNumber(2);
        let sst_bytes = || property(&storage, CF_ROWS, "rocksdb.live-sst-files-size");
        for version in 0..10 {
            let mut set = WriteSet::new();
            for n in 0..50_u8 {
                set.put_row(table, Scope::Shared, &[n], vec![version]);
            }
            storage.write(&set).unwrap();
        }
        assert_eq!(sst_bytes(), 0, "the rows are all in the memtable");

        // 50 rows, each after nine older versions and their deletions.
        let mut iter = storage.raw_rows(storage.rows().unwrap());
        iter.seek_to_first();
        let mut seen = 0;
        while iter.valid() {
            seen += 1;
            iter.next();
        }
        iter.status().unwrap();
        drop(iter);
        assert_eq!(seen, 50);
        // The scan marked the memtable; the next write into it asks for its flush, the one
        // after schedules it, and RocksDB runs it in the background.
        for n in 50..52 {
            let mut set = WriteSet::new();
            set.put_row(table, Scope::Shared, &[n], vec![0]);
            storage.write(&set).unwrap();
        }
        wait_for("a flush after the scan", || sst_bytes() > 0);
        assert_eq!(
            storage.versions(table, Scope::Shared, &[7]),
            [Some(vec![9])]
        );
    }

    #[test]
    fn a_flush_of_rows_or_index_entries_is_compacted_at_once() {
        let (_dir, storage) = open();
        let table = TableNumber(4);
        for name in SCANNED {
            let cf = family(&storage.db, name).unwrap();
            for version in 0..2 {
                let mut set = WriteSet::new();
                for n in 0..20_u8 {
                    match name {
                        CF_ROWS => set.put_row(table, Scope::Shared, &[n], vec![version]),
                        _ => set.put_index(vec![n], vec![version]),
                    }
                }
                storage.write(&set).unwrap();
                storage.db.flush_cf(cf).unwrap();
            }
            // Two overlapping flushes: below RocksDB's default trigger of four files, they
            // would stay in level 0.
            wait_for(&format!("{name}: level 0 compacted"), || {
                property(&storage, name, "rocksdb.num-files-at-level0") == 0
            });
        }
        assert_eq!(
            storage.versions(table, Scope::Shared, &[3]),
            [Some(vec![1])]
        );
    }

    /// RocksDB's integer property `name` of the family `cf`.
    fn property(storage: &Storage, cf: &'static str, name: &str) -> u64 {
        let cf = family(&storage.db, cf).unwrap();
        storage.db.property_int_value_cf(cf, name).unwrap().unwrap()
    }

    /// Waits, up to a minute, for RocksDB's background work to make `done` true.
    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed().as_secs() < 60, "still waiting for {what}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
