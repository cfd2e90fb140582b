//! `kalam`: SQL against a data directory, and the layouts of the engine's models.
//!
//! ```text
//! kalam sql --data DIR [--user USER] [-e SQL]   run SQL (interactive without -e)
//! kalam layout [--svg DIR]                      print the models' layouts (and write SVGs)
//! kalam bench [OPTIONS]                         the sysbench-style suite against SQLite
//! ```

mod bench;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use kalam_engine::{Engine, UserId, model_layouts};

const USAGE: &str = "\
usage:
  kalam sql --data DIR [--user USER] [-e SQL]   run SQL as USER (default root); without -e,
                                                read statements from the terminal or stdin
  kalam layout [--svg DIR]                      print the layouts of the engine's models,
                                                and write one SVG per model into DIR
  kalam bench [OPTIONS]                         run the sysbench-style suite on the engine
                                                and on SQLite (`kalam bench --help`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("sql") => sql(&args[1..]),
        Some("layout") => layout(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("expected a command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `flag`, if present.
fn option(args: &[String], flag: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("{flag} needs a value")),
    }
}

fn check_flags(args: &[String], known: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() {
        if !known.contains(&args[i].as_str()) {
            return Err(format!("unknown argument `{}`\n{USAGE}", args[i]));
        }
        i += 2;
    }
    Ok(())
}

fn sql(args: &[String]) -> Result<(), String> {
    check_flags(args, &["--data", "--user", "-e"])?;
    let data = option(args, "--data")?.ok_or_else(|| format!("--data DIR is required\n{USAGE}"))?;
    let user = option(args, "--user")?.unwrap_or_else(|| "root".to_owned());
    let user = UserId::new(&user).map_err(|e| e.to_string())?;
    let engine = Engine::open(PathBuf::from(&data)).map_err(|e| e.to_string())?;
    if let Some(sql) = option(args, "-e")? {
        return run(&engine, &user, &sql).map_err(|e| e.to_string());
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut buffer = String::new();
    let prompt = |continued: bool| {
        if interactive {
            print!("{}", if continued { "  -> " } else { "kalam> " });
            let _ = std::io::stdout().flush();
        }
    };
    prompt(false);
    let mut failed = false;
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if buffer.is_empty() && matches!(line.trim(), "\\q" | "quit" | "exit") {
            break;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if line.trim_end().ends_with(';') {
            if let Err(err) = run(&engine, &user, &buffer) {
                eprintln!("error: {err}");
                failed = true;
            }
            buffer.clear();
        }
        prompt(!buffer.trim().is_empty());
    }
    if !buffer.trim().is_empty()
        && let Err(err) = run(&engine, &user, &buffer)
    {
        eprintln!("error: {err}");
        failed = true;
    }
    if failed && !interactive {
        return Err("some statements failed".into());
    }
    Ok(())
}

fn run(engine: &Engine, user: &UserId, sql: &str) -> Result<(), kalam_engine::Error> {
    let started = Instant::now();
    let result = engine.sql_blocking(user, sql)?;
    let elapsed = started.elapsed().as_secs_f64();
    if result.schema().fields().is_empty() {
        println!("OK. Elapsed {elapsed:.3} seconds.\n");
        return Ok(());
    }
    println!("{result}");
    println!(
        "{} row(s) fetched. Elapsed {elapsed:.3} seconds.\n",
        result.num_rows()
    );
    Ok(())
}

fn layout(args: &[String]) -> Result<(), String> {
    check_flags(args, &["--svg"])?;
    let svg = option(args, "--svg")?.map(PathBuf::from);
    if let Some(dir) = &svg {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for layout in model_layouts() {
        println!("{layout}\n");
        if let Some(dir) = &svg {
            let path = dir.join(format!("{}.svg", layout.name));
            std::fs::write(&path, layout.to_svg())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}\n", path.display());
        }
    }
    Ok(())
}
