//! Reads: the newest version of rows by key, in ranges and through index entries, and the
//! catalog's rows.

use std::borrow::BorrowMut;
use std::ops::Bound;

use rocksdb::{ColumnFamily, DBRawIterator, ReadOptions};

use super::cache::{Cached, Since};
use super::flush::Scanned;
use super::keyspace::{self, Scope, TableNumber};
use super::snapshot::{Pending, View};
use super::{CF_CATALOG, CF_INDEX, CF_ROWS, Storage, TAG_DELETED, TAG_ROW, family};
use crate::error::StorageError;

/// A stored version of a row.
#[derive(Debug)]
pub(crate) struct Version {
    /// Its full key, sequence number included.
    pub(crate) key: Vec<u8>,
    /// The row, or `None` for a deletion.
    pub(crate) row: Option<Vec<u8>>,
}

/// What a view holds of a row: see [`View::walk`].
enum Found<'a> {
    /// The open transaction's write.
    Pending(&'a Pending),
    /// The row cache's copy of the newest committed version.
    Cached(&'a Cached),
    /// The newest version RocksDB holds, under its full key.
    Stored { key: &'a [u8], value: &'a [u8] },
}

impl Found<'_> {
    /// The version found of the row whose prefix is `prefix`, copied out; a row the
    /// overlay holds is that version, under its prefix as its key.
    fn version(&self, prefix: &[u8]) -> Result<Version, StorageError> {
        Ok(match self {
            Found::Pending(pending) => Version {
                key: prefix.to_vec(),
                row: pending.row.clone(),
            },
            Found::Cached(version) => Version {
                key: [prefix, version.seq()].concat(),
                row: live(version.value())?.map(<[u8]>::to_vec),
            },
            Found::Stored { key, value } => Version {
                key: key.to_vec(),
                row: live(value)?.map(<[u8]>::to_vec),
            },
        })
    }
}

/// `(key, value)` pairs read from a column family, in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

impl Storage {
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
        self.now().get(table, scope, pk)
    }

    /// [`get`](Self::get) from RocksDB itself, past the row cache: what a read of a row
    /// costs the storage underneath (`kalam bench` reports it as the floor).
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub fn get_stored(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pk: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let prefix = keyspace::row_prefix(table, scope, pk);
        let version = self.now().stored_at(&prefix, None)?;
        Ok(version.and_then(|version| version.row))
    }

    /// [`get`](Self::get) of each of `pks`: the `(pk, row)` pairs of the rows that exist,
    /// in the order of `pks`.
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
        copied(|visit| self.now().visit_many(table, scope, pks, visit)).map(|(rows, ())| rows)
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
        Ok(RowIter::new(iter, prefix, scope_len, None))
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
        visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.now().index_keys(ranges, visit)
    }
}

impl<'v> View<'v> {
    /// The newest version of the row `pk` of `table` in `scope`, unless it was deleted.
    pub(crate) fn get(
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
        self.newest_at(&keyspace::row_prefix(table, scope, pk))
    }

    /// The newest version of the row whose prefix is `prefix`, live or a deletion. A row
    /// the overlay holds is that version, under its prefix as its key.
    pub(crate) fn newest_at(&self, prefix: &[u8]) -> Result<Option<Version>, StorageError> {
        if let Some(pending) = self.overlay.and_then(|o| o.rows.get(prefix)) {
            return Found::Pending(pending).version(prefix).map(Some);
        }
        let since = self.rows_since();
        if let Some(version) = self.storage.cache.lookup(prefix, since) {
            return Found::Cached(&version).version(prefix).map(Some);
        }
        self.stored_at(prefix, Some(since))
    }

    /// The newest version RocksDB holds of the row whose prefix is `prefix`, offered to
    /// the row cache as read `since` then, if given.
    fn stored_at(
        &self,
        prefix: &[u8],
        since: Option<Since>,
    ) -> Result<Option<Version>, StorageError> {
        self.storage.read_from(Scanned::Rows, 1);
        self.with_iter(CF_ROWS, None, |iter| {
            iter.seek(prefix);
            if let (Some(key), Some(value)) = (iter.key(), iter.value())
                && keyspace::is_version_of(key, prefix)
            {
                if let Some(since) = since {
                    self.storage.cache.offer_version(since, prefix, key, value);
                }
                return Found::Stored { key, value }.version(prefix).map(Some);
            }
            iter.status()?;
            Ok(None)
        })?
    }

    /// Each of `pks` that exists handed to `visit` as `(pk, row)`, in the order of `pks`.
    /// Sorted keys are read by one iterator moving forward (see [`Self::walk`]), so dense
    /// keys (an index range over much of a table) read as fast as a scan. Each key is
    /// looked up in the row cache first (a snapshot takes only what it would have read in
    /// RocksDB), and what the iterator finds is offered to it: a hit costs less than a
    /// step, so even dense keys read faster once cached.
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
        self.walk((table, scope), pks, |_, pk, _, found| {
            let row = match found {
                Found::Pending(pending) => pending.row.as_deref(),
                Found::Cached(version) => live(version.value())?,
                Found::Stored { value, .. } => live(value)?,
            };
            match row {
                Some(row) => visit(pk, row),
                None => Ok(()),
            }
        })
    }

    /// The newest version of each of `pks` of `table` in `scope`, live or a deletion, in
    /// the order of `pks`: [`Self::newest`] of many keys, read as [`Self::visit_many`]
    /// reads them. An INSERT's duplicate checks: its new keys, ascending past the table's
    /// last, cost one seek together.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read.
    pub(crate) fn newest_many(
        &self,
        table: TableNumber,
        scope: Scope<'_>,
        pks: &[&[u8]],
    ) -> Result<Vec<Option<Version>>, StorageError> {
        let mut newest: Vec<Option<Version>> = pks.iter().map(|_| None).collect();
        self.walk((table, scope), pks, |i, _, prefix, found| {
            newest[i] = Some(found.version(prefix)?);
            Ok::<_, StorageError>(())
        })?;
        Ok(newest)
    }

    /// Each of `pks` that the view holds a version of handed to `found` as `(its index in
    /// pks, pk, its row prefix, the version)`, in the order of `pks`: from the transaction's
    /// overlay, the row cache, or RocksDB. Sorted keys are read by one iterator moving
    /// forward: a key a few keys past the one before is reached by stepping, not seeking,
    /// and once the iterator has passed the last key of the family, no later key is
    /// sought; once steps fall short twice in a row, sparse keys are only sought. What the
    /// iterator finds is offered to the cache. Many keys are looked up in the cache
    /// together, before the iterator moves.
    fn walk<P: AsRef<[u8]>, E: From<StorageError>>(
        &self,
        (table, scope): (TableNumber, Scope<'_>),
        pks: &[P],
        mut found: impl FnMut(usize, &[u8], &[u8], Found<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let cache = &self.storage.cache;
        // Taken before the iterator is refreshed: everything it reads is that recent.
        let since = self.rows_since();
        let mut scratch = keyspace::scope_prefix(table, scope);
        let scope_len = scratch.len();
        // Many keys: their prefixes built once, and looked up in the cache together.
        let batch = (pks.len() >= CACHED_TOGETHER).then(|| Prefixes::new(&scratch, pks));
        self.with_iter(CF_ROWS, None, |iter| {
            // Ascending keys from one past the scope's last stored row (an INSERT's new
            // keys) are none of them stored: one seek says so, before any cache lookup.
            let mut at_first = false;
            if let Some(batch) = &batch
                && self.overlay.is_none()
                && pks.windows(2).all(|w| w[0].as_ref() < w[1].as_ref())
            {
                let first = batch.get(0);
                iter.seek(first);
                if !iter
                    .key()
                    .is_some_and(|key| key.starts_with(&first[..scope_len]))
                {
                    self.storage.read_from(Scanned::Rows, 1);
                    iter.status().map_err(StorageError::from)?;
                    return Ok(());
                }
                at_first = true;
            }
            let mut cached = batch.as_ref().map_or_else(Vec::new, |batch| {
                cache.lookup_many(since, pks.len(), |i| batch.get(i))
            });
            let mut misses = 0;
            let mut read = 0;
            // The key the iterator was last moved to.
            let mut at: Option<&[u8]> = None;
            for (i, pk) in pks.iter().map(AsRef::as_ref).enumerate() {
                let prefix = match &batch {
                    Some(batch) => batch.get(i),
                    None => {
                        scratch.truncate(scope_len);
                        scratch.extend_from_slice(pk);
                        &scratch
                    }
                };
                if let Some(pending) = self.overlay.and_then(|o| o.rows.get(prefix)) {
                    found(i, pk, prefix, Found::Pending(pending))?;
                    continue;
                }
                let hit = match cached.get_mut(i) {
                    Some(hit) => hit.take(),
                    None => cache.lookup(prefix, since),
                };
                if let Some(version) = hit {
                    found(i, pk, prefix, Found::Cached(&version))?;
                    continue;
                }
                read += 1;
                // Stepping only goes forward: a key before the last one is sought. Sought
                // at the first key above, the iterator steps from there to any of them.
                let from_first = std::mem::take(&mut at_first);
                let stepped = (from_first || (misses < MISSES && at.is_some_and(|at| at < pk)))
                    && step_to(iter, prefix);
                if stepped {
                    misses = 0;
                } else {
                    misses += usize::from(at.is_some());
                    iter.seek(prefix);
                }
                at = Some(pk);
                if let (Some(key), Some(value)) = (iter.key(), iter.value())
                    && keyspace::is_version_of(key, prefix)
                {
                    self.storage.cache.offer_version(since, prefix, key, value);
                    found(i, pk, prefix, Found::Stored { key, value })?;
                }
            }
            self.storage.read_from(Scanned::Rows, read);
            iter.status().map_err(StorageError::from)?;
            Ok(())
        })?
    }

    /// Up to `max` rows of `table` in `scope` between the bounds (prefixes of primary
    /// keys) to `visit` as `(primary key, row)`, in key order; returns how many it visited.
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
    /// how many it visited. The overlay's rows in the range are merged in, in key order.
    fn visit_bounded<E: From<StorageError>>(
        &self,
        scope_prefix: Vec<u8>,
        (start, end): (&[u8], Option<Vec<u8>>),
        max: usize,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let scope_len = scope_prefix.len();
        let mut pending = self
            .overlay
            .map(|o| {
                let upper = end.clone().map_or(Bound::Unbounded, Bound::Excluded);
                o.rows.range((Bound::Included(start.to_vec()), upper))
            })
            .into_iter()
            .flatten()
            .peekable();
        let count = self.with_iter(CF_ROWS, end.as_deref(), |iter| {
            iter.seek(start);
            let mut rows = RowIter::new(iter, scope_prefix, scope_len, end.clone());
            let mut count = 0;
            // Nothing of the overlay in the range (always so outside a transaction): the
            // rows as they are stored.
            if pending.peek().is_none() {
                while count < max {
                    let Some(row) = rows.next_row() else { break };
                    let (pk, row) = row?;
                    visit(pk, row)?;
                    count += 1;
                }
                return Ok(count);
            }
            self.merge_overlay(&mut rows, &mut pending, max, &mut visit)
        })??;
        self.storage.read_from(Scanned::Rows, count as u64);
        Ok(count)
    }

    /// The rest of [`visit_bounded`](Self::visit_bounded) in a transaction: the stored rows
    /// of `rows` and the overlay's `pending` ones, merged in key order.
    fn merge_overlay<'a, 'o, E: From<StorageError>>(
        &self,
        rows: &mut RowIter<'a, impl BorrowMut<DBRawIterator<'a>>>,
        pending: &mut std::iter::Peekable<impl Iterator<Item = (&'o Vec<u8>, &'o Pending)>>,
        max: usize,
        visit: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let scope_len = rows.scope_len;
        let mut count = 0;
        while count < max {
            let stored = rows.peek_row().transpose()?.map(|()| rows.current_pk());
            // The overlay's next row when it comes first, or replaces the stored one.
            // (Past the scope, the overlay's keys are another scope's.)
            let next = pending.peek().map(|&(key, _)| key);
            let next = next.filter(|key| key.starts_with(&rows.prefix));
            let first = match (next, stored) {
                (Some(key), Some(pk)) => match key[scope_len..].cmp(pk) {
                    std::cmp::Ordering::Less => Some(false),
                    std::cmp::Ordering::Equal => Some(true),
                    std::cmp::Ordering::Greater => None,
                },
                (Some(_), None) => Some(false),
                (None, Some(_)) => None,
                (None, None) => break,
            };
            match first {
                Some(replaces) => {
                    if replaces {
                        rows.skip_row();
                    }
                    if let Some((key, Pending { row: Some(row), .. })) = pending.next() {
                        visit(&key[scope_len..], row)?;
                        count += 1;
                    }
                }
                None => {
                    let (pk, row) = rows.current();
                    visit(pk, row)?;
                    rows.skip_row();
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// Calls `visit` with the key of each secondary-index entry in any of `ranges` (each
    /// from its lower key, inclusive, to its upper one, exclusive, or to the end of the
    /// family), once, in key order, through one iterator; the overlay's entries merged in.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub(crate) fn index_keys<E: From<StorageError>>(
        &self,
        ranges: &[(Vec<u8>, Option<Vec<u8>>)],
        mut visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let ranges = keyspace::disjoint(ranges);
        let last_end = ranges
            .iter()
            .map(|&(_, upper)| upper)
            .collect::<Option<Vec<_>>>()
            .and_then(|ends| ends.into_iter().max());
        // A kept iterator, unbounded, may step past a range's end over deleted entries to
        // the next live one: RocksDB has the memtable flushed when a seek steps over many.
        let mut read = 0;
        let mut counted = |key: &[u8]| {
            read += 1;
            visit(key)
        };
        let visited = self.with_iter(CF_INDEX, last_end, |iter| {
            for &range in &ranges {
                self.index_range(iter, range, &mut counted)?;
            }
            Ok(())
        });
        self.storage.read_from(Scanned::Index, read);
        visited?
    }

    /// Calls `visit` with the key of each secondary-index entry under any of `lookups`,
    /// once, in key order. Each lookup is an index's prefix and values of all the index's
    /// parts: what the first `lookup` bytes of an entry hold when
    /// [`WriteSet::put_index_entry`](super::WriteSet::put_index_entry) writes it. None may
    /// be a prefix of another. Each one is looked up in the index cache first, and what
    /// RocksDB holds for the others is offered to it; but a transaction that wrote or
    /// removed entries under one of them reads the ranges they span with its writes over
    /// them, as [`index_keys`](Self::index_keys) does.
    ///
    /// # Errors
    ///
    /// If RocksDB fails to read, or `visit` fails.
    pub(crate) fn index_lookups<E: From<StorageError>>(
        &self,
        mut lookups: Vec<&[u8]>,
        mut visit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let staged = |lookup: &[u8]| {
            self.overlay.is_some_and(|overlay| {
                (overlay
                    .index
                    .range::<[u8], _>((Bound::Included(lookup), Bound::Unbounded))
                    .next())
                .is_some_and(|(key, _)| key.starts_with(lookup))
            })
        };
        if lookups.iter().any(|lookup| staged(lookup)) {
            let ranges: Vec<_> = lookups
                .iter()
                .map(|lookup| (lookup.to_vec(), keyspace::prefix_end(lookup)))
                .collect();
            return self.index_keys(&ranges, visit);
        }
        let cache = &self.storage.index_cache;
        // Taken before the iterator is refreshed: everything it reads is that recent.
        let since = self.index_since();
        lookups.sort_unstable();
        lookups.dedup();
        let cached = cache.lookup_many(since, lookups.len(), |i| lookups[i]);
        let mut key = Vec::new();
        // All of them cached: no iterator to refresh.
        if cached.iter().all(Option::is_some) {
            for (lookup, hit) in lookups.iter().zip(cached.iter().flatten()) {
                visit_cached(lookup, hit, &mut key, &mut visit)?;
            }
            return Ok(());
        }
        let mut entries = 0;
        let visited = self.with_iter(CF_INDEX, None, |iter| {
            let mut read = Vec::new();
            // Whether the iterator stands on the first key past the last lookup it read.
            let mut after = false;
            for (&lookup, hit) in lookups.iter().zip(&cached) {
                if let Some(hit) = hit {
                    visit_cached(lookup, hit, &mut key, &mut visit)?;
                    continue;
                }
                read.clear();
                let mut kept = true;
                // No key lies between the last lookup read and the key the iterator
                // stands on: if that key is not before this lookup, it is where a seek
                // would land.
                if !(after && iter.key().is_none_or(|key| key >= lookup)) {
                    iter.seek(lookup);
                }
                while let Some(key) = iter.key().filter(|key| key.starts_with(lookup)) {
                    // Entries past what the cache keeps of a lookup are not gathered.
                    kept = kept
                        && push_entry(&mut read, &key[lookup.len()..])
                        && cache.fits(lookup.len() + read.len());
                    visit(key)?;
                    entries += 1;
                    iter.next();
                }
                iter.status().map_err(StorageError::from)?;
                entries += 1;
                after = true;
                if kept {
                    cache.offer(since, lookup, &[&read]);
                }
            }
            Ok(())
        });
        self.storage.read_from(Scanned::Index, entries);
        visited?
    }

    /// [`index_keys`](Self::index_keys) of one range, through `iter`.
    fn index_range<E: From<StorageError>>(
        &self,
        iter: &mut DBRawIterator<'_>,
        (lower, upper): (&[u8], Option<&[u8]>),
        visit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let upper_bound = upper.map_or(Bound::Unbounded, Bound::Excluded);
        let mut pending = self
            .overlay
            .map(|o| {
                o.index
                    .range::<[u8], _>((Bound::Included(lower), upper_bound))
            })
            .into_iter()
            .flatten()
            .peekable();
        iter.seek(lower);
        loop {
            let stored = iter
                .key()
                .filter(|key| upper.is_none_or(|upper| *key < upper));
            match (
                pending.peek().map(|&(key, staged)| (key, staged.there)),
                stored,
            ) {
                (Some((key, there)), stored) if stored.is_none_or(|s| key.as_slice() <= s) => {
                    let replaces = stored == Some(key.as_slice());
                    if there {
                        visit(key)?;
                    }
                    if replaces {
                        iter.next();
                    }
                    pending.next();
                }
                (_, Some(key)) => {
                    visit(key)?;
                    iter.next();
                }
                (_, None) => break,
            }
        }
        iter.status().map_err(StorageError::from)?;
        Ok(())
    }
}

impl Storage {
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
}

/// The bytes of the length before each entry the index cache keeps of a lookup.
pub(super) const ENTRY_LEN: usize = size_of::<u32>();

/// Adds an entry (what follows its lookup) to what the index cache keeps of a lookup:
/// its length (`u32`, little-endian) and its bytes; `false` if it is too long for that.
pub(super) fn push_entry(read: &mut Vec<u8>, entry: &[u8]) -> bool {
    let Ok(len) = u32::try_from(entry.len()) else {
        return false;
    };
    read.extend_from_slice(&len.to_le_bytes());
    read.extend_from_slice(entry);
    true
}

/// Calls `visit` with the key of each entry of `lookup` that the index cache holds, made
/// in `key`.
fn visit_cached<E>(
    lookup: &[u8],
    hit: &Cached,
    key: &mut Vec<u8>,
    visit: &mut impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    for entry in cached_entries(hit.read()) {
        key.clear();
        key.extend_from_slice(lookup);
        key.extend_from_slice(entry);
        visit(key)?;
    }
    Ok(())
}

/// The entries of a lookup the index cache kept (see [`push_entry`]).
pub(super) fn cached_entries(mut read: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = read.split_first_chunk::<ENTRY_LEN>()?;
        let (entry, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
        read = rest;
        Some(entry)
    })
}

/// The row bytes of a version, or `None` for a deletion.
pub(super) fn live(value: &[u8]) -> Result<Option<&[u8]>, StorageError> {
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
pub struct RowIter<'a, I = DBRawIterator<'a>> {
    iter: I,
    /// The end of the rows read (exclusive), for an iterator without that upper bound.
    end: Option<Vec<u8>>,
    _reads: std::marker::PhantomData<DBRawIterator<'a>>,
    prefix: Vec<u8>,
    scope_len: usize,
    /// The row prefix of the last version seen, to skip its older versions.
    last_row: Vec<u8>,
    /// Whether the iterator is still on the row last returned.
    advance: bool,
    done: bool,
}

impl<I> std::fmt::Debug for RowIter<'_, I> {
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

impl<'a, I: BorrowMut<DBRawIterator<'a>>> RowIter<'a, I> {
    fn new(iter: I, prefix: Vec<u8>, scope_len: usize, end: Option<Vec<u8>>) -> Self {
        RowIter {
            iter,
            end,
            _reads: std::marker::PhantomData,
            prefix,
            scope_len,
            last_row: Vec::new(),
            advance: false,
            done: false,
        }
    }

    /// The next row, `(primary key, row)`, borrowed from the iterator until the next call.
    pub(crate) fn next_row(&mut self) -> Option<Result<RowRef<'_>, StorageError>> {
        match self.peek_row()? {
            Ok(()) => {
                self.advance = true;
                Some(Ok(self.current()))
            }
            Err(err) => Some(Err(err)),
        }
    }

    /// Moves to the next row, unless the iterator is on one that was not yet taken
    /// ([`skip_row`](Self::skip_row) takes it); `None` at the end.
    fn peek_row(&mut self) -> Option<Result<(), StorageError>> {
        if std::mem::take(&mut self.advance) {
            self.iter.borrow_mut().next();
        }
        while !self.done {
            let iter = self.iter.borrow();
            let entry = match (iter.key(), iter.value()) {
                (Some(key), _)
                    if !key.starts_with(&self.prefix)
                        || self.end.as_deref().is_some_and(|end| key >= end) =>
                {
                    Entry::End
                }
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
                Entry::Skip => self.iter.borrow_mut().next(),
                Entry::Row => return Some(Ok(())),
                Entry::End => self.done = true,
                Entry::Exhausted => {
                    self.done = true;
                    return self.iter.borrow().status().err().map(|e| Err(e.into()));
                }
                Entry::Failed(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
        None
    }

    /// The row [`peek_row`](Self::peek_row) moved to.
    fn current(&self) -> RowRef<'_> {
        let (key, value) = (
            self.iter.borrow().key().unwrap_or_default(),
            self.iter.borrow().value().unwrap_or_default(),
        );
        let pk = key.get(self.scope_len..key.len().saturating_sub(keyspace::SEQ_LEN));
        // `peek_row` checked the tag: a live row's bytes follow it.
        (pk.unwrap_or_default(), value.get(1..).unwrap_or_default())
    }

    /// The primary key of the row [`peek_row`](Self::peek_row) moved to.
    fn current_pk(&self) -> &[u8] {
        self.current().0
    }

    /// Takes the row [`peek_row`](Self::peek_row) moved to: the next peek moves on.
    fn skip_row(&mut self) {
        self.advance = true;
    }
}

impl Iterator for RowIter<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
            .map(|row| row.map(|(pk, row)| (pk.to_vec(), row.to_vec())))
    }
}

/// From how many keys on [`View::walk`] looks them up in the row cache together.
const CACHED_TOGETHER: usize = 32;

/// The row prefixes of many keys, one after the other in one allocation.
struct Prefixes {
    bytes: Vec<u8>,
    /// Where each prefix ends in `bytes`.
    ends: Vec<usize>,
}

impl Prefixes {
    /// The prefixes of `pks` in the scope whose prefix is `scope`.
    fn new<P: AsRef<[u8]>>(scope: &[u8], pks: &[P]) -> Self {
        let width = scope.len() + pks.first().map_or(0, |pk| pk.as_ref().len());
        let mut bytes = Vec::with_capacity(pks.len() * width);
        let mut ends = Vec::with_capacity(pks.len());
        for pk in pks {
            bytes.extend_from_slice(scope);
            bytes.extend_from_slice(pk.as_ref());
            ends.push(bytes.len());
        }
        Prefixes { bytes, ends }
    }

    /// The `i`th prefix.
    fn get(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.bytes[start..self.ends[i]]
    }
}

/// How many keys [`Storage::get_many`] steps over to reach the next key it wants.
const STEPS: usize = 8;

/// After how many tries in a row that fall short [`Storage::get_many`] only seeks.
const MISSES: usize = 2;

/// Moves `iter` forward, over at most [`STEPS`] keys, to the first key at or after
/// `target`; whether it got there. An iterator past the family's last key is there
/// already: nothing follows (or it failed, which its status says).
fn step_to(iter: &mut DBRawIterator<'_>, target: &[u8]) -> bool {
    for _ in 0..STEPS {
        match iter.key() {
            Some(key) if key >= target => return true,
            Some(_) => iter.next(),
            None => return true,
        }
    }
    iter.key().is_some_and(|key| key >= target)
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
