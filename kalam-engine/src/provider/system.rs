//! The `system` namespace: read-only tables whose rows come from the catalog, the storage
//! and the process, turned into Arrow by the code `#[derive(KalamTable)]` generated.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableType as DfTableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use kalam::ArrowTable;

use crate::catalog::{Catalog, column_definition};
use crate::error::Error;
use crate::models::{
    AuditLogEntry, ColumnDefinition, GateRow, IndexDefinition, Job, LiveQuery, Namespace, Role,
    TableDefinition, User,
};
use crate::shared::Shared;

/// The system namespace.
pub(crate) const SYSTEM: &str = "system";

/// The system tables, by name.
pub(crate) const NAMES: [&str; 9] = [
    "audit_log",
    "columns",
    "gates",
    "indexes",
    "jobs",
    "live_queries",
    "namespaces",
    "tables",
    "users",
];

/// One system table.
#[derive(Debug)]
pub(crate) struct SystemTable {
    shared: Arc<Shared>,
    name: &'static str,
    schema: SchemaRef,
}

impl SystemTable {
    pub(crate) fn new(shared: Arc<Shared>, name: &str) -> Option<Self> {
        let name = *NAMES.iter().find(|n| **n == name)?;
        let schema = match name {
            "audit_log" => AuditLogEntry::schema(),
            "columns" => ColumnDefinition::schema(),
            "gates" => GateRow::schema(),
            "indexes" => IndexDefinition::schema(),
            "jobs" => Job::schema(),
            "live_queries" => LiveQuery::schema(),
            "namespaces" => Namespace::schema(),
            "tables" => TableDefinition::schema(),
            _ => User::schema(),
        };
        Some(SystemTable {
            shared,
            name,
            schema,
        })
    }

    fn batch(&self) -> Result<RecordBatch, Error> {
        let shared = &self.shared;
        let batch = match self.name {
            "audit_log" => AuditLogEntry::to_record_batch(&Catalog::audit_log(&shared.storage)?),
            "columns" => ColumnDefinition::to_record_batch(
                &shared
                    .catalog
                    .tables()
                    .iter()
                    .flat_map(|meta| {
                        meta.columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| column_definition(meta, i, c))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>(),
            ),
            "gates" => GateRow::to_record_batch(
                &kalam::gates()
                    .into_iter()
                    .map(|g| GateRow {
                        name: g.name,
                        on: g.on,
                        hits: g.hits,
                        sites: g.sites as u64,
                    })
                    .collect::<Vec<_>>(),
            ),
            "indexes" => IndexDefinition::to_record_batch(
                &shared
                    .catalog
                    .tables()
                    .iter()
                    .flat_map(|meta| {
                        meta.indexes.iter().map(|i| IndexDefinition {
                            namespace: meta.id.namespace.clone(),
                            table_name: meta.id.name.clone(),
                            index_name: i.name.clone(),
                            column_name: meta.columns[i.column].name.clone(),
                            number: i.number,
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            "jobs" => Job::to_record_batch(&Catalog::jobs(&shared.storage)?),
            "live_queries" => LiveQuery::to_record_batch(&shared.gates.live.rows()),
            "namespaces" => Namespace::to_record_batch(&shared.catalog.namespaces()),
            "tables" => TableDefinition::to_record_batch(
                &shared
                    .catalog
                    .tables()
                    .iter()
                    .map(|m| m.definition.clone())
                    .collect::<Vec<_>>(),
            ),
            _ => {
                let mut users = vec![User {
                    user_id: crate::ids::UserId::new(crate::catalog::ROOT)?,
                    role: Role::System,
                    created_at: 0,
                }];
                users.extend(shared.catalog.users());
                User::to_record_batch(&users)
            }
        };
        batch.map_err(Error::execution_from)
    }
}

#[async_trait]
impl TableProvider for SystemTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> DfTableType {
        DfTableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.batch().map_err(Error::into_datafusion)?;
        let table = MemTable::try_new(Arc::clone(&self.schema), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}
