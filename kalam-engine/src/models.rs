//! The engine's models: the rows of its system tables.
//!
//! Each is a `#[derive(KalamTable)]` (its storage key, row codec, Arrow schema and batch
//! builders are generated), a `#[derive(AlignedModel)]` (`kalam layout` prints their
//! layouts), and reads its fields through `#[hot]` accessors.

use std::fmt;

use kalam::{AlignedModel, ColumnVia, KalamTable};

use crate::ids::{NamespaceId, TableName, UserId};
use crate::value::ColumnType;

/// Whether a table's rows belong to each user or to everybody.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableType {
    /// One set of rows per user: each user sees and changes only their own.
    User,
    /// One set of rows for everybody.
    Shared,
    /// A system table: read-only, maintained by the engine.
    System,
}

impl TableType {
    /// `USER`, `SHARED` or `SYSTEM`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TableType::User => "USER",
            TableType::Shared => "SHARED",
            TableType::System => "SYSTEM",
        }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ColumnVia<String> for TableType {
    fn to_repr(&self) -> String {
        self.as_str().to_owned()
    }
    fn from_repr(repr: String) -> Result<Self, String> {
        match repr.as_str() {
            "USER" => Ok(TableType::User),
            "SHARED" => Ok(TableType::Shared),
            "SYSTEM" => Ok(TableType::System),
            _ => Err(format!("unknown table type {repr:?}")),
        }
    }
}

impl ColumnVia<String> for ColumnType {
    fn to_repr(&self) -> String {
        self.sql_name().to_owned()
    }
    fn from_repr(repr: String) -> Result<Self, String> {
        ColumnType::from_sql(&repr).ok_or_else(|| format!("unknown column type {repr:?}"))
    }
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads and writes rows; no DDL.
    User,
    /// Also DDL, users and gates.
    Dba,
    /// The built-in `root`.
    System,
}

impl Role {
    /// `user`, `dba` or `system`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Dba => "dba",
            Role::System => "system",
        }
    }

    /// Whether the role may change the schema, users and gates.
    #[must_use]
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Dba | Role::System)
    }
}

impl ColumnVia<String> for Role {
    fn to_repr(&self) -> String {
        self.as_str().to_owned()
    }
    fn from_repr(repr: String) -> Result<Self, String> {
        match repr.as_str() {
            "user" => Ok(Role::User),
            "dba" => Ok(Role::Dba),
            "system" => Ok(Role::System),
            _ => Err(format!("unknown role {repr:?}")),
        }
    }
}

/// A row of `system.namespaces`.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "namespaces", namespace = "system")]
pub struct Namespace {
    /// The namespace's name.
    #[hot]
    #[column(primary_key, via = String)]
    pub(crate) name: NamespaceId,
    /// When it was created, in microseconds since the epoch.
    #[hot]
    pub(crate) created_at: i64,
    /// Who created it.
    #[hot]
    #[column(via = String)]
    pub(crate) created_by: UserId,
}

/// A row of `system.tables`. Version 2 added the columns of typed tables.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "tables", namespace = "system", version = 2)]
pub struct TableDefinition {
    /// The table's namespace.
    #[hot]
    #[column(primary_key, via = String)]
    pub(crate) namespace: NamespaceId,
    /// The table's name.
    #[hot]
    #[column(primary_key, via = String)]
    pub(crate) table_name: TableName,
    /// USER or SHARED.
    #[hot(copy)]
    #[column(via = String)]
    pub(crate) table_type: TableType,
    /// The table's number in the keyspace.
    #[hot]
    pub(crate) number: u32,
    /// The primary-key columns, comma-separated.
    #[hot]
    pub(crate) primary_key: String,
    /// How many columns it has (their definitions are in `system.columns`).
    #[hot]
    pub(crate) column_count: u32,
    /// When it was created, in microseconds since the epoch.
    #[hot]
    pub(crate) created_at: i64,
    /// Who created it.
    #[hot]
    #[column(via = String)]
    pub(crate) created_by: UserId,
    /// For a typed table (declared in Rust), the version its rows are written with; NULL
    /// for a table declared in SQL, whose rows are in the engine's own format.
    #[column(since = 2)]
    pub(crate) row_version: Option<u32>,
    /// For a typed table, the oldest row version its stored rows may have.
    #[column(since = 2)]
    pub(crate) oldest_row_version: Option<u32>,
    /// For a typed table, the Rust type that declared it.
    #[column(since = 2)]
    pub(crate) rust_type: Option<String>,
}

/// A row of `system.columns`: one column of a user or shared table. Version 2 added the
/// columns of typed tables' row versions.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "columns", namespace = "system", version = 2)]
pub struct ColumnDefinition {
    /// The table's namespace.
    #[column(primary_key, via = String)]
    pub(crate) namespace: NamespaceId,
    /// The table's name.
    #[column(primary_key, via = String)]
    pub(crate) table_name: TableName,
    /// The column's position, from 0.
    #[hot]
    #[column(primary_key)]
    pub(crate) ordinal: u32,
    /// The column's name (lowercased).
    #[hot]
    pub(crate) column_name: String,
    /// Its type.
    #[hot(copy)]
    #[column(via = String)]
    pub(crate) data_type: ColumnType,
    /// Whether it may hold NULL.
    #[hot]
    pub(crate) nullable: bool,
    /// Its position in the primary key, if it is part of it.
    #[hot]
    pub(crate) primary_key_position: Option<u32>,
    /// In a typed table, the row version that added the column; NULL if every row holds it.
    #[column(since = 2)]
    pub(crate) added_in_version: Option<u32>,
    /// The value rows written before `added_in_version` read, as text (bytes in hex);
    /// NULL for NULL, or when every row holds the column.
    #[column(since = 2)]
    pub(crate) default_value: Option<String>,
}

/// A row of `system.indexes`: one column of a secondary index. An index on several
/// columns has a row for each, by `position` in its key.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "indexes", namespace = "system")]
pub struct IndexDefinition {
    /// The table's namespace.
    #[column(primary_key, via = String)]
    pub(crate) namespace: NamespaceId,
    /// The table's name.
    #[column(primary_key, via = String)]
    pub(crate) table_name: TableName,
    /// The index's name.
    #[hot]
    #[column(primary_key)]
    pub(crate) index_name: String,
    /// The column's position in the index's key, from 0.
    #[hot]
    #[column(primary_key)]
    pub(crate) position: u32,
    /// The indexed column.
    #[hot]
    pub(crate) column_name: String,
    /// Whether the index holds this column's values in descending order.
    #[hot]
    pub(crate) descending: bool,
    /// Whether no two rows may hold the same values in all the index's columns (rows with
    /// a NULL in one of them excepted).
    #[hot]
    pub(crate) is_unique: bool,
    /// The index's number within its table, part of its keys.
    #[hot]
    pub(crate) number: u32,
}

/// A row of `system.views`: a view, kept as the statement that made it. A query that
/// names the view reads its query in its place, as the user who runs it.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "views", namespace = "system")]
pub struct ViewDefinition {
    /// The view's namespace.
    #[column(primary_key, via = String)]
    pub(crate) namespace: NamespaceId,
    /// The view's name.
    #[hot]
    #[column(primary_key, via = String)]
    pub(crate) view_name: TableName,
    /// `CREATE VIEW ns.v [(columns)] AS query`.
    #[hot]
    pub(crate) definition: String,
    /// Who made it.
    #[column(via = String)]
    pub(crate) created_by: UserId,
}

/// A row of `system.users`. Version 2 added passwords and locks.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "users", namespace = "system", version = 2)]
pub struct User {
    /// The user's id.
    #[hot]
    #[column(primary_key, via = String)]
    pub(crate) user_id: UserId,
    /// What they may do.
    #[hot(copy)]
    #[column(via = String)]
    pub(crate) role: Role,
    /// When the user was created, in microseconds since the epoch.
    #[hot]
    pub(crate) created_at: i64,
    /// The password's SCRAM-SHA-256 verifier, in PostgreSQL's text form; NULL for a user
    /// who cannot log in with a password (`kalam serve` refuses them).
    #[column(since = 2)]
    pub(crate) password: Option<String>,
    /// Whether logins are refused (`ALTER USER .. NOLOGIN`); NULL reads as not.
    #[column(since = 2)]
    pub(crate) locked: Option<bool>,
}

/// A row of `system.jobs`: work the engine did in the background of a statement (index
/// builds, table drops).
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "jobs", namespace = "system")]
pub struct Job {
    /// The job's id, increasing.
    #[hot]
    #[column(primary_key)]
    pub(crate) job_id: u64,
    /// What it does: `build_index`, `drop_table`.
    #[hot]
    pub(crate) kind: String,
    /// What it works on.
    #[hot]
    pub(crate) target: String,
    /// `completed` or `failed`.
    #[hot]
    pub(crate) status: String,
    /// Rows it went through.
    #[hot]
    pub(crate) rows: u64,
    /// Start time, microseconds since the epoch.
    #[hot]
    pub(crate) started_at: i64,
    /// End time, microseconds since the epoch.
    #[hot]
    pub(crate) finished_at: i64,
    /// Who ran it.
    #[hot]
    #[column(via = String)]
    pub(crate) created_by: UserId,
}

/// A row of `system.audit_log`, written (with the `audit_log` gate on) in the same atomic
/// write as the change it records.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "audit_log", namespace = "system")]
pub struct AuditLogEntry {
    /// The entry's id, increasing.
    #[hot]
    #[column(primary_key)]
    pub(crate) entry_id: u64,
    /// When, in microseconds since the epoch.
    #[hot]
    pub(crate) at: i64,
    /// Who.
    #[hot]
    #[column(via = String)]
    pub(crate) user_id: UserId,
    /// `INSERT`, `UPDATE`, `DELETE`, `CREATE TABLE`, ...
    #[hot]
    pub(crate) action: String,
    /// The table or namespace changed.
    #[hot]
    pub(crate) target: String,
    /// Rows changed (0 for DDL).
    #[hot]
    pub(crate) rows: u64,
}

/// A row of `system.live_queries`: a subscription to a table's changes.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "live_queries", namespace = "system")]
pub struct LiveQuery {
    /// The subscription's id.
    #[hot]
    #[column(primary_key)]
    pub(crate) live_id: u64,
    /// Who subscribed.
    #[hot]
    #[column(via = String)]
    pub(crate) user_id: UserId,
    /// The table watched, `namespace.table`.
    #[hot]
    pub(crate) table_id: String,
    /// When, in microseconds since the epoch.
    #[hot]
    pub(crate) created_at: i64,
    /// Changes delivered so far (write statements that touched the user's rows).
    #[hot]
    pub(crate) changes: u64,
}

/// A row of `system.gates`: one `#[opt_in_feature]` gate of the process.
#[derive(KalamTable, AlignedModel, Clone, Debug, PartialEq)]
#[table(name = "gates", namespace = "system")]
pub struct GateRow {
    /// The gate's name.
    #[hot]
    #[column(primary_key)]
    pub(crate) name: String,
    /// Whether it is on.
    #[hot]
    pub(crate) on: bool,
    /// Calls that went through it while on.
    #[hot]
    pub(crate) hits: u64,
    /// Call sites of this gate that have run.
    #[hot]
    pub(crate) sites: u64,
}

/// The current time in microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Every model's layout, for `kalam layout`.
#[must_use]
pub fn model_layouts() -> Vec<&'static kalam::StructLayout> {
    use kalam::AlignedModel as _;
    vec![
        &Namespace::LAYOUT,
        &TableDefinition::LAYOUT,
        &ColumnDefinition::LAYOUT,
        &IndexDefinition::LAYOUT,
        &ViewDefinition::LAYOUT,
        &User::LAYOUT,
        &Job::LAYOUT,
        &AuditLogEntry::LAYOUT,
        &LiveQuery::LAYOUT,
        &GateRow::LAYOUT,
    ]
}
