//! What every part of the engine shares, and the options it was opened with.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::catalog::Catalog;
use crate::gates::Gates;
use crate::storage::{Durability, Storage};

/// What every part of the engine shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) storage: Arc<Storage>,
    pub(crate) catalog: Catalog,
    pub(crate) gates: Gates,
    pub(crate) next_job_id: AtomicU64,
    pub(crate) fast_paths: bool,
    pub(crate) optimize_once: bool,
    pub(crate) plan_once: bool,
    pub(crate) text_plans: bool,
    /// The engine's runtime, where what a statement spawns while a caller's thread is
    /// blocked on it runs (a subquery run per row: `per_row.rs`).
    pub(crate) runtime: tokio::runtime::Handle,
}

/// How to open an [`Engine`](crate::Engine).
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
    /// the other side has at most 1,024 rows; and a table joined with itself on its whole
    /// primary key is read once, each row with itself. On by default.
    pub lookup_joins: bool,
    /// A session keeps the plans of the queries it is sent as text, by their text with
    /// parameters for the literals compared with columns in WHERE, and runs the next one
    /// of the same form with the new literals (see [`Session`](crate::Session)). On by
    /// default; off, each text is planned anew.
    pub text_plans: bool,
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
            text_plans: true,
        }
    }
}
