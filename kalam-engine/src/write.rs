//! The write path every writer takes: DataFusion's DML plans, the fast paths of prepared
//! statements and `CREATE INDEX`'s backfill. INSERT, UPDATE and DELETE: each statement is
//! checked whole, then committed as one atomic write set (rows, index entries, and the
//! audit entry when that gate is on).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::physical_expr::PhysicalExpr;
use foldhash::fast::RandomState;

use crate::access::{Access, Cursor, decode_batch, entry, read_chunk, still_usable};
use crate::catalog::{Index, TableMeta};
use crate::error::Error;
use crate::ids::TableId;
use crate::row::value_at;
use crate::session::{QueryUser, Reads, scope_of};
use crate::shared::Shared;
use crate::storage::{Scope, Supersedes, Version, View, WriteSet, keyspace};
use crate::value::Value;

/// How many stripes the keys of a table's single-row writers are spread over.
const KEY_STRIPES: usize = 16;

/// Serializes a table's writes, which read what they then change (duplicate keys, index
/// upkeep). Most writers take the whole table. A statement that writes one row by its
/// primary key, on a table without a unique index, takes only its key's stripe: it
/// claims nothing another row could claim, so writers of different rows go on together,
/// and writers of one row still one after the other.
#[derive(Debug, Default)]
pub(crate) struct TableLock {
    whole: RwLock<()>,
    keys: [Mutex<()>; KEY_STRIPES],
    hasher: RandomState,
}

impl TableLock {
    /// The whole table: no other writer of it goes on.
    pub(crate) fn whole(&self) -> RwLockWriteGuard<'_, ()> {
        self.whole.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stripe of `key`: no writer of the whole table, nor of a key in the stripe,
    /// goes on.
    fn key(&self, key: &[u8]) -> (RwLockReadGuard<'_, ()>, MutexGuard<'_, ()>) {
        let table = self.whole.read().unwrap_or_else(PoisonError::into_inner);
        let stripe = &self.keys[self.hasher.hash_one(key) as usize % KEY_STRIPES];
        (table, stripe.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Runs `f` holding the table's write lock, on the table's current definition.
pub(crate) fn locked<T>(
    shared: &Shared,
    id: &TableId,
    f: impl FnOnce(&TableMeta) -> Result<T, Error>,
) -> Result<T, Error> {
    let lock = Arc::clone(&shared.catalog.existing(id)?.write_lock);
    let _guard = lock.whole();
    // Re-read under the lock: an index created meanwhile must be maintained.
    f(&*shared.catalog.existing(id)?)
}

/// Runs `f` as [`locked`] does, for a write statement of `user`; in a transaction, on the
/// table's current definition without the lock: the statement reads the transaction's
/// snapshot and writes its overlay, and the commit checks every row and unique value it
/// wrote again under the locks of the tables written (and fails if DDL came between).
/// Statements of other transactions never wait on it, nor it on them.
fn locked_as<T>(
    shared: &Shared,
    id: &TableId,
    user: &QueryUser,
    f: impl FnOnce(&TableMeta) -> Result<T, Error>,
) -> Result<T, Error> {
    if user.txn.is_some() {
        return f(&*shared.catalog.existing(id)?);
    }
    locked(shared, id, f)
}

/// Runs `f` as [`locked_as`] does, for a statement that writes only the row of `planned`
/// (the table as the caller found it) whose primary key is `key`: holding only the key's
/// stripe of the lock, unless the table has a unique index (whose values other rows may
/// claim).
fn locked_key<T>(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    key: &[u8],
    f: impl FnOnce(&TableMeta) -> Result<T, Error>,
) -> Result<T, Error> {
    if user.txn.is_none() {
        let _guard = planned.write_lock.key(key);
        // Re-read under the lock, as `locked` does.
        let meta = shared.catalog.existing(&planned.id)?;
        if !meta.indexes.iter().any(|index| index.unique) {
            return f(&meta);
        }
    }
    locked_as(shared, &planned.id, user, f)
}

/// The primary key of a row.
pub(crate) fn primary_key(meta: &TableMeta, values: &[Value]) -> Result<Vec<u8>, Error> {
    let mut key = Vec::new();
    for &column in &meta.pk {
        if values[column] == Value::Null {
            return Err(Error::NullViolation {
                table: meta.id.to_string(),
                column: meta.columns[column].name.clone(),
            });
        }
        values[column].write_key(&mut key);
    }
    Ok(key)
}

fn show_key(meta: &TableMeta, values: &[Value]) -> String {
    meta.pk
        .iter()
        .map(|&c| format!("{} = {}", meta.columns[c].name, values[c]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_nulls(meta: &TableMeta, values: &[Value]) -> Result<(), Error> {
    for (column, value) in meta.columns.iter().zip(values) {
        if !column.nullable && *value == Value::Null {
            return Err(Error::NullViolation {
                table: meta.id.to_string(),
                column: column.name.clone(),
            });
        }
    }
    Ok(())
}

/// A row's entry of an index (see `access/entry.rs`).
#[derive(Debug, PartialEq)]
struct Entry {
    key: Vec<u8>,
    /// The length of the key's index prefix and values: what a lookup of them reads.
    lookup: usize,
}

impl Entry {
    fn put(self, set: &mut WriteSet) {
        set.put_index_entry(self.key, self.lookup);
    }

    fn delete(self, set: &mut WriteSet) {
        set.delete_index_entry(self.key, self.lookup);
    }
}

/// The entry of `index` for a row, if it has one.
fn index_key(
    meta: &TableMeta,
    scope: Scope<'_>,
    index: &Index,
    values: &[Value],
    pk: &[u8],
) -> Option<Entry> {
    let mut key = keyspace::index_prefix(meta.number, index.number, scope);
    entry::write_parts(index, values, &mut key).then(|| {
        let lookup = key.len();
        key.extend_from_slice(pk);
        Entry { key, lookup }
    })
}

/// A row's index entries.
fn index_keys<'a>(
    meta: &'a TableMeta,
    scope: Scope<'a>,
    values: &'a [Value],
    pk: &'a [u8],
) -> impl Iterator<Item = Entry> + 'a {
    meta.indexes
        .iter()
        .filter_map(move |index| index_key(meta, scope, index, values, pk))
}

/// What the rows one statement writes claim: primary keys, and values of unique indexes.
/// Checked as of the statement's end, as SQL says: a claim must not be another written
/// row's, nor a stored row's that the statement does not rewrite or delete (`vacated`),
/// so that `UPDATE t SET k = k + 1` may move every key up by one.
/// Read through `view`, which a statement in a transaction reads as its snapshot under its
/// writes; there the claims of unique values also go into the write set, for the commit
/// to check them again.
struct Claims<'a> {
    view: View<'a>,
    vacated: HashSet<&'a [u8], RandomState>,
    keys: HashSet<Vec<u8>, RandomState>,
    uniques: HashSet<Vec<u8>, RandomState>,
}

impl<'a> Claims<'a> {
    fn new(reads: &'a Reads<'_>, vacated: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Claims {
            view: reads.view(),
            vacated: vacated.into_iter().collect(),
            keys: HashSet::default(),
            uniques: HashSet::default(),
        }
    }

    /// The values of each unique index for a row `values` with primary key `pk`.
    fn unique(
        &mut self,
        (meta, scope): (&TableMeta, Scope<'_>),
        values: &[Value],
        pk: &[u8],
        set: &mut WriteSet,
    ) -> Result<(), Error> {
        for index in meta.indexes.iter().filter(|i| i.unique) {
            self.unique_in((meta, scope), index, values, pk, set)?;
        }
        Ok(())
    }

    /// The values of unique index `index` for a row `values` with primary key `pk`.
    fn unique_in(
        &mut self,
        (meta, scope): (&TableMeta, Scope<'_>),
        index: &Index,
        values: &[Value],
        pk: &[u8],
        set: &mut WriteSet,
    ) -> Result<(), Error> {
        // Rows with a NULL in the index are never duplicates.
        if !entry::complete(index, values) {
            return Ok(());
        }
        let mut prefix = keyspace::index_prefix(meta.number, index.number, scope);
        entry::write_parts(index, values, &mut prefix);
        let violation = || Error::UniqueViolation {
            table: meta.id.to_string(),
            index: index.name.clone(),
            values: index
                .parts
                .iter()
                .map(|p| format!("{} = {}", meta.columns[p.column].name, values[p.column]))
                .collect::<Vec<_>>()
                .join(", "),
        };
        if !self.uniques.insert(prefix.clone()) {
            return Err(violation());
        }
        self.view.index_lookups(vec![prefix.as_slice()], |key| {
            let holder = &key[prefix.len()..];
            if holder == pk || self.vacated.contains(holder) {
                Ok(())
            } else {
                Err(violation())
            }
        })?;
        if self.view.in_txn() {
            set.claim_unique(prefix, pk);
        }
        Ok(())
    }
}

/// Row `row` of `columns` (cast to the table's types) as values.
fn values_at(meta: &TableMeta, columns: &[ArrayRef], row: usize) -> Vec<Value> {
    columns
        .iter()
        .zip(&meta.columns)
        .map(|(array, column)| value_at(array.as_ref(), column.ty, row))
        .collect()
}

/// The columns of `batch` cast to the table's types.
fn cast_columns(meta: &TableMeta, columns: &[ArrayRef]) -> Result<Vec<ArrayRef>, Error> {
    if columns.len() != meta.columns.len() {
        return Err(Error::plan(format!(
            "`{}` has {} columns, the rows have {}",
            meta.id,
            meta.columns.len(),
            columns.len()
        )));
    }
    columns
        .iter()
        .zip(&meta.columns)
        .map(|(array, column)| {
            cast(array, &column.ty.arrow()).map_err(|err| {
                Error::type_mismatch(format!("column `{}` ({}): {err}", column.name, column.ty))
            })
        })
        .collect()
}

fn commit(
    shared: &Shared,
    meta: &TableMeta,
    user: &QueryUser,
    action: &'static str,
    rows: u64,
    mut set: WriteSet,
) -> Result<u64, Error> {
    if rows == 0 {
        return Ok(0);
    }
    shared
        .gates
        .audit(&mut set, &user.id, action, &meta.id.to_string(), rows);
    // In a transaction the set joins its writes, and its commit writes them all.
    if let Some(txn) = &user.txn {
        txn.absorb(meta, set)?;
        return Ok(rows);
    }
    shared.storage.write(&set)?;
    shared.gates.track_changes(meta, &user.id);
    Ok(rows)
}

/// INSERT: every row checked (types, NULLs, duplicate keys) before anything is written.
pub(crate) fn apply_insert(
    shared: &Shared,
    id: &TableId,
    user: &QueryUser,
    batches: &[RecordBatch],
) -> Result<u64, Error> {
    locked_as(shared, id, user, |meta| {
        let mut rows = Vec::new();
        for batch in batches {
            let columns = cast_columns(meta, batch.columns())?;
            rows.extend((0..batch.num_rows()).map(|row| values_at(meta, &columns, row)));
        }
        insert_rows(shared, meta, user, rows)
    })
}

/// INSERT of rows whose values already have the column types of `planned` (an INSERT's
/// fast path): every row checked before anything is written.
pub(crate) fn insert_values(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    rows: Vec<Vec<Value>>,
) -> Result<u64, Error> {
    let key = match rows.as_slice() {
        [row] if row.len() == planned.columns.len() => primary_key(planned, row).ok(),
        _ => None,
    };
    let insert = |meta: &TableMeta| insert_rows(shared, meta, user, rows);
    match key {
        Some(key) => locked_key(shared, planned, user, &key, insert),
        None => locked_as(shared, &planned.id, user, insert),
    }
}

fn insert_rows(
    shared: &Shared,
    meta: &TableMeta,
    user: &QueryUser,
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<u64, Error> {
    insert_encoded(
        shared,
        meta,
        user,
        rows.into_iter().map(|values| (values, None)),
    )
}

/// INSERT of typed rows (`Engine::insert`): each row's values for the checks and index
/// entries, and its storage key and stored form from the type's generated encoders.
pub(crate) fn insert_typed<T: crate::TypedTable>(
    shared: &Shared,
    id: &TableId,
    user: &QueryUser,
    rows: &[T],
) -> Result<u64, Error> {
    let batch = T::to_record_batch(rows).map_err(|e| Error::type_mismatch(e.to_string()))?;
    locked_as(shared, id, user, |meta| {
        crate::typed::attached::<T>(meta)?;
        let columns = batch.columns();
        let rows = rows.iter().enumerate().map(|(row, typed)| {
            let encoded = Encoded {
                key: typed.key(),
                row: typed.to_row(),
            };
            (values_at(meta, columns, row), Some(encoded))
        });
        insert_encoded(shared, meta, user, rows)
    })
}

/// The stored form of a row of `meta`.
fn encode_row(meta: &TableMeta, values: &[Value]) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    meta.layout
        .encode(values, &mut bytes)
        .map_err(|column| Error::NullViolation {
            table: meta.id.to_string(),
            column: meta.columns[column].name.clone(),
        })?;
    Ok(bytes)
}

/// A row's storage key and stored form, as a typed table's generated code writes them.
struct Encoded {
    key: Vec<u8>,
    row: Vec<u8>,
}

/// INSERT of rows given as values, each with its key and stored form if the caller has
/// them.
fn insert_encoded(
    shared: &Shared,
    meta: &TableMeta,
    user: &QueryUser,
    rows: impl IntoIterator<Item = (Vec<Value>, Option<Encoded>)>,
) -> Result<u64, Error> {
    let scope = scope_of(meta, &user.id);
    let reads = user.reads(&shared.storage);
    let mut set = WriteSet::new();
    let mut claims = Claims::new(&reads, []);
    // Each row's own checks and its key first, so that the stored versions of all the
    // keys are read together (new keys past the table's last cost one seek); the errors
    // still come row by row, in the rows' order.
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(values, encoded)| {
            let keyed = check_nulls(meta, &values).and_then(|()| match encoded {
                Some(Encoded { key, row }) => Ok((key, Some(row))),
                None => Ok((primary_key(meta, &values)?, None)),
            });
            (values, keyed)
        })
        .collect();
    let newest = {
        let pks: Vec<&[u8]> = rows
            .iter()
            .filter_map(|(_, keyed)| keyed.as_ref().ok().map(|(pk, _)| pk.as_slice()))
            .collect();
        claims.view.newest_many(meta.number, scope, &pks)?
    };
    let mut newest = newest.into_iter();
    claims.keys.reserve(rows.len());
    let mut count = 0;
    for (values, keyed) in rows {
        let (pk, encoded) = keyed?;
        let newest = newest.next().flatten();
        if !claims.keys.insert(pk.clone()) || newest.as_ref().is_some_and(|v| v.row.is_some()) {
            return Err(Error::DuplicateKey {
                table: meta.id.to_string(),
                key: show_key(meta, &values),
            });
        }
        claims.unique((meta, scope), &values, &pk, &mut set)?;
        for entry in index_keys(meta, scope, &values, &pk) {
            entry.put(&mut set);
        }
        let bytes = match encoded {
            Some(bytes) => bytes,
            None => encode_row(meta, &values)?,
        };
        // A deletion of the key, if any, is superseded.
        let supersedes = newest.map_or(Supersedes::Nothing, |v| Supersedes::Version(v.key));
        set.replace_row(meta.number, scope, &pk, Some(bytes), supersedes);
        count += 1;
    }
    // `claims.keys` refused any key twice.
    set.distinct_rows();
    commit(shared, meta, user, "INSERT", count, set)
}

/// The rows an access path and predicates select: their keys and a batch of all columns.
fn select(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    access: &Access,
    predicates: &[Arc<dyn PhysicalExpr>],
) -> Result<(Vec<Vec<u8>>, RecordBatch), Error> {
    let all: Vec<usize> = (0..meta.columns.len()).collect();
    let mut rows = Vec::new();
    let mut cursor = Cursor::Start;
    while !matches!(cursor, Cursor::Done) {
        let (chunk, next) = read_chunk(view, meta, scope, access, cursor, 8192)?;
        rows.extend(chunk);
        cursor = next;
    }
    let batch = decode_batch(meta, &all, Arc::clone(&meta.schema), &rows)
        .map_err(Error::from_datafusion)?;
    let mut keep = vec![true; batch.num_rows()];
    for predicate in predicates {
        let result = predicate
            .evaluate(&batch)
            .and_then(|v| v.into_array(batch.num_rows()))
            .map_err(Error::from_datafusion)?;
        let Some(mask) = result.as_boolean_opt() else {
            return Err(Error::type_mismatch(format!(
                "WHERE needs a boolean, got {}",
                result.data_type()
            )));
        };
        for (row, keep) in keep.iter_mut().enumerate() {
            *keep &= mask.is_valid(row) && mask.value(row);
        }
    }
    let mask = datafusion::arrow::array::BooleanArray::from(keep);
    let batch = datafusion::arrow::compute::filter_record_batch(&batch, &mask)
        .map_err(Error::execution_from)?;
    let keys = rows
        .into_iter()
        .zip(mask.values().iter())
        .filter_map(|((pk, _), keep)| keep.then_some(pk))
        .collect();
    Ok((keys, batch))
}

/// `access`, chosen on the table as it was `planned`, or every row if the table no longer
/// has what it reads (the predicates are checked on each row either way).
fn usable<'a>(access: &'a Access, planned: &TableMeta, current: &TableMeta) -> &'a Access {
    if still_usable(access, planned, current) {
        access
    } else {
        &Access::Full
    }
}

/// DELETE: a deletion version for every selected row, and its index entries removed.
/// `access` was chosen on the table as it was `planned`.
pub(crate) fn apply_delete(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    access: &Access,
    predicates: &[Arc<dyn PhysicalExpr>],
) -> Result<u64, Error> {
    locked_as(shared, &planned.id, user, |meta| {
        let scope = scope_of(meta, &user.id);
        let access = usable(access, planned, meta);
        let reads = user.reads(&shared.storage);
        let (keys, batch) = select(reads.view(), meta, scope, access, predicates)?;
        let mut set = WriteSet::new();
        for (row, pk) in keys.iter().enumerate() {
            let values = values_at(meta, batch.columns(), row);
            remove_row(meta, scope, &mut set, (pk, Supersedes::Unknown), &values);
        }
        commit(shared, meta, user, "DELETE", keys.len() as u64, set)
    })
}

/// A deletion version of a row (over the version it supersedes), and its index entries
/// removed.
fn remove_row(
    meta: &TableMeta,
    scope: Scope<'_>,
    set: &mut WriteSet,
    (pk, supersedes): (&[u8], Supersedes),
    values: &[Value],
) {
    for entry in index_keys(meta, scope, values, pk) {
        entry.delete(set);
    }
    set.replace_row(meta.number, scope, pk, None, supersedes);
}

/// The current values of the row with primary key `pk`, if it exists, and its version.
fn current(
    view: View<'_>,
    meta: &TableMeta,
    scope: Scope<'_>,
    pk: &[u8],
) -> Result<Option<(Vec<Value>, Supersedes)>, Error> {
    let Some(Version {
        key,
        row: Some(row),
    }) = view.newest(meta.number, scope, pk)?
    else {
        return Ok(None);
    };
    let values = meta
        .layout
        .decode(&row)
        .map_err(crate::error::StorageError::corrupt_row)?;
    Ok(Some((values, Supersedes::Version(key))))
}

/// DELETE of the row of `planned` with primary key `pk` (a prepared DELETE's fast path).
pub(crate) fn delete_by_key(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    pk: &[u8],
) -> Result<u64, Error> {
    locked_key(shared, planned, user, pk, |meta| {
        let scope = scope_of(meta, &user.id);
        let reads = user.reads(&shared.storage);
        let Some((values, version)) = current(reads.view(), meta, scope, pk)? else {
            return Ok(0);
        };
        let mut set = WriteSet::new();
        remove_row(meta, scope, &mut set, (pk, version), &values);
        commit(shared, meta, user, "DELETE", 1, set)
    })
}

/// UPDATE of the row of `planned` with primary key `pk`: `change` turns its values into
/// the new ones (a prepared UPDATE's fast path; it does not change the key).
pub(crate) fn update_by_key(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    pk: &[u8],
    change: impl FnOnce(&TableMeta, &mut [Value]) -> Result<(), Error>,
) -> Result<u64, Error> {
    locked_key(shared, planned, user, pk, |meta| {
        let scope = scope_of(meta, &user.id);
        let reads = user.reads(&shared.storage);
        let Some((old, version)) = current(reads.view(), meta, scope, pk)? else {
            return Ok(0);
        };
        let mut new = old.clone();
        change(meta, &mut new)?;
        let mut set = WriteSet::new();
        let mut claims = Claims::new(&reads, [pk]);
        rewrite_row(
            (meta, scope),
            &mut set,
            (pk, &old, version),
            &new,
            &mut claims,
        )?;
        commit(shared, meta, user, "UPDATE", 1, set)
    })
}

/// UPDATE: a new version of every selected row; index entries follow changed values and
/// keys; a changed primary key must stay unique. `access` was chosen on the table as it
/// was `planned`.
pub(crate) fn apply_update(
    shared: &Shared,
    planned: &TableMeta,
    user: &QueryUser,
    access: &Access,
    predicates: &[Arc<dyn PhysicalExpr>],
    assignments: &[(usize, Arc<dyn PhysicalExpr>)],
) -> Result<u64, Error> {
    locked_as(shared, &planned.id, user, |meta| {
        let scope = scope_of(meta, &user.id);
        let access = usable(access, planned, meta);
        let reads = user.reads(&shared.storage);
        let (keys, batch) = select(reads.view(), meta, scope, access, predicates)?;
        let mut new_columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (column, expr) in assignments {
            let value = expr
                .evaluate(&batch)
                .and_then(|v| v.into_array(batch.num_rows()))
                .map_err(Error::from_datafusion)?;
            new_columns[*column] = value;
        }
        let new_columns = cast_columns(meta, &new_columns)?;
        let mut claims = Claims::new(&reads, keys.iter().map(Vec::as_slice));
        let mut set = WriteSet::new();
        for (row, old_pk) in keys.iter().enumerate() {
            let old = values_at(meta, batch.columns(), row);
            let new = values_at(meta, &new_columns, row);
            rewrite_row(
                (meta, scope),
                &mut set,
                (old_pk, &old, Supersedes::Unknown),
                &new,
                &mut claims,
            )?;
        }
        commit(shared, meta, user, "UPDATE", keys.len() as u64, set)
    })
}

/// The rows a found UPDATE or DELETE changes (see `engine/dml.rs`): the batches of its
/// query, each row's old values (every column) first and, for an UPDATE, its new values
/// after them.
pub(crate) struct Found<'a> {
    pub(crate) batches: &'a [RecordBatch],
    pub(crate) update: bool,
}

/// A found UPDATE or DELETE: under the lock, every row must still be as the query saw it
/// ([`Error::WriteConflict`] otherwise, and nothing is written). A row found twice (by an
/// `UPDATE .. FROM` whose join matches it twice) changes once, as the first match says.
pub(crate) fn apply_found(
    shared: &Shared,
    id: &TableId,
    user: &QueryUser,
    found: &Found<'_>,
) -> Result<u64, Error> {
    locked_as(shared, id, user, |meta| {
        let scope = scope_of(meta, &user.id);
        let width = meta.columns.len();
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for batch in found.batches {
            let old = cast_columns(meta, &batch.columns()[..width])?;
            let new = if found.update {
                cast_columns(meta, &batch.columns()[width..])?
            } else {
                Vec::new()
            };
            for row in 0..batch.num_rows() {
                let old_values = values_at(meta, &old, row);
                let pk = primary_key(meta, &old_values)?;
                if seen.insert(pk.clone()) {
                    let new_values = found.update.then(|| values_at(meta, &new, row));
                    rows.push((pk, old_values, new_values));
                }
            }
        }
        let reads = user.reads(&shared.storage);
        let mut claims = Claims::new(&reads, rows.iter().map(|(pk, ..)| pk.as_slice()));
        let mut set = WriteSet::new();
        for (pk, old, new) in &rows {
            let Some((stored, version)) = current(claims.view, meta, scope, pk)? else {
                return Err(Error::WriteConflict(meta.id.to_string()));
            };
            if !same_values(meta, &stored, old) {
                return Err(Error::WriteConflict(meta.id.to_string()));
            }
            match new {
                None => remove_row(meta, scope, &mut set, (pk, version), old),
                Some(new) => rewrite_row(
                    (meta, scope),
                    &mut set,
                    (pk, old, version),
                    new,
                    &mut claims,
                )?,
            }
        }
        let action = if found.update { "UPDATE" } else { "DELETE" };
        commit(shared, meta, user, action, rows.len() as u64, set)
    })
}

/// Whether two rows of `meta` hold the same values, bit for bit (a NaN is the NaN it
/// was): their stored forms are equal.
fn same_values(meta: &TableMeta, a: &[Value], b: &[Value]) -> bool {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let stored =
        meta.layout.encode(a, &mut left).is_ok() && meta.layout.encode(b, &mut right).is_ok();
    stored && left == right
}

/// A new version of a row: checked (NULLs; its key and unique values must be free, see
/// [`Claims`]), its index entries moved where they changed.
fn rewrite_row(
    (meta, scope): (&TableMeta, Scope<'_>),
    set: &mut WriteSet,
    (old_pk, old, version): (&[u8], &[Value], Supersedes),
    new: &[Value],
    claims: &mut Claims<'_>,
) -> Result<(), Error> {
    check_nulls(meta, new)?;
    let new_pk = primary_key(meta, new)?;
    let duplicate = !claims.keys.insert(new_pk.clone())
        || (new_pk != old_pk
            && !claims.vacated.contains(new_pk.as_slice())
            && claims.view.get(meta.number, scope, &new_pk)?.is_some());
    if duplicate {
        return Err(Error::DuplicateKey {
            table: meta.id.to_string(),
            key: show_key(meta, new),
        });
    }
    claims.unique((meta, scope), new, &new_pk, set)?;
    let supersedes = if new_pk == old_pk {
        version
    } else {
        set.replace_row(meta.number, scope, old_pk, None, version);
        Supersedes::Unknown
    };
    // Entries that changed (value or key) move; the others stay.
    let before: Vec<Entry> = index_keys(meta, scope, old, old_pk).collect();
    let after: Vec<Entry> = index_keys(meta, scope, new, &new_pk).collect();
    let (kept, removed): (Vec<Entry>, Vec<Entry>) =
        before.into_iter().partition(|entry| after.contains(entry));
    for entry in removed {
        entry.delete(set);
    }
    for entry in after.into_iter().filter(|entry| !kept.contains(entry)) {
        entry.put(set);
    }
    let bytes = encode_row(meta, new)?;
    set.replace_row(meta.number, scope, &new_pk, Some(bytes), supersedes);
    Ok(())
}

/// Entries of `index` (of `meta`) for every existing row of the table in every scope, for
/// `CREATE INDEX`; a unique index fails on the first two rows of a scope with the same
/// values.
pub(crate) fn backfill_index(
    shared: &Shared,
    meta: &TableMeta,
    index: &Index,
    set: &mut WriteSet,
) -> Result<u64, Error> {
    // All scopes of the table: shared rows, and each user's.
    let mut users: Vec<String> = shared
        .catalog
        .users()
        .into_iter()
        .map(|u| u.user_id.to_string())
        .collect();
    users.push(crate::catalog::ROOT.to_owned());
    let scopes: Vec<Scope<'_>> = match meta.kind {
        crate::models::TableType::User => users.iter().map(|u| Scope::User(u)).collect(),
        _ => vec![Scope::Shared],
    };
    let mut rows = 0;
    let reads = Reads::of(&shared.storage, None);
    for scope in scopes {
        let mut claims = Claims::new(&reads, []);
        let mut cursor = Cursor::Start;
        while !matches!(cursor, Cursor::Done) {
            let (chunk, next) = read_chunk(reads.view(), meta, scope, &Access::Full, cursor, 8192)?;
            for (pk, row) in &chunk {
                let values = meta
                    .layout
                    .decode(row)
                    .map_err(crate::error::StorageError::corrupt_row)?;
                if index.unique {
                    claims.unique_in((meta, scope), index, &values, pk, set)?;
                }
                if let Some(entry) = index_key(meta, scope, index, &values, pk) {
                    entry.put(set);
                }
                rows += 1;
            }
            cursor = next;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use crate::storage::Scope;
    use crate::{Engine, TableId, UserId, Value};

    #[test]
    fn every_write_path_leaves_one_version_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let root = UserId::new("root").unwrap();
        engine
            .sql_blocking(
                &root,
                "CREATE NAMESPACE app;
                 CREATE SHARED TABLE app.t (id BIGINT PRIMARY KEY, k BIGINT, c TEXT);
                 CREATE INDEX ON app.t (k);
                 INSERT INTO app.t VALUES (1, 1, 'a'), (2, 2, 'b')",
            )
            .unwrap();
        let meta = engine
            .shared
            .catalog
            .table(&TableId::parse("app.t").unwrap())
            .unwrap();
        let versions = |id: i64| {
            let mut pk = Vec::new();
            Value::Int64(id).write_key(&mut pk);
            engine.storage().versions(meta.number, Scope::Shared, &pk)
        };
        let prepared = |sql| engine.prepare_blocking(&root, sql).unwrap();
        let (update, delete, insert) = (
            prepared("UPDATE app.t SET k = k + 1 WHERE id = $1"),
            prepared("DELETE FROM app.t WHERE id = $1"),
            prepared("INSERT INTO app.t VALUES ($1, $2, $3)"),
        );
        assert!(update.is_fast_path() && delete.is_fast_path() && insert.is_fast_path());
        let one = [Value::Int64(1)];
        for _ in 0..3 {
            engine.execute_blocking(&update, &one).unwrap();
            engine
                .sql_blocking(&root, "UPDATE app.t SET c = 'x' WHERE k > 0")
                .unwrap();
        }
        assert_eq!(versions(1).len(), 1);
        assert_eq!(versions(2).len(), 1);
        engine.execute_blocking(&delete, &one).unwrap();
        assert_eq!(versions(1), [None]);
        let row = [Value::Int64(1), Value::Int64(5), Value::from("again")];
        engine.execute_blocking(&insert, &row).unwrap();
        assert_eq!(versions(1).len(), 1);
        engine
            .sql_blocking(&root, "DELETE FROM app.t WHERE c = 'again'")
            .unwrap();
        assert_eq!(versions(1), [None]);
        engine
            .sql_blocking(&root, "INSERT INTO app.t VALUES (1, 6, 'z')")
            .unwrap();
        assert_eq!(versions(1).len(), 1);
        // A changed key: the old row's deletion supersedes its last version.
        engine
            .sql_blocking(&root, "UPDATE app.t SET id = 3 WHERE id = 2")
            .unwrap();
        assert_eq!((versions(2), versions(3).len()), (vec![None], 1));
    }
}
