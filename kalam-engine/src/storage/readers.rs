//! RocksDB iterators kept between reads of the committed state.
//!
//! A point read seeks one iterator once. Making that iterator is most of the read's cost
//! when the row is in a table file: RocksDB pins the current memtables and files, builds
//! a merging iterator with an iterator per file, and frees it all afterwards. A kept
//! iterator is *refreshed* instead, which costs next to nothing while the memtables and
//! files are the same (the common case: writes go into the same memtable) and rebuilds it
//! when a flush or compaction changed them, so it never reads an old state.
//!
//! Each family keeps its iterators in slots, each behind a lock of its own on a cache line
//! of its own. A thread reads through the slot it was given first and, when another
//! thread holds that one, through the next free one: threads reading at once take
//! different locks, and a read takes one lock, not the two of a shared queue.
//!
//! An idle kept iterator still pins what it saw at its last read (a flushed memtable, a
//! compacted file) until its next one. The slots are few, so an idle engine holds at most
//! a few old states. Reads of a snapshot (a transaction's) make iterators of their own: a
//! refresh would move them to the present.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use rocksdb::{DB, DBRawIterator, ReadOptions};

use super::{CF_INDEX, CF_ROWS};
use crate::error::StorageError;

/// The iterators a family keeps: enough for every thread reading at once on a machine of
/// a few cores; a reader that finds them all taken makes and drops its own.
pub(super) const KEPT: usize = 8;

type Raw<'a> = DBRawIterator<'a>;

self_cell::self_cell!(
    /// An iterator and the database it reads, held together.
    struct Kept {
        owner: Arc<DB>,
        #[covariant]
        dependent: Raw,
    }
);

/// A kept iterator's place, alone on its cache line so that threads reading through
/// neighbouring slots do not share one.
#[repr(align(128))]
#[derive(Default)]
struct Slot(Mutex<Option<Kept>>);

/// The kept iterators of the rows and index families, without bounds or a snapshot.
pub(super) struct Readers {
    rows: [Slot; KEPT],
    index: [Slot; KEPT],
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

/// The slot a thread tries first: threads are given slots in turn.
fn first_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static FIRST: Cell<usize> = Cell::new(NEXT.fetch_add(1, Ordering::Relaxed) % KEPT);
    }
    FIRST.with(Cell::get)
}

impl Readers {
    pub(super) fn new() -> Self {
        Readers {
            rows: Default::default(),
            index: Default::default(),
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
        let slots = self.slots(name);
        let first = first_slot();
        for i in 0..KEPT {
            let mut held = match slots[(first + i) % KEPT].0.try_lock() {
                Ok(held) => held,
                // A poisoned slot only lost the read it served: its iterator is refreshed
                // before the next one.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            let kept = match held.as_mut() {
                Some(kept) => {
                    kept.with_dependent_mut(|_, iter| iter.refresh())?;
                    kept
                }
                None => held.insert(Kept::try_new(Arc::clone(db), |db| new_iter(db, name))?),
            };
            return Ok(kept.with_dependent_mut(|_, iter| read(iter)));
        }
        let mut own = new_iter(db, name)?;
        Ok(read(&mut own))
    }

    /// The slots of the family `name` (rows or index).
    fn slots(&self, name: &'static str) -> &[Slot; KEPT] {
        match name {
            CF_ROWS => &self.rows,
            CF_INDEX => &self.index,
            _ => unreachable!("only the rows and index families keep iterators"),
        }
    }

    /// How many iterators the family `name` keeps now.
    #[cfg(test)]
    pub(super) fn kept(&self, name: &'static str) -> usize {
        self.slots(name)
            .iter()
            .filter(|slot| slot.0.lock().is_ok_and(|held| held.is_some()))
            .count()
    }
}

fn new_iter<'a>(db: &'a DB, name: &'static str) -> Result<DBRawIterator<'a>, StorageError> {
    let family = super::family(db, name)?;
    Ok(db.raw_iterator_cf_opt(family, ReadOptions::default()))
}
