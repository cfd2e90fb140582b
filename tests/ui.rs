//! The compile-time behaviour of the macros: every error path with its exact message
//! (`tests/ui/<category>/*.rs` and `.stderr`), and passing cases that are built and run.
//!
//! Expectations are pinned to the toolchain in rust-toolchain.toml. After a deliberate
//! change, regenerate with `TRYBUILD=overwrite cargo test --test ui` and read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
