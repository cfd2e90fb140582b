//! The engine's errors, one type per area.

use kalam::DecodeError;

/// What can go wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// RocksDB refused an operation (I/O error, corruption, lock held by another process).
    #[error("rocksdb: {0}")]
    RocksDb(#[from] rocksdb::Error),
    /// A stored value or key could not be decoded: the data is not what this version of
    /// the engine wrote.
    #[error("corrupt {what}: {source}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it could not be decoded.
        source: DecodeError,
    },
    /// A column family the engine needs is missing: the directory holds another database.
    #[error("column family `{0}` is missing; is this a kalam data directory?")]
    MissingColumnFamily(&'static str),
}

impl StorageError {
    /// A stored row that did not decode.
    pub(crate) fn corrupt_row(source: DecodeError) -> Self {
        StorageError::Corrupt {
            what: "row",
            source,
        }
    }

    /// A stored secondary-index entry that did not decode.
    pub(crate) fn corrupt_index_entry(source: DecodeError) -> Self {
        StorageError::Corrupt {
            what: "index entry",
            source,
        }
    }
}

/// What can go wrong running SQL: every failure the engine reports, typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not SQL the parser understands.
    #[error("SQL syntax error: {message}")]
    Parse {
        /// What is wrong, and where.
        message: String,
        /// The parser's own error, when it found the fault.
        #[source]
        source: Option<Cause>,
    },
    /// A statement beyond the engine's limits (an expression nested or chained too deep).
    #[error("statement too complex: {0}")]
    TooComplex(String),
    /// The statement parsed but cannot be planned (unknown column, wrong function, ...).
    #[error("planning failed: {message}")]
    Plan {
        /// Why.
        message: String,
        /// DataFusion's error, when it found the fault.
        #[source]
        source: Option<Cause>,
    },
    /// The statement failed while it ran.
    #[error("execution failed: {message}")]
    Execution {
        /// Why.
        message: String,
        /// The error it failed with (DataFusion's, Arrow's, the runtime's).
        #[source]
        source: Option<Cause>,
    },
    /// No namespace of that name.
    #[error("namespace `{0}` does not exist")]
    UnknownNamespace(String),
    /// No table of that name.
    #[error("table `{0}` does not exist")]
    UnknownTable(String),
    /// A table named without its namespace.
    #[error("table `{0}` needs its namespace: tables are named `namespace.{0}`")]
    UnqualifiedTable(String),
    /// No index of that name.
    #[error("index `{0}` does not exist")]
    UnknownIndex(String),
    /// No user of that id.
    #[error("user `{0}` does not exist")]
    UnknownUser(String),
    /// No column of that name.
    #[error("column `{column}` does not exist in `{table}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column asked for.
        column: String,
    },
    /// A namespace, table, index or user of that name exists already.
    #[error("{kind} `{name}` already exists")]
    AlreadyExists {
        /// `namespace`, `table`, `index` or `user`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// An INSERT or UPDATE would give two rows the same primary key.
    #[error("duplicate primary key ({key}) in `{table}`")]
    DuplicateKey {
        /// The table.
        table: String,
        /// The key's values.
        key: String,
    },
    /// An INSERT or UPDATE would give two rows of one scope the same values in every
    /// column of a unique index, or `CREATE UNIQUE INDEX` found two such rows.
    #[error("duplicate values ({values}) in unique index `{index}` of `{table}`")]
    UniqueViolation {
        /// The table.
        table: String,
        /// The index.
        index: String,
        /// The values, column by column.
        values: String,
    },
    /// A typed table's Rust type does not declare the table the data directory holds
    /// (other columns, another kind, an older row version): nothing was changed.
    #[error(
        "`{table}` is stored with another definition than `{rust_type}` declares: {difference}"
    )]
    TypedTableMismatch {
        /// The table.
        table: String,
        /// The Rust type.
        rust_type: String,
        /// The first difference found.
        difference: String,
    },
    /// An UPDATE or DELETE whose rows kept changing under it while it ran (by other
    /// writers of the table); nothing was written. Running it again may succeed.
    #[error("rows of `{0}` changed while the statement ran; nothing was written, run it again")]
    WriteConflict(String),
    /// A NULL for a NOT NULL or primary-key column.
    #[error("column `{column}` of `{table}` may not be NULL")]
    NullViolation {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value of the wrong type for its column or parameter.
    #[error("type mismatch: {message}")]
    TypeMismatch {
        /// Which value, and the type it needed.
        message: String,
        /// The cast's error, when a cast found the fault.
        #[source]
        source: Option<Cause>,
    },
    /// The user's role does not allow the statement.
    #[error("user `{user}` may not {action}; that needs the dba role")]
    PermissionDenied {
        /// The user.
        user: String,
        /// What they tried.
        action: String,
    },
    /// A statement's text longer than the server takes.
    #[error("the statement is {bytes} bytes long; the server takes at most {limit}")]
    StatementTooLong {
        /// Its length.
        bytes: usize,
        /// The server's limit.
        limit: usize,
    },
    /// `EXECUTE` or `DEALLOCATE` of a name no `PREPARE` gave.
    #[error("prepared statement \"{0}\" does not exist")]
    UnknownPrepared(String),
    /// `SET` or `SHOW` of a session setting the server does not have.
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnknownSetting(String),
    /// `SET GATE` of a gate that does not exist.
    #[error("gate `{name}` does not exist; the gates are: {known}")]
    UnknownGate {
        /// The gate asked for.
        name: String,
        /// The gates there are, comma-separated.
        known: String,
    },
    /// A write to a system table.
    #[error("`{0}` is a system table; it is read-only")]
    ReadOnly(String),
    /// SQL the engine does not support (yet).
    #[error("not supported: {message}")]
    Unsupported {
        /// The construct.
        message: String,
        /// DataFusion's error, when DataFusion refused it.
        #[source]
        source: Option<Cause>,
    },
    /// A name that is not a valid identifier.
    #[error(transparent)]
    InvalidId(#[from] crate::ids::IdError),
    /// Wrong number or types of statement parameters.
    #[error("parameters: {message}")]
    Parameters {
        /// Which parameter, and what is wrong with it.
        message: String,
        /// The error binding it failed with.
        #[source]
        source: Option<Cause>,
    },
    /// A transaction could not commit: a transaction that committed after it began wrote
    /// a row it wrote too, or took values of a unique index its rows claim, or the schema
    /// changed under it. Nothing of it was written; run it again from `BEGIN`
    /// (SQLSTATE 40001, `serialization_failure`).
    #[error(
        "could not serialize the transaction: {reason}; nothing of it was written, run it again"
    )]
    SerializationFailure {
        /// What the other writer did.
        reason: String,
    },
    /// `BEGIN` inside a transaction.
    #[error("a transaction is already in progress")]
    TransactionInProgress,
    /// `COMMIT` or `ROLLBACK` outside a transaction.
    #[error("there is no transaction in progress")]
    NoTransaction,
    /// A statement of a transaction in which one failed: nothing runs until `ROLLBACK`
    /// (a `COMMIT` rolls it back too, and says so with this error).
    #[error(
        "the transaction failed earlier and is rolled back; statements are refused until ROLLBACK"
    )]
    TransactionAborted,
    /// A text run with [`Engine::sql_as`](crate::Engine::sql_as) that begins a
    /// transaction and does not end it: the transaction was rolled back. Span calls with
    /// an [`Engine::session`](crate::Engine::session).
    #[error(
        "the statements end inside a transaction, which was rolled back; end it with COMMIT, or use a session to span calls"
    )]
    UnfinishedTransaction,
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The error underneath another: DataFusion's, Arrow's, the SQL parser's, the runtime's.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The constructors of the errors that carry a message and perhaps a cause.
macro_rules! with_message {
    ($($variant:ident => $new:ident $(, $with:ident)?;)*) => {
        $(
            #[doc = concat!("[`Error::", stringify!($variant), "`] with `message` and no cause.")]
            pub(crate) fn $new(message: impl Into<String>) -> Self {
                Error::$variant {
                    message: message.into(),
                    source: None,
                }
            }

            $(#[doc = concat!("[`Error::", stringify!($variant), "`] for `cause`, its text as the message.")]
            pub(crate) fn $with(cause: impl Into<Cause>) -> Self {
                let source = cause.into();
                Error::$variant {
                    message: source.to_string(),
                    source: Some(source),
                }
            })?
        )*
    };
}

impl Error {
    /// The SQLSTATE code of the error, as PostgreSQL gives it for the same failure.
    #[must_use]
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::Parse { .. } => "42601",
            Error::TooComplex(_) => "54001",
            Error::StatementTooLong { .. } => "54000",
            Error::UnknownPrepared(_) => "26000",
            Error::Plan { .. } => "42000",
            Error::Execution { .. } => "XX000",
            Error::UnknownNamespace(_) => "3F000",
            Error::UnknownTable(_) | Error::UnqualifiedTable(_) => "42P01",
            Error::UnknownIndex(_)
            | Error::UnknownUser(_)
            | Error::UnknownGate { .. }
            | Error::UnknownSetting(_) => "42704",
            Error::UnknownColumn { .. } => "42703",
            Error::AlreadyExists { kind, .. } => match *kind {
                "namespace" => "42P06",
                "table" | "view" => "42P07",
                _ => "42710",
            },
            Error::DuplicateKey { .. } | Error::UniqueViolation { .. } => "23505",
            Error::TypedTableMismatch { .. } | Error::TypeMismatch { .. } => "42804",
            Error::WriteConflict(_) | Error::SerializationFailure { .. } => "40001",
            Error::NullViolation { .. } => "23502",
            Error::PermissionDenied { .. } => "42501",
            Error::ReadOnly(_) => "42809",
            Error::Unsupported { .. } => "0A000",
            Error::InvalidId(_) => "42602",
            Error::Parameters { .. } => "22023",
            Error::TransactionInProgress => "25001",
            Error::NoTransaction => "25P01",
            Error::TransactionAborted => "25P02",
            Error::UnfinishedTransaction => "25000",
            Error::Storage(StorageError::RocksDb(_)) => "58030",
            Error::Storage(_) => "XX001",
        }
    }

    /// Whether running the statement (or its transaction) again may succeed: another
    /// writer changed what it wrote (SQLSTATE class 40).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.sqlstate().starts_with("40")
    }

    with_message! {
        Parse => parse, parse_from;
        Plan => plan, plan_from;
        Execution => execution, execution_from;
        TypeMismatch => type_mismatch;
        Unsupported => unsupported;
        Parameters => parameters, parameters_from;
    }

    /// The engine's error for a DataFusion error, unwrapping the engine's own errors that
    /// travelled through DataFusion; DataFusion's, Arrow's and the parser's errors stay
    /// its source.
    pub(crate) fn from_datafusion(err: datafusion::error::DataFusionError) -> Self {
        use datafusion::arrow::error::ArrowError;
        use datafusion::error::DataFusionError as E;
        match err {
            E::Context(_, inner) | E::Diagnostic(_, inner) => Error::from_datafusion(*inner),
            E::External(inner) => Error::from_external(inner),
            E::Shared(inner) => match std::sync::Arc::try_unwrap(inner) {
                Ok(inner) => Error::from_datafusion(inner),
                Err(inner) => Error::execution_from(E::Shared(inner)),
            },
            E::ArrowError(arrow, _) => match *arrow {
                ArrowError::ExternalError(inner) => Error::from_external(inner),
                ArrowError::CastError(message) | ArrowError::ParseError(message) => {
                    Error::type_mismatch(message)
                }
                other => Error::execution_from(other),
            },
            E::SQL(err, _) => Error::parse_from(*err),
            E::Plan(message) => Error::plan(message),
            E::SchemaError(err, _) => Error::plan_from(*err),
            E::NotImplemented(message) => Error::unsupported(message),
            // DataFusion's own invariant failed: not the user's fault, and nothing for them to
            // report upstream either; say what the statement ran into.
            E::Internal(message) => Error::unsupported(format!(
                "the query planner cannot handle this statement ({message}); a simpler \
                 form of it (naming each output column with AS, a join instead of a \
                 subquery, or several statements) usually avoids it"
            )),
            other => Error::execution_from(other),
        }
    }

    /// The engine's own error that travelled boxed, or another one as an execution error.
    fn from_external(inner: Box<dyn std::error::Error + Send + Sync>) -> Self {
        match inner.downcast::<Error>() {
            Ok(err) => *err,
            Err(other) => Error::execution_from(other),
        }
    }

    /// This error as a DataFusion error, to travel through DataFusion's APIs.
    pub(crate) fn into_datafusion(self) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(self))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::error::DataFusionError;

    use super::*;

    #[test]
    fn datafusion_internal_errors_do_not_ask_for_a_bug_report() {
        let err = Error::from_datafusion(DataFusionError::Context(
            "while planning".into(),
            Box::new(DataFusionError::Internal("schema mismatch".into())),
        ));
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("schema mismatch"), "{message}");
        assert!(!message.to_lowercase().contains("bug"), "{message}");
        assert!(!message.contains("Internal error"), "{message}");
    }
}
