//! `#[opt_in_feature]` at run time: off by default, on when set, every return shape,
//! async, traits, many threads, and lazy formatting. Each test uses its own gate names,
//! since gates are global to the process and tests run in parallel.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use kalam::{gated_debug, gated_info, gates, opt_in_feature, set_gate};

fn gate(name: &str) -> Option<kalam::GateState> {
    gates().into_iter().find(|g| g.name == name)
}

struct Audit {
    log: Vec<String>,
    name: Option<String>,
    calls: Cell<u32>,
}

impl Audit {
    fn new() -> Self {
        Audit {
            log: Vec::new(),
            name: Some("kalam".to_owned()),
            calls: Cell::new(0),
        }
    }

    #[opt_in_feature("t-unit")]
    fn record(&mut self, entry: &str) {
        self.log.push(entry.to_owned());
    }

    #[opt_in_feature("t-option")]
    fn name(&self) -> Option<&str> {
        self.calls.set(self.calls.get() + 1);
        self.name.as_deref()
    }

    #[opt_in_feature("t-option")]
    fn last_mut(&mut self) -> Option<&mut String> {
        self.log.last_mut()
    }

    #[opt_in_feature("t-default", default)]
    fn count(&self) -> usize {
        self.log.len() + 100
    }

    #[opt_in_feature("t-default", default)]
    fn parse(&self, text: &str) -> Parsed {
        let Ok(value) = text.parse::<u32>() else {
            return Parsed::Invalid;
        };
        Parsed::Value(value)
    }

    #[opt_in_feature("t-option")]
    fn double(&self, text: &str) -> Option<u32> {
        let value: u32 = text.parse().ok()?;
        if value == 0 {
            return Some(0);
        }
        Some(value * 2)
    }

    #[opt_in_feature("t-async")]
    async fn fetch(&self, id: u32) -> Option<u32> {
        ready(id * 2).await
    }
}

#[derive(Debug, Default, PartialEq)]
enum Parsed {
    #[default]
    Off,
    Value(u32),
    Invalid,
}

async fn ready(value: u32) -> Option<u32> {
    Some(value)
}

/// Polls a future that never waits to completion.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => panic!("the test futures never wait"),
    }
}

/// Off by default, then on: one test, since both halves use the same gates (`Audit`'s)
/// and tests run in parallel.
#[test]
fn off_by_default_then_on_runs_the_body_and_counts() {
    off_returns_at_once();
    on_runs_the_body_and_counts();
}

fn off_returns_at_once() {
    let mut audit = Audit::new();
    audit.record("ddl");
    assert!(audit.log.is_empty(), "the body did not run");
    assert_eq!(audit.name(), None);
    assert_eq!(audit.calls.get(), 0);
    assert_eq!(audit.count(), 0, "Default::default()");
    assert_eq!(audit.parse("5"), Parsed::Off, "Default::default()");
    assert_eq!(audit.double("5"), None);
    assert_eq!(block_on(audit.fetch(4)), None);
    assert!(!gate("t-unit").unwrap().on);
}

fn on_runs_the_body_and_counts() {
    let mut audit = Audit::new();
    set_gate("t-unit", true);
    set_gate("t-option", true);
    set_gate("t-default", true);
    set_gate("t-async", true);
    audit.record("create table");
    audit.record("insert");
    assert_eq!(audit.log, ["create table", "insert"]);
    assert_eq!(audit.name(), Some("kalam"));
    audit.last_mut().unwrap().push_str(" into t");
    assert_eq!(audit.log[1], "insert into t");
    assert_eq!(audit.count(), 102);
    assert_eq!(audit.parse("7"), Parsed::Value(7));
    assert_eq!(
        audit.parse("x"),
        Parsed::Invalid,
        "early return from the body"
    );
    assert_eq!(audit.double("4"), Some(8));
    assert_eq!(audit.double("0"), Some(0), "early return from the body");
    assert_eq!(audit.double("x"), None, "`?` in the body");
    assert_eq!(block_on(audit.fetch(4)), Some(8));
    let unit = gate("t-unit").unwrap();
    assert_eq!((unit.on, unit.hits, unit.sites), (true, 2, 1));

    set_gate("t-unit", false);
    audit.record("dropped");
    assert_eq!(audit.log.len(), 2);
    assert_eq!(gate("t-unit").unwrap().hits, 2, "no hit while off");
}

trait Sink {
    fn write(&self, line: &str) -> Option<usize>;

    #[opt_in_feature("t-trait-default")]
    fn flush(&self) -> Option<&'static str> {
        Some("flushed")
    }
}

struct Stdout;

impl Sink for Stdout {
    #[opt_in_feature("t-trait")]
    fn write(&self, line: &str) -> Option<usize> {
        Some(line.len())
    }
}

#[opt_in_feature("t-generic")]
fn describe<T: fmt::Debug>(value: &T, extra: impl fmt::Display) -> Option<String> {
    Some(format!("{value:?} {extra}"))
}

#[test]
fn traits_and_generics() {
    assert_eq!((Stdout.write("abc"), Stdout.flush()), (None, None));
    set_gate("t-trait", true);
    set_gate("t-trait-default", true);
    assert_eq!(
        (Stdout.write("abc"), Stdout.flush()),
        (Some(3), Some("flushed"))
    );
    assert_eq!(describe(&[1, 2], "x"), None);
    set_gate("t-generic", true);
    assert_eq!(describe(&[1, 2], "x").as_deref(), Some("[1, 2] x"));
}

#[opt_in_feature("t-threads")]
fn tracked(calls: &AtomicUsize) -> Option<()> {
    calls.fetch_add(1, Ordering::Relaxed);
    Some(())
}

/// Threads flip the gate and call through it at once, for a bounded number of rounds:
/// every call that ran its body was counted as a hit, and none ran that was not.
#[test]
fn toggling_while_calling_from_many_threads() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 20_000;
    let ran = Arc::new(AtomicUsize::new(0));
    let returned_some = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ran, returned_some, start) = (ran.clone(), returned_some.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    if t % 2 == 0 && round % 64 == 0 {
                        set_gate("t-threads", round % 128 == 0);
                    }
                    if tracked(&ran).is_some() {
                        returned_some.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("no thread panicked");
    }
    let ran = ran.load(Ordering::Relaxed);
    assert_eq!(ran, returned_some.load(Ordering::Relaxed));
    assert_eq!(gate("t-threads").unwrap().hits, ran as u64);
    assert!(
        ran > 0 && ran < THREADS * ROUNDS,
        "the gate was both on and off: {ran}"
    );
}

/// A value whose `Debug` is expensive and counted.
struct Expensive<'a>(&'a AtomicUsize);

impl fmt::Debug for Expensive<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fetch_add(1, Ordering::Relaxed);
        f.write_str("Expensive")
    }
}

#[test]
fn gated_logs_format_only_when_on() {
    let formatted = AtomicUsize::new(0);
    for _ in 0..3 {
        gated_debug!("t-log", "state: {:?}", Expensive(&formatted));
    }
    assert_eq!(
        formatted.load(Ordering::Relaxed),
        0,
        "off: Debug never called"
    );
    set_gate("t-log", true);
    gated_debug!("t-log", "state: {:?}", Expensive(&formatted));
    gated_info!("t-log", "again: {:?}", Expensive(&formatted));
    assert_eq!(formatted.load(Ordering::Relaxed), 2);
    assert_eq!(gate("t-log").unwrap().sites, 3, "each call site registers");
}
