//! The machine code of gated functions, read from `rustc --emit asm` of the
//! `tests/codegen-probe` crate in release mode:
//!
//! - gate off: one load, one compare, one branch, and `ret`; no stack frame before it;
//! - compiled out (`--cfg kalam_disable="probe"`, or the crate feature off): nothing but
//!   `ret` remains.
//!
//! x86-64 Linux only: the checks read AT&T assembly.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::path::PathBuf;
use std::process::Command;

/// Builds the probe with extra cargo and rustc arguments and returns its assembly.
fn assembly(cargo_args: &[&str], rustc_args: &[&str]) -> String {
    // Cargo sets the variable when it runs the test: a binary reused from a build in
    // another checkout would otherwise look for the probe there.
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("codegen");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "rustc",
            "--quiet",
            "--release",
            "--lib",
            "--message-format=json",
        ])
        .arg("--manifest-path")
        .arg(root.join("tests/codegen-probe/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(cargo_args)
        .args(["--", "--emit", "asm", "-C", "codegen-units=1"])
        .args(rustc_args)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "probe build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The artifact message names the rlib; the assembly beside it has the same hash. Every
    // variant has its own hash, so a cached build still finds its own file.
    let messages = String::from_utf8_lossy(&output.stdout);
    let prefix = "libkalam_codegen_probe-";
    let start = messages
        .rfind(prefix)
        .expect("an artifact message for the probe")
        + prefix.len();
    let hash: String = messages[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let path = target_dir.join(format!("release/deps/kalam_codegen_probe-{hash}.s"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The instructions of the function whose mangled name contains `needle`, without
/// directives; labels are kept (they end in `:`) so that branches can be followed.
/// Identical functions are merged by the compiler into `name = other`: that is followed.
fn function<'a>(asm: &'a str, needle: &str) -> Vec<&'a str> {
    let is_symbol = |line: &str| {
        line.starts_with("_ZN") && line.contains(needle) && !line.contains("__KALAM_GATE")
    };
    if let Some(alias) = asm
        .lines()
        .find(|line| is_symbol(line) && line.contains(" = "))
    {
        let target = alias.rsplit(" = ").next().unwrap().trim();
        let label = format!("{target}:");
        return body_after(asm, |line| line == label);
    }
    body_after(asm, |line| is_symbol(line) && line.ends_with(':'))
}

fn body_after(asm: &str, is_label: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut lines = asm.lines();
    lines
        .by_ref()
        .find(|line| is_label(line))
        .expect("the function is in the assembly");
    lines
        .take_while(|line| !line.contains(".cfi_endproc"))
        .map(str::trim)
        .filter(|line| !line.is_empty() && (!line.starts_with('.') || line.starts_with(".LBB")))
        .collect()
}

fn instructions<'a>(body: &[&'a str]) -> Vec<&'a str> {
    body.iter()
        .copied()
        .filter(|line| !line.ends_with(':'))
        .collect()
}

fn is_return(instruction: &str) -> bool {
    instruction.starts_with("ret")
}

/// Off path: `load gate; cmp; jcc; ret` with nothing before the load.
fn assert_off_path_is_a_load_and_a_branch(body: &[&str], name: &str) {
    let code = instructions(body);
    let branch = code
        .iter()
        .position(|i| i.starts_with('j') && !i.starts_with("jmp"))
        .unwrap_or_else(|| panic!("{name}: no conditional branch:\n{}", body.join("\n")));
    let before = &code[..branch];
    assert!(
        before.len() <= 2,
        "{name}: more than a load and a compare before the branch:\n{}",
        body.join("\n")
    );
    assert!(
        before[0].contains("__KALAM_GATE"),
        "{name}: the first instruction reads the gate:\n{}",
        body.join("\n")
    );
    for instruction in before {
        assert!(
            !instruction.starts_with("push")
                && !instruction.starts_with("sub")
                && !instruction.starts_with("call"),
            "{name}: a stack frame or a call before the gate test: {instruction}"
        );
    }
    // The off path is whichever side of the branch returns at once.
    let falls_through_to_ret = is_return(code[branch + 1]);
    let target = code[branch].split_whitespace().last().unwrap();
    let target_is_ret = body
        .iter()
        .position(|line| *line == format!("{target}:"))
        .and_then(|at| body[at + 1..].iter().find(|line| !line.ends_with(':')))
        .is_some_and(|first| is_return(first));
    assert!(
        falls_through_to_ret || target_is_ret,
        "{name}: the off path does more than return:\n{}",
        body.join("\n")
    );
}

fn assert_compiled_out(body: &[&str], name: &str) {
    assert_eq!(
        instructions(body),
        ["retq"],
        "{name}: compiled out means nothing but ret"
    );
}

#[test]
fn gated_code_shapes() {
    // Default build: `audited` is gated at run time; `metered` is compiled out because the
    // probe's `metrics` feature is off.
    let asm = assembly(&[], &[]);
    let audited = function(&asm, "Probe7audited");
    assert_off_path_is_a_load_and_a_branch(&audited, "audited");
    assert!(
        audited.iter().any(|i| i.contains("outlined")),
        "on: the body is outlined"
    );
    assert_compiled_out(
        &function(&asm, "Probe7metered"),
        "metered without its feature",
    );

    // The feature on: `metered` is gated like `audited`.
    let asm = assembly(&["--features", "metrics"], &[]);
    assert_off_path_is_a_load_and_a_branch(&function(&asm, "Probe7metered"), "metered");

    // `--cfg kalam_disable="probe"` removes `audited` only; "all" removes both.
    let asm = assembly(
        &["--features", "metrics"],
        &["--cfg", "kalam_disable=\"probe\""],
    );
    assert_compiled_out(
        &function(&asm, "Probe7audited"),
        "audited under kalam_disable",
    );
    assert_off_path_is_a_load_and_a_branch(&function(&asm, "Probe7metered"), "metered");
    assert!(
        !asm.contains("audited12__KALAM_GATE"),
        "no gate is left for audited"
    );

    let asm = assembly(
        &["--features", "metrics"],
        &["--cfg", "kalam_disable=\"all\""],
    );
    assert_compiled_out(
        &function(&asm, "Probe7audited"),
        "audited under kalam_disable=all",
    );
    assert_compiled_out(
        &function(&asm, "Probe7metered"),
        "metered under kalam_disable=all",
    );
}
