//! Names in SQL: identifiers as DataFusion normalizes them, and `namespace.table`.

use datafusion::sql::sqlparser::ast::{Ident, ObjectName};

use crate::error::Error;
use crate::ids::{NamespaceId, TableId, TableName};

/// An identifier as DataFusion normalizes it: lowercased unless quoted.
pub(crate) fn ident_name(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

pub(crate) fn object_name(name: &ObjectName) -> Result<String, Error> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(ident_name)
            .ok_or_else(|| Error::parse(format!("`{name}` is not a name"))),
        _ => Err(Error::parse(format!("`{name}`: expected one name"))),
    }
}

/// `namespace.table` from a name in SQL.
pub(crate) fn table_id(name: &ObjectName) -> Result<TableId, Error> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(ident_name))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::parse(format!("`{name}` is not a table name")))?;
    match parts.as_slice() {
        [namespace, table] => Ok(TableId {
            namespace: NamespaceId::new(namespace)?,
            name: TableName::new(table)?,
        }),
        [table] => Err(Error::UnqualifiedTable(table.clone())),
        _ => Err(Error::parse(format!("`{name}`: write `namespace.table`"))),
    }
}
