//! Names in SQL: identifiers as DataFusion normalizes them, and `namespace.table`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Delete, Expr, FromTable, Ident, ObjectName, Statement, TableFactor, visit_expressions_mut,
};

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

/// `DELETE FROM ns.t AS x WHERE x.a = 1` as `DELETE FROM ns.t WHERE ns.t.a = 1`: DataFusion
/// plans a DELETE's table under its name only, and would not know `x`.
pub(crate) fn unalias_delete(statement: &mut Statement) {
    let Statement::Delete(Delete {
        from: FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from),
        selection,
        ..
    }) = statement
    else {
        return;
    };
    let [target] = from.as_mut_slice() else {
        return;
    };
    let TableFactor::Table { name, alias, .. } = &mut target.relation else {
        return;
    };
    let Some(alias) = alias.take() else {
        return;
    };
    let qualifier: Vec<Ident> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().cloned())
        .collect();
    let alias = ident_name(&alias.name);
    let _ = visit_expressions_mut(selection, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr
            && let [first, column] = parts.as_slice()
            && ident_name(first) == alias
        {
            let mut renamed = qualifier.clone();
            renamed.push(column.clone());
            *parts = renamed;
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Names `namespace` as the namespace of every one-part table name in `statement` (but
/// those of its common table expressions): what a connection's default namespace, its
/// database, means. `DROP TABLE t`, `DROP VIEW v` and `DROP INDEX i ON t` too.
pub(crate) fn qualify(statement: &mut Statement, namespace: &str) {
    use datafusion::sql::sqlparser::ast::{
        ObjectNamePart, ObjectType, Query, Visit, Visitor, visit_relations_mut,
    };

    /// The names of a statement's common table expressions, at any depth.
    struct Ctes(Vec<String>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                self.0
                    .extend(with.cte_tables.iter().map(|c| ident_name(&c.alias.name)));
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(Vec::new());
    let _ = statement.visit(&mut ctes);
    let qualified = |name: &mut ObjectName| {
        if let [ObjectNamePart::Identifier(table)] = name.0.as_slice()
            && !ctes.0.contains(&ident_name(table))
        {
            name.0.insert(
                0,
                ObjectNamePart::Identifier(Ident::with_quote('"', namespace)),
            );
        }
    };
    let _ = visit_relations_mut(statement, |name| {
        qualified(name);
        ControlFlow::<()>::Continue(())
    });
    match statement {
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::View,
            names,
            ..
        } => names.iter_mut().for_each(qualified),
        Statement::Drop {
            object_type: ObjectType::Index,
            table: Some(table),
            ..
        } => qualified(table),
        Statement::CreateView(view) => qualified(&mut view.name),
        _ => {}
    }
}
