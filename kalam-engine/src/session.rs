//! Who runs a statement, and which rows of a table that user works on.

use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::error::DataFusionError;

use crate::catalog::TableMeta;
use crate::ids::UserId;
use crate::models::{Role, TableType};
use crate::storage::Scope;

/// Who runs the statement: set on the session of every query, read by every scan and write.
#[derive(Debug)]
pub(crate) struct QueryUser {
    pub(crate) id: UserId,
    pub(crate) role: Role,
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
