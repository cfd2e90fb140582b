//! Prepared statements: parsed, planned and optimized once (physically too, where the
//! plan allows), then run with parameters; simple shapes take the fast paths.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::sql::sqlparser::ast::Statement;

use super::fast::FastPath;
use super::{Engine, collect, run_optimized};
use crate::error::Error;
use crate::ids::UserId;
use crate::result::QueryResult;
use crate::session::QueryUser;
use crate::sql::params::{self, ParamSlot};
use crate::sql::{self, Stmt};
use crate::value::Value;

/// A statement parsed and planned once, run many times with different parameters
/// (`$1`, `$2`, ...). See [`Engine::prepare`].
#[derive(Debug, Clone)]
pub struct Prepared {
    user: Arc<QueryUser>,
    sql: String,
    /// A bound on how deep its expressions go: runs of a deep one get a stack of their own.
    depth: usize,
    kind: PreparedKind,
    /// Parameter types, `$1` first.
    params: Vec<Option<DataType>>,
    /// The schema of its rows.
    schema: SchemaRef,
    /// The user's DataFusion session and task context, made once: both copy the
    /// session's registries of functions, which costs more than planning a small query.
    session: Arc<(SessionState, Arc<TaskContext>)>,
    /// Its runs are noted in the slow-query log and the metrics (a session's plan of a
    /// text is not: the text's run is).
    logged: bool,
}

#[derive(Debug, Clone)]
enum PreparedKind {
    /// A simple shape that runs straight on RocksDB, see [`super::fast`].
    Fast(FastPath),
    /// Anything else: the logical plan, its parameters bound at each run. `optimized`:
    /// the plan went through DataFusion's optimizer at prepare time, with its
    /// placeholders, and each run plans it physically without optimizing it again.
    /// `once`: the physical plan too, made at prepare time.
    Plan {
        plan: Box<LogicalPlan>,
        optimized: bool,
        once: Option<Arc<PlannedOnce>>,
        /// It runs subqueries per row (see `per_row.rs`), on the session they were
        /// planned in: in a transaction it is planned again.
        per_row: bool,
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
        Err(Error::parameters(format!(
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

    /// The types of its parameters, `$1` first, where the plan tells them.
    pub(crate) fn param_types(&self) -> &[Option<DataType>] {
        &self.params
    }

    /// The schema of the rows it returns.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The user it was prepared for.
    pub(super) fn user(&self) -> &QueryUser {
        &self.user
    }

    /// The statement, its runs not noted in the slow-query log and the metrics: its
    /// caller notes them.
    pub(super) fn unlogged(mut self) -> Self {
        self.logged = false;
        self
    }
}

/// `params` as the scalars of the prepared statement's parameter types.
fn bind(prepared: &Prepared, params: &[Value]) -> Result<Vec<ScalarValue>, Error> {
    let mut scalars = Vec::with_capacity(params.len());
    for (i, (value, ty)) in params.iter().zip(&prepared.params).enumerate() {
        let scalar = value.to_scalar();
        scalars.push(match ty {
            Some(ty) if scalar.data_type() != *ty => scalar
                .cast_to(ty)
                .map_err(|_| Error::parameters(format!("${}: {value} is not a {ty}", i + 1)))?,
            _ => scalar,
        });
    }
    Ok(scalars)
}

/// A run in a transaction: the user in it, and the task context that plans run with in
/// it, made when first needed.
pub(super) type InTxn<'a> = (
    &'a Arc<QueryUser>,
    &'a (dyn Fn() -> Arc<TaskContext> + Sync),
);

impl Engine {
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
        self.prepare_for(user, sql, statements.pop(), statements.pop())
            .await
    }

    /// [`prepare`](Self::prepare) of the parsed statement `only` (`more`: another one).
    pub(crate) async fn prepare_for(
        &self,
        user: Arc<QueryUser>,
        sql: &str,
        only: Option<sql::Parsed<'_>>,
        more: Option<sql::Parsed<'_>>,
    ) -> Result<Prepared, Error> {
        let (Some((mut stmt, depth)), None) = (only.map(|p| (p.stmt, p.depth)), more) else {
            return Err(Error::unsupported(
                "preparing anything but one SELECT, INSERT, UPDATE or DELETE",
            ));
        };
        user.qualify(&mut stmt);
        let Stmt::Sql(statement) = stmt else {
            return Err(Error::unsupported(
                "preparing anything but one SELECT, INSERT, UPDATE or DELETE",
            ));
        };
        sql::on_deep_stack(depth, self.prepare_statement(user, sql, statement, depth)).await
    }

    async fn prepare_statement(
        &self,
        user: Arc<QueryUser>,
        sql: &str,
        statement: Statement,
        depth: usize,
    ) -> Result<Prepared, Error> {
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
                    Error::parameters(format!("parameters are $1, $2, ...; found {name}"))
                })?;
            params[index] = ty;
        }
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let fast = if self.shared.fast_paths {
            FastPath::of(&self.shared, &statement, &schema)
        } else {
            None
        };
        let mut state = self.state_for(&user);
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
                let plan = super::dml::optimize(&state, &plan)?;
                let once = if self.shared.plan_once {
                    PlannedOnce::new(&state, &plan, &params).await.map(Arc::new)
                } else {
                    None
                };
                PreparedKind::Plan {
                    per_row: super::per_row::holds_per_row(&plan),
                    plan: Box::new(plan),
                    optimized: true,
                    once,
                }
            }
            None => PreparedKind::Plan {
                per_row: super::per_row::holds_per_row(&plan),
                plan: Box::new(plan),
                optimized: false,
                once: None,
            },
        };
        let task = state.task_ctx();
        Ok(Prepared {
            user,
            sql: sql.to_owned(),
            depth,
            kind,
            params,
            schema,
            session: Arc::new((state, task)),
            logged: true,
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
        self.execute_as(prepared, params, None).await
    }

    /// [`execute`](Self::execute), in `txn` if given: the user in the transaction, and
    /// the task context plans run with in it.
    pub(super) async fn execute_as(
        &self,
        prepared: &Prepared,
        params: &[Value],
        txn: Option<InTxn<'_>>,
    ) -> Result<QueryResult, Error> {
        match &prepared.kind {
            PreparedKind::Fast(fast) => self.run_fast(prepared, fast, params, txn),
            PreparedKind::Plan {
                plan,
                optimized,
                once,
                per_row,
            } => {
                prepared.check_arity(params)?;
                let started = self.shared.gates.clock();
                let depth = prepared.depth;
                // Boxed, as `Engine::query` boxes planning: the fast path's callers do not
                // carry these futures.
                let result = match txn {
                    Some((user, _)) if *per_row => {
                        let run = Box::pin(self.run_replanned(prepared, user, params));
                        sql::on_deep_stack(depth, run).await?
                    }
                    _ => {
                        let planned = (plan.as_ref(), *optimized, once.as_deref());
                        let run = Box::pin(self.run_plan(prepared, planned, params, txn));
                        sql::on_deep_stack(depth, run).await?
                    }
                };
                self.finished(started, prepared, &result);
                Ok(result)
            }
        }
    }

    /// What the slow-query log and the metrics keep of a prepared statement's run.
    fn finished(&self, started: Option<Instant>, prepared: &Prepared, result: &QueryResult) {
        if !prepared.logged {
            return;
        }
        self.shared
            .gates
            .finished(started, &prepared.user.id, &prepared.sql, result.num_rows());
    }

    /// A run of a fast path: nothing to await.
    fn run_fast(
        &self,
        prepared: &Prepared,
        fast: &FastPath,
        params: &[Value],
        txn: Option<InTxn<'_>>,
    ) -> Result<QueryResult, Error> {
        prepared.check_arity(params)?;
        let started = self.shared.gates.clock();
        let user = txn.map_or(&prepared.user, |(user, _)| user);
        let result = fast.run(&self.shared, user, params)?;
        self.finished(started, prepared, &result);
        Ok(result)
    }

    /// A run of the statement planned again, for `user` (in a transaction).
    async fn run_replanned(
        &self,
        prepared: &Prepared,
        user: &Arc<QueryUser>,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        let Some(mut stmt) = sql::parse(&prepared.sql)?.pop().map(|p| p.stmt) else {
            return Err(Error::unsupported(
                "a prepared statement that no longer parses",
            ));
        };
        user.qualify(&mut stmt);
        let Stmt::Sql(statement) = stmt else {
            return Err(Error::unsupported(
                "a prepared statement that no longer parses",
            ));
        };
        let (state, plan) = self.plan(user, statement).await?;
        let scalars = bind(prepared, params)?;
        let plan = plan
            .with_param_values(ParamValues::from(scalars))
            .map_err(|e| Error::parameters_from(Error::from_datafusion(e)))?;
        collect(state, plan).await
    }

    /// A run of a plan: `optimized` at prepare time or not, perhaps planned `once`.
    async fn run_plan(
        &self,
        prepared: &Prepared,
        (plan, optimized, once): (&LogicalPlan, bool, Option<&PlannedOnce>),
        params: &[Value],
        txn: Option<InTxn<'_>>,
    ) -> Result<QueryResult, Error> {
        // Plans read the transaction from the task context they run with.
        let task = || match txn {
            Some((_, task)) => task(),
            None => Arc::clone(&prepared.session.1),
        };
        let mut scalars = bind(prepared, params)?;
        if let Some(once) = once {
            match once.run(task(), scalars).await {
                Ok(result) => return result,
                // Another run holds the plan: plan this one anew.
                Err(given_back) => scalars = given_back,
            }
        }
        let plan = plan
            .clone()
            .with_param_values(ParamValues::from(scalars))
            .map_err(|e| Error::parameters_from(Error::from_datafusion(e)))?;
        if optimized {
            run_optimized(&prepared.session.0, task(), plan).await
        } else {
            let user = txn.map_or(&prepared.user, |(user, _)| user);
            collect(self.state_for(user), plan).await
        }
    }

    /// Runs a prepared query with `params` (in `txn` if given, as
    /// [`execute_as`](Self::execute_as)), its rows read as the stream is polled; `None`,
    /// having run nothing, for a statement whose rows come whole (a fast path's, a
    /// write's count, a statement that needs more than one plan): run it with
    /// `execute_as`. A plan made once is held by the stream until it is dropped (another
    /// run meanwhile plans anew). Runs are not noted in the slow-query log: the caller
    /// notes them when the stream ends.
    #[cfg(feature = "server")]
    pub(super) async fn execute_stream(
        &self,
        prepared: &Prepared,
        params: &[Value],
        txn: Option<InTxn<'_>>,
    ) -> Result<Option<datafusion::execution::SendableRecordBatchStream>, Error> {
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        use futures::StreamExt;

        let PreparedKind::Plan {
            plan,
            optimized: true,
            once,
            per_row,
        } = &prepared.kind
        else {
            return Ok(None);
        };
        let writes = matches!(**plan, LogicalPlan::Dml(_) | LogicalPlan::Explain(_));
        // In a transaction, a plan with subqueries per row is planned again.
        let replanned = *per_row && txn.is_some();
        if writes || replanned || prepared.depth > sql::SHALLOW {
            return Ok(None);
        }
        prepared.check_arity(params)?;
        let task = match txn {
            Some((_, task)) => task(),
            None => Arc::clone(&prepared.session.1),
        };
        let scalars = bind(prepared, params)?;
        if let Some(once) = once
            && let Ok(running) = Arc::clone(&once.slot.run).try_lock_owned()
        {
            once.slot.set(scalars);
            let plan = reset_plan_states(Arc::clone(&once.plan)).map_err(Error::from_datafusion)?;
            let stream = datafusion::physical_plan::execute_stream(plan, task)
                .map_err(Error::from_datafusion)?;
            let schema = stream.schema();
            // The plan reads the parameters from the slot as long as the rows come.
            let rows = stream.map(move |batch| {
                let _running = &running;
                batch
            });
            return Ok(Some(Box::pin(RecordBatchStreamAdapter::new(schema, rows))));
        }
        let state = &prepared.session.0;
        let plan = plan
            .as_ref()
            .clone()
            .with_param_values(ParamValues::from(scalars))
            .map_err(|e| Error::parameters_from(Error::from_datafusion(e)))?;
        let plan = super::per_row::rewrite(plan, state)?;
        let physical = Box::pin(state.query_planner().create_physical_plan(&plan, state))
            .await
            .map_err(Error::from_datafusion)?;
        datafusion::physical_plan::execute_stream(physical, task)
            .map(Some)
            .map_err(Error::from_datafusion)
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
        self.execute_as_blocking(prepared, params, None)
    }

    /// [`execute_as`](Self::execute_as), blocking.
    pub(super) fn execute_as_blocking(
        &self,
        prepared: &Prepared,
        params: &[Value],
        txn: Option<InTxn<'_>>,
    ) -> Result<QueryResult, Error> {
        match &prepared.kind {
            // Nothing to await: no need for the runtime.
            PreparedKind::Fast(fast) => self.run_fast(prepared, fast, params, txn),
            PreparedKind::Plan { .. } => self
                .runtime
                .block_on(self.execute_as(prepared, params, txn)),
        }
    }
}
