//! Views: `CREATE [OR REPLACE] VIEW ns.v [(columns)] AS query` and `DROP VIEW`.
//!
//! A view is kept as its statement. Before a statement is planned, each view it names is
//! replaced by its query as a derived table (`(query) AS v (columns)`), views within
//! views too, so that the view is planned with the statement, as the user who runs it:
//! a view over a USER table shows each user their own rows, and a view always reads the
//! tables as they are now. Views are read: a write to one is refused.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    CreateView, FromTable, Ident, ObjectName, Statement, TableAlias, TableAliasColumnDef,
    TableFactor, TableObject, VisitMut, VisitorMut,
};

use super::Engine;
use crate::error::Error;
use crate::ids::TableId;
use crate::models::ViewDefinition;
use crate::provider::SYSTEM;
use crate::session::QueryUser;
use crate::shared::Shared;
use crate::sql::names::{ident_name, table_id};
use crate::sql::{self, Stmt};
use crate::storage::WriteSet;

/// How deep views may name views.
const MAX_NESTING: usize = 32;

impl Engine {
    pub(super) async fn create_view(
        &self,
        user: &std::sync::Arc<QueryUser>,
        view: &CreateView,
    ) -> Result<(), Error> {
        let refused = [
            (view.materialized, "a materialized view"),
            (view.temporary, "a temporary view"),
            (
                view.or_alter,
                "CREATE OR ALTER VIEW (use CREATE OR REPLACE VIEW)",
            ),
            (
                view.columns
                    .iter()
                    .any(|c| c.data_type.is_some() || c.options.is_some()),
                "types or options on a view's columns",
            ),
        ];
        if let Some((_, what)) = refused.iter().find(|(refused, _)| *refused) {
            return Err(Error::unsupported(*what));
        }
        let id = table_id(&view.name)?;
        if id.namespace.as_str() == SYSTEM {
            return Err(Error::ReadOnly(id.to_string()));
        }
        if view.if_not_exists && self.shared.catalog.view(&id).is_some() {
            return Ok(());
        }
        // Kept as the engine writes it, without what only its creation meant.
        let kept = CreateView {
            or_replace: false,
            if_not_exists: false,
            ..view.clone()
        };
        let definition = ViewDefinition {
            namespace: id.namespace.clone(),
            view_name: id.name.clone(),
            definition: Statement::CreateView(kept).to_string(),
            created_by: user.id.clone(),
        };
        // The view must plan, as it would be read, and must not name itself.
        let read = format!(
            "SELECT * FROM {}",
            derived(&self.shared, &id, &definition, &mut Vec::new())?
        );
        let mut parsed = sql::parse(&read)?;
        if let (Some(Stmt::Sql(statement)), None) = (parsed.pop().map(|p| p.stmt), parsed.pop()) {
            self.plan(user, statement).await?;
        }
        let mut set = WriteSet::new();
        self.shared
            .catalog
            .create_view(&definition, view.or_replace, &mut set)?;
        self.shared
            .gates
            .audit(&mut set, &user.id, "CREATE VIEW", &id.to_string(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_view(definition);
        Ok(())
    }

    pub(super) fn drop_view(
        &self,
        user: &QueryUser,
        name: &ObjectName,
        if_exists: bool,
    ) -> Result<(), Error> {
        let id = table_id(name)?;
        let mut set = WriteSet::new();
        if self.shared.catalog.drop_view(&id, &mut set).is_none() {
            return if if_exists {
                Ok(())
            } else {
                Err(Error::UnknownTable(id.to_string()))
            };
        }
        self.shared
            .gates
            .audit(&mut set, &user.id, "DROP VIEW", &id.to_string(), 0);
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_drop_view(&id);
        Ok(())
    }
}

/// The view `id` (defined by `view`) as a derived table, the views it names replaced in
/// turn; `within`: the views being replaced around it.
fn derived(
    shared: &Shared,
    id: &TableId,
    view: &ViewDefinition,
    within: &mut Vec<TableId>,
) -> Result<TableFactor, Error> {
    if within.contains(id) {
        return Err(Error::plan(format!(
            "view `{id}` names itself (through {})",
            within
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if within.len() >= MAX_NESTING {
        return Err(Error::TooComplex(format!(
            "views nest more than {MAX_NESTING} deep at `{id}`"
        )));
    }
    let corrupt = || Error::plan(format!("the definition of view `{id}` does not parse"));
    let mut parsed = sql::parse(&view.definition).map_err(|_| corrupt())?;
    let (Some(Stmt::Sql(Statement::CreateView(definition))), None) =
        (parsed.pop().map(|p| p.stmt), parsed.pop())
    else {
        return Err(corrupt());
    };
    let mut query = definition.query;
    within.push(id.clone());
    let expanded = expand_in(shared, query.as_mut(), within);
    within.pop();
    expanded?;
    Ok(TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(TableAlias {
            explicit: true,
            name: Ident::with_quote('"', id.name.as_str()),
            columns: definition
                .columns
                .into_iter()
                .map(|c| TableAliasColumnDef {
                    name: c.name,
                    data_type: None,
                })
                .collect(),
            at: None,
        }),
        sample: None,
    })
}

/// Replaces each view `node` names by its query.
fn expand_in<V: VisitMut>(
    shared: &Shared,
    node: &mut V,
    within: &mut Vec<TableId>,
) -> Result<(), Error> {
    struct Expand<'a> {
        shared: &'a Shared,
        within: &'a mut Vec<TableId>,
    }
    impl VisitorMut for Expand<'_> {
        type Break = Error;

        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
            let TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } = factor
            else {
                return ControlFlow::Continue(());
            };
            let Some((id, view)) = view_named(self.shared, name) else {
                return ControlFlow::Continue(());
            };
            let mut replacement = match derived(self.shared, &id, &view, self.within) {
                Ok(replacement) => replacement,
                Err(err) => return ControlFlow::Break(err),
            };
            // An alias of the reference names the view's rows; its columns, if any, rename
            // the view's.
            if let (
                Some(alias),
                TableFactor::Derived {
                    alias: Some(own), ..
                },
            ) = (alias.take(), &mut replacement)
            {
                let columns = if alias.columns.is_empty() {
                    std::mem::take(&mut own.columns)
                } else {
                    alias.columns
                };
                *own = TableAlias { columns, ..alias };
            }
            *factor = replacement;
            ControlFlow::Continue(())
        }
    }
    match node.visit(&mut Expand { shared, within }) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The view `name` names, if it names one.
fn view_named(shared: &Shared, name: &ObjectName) -> Option<(TableId, ViewDefinition)> {
    let [namespace, view] = name.0.as_slice() else {
        return None;
    };
    let id = TableId {
        namespace: crate::ids::NamespaceId::new(ident_name(namespace.as_ident()?)).ok()?,
        name: crate::ids::TableName::new(ident_name(view.as_ident()?)).ok()?,
    };
    let view = shared.catalog.view(&id)?;
    Some((id, view))
}

/// Refuses a statement that writes to a view.
fn no_writes_to_views(shared: &Shared, statement: &Statement) -> Result<(), Error> {
    let targets: Vec<&ObjectName> = match statement {
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => vec![name],
            TableObject::TableFunction(_) | TableObject::TableQuery(_) => Vec::new(),
        },
        Statement::Update(update) => match &update.table.relation {
            TableFactor::Table { name, .. } => vec![name],
            _ => Vec::new(),
        },
        Statement::Delete(delete) => match &delete.from {
            FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => from
                .iter()
                .filter_map(|t| match &t.relation {
                    TableFactor::Table { name, .. } => Some(name),
                    _ => None,
                })
                .collect(),
        },
        _ => Vec::new(),
    };
    match targets
        .into_iter()
        .find_map(|name| view_named(shared, name))
    {
        Some((id, _)) => Err(Error::unsupported(format!(
            "writing to view `{id}`: views are read; write to the tables it reads"
        ))),
        None => Ok(()),
    }
}

/// `statement` with every view it names replaced by its query; a write to a view is
/// refused.
pub(super) fn expand(shared: &Shared, statement: &mut Statement) -> Result<(), Error> {
    no_writes_to_views(shared, statement)?;
    expand_in(shared, statement, &mut Vec::new())
}
