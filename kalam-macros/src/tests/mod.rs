//! Tests of the expansion functions, run outside a compiler invocation.

mod never_panics;
mod reorder_property;
mod snapshots;
