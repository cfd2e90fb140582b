//! What the tests that kill a writer process share.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs this test binary again as a writer process (only its ignored test `writer`, with
/// the environment variable `env` naming the data directory `dir`), reads the `ack N`
/// lines it prints as its writes are acknowledged until one reaches `until`, then kills
/// it with SIGKILL: no destructor, no flush. Returns the highest `N` acknowledged.
pub(crate) fn kill_writer(writer: &str, (env, dir): (&str, &Path), until: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            writer,
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut highest = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(n) = line.unwrap().strip_prefix("ack ") {
            let n: u64 = n.parse().unwrap();
            let now = highest.map_or(n, |h: u64| h.max(n));
            highest = Some(now);
            if now >= until {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    highest.expect("the writer acknowledged writes")
}
