//! What recent reads of the committed state found, in memory, in front of RocksDB: the
//! newest versions of rows, and the entries under an index's values.
//!
//! A point read of a row (a key lookup, a row fetched through an index entry, the read
//! before an update) is a RocksDB seek: a walk down the memtable's skip list, and the
//! files' index and data blocks below it, a cache miss or more at every level. So is a
//! lookup of an index's values (`k = 5`, each value of `k IN (...)`). Read again, either is
//! found here with one hash probe instead. The storage keeps two caches, one for rows
//! (keyed by a row's prefix, holding its newest version) and one for index lookups (keyed
//! by an index's prefix and the values of all its parts, holding the primary keys of the
//! entries under them).
//!
//! What a cache holds for a key is never older than the committed state a read could see:
//!
//! - a commit removes the keys it writes (a row's prefix; an index entry's values) from
//!   their shards *before* RocksDB has the write, and keeps each shard marked as being
//!   written until it does, so no reader meets an old version of them here from the moment
//!   the write could be visible;
//! - commits are counted once written, and each shard keeps the count of the last one
//!   that touched it. A reader takes the count before its RocksDB read (before its
//!   iterator is refreshed: one refresh may serve many keys) and offers what it read with
//!   it; the offer is kept only if no commit touching the shard was written since, and
//!   none is being written. A reader that read the old state while the write went in
//!   is thereby turned away, whatever the interleaving;
//! - a commit that rewrote one row (an update or a delete by key) keeps the version it
//!   wrote, once RocksDB has it, if no other commit wrote the row's shard at any time
//!   during its own: such a commit might have written the row too, and RocksDB may hold
//!   the two in either order. So the next statement on a row just changed finds it here.
//!   On the same terms a commit of a few index entries keeps the lookups it changed, each
//!   with its entries as written: what the cache held of them when the commit began was
//!   what RocksDB held.
//!
//! Each entry is stamped with a count of commits from which on RocksDB has held what it
//! holds: the count an offer's read took, or the count of the commit that kept it. An
//! entry is still there only if no commit has written its key since, so a read that took
//! a count at least its stamp (a transaction's snapshot does so before it is taken) would
//! have found in RocksDB what it holds. Snapshots read through the caches on those terms,
//! and offer what they read as any read does.
//!
//! Each cache holds at most the bytes it is given; a full shard drops the entries not
//! read since its last sweep (the clock policy, with a single sweep), or every other one
//! if all were.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::keyspace::SEQ_LEN;

/// Shards of the cache, each under its own lock: enough that threads reading at once
/// rarely meet on one. A commit notes the shards it writes in a `u64`, a bit each.
const SHARDS: usize = u64::BITS as usize;

/// Keys of one shard whose entries [`Cache::lookup_many`] finds at once.
const FOUND_AT_ONCE: usize = 8;

/// What an entry costs beyond its bytes: the map's slot, the `Arc`'s counts and the
/// allocation's header, roughly.
const ENTRY_OVERHEAD: usize = 48;

/// What a cache holds for a key, in one allocation: the key (a row's prefix, an index
/// lookup's) and what was read under it (a row's version: the suffix of its key, the
/// inverted sequence number, and its stored value, tag and row bytes; a lookup's entries).
/// It carries the key's hash, so that the map finds the entry of a key without reading
/// the keys of others, and many keys' entries are found before any is read (see
/// [`Cache::lookup_many`]).
#[derive(Clone, Debug)]
pub(super) struct Cached {
    bytes: Arc<[u8]>,
    hash: u64,
    /// The count of commits from which on RocksDB has held it (see the module docs).
    from: u64,
    prefix: u32,
}

impl Cached {
    /// `prefix` (whose hash is `hash`) and `parts` one after the other; their length is
    /// below `u32::MAX` (see [`Cache::fits`]).
    fn new(hash: u64, prefix: &[u8], parts: &[&[u8]], from: u64) -> Self {
        let mut bytes =
            Vec::with_capacity(prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        bytes.extend_from_slice(prefix);
        for part in parts {
            bytes.extend_from_slice(part);
        }
        Cached {
            bytes: bytes.into(),
            hash,
            from,
            prefix: prefix.len() as u32,
        }
    }

    fn prefix(&self) -> &[u8] {
        &self.bytes[..self.prefix as usize]
    }

    /// What was read under the key.
    pub(super) fn read(&self) -> &[u8] {
        &self.bytes[self.prefix as usize..]
    }

    /// The suffix of a row version's key.
    pub(super) fn seq(&self) -> &[u8] {
        &self.read()[..SEQ_LEN]
    }

    /// A row version's stored value.
    pub(super) fn value(&self) -> &[u8] {
        &self.read()[SEQ_LEN..]
    }

    fn cost(&self) -> usize {
        cost(self.bytes.len())
    }
}

/// What an entry of `len` bytes (prefix, key suffix and value) counts against the cache.
fn cost(len: usize) -> usize {
    len + ENTRY_OVERHEAD
}

/// An entry of a shard's map, and whether it was read since the last sweep (a `Cell`: a
/// lookup sets it through the shared reference that also clones the entry).
type Slot = (Cached, Cell<bool>);

/// Whether a slot holds the key `prefix`, whose hash is `hash`.
fn holds(hash: u64, prefix: &[u8]) -> impl Fn(&Slot) -> bool {
    move |(cached, _)| cached.hash == hash && cached.prefix() == prefix
}

#[derive(Default)]
struct Shard {
    /// What is held for each key, by the key's hash.
    entries: HashTable<Slot>,
    bytes: usize,
    /// The count of the last written commit that touched the shard.
    written: u64,
    /// Commits touching the shard whose write may not be in RocksDB yet.
    writing: u32,
    /// The ticket of the last commit that began writing the shard.
    started: u64,
}

impl Shard {
    /// What the shard holds for `prefix`, marked as read, if a read begun at `since` would
    /// have found it in RocksDB.
    fn find(&self, (hash, prefix): (u64, &[u8]), since: Since) -> Option<Cached> {
        Self::take(self.get(hash, prefix), since)
    }

    /// The slot of `prefix`, whose hash is `hash`.
    fn get(&self, hash: u64, prefix: &[u8]) -> Option<&Slot> {
        self.entries.find(hash, holds(hash, prefix))
    }

    /// Takes the entry of `prefix` (whose hash is `hash`) out of the shard.
    fn remove(&mut self, hash: u64, prefix: &[u8]) -> Option<Cached> {
        let found = self.entries.find_entry(hash, holds(hash, prefix)).ok()?;
        let ((old, _), _) = found.remove();
        self.bytes -= old.cost();
        Some(old)
    }

    /// `found`, marked as read, if a read begun at `since` would have found it in RocksDB.
    fn take(found: Option<&Slot>, since: Since) -> Option<Cached> {
        let (cached, used) = found?;
        if cached.from > since.0 {
            return None;
        }
        // Written only when it changes, so that reads of a hot entry leave its line clean.
        if !used.get() {
            used.set(true);
        }
        Some(cached.clone())
    }

    /// Makes room for `needed` more bytes within `budget`.
    fn sweep(&mut self, needed: usize, budget: usize) {
        if self.bytes + needed <= budget {
            return;
        }
        let mut bytes = self.bytes;
        self.entries.retain(|(cached, used)| {
            let keep = used.replace(false);
            if !keep {
                bytes -= cached.cost();
            }
            keep
        });
        let mut odd = false;
        if bytes + needed > budget {
            // Every entry was read since the last sweep.
            self.entries.retain(|(cached, _)| {
                odd = !odd;
                if odd {
                    bytes -= cached.cost();
                }
                !odd
            });
        }
        self.bytes = bytes;
    }

    /// Keeps `cached`, in place of what the shard held for its key, within `budget`.
    fn put(&mut self, cached: Cached, budget: usize) {
        let needed = cached.cost();
        self.sweep(needed, budget);
        self.remove(cached.hash, cached.prefix());
        let hash = cached.hash;
        self.entries
            .insert_unique(hash, (cached, Cell::new(false)), |(cached, _)| cached.hash);
        self.bytes += needed;
    }
}

/// A cache; see the module's documentation.
pub(super) struct Cache {
    shards: Box<[Mutex<Shard>]>,
    /// Commits written (or failed) so far.
    commits: AtomicU64,
    /// Commits begun so far: each one's ticket.
    tickets: AtomicU64,
    hasher: RandomState,
    /// Each shard's share of the cache's bytes.
    shard_bytes: usize,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("shard_bytes", &self.shard_bytes)
            .finish_non_exhaustive()
    }
}

/// How many commits were written when a read began (see [`Cache::since`]), or when the
/// snapshot it reads was taken.
#[derive(Clone, Copy, Debug)]
pub(super) struct Since(u64);

impl Cache {
    /// A cache of at most `bytes`.
    pub(super) fn new(bytes: usize) -> Self {
        Cache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            commits: AtomicU64::new(0),
            tickets: AtomicU64::new(0),
            hasher: RandomState::default(),
            shard_bytes: bytes / SHARDS,
        }
    }

    /// The hash of `prefix`.
    fn hash(&self, prefix: &[u8]) -> u64 {
        self.hasher.hash_one(prefix)
    }

    /// The shard of a key whose hash is `hash`.
    fn shard_at(hash: u64) -> usize {
        // Bits the map inside the shard leaves alone: it indexes by the low ones, and
        // tells entries in a probe apart by the top seven.
        (hash >> 32) as usize % SHARDS
    }

    #[cfg(test)]
    fn shard_of(&self, prefix: &[u8]) -> usize {
        Self::shard_at(self.hash(prefix))
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // A poisoned shard is consistent (no update panics halfway): go on with it.
        self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an entry of `len` bytes (key and what was read under it) may be kept: at
    /// most an eighth of a shard, so that one entry never sweeps a shard empty (and below
    /// `u32::MAX`, which [`Cached`] counts its key's length in).
    pub(super) fn fits(&self, len: usize) -> bool {
        cost(len) <= self.shard_bytes / 8 && u32::try_from(len).is_ok()
    }

    /// Where the commits stand: to take before a read of RocksDB whose rows are offered.
    pub(super) fn since(&self) -> Since {
        Since(self.commits.load(Ordering::Acquire))
    }

    /// What the cache holds for `prefix`, if a read begun at `since` (or of a snapshot
    /// taken then) would have found it in RocksDB.
    pub(super) fn lookup(&self, prefix: &[u8], since: Since) -> Option<Cached> {
        let hash = self.hash(prefix);
        let shard = self.lock(Self::shard_at(hash));
        shard.find((hash, prefix), since)
    }

    /// [`lookup`](Self::lookup) by a read that begins now.
    #[cfg(test)]
    pub(super) fn lookup_now(&self, prefix: &[u8]) -> Option<Cached> {
        self.lookup(prefix, self.since())
    }

    /// What the cache holds for each of many keys, in their order: [`lookup`](Self::lookup)
    /// of many keys, with each shard locked once for all its keys. Each lookup is a chain
    /// of misses on memory (the map's control bytes, its slot, the entry's bytes), and so
    /// that the keys' chains overlap rather than follow each other, nothing orders them:
    /// a lock is an atomic read-modify-write, which orders the loads around it, and so is
    /// a clone of an entry; a comparison of keys waits on the entry's bytes, and its
    /// branch on them. So a few keys of a shard at a time are found by their hashes
    /// alone, then their keys compared (each to its entry's bytes, all of them loading
    /// by then), then their entries cloned. `prefix(i)` is the `i`th of `count` keys.
    pub(super) fn lookup_many<'p>(
        &self,
        since: Since,
        count: usize,
        prefix: impl Fn(usize) -> &'p [u8],
    ) -> Vec<Option<Cached>> {
        // One key: nothing to group by shard or to overlap.
        if count == 1 {
            return vec![self.lookup(prefix(0), since)];
        }
        let hashes: Vec<u64> = (0..count).map(|i| self.hash(prefix(i))).collect();
        // The keys' positions grouped by shard (a counting sort): `order[starts[s]..starts[s
        // + 1]]` are shard `s`'s.
        let mut starts = [0usize; SHARDS + 1];
        for &hash in &hashes {
            starts[Self::shard_at(hash) + 1] += 1;
        }
        for shard in 0..SHARDS {
            starts[shard + 1] += starts[shard];
        }
        let mut next = starts;
        let mut order = vec![0; count];
        for (i, &hash) in hashes.iter().enumerate() {
            let at = &mut next[Self::shard_at(hash)];
            order[*at] = i;
            *at += 1;
        }
        let mut found = vec![None; count];
        for (index, keys) in starts.windows(2).enumerate() {
            if keys[0] == keys[1] {
                continue;
            }
            let shard = self.lock(index);
            for keys in order[keys[0]..keys[1]].chunks(FOUND_AT_ONCE) {
                let mut slots = [None; FOUND_AT_ONCE];
                for (slot, &i) in slots.iter_mut().zip(keys) {
                    let hash = hashes[i];
                    *slot = shard.entries.find(hash, |(cached, _)| cached.hash == hash);
                }
                let mut same = [false; FOUND_AT_ONCE];
                for ((same, slot), &i) in same.iter_mut().zip(&slots).zip(keys) {
                    *same = slot.is_none_or(|(cached, _)| cached.prefix() == prefix(i));
                }
                for ((&i, slot), same) in keys.iter().zip(slots).zip(same) {
                    // Another key of the same hash: look again, comparing keys.
                    let slot = if same {
                        slot
                    } else {
                        shard.get(hashes[i], prefix(i))
                    };
                    found[i] = Shard::take(slot, since);
                }
            }
        }
        found
    }

    /// Keeps the version of the row `prefix` (`key` its full key) that a read of RocksDB
    /// begun at `since` found, as [`offer`](Self::offer) does.
    pub(super) fn offer_version(&self, since: Since, prefix: &[u8], key: &[u8], value: &[u8]) {
        if let Some(seq) = key.strip_prefix(prefix).filter(|seq| seq.len() == SEQ_LEN) {
            self.offer(since, prefix, &[seq, value]);
        }
    }

    /// Keeps `parts`, one after the other, as what a read of RocksDB begun at `since`
    /// found under `prefix`, unless a commit touching the shard was written since then or
    /// is being written.
    pub(super) fn offer(&self, since: Since, prefix: &[u8], parts: &[&[u8]]) {
        let len = prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        if !self.fits(len) {
            return;
        }
        let hash = self.hash(prefix);
        let mut shard = self.lock(Self::shard_at(hash));
        if shard.written > since.0 || shard.writing > 0 {
            return;
        }
        shard.put(Cached::new(hash, prefix, parts, since.0), self.shard_bytes);
    }

    /// Marks the shards of the keys `prefixes` as being written and drops the keys from
    /// them (every key of every shard if `all`), until the returned guard is dropped:
    /// hold it over the write.
    pub(super) fn writing<'a>(
        &'a self,
        prefixes: impl Iterator<Item = &'a [u8]>,
        all: bool,
    ) -> Writing<'a> {
        self.begin_writing(prefixes, all, false)
    }

    /// [`writing`](Self::writing), the entries dropped kept in the guard, for
    /// [`Writing::rewritten`] to make the written state of them.
    pub(super) fn writing_taken<'a>(
        &'a self,
        prefixes: impl Iterator<Item = &'a [u8]>,
    ) -> Writing<'a> {
        self.begin_writing(prefixes, false, true)
    }

    fn begin_writing<'a>(
        &'a self,
        prefixes: impl Iterator<Item = &'a [u8]>,
        all: bool,
        take: bool,
    ) -> Writing<'a> {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed) + 1;
        let (mut shards, mut alone) = (0u64, 0u64);
        let mut taken = Vec::new();
        let mut begin = |index: usize, shard: &mut Shard| {
            if shards & 1 << index == 0 {
                shards |= 1 << index;
                if shard.writing == 0 {
                    alone |= 1 << index;
                }
                shard.writing += 1;
                shard.started = ticket;
            }
        };
        if all {
            for index in 0..SHARDS {
                let mut shard = self.lock(index);
                begin(index, &mut shard);
                shard.entries.clear();
                shard.bytes = 0;
            }
        } else {
            for prefix in prefixes {
                let hash = self.hash(prefix);
                let index = Self::shard_at(hash);
                let mut shard = self.lock(index);
                begin(index, &mut shard);
                if let Some(old) = shard.remove(hash, prefix)
                    && take
                {
                    taken.push(old);
                }
            }
        }
        Writing {
            cache: self,
            shards,
            ticket,
            alone,
            taken,
            keep: Vec::new(),
        }
    }
}

/// Shards being written; dropping it (the write done or failed) ends that.
pub(super) struct Writing<'a> {
    cache: &'a Cache,
    /// A bit per shard written.
    shards: u64,
    /// The commit's ticket, and a bit per shard that no other commit was writing when
    /// this one began.
    ticket: u64,
    alone: u64,
    /// What the shards held for the keys written when the write began, if asked for (see
    /// [`Cache::writing_taken`]).
    taken: Vec<Cached>,
    /// What to keep once the write ends (see [`Writing::written`]).
    keep: Vec<Cached>,
}

impl Writing<'_> {
    /// Ends the write, which RocksDB has, keeping what it wrote of the row `prefix` (the
    /// suffix of the version's key and the stored value, in `parts`) as the row's newest
    /// version: unless another commit wrote the row's shard while this one did, which
    /// might have written the row too, in either order.
    pub(super) fn written(mut self, prefix: &[u8], parts: &[&[u8]]) {
        let len = prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        if self.cache.fits(len) {
            // Stamped once the commit is counted.
            let hash = self.cache.hash(prefix);
            self.keep.push(Cached::new(hash, prefix, parts, u64::MAX));
        }
    }

    /// Ends the write, which RocksDB has, keeping for each key whose entry was taken when
    /// it began what `written` makes of it (from the key and what the entry held): what
    /// RocksDB now holds under the key, as what the cache held was what it held before.
    /// As with [`written`](Self::written), only in shards no other commit wrote meanwhile.
    pub(super) fn rewritten(mut self, written: impl Fn(&[u8], &[u8]) -> Option<Vec<u8>>) {
        for old in std::mem::take(&mut self.taken) {
            if let Some(read) = written(old.prefix(), old.read())
                && self.cache.fits(old.prefix().len() + read.len())
            {
                self.keep
                    .push(Cached::new(old.hash, old.prefix(), &[&read], u64::MAX));
            }
        }
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut keep: Vec<(usize, Cached)> = std::mem::take(&mut self.keep)
            .into_iter()
            .map(|cached| (Cache::shard_at(cached.hash), cached))
            .collect();
        // Counted after the write: a read that takes this count or a later one sees it.
        let count = self.cache.commits.fetch_add(1, Ordering::AcqRel) + 1;
        for index in (0..SHARDS).filter(|&index| self.shards & 1 << index != 0) {
            let mut shard = self.cache.lock(index);
            shard.writing -= 1;
            shard.written = count;
            // Alone from the beginning to the end: no other commit overlapped this one.
            if self.alone & 1 << index != 0 && shard.started == self.ticket {
                for (_, mut cached) in keep.extract_if(.., |(at, _)| *at == index) {
                    cached.from = count;
                    shard.put(cached, self.cache.shard_bytes);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(cache: &Cache, prefix: &[u8], seq: u8, row: &[u8]) {
        assert!(
            cache.lookup_now(prefix).is_none(),
            "{prefix:?} is cached already"
        );
        let key = [prefix, &[seq; SEQ_LEN]].concat();
        cache.offer_version(cache.since(), prefix, &key, row);
    }

    fn hit(cache: &Cache, prefix: &[u8]) -> Option<(u8, Vec<u8>)> {
        let version = cache.lookup_now(prefix)?;
        Some((version.seq()[0], version.value().to_vec()))
    }

    #[test]
    fn an_offered_version_is_found_until_a_write_drops_it() {
        let cache = Cache::new(1 << 20);
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
        let cache = Cache::new(1 << 20);
        let old_key = [&b"row"[..], &[1; 8]].concat();
        // Read before the write began, offered after it ended.
        let before = cache.since();
        drop(cache.writing([&b"row"[..]].into_iter(), false));
        cache.offer_version(before, b"row", &old_key, b"old");
        assert_eq!(hit(&cache, b"row"), None);
        // Read and offered while the write is under way.
        let writing = cache.writing([&b"row"[..]].into_iter(), false);
        cache.offer_version(cache.since(), b"row", &old_key, b"old");
        assert_eq!(hit(&cache, b"row"), None);
        drop(writing);
        // After it: kept.
        offer(&cache, b"row", 2, b"new");
        assert_eq!(hit(&cache, b"row"), Some((2, b"new".to_vec())));
    }

    #[test]
    fn an_entry_serves_only_reads_that_began_once_rocksdb_held_it() {
        let cache = Cache::new(1 << 20);
        let key = [&b"row"[..], &[1; SEQ_LEN]].concat();
        let first = cache.since();
        drop(cache.writing([&b"other"[..]].into_iter(), false));
        // Read and offered after one commit: a snapshot taken before it does not take it.
        let second = cache.since();
        cache.offer_version(second, b"row", &key, b"one");
        assert!(cache.lookup(b"row", first).is_none());
        assert!(cache.lookup(b"row", second).is_some());
        // Kept by the commit that wrote it: only for reads that count that commit.
        cache
            .writing([&b"row"[..]].into_iter(), false)
            .written(b"row", &[&[1; SEQ_LEN], b"two"]);
        assert!(cache.lookup(b"row", second).is_none());
        let third = cache.since();
        assert_eq!(
            cache.lookup(b"row", third).map(|c| c.value().to_vec()),
            Some(b"two".to_vec())
        );
    }

    #[test]
    fn a_version_written_alone_is_kept_as_the_rows_newest() {
        let cache = Cache::new(1 << 20);
        offer(&cache, b"row", 1, b"old");
        cache
            .writing([&b"row"[..]].into_iter(), false)
            .written(b"row", &[&[2; SEQ_LEN], b"new"]);
        assert_eq!(hit(&cache, b"row"), Some((2, b"new".to_vec())));
        // A read begun before the write offers what it read too late to be kept.
        let before = Since(0);
        cache.offer_version(
            before,
            b"row",
            &[&b"row"[..], &[1; SEQ_LEN]].concat(),
            b"old",
        );
        assert_eq!(hit(&cache, b"row"), Some((2, b"new".to_vec())));
    }

    #[test]
    fn entries_taken_by_a_write_alone_are_kept_as_it_rewrites_them() {
        let cache = Cache::new(1 << 20);
        let held = |key: &[u8]| cache.lookup_now(key).map(|c| c.read().to_vec());
        cache.offer(cache.since(), b"lookup-1", &[b"a"]);
        cache.offer(cache.since(), b"lookup-2", &[b"b"]);
        let keys = [&b"lookup-1"[..], b"lookup-2", b"lookup-3"];
        // Each entry held when the write began, rewritten; a key not held gets nothing,
        // and an entry rewritten to nothing is dropped.
        cache
            .writing_taken(keys.into_iter())
            .rewritten(|key, read| (key != b"lookup-2").then(|| [read, b"+"].concat()));
        assert_eq!(held(b"lookup-1").as_deref(), Some(&b"a+"[..]));
        assert_eq!(held(b"lookup-2"), None);
        assert_eq!(held(b"lookup-3"), None);
        // Another commit on the shard meanwhile: nothing kept.
        let other = (0..1000u32)
            .map(|n| format!("other-{n}").into_bytes())
            .find(|p| cache.shard_of(p) == cache.shard_of(b"lookup-1"))
            .unwrap();
        let outer = cache.writing_taken([&b"lookup-1"[..]].into_iter());
        drop(cache.writing([other.as_slice()].into_iter(), false));
        outer.rewritten(|_, read| Some(read.to_vec()));
        assert_eq!(held(b"lookup-1"), None);
        // Dropped without `rewritten` (the write failed): nothing kept.
        cache.offer(cache.since(), b"lookup-1", &[b"a"]);
        drop(cache.writing_taken([&b"lookup-1"[..]].into_iter()));
        assert_eq!(held(b"lookup-1"), None);
    }

    #[test]
    fn a_version_written_beside_another_commit_on_its_shard_is_not_kept() {
        let cache = Cache::new(1 << 20);
        let new = |seq: u8| [vec![seq; SEQ_LEN], b"new".to_vec()];
        // Either commit may have been written to RocksDB first, whichever ends first.
        for first_ends in [true, false] {
            let first = cache.writing([&b"row"[..]].into_iter(), false);
            let second = cache.writing([&b"row"[..]].into_iter(), false);
            let (one, two) = (new(1), new(2));
            fn parts(v: &[Vec<u8>; 2]) -> [&[u8]; 2] {
                [&v[0], &v[1]]
            }
            if first_ends {
                first.written(b"row", &parts(&one));
                second.written(b"row", &parts(&two));
            } else {
                second.written(b"row", &parts(&two));
                first.written(b"row", &parts(&one));
            }
            assert_eq!(hit(&cache, b"row"), None, "first ends first: {first_ends}");
        }
        // A commit of another row of the shard, begun and ended inside this one's.
        let other = (0..1000u32)
            .map(|n| format!("other-{n}").into_bytes())
            .find(|p| cache.shard_of(p) == cache.shard_of(b"row"))
            .unwrap();
        let outer = cache.writing([&b"row"[..]].into_iter(), false);
        drop(cache.writing([other.as_slice()].into_iter(), false));
        outer.written(b"row", &[&[3; SEQ_LEN], b"new"]);
        assert_eq!(hit(&cache, b"row"), None);
        // Alone again, it is kept.
        cache
            .writing([&b"row"[..]].into_iter(), false)
            .written(b"row", &[&[4; SEQ_LEN], b"new"]);
        assert_eq!(hit(&cache, b"row"), Some((4, b"new".to_vec())));
    }

    #[test]
    fn a_full_shard_drops_what_was_not_read_since_its_last_sweep() {
        // One shard's budget holds eight entries of this size, the largest it keeps.
        let size = Cached::new(0, b"row-00000", &[&[0; SEQ_LEN], &[0; 100]], 0).cost();
        let cache = Cache::new(size * 8 * SHARDS);
        let mut in_shard = Vec::new();
        for n in 0..10_000u32 {
            let prefix = format!("row-{n:05}").into_bytes();
            if cache.shard_of(&prefix) == 0 {
                in_shard.push(prefix);
            }
        }
        for prefix in &in_shard[..8] {
            offer(&cache, prefix, 1, &[0; 100]);
        }
        // Read every other one; the ninth entry sweeps the others out.
        for prefix in in_shard[..8].iter().step_by(2) {
            assert!(hit(&cache, prefix).is_some());
        }
        offer(&cache, &in_shard[8], 1, &[0; 100]);
        let kept: Vec<bool> = in_shard[..9]
            .iter()
            .map(|p| hit(&cache, p).is_some())
            .collect();
        assert_eq!(
            kept,
            [true, false, true, false, true, false, true, false, true]
        );
        assert!(cache.lock(0).bytes <= cache.shard_bytes);
    }

    #[test]
    fn an_entry_over_an_eighth_of_a_shard_is_not_kept() {
        let size = Cached::new(0, b"lookup-1", &[&[0; 100]], 0).cost();
        let cache = Cache::new(size * 8 * SHARDS);
        cache.offer(cache.since(), b"lookup-1", &[&[0; 100]]);
        assert!(cache.lookup_now(b"lookup-1").is_some());
        cache.offer(cache.since(), b"lookup-2", &[&[0; 101]]);
        assert!(cache.lookup_now(b"lookup-2").is_none());
    }
}
