//! The compile-time behaviour of the macros: every error path with its exact message
//! (`tests/ui/<category>/*.rs` and `.stderr`), and passing cases that are built and run.
//!
//! Expectations are pinned to the toolchain in rust-toolchain.toml. After a deliberate
//! change, regenerate with `TRYBUILD=overwrite cargo test --test ui` and read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
    // Cases whose errors depend on the `arrow` feature: with it, a column type also needs an
    // Arrow column type.
    #[cfg(feature = "arrow")]
    cases.compile_fail("tests/ui-arrow/*.rs");
    #[cfg(not(feature = "arrow"))]
    cases.compile_fail("tests/ui-no-arrow/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
