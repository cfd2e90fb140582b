//! Observability the engine only pays for when asked: each is an `#[opt_in_feature]`, off
//! by default, switched with `SET GATE name = on|off` (or `KALAM_GATES`), costing one load
//! and a branch while off, and nothing when compiled out with
//! `--cfg kalam_disable="name"`. Gates belong to the process: every engine in it shares
//! them.
//!
//! | gate | what it does |
//! | --- | --- |
//! | `audit_log` | every DDL and DML statement adds a row to `system.audit_log`, in the same atomic write as its change |
//! | `live_queries` | each write notifies the subscriptions ([`Engine::subscribe`](crate::Engine::subscribe)) on its table |
//! | `slow_query_log` | statements slower than the engine's threshold are kept, see [`Engine::slow_queries`](crate::Engine::slow_queries) |
//! | `query_metrics` | counts statements, rows and time, see [`Engine::metrics`](crate::Engine::metrics) |

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kalam::{Table, opt_in_feature};

use crate::catalog::{TableMeta, Tag, key};
use crate::ids::{TableId, UserId};
use crate::models::{AuditLogEntry, LiveQuery, TableType, now_micros};
use crate::storage::WriteSet;

/// The engine's gates, registered with the process's gates when first reached.
pub(crate) const ENGINE_GATES: [&str; 4] = [
    "audit_log",
    "live_queries",
    "query_metrics",
    "slow_query_log",
];

/// What the gated features keep: the audit log's next id, the live subscriptions, the
/// slow-query log and the statement counters.
#[derive(Debug)]
pub(crate) struct Gates {
    next_audit_id: AtomicU64,
    pub(crate) live: Arc<LiveRegistry>,
    slow_threshold: Duration,
    slow_queries: Mutex<VecDeque<SlowQuery>>,
    metrics: Metrics,
}

impl Gates {
    /// The gates' state, the audit log's ids going on after `last_audit_id`.
    pub(crate) fn new(last_audit_id: u64, slow_threshold: Duration) -> Self {
        Gates {
            next_audit_id: AtomicU64::new(last_audit_id),
            live: Arc::default(),
            slow_threshold,
            slow_queries: Mutex::default(),
            metrics: Metrics::default(),
        }
    }

    /// Adds the audit entry of a statement to its write set.
    #[opt_in_feature("audit_log")]
    pub(crate) fn audit(
        &self,
        set: &mut WriteSet,
        user: &UserId,
        action: &str,
        target: &str,
        rows: u64,
    ) {
        let entry = AuditLogEntry {
            entry_id: self.next_audit_id.fetch_add(1, Ordering::Relaxed) + 1,
            at: now_micros(),
            user_id: user.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            rows,
        };
        set.put_catalog(key(Tag::Audit, &entry), entry.to_row());
    }

    /// Tells the subscriptions on `meta` that `user` changed it.
    #[opt_in_feature("live_queries")]
    pub(crate) fn track_changes(&self, meta: &TableMeta, user: &UserId) {
        self.live.notify(meta, user);
    }

    /// Keeps `sql` when it took longer than the threshold.
    #[opt_in_feature("slow_query_log")]
    pub(crate) fn note_duration(&self, user: &UserId, sql: &str, elapsed: Duration) {
        if elapsed < self.slow_threshold {
            return;
        }
        let mut log = self.slow_log();
        if log.len() == SLOW_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(SlowQuery {
            user: user.clone(),
            sql: sql.to_owned(),
            elapsed,
        });
    }

    /// Counts a statement.
    #[opt_in_feature("query_metrics")]
    pub(crate) fn count_query(&self, rows: u64, elapsed: Duration) {
        let m = &self.metrics;
        m.statements.fetch_add(1, Ordering::Relaxed);
        m.rows.fetch_add(rows, Ordering::Relaxed);
        m.micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// When the slow-query log or the metrics are on, the time a statement starts; while
    /// both are off, `None`, at the cost of two loads and branches (no clock is read).
    pub(crate) fn clock(&self) -> Option<Instant> {
        self.slow_log_clock().or_else(|| self.metrics_clock())
    }

    #[opt_in_feature("slow_query_log")]
    fn slow_log_clock(&self) -> Option<Instant> {
        Some(Instant::now())
    }

    #[opt_in_feature("query_metrics")]
    fn metrics_clock(&self) -> Option<Instant> {
        Some(Instant::now())
    }

    /// Records a statement that `user` started at `started` (from [`clock`](Self::clock))
    /// and that returned or changed `rows` rows.
    pub(crate) fn finished(&self, started: Option<Instant>, user: &UserId, sql: &str, rows: usize) {
        if let Some(started) = started {
            let elapsed = started.elapsed();
            self.note_duration(user, sql, elapsed);
            self.count_query(rows as u64, elapsed);
        }
    }

    fn slow_log(&self) -> MutexGuard<'_, VecDeque<SlowQuery>> {
        self.slow_queries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The slow statements kept, oldest first.
    pub(crate) fn slow_queries(&self) -> Vec<SlowQuery> {
        self.slow_log().iter().cloned().collect()
    }

    /// A snapshot of the statement counters.
    pub(crate) fn metrics(&self) -> QueryMetrics {
        self.metrics.snapshot()
    }
}

/// Slow statements kept at most.
const SLOW_LOG_CAPACITY: usize = 256;

/// A statement that took longer than the slow-query threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowQuery {
    /// Who ran it.
    pub user: UserId,
    /// Its text.
    pub sql: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// Statement counters, while the `query_metrics` gate is on.
#[derive(Debug, Default)]
struct Metrics {
    statements: AtomicU64,
    rows: AtomicU64,
    micros: AtomicU64,
}

/// A snapshot of the statement counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryMetrics {
    /// Statements run.
    pub statements: u64,
    /// Rows they returned or changed.
    pub rows: u64,
    /// Time spent in them, in microseconds.
    pub micros: u64,
}

impl Metrics {
    fn snapshot(&self) -> QueryMetrics {
        QueryMetrics {
            statements: self.statements.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            micros: self.micros.load(Ordering::Relaxed),
        }
    }
}

/// A change notification: the table that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The subscription's id.
    pub live_id: u64,
    /// The table.
    pub table: TableId,
}

struct Entry {
    row: LiveQuery,
    table: TableId,
    shared_table: bool,
    sender: Sender<Change>,
}

/// The live subscriptions.
#[derive(Default)]
pub(crate) struct LiveRegistry {
    next: AtomicU64,
    entries: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for LiveRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRegistry").finish_non_exhaustive()
    }
}

impl LiveRegistry {
    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn subscribe(self: &Arc<Self>, user: UserId, meta: &TableMeta) -> Subscription {
        let live_id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = channel();
        self.entries().push(Entry {
            row: LiveQuery {
                live_id,
                user_id: user,
                table_id: meta.id.to_string(),
                created_at: now_micros(),
                changes: 0,
            },
            table: meta.id.clone(),
            shared_table: meta.kind != TableType::User,
            sender,
        });
        Subscription {
            live_id,
            receiver,
            registry: Arc::clone(self),
        }
    }

    fn notify(&self, meta: &TableMeta, user: &UserId) {
        for entry in self.entries().iter_mut() {
            if entry.table == meta.id && (entry.shared_table || entry.row.user_id == *user) {
                entry.row.changes += 1;
                // A dropped receiver unsubscribes on its own drop; nothing to do here.
                let _ = entry.sender.send(Change {
                    live_id: entry.row.live_id,
                    table: meta.id.clone(),
                });
            }
        }
    }

    pub(crate) fn rows(&self) -> Vec<LiveQuery> {
        self.entries().iter().map(|e| e.row.clone()).collect()
    }
}

/// A subscription to a table's changes (see the `live_queries` gate): a notification per
/// write statement that changed rows the subscriber can see. Dropping it unsubscribes.
pub struct Subscription {
    live_id: u64,
    receiver: Receiver<Change>,
    registry: Arc<LiveRegistry>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("live_id", &self.live_id)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The id shown in `system.live_queries`.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.live_id
    }

    /// The next change, waiting at most `timeout`.
    #[must_use]
    pub fn next_change(&self, timeout: Duration) -> Option<Change> {
        self.receiver.recv_timeout(timeout).ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry
            .entries()
            .retain(|e| e.row.live_id != self.live_id);
    }
}
