//! The `kalam` binary, run as a user runs it: `--help` of every command, `kalam sql` one-shot
//! and reading standard input, `kalam layout`, and the errors of bad arguments.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn kalam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kalam"))
        .args(args)
        .env_remove("CI")
        .output()
        .expect("the kalam binary runs")
}

/// Runs `kalam` with `stdin` as its standard input.
fn kalam_with_input(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kalam"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the kalam binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn help_lists_the_commands_and_each_command_its_options() {
    let help = kalam(&["--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    let text = stdout(&help);
    for command in ["sql", "layout", "bench"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "`kalam --help` lists `{command}`:\n{text}"
        );
    }
    for (command, options) in [
        (
            "sql",
            &["--data <DIR>", "--user <USER>", "--execute <SQL>"][..],
        ),
        ("layout", &["--svg <DIR>"][..]),
        (
            "bench",
            &[
                "--tests <A,B,...>",
                "--rows <N>",
                "--duration <SECS>",
                "--durability <DURABILITY>",
                "--ladder",
                "--list",
                "--no-lookup-joins",
            ][..],
        ),
    ] {
        let help = kalam(&[command, "--help"]);
        assert!(help.status.success(), "{}", stderr(&help));
        let text = stdout(&help);
        for option in options {
            assert!(
                text.contains(option),
                "`kalam {command} --help` shows `{option}`:\n{text}"
            );
        }
    }
}

#[test]
fn bad_arguments_are_errors_with_usage() {
    let none = kalam(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("Usage: kalam"), "{}", stderr(&none));

    let unknown = kalam(&["sql", "--data", "x", "--nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("--nope"), "{}", stderr(&unknown));

    let missing = kalam(&["sql"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("--data <DIR>"),
        "{}",
        stderr(&missing)
    );

    let rows = kalam(&["bench", "--rows", "many"]);
    assert_eq!(rows.status.code(), Some(2));
    assert!(stderr(&rows).contains("many"), "{}", stderr(&rows));

    let duration = kalam(&["bench", "--duration", "0"]);
    assert_eq!(duration.status.code(), Some(2));
    assert!(
        stderr(&duration).contains("positive number of seconds"),
        "{}",
        stderr(&duration)
    );
}

#[test]
fn sql_runs_statements_and_keeps_them_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let created = kalam(&[
        "sql",
        "--data",
        data,
        "-e",
        "CREATE NAMESPACE app; CREATE USER alice;
         CREATE SHARED TABLE app.items (id BIGINT PRIMARY KEY, name TEXT);
         INSERT INTO app.items VALUES (1, 'one'), (2, 'two')",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(
        stdout(&created).contains("1 row(s) fetched"),
        "{}",
        stdout(&created)
    );

    // Another process reads what the first one wrote.
    let read = kalam(&[
        "sql",
        "--data",
        data,
        "--user",
        "alice",
        "--execute",
        "SELECT name FROM app.items ORDER BY id",
    ]);
    assert!(read.status.success(), "{}", stderr(&read));
    let text = stdout(&read);
    assert!(
        text.contains("| one  |") && text.contains("| two  |"),
        "{text}"
    );
    assert!(text.contains("2 row(s) fetched"), "{text}");

    // A failing statement is the process's failure, with the engine's message.
    let failed = kalam(&["sql", "--data", data, "-e", "SELECT * FROM app.nope"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("table `app.nope` does not exist"),
        "{}",
        stderr(&failed)
    );

    // An unknown user is refused before anything runs.
    let stranger = kalam(&["sql", "--data", data, "--user", "bob", "-e", "SELECT 1"]);
    assert_eq!(stranger.status.code(), Some(1));
    assert!(stderr(&stranger).contains("bob"), "{}", stderr(&stranger));
}

#[test]
fn sql_reads_statements_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let output = kalam_with_input(
        &["sql", "--data", data],
        "CREATE NAMESPACE app;\n\
         CREATE SHARED TABLE app.t (id BIGINT PRIMARY KEY,\n  v TEXT);\n\
         INSERT INTO app.t VALUES (7, 'seven');\n\
         SELECT v FROM app.t WHERE id = 7;\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("| seven |"), "{text}");
    // No prompt when standard input is not a terminal.
    assert!(!text.contains("kalam>"), "{text}");

    // A failed statement is reported, the next ones still run, and the exit code says so.
    let output = kalam_with_input(
        &["sql", "--data", data],
        "SELECT * FROM app.missing;\nSELECT count(*) AS n FROM app.t;\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("app.missing"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("| 1 |"), "{}", stdout(&output));

    // A transaction spans lines; one left open at the end of the input is rolled back.
    let output = kalam_with_input(
        &["sql", "--data", data],
        "BEGIN;\nINSERT INTO app.t VALUES (8, 'eight');\nSELECT count(*) AS n FROM app.t;\n\
         COMMIT;\nBEGIN;\nDELETE FROM app.t;\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("| 2 |"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("rolled back"),
        "{}",
        stderr(&output)
    );
    let count = kalam(&[
        "sql",
        "--data",
        data,
        "-e",
        "SELECT count(*) AS n FROM app.t",
    ]);
    assert!(stdout(&count).contains("| 2 |"), "{}", stdout(&count));
}

#[test]
fn layout_prints_every_model_and_writes_their_maps() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("svg");
    let output = kalam(&["layout", "--svg", svg.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let layouts = kalam_engine::model_layouts();
    assert!(!layouts.is_empty());
    for layout in layouts {
        assert!(
            text.contains(&layout.to_string()),
            "{} is printed",
            layout.name
        );
        let path = svg.join(format!("{}.svg", layout.name));
        let drawn = std::fs::read_to_string(&path).unwrap();
        assert_eq!(drawn, layout.to_svg(), "{}", path.display());
    }
}

#[test]
fn bench_lists_its_tests() {
    let output = kalam(&["bench", "--list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listed: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(listed, kalam_engine::bench::test_names());
}
