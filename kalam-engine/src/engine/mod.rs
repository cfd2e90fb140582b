//! The engine: opening a data directory, and running statements as a user.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `mod.rs` | [`Engine`]: open, statement dispatch, planning and running queries |
//! | `ddl.rs` | the engine's own DDL: namespaces, tables, indexes, users |
//! | `dml.rs` | UPDATE and DELETE the table provider runs, and those run as a query |
//! | `per_row.rs` | subqueries DataFusion cannot decorrelate, run per outer row |
//! | `rewrites.rs` | forms DataFusion's optimizer answers wrongly, rewritten |
//! | `prepared.rs` | [`Prepared`] statements: planned once, run with parameters |
//! | `fast.rs` | the shapes of prepared statements that run straight on RocksDB |
//! | `finish.rs` | what a fast select makes of its rows: sorted, DISTINCT, aggregated |
//! | `transaction.rs` | [`Session`]s and [`Transaction`]s: `BEGIN` ... `COMMIT` |
//! | `typed.rs` | tables declared in Rust, written and read as their structs |

mod ddl;
mod dml;
mod fast;
mod finish;
mod literal;
mod per_row;
mod prepared;
mod rewrites;
mod text_plans;
mod transaction;
mod typed;
mod views;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{ObjectType, Statement};

pub use prepared::Prepared;
#[cfg(feature = "server")]
pub(crate) use transaction::Output;
pub(crate) use transaction::{Open, SessionCore};
pub use transaction::{Session, Transaction};
pub use typed::TypedRows;

use crate::catalog::{Catalog, Tag};
use crate::error::Error;
use crate::gates::{Gates, QueryMetrics, SlowQuery, Subscription};
use crate::ids::{TableId, UserId};
use crate::provider::{CATALOG, KalamCatalog, LookupJoinRule, SYSTEM, SelfJoinRule, SystemTable};
use crate::result::{QueryResult, changed};
use crate::session::QueryUser;
use crate::shared::{EngineOptions, Shared};
use crate::sql::Stmt;
use crate::sql::names::{object_name, unalias_delete};
use crate::sql::output;
use crate::storage::Storage;

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
        let gates = Gates::new(
            Catalog::last_id(&storage, Tag::Audit)?,
            options.slow_query_threshold,
        );
        let next_job_id = AtomicU64::new(Catalog::last_id(&storage, Tag::Job)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("kalam-engine")
            .build()
            .map_err(|e| Error::Execution {
                message: format!("cannot start the runtime: {e}"),
                source: Some(Box::new(e)),
            })?;
        let shared = Arc::new(Shared {
            storage: Arc::new(storage),
            catalog,
            gates,
            next_job_id,
            fast_paths: options.fast_paths,
            text_plans: options.text_plans,
            optimize_once: options.optimize_once,
            plan_once: options.plan_once,
            runtime: runtime.handle().clone(),
        });
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false)
            .with_target_partitions(1);
        // DataFusion's logical plans can know more than its physical ones: a
        // `CASE WHEN b IN (-1) THEN b ELSE 0 END` never NULL, while its physical expression
        // may be. Under an aggregate (DISTINCT, GROUP BY) that difference fails its schema
        // check, for a plan that runs correctly.
        config
            .options_mut()
            .execution
            .skip_physical_aggregate_schema_check = true;
        // An optimizer rule that fails on a plan (as one does on a UNION of an empty branch
        // and a DISTINCT one) leaves the plan as it was, instead of failing the statement.
        config.options_mut().optimizer.skip_failed_rules = true;
        // For what outlives a run, as a subquery's answers per row do (`per_row.rs`): they
        // hold while no write has committed since.
        config.set_extension(Arc::clone(&shared));
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_optimizer_rules(optimizer_rules(&[]));
        if options.lookup_joins {
            state = state
                .with_optimizer_rule(Arc::new(SelfJoinRule))
                .with_physical_optimizer_rule(Arc::new(LookupJoinRule));
        }
        let state = state.build();
        state.catalog_list().register_catalog(
            CATALOG.to_owned(),
            Arc::new(KalamCatalog {
                shared: Arc::clone(&shared),
            }),
        );
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
            txn: None,
            namespace: None,
        }))
    }

    fn state_for(&self, user: &Arc<QueryUser>) -> SessionState {
        let mut state = self.state.clone();
        state.config_mut().set_extension(Arc::clone(user));
        state
    }

    /// Runs `sql` (one statement or several separated by `;`) as `user`, and returns the
    /// last statement's result. Each statement commits on its own, unless the text wraps
    /// some in `BEGIN` ... `COMMIT`: then those commit together, or not at all (a
    /// transaction that spans calls needs a [`session`](Self::session)).
    ///
    /// # Errors
    ///
    /// A typed [`Error`] for bad SQL, unknown names, type mismatches, duplicate keys,
    /// missing permissions or storage failures; [`Error::sqlstate`] gives its SQLSTATE. A
    /// failed statement writes nothing; the statements before it in `sql` stay done,
    /// unless they are in a transaction it fails. [`Error::UnfinishedTransaction`] for a
    /// text that leaves a transaction open: it is rolled back.
    pub async fn sql_as(&self, user: &UserId, sql: &str) -> Result<QueryResult, Error> {
        let mut session = self.session(user)?;
        let result = session.sql(sql).await;
        if session.in_transaction() {
            result?;
            return Err(Error::UnfinishedTransaction);
        }
        result
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

    async fn run(&self, user: &Arc<QueryUser>, mut statement: Stmt) -> Result<QueryResult, Error> {
        user.qualify(&mut statement);
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
            Stmt::CreateUser { id, options } => {
                self.require_admin(user, "create a user")?;
                self.create_user(user, &id, &options)?;
                Ok(QueryResult::empty())
            }
            Stmt::AlterUser { id, options } => {
                self.alter_user(user, &id, &options)?;
                Ok(QueryResult::empty())
            }
            Stmt::SetGate { name, on } => {
                self.require_admin(user, "set a gate")?;
                self.set_gate(user, &name, on)?;
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
            Stmt::Sql(Statement::CreateView(view)) => {
                self.require_admin(user, "create a view")?;
                Box::pin(self.create_view(user, &view)).await?;
                Ok(QueryResult::empty())
            }
            Stmt::Sql(Statement::Drop {
                object_type: ObjectType::View,
                if_exists,
                names,
                ..
            }) => {
                self.require_admin(user, "drop a view")?;
                for name in &names {
                    self.drop_view(user, name, if_exists)?;
                }
                Ok(QueryResult::empty())
            }
            Stmt::Sql(Statement::Drop {
                object_type: ObjectType::Index,
                if_exists,
                names,
                table,
                ..
            }) => {
                self.require_admin(user, "drop an index")?;
                for name in &names {
                    self.drop_index(user, name, table.as_ref(), if_exists)?;
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
            // A session runs these; in a transaction handle, or outside one, they fail.
            Stmt::Begin => Err(Error::TransactionInProgress),
            Stmt::Commit | Stmt::Rollback => Err(Error::NoTransaction),
            Stmt::Sql(statement) => self.query(user, statement).await,
            Stmt::InsertRows(mut rows) => {
                if let Some(insert) = fast::FastPath::of_rows(&self.shared, &mut rows) {
                    return insert.run(&self.shared, user);
                }
                // Another path: the statement as the parser reads it, rows and all.
                let mut statement = rows.tree()?;
                user.qualify_statement(&mut statement);
                self.query(user, statement).await
            }
        }
    }

    async fn plan(
        &self,
        user: &Arc<QueryUser>,
        mut statement: Statement,
    ) -> Result<(SessionState, LogicalPlan), Error> {
        let state = self.state_for(user);
        views::expand(&self.shared, &mut statement)?;
        let renamed = output::rename_repeats(&mut statement);
        unalias_delete(&mut statement);
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
                    Error::UnqualifiedTable(table.to_owned())
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
        let mut plan = state
            .statement_to_plan(statement)
            .await
            .map_err(Error::from_datafusion)?;
        if let Some(renamed) = &renamed {
            plan = output::restore_names(plan, renamed)?;
        }
        let plan = rewrites::rewrite(plan)?;
        let plan = per_row::rewrite_early(plan, &state)?;
        match &plan {
            LogicalPlan::Dml(dml) if dml.table_name.schema() == Some(SYSTEM) => {
                return Err(Error::ReadOnly(dml.table_name.to_string()));
            }
            LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) | LogicalPlan::Copy(_) => {
                return Err(Error::unsupported(format!(
                    "`{}`: the engine runs SELECT, INSERT, UPDATE, DELETE, EXPLAIN and its own DDL \
                     (CREATE NAMESPACE, CREATE USER|SHARED TABLE, CREATE INDEX, CREATE VIEW, DROP TABLE|INDEX|VIEW|NAMESPACE, CREATE|ALTER USER, SET GATE)",
                    plan.display()
                )));
            }
            _ => {}
        }
        Ok((state, dml::find_rows(dml::explain_found(plan)?)?))
    }

    /// Plans the query `statement` for `user` and starts it: its rows are read as the
    /// stream is polled, and dropping the stream stops the reading.
    #[cfg(feature = "server")]
    pub(crate) async fn query_stream(
        &self,
        user: &Arc<QueryUser>,
        mut statement: Stmt,
    ) -> Result<datafusion::execution::SendableRecordBatchStream, Error> {
        user.qualify(&mut statement);
        let Stmt::Sql(statement) = statement else {
            return Err(Error::unsupported(
                "streaming the rows of anything but a query",
            ));
        };
        // Boxed, as `query` boxes planning.
        Box::pin(async {
            let (state, plan) = self.plan(user, statement).await?;
            let plan = dml::optimize(&state, &plan)?;
            let plan = per_row::rewrite(plan, &state)?;
            let physical = state
                .query_planner()
                .create_physical_plan(&plan, &state)
                .await
                .map_err(Error::from_datafusion)?;
            datafusion::physical_plan::execute_stream(physical, state.task_ctx())
                .map_err(Error::from_datafusion)
        })
        .await
    }

    async fn query(
        &self,
        user: &Arc<QueryUser>,
        statement: Statement,
    ) -> Result<QueryResult, Error> {
        if let Some(fast) = fast::FastPath::of_text(&self.shared, &statement, false) {
            return fast.run_text(&self.shared, user);
        }
        // Planning's future is large: boxed, it is not carried (and moved at each await)
        // by the futures of every statement, fast paths included.
        Box::pin(async {
            let (state, plan) = self.plan(user, statement).await?;
            collect(state, plan).await
        })
        .await
    }

    /// Whether `stmt`, qualified for `user`, is a query of a fast path whose rows are
    /// known to be few: a server answers it whole rather than streaming it.
    #[cfg(feature = "server")]
    pub(crate) fn is_small_fast_query(&self, user: &QueryUser, stmt: &mut Stmt) -> bool {
        user.qualify(stmt);
        matches!(stmt, Stmt::Sql(statement)
            if fast::FastPath::of_text(&self.shared, statement, true).is_some())
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
        let meta = self.shared.catalog.existing(&id)?;
        Ok(self.shared.gates.live.subscribe(user.id.clone(), &meta))
    }

    /// The slow statements kept while the `slow_query_log` gate was on, oldest first.
    #[must_use]
    pub fn slow_queries(&self) -> Vec<SlowQuery> {
        self.shared.gates.slow_queries()
    }

    /// The statement counters kept while the `query_metrics` gate was on.
    #[must_use]
    pub fn metrics(&self) -> QueryMetrics {
        self.shared.gates.metrics()
    }
}

/// DataFusion's optimizer rules, but those named in `left_out`, and one that breaks plans:
/// `propagate_empty_relation` turns a UNION of an empty branch and another into a
/// projection of columns the other branch does not have (`SELECT a AS x .. WHERE false
/// UNION SELECT DISTINCT b AS y ..`). The expression simplifier is guarded against the
/// IN lists it combines wrongly ([`rewrites::GuardedSimplify`]).
pub(crate) fn optimizer_rules(
    left_out: &[&str],
) -> Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> {
    datafusion::optimizer::Optimizer::new()
        .rules
        .into_iter()
        .filter(|rule| {
            rule.name() != "propagate_empty_relation" && !left_out.contains(&rule.name())
        })
        .map(|rule| {
            if rule.name() == "simplify_expressions" {
                Arc::new(rewrites::GuardedSimplify::default())
            } else {
                rule
            }
        })
        .collect()
}

async fn collect(state: SessionState, plan: LogicalPlan) -> Result<QueryResult, Error> {
    let plan = dml::optimize(&state, &plan)?;
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
        return Ok(changed(0));
    }
    let plan = per_row::rewrite(plan, state)?;
    let plan = match dml::run_found(state, &task, plan).await {
        Ok(result) => return result,
        Err(plan) => plan,
    };
    let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
    let physical = state
        .query_planner()
        .create_physical_plan(&plan, state)
        .await
        .map_err(Error::from_datafusion)?;
    let batches = datafusion::physical_plan::collect(physical, task)
        .await
        .map_err(Error::from_datafusion)?;
    Ok(QueryResult::new(schema, batches))
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
