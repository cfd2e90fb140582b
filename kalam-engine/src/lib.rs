//! A small real database built with the kalam macros: RocksDB storage, SQL through
//! DataFusion.
//!
//! So far: validated identifiers ([`NamespaceId`], [`TableName`], [`TableId`], [`UserId`]),
//! and the storage: logical tables as key ranges of one RocksDB keyspace,
//! USER tables keyed by their owner so that each user's rows are one range, row versions
//! ordered by sequence number (the newest wins; a deletion hides the row), and write sets
//! committed atomically (a row and its index entries, or none).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod ids;
pub mod storage;

pub use error::StorageError;
pub use ids::{IdError, NamespaceId, TableId, TableName, UserId};
pub use storage::{Durability, Scope, Storage, TableNumber, WriteSet};
