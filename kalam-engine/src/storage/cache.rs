//! The newest committed version of recently read rows, in memory, in front of RocksDB.
//!
//! A point read of a row (a key lookup, a row fetched through an index entry, the read
//! before an update) is a RocksDB seek: a walk down the memtable's skip list, and the
//! files' index and data blocks below it, a cache miss or more at every level. A row read
//! again is found here with one hash probe instead. Only reads of the committed state use
//! it; a transaction's snapshot reads RocksDB.
//!
//! A cached version is never older than the committed state a read could see:
//!
//! - a commit removes the rows it writes from their shards *before* RocksDB has the write,
//!   and keeps each shard marked as being written until it does, so no reader meets an old
//!   version of them here from the moment the write could be visible;
//! - commits are counted once written, and each shard keeps the count of the last one
//!   that touched it. A reader takes the count before its RocksDB read (before its
//!   iterator is refreshed: one refresh may serve many rows) and offers what it read with
//!   it; the offer is kept only if no commit touching the shard was written since, and
//!   none is being written. A reader that read the old version while the write went in
//!   is thereby turned away, whatever the interleaving.
//!
//! The cache holds at most [`ROW_CACHE_BYTES`](super::ROW_CACHE_BYTES); a full shard
//! drops the entries not read since its last sweep (the clock policy, with a single
//! sweep), or every other one if all were.

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use foldhash::fast::RandomState;

use super::keyspace::SEQ_LEN;

/// Shards of the cache, each under its own lock: enough that threads reading at once
/// rarely meet on one. A commit notes the shards it writes in a `u64`, a bit each.
const SHARDS: usize = u64::BITS as usize;

/// What an entry costs beyond its bytes: the map's slot, the `Arc`'s counts and the
/// allocation's header, roughly.
const ENTRY_OVERHEAD: usize = 48;

/// A cached version of a row, in one allocation: the row's prefix, the suffix of the
/// version's key (the inverted sequence number) and its stored value (tag and row bytes).
/// The map's key too, found by the prefix alone.
#[derive(Clone, Debug)]
pub(super) struct Cached {
    bytes: Arc<[u8]>,
    prefix: usize,
}

impl Cached {
    fn new(prefix: &[u8], seq: &[u8], value: &[u8]) -> Self {
        Cached {
            bytes: [prefix, seq, value].concat().into(),
            prefix: prefix.len(),
        }
    }

    fn prefix(&self) -> &[u8] {
        &self.bytes[..self.prefix]
    }

    /// The suffix of the version's key.
    pub(super) fn seq(&self) -> &[u8] {
        &self.bytes[self.prefix..self.prefix + SEQ_LEN]
    }

    /// The version's stored value.
    pub(super) fn value(&self) -> &[u8] {
        &self.bytes[self.prefix + SEQ_LEN..]
    }

    fn cost(&self) -> usize {
        cost(self.bytes.len())
    }
}

/// What an entry of `len` bytes (prefix, key suffix and value) counts against the cache.
fn cost(len: usize) -> usize {
    len + ENTRY_OVERHEAD
}

impl Borrow<[u8]> for Cached {
    fn borrow(&self) -> &[u8] {
        self.prefix()
    }
}

// Hashed and compared as the prefix, so that the map finds an entry by a prefix.
impl Hash for Cached {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.prefix().hash(state);
    }
}

impl PartialEq for Cached {
    fn eq(&self, other: &Self) -> bool {
        self.prefix() == other.prefix()
    }
}

impl Eq for Cached {}

#[derive(Default)]
struct Shard {
    /// Each row's version, and whether it was read since the last sweep (a `Cell`: a
    /// lookup sets it through the shared reference that also clones the version).
    rows: HashMap<Cached, Cell<bool>, RandomState>,
    bytes: usize,
    /// The count of the last written commit that touched the shard.
    written: u64,
    /// Commits touching the shard whose write may not be in RocksDB yet.
    writing: u32,
}

impl Shard {
    /// Makes room for `needed` more bytes within `budget`.
    fn sweep(&mut self, needed: usize, budget: usize) {
        if self.bytes + needed <= budget {
            return;
        }
        let mut bytes = self.bytes;
        self.rows.retain(|cached, used| {
            let keep = used.replace(false);
            if !keep {
                bytes -= cached.cost();
            }
            keep
        });
        let mut odd = false;
        if bytes + needed > budget {
            // Every entry was read since the last sweep.
            self.rows.retain(|cached, _| {
                odd = !odd;
                if odd {
                    bytes -= cached.cost();
                }
                !odd
            });
        }
        self.bytes = bytes;
    }
}

/// The cache; see the module's documentation.
pub(super) struct RowCache {
    shards: Box<[Mutex<Shard>]>,
    /// Commits written (or failed) so far.
    commits: AtomicU64,
    hasher: RandomState,
    /// Each shard's share of the cache's bytes.
    shard_bytes: usize,
}

impl std::fmt::Debug for RowCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowCache")
            .field("shard_bytes", &self.shard_bytes)
            .finish_non_exhaustive()
    }
}

/// How many commits were written when a read began (see [`RowCache::since`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Since(u64);

impl RowCache {
    /// A cache of at most `bytes`.
    pub(super) fn new(bytes: usize) -> Self {
        RowCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            commits: AtomicU64::new(0),
            hasher: RandomState::default(),
            shard_bytes: bytes / SHARDS,
        }
    }

    fn shard_of(&self, prefix: &[u8]) -> usize {
        // The high bits: the map inside the shard indexes by the low ones.
        (self.hasher.hash_one(prefix) >> (u64::BITS - SHARDS.ilog2())) as usize
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // A poisoned shard is consistent (no update panics halfway): go on with it.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the commits stand: to take before a read of RocksDB whose rows are offered.
    pub(super) fn since(&self) -> Since {
        Since(self.commits.load(Ordering::Acquire))
    }

    /// The cached newest version of the row whose prefix is `prefix`.
    pub(super) fn lookup(&self, prefix: &[u8]) -> Option<Cached> {
        let shard = self.lock(self.shard_of(prefix));
        let (cached, used) = shard.rows.get_key_value(prefix)?;
        used.set(true);
        Some(cached.clone())
    }

    /// Keeps the version of the row `prefix` (`key` its full key) that a read of RocksDB
    /// begun at `since` found, unless a commit touching the shard was written since then
    /// or is being written.
    pub(super) fn offer(&self, since: Since, prefix: &[u8], key: &[u8], value: &[u8]) {
        let Some(seq) = key.strip_prefix(prefix).filter(|seq| seq.len() == SEQ_LEN) else {
            return;
        };
        let needed = cost(prefix.len() + SEQ_LEN + value.len());
        if needed > self.shard_bytes {
            return;
        }
        let mut shard = self.lock(self.shard_of(prefix));
        if shard.written > since.0 || shard.writing > 0 {
            return;
        }
        shard.sweep(needed, self.shard_bytes);
        let cached = Cached::new(prefix, seq, value);
        // `insert` would keep the old key, and with it the old version.
        if let Some((old, _)) = shard.rows.remove_entry(prefix) {
            shard.bytes -= old.cost();
        }
        shard.rows.insert(cached, Cell::new(false));
        shard.bytes += needed;
    }

    /// Marks the shards of the rows `prefixes` as being written and drops the rows from
    /// them (every row of every shard if `all`), until the returned guard is dropped:
    /// hold it over the write.
    pub(super) fn writing<'a>(
        &'a self,
        prefixes: impl Iterator<Item = &'a [u8]>,
        all: bool,
    ) -> Writing<'a> {
        let mut shards = 0u64;
        if all {
            for index in 0..SHARDS {
                let mut shard = self.lock(index);
                shard.writing += 1;
                shard.rows.clear();
                shard.bytes = 0;
            }
            shards = u64::MAX;
        } else {
            for prefix in prefixes {
                let index = self.shard_of(prefix);
                let mut shard = self.lock(index);
                if shards & 1 << index == 0 {
                    shards |= 1 << index;
                    shard.writing += 1;
                }
                if let Some((old, _)) = shard.rows.remove_entry(prefix) {
                    shard.bytes -= old.cost();
                }
            }
        }
        Writing {
            cache: self,
            shards,
        }
    }
}

/// Shards being written; dropping it (the write done or failed) ends that.
pub(super) struct Writing<'a> {
    cache: &'a RowCache,
    /// A bit per shard written.
    shards: u64,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        // Counted after the write: a read that takes this count or a later one sees it.
        let count = self.cache.commits.fetch_add(1, Ordering::AcqRel) + 1;
        for index in (0..SHARDS).filter(|&index| self.shards & 1 << index != 0) {
            let mut shard = self.cache.lock(index);
            shard.writing -= 1;
            shard.written = count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(cache: &RowCache, prefix: &[u8], seq: u8, row: &[u8]) {
        assert!(
            cache.lookup(prefix).is_none(),
            "{prefix:?} is cached already"
        );
        let key = [prefix, &[seq; SEQ_LEN]].concat();
        cache.offer(cache.since(), prefix, &key, row);
    }

    fn hit(cache: &RowCache, prefix: &[u8]) -> Option<(u8, Vec<u8>)> {
        let version = cache.lookup(prefix)?;
        Some((version.seq()[0], version.value().to_vec()))
    }

    #[test]
    fn an_offered_version_is_found_until_a_write_drops_it() {
        let cache = RowCache::new(1 << 20);
        offer(&cache, b"row-1", 7, b"one");
        offer(&cache, b"row-2", 8, b"two");
        assert_eq!(hit(&cache, b"row-1"), Some((7, b"one".to_vec())));
        drop(cache.writing([&b"row-1"[..]].into_iter(), false));
        assert_eq!(hit(&cache, b"row-1"), None);
        assert_eq!(hit(&cache, b"row-2"), Some((8, b"two".to_vec())));
        drop(cache.writing(std::iter::empty(), true));
        assert_eq!(hit(&cache, b"row-2"), None);
    }

    #[test]
    fn a_read_that_a_write_overlapped_is_not_kept() {
        let cache = RowCache::new(1 << 20);
        let old_key = [&b"row"[..], &[1; 8]].concat();
        // Read before the write began, offered after it ended.
        let before = cache.since();
        drop(cache.writing([&b"row"[..]].into_iter(), false));
        cache.offer(before, b"row", &old_key, b"old");
        assert_eq!(hit(&cache, b"row"), None);
        // Read and offered while the write is under way.
        let writing = cache.writing([&b"row"[..]].into_iter(), false);
        cache.offer(cache.since(), b"row", &old_key, b"old");
        assert_eq!(hit(&cache, b"row"), None);
        drop(writing);
        // After it: kept.
        offer(&cache, b"row", 2, b"new");
        assert_eq!(hit(&cache, b"row"), Some((2, b"new".to_vec())));
    }

    #[test]
    fn a_full_shard_drops_what_was_not_read_since_its_last_sweep() {
        // One shard's budget holds four entries of this size.
        let size = Cached::new(b"row-00000", &[0; SEQ_LEN], &[0; 100]).cost();
        let cache = RowCache::new(size * 4 * SHARDS);
        let mut in_shard = Vec::new();
        for n in 0..10_000u32 {
            let prefix = format!("row-{n:05}").into_bytes();
            if cache.shard_of(&prefix) == 0 {
                in_shard.push(prefix);
            }
        }
        for prefix in &in_shard[..4] {
            offer(&cache, prefix, 1, &[0; 100]);
        }
        // Read two of them; the fifth entry sweeps the other two out.
        assert!(hit(&cache, &in_shard[0]).is_some());
        assert!(hit(&cache, &in_shard[2]).is_some());
        offer(&cache, &in_shard[4], 1, &[0; 100]);
        let kept: Vec<bool> = in_shard[..5]
            .iter()
            .map(|p| hit(&cache, p).is_some())
            .collect();
        assert_eq!(kept, [true, false, true, false, true]);
        assert!(cache.lock(0).bytes <= cache.shard_bytes);
    }
}
