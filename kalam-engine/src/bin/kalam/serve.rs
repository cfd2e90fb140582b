//! `kalam serve`: the engine on the PostgreSQL wire protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kalam_engine::server::{Server, ServerOptions};
use kalam_engine::{Engine, UserId};

/// Serves a data directory (created when missing) on the PostgreSQL wire protocol, until
/// SIGTERM or SIGINT: then it drains (no new connections; each open one finishes the
/// message at hand) and exits.
///
/// Clients log in with SCRAM-SHA-256 as users of `system.users` (`CREATE USER alice WITH
/// PASSWORD '..'`); the database a client names is its default namespace. The first start
/// needs root's password, from --root-password-env (the name of an environment variable
/// holding it) or KALAM_ROOT_PASSWORD; later starts keep the stored one.
///
/// Durability: every acknowledged write is in RocksDB's write-ahead log, without an fsync
/// (it survives the process being killed, not a power loss).
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The data directory.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5433")]
    listen: SocketAddr,
    /// The environment variable that holds root's password, set if root has none yet.
    #[arg(long, value_name = "VAR", default_value = "KALAM_ROOT_PASSWORD")]
    root_password_env: String,
    /// Connections beyond this many are refused (SQLSTATE 53300).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_connections: usize,
    /// Seconds a connection may send nothing before it is closed; 0: no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    idle_timeout: u64,
    /// Longer statement texts are refused (SQLSTATE 54000).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_statement_bytes: usize,
    /// Threads that run the connections, shared (0: a thread for each connection)
    #[arg(long, value_name = "N", default_value_t = 0)]
    workers: usize,
}

pub(crate) fn main(args: &ServeArgs) -> Result<(), String> {
    let engine = Arc::new(Engine::open(&args.data).map_err(|e| e.to_string())?);
    let root = UserId::new("root").map_err(|e| e.to_string())?;
    let password = std::env::var(&args.root_password_env).ok();
    match (engine.has_password(&root), password) {
        (true, _) => {}
        (false, Some(password)) if !password.is_empty() => {
            engine
                .set_password(&root, &password)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "kalam serve: root's password set from ${}",
                args.root_password_env
            );
        }
        (false, _) => {
            return Err(format!(
                "root has no password yet: give one in ${} for the first start",
                args.root_password_env
            ));
        }
    }
    let options = ServerOptions {
        listen: args.listen,
        max_connections: args.max_connections,
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        max_statement_bytes: args.max_statement_bytes,
        workers: args.workers,
        ..ServerOptions::default()
    };
    let server = Server::bind(Arc::clone(&engine), options)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    // Scripts wait for this line to know the port is open.
    eprintln!("kalam serve: listening on {}", server.local_addr());
    server.run_until_signal().map_err(|e| e.to_string())?;
    eprintln!("kalam serve: stopped");
    Ok(())
}
