//! RocksDB iterators kept between reads of the committed state.
//!
//! A point read seeks one iterator once. Making that iterator is most of the read's cost
//! when the row is in a table file: RocksDB pins the current memtables and files, builds
//! a merging iterator with an iterator per file, and frees it all afterwards. A kept
//! iterator is *refreshed* instead, which costs next to nothing while the memtables and
//! files are the same (the common case: writes go into the same memtable) and rebuilds it
//! when a flush or compaction changed them, so it never reads an old state.
//!
//! An idle kept iterator still pins what it saw at its last read (a flushed memtable, a
//! compacted file) until its next one. The pools are small and lent in turn, so each one
//! is refreshed soon by a busy engine; an idle engine holds at most a pool's worth of old
//! states. Reads of a snapshot (a transaction's) make iterators of their own: a refresh
//! would move them to the present.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use rocksdb::{DB, DBRawIterator, ReadOptions};

use super::{CF_INDEX, CF_ROWS};
use crate::error::StorageError;

/// The most iterators a family keeps: enough for every thread reading at once on a
/// machine of a few cores; a reader past that makes and drops its own.
const KEPT: usize = 8;

type Raw<'a> = DBRawIterator<'a>;

self_cell::self_cell!(
    /// An iterator and the database it reads, held together.
    struct Kept {
        owner: Arc<DB>,
        #[covariant]
        dependent: Raw,
    }
);

/// The kept iterators of the rows and index families, without bounds or a snapshot.
pub(super) struct Readers {
    rows: Mutex<VecDeque<Kept>>,
    index: Mutex<VecDeque<Kept>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

impl Readers {
    pub(super) fn new() -> Self {
        Readers {
            rows: Mutex::new(VecDeque::with_capacity(KEPT)),
            index: Mutex::new(VecDeque::with_capacity(KEPT)),
        }
    }

    /// Runs `read` with an iterator of the family `name` (rows or index) that sees every
    /// write committed before the call; where it stands is unspecified.
    pub(super) fn with<T>(
        &self,
        db: &Arc<DB>,
        name: &'static str,
        read: impl FnOnce(&mut DBRawIterator<'_>) -> T,
    ) -> Result<T, StorageError> {
        let pool = match name {
            CF_ROWS => &self.rows,
            CF_INDEX => &self.index,
            _ => unreachable!("only the rows and index families keep iterators"),
        };
        // A poisoned pool only lost the iterators it held: go on with it.
        let taken = pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let mut kept = match taken {
            Some(mut kept) => {
                kept.with_dependent_mut(|_, iter| iter.refresh())?;
                kept
            }
            None => Kept::try_new(Arc::clone(db), |db| {
                let family = super::family(db, name)?;
                Ok::<_, StorageError>(db.raw_iterator_cf_opt(family, ReadOptions::default()))
            })?,
        };
        let out = kept.with_dependent_mut(|_, iter| read(iter));
        let mut pool = pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < KEPT {
            pool.push_back(kept);
        }
        Ok(out)
    }
}
