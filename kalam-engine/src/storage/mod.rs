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
//! | `meta` | the highest sequence number committed (merged, so commits in any order keep the highest) |
//!
//! A version's value is a tag byte (`0` a row, `1` a deletion) and the row's bytes. Reads
//! see the newest version of each row; a deletion hides the row.
//!
//! `read.rs` holds the reads (gets, scans, index entries, the catalog), `snapshot.rs`
//! what they read (the database now, or a transaction's snapshot under its own writes),
//! `write.rs` the write sets and their commit, `keyspace.rs` how keys are laid out,
//! `readers.rs` the iterators kept between reads, `cache.rs` the newest versions of the
//! rows read last and the entries under the index values looked up last, which reads of
//! the committed state look up first, and `flush.rs` when the engine has a memtable
//! flushed.

mod cache;
mod flush;
pub(crate) mod keyspace;
mod read;
mod readers;
mod snapshot;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, DB, Options};

pub use keyspace::{Scope, TableNumber};
pub use read::{RowIter, Rows};
pub(crate) use read::{Version, copied};
pub(crate) use snapshot::{Overlay, Snapshot, View};
pub use write::WriteSet;
pub(crate) use write::{Conflict, Supersedes};

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
/// memtable. Flushing on what reads meet (here and in [`flush`]), rather than shrinking
/// the memtable (it keeps RocksDB's 64 MiB default), costs a workload that only writes
/// nothing. In `kalam bench` after the insert and update tests, oltp_read_write went
/// from 1.9-3.1 to 1.3-1.5 times SQLite with a 16 MiB memtable and no trigger (with
/// 30,000 events per test: 1.65 to 0.99).
const SCAN_FLUSH_TRIGGERS: [(&str, &str); 2] = [
    ("memtable_op_scan_flush_trigger", "64"),
    ("memtable_avg_op_scan_flush_trigger", "1"),
];
/// The blocks of the files a flush or compaction of the rows or index family writes go
/// to the block cache as they are written (compaction's at the lowest priority).
const WARM_WRITTEN_BLOCKS: (&str, &str) = (
    "block_based_table_factory",
    "{prepopulate_block_cache=kFlushAndCompaction;}",
);
/// The block cache all families share: uncompressed blocks of the files read. A
/// HyperClockCache: a lookup takes no lock (an LRU cache's lookup locks a shard and
/// moves the block in its list: about a tenth of the engine's time in `kalam bench`'s
/// oltp_read_write at 100,000 rows, whose ranges read a few blocks each).
const BLOCK_CACHE_BYTES: usize = 64 << 20;
/// Each family's memtable (RocksDB's default), and how many it may hold, one being
/// flushed while the next fills (the default too).
const MEMTABLE_BYTES: usize = 64 << 20;
const MEMTABLES: usize = 2;
/// The rows read last, in front of RocksDB (see [`cache`]).
const ROW_CACHE_BYTES: usize = 64 << 20;
/// The index values looked up last, in front of RocksDB (see [`cache`]).
const INDEX_CACHE_BYTES: usize = 32 << 20;

/// The memory the engine keeps rows in, at most: the block cache, the row and index
/// caches, and the memtables of the families that hold rows and index entries (those of
/// the catalog and the sequence number hold a few kilobytes). What a peer given "the
/// engine's memory" is given.
pub(crate) const MEMORY_BYTES: usize = BLOCK_CACHE_BYTES
    + ROW_CACHE_BYTES
    + INDEX_CACHE_BYTES
    + SCANNED.len() * MEMTABLES * MEMTABLE_BYTES;

const TAG_ROW: u8 = 0;
const TAG_DELETED: u8 = 1;

/// The merge operator of the meta family: the highest of the 8-byte big-endian sequence
/// numbers merged into a key (and its value before them); `None`, which RocksDB reports as
/// corruption, when one is not 8 bytes.
fn max_seq(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let mut max = 0u64;
    for value in existing.into_iter().chain(operands.iter()) {
        max = max.max(u64::from_be_bytes(value.try_into().ok()?));
    }
    Some(max.to_be_bytes().to_vec())
}

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
    db: Arc<DB>,
    /// What the engine counted of the rows and index families since it last had them
    /// flushed (see [`flush`]).
    counts: flush::Counts,
    /// Iterators kept for the next read of the committed state.
    readers: readers::Readers,
    /// The newest versions of the rows read last.
    cache: cache::Cache,
    /// The entries under the index values looked up last.
    index_cache: cache::Cache,
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
        let cache = Cache::new_hyper_clock_cache(BLOCK_CACHE_BYTES, 0);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        // Blocks of 16 KiB, not RocksDB's 4 KiB: a range of rows crosses a quarter of the
        // block boundaries (each a block cache lookup and an index step). At 100,000 rows
        // in `kalam bench`, two alternating runs: oltp_read_only 0.85, 0.86 -> 0.77, 0.75
        // times SQLite, oltp_read_write 1.00, 1.13 -> 0.94, 0.85.
        table.set_block_size(16 * 1024);
        let families = FAMILIES.map(|name| {
            let mut family = Options::default();
            family.set_compression_type(rocksdb::DBCompressionType::Lz4);
            family.set_block_based_table_factory(&table);
            family.set_write_buffer_size(MEMTABLE_BYTES);
            family.set_max_write_buffer_number(MEMTABLES as i32);
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
            if name == CF_META {
                family.set_merge_operator_associative("kalam.max_seq", max_seq);
            }
            (name, family)
        });
        let db = DB::open_cf_with_opts(&options, path, families)?;
        let scanned: Vec<_> = SCAN_FLUSH_TRIGGERS
            .into_iter()
            .chain([WARM_WRITTEN_BLOCKS])
            .collect();
        for name in SCANNED {
            db.set_options_cf(family(&db, name)?, &scanned)?;
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
            db: Arc::new(db),
            counts: flush::Counts::default(),
            readers: readers::Readers::new(),
            cache: cache::Cache::new(ROW_CACHE_BYTES),
            index_cache: cache::Cache::new(INDEX_CACHE_BYTES),
            durability,
            seq: AtomicU64::new(seq),
        })
    }

    /// The durability of writes.
    #[must_use]
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Waits until RocksDB has no flush or compaction queued or running, at most `limit`:
    /// `false` if the limit came first. Writes may go on meanwhile (and keep it waiting to
    /// the limit). What a benchmark calls between tests, so that the work one test leaves
    /// to the background is not timed in the next.
    ///
    /// # Errors
    ///
    /// A RocksDB error other than the limit passing.
    pub fn wait_for_background(&self, limit: Duration) -> Result<bool, StorageError> {
        let mut options = rocksdb::WaitForCompactOptions::default();
        options.set_timeout(u64::try_from(limit.as_micros()).unwrap_or(u64::MAX).max(1));
        match self.db.wait_for_compact(&options) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == rocksdb::ErrorKind::TimedOut => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The sequence number of the last committed write set.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
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

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::read::{KeyBounds, live};
    use super::*;

    /// A storage in a fresh temporary directory, removed when its guard is dropped.
    fn open() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn the_sequence_number_never_goes_back_when_commits_land_out_of_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = Storage::open(dir.path()).unwrap();
            // Two writers took 11 and 10; the one holding 11 committed first.
            let mut set = WriteSet::new();
            set.put_row(TableNumber(1), Scope::Shared, b"a", b"1".to_vec());
            storage.commit(&set, 11).unwrap();
            storage.commit(&set, 10).unwrap();
        }
        let storage = Storage::open(dir.path()).unwrap();
        assert_eq!(storage.last_seq(), 11);
        // A new commit goes on from there, and the merged value survives a flush too.
        assert_eq!(storage.write(&WriteSet::new()).unwrap(), 12);
        storage
            .db
            .flush_cf(family(&storage.db, CF_META).unwrap())
            .unwrap();
        drop(storage);
        assert_eq!(Storage::open(dir.path()).unwrap().last_seq(), 12);
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
        let newest = storage
            .now()
            .newest(table, Scope::Shared, b"k")
            .unwrap()
            .unwrap();
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
    fn newest_many_finds_what_newest_finds_up_to_and_past_the_last_key() {
        let (_dir, storage) = open();
        // The last table of the family: keys past its rows are past every key.
        let table = TableNumber(u32::MAX);
        let key = |n: u8| vec![b'r', n];
        let mut set = WriteSet::new();
        for n in (0..40).step_by(2) {
            set.put_row(table, Scope::Shared, &key(n), vec![n]);
        }
        storage.write(&set).unwrap();
        let mut set = WriteSet::new();
        for n in [4, 38] {
            set.delete_row(table, Scope::Shared, &key(n));
        }
        storage.write(&set).unwrap();
        // Cached before the reads below (a hit between misses), then the others.
        storage.get(table, Scope::Shared, &key(10)).unwrap();
        let view = storage.now();
        let wanted: [&[u8]; 5] = [
            &[0, 1, 2, 3, 4, 5, 10, 11, 12],
            &[36, 37, 38, 39, 40, 41, 42, 200, 255],
            &[40, 41, 42, 43],
            &[2, 255, 0, 38, 100, 3],
            &[],
        ];
        for wanted in wanted {
            let pks: Vec<Vec<u8>> = wanted.iter().map(|&n| key(n)).collect();
            let refs: Vec<&[u8]> = pks.iter().map(Vec::as_slice).collect();
            let many = view.newest_many(table, Scope::Shared, &refs).unwrap();
            assert_eq!(many.len(), pks.len());
            for (pk, found) in pks.iter().zip(many) {
                let one = view.newest(table, Scope::Shared, pk).unwrap();
                let show = |v: Option<read::Version>| v.map(|v| (v.key, v.row));
                assert_eq!(show(found), show(one), "{wanted:?} at {pk:?}");
            }
            let rows: Vec<(Vec<u8>, Vec<u8>)> = pks
                .iter()
                .filter_map(|pk| {
                    Some((pk.clone(), storage.get(table, Scope::Shared, pk).unwrap()?))
                })
                .collect();
            assert_eq!(storage.get_many(table, Scope::Shared, &pks).unwrap(), rows);
        }
        // Live rows, a deletion and nothing, as written.
        let refs: [&[u8]; 3] = [&key(2), &key(4), &key(5)];
        let found = view.newest_many(table, Scope::Shared, &refs).unwrap();
        assert_eq!(found[0].as_ref().unwrap().row, Some(vec![2]));
        assert_eq!(found[1].as_ref().unwrap().row, None);
        assert!(found[2].is_none());
    }

    #[test]
    fn a_named_version_is_overwritten_in_place_unless_the_set_wrote_the_row_before() {
        let (_dir, storage) = open();
        let table = TableNumber(3);
        let newest = || {
            storage
                .now()
                .newest(table, Scope::Shared, b"k")
                .unwrap()
                .unwrap()
        };
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
            .now()
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

    #[test]
    fn many_hidden_entries_get_their_family_flushed_without_a_scan() {
        let (_dir, storage) = open();
        let table = TableNumber(6);
        let sst_bytes = || property(&storage, CF_ROWS, "rocksdb.live-sst-files-size");
        let round = |version: u8| {
            let mut set = WriteSet::new();
            for n in 0..100_u8 {
                set.put_row(table, Scope::Shared, &[n], vec![version]);
            }
            storage.write(&set).unwrap();
        };
        round(0);
        // Each later round hides the 100 versions before it.
        let below = flush::HIDDEN_MIN / 100;
        for version in 1..=below {
            round(version as u8);
        }
        assert_eq!(sst_bytes(), 0, "{} hidden: not flushed yet", below * 100);
        round(0);
        wait_for("a flush once enough versions are hidden", || {
            sst_bytes() > 0
        });
        assert_eq!(
            storage.get(table, Scope::Shared, &[42]).unwrap(),
            Some(vec![0])
        );
    }

    #[test]
    fn a_family_read_many_times_its_keys_gets_its_memtable_flushed() {
        let (_dir, storage) = open();
        let table = TableNumber(9);
        let in_memtable = |name| property(&storage, name, "rocksdb.num-entries-active-mem-table");
        // A memtable below the minimum stays, however often it is read.
        let small = flush::READ_FLUSH_MIN - 1;
        let mut set = WriteSet::new();
        for n in 0..small {
            set.put_row(table, Scope::Shared, &n.to_be_bytes(), vec![1]);
            set.put_index(n.to_be_bytes().to_vec(), Vec::new());
        }
        storage.write(&set).unwrap();
        let scan = || {
            let all = (Bound::Unbounded, Bound::Unbounded);
            let rows = storage
                .now()
                .visit_range::<StorageError>(table, Scope::Shared, all, usize::MAX, |_, _| Ok(()))
                .unwrap();
            let mut entries = 0;
            storage
                .now()
                .index_keys::<StorageError>(&[(Vec::new(), None)], |_| {
                    entries += 1;
                    Ok(())
                })
                .unwrap();
            (rows as u64, entries)
        };
        // Read as many times as would have a memtable of the minimum flushed.
        for _ in 0..flush::READS_PER_KEY {
            assert_eq!(scan(), (small, small));
        }
        assert_eq!(
            (in_memtable(CF_ROWS), in_memtable(CF_INDEX)),
            (small, small)
        );

        // As many keys again: each family is flushed once it was read as many times its
        // keys since its last flush, the reads before this write included (the flush is
        // asked for at once, its memtable replaced by an empty one).
        let keys = 2 * small;
        let mut set = WriteSet::new();
        for n in small..keys {
            set.put_row(table, Scope::Shared, &n.to_be_bytes(), vec![1]);
            set.put_index(n.to_be_bytes().to_vec(), Vec::new());
        }
        storage.write(&set).unwrap();
        for _ in 1..flush::READS_PER_KEY / 2 {
            assert_eq!(scan(), (keys, keys));
        }
        assert_eq!((in_memtable(CF_ROWS), in_memtable(CF_INDEX)), (keys, keys));
        assert_eq!(scan(), (keys, keys));
        assert_eq!((in_memtable(CF_ROWS), in_memtable(CF_INDEX)), (0, 0));
        wait_for("the flushed files", || {
            property(&storage, CF_ROWS, "rocksdb.live-sst-files-size") > 0
                && property(&storage, CF_INDEX, "rocksdb.live-sst-files-size") > 0
        });
        assert_eq!(scan(), (keys, keys));
    }

    #[test]
    fn reads_nested_past_the_kept_iterators_each_get_one() {
        let (_dir, storage) = open();
        let table = TableNumber(4);
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"a", b"1".to_vec());
        storage.write(&set).unwrap();
        let prefix = keyspace::row_prefix(table, Scope::Shared, b"a");
        // Each level reads inside the read of the level above, on one thread: the first
        // ones take the kept iterators, those past them make their own.
        fn nest(storage: &Storage, prefix: &[u8], depth: usize) -> usize {
            if depth == 0 {
                return 0;
            }
            storage
                .readers
                .with(&storage.db, CF_ROWS, |iter| {
                    iter.seek(prefix);
                    assert!(iter.key().is_some_and(|key| key.starts_with(prefix)));
                    1 + nest(storage, prefix, depth - 1)
                })
                .unwrap()
        }
        let depth = readers::KEPT + 2;
        assert_eq!(nest(&storage, &prefix, depth), depth);
        assert_eq!(storage.readers.kept(CF_ROWS), readers::KEPT);
        assert_eq!(storage.readers.kept(CF_INDEX), 0);
    }

    #[test]
    fn threads_reading_at_once_see_every_write_committed_before_their_read() {
        let (_dir, storage) = open();
        let table = TableNumber(5);
        let prefix = keyspace::row_prefix(table, Scope::Shared, b"k");
        let write = |n: u32| {
            let mut set = WriteSet::new();
            set.put_row(table, Scope::Shared, b"k", n.to_be_bytes().to_vec());
            storage.write(&set).unwrap();
        };
        let read = || {
            storage
                .readers
                .with(&storage.db, CF_ROWS, |iter| {
                    iter.seek(&prefix);
                    let row = read::live(iter.value().unwrap()).unwrap().unwrap();
                    u32::from_be_bytes(row.try_into().unwrap())
                })
                .unwrap()
        };
        const LAST: u32 = 2000;
        write(0);
        let committed = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|threads| {
            for _ in 0..3 {
                threads.spawn(|| {
                    loop {
                        let before = committed.load(Ordering::Acquire);
                        let seen = read();
                        assert!(seen >= before, "read {seen} after {before} was committed");
                        if seen == LAST {
                            break;
                        }
                    }
                });
            }
            for n in 1..=LAST {
                write(n);
                committed.store(n, Ordering::Release);
            }
        });
        assert_eq!(read(), LAST);
    }

    #[test]
    fn a_kept_iterator_reads_what_was_committed_since_its_last_read() {
        let (_dir, storage) = open();
        let table = TableNumber(3);
        let write = |n: u8, row: Option<u8>| {
            let mut set = WriteSet::new();
            match row {
                Some(byte) => set.put_row(table, Scope::Shared, &[n], vec![byte]),
                None => set.delete_row(table, Scope::Shared, &[n]),
            }
            storage.write(&set).unwrap();
        };
        let get = |n: u8| storage.get(table, Scope::Shared, &[n]).unwrap();
        let get_many = |ns: &[u8]| {
            let pks: Vec<Vec<u8>> = ns.iter().map(|&n| vec![n]).collect();
            storage.get_many(table, Scope::Shared, &pks).unwrap()
        };
        assert_eq!(get(1), None);
        write(1, Some(10));
        assert_eq!(get(1), Some(vec![10]));
        write(1, Some(11));
        write(2, Some(20));
        assert_eq!(get(1), Some(vec![11]));
        assert_eq!(
            get_many(&[1, 2]),
            [(vec![1], vec![11]), (vec![2], vec![20])]
        );
        write(1, None);
        assert_eq!(get(1), None);
        assert_eq!(get_many(&[1, 2]), [(vec![2], vec![20])]);
        // A flush and its compaction change the memtables and files under the kept
        // iterators: the next read sees the new ones, and the writes after them.
        let rows = family(&storage.db, CF_ROWS).unwrap();
        storage.db.flush_cf(rows).unwrap();
        wait_for("the flush compacted", || {
            property(&storage, CF_ROWS, "rocksdb.num-files-at-level0") == 0
        });
        assert_eq!(get(2), Some(vec![20]));
        write(2, Some(21));
        assert_eq!(get(2), Some(vec![21]));
        assert_eq!(get_many(&[1, 2, 3]), [(vec![2], vec![21])]);
    }

    #[test]
    fn index_reads_of_the_committed_state_see_what_was_committed_since() {
        let (_dir, storage) = open();
        let storage = std::sync::Arc::new(storage);
        let write = |put: &[&[u8]], delete: &[&[u8]]| {
            let mut set = WriteSet::new();
            for key in put {
                set.put_index(key.to_vec(), Vec::new());
            }
            for key in delete {
                set.delete_index(key.to_vec());
            }
            storage.write(&set).unwrap();
        };
        // Two ranges, the second open above; keys between them are not read.
        let ranges = [(b"a".to_vec(), Some(b"c".to_vec())), (b"x".to_vec(), None)];
        let read = |view: View<'_>| {
            let mut keys = Vec::new();
            view.index_keys(&ranges, |key| {
                keys.push(String::from_utf8(key.to_vec()).unwrap());
                Ok::<(), StorageError>(())
            })
            .unwrap();
            keys.join(" ")
        };
        write(&[b"a1", b"b", b"m", b"x"], &[]);
        assert_eq!(read(storage.now()), "a1 b x");
        let snapshot = Snapshot::new(std::sync::Arc::clone(&storage));
        write(&[b"a0", b"y", b"z"], &[b"b"]);
        assert_eq!(read(storage.now()), "a0 a1 x y z");
        assert_eq!(read(snapshot.view(None)), "a1 b x");
        // A flush and its compaction change the files under the kept iterators.
        let index = family(&storage.db, CF_INDEX).unwrap();
        storage.db.flush_cf(index).unwrap();
        wait_for("the flush compacted", || {
            property(&storage, CF_INDEX, "rocksdb.num-files-at-level0") == 0
        });
        write(&[b"c"], &[b"a1", b"y"]);
        assert_eq!(read(storage.now()), "a0 x z");
        assert_eq!(read(snapshot.view(None)), "a1 b x");
    }

    #[test]
    fn index_lookups_see_what_was_committed_since_they_were_cached() {
        let (_dir, storage) = open();
        let storage = std::sync::Arc::new(storage);
        // Entries `lookup | pk`: the lookups `k1`, `k2` and `k3`, each entry's primary key a
        // digit after them.
        let entry = |key: &str| (key.as_bytes().to_vec(), 2);
        let write = |put: &[&str], delete: &[&str]| {
            let mut set = WriteSet::new();
            for key in put {
                let (key, lookup) = entry(key);
                set.put_index_entry(key, lookup);
            }
            for key in delete {
                let (key, lookup) = entry(key);
                set.delete_index_entry(key, lookup);
            }
            storage.write(&set).unwrap();
        };
        let read_of = |view: View<'_>, lookups: &[&str]| {
            let lookups = lookups.iter().map(|l| l.as_bytes()).collect();
            let mut keys = Vec::new();
            view.index_lookups(lookups, |key| {
                keys.push(String::from_utf8(key.to_vec()).unwrap());
                Ok::<(), StorageError>(())
            })
            .unwrap();
            keys.join(" ")
        };
        let read = |view: View<'_>| read_of(view, &["k3", "k1", "k3"]);
        let cached = |lookup: &[u8]| storage.index_cache.lookup_now(lookup).is_some();
        write(&["k11", "k12", "k21", "k35"], &[]);
        assert_eq!(read(storage.now()), "k11 k12 k35");
        assert!(cached(b"k1") && cached(b"k3") && !cached(b"k2"));
        // Lookups next to each other, cached and not, without entries, past the last key
        // (where the iterator already stands on the key a seek would land on, it is not
        // sought): each finds what its range holds.
        assert_eq!(
            read_of(storage.now(), &["k0", "k1", "k2", "k3", "k4", "k5"]),
            "k11 k12 k21 k35"
        );
        assert!(cached(b"k0") && cached(b"k2") && cached(b"k5"));
        // Read again, from the cache: the same.
        assert_eq!(read(storage.now()), "k11 k12 k35");
        let snapshot = Snapshot::new(std::sync::Arc::clone(&storage));
        // What the cache holds of a lookup, as keys.
        let held = |lookup: &str| {
            let hit = storage.index_cache.lookup_now(lookup.as_bytes())?;
            let keys: Vec<String> = read::cached_entries(hit.read())
                .map(|pk| format!("{lookup}{}", String::from_utf8_lossy(pk)))
                .collect();
            Some(keys.join(" "))
        };
        // A write under a cached lookup keeps it as written (an entry added in key order,
        // one removed), and leaves the others.
        write(&["k10", "k13"], &["k11"]);
        assert_eq!(held("k1").as_deref(), Some("k10 k12 k13"));
        assert_eq!(held("k3").as_deref(), Some("k35"));
        assert_eq!(read(storage.now()), "k10 k12 k13 k35");
        write(&[], &["k10"]);
        assert_eq!(held("k1").as_deref(), Some("k12 k13"));
        // A write under a lookup not cached adds none; under another, leaves these.
        write(&["k22", "k61"], &[]);
        assert!(cached(b"k1") && cached(b"k3") && cached(b"k2") && !cached(b"k6"));
        assert_eq!(held("k2").as_deref(), Some("k21 k22"));
        // A set of more entries than the cache follows drops its lookups.
        let many: Vec<String> = (0..=super::write::KEPT_LOOKUPS)
            .map(|i| format!("k2{i}x"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        write(&many, &[]);
        assert!(!cached(b"k2") && cached(b"k1"));
        write(&[], &many);
        assert_eq!(read_of(storage.now(), &["k2"]), "k21 k22");
        // A snapshot reads RocksDB as it was.
        assert_eq!(read(snapshot.view(None)), "k11 k12 k35");
        write(&[], &["k35"]);
        assert_eq!(read(storage.now()), "k12 k13");
        assert_eq!(read(snapshot.view(None)), "k11 k12 k35");
        // An entry written without its lookup, or an index's data dropped, empties the
        // cache.
        let mut set = WriteSet::new();
        set.put_index(b"k34".to_vec(), Vec::new());
        storage.write(&set).unwrap();
        assert!(!cached(b"k1"));
        assert_eq!(read(storage.now()), "k12 k13 k34");
        assert!(cached(b"k1"));
        let mut set = WriteSet::new();
        set.delete_index_data(TableNumber(1), 1);
        storage.write(&set).unwrap();
        assert!(!cached(b"k1") && !cached(b"k3"));
        // A lookup a write overlapped is not kept.
        let since = storage.index_cache.since();
        write(&["k14"], &[]);
        storage.index_cache.offer(since, b"k1", &[b"stale"]);
        assert!(!cached(b"k1"));
        assert_eq!(read(storage.now()), "k12 k13 k14 k34");
    }

    #[test]
    fn a_snapshot_reads_its_own_state_beside_the_kept_iterators() {
        let (_dir, storage) = open();
        let storage = std::sync::Arc::new(storage);
        let table = TableNumber(3);
        let write = |byte: u8| {
            let mut set = WriteSet::new();
            set.put_row(table, Scope::Shared, b"k", vec![byte]);
            storage.write(&set).unwrap();
        };
        write(1);
        let snapshot = Snapshot::new(std::sync::Arc::clone(&storage));
        write(2);
        let old = || snapshot.view(None).get(table, Scope::Shared, b"k").unwrap();
        assert_eq!(old(), Some(vec![1]));
        assert_eq!(
            storage.get(table, Scope::Shared, b"k").unwrap(),
            Some(vec![2])
        );
        write(3);
        assert_eq!(old(), Some(vec![1]));
        assert_eq!(
            storage.get(table, Scope::Shared, b"k").unwrap(),
            Some(vec![3])
        );
    }

    #[test]
    fn a_snapshot_reads_from_the_row_cache_only_what_rocksdb_held_when_it_was_taken() {
        let (_dir, storage) = open();
        let storage = std::sync::Arc::new(storage);
        let table = TableNumber(5);
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"a", vec![1]);
        set.put_row(table, Scope::Shared, b"b", vec![2]);
        storage.write(&set).unwrap();
        let [a, b] = [b"a", b"b"].map(|pk| keyspace::row_prefix(table, Scope::Shared, pk));
        let a_key = storage.now().newest_at(&a).unwrap().unwrap().key;
        storage.now().newest_at(&b).unwrap();
        // What the cache holds of `a` made to differ from RocksDB (b's stored value), to
        // tell which of the two a read took.
        let since = storage.cache.since();
        let b_value = storage.cache.lookup(&b, since).unwrap().value().to_vec();
        storage.cache.offer_version(since, &a, &a_key, &b_value);
        let row = |snapshot: &Snapshot, prefix: &[u8]| {
            snapshot.view(None).newest_at(prefix).unwrap().unwrap().row
        };
        // Cached before the snapshot was taken: read from the cache.
        let before = Snapshot::new(std::sync::Arc::clone(&storage));
        assert_eq!(row(&before, &a), Some(vec![2]));
        // Rewritten after it, and kept in the cache as written: the snapshot reads RocksDB
        // as it was (the planted version went with the write).
        let mut set = WriteSet::new();
        set.replace_row(
            table,
            Scope::Shared,
            b"a",
            Some(vec![3]),
            Supersedes::Version(a_key),
        );
        storage.write(&set).unwrap();
        assert_eq!(
            storage
                .cache
                .lookup_now(&a)
                .map(|c| live(c.value()).unwrap().map(<[u8]>::to_vec)),
            Some(Some(vec![3]))
        );
        assert_eq!(row(&before, &a), Some(vec![1]));
        assert_eq!(row(&before, &b), Some(vec![2]));
        // A snapshot taken after the write takes the kept version.
        let after = Snapshot::new(std::sync::Arc::clone(&storage));
        assert_eq!(row(&after, &a), Some(vec![3]));
        // In a transaction, its own writes come first.
        let mut overlay = Overlay::default();
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"a", vec![4]);
        assert!(overlay.absorb(set, after.view(None)).unwrap());
        let mine = after.view(Some(&overlay)).newest_at(&a).unwrap().unwrap();
        assert_eq!(mine.row, Some(vec![4]));
    }

    #[test]
    fn readers_on_many_threads_each_see_their_own_writes() {
        let (_dir, storage) = open();
        let table = TableNumber(9);
        // More threads than a family keeps iterators: some make and drop their own.
        std::thread::scope(|s| {
            for thread in 0..12_u8 {
                let storage = &storage;
                s.spawn(move || {
                    for version in 0..200_u8 {
                        let mut set = WriteSet::new();
                        set.put_row(table, Scope::Shared, &[thread], vec![version]);
                        storage.write(&set).unwrap();
                        let row = storage.get(table, Scope::Shared, &[thread]).unwrap();
                        assert_eq!(row, Some(vec![version]), "thread {thread}");
                    }
                });
            }
        });
    }

    #[test]
    fn the_row_cache_serves_the_version_rocksdb_holds_until_a_write_changes_it() {
        let (_dir, storage) = open();
        let table = TableNumber(4);
        let mut set = WriteSet::new();
        set.put_row(table, Scope::Shared, b"a", vec![1]);
        set.put_row(table, Scope::Shared, b"b", vec![2]);
        storage.write(&set).unwrap();
        let prefix = keyspace::row_prefix(table, Scope::Shared, b"a");
        let cached = |prefix: &[u8]| storage.cache.lookup_now(prefix).is_some();
        assert!(!cached(&prefix));
        // Read from RocksDB, then from the cache: the same version, full key included (an
        // update overwrites that key in place).
        let stored = storage.now().newest_at(&prefix).unwrap().unwrap();
        assert!(cached(&prefix));
        let hit = storage.now().newest_at(&prefix).unwrap().unwrap();
        assert_eq!((&hit.key, &hit.row), (&stored.key, &stored.row));
        let mut set = WriteSet::new();
        set.replace_row(
            table,
            Scope::Shared,
            b"a",
            Some(vec![3]),
            Supersedes::Version(hit.key.clone()),
        );
        storage.write(&set).unwrap();
        // The row rewritten alone is kept as written, under the key it overwrote.
        let kept = storage
            .cache
            .lookup_now(&prefix)
            .expect("the rewritten row is cached");
        assert_eq!(
            (
                [&prefix[..], kept.seq()].concat(),
                live(kept.value()).unwrap()
            ),
            (hit.key, Some(&[3][..]))
        );
        assert_eq!(
            storage.versions(table, Scope::Shared, b"a"),
            [Some(vec![3])]
        );
        assert_eq!(
            storage.get(table, Scope::Shared, b"a").unwrap(),
            Some(vec![3])
        );
        // `get_many` fills it too, and sees a deletion.
        let pks = [b"a".to_vec(), b"b".to_vec()];
        let both = [(b"a".to_vec(), vec![3]), (b"b".to_vec(), vec![2])];
        assert_eq!(storage.get_many(table, Scope::Shared, &pks).unwrap(), both);
        assert!(cached(&keyspace::row_prefix(table, Scope::Shared, b"b")));
        assert_eq!(storage.get_many(table, Scope::Shared, &pks).unwrap(), both);
        let mut set = WriteSet::new();
        set.delete_row(table, Scope::Shared, b"b");
        storage.write(&set).unwrap();
        assert_eq!(
            storage.get_many(table, Scope::Shared, &pks).unwrap(),
            [(b"a".to_vec(), vec![3])]
        );
        // Dropping the table's data drops its cached rows.
        let mut set = WriteSet::new();
        set.delete_table_data(table);
        storage.write(&set).unwrap();
        assert_eq!(storage.get(table, Scope::Shared, b"a").unwrap(), None);
        assert_eq!(
            storage.get_stored(table, Scope::Shared, b"a").unwrap(),
            None
        );
    }

    #[test]
    fn a_read_never_sees_a_row_older_than_the_last_commit_before_it() {
        let (_dir, storage) = open();
        let table = TableNumber(10);
        let committed = AtomicU64::new(0);
        let done = std::sync::atomic::AtomicBool::new(false);
        let read = |pk: &[u8]| -> u64 {
            let row = storage.get(table, Scope::Shared, pk).unwrap().unwrap();
            u64::from_be_bytes(row.try_into().unwrap())
        };
        let write = |n: u64| {
            let mut set = WriteSet::new();
            set.put_row(table, Scope::Shared, b"x", n.to_be_bytes().to_vec());
            set.put_row(table, Scope::Shared, b"y", n.to_be_bytes().to_vec());
            storage.write(&set).unwrap();
        };
        write(0);
        // Readers race the writer on two rows, through both kinds of point read: a
        // version read before a commit and kept after it would be seen here.
        std::thread::scope(|s| {
            for reader in 0..3 {
                let (committed, done, read) = (&committed, &done, &read);
                let storage = &storage;
                s.spawn(move || {
                    while !done.load(Ordering::Acquire) {
                        let floor = committed.load(Ordering::Acquire);
                        let seen = if reader == 0 {
                            let pks = [b"x".to_vec(), b"y".to_vec()];
                            let rows = storage.get_many(table, Scope::Shared, &pks).unwrap();
                            let last = &rows.last().unwrap().1;
                            u64::from_be_bytes(last.as_slice().try_into().unwrap())
                        } else {
                            read(b"y")
                        };
                        assert!(seen >= floor, "read {seen} after {floor} was committed");
                    }
                });
            }
            for n in 1..=3_000_u64 {
                write(n);
                committed.store(n, Ordering::Release);
            }
            done.store(true, Ordering::Release);
        });
        assert_eq!(read(b"y"), 3_000);
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
