//! When the engine has the memtable of the rows or the index family flushed, besides
//! RocksDB's own rules (a full memtable; a scan that steps over many hidden entries, see
//! [`SCAN_FLUSH_TRIGGERS`](super::SCAN_FLUSH_TRIGGERS)).
//!
//! Two rules, each weighed when a count passes a step:
//!
//! - **Hidden entries.** Each commit counts the entries it hides (row versions
//!   overwritten or deleted, index entries deleted). RocksDB's scan triggers flush only
//!   what a scan meets, and only at the next write: hidden entries that only seeks meet
//!   (an index's deleted entries under the values looked up) and what read-only work
//!   meets after a burst of updates stay until the memtable fills. A family is flushed
//!   once its hidden entries are at least [`HIDDEN_MIN`] and one in [`HIDDEN_SHARE`] of
//!   its keys: the flush drops them, and its compaction the versions they hid.
//! - **Reads.** A memtable is slower to read than the sorted file a flush makes of it:
//!   a skip list's nodes are a pointer apart, a file's block holds its entries side by
//!   side. Each read counts the entries it reads, and a family is flushed once it has been
//!   read [`READS_PER_KEY`] times its keys since the engine last had it flushed, if its
//!   memtable holds at least [`READ_FLUSH_MIN`] entries. Counting against the family's
//!   keys, not its memtable's, bounds what the flush costs: its compaction rewrites at
//!   most the family, one entry for every [`READS_PER_KEY`] read. A family only written
//!   is never flushed by this rule; one mostly read soon is, and then reads a file.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{SCANNED, Storage, family};

/// A family the engine counts reads and hidden entries of: its place in
/// [`SCANNED`](super::SCANNED).
#[derive(Clone, Copy, Debug)]
pub(super) enum Scanned {
    Rows = 0,
    Index = 1,
}

impl Scanned {
    fn name(self) -> &'static str {
        SCANNED[self as usize]
    }
}

/// Entries hidden in the rows and index families by a commit.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Hidden {
    pub(super) rows: u64,
    pub(super) index: u64,
}

/// What the engine counted of each family since it last had it flushed.
#[derive(Debug, Default)]
pub(super) struct Counts {
    hidden: [AtomicU64; 2],
    read: [AtomicU64; 2],
}

/// The fewest hidden entries a family is flushed for. In `kalam bench --repeat 3` (whose
/// later runs read after the write tests), this threshold against none, one run each:
/// select_random_ranges 3.2 -> 2.1 and table_scan 1.5 -> 1.1 times SQLite.
pub(super) const HIDDEN_MIN: u64 = 16_384;
/// A family is flushed once its hidden entries are at least one in this many of its keys.
const HIDDEN_SHARE: u64 = 4;
/// How often (in entries hidden or read) a family's count is weighed against its keys.
const STEP: u64 = 1024;
/// A family is flushed once it was read this many times its keys.
pub(super) const READS_PER_KEY: u64 = 4;
/// The fewest entries a memtable holds for reads to have it flushed.
pub(super) const READ_FLUSH_MIN: u64 = 1024;

impl Storage {
    /// Counts the entries a commit hid, and has a family flushed once they are many
    /// against its keys.
    pub(super) fn hid(&self, hidden: Hidden) {
        for (which, n) in [(Scanned::Rows, hidden.rows), (Scanned::Index, hidden.index)] {
            let Some(total) = passed_step(&self.counts.hidden[which as usize], n) else {
                continue;
            };
            if total < HIDDEN_MIN {
                continue;
            }
            if self
                .property(which, "rocksdb.estimate-num-keys")
                .is_some_and(|keys| total.saturating_mul(HIDDEN_SHARE) >= keys)
            {
                self.flush(which);
            }
        }
    }

    /// Counts `entries` read from a family, and has it flushed once it was read many times
    /// its keys.
    pub(super) fn read_from(&self, which: Scanned, entries: u64) {
        let Some(total) = passed_step(&self.counts.read[which as usize], entries) else {
            return;
        };
        let (Some(keys), Some(in_memtable)) = (
            self.property(which, "rocksdb.estimate-num-keys"),
            self.property(which, "rocksdb.num-entries-active-mem-table"),
        ) else {
            return;
        };
        if in_memtable >= READ_FLUSH_MIN && total >= keys.saturating_mul(READS_PER_KEY) {
            self.flush(which);
        }
    }

    fn property(&self, which: Scanned, name: &str) -> Option<u64> {
        let family = family(&self.db, which.name()).ok()?;
        self.db.property_int_value_cf(family, name).ok().flatten()
    }

    /// Has the family flushed in the background, and starts its counts again. A flush
    /// that cannot start leaves the memtable to RocksDB's own rules; two at once (another
    /// thread weighed the same counts) flush once.
    fn flush(&self, which: Scanned) {
        self.counts.hidden[which as usize].store(0, Ordering::Relaxed);
        self.counts.read[which as usize].store(0, Ordering::Relaxed);
        let Ok(family) = family(&self.db, which.name()) else {
            return;
        };
        let mut options = rocksdb::FlushOptions::default();
        options.set_wait(false);
        let _ = self.db.flush_cf_opt(family, &options);
    }
}

/// Adds `n` to `count`; the new total if it passed a multiple of [`STEP`].
fn passed_step(count: &AtomicU64, n: u64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let total = count.fetch_add(n, Ordering::Relaxed) + n;
    ((total - n) / STEP != total / STEP).then_some(total)
}
