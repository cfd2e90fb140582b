//! One connection: its login (SCRAM-SHA-256 against `system.users`), its session, and
//! the simple and extended query protocols on top of the engine's sessions and prepared
//! statements.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::Statement;
use futures::{Sink, SinkExt, stream};
use pgwire::api::auth::driver::{AuthDriver, AuthOutcome};
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, ServerParameterProvider,
    StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_query_response};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response,
    SendableRowStream, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, ErrorHandler, METADATA_DATABASE, METADATA_USER,
    PgWireConnectionState, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::PgWireFrontendMessage;
use pgwire::messages::extendedquery::{
    Close, CloseComplete, Execute, Parse, ParseComplete, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;

use super::compat::{self, Identity, Intercepted, Settings};
use super::{Limits, wire};
use crate::Prepared;
use crate::engine::{Engine, Output, SessionCore};
use crate::error::Error;
use crate::ids::UserId;
use crate::password::{self, Verifier};
use crate::result::QueryResult;
use crate::sql::{self, Stmt};
use crate::value::Value;

/// A logged-in session.
#[derive(Debug)]
struct State {
    core: SessionCore,
    /// Statements of SQL's `PREPARE name AS ...`, by name, with their command tags.
    prepared: std::collections::HashMap<String, (Prepared, &'static str)>,
    settings: Settings,
    user: String,
    database: String,
    pid: i32,
}

/// What one connection holds; its handlers share it.
#[derive(Debug)]
pub(super) struct Conn {
    engine: Arc<Engine>,
    limits: Arc<Limits>,
    state: tokio::sync::Mutex<Option<State>>,
    /// The names of its prepared statements, for their limit.
    statements: tokio::sync::Mutex<std::collections::HashSet<String>>,
}

/// The handlers of one connection.
pub(super) struct Handlers {
    conn: Arc<Conn>,
    parser: Arc<Parser>,
    driver: AuthDriver<Parameters>,
    scram: ScramAuth,
}

impl Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl Handlers {
    pub(super) fn new(engine: Arc<Engine>, limits: Arc<Limits>) -> Arc<Self> {
        let conn = Arc::new(Conn {
            engine: Arc::clone(&engine),
            limits: Arc::clone(&limits),
            state: tokio::sync::Mutex::new(None),
            statements: tokio::sync::Mutex::default(),
        });
        let mut scram = ScramAuth::new(Arc::new(Users { engine, limits }));
        scram.set_iterations(password::ITERATIONS as usize);
        Arc::new(Handlers {
            parser: Arc::new(Parser {
                conn: Arc::clone(&conn),
            }),
            conn,
            driver: AuthDriver::new(Parameters),
            scram,
        })
    }
}

impl ErrorHandler for Handlers {
    /// A failed login in PostgreSQL's words, with the name the client gave.
    fn on_error<C: ClientInfo>(&self, client: &C, error: &mut PgWireError) {
        if matches!(error, PgWireError::InvalidPassword(_)) {
            let user = client
                .metadata()
                .get(METADATA_USER)
                .cloned()
                .unwrap_or_default();
            *error = fatal(
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            );
        }
    }
}

/// The engine's error as the protocol's, with its SQLSTATE.
pub(super) fn user_error(err: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        err.sqlstate().to_owned(),
        err.to_string(),
    )))
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message,
    )))
}

/// Verifiers from `system.users`; a decoy for a name that cannot log in (unknown, locked
/// or without a password), so that its exchange fails as a wrong password's does.
#[derive(Debug)]
struct Users {
    engine: Arc<Engine>,
    limits: Arc<Limits>,
}

// The trait's methods take `LoginInfo` with its lifetime elided.
#[allow(elided_lifetimes_in_paths)]
#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        // Only SCRAM is offered, which asks for the verifier below.
        Err(PgWireError::UnsupportedCertificateSignatureAlgorithm)
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let name = login.user().unwrap_or_default();
        let verifier = UserId::new(name)
            .ok()
            .and_then(|id| self.engine.shared.catalog.user(&id))
            .filter(|user| user.locked != Some(true))
            .and_then(|user| user.password)
            .and_then(|text| Verifier::parse(&text))
            .unwrap_or_else(|| password::decoy(name, &self.limits.decoy_secret));
        Ok((
            ScramSecret::Verifier {
                salt: verifier.salt.clone(),
                iterations: verifier.iterations as usize,
                stored_key: verifier.stored_key.to_vec(),
                server_key: verifier.server_key.to_vec(),
            },
            None,
        ))
    }
}

/// The parameters a client gets at login.
#[derive(Debug)]
struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, client: &C) -> Option<std::collections::HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut defaults = DefaultServerParameterProvider::default();
        defaults.server_version = compat::SERVER_VERSION.to_owned();
        defaults.is_superuser = false;
        if let Some(database) = client.metadata().get(METADATA_DATABASE) {
            defaults.search_path.clone_from(database);
        }
        defaults.server_parameters(client)
    }
}

#[async_trait]
impl StartupHandler for Handlers {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if !client.metadata().contains_key(METADATA_USER) {
                    return Err(PgWireError::UserNameRequired);
                }
                self.driver
                    .begin_authentication(client, self.scram.create())
                    .await?;
                Ok(())
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                match self.driver.advance_authentication(client, message).await? {
                    AuthOutcome::InProgress => Ok(()),
                    AuthOutcome::Authenticated { final_message, .. } => {
                        let state = self.log_in(client)?;
                        *self.conn.state.lock().await = Some(state);
                        self.driver
                            .complete_authentication(client, final_message)
                            .await?;
                        if let Some(state) = self.conn.state.lock().await.as_mut() {
                            state.pid = client.pid_and_secret_key().0;
                        }
                        Ok(())
                    }
                }
            }
            _ => Ok(()),
        }
    }
}

impl Handlers {
    /// The session of a client whose password checked out, in the namespace its database
    /// names.
    fn log_in<C: ClientInfo>(&self, client: &C) -> PgWireResult<State> {
        let user = client
            .metadata()
            .get(METADATA_USER)
            .cloned()
            .unwrap_or_default();
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or_else(|| user.clone());
        let engine = &self.conn.engine;
        let id = UserId::new(&user).map_err(|e| user_error(&e.into()))?;
        let mut core = engine.session_core(&id).map_err(|e| user_error(&e))?;
        // The database names the default namespace. Clients that name none send the
        // user's name, and `postgres` is every client's fallback: those may name none.
        let namespace = if engine.shared.catalog.has_namespace(&database) {
            Some(Arc::<str>::from(database.as_str()))
        } else if database == user || database == "postgres" {
            None
        } else {
            return Err(fatal(
                "3D000",
                format!("database \"{database}\" does not exist: it names no namespace"),
            ));
        };
        core.set_namespace(namespace);
        Ok(State {
            core,
            prepared: std::collections::HashMap::new(),
            settings: Settings::new(&database),
            user,
            database,
            pid: 0,
        })
    }
}

/// A statement of the extended protocol.
#[derive(Debug)]
pub(super) struct WireStatement {
    sql: String,
    kind: Kind,
    /// Its parameters' types, `$1` first.
    params: Vec<Type>,
    /// Its rows' schema, if it returns rows.
    schema: Option<SchemaRef>,
    tag: &'static str,
}

#[derive(Debug)]
enum Kind {
    /// Prepared by the engine: plans made once and fast paths.
    Prepared(Box<Prepared>),
    /// Run as text when executed: transaction control, `SET`, `SHOW`, DDL.
    Text,
}

/// Parses statements of the extended protocol for its connection.
#[derive(Debug)]
pub(super) struct Parser {
    conn: Arc<Conn>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Arc<WireStatement>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        self.conn.limits.check_size(sql)?;
        let mut guard = self.conn.state.lock().await;
        let state = guard.as_mut().ok_or(PgWireError::NotReadyForQuery)?;
        let statement = prepare(&self.conn.engine, state, sql, types)
            .await
            .map_err(|e| user_error(&e))?;
        Ok(Some(Arc::new(statement)))
    }

    fn get_parameter_types(&self, statement: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(statement.params.clone())
    }

    fn get_result_schema(
        &self,
        statement: &Self::Statement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(statement
            .schema
            .as_ref()
            .map(|schema| wire::fields(schema, format))
            .unwrap_or_default())
    }
}

/// The command tag of a statement: what PostgreSQL answers it with.
fn tag_of(stmt: &Stmt) -> &'static str {
    match stmt {
        Stmt::CreateNamespace { .. } => "CREATE SCHEMA",
        Stmt::DropNamespace { .. } => "DROP SCHEMA",
        Stmt::CreateTable { .. } => "CREATE TABLE",
        Stmt::CreateUser { .. } => "CREATE ROLE",
        Stmt::AlterUser { .. } => "ALTER ROLE",
        Stmt::SetGate { .. } => "SET",
        Stmt::Begin => "BEGIN",
        Stmt::Commit => "COMMIT",
        Stmt::Rollback => "ROLLBACK",
        Stmt::InsertRows(_) => "INSERT",
        Stmt::Sql(statement) => match statement {
            Statement::Insert(_) => "INSERT",
            Statement::Update { .. } => "UPDATE",
            Statement::Delete(_) => "DELETE",
            Statement::CreateIndex(_) => "CREATE INDEX",
            Statement::CreateView(_) => "CREATE VIEW",
            Statement::Drop { object_type, .. } => match object_type.to_string().as_str() {
                "INDEX" => "DROP INDEX",
                "VIEW" => "DROP VIEW",
                "SCHEMA" => "DROP SCHEMA",
                _ => "DROP TABLE",
            },
            Statement::Set(_) => "SET",
            Statement::ShowVariable { .. } => "SHOW",
            Statement::Explain { .. } => "EXPLAIN",
            _ => "SELECT",
        },
    }
}

/// Whether a statement's answer is rows (else a count, or nothing).
fn returns_rows(tag: &str) -> bool {
    matches!(tag, "SELECT" | "SHOW" | "EXPLAIN")
}

impl State {
    fn identity(&self) -> Identity<'_> {
        Identity {
            user: &self.user,
            database: &self.database,
            schema: self.core.query_user().namespace.as_deref(),
            pid: self.pid,
        }
    }

    /// The engine's status of the session, as ReadyForQuery gives it.
    fn status(&self) -> TransactionStatus {
        match (self.core.in_transaction(), self.core.transaction_failed()) {
            (false, _) => TransactionStatus::Idle,
            (true, false) => TransactionStatus::Transaction,
            (true, true) => TransactionStatus::Error,
        }
    }
}

/// A statement for the extended protocol: the engine prepares what it can.
async fn prepare(
    engine: &Engine,
    state: &mut State,
    sql: &str,
    types: &[Option<Type>],
) -> Result<WireStatement, Error> {
    let mut statements = state.core.parse(sql)?;
    if statements.len() != 1 {
        return Err(Error::parse(
            "a prepared statement is one statement: the extended protocol runs one at a time",
        ));
    }
    let mut parsed = statements.remove(0);
    let tag = tag_of(&parsed.stmt);
    if let Stmt::Sql(statement) = &mut parsed.stmt {
        if let Some(intercepted) = state.settings.intercept(statement) {
            let schema = match intercepted? {
                Intercepted::Show(result) => Some(Arc::clone(result.schema())),
                Intercepted::Set { .. } => None,
            };
            return Ok(text_statement(sql, tag, schema));
        }
        compat::name_the_session(statement, &state.identity());
    }
    let preparable = matches!(
        &parsed.stmt,
        Stmt::Sql(
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update { .. }
                | Statement::Delete(_)
                | Statement::Explain { .. }
        )
    );
    if !preparable {
        return Ok(text_statement(sql, tag, None));
    }
    let user = Arc::clone(state.core.query_user());
    let prepared = engine.prepare_for(user, sql, Some(parsed), None).await?;
    let declared = prepared.param_types();
    let params = (0..declared.len())
        .map(|i| {
            types
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| declared[i].as_ref().map(wire::pg_type))
                .unwrap_or(Type::TEXT)
        })
        .collect();
    let schema = returns_rows(tag).then(|| Arc::clone(prepared.schema()));
    Ok(WireStatement {
        sql: sql.to_owned(),
        kind: Kind::Prepared(Box::new(prepared)),
        params,
        schema,
        tag,
    })
}

fn text_statement(sql: &str, tag: &'static str, schema: Option<SchemaRef>) -> WireStatement {
    WireStatement {
        sql: sql.to_owned(),
        kind: Kind::Text,
        params: Vec::new(),
        schema,
        tag,
    }
}

/// An answer before it goes on the wire.
enum Answer {
    /// Rows read already (a prepared statement's, `SHOW`'s).
    Rows(QueryResult),
    /// Rows as the query reads them.
    Stream(SendableRecordBatchStream),
    Done(Tag),
}

impl Answer {
    /// The answer as pgwire sends it, rows in `format` under the command tag `tag`.
    fn into_response(self, tag: &str, format: Option<&Format>) -> Response {
        let (fields, rows): (_, SendableRowStream) = match self {
            Answer::Done(tag) => return Response::Execution(tag),
            Answer::Rows(result) => {
                let fields = Arc::new(wire::fields(result.schema(), format));
                let mut rows = Vec::with_capacity(result.num_rows());
                for batch in result.batches() {
                    match wire::rows(batch, &fields) {
                        Ok(batch) => rows.extend(batch.into_iter().map(Ok)),
                        Err(err) => rows.push(Err(err)),
                    }
                }
                (fields, Box::pin(stream::iter(rows)))
            }
            Answer::Stream(batches) => {
                let fields = Arc::new(wire::fields(&batches.schema(), format));
                let rows = wire::streamed(batches, Arc::clone(&fields));
                (fields, Box::pin(rows))
            }
        };
        let mut response = QueryResponse::new(fields, rows);
        response.set_command_tag(tag);
        Response::Query(response)
    }
}

/// The answer to a statement of `tag` that gave `result`.
fn answer(tag: &'static str, result: QueryResult) -> Answer {
    if returns_rows(tag) {
        return Answer::Rows(result);
    }
    match (tag, result.rows_affected()) {
        ("INSERT", Some(n)) => Answer::Done(Tag::new("INSERT").with_oid(0).with_rows(n as usize)),
        ("UPDATE" | "DELETE", Some(n)) => Answer::Done(Tag::new(tag).with_rows(n as usize)),
        _ => Answer::Done(Tag::new(tag)),
    }
}

/// Runs one statement of a text in the session.
async fn run_text(
    engine: &Engine,
    state: &mut State,
    mut parsed: sql::Parsed<'_>,
) -> Result<Answer, Error> {
    let tag = tag_of(&parsed.stmt);
    match &mut parsed.stmt {
        Stmt::Sql(Statement::Prepare {
            name, statement, ..
        }) => {
            let text = statement.to_string();
            let mut inner = state.core.parse(&text)?;
            let inner = inner
                .pop()
                .ok_or_else(|| Error::parse("PREPARE of nothing"))?;
            let tag = tag_of(&inner.stmt);
            let user = Arc::clone(state.core.query_user());
            let prepared = engine.prepare_for(user, &text, Some(inner), None).await?;
            state.prepared.insert(name.value.clone(), (prepared, tag));
            return Ok(Answer::Done(Tag::new("PREPARE")));
        }
        Stmt::Sql(Statement::Execute {
            name: Some(name),
            parameters,
            ..
        }) => {
            let name = name.to_string();
            let (prepared, tag) = state
                .prepared
                .get(&name)
                .cloned()
                .ok_or_else(|| Error::UnknownPrepared(name.clone()))?;
            let params = parameters
                .iter()
                .map(compat::literal)
                .collect::<Result<Vec<_>, _>>()?;
            let result = state.core.execute(engine, &prepared, &params).await?;
            return Ok(answer(tag, result));
        }
        Stmt::Sql(Statement::Deallocate { name, .. }) => {
            if name.value.eq_ignore_ascii_case("all") {
                state.prepared.clear();
            } else if state.prepared.remove(&name.value).is_none() {
                return Err(Error::UnknownPrepared(name.value.clone()));
            }
            return Ok(Answer::Done(Tag::new("DEALLOCATE")));
        }
        Stmt::Sql(statement) => {
            if let Some(intercepted) = state.settings.intercept(statement) {
                return match intercepted? {
                    Intercepted::Show(result) => Ok(Answer::Rows(result)),
                    Intercepted::Set { name, value } => {
                        if name == "search_path" {
                            let namespace = search_path(engine, &value);
                            state.core.set_namespace(namespace);
                        }
                        state.settings.set(&name, value);
                        Ok(Answer::Done(Tag::new("SET")))
                    }
                };
            }
            compat::name_the_session(statement, &state.identity());
        }
        // As PostgreSQL: COMMIT of a failed transaction rolls it back; COMMIT or ROLLBACK
        // outside one does nothing (PostgreSQL warns).
        Stmt::Commit if state.core.transaction_failed() => {
            parsed.stmt = Stmt::Rollback;
            state.core.statement(engine, parsed).await?;
            return Ok(Answer::Done(Tag::new("ROLLBACK")));
        }
        Stmt::Commit | Stmt::Rollback if !state.core.in_transaction() => {
            return Ok(Answer::Done(Tag::new(tag)));
        }
        _ => {}
    }
    Ok(match state.core.statement_streamed(engine, parsed).await? {
        Output::Rows(stream) => Answer::Stream(stream),
        Output::Done(result) => answer(tag, result),
    })
}

/// The namespace a `search_path` names: its first entry that is one.
fn search_path(engine: &Engine, value: &str) -> Option<Arc<str>> {
    value
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .find(|s| engine.shared.catalog.has_namespace(s))
        .map(Arc::from)
}

/// Sends an answer of the simple protocol: rows with their description, or the tag.
async fn send<C>(client: &mut C, answer: Answer, tag: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match answer.into_response(tag, None) {
        Response::Query(response) => send_query_response(client, response, true).await,
        Response::Execution(tag) => {
            client
                .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                .await?;
            Ok(())
        }
        // An answer is rows or a tag; nothing else is made of one.
        _ => Ok(()),
    }
}

#[async_trait]
impl SimpleQueryHandler for Handlers {
    /// Each statement of the text runs and is answered in turn; the first that fails
    /// ends the text, and ReadyForQuery gives the session's transaction status.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut guard = self.conn.state.lock().await;
        let state = guard.as_mut().ok_or(PgWireError::NotReadyForQuery)?;
        let engine = &self.conn.engine;
        let outcome = async {
            self.conn.limits.check_size(&query.query)?;
            if query
                .query
                .trim_matches(|c: char| c == ';' || c.is_whitespace())
                .is_empty()
            {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            let statements = state.core.parse(&query.query).map_err(|e| user_error(&e))?;
            for parsed in statements {
                let tag = tag_of(&parsed.stmt);
                let answer = run_text(engine, state, parsed)
                    .await
                    .map_err(|e| user_error(&e))?;
                send(client, answer, tag).await?;
            }
            Ok::<(), PgWireError>(())
        }
        .await;
        if let Err(err) = outcome {
            if matches!(err, PgWireError::IoError(_)) {
                return Err(err);
            }
            let info: ErrorInfo = err.into();
            client
                .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                .await?;
        }
        let status = state.status();
        client.set_transaction_status(status);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_query` answers simple queries itself and never comes here.
        Err(PgWireError::NotReadyForQuery)
    }
}

#[async_trait]
impl ExtendedQueryHandler for Handlers {
    type Statement = Arc<WireStatement>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let limit = self.conn.limits.max_prepared;
        if let Some(name) = message.name.as_deref().filter(|n| !n.is_empty()) {
            let mut names = self.conn.statements.lock().await;
            if !names.contains(name) && names.len() >= limit {
                return Err(user_error(&Error::unsupported(format!(
                    "more than {limit} prepared statements on one connection: close some"
                ))));
            }
            names.insert(name.to_owned());
        }
        let result = self.parse(client, message).await;
        self.sync_status(client).await;
        result
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == TARGET_TYPE_BYTE_STATEMENT
            && let Some(name) = message.name.as_deref()
        {
            self.conn.statements.lock().await.remove(name);
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_STATEMENT {
            client.portal_store().rm_statement(name);
        } else {
            client.portal_store().rm_portal(name);
        }
        client
            .send(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let result = self._on_execute(client, message).await;
        self.sync_status(client).await;
        result
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &target.statement;
        let fields = self.parser.get_result_schema(statement, None)?;
        Ok(DescribeStatementResponse::new(
            statement.params.clone(),
            fields,
        ))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &portal.statement.statement;
        let fields = self
            .parser
            .get_result_schema(statement, Some(&portal.result_column_format))?;
        Ok(DescribePortalResponse::new(fields))
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &portal.statement.statement;
        let mut guard = self.conn.state.lock().await;
        let state = guard.as_mut().ok_or(PgWireError::NotReadyForQuery)?;
        let engine = &self.conn.engine;
        let answer = match &statement.kind {
            Kind::Prepared(prepared) => {
                let params = (0..portal.parameter_len())
                    .map(|i| {
                        let ty = statement.params.get(i).cloned().unwrap_or(Type::TEXT);
                        wire::parameter(portal, i, &ty)
                    })
                    .collect::<PgWireResult<Vec<Value>>>()?;
                let output = if returns_rows(statement.tag) {
                    state.core.execute_streamed(engine, prepared, &params).await
                } else {
                    state
                        .core
                        .execute(engine, prepared, &params)
                        .await
                        .map(Output::Done)
                };
                match output.map_err(|e| user_error(&e))? {
                    Output::Rows(stream) => Answer::Stream(stream),
                    Output::Done(result) => answer(statement.tag, result),
                }
            }
            Kind::Text => {
                if portal.parameter_len() > 0 {
                    return Err(user_error(&Error::parameters(
                        "this statement takes no parameters",
                    )));
                }
                let mut parsed = state
                    .core
                    .parse(&statement.sql)
                    .map_err(|e| user_error(&e))?;
                let parsed = parsed
                    .pop()
                    .ok_or_else(|| user_error(&Error::parse("no statement")))?;
                run_text(engine, state, parsed)
                    .await
                    .map_err(|e| user_error(&e))?
            }
        };
        Ok(answer.into_response(statement.tag, Some(&portal.result_column_format)))
    }
}

impl Handlers {
    /// Parses a statement for the extended protocol and keeps it under its name.
    async fn parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Arc<WireStatement>>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message
            .name
            .clone()
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        let types: Vec<Option<Type>> = message
            .type_oids
            .iter()
            .map(|&oid| if oid == 0 { None } else { Type::from_oid(oid) })
            .collect();
        let statement = self
            .parser
            .parse_sql(client, &message.query, &types)
            .await?;
        match statement {
            Some(statement) => client
                .portal_store()
                .put_statement(Arc::new(StoredStatement::new(name, statement, types))),
            None => client.portal_store().put_empty_statement(&name),
        }
        client
            .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    /// The client's transaction status made the engine's (after a COMMIT that failed,
    /// the transaction is over).
    async fn sync_status<C: ClientInfo>(&self, client: &mut C) {
        if let Some(state) = self.conn.state.lock().await.as_ref() {
            client.set_transaction_status(state.status());
        }
    }
}
