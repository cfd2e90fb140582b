//! The engine's own DDL: namespaces, tables, indexes and users. Each change is one atomic
//! write of its catalog rows (and audit entry), then published to the in-memory catalog.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use datafusion::sql::sqlparser::ast::{
    self, ColumnOption, Expr as SqlExpr, ObjectName, Statement, TableConstraint,
};
use kalam::Table;

use super::Engine;
use crate::catalog::{Catalog, Column, IndexPart, ROOT, TableMeta, Tag, key};
use crate::error::Error;
use crate::gates::ENGINE_GATES;
use crate::ids::{NamespaceId, UserId};
use crate::models::{
    ColumnDefinition, Job, Namespace, Role, TableDefinition, TableType, User, now_micros,
};
use crate::password::Verifier;
use crate::provider::SYSTEM;
use crate::result::QueryResult;
use crate::session::QueryUser;
use crate::sql::UserOptions;
use crate::sql::names::{ident_name, object_name, table_id};
use crate::storage::WriteSet;
use crate::value::{ColumnType, Value};
use crate::write;

impl Engine {
    pub(super) fn require_admin(&self, user: &QueryUser, action: &str) -> Result<(), Error> {
        if user.role.is_admin() {
            Ok(())
        } else {
            Err(Error::PermissionDenied {
                user: user.id.to_string(),
                action: action.to_owned(),
            })
        }
    }

    pub(super) fn create_namespace(
        &self,
        user: &QueryUser,
        name: &str,
        if_not_exists: bool,
    ) -> Result<QueryResult, Error> {
        let name = NamespaceId::new(name)?;
        if name.as_str() == SYSTEM
            || (if_not_exists && self.shared.catalog.has_namespace(name.as_str()))
        {
            return if if_not_exists {
                Ok(QueryResult::empty())
            } else {
                Err(Error::AlreadyExists {
                    kind: "namespace",
                    name: name.to_string(),
                })
            };
        }
        let mut set = WriteSet::new();
        let ns = self.shared.catalog.create_namespace(
            Namespace {
                name,
                created_at: now_micros(),
                created_by: user.id.clone(),
            },
            &mut set,
        )?;
        self.shared
            .gates
            .audit(&mut set, &user.id, "CREATE NAMESPACE", ns.name.as_str(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_namespace(ns);
        Ok(QueryResult::empty())
    }

    pub(super) fn drop_namespace(
        &self,
        user: &QueryUser,
        name: &str,
        if_exists: bool,
    ) -> Result<QueryResult, Error> {
        let name = NamespaceId::new(name)?;
        if if_exists && !self.shared.catalog.has_namespace(name.as_str()) {
            return Ok(QueryResult::empty());
        }
        let mut set = WriteSet::new();
        self.shared.catalog.drop_namespace(&name, &mut set)?;
        self.shared
            .gates
            .audit(&mut set, &user.id, "DROP NAMESPACE", name.as_str(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_drop_namespace(&name);
        Ok(QueryResult::empty())
    }

    pub(super) fn create_table(
        &self,
        user: &QueryUser,
        kind: TableType,
        statement: &Statement,
    ) -> Result<QueryResult, Error> {
        let Statement::CreateTable(create) = statement else {
            return Err(Error::parse("expected CREATE TABLE"));
        };
        if create.query.is_some() || create.external || create.temporary {
            return Err(Error::unsupported(
                "CREATE TABLE AS, EXTERNAL or TEMPORARY tables",
            ));
        }
        let id = table_id(&create.name)?;
        if id.namespace.as_str() == SYSTEM {
            return Err(Error::ReadOnly(id.to_string()));
        }
        if create.if_not_exists && self.shared.catalog.table(&id).is_some() {
            return Ok(QueryResult::empty());
        }
        let mut columns = Vec::new();
        let mut pk: Vec<String> = Vec::new();
        for def in &create.columns {
            let name = ident_name(&def.name);
            if columns.iter().any(|c: &Column| c.name == name) {
                return Err(Error::AlreadyExists {
                    kind: "column",
                    name,
                });
            }
            let ty = ColumnType::from_sql(&def.data_type.to_string()).ok_or_else(|| {
                Error::unsupported(format!(
                    "column `{name}` has type {}; supported: BOOLEAN, INT, BIGINT, DOUBLE, TEXT \
                     (VARCHAR, CHAR), BYTEA, TIMESTAMP",
                    def.data_type
                ))
            })?;
            let mut nullable = true;
            let mut default = Value::Null;
            for option in &def.options {
                match &option.option {
                    ColumnOption::NotNull => nullable = false,
                    ColumnOption::Null => nullable = true,
                    ColumnOption::PrimaryKey(_) => pk.push(name.clone()),
                    ColumnOption::Default(expr) => default = default_value(&name, ty, expr)?,
                    other => {
                        return Err(Error::unsupported(format!(
                            "column option `{other}` on `{name}`"
                        )));
                    }
                }
            }
            let mut column = Column::new(name, ty, nullable);
            column.default = default;
            columns.push(column);
        }
        for constraint in &create.constraints {
            match constraint {
                TableConstraint::PrimaryKey(key) => {
                    if !pk.is_empty() {
                        return Err(Error::plan(format!("`{id}` has two primary keys")));
                    }
                    for column in &key.columns {
                        pk.push(match &column.column.expr {
                            SqlExpr::Identifier(ident) => ident_name(ident),
                            other => {
                                return Err(Error::unsupported(format!(
                                    "primary key part `{other}`: name columns"
                                )));
                            }
                        });
                    }
                }
                other => return Err(Error::unsupported(format!("table constraint `{other}`"))),
            }
        }
        if pk.is_empty() {
            return Err(Error::plan(format!(
                "`{id}` needs a primary key: add PRIMARY KEY to a column, or PRIMARY KEY (a, b)"
            )));
        }
        let mut pk_positions = Vec::new();
        for name in &pk {
            let column = columns
                .iter()
                .position(|c| c.name == *name)
                .ok_or_else(|| Error::UnknownColumn {
                    table: id.to_string(),
                    column: name.clone(),
                })?;
            columns[column].nullable = false;
            pk_positions.push(column);
        }
        let definition = TableDefinition {
            namespace: id.namespace.clone(),
            table_name: id.name.clone(),
            table_type: kind,
            number: 0,
            primary_key: pk.join(","),
            column_count: u32::try_from(columns.len()).unwrap_or(u32::MAX),
            created_at: now_micros(),
            created_by: user.id.clone(),
            row_version: None,
            oldest_row_version: None,
            rust_type: None,
        };
        let defs: Vec<ColumnDefinition> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| ColumnDefinition {
                namespace: id.namespace.clone(),
                table_name: id.name.clone(),
                ordinal: u32::try_from(i).unwrap_or(u32::MAX),
                column_name: c.name.clone(),
                data_type: c.ty,
                nullable: c.nullable,
                primary_key_position: pk_positions
                    .iter()
                    .position(|&p| p == i)
                    .map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
                added_in_version: None,
                default_value: c.default.to_text(),
            })
            .collect();
        let mut set = WriteSet::new();
        let meta = self
            .shared
            .catalog
            .create_table(definition, &defs, &mut set)?;
        self.shared
            .gates
            .audit(&mut set, &user.id, "CREATE TABLE", &id.to_string(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.publish(meta);
        Ok(QueryResult::empty())
    }

    pub(super) fn drop_table(
        &self,
        user: &QueryUser,
        name: &ObjectName,
        if_exists: bool,
    ) -> Result<(), Error> {
        let id = table_id(name)?;
        let Some(meta) = self.shared.catalog.table(&id) else {
            return if if_exists {
                Ok(())
            } else {
                Err(Error::UnknownTable(id.to_string()))
            };
        };
        let _guard = meta.write_lock.whole();
        let mut set = WriteSet::new();
        self.shared.catalog.drop_table(&meta, &mut set);
        self.shared
            .gates
            .audit(&mut set, &user.id, "DROP TABLE", &id.to_string(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_drop_table(&id);
        Ok(())
    }

    pub(super) fn create_index(
        &self,
        user: &QueryUser,
        index: &ast::CreateIndex,
    ) -> Result<QueryResult, Error> {
        let id = table_id(&index.table_name)?;
        let meta = self.shared.catalog.existing(&id)?;
        let parts = index_parts(&meta, index)?;
        let shown: Vec<String> = parts
            .iter()
            .map(|p| {
                let name = &meta.columns[p.column].name;
                if p.descending {
                    format!("{name} DESC")
                } else {
                    name.clone()
                }
            })
            .collect();
        let name = match &index.name {
            Some(name) => object_name(name)?,
            None => {
                let columns: Vec<&str> = parts
                    .iter()
                    .map(|p| meta.columns[p.column].name.as_str())
                    .collect();
                format!("{}_{}_idx", id.name, columns.join("_"))
            }
        };
        if index.if_not_exists && meta.indexes.iter().any(|i| i.name == name) {
            return Ok(QueryResult::empty());
        }
        write::locked(&self.shared, &id, |meta| {
            let started_at = now_micros();
            let mut set = WriteSet::new();
            let indexed = Catalog::with_index(meta, name, (parts, index.unique), &mut set)?;
            let Some(new) = indexed.indexes.last() else {
                return Err(Error::plan(format!("`{id}` lost the index it was given")));
            };
            let rows = write::backfill_index(&self.shared, &indexed, new, &mut set)?;
            let job = Job {
                job_id: self.shared.next_job_id.fetch_add(1, Ordering::Relaxed) + 1,
                kind: "build_index".to_owned(),
                target: format!("{id}({})", shown.join(", ")),
                status: "completed".to_owned(),
                rows,
                started_at,
                finished_at: now_micros(),
                created_by: user.id.clone(),
            };
            set.put_catalog(key(Tag::Job, &job), job.to_row());
            self.shared
                .gates
                .audit(&mut set, &user.id, "CREATE INDEX", &id.to_string(), 0);
            self.shared.storage.write(&set)?;
            self.shared.catalog.publish(indexed);
            Ok(())
        })?;
        Ok(QueryResult::empty())
    }

    /// `DROP INDEX name`, `DROP INDEX ns.name` or `DROP INDEX name ON ns.t`: the index's
    /// catalog row and all its entries go in one write.
    pub(super) fn drop_index(
        &self,
        user: &QueryUser,
        name: &ObjectName,
        table: Option<&ObjectName>,
        if_exists: bool,
    ) -> Result<(), Error> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(ident_name))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::parse(format!("`{name}` is not an index name")))?;
        let (namespace, index) = match parts.as_slice() {
            [index] => (None, index.clone()),
            [namespace, index] => (Some(namespace.clone()), index.clone()),
            _ => return Err(Error::parse(format!("`{name}` is not an index name"))),
        };
        let table = table.map(table_id).transpose()?;
        let holders: Vec<_> = self
            .shared
            .catalog
            .tables()
            .into_iter()
            .filter(|meta| table.as_ref().is_none_or(|t| *t == meta.id))
            .filter(|meta| {
                namespace
                    .as_deref()
                    .is_none_or(|ns| meta.id.namespace.as_str() == ns)
            })
            .filter(|meta| meta.indexes.iter().any(|i| i.name == index))
            .collect();
        let meta = match holders.as_slice() {
            [] if if_exists => return Ok(()),
            [] => return Err(Error::UnknownIndex(name.to_string())),
            [meta] => Arc::clone(meta),
            [first, second, ..] => {
                return Err(Error::plan(format!(
                    "index `{index}` exists on `{}` and `{}`; name its table: \
                     DROP INDEX {index} ON {}",
                    first.id, second.id, first.id
                )));
            }
        };
        write::locked(&self.shared, &meta.id, |meta| {
            let mut set = WriteSet::new();
            let Some(without) = Catalog::without_index(meta, &index, &mut set) else {
                return Err(Error::UnknownIndex(name.to_string()));
            };
            self.shared.gates.audit(
                &mut set,
                &user.id,
                "DROP INDEX",
                &format!("{}({index})", meta.id),
                0,
            );
            self.shared.storage.write(&set)?;
            self.shared.catalog.publish(without);
            Ok(())
        })
    }

    pub(super) fn create_user(
        &self,
        user: &QueryUser,
        id: &str,
        options: &UserOptions,
    ) -> Result<(), Error> {
        let mut set = WriteSet::new();
        let created = self.shared.catalog.create_user(
            User {
                user_id: UserId::new(id)?,
                role: options.role.unwrap_or(Role::User),
                created_at: now_micros(),
                password: None,
                locked: None,
            }
            .with(options)?,
            &mut set,
        )?;
        self.shared
            .gates
            .audit(&mut set, &user.id, "CREATE USER", id, 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_user(created);
        Ok(())
    }

    /// Whether `user` has a password: whether they can log in to `kalam serve`.
    #[must_use]
    pub fn has_password(&self, user: &UserId) -> bool {
        self.shared
            .catalog
            .user(user)
            .is_some_and(|u| u.password.is_some())
    }

    /// Sets `user`'s password (kept as its SCRAM-SHA-256 verifier), as root running
    /// `ALTER USER user WITH PASSWORD '..'` does.
    ///
    /// ```
    /// use kalam_engine::{Engine, UserId};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let root = UserId::new("root")?;
    /// assert!(!engine.has_password(&root));
    /// engine.set_password(&root, "correct horse battery staple")?;
    /// assert!(engine.has_password(&root));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownUser`], an empty password, or a storage failure.
    pub fn set_password(&self, user: &UserId, password: &str) -> Result<(), Error> {
        let root = self.user(&UserId::new(ROOT)?)?;
        let options = UserOptions {
            password: Some(Some(password.to_owned())),
            ..UserOptions::default()
        };
        self.alter_user(&root, user.as_str(), &options)
    }

    /// `ALTER USER`: an administrator changes anyone's options but root's role; a user
    /// changes their own password, and nothing else.
    pub(super) fn alter_user(
        &self,
        user: &QueryUser,
        id: &str,
        options: &UserOptions,
    ) -> Result<(), Error> {
        let target = UserId::new(id)?;
        let own_password = target == user.id && options.role.is_none() && options.locked.is_none();
        if !own_password {
            self.require_admin(user, "alter a user other than by their own password")?;
        }
        if target.as_str() == ROOT && (options.role.is_some() || options.locked == Some(true)) {
            return Err(Error::PermissionDenied {
                user: user.id.to_string(),
                action: "change root's role or lock root".to_owned(),
            });
        }
        let before = self
            .shared
            .catalog
            .user(&target)
            .ok_or_else(|| Error::UnknownUser(id.to_owned()))?;
        let after = before.with(options)?;
        let mut set = WriteSet::new();
        self.shared.catalog.alter_user(&after, &mut set);
        self.shared
            .gates
            .audit(&mut set, &user.id, "ALTER USER", id, 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_user(after);
        Ok(())
    }

    /// `SET GATE name = on|off`, for one of the engine's gates or any other gate of the
    /// process, written to the audit log (while it is on, before or after the change).
    pub(super) fn set_gate(&self, user: &QueryUser, name: &str, on: bool) -> Result<(), Error> {
        let mut known: Vec<String> = kalam::gates().into_iter().map(|g| g.name).collect();
        known.extend(ENGINE_GATES.iter().map(|&g| g.to_owned()));
        known.sort_unstable();
        known.dedup();
        if !known.iter().any(|g| g == name) {
            return Err(Error::UnknownGate {
                name: name.to_owned(),
                known: known.join(", "),
            });
        }
        let change = format!("{name} = {}", if on { "on" } else { "off" });
        let audit = |set: &mut WriteSet| {
            self.shared
                .gates
                .audit(set, &user.id, "SET GATE", &change, 0);
        };
        let mut set = WriteSet::new();
        if on {
            kalam::set_gate(name, true);
            audit(&mut set);
        } else {
            audit(&mut set);
            kalam::set_gate(name, false);
        }
        if !set.is_empty() {
            self.shared.storage.write(&set)?;
        }
        Ok(())
    }
}

/// The columns of `CREATE [UNIQUE] INDEX .. ON t (a, b DESC, ..)`, with the options the
/// engine's indexes do not have refused by name.
fn index_parts(meta: &TableMeta, index: &ast::CreateIndex) -> Result<Vec<IndexPart>, Error> {
    let refused = [
        (
            index.predicate.is_some(),
            "a partial index (CREATE INDEX .. WHERE)",
        ),
        (!index.include.is_empty(), "INCLUDE columns in an index"),
        (
            index.nulls_distinct == Some(false),
            "NULLS NOT DISTINCT (NULLs are distinct in a unique index)",
        ),
        (
            !index.with.is_empty()
                || !index.index_options.is_empty()
                || !index.alter_options.is_empty(),
            "index options",
        ),
        (
            index
                .using
                .as_ref()
                .is_some_and(|using| !matches!(using, ast::IndexType::BTree)),
            "an index method other than BTREE",
        ),
    ];
    if let Some((_, what)) = refused.iter().find(|(refused, _)| *refused) {
        return Err(Error::unsupported(*what));
    }
    if index.columns.is_empty() {
        return Err(Error::parse("an index needs at least one column"));
    }
    index
        .columns
        .iter()
        .map(|part| {
            let SqlExpr::Identifier(name) = &part.column.expr else {
                return Err(Error::unsupported(format!(
                    "an index on the expression `{}` (index columns by name)",
                    part.column.expr
                )));
            };
            if part.operator_class.is_some() {
                return Err(Error::unsupported("an operator class in an index"));
            }
            if part.column.options.nulls_first.is_some() {
                return Err(Error::unsupported(
                    "NULLS FIRST or LAST in an index (NULLs sort below every value)",
                ));
            }
            let name = ident_name(name);
            let column = meta.column(&name).ok_or_else(|| Error::UnknownColumn {
                table: meta.id.to_string(),
                column: name,
            })?;
            Ok(IndexPart {
                column,
                descending: part.column.options.asc == Some(false),
            })
        })
        .collect()
}

impl User {
    /// The user with `options` applied: a password as its verifier (a verifier given in
    /// PostgreSQL's text form is kept as it is).
    fn with(&self, options: &UserOptions) -> Result<User, Error> {
        let mut user = self.clone();
        if let Some(role) = options.role {
            user.role = role;
        }
        if let Some(locked) = options.locked {
            user.locked = Some(locked);
        }
        match &options.password {
            None => {}
            Some(None) => user.password = None,
            Some(Some(text)) if Verifier::parse(text).is_some() => {
                user.password = Some(text.clone());
            }
            Some(Some(text)) if text.is_empty() => {
                return Err(Error::parse(
                    "an empty password: give one, or PASSWORD NULL for none",
                ));
            }
            Some(Some(text)) => user.password = Some(Verifier::new(text)?.to_string()),
        }
        Ok(user)
    }
}

/// The value of a column's `DEFAULT`: a constant, of the column's type (`DEFAULT '0'` on an
/// INT is 0, as in PostgreSQL).
fn default_value(column: &str, ty: ColumnType, expr: &SqlExpr) -> Result<Value, Error> {
    use datafusion::sql::sqlparser::ast::{UnaryOperator, Value as SqlValue};
    let refused = || {
        Error::unsupported(format!(
            "DEFAULT {expr} on `{column}`: a default is a constant of the column's type"
        ))
    };
    let (text, negative) = match expr {
        SqlExpr::Value(v) => (&v.value, false),
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            SqlExpr::Value(v) => (&v.value, true),
            _ => return Err(refused()),
        },
        _ => return Err(refused()),
    };
    let text = match text {
        SqlValue::Null if !negative => return Ok(Value::Null),
        SqlValue::Boolean(b) if !negative => b.to_string(),
        SqlValue::Number(n, _) => n.clone(),
        SqlValue::SingleQuotedString(s) if !negative => s.clone(),
        _ => return Err(refused()),
    };
    let text = if negative { format!("-{text}") } else { text };
    match ty {
        // Bytes and timestamps have no constant form here that is not ambiguous.
        ColumnType::Bytes | ColumnType::Timestamp => Err(refused()),
        ColumnType::Text => Ok(Value::Text(text)),
        _ => Value::from_text(ty, Some(text.trim())).ok_or_else(refused),
    }
}
