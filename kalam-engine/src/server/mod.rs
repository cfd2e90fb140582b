//! `kalam serve`: the engine on the PostgreSQL wire protocol (through `pgwire`), for any
//! PostgreSQL client: psql, drivers, sysbench.
//!
//! Each connection logs in with SCRAM-SHA-256 against the verifiers of `system.users`
//! and runs as its user, in a session of its own (`BEGIN` ... `COMMIT` across messages);
//! its database is its default namespace. Statements of the extended protocol are the
//! engine's prepared statements, so the fast paths and plans made once serve the wire.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kalam_engine::{Engine, UserId};
//! use kalam_engine::server::{Server, ServerOptions};
//!
//! let engine = Arc::new(Engine::open("data")?);
//! let root = UserId::new("root")?;
//! engine.sql_blocking(&root, "ALTER USER root WITH PASSWORD 'secret'")?;
//! let server = Server::bind(Arc::clone(&engine), ServerOptions::default())?;
//! println!("listening on {}", server.local_addr());
//! // Until SIGTERM or SIGINT; then open connections drain.
//! server.run_until_signal()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compat;
mod conn;
mod held;
mod wire;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ErrorHandler, NoopHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Framed, FramedParts};

use crate::engine::Engine;
use crate::error::Error;
use conn::Handlers;
use held::Held;

/// How a server listens, and its limits.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen; port 0 picks a free one ([`Server::local_addr`] tells which).
    pub listen: SocketAddr,
    /// Connections beyond this many are refused with SQLSTATE 53300
    /// (`too_many_connections`), as PostgreSQL's `max_connections` does.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Longer statement texts are refused with SQLSTATE 54000.
    pub max_statement_bytes: usize,
    /// Named prepared statements one connection may hold.
    pub max_prepared_statements: usize,
    /// How connections are run. `0`, the default: each on a thread of its own, as
    /// PostgreSQL gives each its own process, so that no worker has to wake another for
    /// it and a long statement holds up only its own connection. `N`: all of them on a
    /// shared pool of `N` threads, for many mostly idle connections.
    pub workers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 5433)),
            max_connections: 100,
            idle_timeout: Some(Duration::from_secs(600)),
            max_statement_bytes: 1 << 20,
            max_prepared_statements: 1000,
            workers: 0,
        }
    }
}

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct Limits {
    started: Instant,
    max_statement_bytes: usize,
    max_prepared: usize,
    /// Keys the decoy verifiers of names that cannot log in.
    decoy_secret: [u8; 32],
}

impl Limits {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn check_size(&self, sql: &str) -> PgWireResult<()> {
        if sql.len() <= self.max_statement_bytes {
            return Ok(());
        }
        Err(conn::user_error(&Error::StatementTooLong {
            bytes: sql.len(),
            limit: self.max_statement_bytes,
        }))
    }
}

/// A PostgreSQL-protocol server over an engine. See the [module docs](self).
#[derive(Debug)]
pub struct Server {
    engine: Arc<Engine>,
    listener: std::net::TcpListener,
    options: ServerOptions,
}

/// The stack of each thread that runs connections: 8 MiB, as a main thread's. A statement
/// runs on the thread that polls its connection, and planning and the engine's own calls
/// recurse.
const WORKER_STACK: usize = 8 << 20;

/// How long a client has from its connection to the end of its login.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

impl Server {
    /// Binds the listening socket (serving starts with [`run`](Self::run)).
    ///
    /// # Errors
    ///
    /// If the address cannot be bound.
    pub fn bind(engine: Arc<Engine>, options: ServerOptions) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(options.listen)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            engine,
            listener,
            options,
        })
    }

    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.options.listen)
    }

    /// Serves until SIGTERM or SIGINT, then drains: no new connections, idle ones close,
    /// busy ones finish the message at hand. Blocks; not for use inside an async runtime.
    ///
    /// # Errors
    ///
    /// If the signal handlers or the listener fail.
    pub fn run_until_signal(self) -> io::Result<()> {
        self.run(async {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                // Without handlers, only the process's end stops it.
                _ => std::future::pending::<()>().await,
            }
        })
    }

    /// Serves until `shutdown` completes, then drains as
    /// [`run_until_signal`](Self::run_until_signal) does. Blocks; each connection runs on
    /// a thread of its own, or on a shared pool of [`ServerOptions::workers`] threads.
    ///
    /// # Errors
    ///
    /// If the runtime cannot start or the listener fails.
    pub fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let runtime = if self.options.workers == 0 {
            // Only the listener runs here; the connections bring their own runtimes.
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.options.workers)
                .enable_all()
                .thread_name("kalam-serve")
                .thread_stack_size(WORKER_STACK)
                .build()?
        };
        runtime.block_on(self.serve(shutdown))
    }

    async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let mut decoy_secret = [0; 32];
        SystemRandom::new()
            .fill(&mut decoy_secret)
            .map_err(|_| io::Error::other("no random bytes for the server's secret"))?;
        let limits = Arc::new(Limits {
            started: Instant::now(),
            max_statement_bytes: self.options.max_statement_bytes,
            max_prepared: self.options.max_prepared_statements,
            decoy_secret,
        });
        let listener = TcpListener::from_std(self.listener)?;
        let (stop, stopping) = watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        // Every connection holds a sender; when the last is gone, all have ended.
        let (alive, mut ended) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((socket, _)) = accepted else {
                // Out of descriptors, or a connection reset before it was accepted.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = socket.set_nodelay(true);
            if open.load(Ordering::Acquire) >= self.options.max_connections {
                let alive = alive.clone();
                tokio::spawn(async move {
                    refuse(socket).await;
                    drop(alive);
                });
                continue;
            }
            let slot = Slot::take(&open, &alive);
            let Ok(socket) = socket.into_std() else {
                continue;
            };
            let served = Served {
                socket,
                handlers: Handlers::new(Arc::clone(&self.engine), Arc::clone(&limits)),
                watch: Watch {
                    limits: Arc::clone(&limits),
                    idle_timeout: self.options.idle_timeout,
                    stopping: stopping.clone(),
                },
            };
            if self.options.workers > 0 {
                tokio::spawn(async move {
                    served.run().await;
                    drop(slot);
                });
            } else {
                // As PostgreSQL gives each connection a process: no worker wakes another
                // for it, and a busy connection never waits behind another. Should the
                // thread not start, its closure drops the socket and the slot.
                let _ = std::thread::Builder::new()
                    .name("kalam-conn".to_owned())
                    .stack_size(WORKER_STACK)
                    .spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build();
                        if let Ok(runtime) = runtime {
                            runtime.block_on(served.run());
                        }
                        // After the runtime, and the tasks the connection left on it.
                        drop(slot);
                    });
            }
        }
        drop(listener);
        let _ = stop.send(true);
        drop(alive);
        let _ = ended.recv().await;
        Ok(())
    }
}

/// One accepted connection, to be served on the runtime that polls [`Served::run`].
struct Served {
    socket: std::net::TcpStream,
    handlers: Arc<Handlers>,
    watch: Watch,
}

impl Served {
    /// The connection's messages in turn, as pgwire's own loop handles them, on a socket
    /// that holds the answers until the connection waits for its client ([`Held`]).
    async fn run(self) {
        let Served {
            socket,
            handlers,
            watch,
        } = self;
        let Ok(socket) = TcpStream::from_std(socket) else {
            return;
        };
        let limits = Arc::clone(&watch.limits);
        // When the connection last finished a message, for the idle timeout.
        let last = AtomicU64::new(limits.elapsed_ms());
        let closing = watch.until_done(&last);
        tokio::pin!(closing);
        // The whole startup, login included, within the time pgwire allows it.
        let startup = tokio::time::sleep(STARTUP_TIMEOUT);
        tokio::pin!(startup);
        let negotiated = tokio::select! {
            negotiated = negotiate_tls(socket, None) => negotiated,
            () = &mut startup => return,
            _ = &mut closing => return,
        };
        let Ok(Some(framed)) = negotiated else {
            return;
        };
        let parts = framed.into_parts();
        let mut held = FramedParts::new(Held::new(parts.io), parts.codec);
        held.read_buf = parts.read_buf;
        held.write_buf = parts.write_buf;
        let mut socket = Framed::from_parts(held);
        let closing = loop {
            let starting = matches!(
                socket.state(),
                PgWireConnectionState::AwaitingStartup
                    | PgWireConnectionState::AuthenticationInProgress
            );
            // The watch is looked at only here, between messages.
            let message = tokio::select! {
                biased;
                message = socket.next() => message,
                () = &mut startup, if starting => return,
                closing = &mut closing => break closing,
            };
            let message = match message {
                // The client hung up.
                None | Some(Ok(PgWireFrontendMessage::Terminate(_))) => return,
                Some(Ok(message)) => message,
                Some(Err(PgWireError::IoError(_))) => return,
                Some(Err(err)) => {
                    let message = format!("invalid frontend message: {err}");
                    farewell(&mut socket, "08P01", &message).await;
                    return;
                }
            };
            let extended = match socket.state() {
                PgWireConnectionState::CopyInProgress(extended) => extended,
                _ => message.is_extended_query(),
            };
            // Its connection is for it alone, and `process_message` closes it.
            let cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
            let handled = process_message(
                message,
                &mut socket,
                Arc::clone(&handlers),
                Arc::clone(&handlers),
                Arc::clone(&handlers),
                Arc::new(NoopHandler),
                Arc::new(NoopHandler),
            )
            .await;
            if let Err(mut err) = handled {
                handlers.on_error(&socket, &mut err);
                let fatal = err.is_fatal();
                if process_error(&mut socket, err, extended).await.is_err() || fatal {
                    return;
                }
            }
            if cancel {
                return;
            }
            last.store(limits.elapsed_ms(), Ordering::Release);
        };
        let (code, message) = match closing {
            Closing::Idle => (
                "57P05",
                "terminating connection due to idle-session timeout",
            ),
            Closing::Stopping => (
                "57P01",
                "terminating connection due to administrator command",
            ),
        };
        farewell(&mut socket, code, message).await;
    }
}

/// Ends a connection with a FATAL error, after what it holds.
async fn farewell<S, C>(socket: &mut Framed<S, C>, code: &str, message: &str)
where
    Framed<S, C>: Sink<PgWireBackendMessage, Error = io::Error> + Unpin,
{
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        socket.send(fatal(code, message)).await?;
        socket.close().await
    })
    .await;
}

/// A connection's place among the open ones, given back when it ends.
struct Slot {
    open: Arc<AtomicUsize>,
    /// Dropped with the slot: the server's drain waits for every one.
    _alive: mpsc::Sender<()>,
}

impl Slot {
    fn take(open: &Arc<AtomicUsize>, alive: &mpsc::Sender<()>) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        Slot {
            open: Arc::clone(open),
            _alive: alive.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// When a connection is to be closed: idle too long, or the server stopping while it is
/// between messages.
struct Watch {
    limits: Arc<Limits>,
    idle_timeout: Option<Duration>,
    stopping: watch::Receiver<bool>,
}

/// Why a watch closes its connection.
enum Closing {
    /// It sent nothing for the idle timeout.
    Idle,
    /// The server is draining.
    Stopping,
}

/// A FATAL ErrorResponse of the protocol, with its SQLSTATE.
fn fatal(code: &str, message: &str) -> PgWireBackendMessage {
    let info = ErrorInfo::new("FATAL".to_owned(), code.to_owned(), message.to_owned());
    PgWireBackendMessage::ErrorResponse(info.into())
}

impl Watch {
    /// Why to close the connection that last finished a message at `last`.
    async fn until_done(mut self, last: &AtomicU64) -> Closing {
        let tick = Duration::from_millis(100);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = self.stopping.changed() => {}
            }
            if *self.stopping.borrow() {
                return Closing::Stopping;
            }
            if let Some(timeout) = self.idle_timeout {
                let idle = self
                    .limits
                    .elapsed_ms()
                    .saturating_sub(last.load(Ordering::Acquire));
                if u128::from(idle) >= timeout.as_millis() {
                    return Closing::Idle;
                }
            }
        }
    }
}

/// Refuses a connection over the limit as PostgreSQL does: reads its startup packet
/// (answering an SSL request with "no"), then a FATAL 53300 and the end.
async fn refuse(mut socket: TcpStream) {
    let deadline = Duration::from_secs(5);
    let read_startup = async {
        for _ in 0..2 {
            let length = socket.read_u32().await? as usize;
            if !(8..=10_000).contains(&length) {
                return Ok::<(), io::Error>(());
            }
            let mut body = vec![0; length - 4];
            socket.read_exact(&mut body).await?;
            // SSLRequest (80877103) or GSSENCRequest (80877104): not offered.
            if body.len() == 4 && matches!(body[..], [0x04, 0xd2, 0x16, 0x2f | 0x30]) {
                socket.write_all(b"N").await?;
                continue;
            }
            break;
        }
        Ok(())
    };
    if tokio::time::timeout(deadline, read_startup).await.is_err() {
        return;
    }
    let mut message = BytesMut::new();
    if fatal("53300", "sorry, too many clients already")
        .encode(&mut message)
        .is_err()
    {
        return;
    }
    let _ = tokio::time::timeout(deadline, async {
        socket.write_all(&message).await?;
        socket.shutdown().await
    })
    .await;
}
