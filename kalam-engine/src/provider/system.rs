//! The `system` namespace: read-only tables whose rows come from the catalog, the storage
//! and the process, turned into Arrow by the code `#[derive(KalamTable)]` generated.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableType as DfTableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use kalam::ArrowTable;

use crate::catalog::{Catalog, ROOT, column_definition, index_definitions};
use crate::error::Error;
use crate::ids::UserId;
use crate::models::{
    AuditLogEntry, ColumnDefinition, GateRow, IndexDefinition, Job, LiveQuery, Namespace,
    TableDefinition, User, ViewDefinition,
};
use crate::session::{QueryUser, query_user};
use crate::shared::Shared;

/// The system namespace.
pub(crate) const SYSTEM: &str = "system";

/// The system tables, by name.
pub(crate) const NAMES: [&str; 10] = [
    "audit_log",
    "columns",
    "gates",
    "indexes",
    "jobs",
    "live_queries",
    "namespaces",
    "tables",
    "users",
    "views",
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
            "views" => ViewDefinition::schema(),
            "jobs" => Job::schema(),
            "live_queries" => LiveQuery::schema(),
            "namespaces" => Namespace::schema(),
            "tables" => TableDefinition::schema(),
            _ => User::schema(),
        };
        // Without the generated schema's metadata (the table's name): a plan over two
        // tables would carry one's on one side and the other's on the other, which
        // DataFusion's check of physical against logical schemas refuses.
        let schema = Arc::new(Schema::new(schema.fields().clone()));
        Some(SystemTable {
            shared,
            name,
            schema,
        })
    }

    /// The table's rows that `user` may see: all of them for a dba; of the audit log, the
    /// jobs, the live queries and the users, only the user's own otherwise.
    fn batch(&self, user: &QueryUser) -> Result<RecordBatch, Error> {
        let shared = &self.shared;
        let own = |id: &UserId| user.role.is_admin() || *id == user.id;
        let batch = match self.name {
            "audit_log" => {
                let mut entries = Catalog::audit_log(&shared.storage)?;
                entries.retain(|e| own(&e.user_id));
                AuditLogEntry::to_record_batch(&entries)
            }
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
            "views" => ViewDefinition::to_record_batch(&shared.catalog.views()),
            "indexes" => IndexDefinition::to_record_batch(
                &shared
                    .catalog
                    .tables()
                    .iter()
                    .flat_map(|meta| {
                        meta.indexes
                            .iter()
                            .flat_map(|index| index_definitions(meta, index))
                    })
                    .collect::<Vec<_>>(),
            ),
            "jobs" => {
                let mut jobs = Catalog::jobs(&shared.storage)?;
                jobs.retain(|j| own(&j.created_by));
                Job::to_record_batch(&jobs)
            }
            "live_queries" => {
                let mut live = shared.gates.live.rows();
                live.retain(|l| own(&l.user_id));
                LiveQuery::to_record_batch(&live)
            }
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
                let mut users = shared.catalog.users();
                let root = UserId::new(ROOT)?;
                if !users.iter().any(|u| u.user_id == root) {
                    users.extend(shared.catalog.user(&root));
                }
                users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
                users.retain(|u| own(&u.user_id));
                // As PostgreSQL's pg_user: whether there is a password, not its verifier.
                for user in &mut users {
                    if user.password.is_some() {
                        user.password = Some("********".to_owned());
                    }
                }
                User::to_record_batch(&users)
            }
        };
        batch
            .and_then(|batch| {
                RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())
                    .map_err(Into::into)
            })
            .map_err(Error::execution_from)
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
        let user = query_user(state)?;
        let batch = self.batch(&user).map_err(Error::into_datafusion)?;
        let table = MemTable::try_new(Arc::clone(&self.schema), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}
