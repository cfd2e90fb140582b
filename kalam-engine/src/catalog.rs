//! Namespaces, tables, indexes and users: kept in memory, stored as system-table rows in
//! the `catalog` column family, and changed in the same atomic write as their records.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use kalam::{KeyPart, Table};

use crate::error::{Error, StorageError};
use crate::ids::{NamespaceId, TableId, TableName, UserId};
use crate::models::{
    AuditLogEntry, ColumnDefinition, IndexDefinition, Job, Namespace, Role, TableDefinition,
    TableType, User, ViewDefinition,
};
use crate::row::{Layout, Slot};
use crate::storage::{Storage, TableNumber, WriteSet};
use crate::typed::Generated;
use crate::value::{ColumnType, Value};
use crate::write::TableLock;

/// Where each system table's rows live in the catalog family: a tag byte, then the row's
/// key.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub(crate) enum Tag {
    Namespace = 1,
    Table = 2,
    Column = 3,
    Index = 4,
    User = 5,
    Job = 6,
    Audit = 7,
    Counter = 8,
    View = 9,
}

/// The catalog key of a system-table row.
pub(crate) fn key<T: Table>(tag: Tag, row: &T) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + row.key_len());
    key.push(tag as u8);
    row.write_key(&mut key);
    key
}

const TABLE_COUNTER: &[u8] = &[Tag::Counter as u8, b't'];
/// User tables are numbered from here; lower numbers are left for the engine.
const FIRST_TABLE_NUMBER: u32 = 1024;

/// A column of a user or shared table.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) ty: ColumnType,
    pub(crate) nullable: bool,
    /// In a typed table, the row version that added the column (0: every row holds it).
    pub(crate) since: u8,
    /// What rows of versions before `since` read.
    pub(crate) default: Value,
}

impl Column {
    /// A column every row holds.
    pub(crate) fn new(name: String, ty: ColumnType, nullable: bool) -> Self {
        Column {
            name,
            ty,
            nullable,
            since: 0,
            default: Value::Null,
        }
    }
}

/// One column of a secondary index's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexPart {
    pub(crate) column: usize,
    /// Whether the index holds the column's values in descending order.
    pub(crate) descending: bool,
}

/// A secondary index: its entries are keyed by its parts' values, then the primary key
/// (see `access/entry.rs`).
#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) number: u32,
    /// The key's columns, in order; never empty.
    pub(crate) parts: Vec<IndexPart>,
    /// No two rows of one scope may hold the same values in every part (rows with a NULL
    /// in one of them excepted, as in SQLite and PostgreSQL).
    pub(crate) unique: bool,
}

impl Index {
    /// The first column of the key: every path through the index constrains it.
    pub(crate) fn leading(&self) -> usize {
        self.parts[0].column
    }

    /// Whether its entries hold the values of `column`.
    pub(crate) fn holds(&self, column: usize) -> bool {
        self.parts.iter().any(|p| p.column == column)
    }
}

/// Everything the engine knows about a user or shared table.
#[derive(Clone, Debug)]
pub(crate) struct TableMeta {
    pub(crate) id: TableId,
    pub(crate) kind: TableType,
    pub(crate) number: TableNumber,
    pub(crate) columns: Vec<Column>,
    pub(crate) types: Arc<[ColumnType]>,
    /// Primary-key columns, in key order.
    pub(crate) pk: Vec<usize>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) schema: SchemaRef,
    /// How its rows are stored.
    pub(crate) layout: Arc<Layout>,
    /// For a typed table whose Rust type is attached: the type's generated decoders.
    pub(crate) generated: Option<Arc<dyn Generated>>,
    pub(crate) definition: TableDefinition,
    /// Serializes the table's writes (see [`TableLock`]). Shared by every version of the
    /// table's metadata.
    pub(crate) write_lock: Arc<TableLock>,
}

impl TableMeta {
    fn new(
        definition: TableDefinition,
        columns: Vec<Column>,
        pk: Vec<usize>,
        indexes: Vec<Index>,
        write_lock: Arc<TableLock>,
    ) -> Result<Self, StorageError> {
        let id = TableId {
            namespace: definition.namespace.clone(),
            name: definition.table_name.clone(),
        };
        let fields: Vec<Field> = columns
            .iter()
            // Nullable for DataFusion: NOT NULL is the engine's to check, so that a NULL
            // gets the engine's typed error naming the table's column.
            .map(|c| Field::new(&c.name, c.ty.arrow(), true))
            .collect();
        let types: Vec<ColumnType> = columns.iter().map(|c| c.ty).collect();
        let layout = match definition.row_version {
            None => Layout::engine(&types),
            Some(version) => {
                let byte = |v: u32| {
                    u8::try_from(v).map_err(|_| StorageError::Corrupt {
                        what: "table definition",
                        source: kalam::DecodeError::InvalidLength,
                    })
                };
                Layout {
                    version: byte(version)?,
                    oldest: byte(definition.oldest_row_version.unwrap_or(version))?,
                    columns: columns
                        .iter()
                        .map(|c| Slot {
                            ty: c.ty,
                            // Typed tables tag exactly their optional columns, which are
                            // their nullable ones (checked when declared).
                            tagged: c.nullable,
                            since: c.since,
                            default: c.default.clone(),
                        })
                        .collect(),
                }
            }
        };
        Ok(TableMeta {
            kind: definition.table_type,
            number: TableNumber(definition.number),
            types: types.into(),
            layout: Arc::new(layout),
            generated: None,
            // No schema metadata: DataFusion checks that a plan's physical schema equals its
            // logical one, and a plan over two tables would carry one table's metadata on
            // one side and the other's on the other.
            schema: Arc::new(Schema::new(fields)),
            id,
            columns,
            pk,
            indexes,
            definition,
            write_lock,
        })
    }

    /// The table, its rows read by the generated decoders of `generated`.
    pub(crate) fn with_generated(&self, generated: Arc<dyn Generated>) -> Self {
        TableMeta {
            generated: Some(generated),
            ..self.clone()
        }
    }

    /// Whether it is a typed table attached to the Rust type `rust_type`.
    pub(crate) fn typed_by(&self, rust_type: &str) -> bool {
        self.generated
            .as_ref()
            .is_some_and(|g| g.rust_type() == rust_type)
    }

    /// The column named `name`.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The index numbered `number`.
    pub(crate) fn index(&self, number: u32) -> Option<&Index> {
        self.indexes.iter().find(|i| i.number == number)
    }

    /// The first index whose key starts with column `column`, if there is one.
    pub(crate) fn index_led_by(&self, column: usize) -> Option<&Index> {
        self.indexes.iter().find(|i| i.leading() == column)
    }
}

#[derive(Debug, Default)]
struct State {
    namespaces: BTreeMap<NamespaceId, Namespace>,
    tables: BTreeMap<TableId, Arc<TableMeta>>,
    users: BTreeMap<UserId, User>,
    views: BTreeMap<TableId, ViewDefinition>,
    next_table: u32,
}

/// The catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    state: RwLock<State>,
    /// How many times the catalog changed: transactions fail when it moves under them.
    generation: AtomicU64,
}

/// The built-in administrator.
pub(crate) const ROOT: &str = "root";

fn decode<T: Table>(what: &'static str, bytes: &[u8]) -> Result<T, StorageError> {
    T::decode(bytes).map_err(|source| StorageError::Corrupt { what, source })
}

impl Catalog {
    /// Loads the catalog from `storage`.
    pub(crate) fn load(storage: &Storage) -> Result<Self, StorageError> {
        let mut state = State {
            next_table: FIRST_TABLE_NUMBER,
            ..State::default()
        };
        for (_, row) in storage.catalog_rows(&[Tag::Namespace as u8])? {
            let ns: Namespace = decode("namespace", &row)?;
            state.namespaces.insert(ns.name.clone(), ns);
        }
        for (_, row) in storage.catalog_rows(&[Tag::User as u8])? {
            let user: User = decode("user", &row)?;
            state.users.insert(user.user_id.clone(), user);
        }
        let mut columns: BTreeMap<(NamespaceId, TableName), Vec<ColumnDefinition>> =
            BTreeMap::new();
        for (_, row) in storage.catalog_rows(&[Tag::Column as u8])? {
            let column: ColumnDefinition = decode("column", &row)?;
            columns
                .entry((column.namespace.clone(), column.table_name.clone()))
                .or_default()
                .push(column);
        }
        let mut indexes: BTreeMap<(NamespaceId, TableName), Vec<IndexDefinition>> = BTreeMap::new();
        for (_, row) in storage.catalog_rows(&[Tag::Index as u8])? {
            let index: IndexDefinition = decode("index", &row)?;
            indexes
                .entry((index.namespace.clone(), index.table_name.clone()))
                .or_default()
                .push(index);
        }
        for (_, row) in storage.catalog_rows(&[Tag::View as u8])? {
            let view: ViewDefinition = decode("view", &row)?;
            state.views.insert(view_id(&view), view);
        }
        for (_, row) in storage.catalog_rows(&[Tag::Table as u8])? {
            let table: TableDefinition = decode("table", &row)?;
            let name = (table.namespace.clone(), table.table_name.clone());
            let defs = columns.remove(&name).unwrap_or_default();
            let meta = table_meta(table, &defs, indexes.remove(&name).unwrap_or_default())?;
            state.tables.insert(meta.id.clone(), Arc::new(meta));
        }
        if let Some((_, value)) = storage
            .catalog_rows(TABLE_COUNTER)?
            .into_iter()
            .find(|(key, _)| key == TABLE_COUNTER)
        {
            let bytes: [u8; 4] =
                value
                    .as_slice()
                    .try_into()
                    .map_err(|_| StorageError::Corrupt {
                        what: "table counter",
                        source: kalam::DecodeError::InvalidLength,
                    })?;
            state.next_table = u32::from_be_bytes(bytes);
        }
        Ok(Catalog {
            state: RwLock::new(state),
            generation: AtomicU64::new(0),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every change goes through here, and counts as one.
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        let state = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        state
    }

    /// How many times the catalog changed since the engine opened.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn namespaces(&self) -> Vec<Namespace> {
        self.read().namespaces.values().cloned().collect()
    }

    pub(crate) fn has_namespace(&self, ns: &str) -> bool {
        self.read().namespaces.keys().any(|n| n.as_str() == ns)
    }

    pub(crate) fn tables(&self) -> Vec<Arc<TableMeta>> {
        self.read().tables.values().cloned().collect()
    }

    pub(crate) fn table_names(&self, ns: &str) -> Vec<String> {
        self.read()
            .tables
            .keys()
            .filter(|id| id.namespace.as_str() == ns)
            .map(|id| id.name.to_string())
            .collect()
    }

    pub(crate) fn table(&self, id: &TableId) -> Option<Arc<TableMeta>> {
        self.read().tables.get(id).cloned()
    }

    /// [`table`](Self::table), or [`Error::UnknownTable`].
    pub(crate) fn existing(&self, id: &TableId) -> Result<Arc<TableMeta>, Error> {
        self.table(id)
            .ok_or_else(|| Error::UnknownTable(id.to_string()))
    }

    /// The table `ns.name`, as DataFusion asks for it (names already normalized).
    pub(crate) fn table_by_name(&self, ns: &str, name: &str) -> Option<Arc<TableMeta>> {
        let id = TableId {
            namespace: NamespaceId::new(ns).ok()?,
            name: TableName::new(name).ok()?,
        };
        self.table(&id)
    }

    /// The view `id`, if there is one.
    pub(crate) fn view(&self, id: &TableId) -> Option<ViewDefinition> {
        self.read().views.get(id).cloned()
    }

    pub(crate) fn views(&self) -> Vec<ViewDefinition> {
        self.read().views.values().cloned().collect()
    }

    /// Plans a view, new or (`replace`) replacing one of that name: its row in `set`.
    pub(crate) fn create_view(
        &self,
        view: &ViewDefinition,
        replace: bool,
        set: &mut WriteSet,
    ) -> Result<(), Error> {
        let state = self.read();
        let id = view_id(view);
        if !state.namespaces.contains_key(&id.namespace) {
            return Err(Error::UnknownNamespace(id.namespace.to_string()));
        }
        let taken = match (
            state.tables.contains_key(&id),
            state.views.contains_key(&id),
        ) {
            (true, _) => Some("table"),
            (false, true) if !replace => Some("view"),
            _ => None,
        };
        if let Some(kind) = taken {
            return Err(Error::AlreadyExists {
                kind,
                name: id.to_string(),
            });
        }
        set.put_catalog(key(Tag::View, view), view.to_row());
        Ok(())
    }

    pub(crate) fn commit_view(&self, view: ViewDefinition) {
        self.write().views.insert(view_id(&view), view);
    }

    /// Plans dropping view `id`: its row in `set`; `None` if there is no such view.
    pub(crate) fn drop_view(&self, id: &TableId, set: &mut WriteSet) -> Option<()> {
        let state = self.read();
        let view = state.views.get(id)?;
        set.delete_catalog(key(Tag::View, view));
        Some(())
    }

    pub(crate) fn commit_drop_view(&self, id: &TableId) {
        self.write().views.remove(id);
    }

    pub(crate) fn users(&self) -> Vec<User> {
        self.read().users.values().cloned().collect()
    }

    /// The role of `user`: `root` is always there; others must have been created.
    pub(crate) fn role(&self, user: &UserId) -> Option<Role> {
        if user.as_str() == ROOT {
            return Some(Role::System);
        }
        self.read().users.get(user).map(|u| u.role)
    }

    /// Adds a namespace; the caller writes `set` and then [`publish`](Self::commit_namespace)es.
    pub(crate) fn create_namespace(
        &self,
        ns: Namespace,
        set: &mut WriteSet,
    ) -> Result<Namespace, Error> {
        if self.read().namespaces.contains_key(&ns.name) {
            return Err(Error::AlreadyExists {
                kind: "namespace",
                name: ns.name.to_string(),
            });
        }
        set.put_catalog(key(Tag::Namespace, &ns), ns.to_row());
        Ok(ns)
    }

    pub(crate) fn commit_namespace(&self, ns: Namespace) {
        self.write().namespaces.insert(ns.name.clone(), ns);
    }

    pub(crate) fn drop_namespace(&self, ns: &NamespaceId, set: &mut WriteSet) -> Result<(), Error> {
        let state = self.read();
        let Some(namespace) = state.namespaces.get(ns) else {
            return Err(Error::UnknownNamespace(ns.to_string()));
        };
        if let Some(id) = state.tables.keys().find(|id| &id.namespace == ns) {
            return Err(Error::unsupported(format!(
                "namespace `{ns}` still holds table `{id}`; drop its tables first"
            )));
        }
        if let Some(id) = state.views.keys().find(|id| &id.namespace == ns) {
            return Err(Error::unsupported(format!(
                "namespace `{ns}` still holds view `{id}`; drop its views first"
            )));
        }
        set.delete_catalog(key(Tag::Namespace, namespace));
        Ok(())
    }

    pub(crate) fn commit_drop_namespace(&self, ns: &NamespaceId) {
        self.write().namespaces.remove(ns);
    }

    /// Plans a new table: checks it, numbers it, and adds its rows to `set`.
    pub(crate) fn create_table(
        &self,
        definition: TableDefinition,
        columns: &[ColumnDefinition],
        set: &mut WriteSet,
    ) -> Result<Arc<TableMeta>, Error> {
        let mut state = self.write();
        if !state.namespaces.contains_key(&definition.namespace) {
            return Err(Error::UnknownNamespace(definition.namespace.to_string()));
        }
        let id = TableId {
            namespace: definition.namespace.clone(),
            name: definition.table_name.clone(),
        };
        let taken = if state.tables.contains_key(&id) {
            Some("table")
        } else {
            state.views.contains_key(&id).then_some("view")
        };
        if let Some(kind) = taken {
            return Err(Error::AlreadyExists {
                kind,
                name: id.to_string(),
            });
        }
        let mut definition = definition;
        definition.number = state.next_table;
        let meta = table_meta(definition, columns, Vec::new())?;
        // Numbers are never reused: a dropped table's number stays taken.
        state.next_table += 1;
        set.put_catalog(
            TABLE_COUNTER.to_vec(),
            state.next_table.to_be_bytes().to_vec(),
        );
        set.put_catalog(key(Tag::Table, &meta.definition), meta.definition.to_row());
        for column in columns {
            set.put_catalog(key(Tag::Column, column), column.to_row());
        }
        Ok(Arc::new(meta))
    }

    /// The table `meta` with a new definition of its columns (a typed table whose Rust type
    /// added columns in a new row version), and the new catalog rows in `set`. Its number,
    /// indexes and write lock stay.
    pub(crate) fn redefine_table(
        meta: &TableMeta,
        mut definition: TableDefinition,
        columns: &[ColumnDefinition],
        set: &mut WriteSet,
    ) -> Result<Arc<TableMeta>, Error> {
        definition.number = meta.number.0;
        let indexes = meta
            .indexes
            .iter()
            .flat_map(|index| index_definitions(meta, index))
            .collect();
        let mut redefined = table_meta(definition, columns, indexes)?;
        redefined.write_lock = Arc::clone(&meta.write_lock);
        set.put_catalog(
            key(Tag::Table, &redefined.definition),
            redefined.definition.to_row(),
        );
        for column in columns {
            set.put_catalog(key(Tag::Column, column), column.to_row());
        }
        Ok(Arc::new(redefined))
    }

    /// Makes a table (new, or with a new index) visible.
    pub(crate) fn publish(&self, meta: Arc<TableMeta>) {
        self.write().tables.insert(meta.id.clone(), meta);
    }

    /// Plans dropping a table: its catalog rows, and all its rows and index entries.
    pub(crate) fn drop_table(&self, meta: &TableMeta, set: &mut WriteSet) {
        set.delete_catalog(key(Tag::Table, &meta.definition));
        for (ordinal, column) in meta.columns.iter().enumerate() {
            set.delete_catalog(key(Tag::Column, &column_definition(meta, ordinal, column)));
        }
        for index in &meta.indexes {
            for row in index_definitions(meta, index) {
                set.delete_catalog(key(Tag::Index, &row));
            }
        }
        set.delete_table_data(meta.number);
    }

    pub(crate) fn commit_drop_table(&self, id: &TableId) {
        self.write().tables.remove(id);
    }

    /// The table with one more index (`parts`, `unique`), and that index's catalog rows in
    /// `set`.
    pub(crate) fn with_index(
        meta: &TableMeta,
        name: String,
        (parts, unique): (Vec<IndexPart>, bool),
        set: &mut WriteSet,
    ) -> Result<Arc<TableMeta>, Error> {
        if meta.indexes.iter().any(|i| i.name == name) {
            return Err(Error::AlreadyExists {
                kind: "index",
                name,
            });
        }
        let number = meta.indexes.iter().map(|i| i.number).max().unwrap_or(0) + 1;
        let index = Index {
            name,
            number,
            parts,
            unique,
        };
        for row in index_definitions(meta, &index) {
            set.put_catalog(key(Tag::Index, &row), row.to_row());
        }
        let mut indexes = meta.indexes.clone();
        indexes.push(index);
        Ok(Arc::new(TableMeta {
            indexes,
            ..meta.clone()
        }))
    }

    /// The table without its index `name`, that index's catalog row and entries removed in
    /// `set`; `None` if it has no such index.
    pub(crate) fn without_index(
        meta: &TableMeta,
        name: &str,
        set: &mut WriteSet,
    ) -> Option<Arc<TableMeta>> {
        let index = meta.indexes.iter().find(|i| i.name == name)?;
        for row in index_definitions(meta, index) {
            set.delete_catalog(key(Tag::Index, &row));
        }
        set.delete_index_data(meta.number, index.number);
        let indexes = meta
            .indexes
            .iter()
            .filter(|i| i.name != name)
            .cloned()
            .collect();
        Some(Arc::new(TableMeta {
            indexes,
            ..meta.clone()
        }))
    }

    pub(crate) fn create_user(&self, user: User, set: &mut WriteSet) -> Result<User, Error> {
        if user.user_id.as_str() == ROOT || self.read().users.contains_key(&user.user_id) {
            return Err(Error::AlreadyExists {
                kind: "user",
                name: user.user_id.to_string(),
            });
        }
        set.put_catalog(key(Tag::User, &user), user.to_row());
        Ok(user)
    }

    /// The user `id`, root included (as stored once given a password, or as built in).
    pub(crate) fn user(&self, id: &UserId) -> Option<User> {
        if let Some(user) = self.read().users.get(id) {
            return Some(user.clone());
        }
        (id.as_str() == ROOT).then(|| User {
            user_id: id.clone(),
            role: Role::System,
            created_at: 0,
            password: None,
            locked: None,
        })
    }

    /// Stores `user` over its old row; the caller writes `set`, then
    /// [`commit_user`](Self::commit_user)s.
    pub(crate) fn alter_user(&self, user: &User, set: &mut WriteSet) {
        set.put_catalog(key(Tag::User, user), user.to_row());
    }

    pub(crate) fn commit_user(&self, user: User) {
        self.write().users.insert(user.user_id.clone(), user);
    }

    pub(crate) fn jobs(storage: &Storage) -> Result<Vec<Job>, StorageError> {
        storage
            .catalog_rows(&[Tag::Job as u8])?
            .iter()
            .map(|(_, row)| decode("job", row))
            .collect()
    }

    pub(crate) fn audit_log(storage: &Storage) -> Result<Vec<AuditLogEntry>, StorageError> {
        storage
            .catalog_rows(&[Tag::Audit as u8])?
            .iter()
            .map(|(_, row)| decode("audit log entry", row))
            .collect()
    }

    /// The largest id stored under `tag` (jobs, audit entries), to continue from.
    pub(crate) fn last_id(storage: &Storage, tag: Tag) -> Result<u64, StorageError> {
        let Some(key) = storage.last_catalog_key(&[tag as u8])? else {
            return Ok(0);
        };
        u64::decode_key(&mut &key[1..]).map_err(|source| StorageError::Corrupt {
            what: "catalog id",
            source,
        })
    }
}

pub(crate) fn table_meta(
    definition: TableDefinition,
    defs: &[ColumnDefinition],
    index_defs: Vec<IndexDefinition>,
) -> Result<TableMeta, StorageError> {
    let mut defs: Vec<&ColumnDefinition> = defs.iter().collect();
    defs.sort_by_key(|c| c.ordinal);
    let corrupt = |what| StorageError::Corrupt {
        what,
        source: kalam::DecodeError::InvalidLength,
    };
    let columns: Vec<Column> = defs
        .iter()
        .map(|c| {
            Ok(Column {
                name: c.column_name.clone(),
                ty: c.data_type,
                nullable: c.nullable,
                since: c
                    .added_in_version
                    .map_or(Ok(0), u8::try_from)
                    .map_err(|_| corrupt("column definition"))?,
                default: Value::from_text(c.data_type, c.default_value.as_deref())
                    .ok_or_else(|| corrupt("column default"))?,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    let mut pk: Vec<(u32, usize)> = defs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.primary_key_position.map(|p| (p, i)))
        .collect();
    pk.sort_unstable();
    if pk.is_empty() || columns.len() != definition.column_count as usize {
        return Err(corrupt("table definition"));
    }
    // An index's rows, by index name then position (the catalog's key order).
    let mut indexes: Vec<Index> = Vec::new();
    for row in index_defs {
        let column = columns
            .iter()
            .position(|c| c.name == row.column_name)
            .ok_or_else(|| corrupt("index definition"))?;
        let part = IndexPart {
            column,
            descending: row.descending,
        };
        match indexes.last_mut() {
            Some(index) if index.name == row.index_name => {
                if row.position as usize != index.parts.len() {
                    return Err(corrupt("index definition"));
                }
                index.parts.push(part);
            }
            _ if row.position != 0 => return Err(corrupt("index definition")),
            _ => indexes.push(Index {
                name: row.index_name,
                number: row.number,
                parts: vec![part],
                unique: row.is_unique,
            }),
        }
    }
    TableMeta::new(
        definition,
        columns,
        pk.into_iter().map(|(_, i)| i).collect(),
        indexes,
        Arc::default(),
    )
}

pub(crate) fn column_definition(
    meta: &TableMeta,
    ordinal: usize,
    column: &Column,
) -> ColumnDefinition {
    ColumnDefinition {
        namespace: meta.id.namespace.clone(),
        table_name: meta.id.name.clone(),
        ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
        column_name: column.name.clone(),
        data_type: column.ty,
        nullable: column.nullable,
        primary_key_position: meta
            .pk
            .iter()
            .position(|&p| p == ordinal)
            .map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
        added_in_version: (column.since > 0).then_some(u32::from(column.since)),
        default_value: column.default.to_text(),
    }
}

/// The catalog rows of an index: one per part.
pub(crate) fn index_definitions(meta: &TableMeta, index: &Index) -> Vec<IndexDefinition> {
    index
        .parts
        .iter()
        .enumerate()
        .map(|(position, part)| IndexDefinition {
            namespace: meta.id.namespace.clone(),
            table_name: meta.id.name.clone(),
            index_name: index.name.clone(),
            position: u32::try_from(position).unwrap_or(u32::MAX),
            column_name: meta.columns[part.column].name.clone(),
            descending: part.descending,
            is_unique: index.unique,
            number: index.number,
        })
        .collect()
}

fn view_id(view: &ViewDefinition) -> TableId {
    TableId {
        namespace: view.namespace.clone(),
        name: view.view_name.clone(),
    }
}
