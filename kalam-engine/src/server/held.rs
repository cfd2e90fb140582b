//! A connection's socket, its answers held until the connection waits for its client.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Answers held beyond this many bytes are written at once, as PostgreSQL's backend
/// writes its 8 KiB output buffer when it is full.
const HOLD: usize = 8 * 1024;

/// A socket that holds what the server writes until the server waits for the client.
///
/// pgwire flushes after each answer (ParseComplete, BindComplete, the rows, ReadyForQuery),
/// so a client's batch of Bind, Execute and Sync cost four writes and four wakes of the
/// client. PostgreSQL's backend flushes at ReadyForQuery, at Flush and when its buffer is
/// full; held here, the answers of a batch leave in one write when the server next has
/// nothing to read, which is the moment the client waits for them. A flush is a request
/// to write when the socket would wait, not now; shutting down writes what is held.
pub(super) struct Held<S> {
    io: S,
    held: Vec<u8>,
    /// How much of `held` is written.
    written: usize,
}

impl<S> Held<S> {
    pub(super) fn new(io: S) -> Self {
        Held {
            io,
            held: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> Held<S> {
    /// Writes what is held.
    fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.held.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.held[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.held.clear();
        self.written = 0;
        Pin::new(&mut self.io).poll_flush(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Held<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => {
                // The server waits for the client: what the client waits for goes now.
                // Both directions are registered with `cx`; either wakes the connection.
                if let Poll::Ready(Err(err)) = this.poll_release(cx) {
                    return Poll::Ready(Err(err));
                }
                Poll::Pending
            }
            read => read,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.held.len() >= HOLD {
            ready!(this.poll_release(cx))?;
        }
        if this.held.is_empty() && buf.len() >= HOLD {
            // A long answer goes as it is, not copied first.
            return Pin::new(&mut this.io).poll_write(cx, buf);
        }
        this.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.held.len() >= HOLD {
            return this.poll_release(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_release(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    }

    /// Whether the client could read anything now, without waiting.
    fn readable(client: &mut DuplexStream) -> bool {
        let mut byte = [0; 1];
        client.read(&mut byte).now_or_never().is_some()
    }

    #[test]
    fn what_is_flushed_waits_until_the_server_would_wait() {
        runtime().block_on(async {
            let (server, mut client) = duplex(64 * 1024);
            let mut server = Held::new(server);
            server.write_all(b"one").await.unwrap();
            server.flush().await.unwrap();
            server.write_all(b"two").await.unwrap();
            server.flush().await.unwrap();
            assert!(
                !readable(&mut client),
                "an answer left before the server read"
            );

            // A request already there is read without releasing anything.
            client.write_all(b"ab").await.unwrap();
            let mut request = [0; 2];
            server.read_exact(&mut request).await.unwrap();
            assert!(
                !readable(&mut client),
                "released on a read that did not wait"
            );

            // Nothing more to read: both answers leave together.
            let mut byte = [0; 1];
            assert!(server.read(&mut byte).now_or_never().is_none());
            let mut got = [0; 6];
            client.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"onetwo");
        });
    }

    #[test]
    fn a_full_hold_and_a_shutdown_write_it_out() {
        runtime().block_on(async {
            let (server, mut client) = duplex(1024 * 1024);
            let mut server = Held::new(server);
            let long = vec![7u8; HOLD + 10];
            server.write_all(&long[..HOLD - 1]).await.unwrap();
            server.flush().await.unwrap();
            assert!(!readable(&mut client));
            server.write_all(&long[HOLD - 1..]).await.unwrap();
            server.flush().await.unwrap();
            let mut got = vec![0; long.len()];
            client.read_exact(&mut got).await.unwrap();
            assert_eq!(got, long);

            server.write_all(b"tail").await.unwrap();
            server.shutdown().await.unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"tail");
        });
    }
}
