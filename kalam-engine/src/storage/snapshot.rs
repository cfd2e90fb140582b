//! What a reader sees: the database as committed now, or a transaction's view, a RocksDB
//! snapshot under the transaction's own writes ([`Overlay`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use rocksdb::{DBRawIterator, ReadOptions};

use super::Storage;
use super::cache::Since;
use super::write::{Op, WriteSet};
use crate::error::StorageError;

type RocksSnapshot<'a> = rocksdb::Snapshot<'a>;

self_cell::self_cell!(
    /// A RocksDB snapshot and the storage it reads, held together.
    struct Held {
        owner: Arc<Storage>,
        #[covariant]
        dependent: RocksSnapshot,
    }
);

/// The database as it was when the snapshot was taken, for as long as it is held: RocksDB
/// keeps the versions it sees from compaction until it is dropped.
pub(crate) struct Snapshot {
    held: Held,
    /// Where the commits of the row and index caches stood just before it was taken.
    rows: Since,
    index: Since,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    /// A snapshot of `storage` now.
    pub(crate) fn new(storage: Arc<Storage>) -> Self {
        // Taken first: every commit these counts count is in the snapshot (see the
        // cache's documentation).
        let (rows, index) = (storage.cache.since(), storage.index_cache.since());
        Snapshot {
            held: Held::new(storage, |storage| storage.db.snapshot()),
            rows,
            index,
        }
    }

    /// The snapshot with `overlay`'s writes over it.
    pub(crate) fn view<'a>(&'a self, overlay: Option<&'a Overlay>) -> View<'a> {
        View {
            storage: self.held.borrow_owner(),
            snapshot: Some(self),
            overlay,
        }
    }
}

/// What reads see: the storage now, or a snapshot (with a transaction's own writes over
/// it). Every read of rows and index entries goes through one.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(super) storage: &'a Storage,
    snapshot: Option<&'a Snapshot>,
    pub(super) overlay: Option<&'a Overlay>,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("snapshot", &self.snapshot.is_some())
            .field("overlay", &self.overlay)
            .finish()
    }
}

impl Storage {
    /// The committed state, now: what a statement outside a transaction reads.
    pub(crate) fn now(&self) -> View<'_> {
        View {
            storage: self,
            snapshot: None,
            overlay: None,
        }
    }
}

impl View<'_> {
    /// Read options that read the view's snapshot, if it has one.
    pub(super) fn options(&self) -> ReadOptions {
        let mut options = ReadOptions::default();
        if let Some(snapshot) = self.snapshot {
            options.set_snapshot(snapshot.held.borrow_dependent());
        }
        options
    }

    /// Runs `read` with an iterator of the family `name` (rows or index) over what the
    /// view reads: one of the storage's kept iterators for the committed state, without
    /// bounds, or a new one over a snapshot, which stops at `upper` if given (instead of
    /// stepping over deleted entries past it to the next live one).
    pub(super) fn with_iter<T>(
        &self,
        name: &'static str,
        upper: Option<&[u8]>,
        read: impl FnOnce(&mut DBRawIterator<'_>) -> T,
    ) -> Result<T, StorageError> {
        let storage = self.storage;
        if self.snapshot.is_none() {
            return storage.readers.with(&storage.db, name, read);
        }
        let family = super::family(&storage.db, name)?;
        let mut options = self.options();
        if let Some(upper) = upper {
            options.set_iterate_upper_bound(upper);
        }
        let mut iter = storage.db.raw_iterator_cf_opt(family, options);
        Ok(read(&mut iter))
    }

    /// Where the row cache's commits stand for the view's reads: now, or when its snapshot
    /// was taken. To take before RocksDB is read (before a kept iterator is refreshed).
    pub(super) fn rows_since(&self) -> Since {
        self.snapshot
            .map_or_else(|| self.storage.cache.since(), |snapshot| snapshot.rows)
    }

    /// [`rows_since`](Self::rows_since) for the index cache.
    pub(super) fn index_since(&self) -> Since {
        self.snapshot.map_or_else(
            || self.storage.index_cache.since(),
            |snapshot| snapshot.index,
        )
    }

    /// Whether the view lays a transaction's writes over a snapshot.
    pub(crate) fn in_txn(&self) -> bool {
        self.overlay.is_some()
    }
}

/// A row a transaction wrote, not yet committed.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    /// The row, or `None` for a deletion.
    pub(super) row: Option<Vec<u8>>,
    /// The row as the transaction's snapshot holds it (`None`: none, or deleted). The
    /// commit writes only if the row is still that.
    pub(super) base: Option<Vec<u8>>,
}

/// A secondary-index entry a transaction wrote or removed, not yet committed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Staged {
    /// Written (`true`) or removed.
    pub(super) there: bool,
    /// The length of its index prefix and values, if known (see `write::Op::Index`).
    pub(super) lookup: Option<usize>,
}

/// A transaction's writes, kept until it commits: what its own reads see over its
/// snapshot, and what its commit checks and writes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overlay {
    /// Rows by their prefix (table, scope, primary key; see `keyspace::row_prefix`).
    pub(super) rows: BTreeMap<Vec<u8>, Pending>,
    /// Secondary-index entries by key: there or removed.
    pub(super) index: BTreeMap<Vec<u8>, Staged>,
    /// Values of unique indexes the writes claimed: `(entry prefix, primary key)`.
    pub(super) claims: Vec<(Vec<u8>, Vec<u8>)>,
    /// System-table rows (audit entries), in order.
    pub(super) catalog: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Overlay {
    /// Whether the transaction has written nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.index.is_empty() && self.catalog.is_empty()
    }

    /// Adds a statement's writes: later writes of a row replace earlier ones. `snapshot`
    /// gives the rows' committed versions as of the transaction's start, kept as the base
    /// the commit checks. A set that drops a table's or an index's data (DDL) is not
    /// taken: `false`, and nothing changes.
    pub(crate) fn absorb(
        &mut self,
        set: WriteSet,
        snapshot: View<'_>,
    ) -> Result<bool, StorageError> {
        if set.drops_data() {
            return Ok(false);
        }
        for op in set.into_ops() {
            match op {
                Op::Row { key, row, .. } => match self.rows.get_mut(&key) {
                    Some(pending) => pending.row = row,
                    None => {
                        let base = snapshot.newest_at(&key)?.and_then(|v| v.row);
                        self.rows.insert(key, Pending { row, base });
                    }
                },
                Op::Index { key, value, lookup } => {
                    let there = value.is_some();
                    self.index.insert(key, Staged { there, lookup });
                }
                Op::Claim { prefix, pk } => self.claims.push((prefix, pk)),
                Op::Catalog { key, value } => self.catalog.push((key, value)),
                Op::DropTable(_) | Op::DropIndex(..) => {}
            }
        }
        Ok(true)
    }
}
