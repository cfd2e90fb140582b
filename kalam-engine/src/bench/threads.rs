//! The suite from several threads at once (`kalam bench --threads 1,2,4`): each test runs
//! on one engine at a time, from N threads that each hold their own client (the engine:
//! one handle shared, each thread with its own prepared statements; SQLite: a connection
//! per thread, WAL, a busy timeout), for throughput and latency.
//!
//! Threads write disjoint rows: each picks ids on its own stripe of the table and takes
//! fresh ids from its own stripe too, so no two threads conflict on a row. Each thread
//! runs the same events on both engines (the engine that goes first runs for the test's
//! time, the other as many events on each thread), so the engines end each test with the
//! same rows, whatever the interleaving, and the run checks that they do. The answers of
//! concurrent reads are not compared: they depend on the interleaving.

use std::borrow::Cow;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::data::Rng;
use super::report::Stats;
use super::sides::{Kalam, Side, Sqlite};
use super::tests::{self, Ctx, Group, Step, TestSpec};
use super::{BenchError, BenchOptions};

/// One engine's load in a test from several threads.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Load {
    /// Events per second of all the threads together: events over the wall time from
    /// the moment they all start to the moment the last one ends.
    pub ops_per_sec: f64,
    /// The latency of one event, over the events of every thread.
    pub latency: Stats,
    /// Statements that failed with a retryable error (a write conflict, a busy
    /// database) and ran again (from the event's `BEGIN`, in a transaction); an event's
    /// time includes its retries.
    pub retried: usize,
}

/// One test at one thread count, on both engines.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadResult {
    /// The test.
    pub name: &'static str,
    /// `read`, `write` or `bulk`.
    pub group: &'static str,
    /// Threads on each engine.
    pub threads: usize,
    /// The engine.
    pub kalam: Load,
    /// SQLite.
    pub sqlite: Load,
    /// `p50(kalam) / p50(sqlite)` at this thread count; below 1 the engine is faster.
    pub multiplier: f64,
    /// `ops(kalam) / ops(sqlite)`; above 1 the engine does more events a second.
    pub throughput_ratio: f64,
}

/// Runs `spec` from `threads` threads on each engine in turn (which goes first turns
/// with `turn`): the first for half of the test's time (or `iterations` events a thread),
/// the second for as many events on each thread: `kalam` shared by its threads, SQLite's
/// file at `sqlite` opened by each. Each thread of either engine runs the
/// same events, so both engines end with the same rows, whatever the interleaving.
pub(crate) fn run(
    spec: &TestSpec,
    threads: usize,
    options: &BenchOptions,
    (kalam, sqlite): (&Kalam, &std::path::Path),
    ctx: &mut Ctx,
    turn: usize,
) -> Result<ThreadResult, BenchError> {
    let mut loads = [None, None];
    let mut limit = match options.iterations {
        Some(events) => Limit::Events(vec![events; threads]),
        None => Limit::Time(options.duration / 2),
    };
    let seed = options.seed ^ ((threads as u64) << 32);
    let mut used = Vec::new();
    for n in 0..2 {
        let side = (turn + n) % 2;
        let mut clients: Vec<Client> = Vec::with_capacity(threads);
        for _ in 0..threads {
            clients.push(if side == 0 {
                Box::new(kalam.sharing())
            } else {
                let sqlite = Sqlite::open(
                    sqlite,
                    options.config.durability,
                    options.config.sqlite_cache,
                )?;
                Box::new(if spec.group == Group::Read {
                    sqlite
                } else {
                    sqlite.begin_immediate()
                })
            });
        }
        if let Some(first) = clients.first_mut() {
            first.settle()?;
        }
        let (load, done) = load(spec, options, clients, (ctx, seed), &limit)?;
        limit = Limit::Events(done.iter().map(|d| d.times.len()).collect());
        used.extend(done.into_iter().map(|d| d.ctx));
        loads[side] = Some(load);
    }
    ctx.fresh_ids_after(&used);
    let [Some(kalam), Some(sqlite)] = loads else {
        unreachable!("both engines ran");
    };
    let ratio = |a: f64, b: f64| a / b.max(1e-9);
    Ok(ThreadResult {
        name: spec.name,
        group: spec.group.name(),
        threads,
        multiplier: ratio(kalam.latency.p50_us, sqlite.latency.p50_us),
        throughput_ratio: ratio(kalam.ops_per_sec, sqlite.ops_per_sec),
        kalam,
        sqlite,
    })
}

/// How long each thread runs.
enum Limit {
    /// Until this much time has passed (and at least a few events).
    Time(Duration),
    /// This many events, thread by thread.
    Events(Vec<usize>),
}

/// What one thread did: its events' times, its retries, the ids it used, when it ran.
struct Done {
    times: Vec<Duration>,
    retried: usize,
    ctx: Ctx,
    started: Instant,
    ended: Instant,
}

/// A thread's own client of an engine.
type Client = Box<dyn Side + Send>;

/// The test on one engine from a thread for each of `clients`, each thread's events drawn
/// from `seed` and its stripe of `base`.
fn load(
    spec: &TestSpec,
    options: &BenchOptions,
    clients: Vec<Client>,
    (base, seed): (&Ctx, u64),
    limit: &Limit,
) -> Result<(Load, Vec<Done>), BenchError> {
    let threads = clients.len();
    let barrier = Barrier::new(threads);
    let wrap = options.config.transactions && tests::in_transaction(spec.name);
    let done: Vec<Result<Done, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(thread, mut side)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut ctx = base.striped(thread, threads);
                    let mut rng = Rng::new(seed ^ (thread as u64 + 1).wrapping_mul(0x9E37));
                    let event = |rng: &mut Rng, ctx: &mut Ctx| {
                        let mut steps = (spec.event)(rng, ctx);
                        if wrap {
                            steps.insert(0, Step::Begin);
                            steps.push(Step::Commit);
                        }
                        steps
                    };
                    let mut retried = 0;
                    // Every thread reaches the barrier, even one whose set-up failed.
                    let ready = (|| {
                        let statements = (spec.statements)()
                            .iter()
                            .map(|sql| side.prepare(sql))
                            .collect::<Result<Vec<_>, _>>()?;
                        for _ in 0..options.warmup {
                            let steps = in_dialect(side.as_ref(), event(&mut rng, &mut ctx));
                            run_event(side.as_mut(), &statements, &steps, &mut retried)?;
                        }
                        Ok::<_, BenchError>(statements)
                    })();
                    barrier.wait();
                    let statements = ready?;
                    let started = Instant::now();
                    let mut times = Vec::new();
                    loop {
                        let enough = match limit {
                            Limit::Events(events) => times.len() >= events[thread],
                            Limit::Time(time) => times.len() >= 5 && started.elapsed() >= *time,
                        };
                        if enough {
                            break;
                        }
                        let steps = in_dialect(side.as_ref(), event(&mut rng, &mut ctx));
                        let began = Instant::now();
                        run_event(side.as_mut(), &statements, &steps, &mut retried)?;
                        times.push(began.elapsed());
                    }
                    Ok(Done {
                        times,
                        retried,
                        ctx,
                        started,
                        ended: Instant::now(),
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BenchError::Setup("a thread of the run panicked".into()))
                })
            })
            .collect()
    });
    let done = done.into_iter().collect::<Result<Vec<_>, _>>()?;
    let started = done.iter().map(|d| d.started).min();
    let ended = done.iter().map(|d| d.ended).max();
    let wall = match (started, ended) {
        (Some(s), Some(e)) => e.duration_since(s).as_secs_f64(),
        _ => 0.0,
    };
    let mut times: Vec<Duration> = done.iter().flat_map(|d| d.times.iter().copied()).collect();
    let events = times.len();
    let load = Load {
        ops_per_sec: if wall > 0.0 {
            events as f64 / wall
        } else {
            0.0
        },
        latency: Stats::of(&mut times),
        retried: done.iter().map(|d| d.retried).sum(),
    };
    Ok((load, done))
}

/// `steps` with their text in `side`'s dialect, translated before they are timed.
fn in_dialect(side: &dyn Side, steps: Vec<Step>) -> Vec<Step> {
    steps
        .into_iter()
        .map(|step| match step {
            Step::Text(sql) => {
                let translated = match side.dialect(&sql) {
                    Cow::Owned(text) => Some(text),
                    Cow::Borrowed(_) => None,
                };
                Step::Text(translated.unwrap_or(sql))
            }
            step => step,
        })
        .collect()
}

/// Most retries of one event before its error stands.
const RETRIES: usize = 100;

/// The steps of one event; results are read in place by the side, not kept. A step that
/// fails with a retryable error runs again, from the event's `BEGIN` inside a transaction
/// (rolled back first), or else on its own (the steps before it are committed), so that
/// the event does what it would have done.
fn run_event(
    side: &mut dyn Side,
    statements: &[usize],
    steps: &[Step],
    retried: &mut usize,
) -> Result<(), BenchError> {
    let mut at = 0;
    let mut tries = 0;
    while let Some(step) = steps.get(at) {
        let result = match step {
            Step::Prepared(n, params) => side.run(statements[*n], params),
            Step::Text(sql) => side.batch(sql),
            Step::Begin => side.begin(),
            Step::Commit => side.commit(),
        };
        match result {
            Ok(_) => at += 1,
            Err(e) if retryable(&e) && tries < RETRIES => {
                tries += 1;
                *retried += 1;
                if matches!(steps.first(), Some(Step::Begin)) {
                    side.rollback()?;
                    at = 0;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A failure another try could get past: a write conflict between transactions, or a
/// database another connection holds locked past the busy timeout.
fn retryable(error: &BenchError) -> bool {
    match error {
        BenchError::Kalam(e) => matches!(e.sqlstate(), "40001" | "40P01"),
        BenchError::Sqlite(e) => matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ),
        _ => false,
    }
}
