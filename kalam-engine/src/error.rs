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
    #[error("SQL syntax error: {0}")]
    Parse(String),
    /// The statement parsed but cannot be planned (unknown column, wrong function, ...).
    #[error("planning failed: {0}")]
    Plan(String),
    /// The statement failed while it ran.
    #[error("execution failed: {0}")]
    Execution(String),
    /// No namespace of that name.
    #[error("namespace `{0}` does not exist")]
    UnknownNamespace(String),
    /// No table of that name.
    #[error("table `{0}` does not exist")]
    UnknownTable(String),
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
    /// A NULL for a NOT NULL or primary-key column.
    #[error("column `{column}` of `{table}` may not be NULL")]
    NullViolation {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value of the wrong type for its column or parameter.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// The user's role does not allow the statement.
    #[error("user `{user}` may not {action}; that needs the dba role")]
    PermissionDenied {
        /// The user.
        user: String,
        /// What they tried.
        action: String,
    },
    /// A write to a system table.
    #[error("`{0}` is a system table; it is read-only")]
    ReadOnly(String),
    /// SQL the engine does not support (yet).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A name that is not a valid identifier.
    #[error(transparent)]
    InvalidId(#[from] crate::ids::IdError),
    /// Wrong number or types of statement parameters.
    #[error("parameters: {0}")]
    Parameters(String),
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Error {
    /// The engine's error for a DataFusion error, unwrapping the engine's own errors that
    /// travelled through DataFusion.
    pub(crate) fn from_datafusion(err: datafusion::error::DataFusionError) -> Self {
        use datafusion::arrow::error::ArrowError;
        use datafusion::error::DataFusionError as E;
        match err {
            E::Context(_, inner) | E::Diagnostic(_, inner) => Error::from_datafusion(*inner),
            E::External(inner) => Error::from_external(inner),
            E::Shared(inner) => match std::sync::Arc::try_unwrap(inner) {
                Ok(inner) => Error::from_datafusion(inner),
                Err(inner) => Error::Execution(inner.to_string()),
            },
            E::ArrowError(arrow, _) => match *arrow {
                ArrowError::ExternalError(inner) => Error::from_external(inner),
                ArrowError::CastError(message) | ArrowError::ParseError(message) => {
                    Error::TypeMismatch(message)
                }
                other => Error::Execution(other.to_string()),
            },
            E::SQL(err, _) => Error::Parse(err.to_string()),
            E::Plan(message) => Error::Plan(message),
            E::SchemaError(err, _) => Error::Plan(err.to_string()),
            E::NotImplemented(message) => Error::Unsupported(message),
            other => Error::Execution(other.strip_backtrace()),
        }
    }

    /// The engine's own error that travelled boxed, or another one as an execution error.
    fn from_external(inner: Box<dyn std::error::Error + Send + Sync>) -> Self {
        match inner.downcast::<Error>() {
            Ok(err) => *err,
            Err(other) => Error::Execution(other.to_string()),
        }
    }

    /// This error as a DataFusion error, to travel through DataFusion's APIs.
    pub(crate) fn into_datafusion(self) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(self))
    }
}
