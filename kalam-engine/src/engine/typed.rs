//! The typed API: tables declared in Rust, written and read as their structs (see
//! `crate::typed` for what runs on generated code).

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use super::Engine;
use crate::access::{Access, Cursor, read_chunk};
use crate::catalog::{Catalog, TableMeta};
use crate::error::{Error, StorageError};
use crate::ids::UserId;
use crate::models::TableType;
use crate::provider::SYSTEM;
use crate::session::{QueryUser, Reads, scope_of};
use crate::shared::Shared;
use crate::storage::WriteSet;
use crate::txn::Txn;
use crate::typed::{self, Model, TypedTable};
use crate::write;

/// Rows read per storage visit of a typed scan.
const CHUNK: usize = 1024;

impl Engine {
    /// Declares the table of `T` (`T::NAMESPACE`, `T::NAME`), a USER or SHARED table, and
    /// attaches `T` to it: its scans, through SQL too, then run on `T`'s generated code.
    /// On a data directory that already has the table, checks that `T` declares it as
    /// stored, and attaches; a later row version of `T` that only adds columns
    /// (`#[column(since = N)]`) brings the catalog to it, and the rows stored before read
    /// with the added columns' defaults. Call it at every start, before using the table.
    ///
    /// ```
    /// use kalam::KalamTable;
    /// use kalam_engine::{Engine, TableType, UserId};
    ///
    /// #[derive(KalamTable, Clone, Debug, PartialEq)]
    /// #[table(name = "items", namespace = "app")]
    /// struct Item {
    ///     #[column(primary_key)]
    ///     id: i64,
    ///     name: String,
    ///     price: Option<f64>,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let root = UserId::new("root")?;
    /// engine.sql_blocking(&root, "CREATE NAMESPACE app")?;
    /// engine.create_typed::<Item>(&root, TableType::Shared)?;
    /// let pen = Item { id: 1, name: "pen".into(), price: Some(1.5) };
    /// engine.insert(&root, &[pen.clone()])?;
    /// assert_eq!(engine.get::<Item>(&root, &Item::key_for(&1))?, Some(pen));
    /// let names = engine.sql_blocking(&root, "SELECT name FROM app.items WHERE id = 1")?;
    /// assert_eq!(names.to_string(), "+------+\n| name |\n+------+\n| pen  |\n+------+");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] for a user who may not create tables;
    /// [`Error::UnknownNamespace`]; [`Error::Unsupported`] for a column type the engine
    /// does not store; [`Error::TypedTableMismatch`] when the stored table is not the one
    /// `T` declares (another column, kind or row version, or a table declared in SQL).
    pub fn create_typed<T: TypedTable>(&self, user: &UserId, kind: TableType) -> Result<(), Error> {
        let user = self.user(user)?;
        self.require_admin(&user, "create a table")?;
        let (definition, columns) = typed::declare::<T>(kind, &user.id)?;
        let id = typed::table_id::<T>()?;
        if id.namespace.as_str() == SYSTEM {
            return Err(Error::ReadOnly(id.to_string()));
        }
        let model = Arc::new(Model::<T>::new());
        let catalog = &self.shared.catalog;
        let Some(stored) = catalog.table(&id) else {
            let mut set = WriteSet::new();
            let meta = catalog.create_table(definition, &columns, &mut set)?;
            self.shared
                .gates
                .audit(&mut set, &user.id, "CREATE TABLE", &id.to_string(), 0);
            self.shared.storage.write(&set)?;
            catalog.publish(Arc::new(meta.with_generated(model)));
            return Ok(());
        };
        write::locked(&self.shared, &stored.id, |meta| {
            let meta = if typed::compare::<T>(meta, &definition, &columns)? {
                let mut set = WriteSet::new();
                let mut definition = definition.clone();
                // The table keeps its creation.
                definition.created_at = meta.definition.created_at;
                definition.created_by = meta.definition.created_by.clone();
                let redefined = Catalog::redefine_table(meta, definition, &columns, &mut set)?;
                self.shared
                    .gates
                    .audit(&mut set, &user.id, "ALTER TABLE", &id.to_string(), 0);
                self.shared.storage.write(&set)?;
                redefined
            } else {
                Arc::new(meta.clone())
            };
            catalog.publish(Arc::new(meta.with_generated(model)));
            Ok(())
        })
    }

    /// Inserts `rows` into the table of `T` as `user` (in a USER table, into that user's
    /// rows): in one atomic write with their index entries, checked as an SQL `INSERT` is
    /// (duplicate keys, unique indexes), and audited when that gate is on. Keys and rows
    /// are `T`'s generated encodings. Returns the number of rows.
    ///
    /// # Errors
    ///
    /// [`Error::TypedTableMismatch`] if `T` is not attached ([`create_typed`](Self::create_typed));
    /// [`Error::DuplicateKey`], [`Error::UniqueViolation`]; storage errors. Nothing is
    /// written on an error.
    pub fn insert<T: TypedTable>(&self, user: &UserId, rows: &[T]) -> Result<u64, Error> {
        self.insert_as(&*self.user(user)?, rows)
    }

    pub(crate) fn insert_as<T: TypedTable>(
        &self,
        user: &QueryUser,
        rows: &[T],
    ) -> Result<u64, Error> {
        let id = typed::table_id::<T>()?;
        write::insert_typed(&self.shared, &id, user, rows)
    }

    /// The row of the table of `T` whose storage key is `key` (`T::key_for(..)`), as
    /// `user` sees it, decoded by `T`'s generated decoder.
    ///
    /// # Errors
    ///
    /// [`Error::TypedTableMismatch`] if `T` is not attached; storage errors, or a corrupt
    /// row.
    pub fn get<T: TypedTable>(&self, user: &UserId, key: &[u8]) -> Result<Option<T>, Error> {
        self.get_as(&*self.user(user)?, key)
    }

    pub(crate) fn get_as<T: TypedTable>(
        &self,
        user: &QueryUser,
        key: &[u8],
    ) -> Result<Option<T>, Error> {
        let meta = self.typed_meta::<T>()?;
        let scope = scope_of(&meta, &user.id);
        let reads = user.reads(&self.shared.storage);
        let Some(row) = reads.view().get(meta.number, scope, key)? else {
            return Ok(None);
        };
        let row = T::decode(&row).map_err(StorageError::corrupt_row)?;
        Ok(Some(row))
    }

    /// The rows of the table of `T` whose storage keys lie in `keys`, as `user` sees them,
    /// in key order: `..` for all, `T::key_for(&a)..T::key_for(&b)` for a range. Read a
    /// chunk at a time as the iterator is consumed.
    ///
    /// ```
    /// # use kalam::KalamTable;
    /// # use kalam_engine::{Engine, TableType, UserId};
    /// #[derive(KalamTable, Debug)]
    /// #[table(name = "events", namespace = "app")]
    /// struct Event {
    ///     #[column(primary_key)]
    ///     stream: String,
    ///     #[column(primary_key)]
    ///     at: i64,
    ///     body: String,
    /// }
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let engine = Engine::open(dir.path())?;
    /// # let root = UserId::new("root")?;
    /// # engine.sql_blocking(&root, "CREATE NAMESPACE app")?;
    /// engine.create_typed::<Event>(&root, TableType::User)?;
    /// let event = |stream: &str, at| Event { stream: stream.into(), at, body: String::new() };
    /// engine.insert(&root, &[event("a", 2), event("b", 1), event("a", 1)])?;
    /// let times: Vec<i64> = engine
    ///     .scan_prefix::<Event>(&root, &Event::key_prefix_stream("a"))?
    ///     .map(|event| event.map(|e| e.at))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(times, [1, 2]);
    /// assert_eq!(engine.scan::<Event>(&root, ..)?.count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TypedTableMismatch`] if `T` is not attached; the iterator yields storage
    /// errors and corrupt rows as they are met.
    pub fn scan<T: TypedTable>(
        &self,
        user: &UserId,
        keys: impl RangeBounds<Vec<u8>>,
    ) -> Result<TypedRows<T>, Error> {
        self.typed_rows(&*self.user(user)?, range_access(&keys))
    }

    /// The rows of the table of `T` whose storage keys start with `prefix`
    /// (`T::key_prefix_..(..)`), as [`scan`](Self::scan) reads them.
    ///
    /// # Errors
    ///
    /// As [`scan`](Self::scan).
    pub fn scan_prefix<T: TypedTable>(
        &self,
        user: &UserId,
        prefix: &[u8],
    ) -> Result<TypedRows<T>, Error> {
        self.typed_rows(&*self.user(user)?, prefix_access(prefix))
    }

    pub(crate) fn typed_rows<T: TypedTable>(
        &self,
        user: &QueryUser,
        access: Access,
    ) -> Result<TypedRows<T>, Error> {
        Ok(TypedRows {
            shared: Arc::clone(&self.shared),
            meta: self.typed_meta::<T>()?,
            user: user.id.clone(),
            txn: user.txn.clone(),
            access,
            cursor: Cursor::Start,
            buffered: VecDeque::new(),
            _rows: std::marker::PhantomData,
        })
    }

    /// The table of `T`, attached.
    fn typed_meta<T: TypedTable>(&self) -> Result<Arc<TableMeta>, Error> {
        let id = typed::table_id::<T>()?;
        let meta = self.shared.catalog.existing(&id)?;
        typed::attached::<T>(&meta)?;
        Ok(meta)
    }
}

/// The rows of storage keys in `keys`.
pub(crate) fn range_access(keys: &impl RangeBounds<Vec<u8>>) -> Access {
    Access::Range {
        lower: keys.start_bound().cloned(),
        upper: keys.end_bound().cloned(),
    }
}

/// The rows whose storage keys start with `prefix`.
pub(crate) fn prefix_access(prefix: &[u8]) -> Access {
    Access::Range {
        lower: Bound::Included(prefix.to_vec()),
        upper: Bound::Included(prefix.to_vec()),
    }
}

/// The rows of a typed scan ([`Engine::scan`]), read a chunk at a time.
pub struct TypedRows<T> {
    shared: Arc<Shared>,
    meta: Arc<TableMeta>,
    user: UserId,
    /// The transaction it reads in, if any.
    txn: Option<Arc<Txn>>,
    access: Access,
    cursor: Cursor,
    buffered: VecDeque<Vec<u8>>,
    _rows: std::marker::PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for TypedRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedRows")
            .field("table", &self.meta.id)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl<T: TypedTable> Iterator for TypedRows<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffered.is_empty() {
            let cursor = std::mem::replace(&mut self.cursor, Cursor::Done);
            if matches!(cursor, Cursor::Done) {
                return None;
            }
            let scope = scope_of(&self.meta, &self.user);
            let reads = Reads::of(&self.shared.storage, self.txn.as_deref());
            match read_chunk(reads.view(), &self.meta, scope, &self.access, cursor, CHUNK) {
                Ok((rows, next)) => {
                    self.buffered.extend(rows.into_iter().map(|(_, row)| row));
                    self.cursor = next;
                }
                Err(err) => return Some(Err(err.into())),
            }
        }
        let row = self.buffered.pop_front()?;
        Some(T::decode(&row).map_err(|e| StorageError::corrupt_row(e).into()))
    }
}
