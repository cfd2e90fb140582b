//! Sessions and transactions: statements run one after another as one user, and
//! `BEGIN` ... `COMMIT` around them (see `crate::txn` for how a transaction reads and
//! commits).

use std::ops::RangeBounds;
use std::sync::{Arc, OnceLock};

use datafusion::execution::TaskContext;

use super::Engine;
use super::fast::FastPath;
use super::text_plans::{Parameterized, TextPlans};
use super::typed::{prefix_access, range_access};
use crate::error::Error;
use crate::ids::UserId;
use crate::result::QueryResult;
use crate::session::QueryUser;
use crate::sql::{self, Stmt};
use crate::txn::{Txn, ddl_refused};
use crate::typed::TypedTable;
use crate::value::Value;
use crate::{Prepared, TypedRows};

/// A transaction in progress: the user whose statements run in it, and the task context
/// that prepared plans run with in it, made at the first that needs one.
#[derive(Debug)]
pub(crate) struct Open {
    user: Arc<QueryUser>,
    task: OnceLock<Arc<TaskContext>>,
}

impl Open {
    fn begin(engine: &Engine, user: &QueryUser) -> Self {
        let txn = Arc::new(Txn::begin(&engine.shared));
        Open {
            user: Arc::new(user.in_txn(txn)),
            task: OnceLock::new(),
        }
    }

    fn txn(&self) -> &Txn {
        self.user
            .txn
            .as_deref()
            .unwrap_or_else(|| unreachable!("an open transaction's user is in it"))
    }

    fn task(&self, engine: &Engine) -> Arc<TaskContext> {
        Arc::clone(
            self.task
                .get_or_init(|| engine.state_for(&self.user).task_ctx()),
        )
    }

    fn commit(self, engine: &Engine) -> Result<(), Error> {
        self.txn().commit(&engine.shared, &self.user.id)
    }
}

/// A user's statements, run one after another: SQL whose `BEGIN` ... `COMMIT` may span
/// calls, and prepared statements, inside the open transaction if there is one. What a
/// connection of a server holds. See [`Engine::session`].
#[derive(Debug)]
pub struct Session<'e> {
    engine: &'e Engine,
    core: SessionCore,
}

/// A session's state, held without the engine (a server's connection holds it beside an
/// `Arc` of the engine): its user, and its open transaction.
#[derive(Debug)]
pub(crate) struct SessionCore {
    user: Arc<QueryUser>,
    open: Option<Open>,
    /// The plans of queries sent as text.
    plans: TextPlans,
}

impl Engine {
    /// A session of `user`'s: SQL run with [`Session::sql`] may begin a transaction in one
    /// call and commit it in a later one.
    ///
    /// ```
    /// use kalam_engine::{Engine, Error, UserId};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let root = UserId::new("root")?;
    /// engine.sql_blocking(&root, "CREATE NAMESPACE bank;
    ///     CREATE SHARED TABLE bank.accounts (id INT PRIMARY KEY, balance BIGINT);
    ///     INSERT INTO bank.accounts VALUES (1, 100), (2, 0)")?;
    ///
    /// let mut session = engine.session(&root)?;
    /// session.sql_blocking("BEGIN; UPDATE bank.accounts SET balance = balance - 30 WHERE id = 1")?;
    /// session.sql_blocking("UPDATE bank.accounts SET balance = balance + 30 WHERE id = 2")?;
    /// // Outside the transaction nothing has changed yet.
    /// let before = "SELECT id FROM bank.accounts WHERE balance IN (100, 0)";
    /// assert_eq!(engine.sql_blocking(&root, before)?.num_rows(), 2);
    /// session.sql_blocking("COMMIT")?;
    /// let after = "SELECT id FROM bank.accounts WHERE balance IN (70, 30)";
    /// assert_eq!(engine.sql_blocking(&root, after)?.num_rows(), 2);
    ///
    /// // COMMIT without BEGIN is an error with its SQLSTATE.
    /// let err = session.sql_blocking("COMMIT").unwrap_err();
    /// assert!(matches!(err, Error::NoTransaction));
    /// assert_eq!(err.sqlstate(), "25P01");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownUser`].
    pub fn session(&self, user: &UserId) -> Result<Session<'_>, Error> {
        Ok(Session {
            engine: self,
            core: self.session_core(user)?,
        })
    }

    /// A session's state, held without the engine.
    pub(crate) fn session_core(&self, user: &UserId) -> Result<SessionCore, Error> {
        Ok(SessionCore {
            user: self.user(user)?,
            open: None,
            plans: TextPlans::default(),
        })
    }

    /// Begins a transaction of `user`'s: its statements read the database as of now plus
    /// their own writes, and [`Transaction::commit`] writes all of them at once, or none.
    /// Dropped without a commit, it rolls back.
    ///
    /// ```
    /// use kalam_engine::{Engine, UserId};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let root = UserId::new("root")?;
    /// engine.sql_blocking(&root, "CREATE NAMESPACE app;
    ///     CREATE SHARED TABLE app.t (id INT PRIMARY KEY, v TEXT)")?;
    ///
    /// let tx = engine.begin(&root)?;
    /// tx.sql_blocking("INSERT INTO app.t VALUES (1, 'one')")?;
    /// // The transaction reads its own write; nobody else does until it commits.
    /// assert_eq!(tx.sql_blocking("SELECT * FROM app.t")?.num_rows(), 1);
    /// assert_eq!(engine.sql_blocking(&root, "SELECT * FROM app.t")?.num_rows(), 0);
    /// tx.commit()?;
    /// assert_eq!(engine.sql_blocking(&root, "SELECT * FROM app.t")?.num_rows(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownUser`].
    pub fn begin(&self, user: &UserId) -> Result<Transaction<'_>, Error> {
        let user = self.user(user)?;
        Ok(Transaction {
            engine: self,
            open: Open::begin(self, &user),
        })
    }

    /// Runs a statement inside the transaction `open`: refused once one failed, and any
    /// failure fails the transaction (statements are refused until it ends).
    async fn run_in(&self, open: &Open, statement: sql::Parsed<'_>) -> Result<QueryResult, Error> {
        let txn = open.txn();
        txn.admit()?;
        let result = async {
            if let Some(ddl) = statement.stmt.ddl() {
                return Err(ddl_refused(ddl));
            }
            txn.check_schema(&self.shared)?;
            let run = self.run(&open.user, statement.stmt);
            sql::on_deep_stack(statement.depth, run).await
        }
        .await;
        txn.settle(result)
    }

    /// A call inside the transaction `open`, as [`run_in`](Self::run_in) runs a
    /// statement.
    fn guarded<T>(&self, open: &Open, call: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        let txn = open.txn();
        txn.admit()?;
        txn.settle(txn.check_schema(&self.shared).and_then(|()| call()))
    }

    /// A typed call inside the transaction `open`, as its user.
    fn typed_in<T>(
        &self,
        open: &Open,
        call: impl FnOnce(&QueryUser) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.guarded(open, || call(&open.user))
    }

    /// A prepared statement run inside the transaction `open`; fast paths without the
    /// runtime, as outside a transaction.
    pub(crate) fn execute_in(
        &self,
        open: &Open,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        self.guarded(open, || {
            same_user(open, prepared)?;
            let task = || open.task(self);
            self.execute_as_blocking(prepared, params, Some((&open.user, &task)))
        })
    }

    /// [`execute_in`](Self::execute_in), awaited.
    async fn execute_in_async(
        &self,
        open: &Open,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        let txn = open.txn();
        txn.admit()?;
        let result = async {
            same_user(open, prepared)?;
            txn.check_schema(&self.shared)?;
            let task = || open.task(self);
            self.execute_as(prepared, params, Some((&open.user, &task)))
                .await
        }
        .await;
        txn.settle(result)
    }

    /// A transaction of `user`'s, held without a handle (the suite's sides hold one beside
    /// their engine).
    pub(crate) fn open_txn(&self, user: &UserId) -> Result<Open, Error> {
        Ok(Open::begin(self, &*self.user(user)?))
    }

    /// Commits a transaction held without a handle.
    pub(crate) fn commit_open(&self, open: Open) -> Result<(), Error> {
        open.commit(self)
    }
}

/// The statements of `sql`; a text that does not parse fails the open transaction, as a
/// statement that fails does.
fn parse_in<'a>(sql: &'a str, open: Option<&Open>) -> Result<Vec<sql::Parsed<'a>>, Error> {
    match open {
        Some(open) => open.txn().settle(sql::parse_to_run(sql)),
        None => sql::parse_to_run(sql),
    }
}

/// A statement runs in a transaction of the user it was prepared for.
fn same_user(open: &Open, prepared: &Prepared) -> Result<(), Error> {
    if prepared.user().id == open.user.id {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "a statement prepared by `{}` in a transaction of `{}`'s: prepare it as the user \
         who runs it",
        prepared.user().id,
        open.user.id
    )))
}

/// What a statement gives a server: a query's rows as they are read, or a whole result.
#[cfg(feature = "server")]
pub(crate) enum Output {
    Rows(datafusion::execution::SendableRecordBatchStream),
    Done(QueryResult),
}

/// Notes a streamed query in the slow-query log and the metrics when its stream ends.
#[cfg(feature = "server")]
struct Finished {
    shared: Arc<crate::shared::Shared>,
    started: Option<std::time::Instant>,
    user: UserId,
    sql: String,
    rows: usize,
}

#[cfg(feature = "server")]
impl Drop for Finished {
    fn drop(&mut self) {
        let gates = &self.shared.gates;
        gates.finished(self.started, &self.user, &self.sql, self.rows);
    }
}

/// `stream`, noted in the slow-query log and the metrics when it ends; an error while
/// it is read fails `txn`.
#[cfg(feature = "server")]
fn watched(
    stream: datafusion::execution::SendableRecordBatchStream,
    mut finished: Finished,
    txn: Option<Arc<Txn>>,
) -> datafusion::execution::SendableRecordBatchStream {
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::StreamExt;

    let schema = stream.schema();
    let rows = stream.map(move |batch| {
        // The whole guard moves into the stream, to be dropped with it.
        let finished = &mut finished;
        match &batch {
            Ok(batch) => finished.rows += batch.num_rows(),
            Err(_) => {
                if let Some(txn) = &txn {
                    txn.fail();
                }
            }
        }
        batch
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, rows))
}

impl SessionCore {
    /// [`statement`](Self::statement), but the rows of a query stream: read as the
    /// caller takes them, in the open transaction if there is one (an error while they
    /// are read fails it).
    #[cfg(feature = "server")]
    pub(crate) async fn statement_streamed(
        &mut self,
        engine: &Engine,
        mut statement: sql::Parsed<'_>,
    ) -> Result<Output, Error> {
        use datafusion::sql::sqlparser::ast::Statement;

        let query = matches!(statement.stmt, Stmt::Sql(Statement::Query(_)));
        // A point select or a short key range is read whole, at once: a stream would cost
        // a task and a channel for a row or a few.
        let user = self.open.as_ref().map_or(&self.user, |open| &open.user);
        if !query
            || statement.depth > sql::SHALLOW
            || engine.is_small_fast_query(user, &mut statement.stmt)
        {
            return self.statement(engine, statement).await.map(Output::Done);
        }
        let mut finished = Finished {
            shared: Arc::clone(&engine.shared),
            started: engine.shared.gates.clock(),
            user: self.user.id.clone(),
            sql: statement.text.to_owned(),
            rows: 0,
        };
        let kept = Box::pin(self.kept_plan(engine, &mut statement)).await;
        let (user, txn) = match &self.open {
            Some(open) => (Arc::clone(&open.user), open.user.txn.clone()),
            None => (Arc::clone(&self.user), None),
        };
        let stream = match &kept {
            Some((prepared, values)) => match self.prepared_stream(engine, prepared, values).await?
            {
                Some(stream) => stream,
                None => {
                    let result = self.execute(engine, prepared, values).await?;
                    finished.rows = result.num_rows();
                    return Ok(Output::Done(result));
                }
            },
            None => match &txn {
                Some(txn) => {
                    txn.admit()?;
                    let started = async {
                        txn.check_schema(&engine.shared)?;
                        engine.query_stream(&user, statement.stmt).await
                    };
                    txn.settle(started.await)?
                }
                None => engine.query_stream(&user, statement.stmt).await?,
            },
        };
        Ok(Output::Rows(watched(stream, finished, txn)))
    }

    /// Runs a prepared statement inside the open transaction if there is one, the rows of
    /// a query streamed as [`statement_streamed`](Self::statement_streamed) streams them.
    #[cfg(feature = "server")]
    pub(crate) async fn execute_streamed(
        &self,
        engine: &Engine,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<Output, Error> {
        let started = engine.shared.gates.clock();
        match self.prepared_stream(engine, prepared, params).await? {
            Some(stream) => {
                let finished = Finished {
                    shared: Arc::clone(&engine.shared),
                    started,
                    user: prepared.user().id.clone(),
                    sql: prepared.sql().to_owned(),
                    rows: 0,
                };
                let txn = self.open.as_ref().and_then(|open| open.user.txn.clone());
                Ok(Output::Rows(watched(stream, finished, txn)))
            }
            // Its run notes itself.
            None => self
                .execute(engine, prepared, params)
                .await
                .map(Output::Done),
        }
    }

    /// The rows of a prepared query as a stream, in the open transaction if there is
    /// one; `None`, having run nothing, for one whose rows come whole.
    #[cfg(feature = "server")]
    async fn prepared_stream(
        &self,
        engine: &Engine,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<Option<datafusion::execution::SendableRecordBatchStream>, Error> {
        let Some(open) = &self.open else {
            return engine.execute_stream(prepared, params, None).await;
        };
        let txn = open.txn();
        txn.admit()?;
        let started = async {
            same_user(open, prepared)?;
            txn.check_schema(&engine.shared)?;
            let task = || open.task(engine);
            engine
                .execute_stream(prepared, params, Some((&open.user, &task)))
                .await
        };
        txn.settle(started.await)
    }

    /// Runs one statement of a text: `BEGIN`, `COMMIT` and `ROLLBACK` here, the others
    /// in the open transaction if there is one.
    pub(crate) async fn statement(
        &mut self,
        engine: &Engine,
        mut statement: sql::Parsed<'_>,
    ) -> Result<QueryResult, Error> {
        let gates = &engine.shared.gates;
        let started = gates.clock();
        // Kept only for the gates that note statements (a bulk INSERT's text is long).
        let logged = started.map(|_| statement.stmt.logged(statement.text).into_owned());
        let result = match statement.stmt {
            Stmt::Begin if self.open.is_some() => return Err(Error::TransactionInProgress),
            Stmt::Begin => {
                self.open = Some(Open::begin(engine, &self.user));
                QueryResult::empty()
            }
            Stmt::Commit => {
                let open = self.open.take().ok_or(Error::NoTransaction)?;
                open.commit(engine)?;
                QueryResult::empty()
            }
            Stmt::Rollback => {
                self.open.take().ok_or(Error::NoTransaction)?;
                QueryResult::empty()
            }
            _ => match Box::pin(self.kept_plan(engine, &mut statement)).await {
                Some((prepared, values)) => self.execute(engine, &prepared, &values).await?,
                None => match &self.open {
                    Some(open) => engine.run_in(open, statement).await?,
                    None => {
                        let run = engine.run(&self.user, statement.stmt);
                        sql::on_deep_stack(statement.depth, run).await?
                    }
                },
            },
        };
        let logged = logged.as_deref().unwrap_or_default();
        gates.finished(started, &self.user.id, logged, result.num_rows());
        Ok(result)
    }

    /// The plan this session keeps for `statement`, a query sent as text, and the values
    /// to run it with (see `text_plans.rs`); `None` to run it as written: not a query of
    /// that form, or one a fast path runs unplanned.
    async fn kept_plan(
        &mut self,
        engine: &Engine,
        statement: &mut sql::Parsed<'_>,
    ) -> Option<(Arc<Prepared>, Vec<Value>)> {
        // A deep one is planned where its depth is provided for (`sql::on_deep_stack`).
        if !engine.shared.text_plans || statement.depth > sql::SHALLOW {
            return None;
        }
        // Only queries have kept plans: a write is not looked at here (a bulk INSERT's
        // every literal would be read twice, here and where it runs).
        if !matches!(
            &statement.stmt,
            Stmt::Sql(datafusion::sql::sqlparser::ast::Statement::Query(_))
        ) {
            return None;
        }
        self.user.qualify(&mut statement.stmt);
        let Stmt::Sql(query) = &statement.stmt else {
            return None;
        };
        if FastPath::of_text(&engine.shared, query, false).is_some() {
            return None;
        }
        let query = Parameterized::of(query)?;
        self.plans
            .plan(engine, &self.user, query, statement.depth)
            .await
    }

    /// The statements of `sql`; a text that does not parse fails the open transaction.
    pub(crate) fn parse<'a>(&self, sql: &'a str) -> Result<Vec<sql::Parsed<'a>>, Error> {
        parse_in(sql, self.open.as_ref())
    }

    async fn sql(&mut self, engine: &Engine, sql: &str) -> Result<QueryResult, Error> {
        let mut last = QueryResult::empty();
        for statement in self.parse(sql)? {
            last = self.statement(engine, statement).await?;
        }
        Ok(last)
    }

    /// Runs a prepared statement inside the open transaction if there is one.
    pub(crate) async fn execute(
        &self,
        engine: &Engine,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        match &self.open {
            Some(open) => engine.execute_in_async(open, prepared, params).await,
            None => engine.execute(prepared, params).await,
        }
    }

    fn execute_blocking(
        &self,
        engine: &Engine,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        match &self.open {
            Some(open) => engine.execute_in(open, prepared, params),
            None => engine.execute_blocking(prepared, params),
        }
    }

    /// Whether a transaction is open (failed or not).
    pub(crate) fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Whether the open transaction failed.
    pub(crate) fn transaction_failed(&self) -> bool {
        self.open.as_ref().is_some_and(|open| open.txn().failed())
    }

    /// The session's user.
    pub(crate) fn query_user(&self) -> &Arc<QueryUser> {
        &self.user
    }

    /// One-part table names from now on in `namespace` (none: they are refused).
    pub(crate) fn set_namespace(&mut self, namespace: Option<Arc<str>>) {
        self.user = Arc::new(self.user.in_namespace(namespace.clone()));
        if let Some(open) = &mut self.open {
            open.user = Arc::new(open.user.in_namespace(namespace));
        }
    }
}

impl Session<'_> {
    /// Runs `sql` (one statement or several separated by `;`), and returns the last
    /// statement's result. `BEGIN` (or `START TRANSACTION`) opens a transaction that the
    /// statements after it, in this call and later ones, run in, until `COMMIT` (or `END`)
    /// or `ROLLBACK`.
    ///
    /// # Errors
    ///
    /// As [`Engine::sql_as`], and [`Error::TransactionInProgress`] for a `BEGIN` inside a
    /// transaction, [`Error::NoTransaction`] for a `COMMIT` or `ROLLBACK` outside one,
    /// [`Error::TransactionAborted`] for a statement after one failed in the transaction
    /// (and for the `COMMIT` that ends it), [`Error::SerializationFailure`] for a `COMMIT`
    /// that lost to another writer. DDL inside a transaction is refused with
    /// [`Error::Unsupported`].
    pub async fn sql(&mut self, sql: &str) -> Result<QueryResult, Error> {
        self.core.sql(self.engine, sql).await
    }

    /// [`sql`](Self::sql), blocking on the engine's runtime. Not for use inside an async
    /// runtime.
    ///
    /// # Errors
    ///
    /// As [`sql`](Self::sql).
    pub fn sql_blocking(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let engine = self.engine;
        engine.runtime.block_on(self.sql(sql))
    }

    /// How many forms of query the session keeps plans for.
    #[cfg(test)]
    pub(crate) fn kept_plans(&self) -> usize {
        self.core.plans.len()
    }

    /// Runs a prepared statement with `params`, inside the open transaction if there is
    /// one. The statement must be prepared by the session's user.
    ///
    /// # Errors
    ///
    /// As [`Engine::execute`], and as a statement in a transaction fails (see
    /// [`sql`](Self::sql)).
    pub async fn execute(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        self.core.execute(self.engine, prepared, params).await
    }

    /// [`execute`](Self::execute), blocking on the engine's runtime.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn execute_blocking(
        &mut self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        self.core.execute_blocking(self.engine, prepared, params)
    }

    /// Whether a transaction is open (failed or not).
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        self.core.in_transaction()
    }

    /// Whether the open transaction failed: statements are refused until `ROLLBACK`.
    #[must_use]
    pub fn transaction_failed(&self) -> bool {
        self.core.transaction_failed()
    }

    /// The session's user.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.core.user.id
    }
}

/// A transaction in progress, begun with [`Engine::begin`]: SQL, prepared statements and
/// typed reads and writes run in it, then [`commit`](Self::commit) writes all of its
/// writes in one atomic write, or fails with [`Error::SerializationFailure`] and writes
/// none. Dropping it without a commit rolls it back.
///
/// Every read sees the database as of the transaction's start plus its own writes
/// (snapshot isolation); a statement that fails fails the transaction: later ones, and
/// the commit, return [`Error::TransactionAborted`].
#[derive(Debug)]
pub struct Transaction<'e> {
    engine: &'e Engine,
    open: Open,
}

impl Transaction<'_> {
    /// Runs `sql` (one statement or several separated by `;`) in the transaction, and
    /// returns the last statement's result.
    ///
    /// # Errors
    ///
    /// As [`Session::sql`]; `BEGIN` is [`Error::TransactionInProgress`], and `COMMIT` or
    /// `ROLLBACK` are refused ([`Error::Unsupported`]): end the transaction with
    /// [`commit`](Self::commit) or [`rollback`](Self::rollback).
    pub async fn sql(&self, sql: &str) -> Result<QueryResult, Error> {
        let statements = parse_in(sql, Some(&self.open))?;
        let mut last = QueryResult::empty();
        for statement in statements {
            let gates = &self.engine.shared.gates;
            let started = gates.clock();
            let text = statement.text;
            last = match statement.stmt {
                Stmt::Begin => return Err(Error::TransactionInProgress),
                Stmt::Commit | Stmt::Rollback => {
                    return Err(Error::unsupported(
                        "COMMIT or ROLLBACK in Transaction::sql: end it with its commit() or \
                         rollback()",
                    ));
                }
                _ => self.engine.run_in(&self.open, statement).await?,
            };
            gates.finished(started, &self.open.user.id, text, last.num_rows());
        }
        Ok(last)
    }

    /// [`sql`](Self::sql), blocking on the engine's runtime.
    ///
    /// # Errors
    ///
    /// As [`sql`](Self::sql).
    pub fn sql_blocking(&self, sql: &str) -> Result<QueryResult, Error> {
        self.engine.runtime.block_on(self.sql(sql))
    }

    /// Runs a prepared statement (prepared by the transaction's user) in the transaction.
    ///
    /// # Errors
    ///
    /// As [`Engine::execute`], and as [`sql`](Self::sql).
    pub async fn execute(
        &self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        self.engine
            .execute_in_async(&self.open, prepared, params)
            .await
    }

    /// [`execute`](Self::execute), blocking on the engine's runtime.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn execute_blocking(
        &self,
        prepared: &Prepared,
        params: &[Value],
    ) -> Result<QueryResult, Error> {
        self.engine.execute_in(&self.open, prepared, params)
    }

    /// [`Engine::insert`] in the transaction.
    ///
    /// # Errors
    ///
    /// As [`Engine::insert`].
    pub fn insert<T: TypedTable>(&self, rows: &[T]) -> Result<u64, Error> {
        self.engine
            .typed_in(&self.open, |user| self.engine.insert_as(user, rows))
    }

    /// [`Engine::get`] in the transaction: its snapshot, and its own writes.
    ///
    /// # Errors
    ///
    /// As [`Engine::get`].
    pub fn get<T: TypedTable>(&self, key: &[u8]) -> Result<Option<T>, Error> {
        self.engine
            .typed_in(&self.open, |user| self.engine.get_as(user, key))
    }

    /// [`Engine::scan`] in the transaction: its snapshot, and its own writes as of the
    /// call.
    ///
    /// # Errors
    ///
    /// As [`Engine::scan`].
    pub fn scan<T: TypedTable>(
        &self,
        keys: impl RangeBounds<Vec<u8>>,
    ) -> Result<TypedRows<T>, Error> {
        self.engine.typed_in(&self.open, |user| {
            self.engine.typed_rows(user, range_access(&keys))
        })
    }

    /// [`Engine::scan_prefix`] in the transaction.
    ///
    /// # Errors
    ///
    /// As [`Engine::scan`].
    pub fn scan_prefix<T: TypedTable>(&self, prefix: &[u8]) -> Result<TypedRows<T>, Error> {
        self.engine.typed_in(&self.open, |user| {
            self.engine.typed_rows(user, prefix_access(prefix))
        })
    }

    /// Whether a statement of the transaction failed: [`commit`](Self::commit) will
    /// roll it back and say so.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.open.txn().failed()
    }

    /// Commits the transaction: all of its writes in one atomic write, or none.
    ///
    /// # Errors
    ///
    /// [`Error::SerializationFailure`] (SQLSTATE 40001, [`Error::is_retryable`]) when a
    /// transaction that committed after this one began wrote a row this one wrote, or took
    /// a unique value its rows claim, or DDL ran since it began: nothing was written, and
    /// running it again from the start may succeed. [`Error::TransactionAborted`] when one
    /// of its statements failed. Storage errors.
    pub fn commit(self) -> Result<(), Error> {
        self.open.commit(self.engine)
    }

    /// Rolls the transaction back: nothing of it is written. Dropping it does the same.
    pub fn rollback(self) {}
}
