//! Who runs a statement, and which rows of a table that user works on.

use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::sql::sqlparser::ast::Statement;

use crate::catalog::TableMeta;
use crate::ids::UserId;
use crate::models::{Role, TableType};
use crate::storage::{Overlay, Scope, Storage, View};
use crate::txn::Txn;

/// Who runs the statement: set on the session of every query, read by every scan and write.
#[derive(Debug)]
pub(crate) struct QueryUser {
    pub(crate) id: UserId,
    pub(crate) role: Role,
    /// The transaction the statement runs in, if any: its reads see the transaction's
    /// snapshot and writes, and its writes join them.
    pub(crate) txn: Option<Arc<Txn>>,
    /// The namespace of one-part table names (a server connection's database), if any.
    pub(crate) namespace: Option<Arc<str>>,
}

impl QueryUser {
    /// The same user, in `txn`.
    pub(crate) fn in_txn(&self, txn: Arc<Txn>) -> Self {
        QueryUser {
            id: self.id.clone(),
            role: self.role,
            txn: Some(txn),
            namespace: self.namespace.clone(),
        }
    }

    /// The same user, one-part table names in `namespace`.
    pub(crate) fn in_namespace(&self, namespace: Option<Arc<str>>) -> Self {
        QueryUser {
            id: self.id.clone(),
            role: self.role,
            txn: self.txn.clone(),
            namespace,
        }
    }

    /// `stmt` with its one-part table names in the user's namespace, if the user has one.
    pub(crate) fn qualify(&self, stmt: &mut crate::sql::Stmt) {
        use crate::sql::Stmt;
        match stmt {
            Stmt::Sql(statement) | Stmt::CreateTable { statement, .. } => {
                self.qualify_statement(statement);
            }
            Stmt::InsertRows(rows) => self.qualify_statement(&mut rows.head),
            _ => {}
        }
    }

    /// `statement` with its one-part table names in the user's namespace, if the user has
    /// one.
    pub(crate) fn qualify_statement(&self, statement: &mut Statement) {
        if let Some(namespace) = &self.namespace {
            crate::sql::names::qualify(statement, namespace);
        }
    }

    /// What the user's statements read from `storage`.
    pub(crate) fn reads<'a>(&'a self, storage: &'a Storage) -> Reads<'a> {
        Reads::of(storage, self.txn.as_deref())
    }
}

/// What a statement reads: the storage now, or its transaction's snapshot under the
/// transaction's writes so far (see [`Reads::view`]).
#[derive(Debug)]
pub(crate) struct Reads<'a> {
    storage: &'a Storage,
    txn: Option<(&'a Txn, Arc<Overlay>)>,
}

impl<'a> Reads<'a> {
    /// What a statement in `txn` (or in none) reads.
    pub(crate) fn of(storage: &'a Storage, txn: Option<&'a Txn>) -> Self {
        Reads {
            storage,
            txn: txn.map(|txn| (txn, txn.overlay())),
        }
    }

    /// The view to read through.
    pub(crate) fn view(&self) -> View<'_> {
        match &self.txn {
            None => self.storage.now(),
            Some((txn, overlay)) => txn.snapshot().view(Some(overlay)),
        }
    }
}

/// The user of the statement a task runs, read when a plan is executed: a plan made once
/// runs in whichever transaction runs it.
pub(crate) fn running_user(context: &TaskContext) -> Option<Arc<QueryUser>> {
    context.session_config().get_extension::<QueryUser>()
}

/// The transaction of the statement a task runs (see [`running_user`]).
pub(crate) fn running_txn(context: &TaskContext) -> Option<Arc<Txn>> {
    running_user(context).and_then(|user| user.txn.clone())
}

/// The scope of `meta`'s rows that `user` works on.
pub(crate) fn scope_of<'a>(meta: &TableMeta, user: &'a UserId) -> Scope<'a> {
    match meta.kind {
        TableType::User => Scope::User(user.as_str()),
        TableType::Shared | TableType::System => Scope::Shared,
    }
}

/// The user a DataFusion session runs as.
pub(crate) fn query_user(state: &dyn Session) -> Result<Arc<QueryUser>> {
    state
        .config()
        .get_extension::<QueryUser>()
        .ok_or_else(|| DataFusionError::Internal("no user on the session".into()))
}
