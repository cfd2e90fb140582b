//! Gated log lines whose arguments are formatted only when they are written.

use core::fmt;

/// The severity of a gated log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// What happened, for operators.
    Info,
    /// What happened, for developers.
    Debug,
    /// Everything, step by step.
    Trace,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        })
    }
}

/// Writes one gated line, the gate being on. With the `log` feature the line goes to the
/// `log` crate with the gate's name as its target, and is formatted only if that target and
/// level are enabled there; without it, to standard error.
#[inline(never)]
pub fn emit(level: Level, gate: &'static str, args: fmt::Arguments<'_>) {
    #[cfg(feature = "log")]
    {
        let level = match level {
            Level::Error => log::Level::Error,
            Level::Warn => log::Level::Warn,
            Level::Info => log::Level::Info,
            Level::Debug => log::Level::Debug,
            Level::Trace => log::Level::Trace,
        };
        if log::log_enabled!(target: gate, level) {
            log::log!(target: gate, level, "{args}");
        }
    }
    #[cfg(not(feature = "log"))]
    {
        use std::io::Write as _;
        // A closed or full stderr must not take the program down with it.
        let _ = writeln!(std::io::stderr().lock(), "[{level} {gate}] {args}");
    }
}

/// Writes a log line at `level` when the gate is on; the format arguments are not even
/// looked at otherwise. Compiled out, like `#[opt_in_feature]`, by
/// `--cfg kalam_disable = "<gate>"` or `--cfg kalam_disable = "all"`.
///
/// ```
/// let rows = vec![1, 2, 3];
/// kalam_runtime::gated_log!("scan", kalam_runtime::Level::Info, "scanned {rows:?}");
/// ```
#[macro_export]
macro_rules! gated_log {
    ($gate:literal, $level:expr, $($arg:tt)+) => {{
        // A const, so that the lint about the user crate's unknown `kalam_disable` cfg can be
        // allowed on an item (rustc ignores `allow` on a statement for it); a false
        // condition is removed at compile time.
        #[allow(unexpected_cfgs)]
        const __KALAM_COMPILED_IN: bool =
            !cfg!(any(kalam_disable = $gate, kalam_disable = "all"));
        if __KALAM_COMPILED_IN {
            static __KALAM_GATE: $crate::__private::Gate = $crate::__private::Gate::new($gate);
            if __KALAM_GATE.is_on() {
                __KALAM_GATE.record_hit();
                $crate::__private::emit($level, $gate, ::core::format_args!($($arg)+));
            }
        }
    }};
}

/// [`gated_log!`] at [`Level::Error`].
#[macro_export]
macro_rules! gated_error {
    ($gate:literal, $($arg:tt)+) => { $crate::gated_log!($gate, $crate::Level::Error, $($arg)+) };
}

/// [`gated_log!`] at [`Level::Warn`].
#[macro_export]
macro_rules! gated_warn {
    ($gate:literal, $($arg:tt)+) => { $crate::gated_log!($gate, $crate::Level::Warn, $($arg)+) };
}

/// [`gated_log!`] at [`Level::Info`].
#[macro_export]
macro_rules! gated_info {
    ($gate:literal, $($arg:tt)+) => { $crate::gated_log!($gate, $crate::Level::Info, $($arg)+) };
}

/// [`gated_log!`] at [`Level::Debug`].
#[macro_export]
macro_rules! gated_debug {
    ($gate:literal, $($arg:tt)+) => { $crate::gated_log!($gate, $crate::Level::Debug, $($arg)+) };
}

/// [`gated_log!`] at [`Level::Trace`].
#[macro_export]
macro_rules! gated_trace {
    ($gate:literal, $($arg:tt)+) => { $crate::gated_log!($gate, $crate::Level::Trace, $($arg)+) };
}
