//! Transactions: snapshot isolation on a RocksDB snapshot, with the transaction's writes
//! kept in memory until its commit checks and writes them in one atomic write.
//!
//! - **Reads.** `BEGIN` takes a RocksDB snapshot. Every read of the transaction (scans,
//!   gets, index entries, the fast paths of prepared statements) reads it through a
//!   [`View`](crate::storage::View) that lays the transaction's own writes (its
//!   [`Overlay`]) over it, so it sees the database as of its start plus its writes.
//! - **Writes.** A statement's write set, checked as outside a transaction (keys, unique
//!   values, NOT NULL), goes into the overlay instead of RocksDB; each row keeps the version
//!   the snapshot had of it as its base.
//! - **Commit.** Under the write locks of the tables it wrote (taken in table order), every
//!   written row must still be its base and every unique value it claims still free:
//!   then everything goes in one atomic RocksDB write. Otherwise another writer committed
//!   first (first committer wins) and the commit fails with
//!   [`Error::SerializationFailure`], writing nothing.
//!
//! A statement outside a transaction takes none of this: it reads RocksDB as it is and
//! writes its set at once, as before transactions existed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::catalog::TableMeta;
use crate::error::Error;
use crate::ids::{TableId, UserId};
use crate::shared::Shared;
use crate::storage::{Conflict, Overlay, Snapshot, TableNumber, WriteSet};

/// An open transaction: its snapshot, and what it wrote so far.
#[derive(Debug)]
pub(crate) struct Txn {
    snapshot: Snapshot,
    /// The catalog's generation when it began: DDL committed since fails it.
    generation: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    overlay: Arc<Overlay>,
    /// The tables written, by number.
    tables: BTreeMap<TableNumber, TableId>,
    /// A statement failed: nothing more runs until ROLLBACK.
    failed: bool,
}

impl Txn {
    /// A transaction starting now.
    pub(crate) fn begin(shared: &Shared) -> Self {
        // The generation first: DDL that lands between the two fails the transaction,
        // never leaves it planning on a catalog newer than its snapshot.
        let generation = shared.catalog.generation();
        Txn {
            snapshot: Snapshot::new(Arc::clone(&shared.storage)),
            generation,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The writes so far, as reads see them.
    pub(crate) fn overlay(&self) -> Arc<Overlay> {
        Arc::clone(&self.state().overlay)
    }

    /// Whether a statement of it failed.
    pub(crate) fn failed(&self) -> bool {
        self.state().failed
    }

    /// Marks it failed: statements are refused until it ends.
    pub(crate) fn fail(&self) {
        self.state().failed = true;
    }

    /// Refuses a statement once one of the transaction failed.
    pub(crate) fn admit(&self) -> Result<(), Error> {
        if self.failed() {
            return Err(Error::TransactionAborted);
        }
        Ok(())
    }

    /// A statement's result: a failure fails the transaction.
    pub(crate) fn settle<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if result.is_err() {
            self.fail();
        }
        result
    }

    /// Fails it unless the catalog is as it was at its start.
    pub(crate) fn check_schema(&self, shared: &Shared) -> Result<(), Error> {
        if shared.catalog.generation() == self.generation {
            return Ok(());
        }
        Err(Error::SerializationFailure {
            reason: "tables, indexes or users were created, changed or dropped since the \
                     transaction began"
                .into(),
        })
    }

    /// Adds a statement's write set on `meta`'s table.
    pub(crate) fn absorb(&self, meta: &TableMeta, set: WriteSet) -> Result<(), Error> {
        let mut state = self.state();
        let view = self.snapshot.view(None);
        if !Arc::make_mut(&mut state.overlay).absorb(set, view)? {
            return Err(ddl_refused("a statement that drops data"));
        }
        state.tables.insert(meta.number, meta.id.clone());
        Ok(())
    }

    /// Commits it: see the module's docs. On any error nothing of it is written.
    pub(crate) fn commit(&self, shared: &Shared, user: &UserId) -> Result<(), Error> {
        let (overlay, tables) = {
            let mut state = self.state();
            if state.failed {
                return Err(Error::TransactionAborted);
            }
            (
                std::mem::take(&mut state.overlay),
                std::mem::take(&mut state.tables),
            )
        };
        if overlay.is_empty() {
            return Ok(());
        }
        let mut metas = Vec::with_capacity(tables.len());
        for id in tables.values() {
            let Some(meta) = shared.catalog.table(id) else {
                return Err(Error::SerializationFailure {
                    reason: format!("`{id}` was dropped since the transaction wrote it"),
                });
            };
            metas.push(meta);
        }
        // In table order, as every committing transaction takes them: no deadlock.
        let locks: Vec<_> = metas.iter().map(|m| Arc::clone(&m.write_lock)).collect();
        let _guards: Vec<_> = locks.iter().map(|lock| lock.whole()).collect();
        self.check_schema(shared)?;
        let overlay = Arc::try_unwrap(overlay).unwrap_or_else(|shared| (*shared).clone());
        let name = |number: TableNumber| {
            tables
                .get(&number)
                .map_or_else(|| format!("table {}", number.0), ToString::to_string)
        };
        match shared.storage.commit_overlay(overlay)? {
            Ok(_seq) => {}
            Err(Conflict::Row(table)) => {
                return Err(Error::SerializationFailure {
                    reason: format!(
                        "a row of `{}` it wrote was changed by a transaction that committed \
                         after it began",
                        name(table)
                    ),
                });
            }
            Err(Conflict::Unique(table)) => {
                return Err(Error::SerializationFailure {
                    reason: format!(
                        "a row committed after it began holds the values it claims in a \
                         unique index of `{}`",
                        name(table)
                    ),
                });
            }
        }
        for meta in &metas {
            shared.gates.track_changes(meta, user);
        }
        Ok(())
    }
}

/// The error for DDL in a transaction.
pub(crate) fn ddl_refused(what: &str) -> Error {
    Error::unsupported(format!(
        "{what} cannot run inside a transaction: DDL commits on its own; run it before \
         BEGIN or after COMMIT"
    ))
}
