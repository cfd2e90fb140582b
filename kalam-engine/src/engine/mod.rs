//! The engine: opening a data directory, running SQL as a user, prepared statements.

use std::fmt;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{SchemaRef, UInt64Type};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    self, ColumnOption, Expr as SqlExpr, ObjectName, ObjectType, Statement, TableConstraint,
};
use kalam::Table;

use crate::catalog::{Catalog, Column, Tag, key};
use crate::error::Error;
use crate::fast::{self, FastPath};
use crate::features::{
    self, LiveRegistry, Metrics, QueryMetrics, SlowLog, SlowQuery, Subscription,
};
use crate::ids::{NamespaceId, TableId, TableName, UserId};
use crate::models::{
    ColumnDefinition, Job, Namespace, TableDefinition, TableType, User, now_micros,
};
use crate::params::{self, ParamSlot};
use crate::provider::{self, KalamTableProvider, LookupJoinRule, QueryUser, system::SystemTable};
use crate::sql::{self, Stmt};
use crate::storage::{Durability, Storage, WriteSet};
use crate::value::{ColumnType, Value};

/// The catalog DataFusion resolves names in.
const CATALOG: &str = "kalam";
/// The system namespace.
const SYSTEM: &str = "system";

/// What every part of the engine shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) storage: Storage,
    pub(crate) catalog: Catalog,
    pub(crate) live: Arc<LiveRegistry>,
    pub(crate) next_audit_id: AtomicU64,
    pub(crate) next_job_id: AtomicU64,
    pub(crate) slow_threshold: Duration,
    pub(crate) slow_queries: SlowLog,
    pub(crate) metrics: Metrics,
    pub(crate) fast_paths: bool,
    pub(crate) optimize_once: bool,
    pub(crate) plan_once: bool,
}

/// How to open an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far an acknowledged write survives; [`Durability::Process`] by default.
    pub durability: Durability,
    /// Statements slower than this are kept while the `slow_query_log` gate is on.
    pub slow_query_threshold: Duration,
    /// Worker threads of the engine's runtime, for the blocking API.
    pub threads: usize,
    /// Prepared statements of simple shapes (a primary-key point select) run straight on
    /// RocksDB instead of through DataFusion; on by default. Off, every statement takes
    /// the general path (for measuring what the fast paths gain).
    pub fast_paths: bool,
    /// Prepared statements on the general path are optimized once, with their
    /// placeholders, when prepared; each run binds the parameters and plans physically.
    /// On by default; off, each run optimizes the bound plan again.
    pub optimize_once: bool,
    /// With `optimize_once`, prepared queries are also planned physically once: each run
    /// writes its parameters where the plan reads them and executes the same plan. On by
    /// default; off, each run plans physically.
    pub plan_once: bool,
    /// Inner joins on a whole table's one-column primary key look the other side's keys up
    /// in the table (a RocksDB seek per key) instead of hashing a scan of every row, when
    /// the other side has at most 1,024 rows. On by default.
    pub lookup_joins: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            durability: Durability::default(),
            slow_query_threshold: Duration::from_millis(100),
            threads: 2,
            fast_paths: true,
            optimize_once: true,
            plan_once: true,
            lookup_joins: true,
        }
    }
}

/// A database: RocksDB storage in a directory, SQL through DataFusion.
///
/// ```
/// use kalam_engine::{Engine, UserId};
///
/// let dir = tempfile::tempdir()?;
/// let engine = Engine::open(dir.path())?;
/// let root = UserId::new("root")?;
/// engine.sql_blocking(&root, "CREATE NAMESPACE app")?;
/// engine.sql_blocking(&root, "CREATE SHARED TABLE app.items (id INT PRIMARY KEY, name TEXT)")?;
/// engine.sql_blocking(&root, "INSERT INTO app.items VALUES (1, 'one'), (2, 'two')")?;
/// let result = engine.sql_blocking(&root, "SELECT name FROM app.items WHERE id = 2")?;
/// assert_eq!(result.to_string(), "+------+\n| name |\n+------+\n| two  |\n+------+");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
    state: SessionState,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// The result of a statement: Arrow batches (for writes, one `count` row; for DDL, none).
#[derive(Clone, Debug)]
pub struct QueryResult {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub(crate) fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        QueryResult { schema, batches }
    }

    fn empty() -> Self {
        QueryResult {
            schema: Arc::new(datafusion::arrow::datatypes::Schema::empty()),
            batches: Vec::new(),
        }
    }

    /// The schema of the rows.
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows.
    #[must_use]
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// How many rows there are.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The rows a write changed, when this is a write's result.
    #[must_use]
    pub fn rows_affected(&self) -> Option<u64> {
        let [batch] = self.batches.as_slice() else {
            return None;
        };
        if batch.num_columns() != 1
            || batch.schema().field(0).name() != "count"
            || batch.num_rows() != 1
        {
            return None;
        }
        batch
            .column(0)
            .as_primitive_opt::<UInt64Type>()
            .map(|c| c.value(0))
    }
}

impl fmt::Display for QueryResult {
    /// The rows as a table, the way DataFusion's CLI prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema.fields().is_empty() {
            return Ok(());
        }
        match pretty_format_batches(&self.batches) {
            Ok(table) if !self.batches.is_empty() => write!(f, "{table}"),
            _ => {
                // No batches: still show the header.
                let empty = RecordBatch::new_empty(Arc::clone(&self.schema));
                match pretty_format_batches(&[empty]) {
                    Ok(table) => write!(f, "{table}"),
                    Err(_) => Err(fmt::Error),
                }
            }
        }
    }
}

/// A statement parsed and planned once, run many times with different parameters
/// (`$1`, `$2`, ...). See [`Engine::prepare`].
#[derive(Debug, Clone)]
pub struct Prepared {
    user: Arc<QueryUser>,
    sql: String,
    kind: PreparedKind,
    /// Parameter types, `$1` first.
    params: Vec<Option<DataType>>,
    /// The user's DataFusion session and task context, made once: both copy the
    /// session's registries of functions, which costs more than planning a small query.
    session: Arc<(SessionState, Arc<TaskContext>)>,
}

#[derive(Debug, Clone)]
enum PreparedKind {
    /// A simple shape that runs straight on RocksDB, see [`crate::fast`].
    Fast(FastPath),
    /// Anything else: the logical plan, its parameters bound at each run. `optimized`:
    /// the plan went through DataFusion's optimizer at prepare time, with its
    /// placeholders, and each run plans it physically without optimizing it again.
    /// `once`: the physical plan too, made at prepare time.
    Plan {
        plan: Box<LogicalPlan>,
        optimized: bool,
        once: Option<Arc<PlannedOnce>>,
    },
}

/// A prepared query's physical plan, made once; its parameters are read from `slot`.
#[derive(Debug)]
struct PlannedOnce {
    plan: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    slot: Arc<ParamSlot>,
}

impl PlannedOnce {
    /// The physical plan of `plan` (optimized, with placeholders), or `None` when it has
    /// none that runs with parameters read at run time.
    async fn new(
        state: &SessionState,
        plan: &LogicalPlan,
        types: &[Option<DataType>],
    ) -> Option<Self> {
        if matches!(plan, LogicalPlan::Dml(_) | LogicalPlan::Explain(_)) {
            return None;
        }
        let slot = Arc::default();
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let plan = params::slotted(plan.clone(), types, &slot)?;
        let plan = state
            .query_planner()
            .create_physical_plan(&plan, state)
            .await
            .ok()?;
        Some(PlannedOnce { plan, schema, slot })
    }

    /// Runs the plan with `params`; gives them back when another run holds the plan.
    async fn run(
        &self,
        task: Arc<TaskContext>,
        params: Vec<ScalarValue>,
    ) -> Result<Result<QueryResult, Error>, Vec<ScalarValue>> {
        let Ok(_running) = self.slot.run.try_lock() else {
            return Err(params);
        };
        self.slot.set(params);
        let batches = async {
            let plan = reset_plan_states(Arc::clone(&self.plan))?;
            datafusion::physical_plan::collect(plan, task).await
        };
        Ok(match batches.await {
            Ok(batches) => Ok(QueryResult::new(Arc::clone(&self.schema), batches)),
            Err(e) => Err(Error::from_datafusion(e)),
        })
    }
}

impl Prepared {
    fn check_arity(&self, params: &[Value]) -> Result<(), Error> {
        if params.len() == self.params.len() {
            return Ok(());
        }
        Err(Error::Parameters(format!(
            "the statement has {} parameters, {} given",
            self.params.len(),
            params.len()
        )))
    }

    /// Whether runs skip DataFusion: the statement has one of the shapes of the fast paths
    /// (point select, one-row INSERT, UPDATE or DELETE by primary key).
    #[must_use]
    pub fn is_fast_path(&self) -> bool {
        matches!(self.kind, PreparedKind::Fast(_))
    }

    /// Whether runs execute a physical plan made once, at prepare time (see
    /// [`EngineOptions::plan_once`]), instead of planning each time.
    #[must_use]
    pub fn is_planned_once(&self) -> bool {
        matches!(&self.kind, PreparedKind::Plan { once: Some(_), .. })
    }

    /// Whether runs are a primary-key point select, one RocksDB get.
    #[must_use]
    pub fn is_point_get(&self) -> bool {
        matches!(&self.kind, PreparedKind::Fast(fast) if fast.is_get())
    }

    /// The statement's text.
    #[must_use]
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

impl Engine {
    /// Opens (or creates) the database in `dir` with the default options.
    ///
    /// # Errors
    ///
    /// If the storage cannot be opened (see [`Storage::open`]) or its catalog is corrupt.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(dir, &EngineOptions::default())
    }

    /// Opens (or creates) the database in `dir`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(dir: impl AsRef<Path>, options: &EngineOptions) -> Result<Self, Error> {
        let storage = Storage::open_with(dir, options.durability)?;
        let catalog = Catalog::load(&storage)?;
        let next_audit_id = AtomicU64::new(Catalog::last_id(&storage, Tag::Audit)?);
        let next_job_id = AtomicU64::new(Catalog::last_id(&storage, Tag::Job)?);
        let shared = Arc::new(Shared {
            storage,
            catalog,
            live: Arc::default(),
            next_audit_id,
            next_job_id,
            slow_threshold: options.slow_query_threshold,
            slow_queries: Mutex::default(),
            metrics: Metrics::default(),
            fast_paths: options.fast_paths,
            optimize_once: options.optimize_once,
            plan_once: options.plan_once,
        });
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false)
            .with_target_partitions(1);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if options.lookup_joins {
            state = state.with_physical_optimizer_rule(Arc::new(LookupJoinRule));
        }
        let state = state.build();
        state.catalog_list().register_catalog(
            CATALOG.to_owned(),
            Arc::new(KalamCatalog {
                shared: Arc::clone(&shared),
            }),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("kalam-engine")
            .build()
            .map_err(|e| Error::Execution(format!("cannot start the runtime: {e}")))?;
        Ok(Engine {
            shared,
            state,
            runtime,
        })
    }

    /// The storage under the engine.
    #[must_use]
    pub fn storage(&self) -> &Storage {
        &self.shared.storage
    }

    fn user(&self, user: &UserId) -> Result<Arc<QueryUser>, Error> {
        let role = self
            .shared
            .catalog
            .role(user)
            .ok_or_else(|| Error::UnknownUser(user.to_string()))?;
        Ok(Arc::new(QueryUser {
            id: user.clone(),
            role,
        }))
    }

    fn session(&self, user: &Arc<QueryUser>) -> SessionState {
        let mut state = self.state.clone();
        state.config_mut().set_extension(Arc::clone(user));
        state
    }

    /// Runs `sql` (one statement or several separated by `;`) as `user`, and returns the
    /// last statement's result.
    ///
    /// # Errors
    ///
    /// A typed [`Error`] for bad SQL, unknown names, type mismatches, duplicate keys,
    /// missing permissions or storage failures. A failed statement writes nothing; the
    /// statements before it in `sql` stay done.
    pub async fn sql_as(&self, user: &UserId, sql: &str) -> Result<QueryResult, Error> {
        let user = self.user(user)?;
        let mut last = QueryResult::empty();
        for statement in sql::parse(sql)? {
            let started = Instant::now();
            last = self.run(&user, statement).await?;
            let elapsed = started.elapsed();
            features::note_duration(&self.shared, &user.id, sql, elapsed);
            features::count_query(&self.shared, last.num_rows() as u64, elapsed);
        }
        Ok(last)
    }

    /// [`sql_as`](Self::sql_as), blocking on the engine's runtime. Not for use inside an
    /// async runtime.
    ///
    /// # Errors
    ///
    /// As [`sql_as`](Self::sql_as).
    pub fn sql_blocking(&self, user: &UserId, sql: &str) -> Result<QueryResult, Error> {
        self.runtime.block_on(self.sql_as(user, sql))
    }

    async fn run(&self, user: &Arc<QueryUser>, statement: Stmt) -> Result<QueryResult, Error> {
        match statement {
            Stmt::CreateNamespace {
                name,
                if_not_exists,
            } => {
                self.require_admin(user, "create a namespace")?;
                self.create_namespace(user, &name, if_not_exists)
            }
            Stmt::DropNamespace { name, if_exists } => {
                self.require_admin(user, "drop a namespace")?;
                self.drop_namespace(user, &name, if_exists)
            }
            Stmt::CreateTable { kind, statement } => {
                self.require_admin(user, "create a table")?;
                self.create_table(user, kind, &statement)
            }
            Stmt::CreateUser { id, role } => {
                self.require_admin(user, "create a user")?;
                let mut set = WriteSet::new();
                let created = self.shared.catalog.create_user(
                    User {
                        user_id: UserId::new(&id)?,
                        role,
                        created_at: now_micros(),
                    },
                    &mut set,
                )?;
                features::audit(&self.shared, &mut set, &user.id, "CREATE USER", &id, 0);
                self.shared.storage.write(&set)?;
                self.shared.catalog.commit_user(created);
                Ok(QueryResult::empty())
            }
            Stmt::SetGate { name, on } => {
                self.require_admin(user, "set a gate")?;
                kalam::set_gate(&name, on);
                Ok(QueryResult::empty())
            }
            Stmt::Sql(Statement::CreateIndex(index)) => {
                self.require_admin(user, "create an index")?;
                self.create_index(user, &index)
            }
            Stmt::Sql(Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                ..
            }) => {
                self.require_admin(user, "drop a table")?;
                for name in &names {
                    self.drop_table(user, name, if_exists)?;
                }
                Ok(QueryResult::empty())
            }
            Stmt::Sql(Statement::Drop {
                object_type: ObjectType::Schema,
                if_exists,
                names,
                ..
            }) => {
                self.require_admin(user, "drop a namespace")?;
                for name in &names {
                    self.drop_namespace(user, &object_name(name)?, if_exists)?;
                }
                Ok(QueryResult::empty())
            }
            Stmt::Sql(statement) => self.query(user, statement).await,
        }
    }

    fn require_admin(&self, user: &QueryUser, action: &str) -> Result<(), Error> {
        if user.role.is_admin() {
            Ok(())
        } else {
            Err(Error::PermissionDenied {
                user: user.id.to_string(),
                action: action.to_owned(),
            })
        }
    }

    async fn plan(
        &self,
        user: &Arc<QueryUser>,
        statement: Statement,
    ) -> Result<(SessionState, LogicalPlan), Error> {
        let state = self.session(user);
        let statement = DfStatement::Statement(Box::new(statement));
        for reference in state
            .resolve_table_references(&statement)
            .map_err(Error::from_datafusion)?
        {
            let namespace = reference.schema().unwrap_or("public");
            let table = reference.table();
            if namespace == SYSTEM {
                if SystemTable::new(Arc::clone(&self.shared), table).is_none() {
                    return Err(Error::UnknownTable(format!("{SYSTEM}.{table}")));
                }
            } else if !self.shared.catalog.has_namespace(namespace) {
                return Err(if reference.schema().is_none() {
                    Error::UnknownTable(format!("{table}` (write `namespace.{table}`"))
                } else {
                    Error::UnknownNamespace(namespace.to_owned())
                });
            } else if self
                .shared
                .catalog
                .table_by_name(namespace, table)
                .is_none()
            {
                return Err(Error::UnknownTable(format!("{namespace}.{table}")));
            }
        }
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(Error::from_datafusion)?;
        match &plan {
            LogicalPlan::Dml(dml) if dml.table_name.schema() == Some(SYSTEM) => {
                return Err(Error::ReadOnly(dml.table_name.to_string()));
            }
            LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) | LogicalPlan::Copy(_) => {
                return Err(Error::Unsupported(format!(
                    "`{}`: the engine runs SELECT, INSERT, UPDATE, DELETE, EXPLAIN and its own DDL \
                     (CREATE NAMESPACE, CREATE USER|SHARED TABLE, CREATE INDEX, DROP, CREATE USER, SET GATE)",
                    plan.display()
                )));
            }
            _ => {}
        }
        Ok((state, plan))
    }

    async fn query(
        &self,
        user: &Arc<QueryUser>,
        statement: Statement,
    ) -> Result<QueryResult, Error> {
        let (state, plan) = self.plan(user, statement).await?;
        collect(state, plan).await
    }

    fn create_namespace(
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
        features::audit(
            &self.shared,
            &mut set,
            &user.id,
            "CREATE NAMESPACE",
            ns.name.as_str(),
            0,
        );
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_namespace(ns);
        Ok(QueryResult::empty())
    }

    fn drop_namespace(
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
        features::audit(
            &self.shared,
            &mut set,
            &user.id,
            "DROP NAMESPACE",
            name.as_str(),
            0,
        );
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_drop_namespace(&name);
        Ok(QueryResult::empty())
    }

    fn create_table(
        &self,
        user: &QueryUser,
        kind: TableType,
        statement: &Statement,
    ) -> Result<QueryResult, Error> {
        let Statement::CreateTable(create) = statement else {
            return Err(Error::Parse("expected CREATE TABLE".into()));
        };
        if create.query.is_some() || create.external || create.temporary {
            return Err(Error::Unsupported(
                "CREATE TABLE AS, EXTERNAL or TEMPORARY tables".into(),
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
                Error::Unsupported(format!(
                    "column `{name}` has type {}; supported: BOOLEAN, INT, BIGINT, DOUBLE, TEXT \
                     (VARCHAR, CHAR), BYTEA, TIMESTAMP",
                    def.data_type
                ))
            })?;
            let mut nullable = true;
            for option in &def.options {
                match &option.option {
                    ColumnOption::NotNull => nullable = false,
                    ColumnOption::Null => nullable = true,
                    ColumnOption::PrimaryKey(_) => pk.push(name.clone()),
                    other => {
                        return Err(Error::Unsupported(format!(
                            "column option `{other}` on `{name}`"
                        )));
                    }
                }
            }
            columns.push(Column { name, ty, nullable });
        }
        for constraint in &create.constraints {
            match constraint {
                TableConstraint::PrimaryKey(key) => {
                    if !pk.is_empty() {
                        return Err(Error::Plan(format!("`{id}` has two primary keys")));
                    }
                    for column in &key.columns {
                        pk.push(match &column.column.expr {
                            SqlExpr::Identifier(ident) => ident_name(ident),
                            other => {
                                return Err(Error::Unsupported(format!(
                                    "primary key part `{other}`: name columns"
                                )));
                            }
                        });
                    }
                }
                other => return Err(Error::Unsupported(format!("table constraint `{other}`"))),
            }
        }
        if pk.is_empty() {
            return Err(Error::Plan(format!(
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
            })
            .collect();
        let mut set = WriteSet::new();
        let meta = self
            .shared
            .catalog
            .create_table(definition, &defs, &mut set)?;
        features::audit(
            &self.shared,
            &mut set,
            &user.id,
            "CREATE TABLE",
            &id.to_string(),
            0,
        );
        self.shared.storage.write(&set)?;
        self.shared.catalog.publish(meta);
        Ok(QueryResult::empty())
    }

    fn drop_table(
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
        let _guard = meta
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut set = WriteSet::new();
        self.shared.catalog.drop_table(&meta, &mut set);
        features::audit(
            &self.shared,
            &mut set,
            &user.id,
            "DROP TABLE",
            &id.to_string(),
            0,
        );
        self.shared.storage.write(&set)?;
        self.shared.catalog.commit_drop_table(&id);
        Ok(())
    }

    fn create_index(
        &self,
        user: &QueryUser,
        index: &ast::CreateIndex,
    ) -> Result<QueryResult, Error> {
        let id = table_id(&index.table_name)?;
        let meta = self
            .shared
            .catalog
            .table(&id)
            .ok_or_else(|| Error::UnknownTable(id.to_string()))?;
        let [column] = index.columns.as_slice() else {
            return Err(Error::Unsupported("an index on several columns".into()));
        };
        let SqlExpr::Identifier(column_name) = &column.column.expr else {
            return Err(Error::Unsupported(format!(
                "an index on `{}`",
                column.column.expr
            )));
        };
        let column_name = ident_name(column_name);
        let column = meta
            .column(&column_name)
            .ok_or_else(|| Error::UnknownColumn {
                table: id.to_string(),
                column: column_name.clone(),
            })?;
        let name = match &index.name {
            Some(name) => object_name(name)?,
            None => format!("{}_{column_name}_idx", id.name),
        };
        if index.if_not_exists && meta.indexes.iter().any(|i| i.name == name) {
            return Ok(QueryResult::empty());
        }
        let lock = Arc::clone(&meta.write_lock);
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let meta = self
            .shared
            .catalog
            .table(&id)
            .ok_or_else(|| Error::UnknownTable(id.to_string()))?;
        let started_at = now_micros();
        let mut set = WriteSet::new();
        let indexed = Catalog::with_index(&meta, name, column, &mut set)?;
        let number = indexed.indexes.last().map_or(0, |i| i.number);
        let rows = provider::backfill_index(&self.shared, &indexed, number, column, &mut set)?;
        let job = Job {
            job_id: self
                .shared
                .next_job_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1,
            kind: "build_index".to_owned(),
            target: format!("{id}({column_name})"),
            status: "completed".to_owned(),
            rows,
            started_at,
            finished_at: now_micros(),
            created_by: user.id.clone(),
        };
        set.put_catalog(key(Tag::Job, &job), job.to_row());
        features::audit(
            &self.shared,
            &mut set,
            &user.id,
            "CREATE INDEX",
            &id.to_string(),
            0,
        );
        self.shared.storage.write(&set)?;
        self.shared.catalog.publish(indexed);
        Ok(QueryResult::empty())
    }

    /// Parses and plans `sql` once for `user`; run it with [`execute`](Self::execute).
    /// Parameters are `$1`, `$2`, ... A primary-key point select
    /// (`SELECT a, b FROM ns.t WHERE id = $1`) runs as a RocksDB get without DataFusion.
    ///
    /// # Errors
    ///
    /// As [`sql_as`](Self::sql_as), for a statement that does not plan; several
    /// statements, or the engine's own DDL, are refused.
    pub async fn prepare(&self, user: &UserId, sql: &str) -> Result<Prepared, Error> {
        let user = self.user(user)?;
        let mut statements = sql::parse(sql)?;
        let (Some(Stmt::Sql(statement)), None) = (statements.pop(), statements.pop()) else {
            return Err(Error::Unsupported(
                "preparing anything but one SELECT, INSERT, UPDATE or DELETE".into(),
            ));
        };
        let (_, plan) = self.plan(&user, statement.clone()).await?;
        let types = plan.get_parameter_types().map_err(Error::from_datafusion)?;
        let mut params = vec![None; types.len()];
        for (name, ty) in types {
            let index = name
                .trim_start_matches('$')
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .filter(|&n| n < params.len())
                .ok_or_else(|| {
                    Error::Parameters(format!("parameters are $1, $2, ...; found {name}"))
                })?;
            params[index] = ty;
        }
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let fast = if self.shared.fast_paths {
            FastPath::of(&self.shared, &statement, &schema)
        } else {
            None
        };
        let mut state = self.session(&user);
        // A plan made once is executed again and again: no dynamic filters, whose state
        // one run would leave to the next (the scans take none anyway).
        state
            .config_mut()
            .options_mut()
            .optimizer
            .enable_dynamic_filter_pushdown = false;
        let kind = match fast {
            Some(fast) => PreparedKind::Fast(fast),
            None if self.shared.optimize_once => {
                let plan = state.optimize(&plan).map_err(Error::from_datafusion)?;
                let once = if self.shared.plan_once {
                    PlannedOnce::new(&state, &plan, &params).await.map(Arc::new)
                } else {
                    None
                };
                PreparedKind::Plan {
                    plan: Box::new(plan),
                    optimized: true,
                    once,
                }
            }
            None => PreparedKind::Plan {
                plan: Box::new(plan),
                optimized: false,
                once: None,
            },
        };
        let task = state.task_ctx();
        Ok(Prepared {
            user,
            sql: sql.to_owned(),
            kind,
            params,
            session: Arc::new((state, task)),
        })
    }

    /// [`prepare`](Self::prepare), blocking.
    ///
    /// # Errors
    ///
    /// As [`prepare`](Self::prepare).
    pub fn prepare_blocking(&self, user: &UserId, sql: &str) -> Result<Prepared, Error> {
        self.runtime.block_on(self.prepare(user, sql))
    }

    /// Runs a prepared statement with `params` (`$1` first).
    ///
    /// # Errors
    ///
    /// [`Error::Parameters`] for a wrong number of parameters or one of the wrong type; then
    /// as [`sql_as`](Self::sql_as).
    pub async fn execute(
        &self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        prepared.check_arity(params)?;
        match &prepared.kind {
            PreparedKind::Fast(fast) => fast.run(&self.shared, &prepared.user, params),
            PreparedKind::Plan {
                plan,
                optimized,
                once,
            } => {
                let mut scalars = Vec::with_capacity(params.len());
                for (i, (value, ty)) in params.iter().zip(&prepared.params).enumerate() {
                    let scalar = value.to_scalar();
                    scalars.push(match ty {
                        Some(ty) if scalar.data_type() != *ty => {
                            scalar.cast_to(ty).map_err(|_| {
                                Error::Parameters(format!("${}: {value} is not a {ty}", i + 1))
                            })?
                        }
                        _ => scalar,
                    });
                }
                if let Some(once) = once {
                    let task = Arc::clone(&prepared.session.1);
                    match once.run(task, scalars).await {
                        Ok(result) => return result,
                        // Another run holds the plan: plan this one anew.
                        Err(given_back) => scalars = given_back,
                    }
                }
                let plan = plan
                    .as_ref()
                    .clone()
                    .with_param_values(ParamValues::from(scalars))
                    .map_err(|e| Error::Parameters(Error::from_datafusion(e).to_string()))?;
                if *optimized {
                    let (state, task) = prepared.session.as_ref();
                    run_optimized(state, Arc::clone(task), plan).await
                } else {
                    collect(self.session(&prepared.user), plan).await
                }
            }
        }
    }

    /// [`execute`](Self::execute), blocking.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn execute_blocking(
        &self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        match &prepared.kind {
            // Nothing to await: no need for the runtime.
            PreparedKind::Fast(fast) => {
                prepared.check_arity(params)?;
                fast.run(&self.shared, &prepared.user, params)
            }
            PreparedKind::Plan { .. } => self.runtime.block_on(self.execute(prepared, params)),
        }
    }

    /// Subscribes to the changes of `table` that `user` can see (needs the `live_queries`
    /// gate on to deliver anything).
    ///
    /// # Errors
    ///
    /// For an unknown user or table.
    pub fn subscribe(&self, user: &UserId, table: &str) -> Result<Subscription, Error> {
        let user = self.user(user)?;
        let id = TableId::parse(table)?;
        let meta = self
            .shared
            .catalog
            .table(&id)
            .ok_or_else(|| Error::UnknownTable(id.to_string()))?;
        Ok(self.shared.live.subscribe(user.id.clone(), &meta))
    }

    /// The slow statements kept while the `slow_query_log` gate was on, oldest first.
    #[must_use]
    pub fn slow_queries(&self) -> Vec<SlowQuery> {
        self.shared
            .slow_queries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The statement counters kept while the `query_metrics` gate was on.
    #[must_use]
    pub fn metrics(&self) -> QueryMetrics {
        self.shared.metrics.snapshot()
    }
}

async fn collect(state: SessionState, plan: LogicalPlan) -> Result<QueryResult, Error> {
    let plan = state.optimize(&plan).map_err(Error::from_datafusion)?;
    let task = state.task_ctx();
    run_optimized(&state, task, plan).await
}

/// Plans an optimized logical plan physically and runs it.
async fn run_optimized(
    state: &SessionState,
    task: Arc<TaskContext>,
    plan: LogicalPlan,
) -> Result<QueryResult, Error> {
    if matches_nothing(&plan) {
        return Ok(fast::changed(0));
    }
    let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
    let physical = state
        .query_planner()
        .create_physical_plan(&plan, state)
        .await
        .map_err(Error::from_datafusion)?;
    let batches = datafusion::physical_plan::collect(physical, task)
        .await
        .map_err(Error::from_datafusion)?;
    Ok(QueryResult { schema, batches })
}

/// An UPDATE or DELETE whose WHERE the optimizer proved false (`WHERE id = NULL`,
/// `WHERE 1 = 0`): its input no longer reads the table, and DataFusion would hand the
/// table provider no filter at all, which reads as "every row".
fn matches_nothing(plan: &LogicalPlan) -> bool {
    let LogicalPlan::Dml(dml) = plan else {
        return false;
    };
    if !matches!(dml.op, WriteOp::Update | WriteOp::Delete) {
        return false;
    }
    let mut scans = false;
    let _ = dml.input.apply(|node| {
        scans |= matches!(node, LogicalPlan::TableScan(_));
        Ok(if scans {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    !scans
}

/// An identifier as DataFusion normalizes it: lowercased unless quoted.
pub(crate) fn ident_name(ident: &ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

fn object_name(name: &ObjectName) -> Result<String, Error> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(ident_name)
            .ok_or_else(|| Error::Parse(format!("`{name}` is not a name"))),
        _ => Err(Error::Parse(format!("`{name}`: expected one name"))),
    }
}

/// `namespace.table` from a name in SQL.
pub(crate) fn table_id(name: &ObjectName) -> Result<TableId, Error> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(ident_name))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Parse(format!("`{name}` is not a table name")))?;
    match parts.as_slice() {
        [namespace, table] => Ok(TableId {
            namespace: NamespaceId::new(namespace)?,
            name: TableName::new(table)?,
        }),
        [table] => Err(Error::UnknownTable(format!(
            "{table}` (tables are named `namespace.{table}`"
        ))),
        _ => Err(Error::Parse(format!("`{name}`: write `namespace.table`"))),
    }
}

/// The `kalam` catalog: one schema per namespace, and `system`.
#[derive(Debug)]
struct KalamCatalog {
    shared: Arc<Shared>,
}

impl CatalogProvider for KalamCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .catalog
            .namespaces()
            .into_iter()
            .map(|n| n.name.to_string())
            .collect();
        names.push(SYSTEM.to_owned());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        (name == SYSTEM || self.shared.catalog.has_namespace(name)).then(|| {
            Arc::new(NamespaceSchema {
                shared: Arc::clone(&self.shared),
                namespace: name.to_owned(),
            }) as Arc<dyn SchemaProvider>
        })
    }
}

#[derive(Debug)]
struct NamespaceSchema {
    shared: Arc<Shared>,
    namespace: String,
}

#[async_trait]
impl SchemaProvider for NamespaceSchema {
    fn table_names(&self) -> Vec<String> {
        if self.namespace == SYSTEM {
            return provider::system::NAMES
                .iter()
                .map(|n| (*n).to_owned())
                .collect();
        }
        self.shared.catalog.table_names(&self.namespace)
    }

    async fn table(
        &self,
        name: &str,
    ) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        if self.namespace == SYSTEM {
            return Ok(SystemTable::new(Arc::clone(&self.shared), name)
                .map(|t| Arc::new(t) as Arc<dyn TableProvider>));
        }
        Ok(self
            .shared
            .catalog
            .table_by_name(&self.namespace, name)
            .map(|meta| {
                Arc::new(KalamTableProvider {
                    shared: Arc::clone(&self.shared),
                    meta,
                }) as Arc<dyn TableProvider>
            }))
    }

    fn table_exist(&self, name: &str) -> bool {
        if self.namespace == SYSTEM {
            return provider::system::NAMES.contains(&name);
        }
        self.shared
            .catalog
            .table_by_name(&self.namespace, name)
            .is_some()
    }
}
