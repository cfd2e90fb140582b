//! `kalam`: SQL against a data directory, the layouts of the engine's models, the
//! sysbench-style suite against SQLite, and the PostgreSQL-protocol server. `kalam --help` lists the commands.

mod bench;
mod serve;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use kalam_engine::{Engine, Session, UserId, model_layouts};

/// The binary's allocator. A statement allocates and frees many small buffers (keys, rows,
/// values, plans' pieces) on whichever thread runs it, and glibc's malloc coalesces and
/// trims its free lists as it goes. Only the binary's Rust code allocates here: RocksDB's
/// C++ and SQLite's C keep the system's, and a crate embedding the engine chooses its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A small real database built with the kalam macros: RocksDB storage, SQL through
/// DataFusion.
#[derive(Debug, Parser)]
#[command(name = "kalam", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Sql(SqlArgs),
    Layout(LayoutArgs),
    Bench(bench::BenchArgs),
    Serve(serve::ServeArgs),
}

/// Runs SQL against a data directory (created when missing), as a user.
///
/// Without -e, reads statements from the terminal (a prompt, `\q` to quit) or from standard
/// input, each ending with `;`. Tables are `CREATE USER TABLE ns.t (..)` (each user has
/// their own rows) or `CREATE SHARED TABLE ns.t (..)` (one set of rows); a plain
/// `CREATE TABLE ns.t (..)` is a SHARED table, as in other SQL databases.
#[derive(Debug, clap::Args)]
struct SqlArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Who runs the statements; `root` is the administrator.
    #[arg(long, value_name = "USER", default_value = "root")]
    user: String,
    /// Run these statements (separated by `;`) and exit.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    execute: Option<String>,
}

/// Prints the layouts of the engine's models (its system tables' rows).
#[derive(Debug, clap::Args)]
struct LayoutArgs {
    /// Also write one SVG memory map per model into this directory.
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sql(args) => sql(&args),
        Command::Layout(args) => layout(&args),
        Command::Bench(args) => bench::main(&args),
        Command::Serve(args) => serve::main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn sql(args: &SqlArgs) -> Result<(), String> {
    let user = UserId::new(&args.user).map_err(|e| e.to_string())?;
    let engine = Engine::open(&args.data).map_err(|e| e.to_string())?;
    // One session for everything: a transaction begun on one line goes on on the next.
    let mut session = engine.session(&user).map_err(|e| e.to_string())?;
    if let Some(sql) = &args.execute {
        run(&mut session, sql).map_err(|e| e.to_string())?;
        return end_of_input(&session);
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
            if let Err(err) = run(&mut session, &buffer) {
                eprintln!("error: {err}");
                failed = true;
            }
            buffer.clear();
        }
        prompt(!buffer.trim().is_empty());
    }
    if !buffer.trim().is_empty()
        && let Err(err) = run(&mut session, &buffer)
    {
        eprintln!("error: {err}");
        failed = true;
    }
    if failed && !interactive {
        return Err("some statements failed".into());
    }
    end_of_input(&session)
}

/// The input ended: a transaction still open is rolled back, and that is an error.
fn end_of_input(session: &Session<'_>) -> Result<(), String> {
    if session.in_transaction() {
        return Err(kalam_engine::Error::UnfinishedTransaction.to_string());
    }
    Ok(())
}

fn run(session: &mut Session<'_>, sql: &str) -> Result<(), kalam_engine::Error> {
    let started = Instant::now();
    let result = session.sql_blocking(sql)?;
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

fn layout(args: &LayoutArgs) -> Result<(), String> {
    if let Some(dir) = &args.svg {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for layout in model_layouts() {
        println!("{layout}\n");
        if let Some(dir) = &args.svg {
            let path = dir.join(format!("{}.svg", layout.name));
            std::fs::write(&path, layout.to_svg())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}\n", path.display());
        }
    }
    Ok(())
}
