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
