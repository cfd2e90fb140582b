//! Named gates for opt-in features: a byte per call site, read with one relaxed load.
//!
//! Every `#[opt_in_feature("name")]` function and every `gated_*!` call site owns a
//! `static` [`Gate`]. The first time a site is reached it registers in a global registry,
//! which knows each name's state: off unless the `KALAM_GATES` environment variable (read
//! once, when the registry is first used) or [`set_gate`] turned it on. Turning a name on or
//! off updates every site of that name.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The environment variable that turns gates on at start-up: a comma-separated list of
/// names, or `*` for all of them.
pub const GATES_ENV: &str = "KALAM_GATES";

const UNREGISTERED: u8 = 0;
/// [`Gate::state`] of a gate that is off.
pub const OFF: u8 = 1;
/// [`Gate::state`] of a gate that is on.
pub const ON: u8 = 2;

/// One call site's view of a named gate. Created by the macros as a `static`.
#[derive(Debug)]
pub struct Gate {
    name: &'static str,
    state: AtomicU8,
    hits: AtomicU64,
}

impl Gate {
    /// A gate that registers itself on first use.
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Gate {
            name,
            state: AtomicU8::new(UNREGISTERED),
            hits: AtomicU64::new(0),
        }
    }

    /// The gate's name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the gate is on. When it is off this is one relaxed load and one compare;
    /// the first call at a site registers it.
    #[inline(always)]
    pub fn is_on(&'static self) -> bool {
        let state = self.state.load(Ordering::Relaxed);
        if state == OFF {
            return false;
        }
        state == ON || self.register()
    }

    /// The raw state, for generated code that branches on it: [`OFF`], [`ON`], or
    /// neither before the site has registered.
    #[doc(hidden)]
    #[inline(always)]
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::Relaxed)
    }

    /// Counts one pass through the gate while it is on.
    #[inline]
    pub fn record_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Registers this site (once) and returns whether its gate is on.
    #[cold]
    #[inline(never)]
    pub(crate) fn register(&'static self) -> bool {
        let mut registry = registry();
        // Another thread may have registered this site while we waited for the lock.
        match self.state.load(Ordering::Relaxed) {
            UNREGISTERED => {}
            state => return state == ON,
        }
        let on = registry.state_of(self.name);
        registry.entry(Cow::Borrowed(self.name)).sites.push(self);
        self.state
            .store(if on { ON } else { OFF }, Ordering::Relaxed);
        on
    }
}

/// A gate name as the registry knows it: see [`gates`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GateState {
    /// The gate's name.
    pub name: String,
    /// Whether it is on.
    pub on: bool,
    /// How many times a call site went through it while it was on.
    pub hits: u64,
    /// How many call sites of this name have run so far.
    pub sites: usize,
}

/// Every gate the registry knows, sorted by name: those whose call sites have run at least
/// once, and those named by `KALAM_GATES` or [`set_gate`].
#[must_use]
pub fn gates() -> Vec<GateState> {
    let registry = registry();
    registry
        .entries
        .iter()
        .map(|entry| GateState {
            name: entry.name.to_string(),
            on: entry.on.unwrap_or(registry.all_on),
            hits: entry
                .sites
                .iter()
                .map(|site| site.hits.load(Ordering::Relaxed))
                .sum(),
            sites: entry.sites.len(),
        })
        .collect()
}

/// Turns the gate `name` on or off, at every call site, from any thread. Returns whether
/// a call site of that name has run yet (`false` may mean a typo, or a feature not yet
/// reached; the setting is kept and applies when it is).
pub fn set_gate(name: &str, on: bool) -> bool {
    let mut registry = registry();
    let entry = registry.entry(Cow::Owned(name.to_owned()));
    entry.on = Some(on);
    let state = if on { ON } else { OFF };
    for site in &entry.sites {
        site.state.store(state, Ordering::Relaxed);
    }
    !entry.sites.is_empty()
}

/// Whether the gate `name` is on, without registering anything.
#[must_use]
pub fn gate_is_on(name: &str) -> bool {
    registry().state_of(name)
}

struct Entry {
    name: Cow<'static, str>,
    /// `None` until set by name; then the name's state whatever `*` says.
    on: Option<bool>,
    sites: Vec<&'static Gate>,
}

struct Registry {
    /// Sorted by name.
    entries: Vec<Entry>,
    /// `KALAM_GATES=*`.
    all_on: bool,
}

impl Registry {
    fn from_env() -> Self {
        let mut registry = Registry {
            entries: Vec::new(),
            all_on: false,
        };
        if let Ok(list) = std::env::var(GATES_ENV) {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if name == "*" {
                    registry.all_on = true;
                } else {
                    registry.entry(Cow::Owned(name.to_owned())).on = Some(true);
                }
            }
        }
        registry
    }

    fn state_of(&self, name: &str) -> bool {
        match self.entries.binary_search_by(|e| e.name.as_ref().cmp(name)) {
            Ok(i) => self.entries[i].on.unwrap_or(self.all_on),
            Err(_) => self.all_on,
        }
    }

    fn entry(&mut self, name: Cow<'static, str>) -> &mut Entry {
        let i = match self
            .entries
            .binary_search_by(|e| e.name.as_ref().cmp(name.as_ref()))
        {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(
                    i,
                    Entry {
                        name,
                        on: None,
                        sites: Vec::new(),
                    },
                );
                i
            }
        };
        &mut self.entries[i]
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    let mutex = REGISTRY.get_or_init(|| Mutex::new(Registry::from_env()));
    // A panic while holding the lock cannot leave the registry half-updated in a way that
    // matters (each update is a push or a store), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_of_one_name_share_its_state() {
        static A: Gate = Gate::new("gate-unit-shared");
        static B: Gate = Gate::new("gate-unit-shared");
        assert!(!A.is_on(), "gates start off");
        assert!(set_gate("gate-unit-shared", true), "a site has run");
        assert!(A.is_on() && B.is_on(), "B registers into the name's state");
        A.record_hit();
        B.record_hit();
        B.record_hit();
        let state = gates()
            .into_iter()
            .find(|g| g.name == "gate-unit-shared")
            .unwrap();
        assert_eq!((state.on, state.hits, state.sites), (true, 3, 2));
        set_gate("gate-unit-shared", false);
        assert!(!A.is_on() && !B.is_on());
    }

    #[test]
    fn setting_before_the_first_call_is_kept() {
        static LATE: Gate = Gate::new("gate-unit-late");
        assert!(!set_gate("gate-unit-late", true), "no site has run yet");
        assert!(gate_is_on("gate-unit-late"));
        assert!(LATE.is_on());
    }
}
