//! `KALAM_GATES` turns gates on at start-up. The registry reads it once, so the check runs
//! in a child process started with the variable set.

use std::process::Command;

use kalam::{GATES_ENV, gate_is_on, gates, opt_in_feature, set_gate};

#[opt_in_feature("env-audit")]
fn audited() -> Option<u8> {
    Some(1)
}

#[opt_in_feature("env-other")]
fn other() -> Option<u8> {
    Some(2)
}

#[test]
fn environment_turns_gates_on() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_with_env",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(GATES_ENV, "env-audit, env-metrics")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child test ran:\n{stdout}");
}

#[test]
#[ignore = "run by environment_turns_gates_on with KALAM_GATES set"]
fn child_with_env() {
    assert_eq!(audited(), Some(1), "named in KALAM_GATES");
    assert_eq!(other(), None, "not named");
    assert!(gate_is_on("env-metrics"), "named, not yet reached");
    let names: Vec<String> = gates()
        .into_iter()
        .filter(|g| g.on)
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["env-audit", "env-metrics"]);
    set_gate("env-audit", false);
    assert_eq!(audited(), None, "set_gate overrides the environment");
}

#[test]
#[ignore = "run by star_turns_every_gate_on with KALAM_GATES=*"]
fn child_with_star() {
    assert_eq!((audited(), other()), (Some(1), Some(2)));
}

#[test]
fn star_turns_every_gate_on() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_with_star", "--include-ignored"])
        .env(GATES_ENV, "*")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}"
    );
}
