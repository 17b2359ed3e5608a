//! Accepting connections with every wait and count bounded.
//!
//! `axum::serve` has no deadline for a request's head, none for an idle
//! keep-alive connection and no cap on open connections, so a thousand
//! idle or slow sockets (slowloris) took the server off line. This loop
//! drives hyper's HTTP/1 connections itself: hyper's header-read timeout
//! starts when a connection waits for a request head, new or kept alive,
//! so one deadline closes slow heads and idle connections alike; the body
//! has its own deadline where it is read ([`crate::api::authy::Call`]); a write
//! that makes no progress (a client that sends requests and never reads
//! the answers) fails after its own deadline, since hyper has none; and a
//! semaphore caps the connections open at once. Past the cap, a new
//! connection is closed at once, and those already open are served.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::telemetry::Every;

/// How connections are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, counted
    /// from when it opens or from its last answer (so also how long it
    /// may stay idle between requests).
    pub header_timeout: Duration,
    /// How long a write may wait for the client to read.
    pub write_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults for `open_files` file descriptors: half of them for
    /// connections (the rest for the database, the log, outgoing
    /// requests), at most 10,000 (about 27 KB each when idle), at least
    /// 16; heads within 10 seconds.
    #[must_use]
    pub fn for_open_files(open_files: u64) -> Self {
        let half = usize::try_from(open_files / 2).unwrap_or(usize::MAX);
        Self {
            max_connections: half.clamp(16, 10_000),
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }

    /// The slots of [`serve`]: one set for every listener of a process,
    /// so that the cap holds for all of them together.
    #[must_use]
    pub fn slots(&self) -> Arc<Semaphore> {
        Arc::new(Semaphore::new(self.max_connections))
    }
}

/// A stream whose writes fail once they have waited `timeout` for the
/// client to read. Reads pass through (their deadlines are hyper's and the
/// body extractor's).
struct WriteDeadline {
    stream: TcpStream,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    /// Whether the write that is pending has waited past the deadline;
    /// starts the clock on the first wait.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        sleep.as_mut().poll(cx).is_ready()
    }

    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.progress(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.progress(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.progress(cx, poll)
    }
}

/// Raises the soft limit on open files to the hard one and returns the
/// limit in force (1,024, the usual default, when it cannot be read).
#[must_use]
pub fn raise_open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        // None is "unlimited".
        limit.current.unwrap_or(u64::MAX)
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and returns once the open connections have finished their
/// requests in flight (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut full = Every::new(Duration::from_secs(10));
    let mut failing = Every::new(Duration::from_secs(10));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most often: the open
                // connections go on; wait a moment instead of spinning.
                if let Some(count) = failing.due(Instant::now()) {
                    tracing::warn!(error = %e, count, "cannot accept connections");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            crate::telemetry::connection_refused();
            if let Some(count) = full.due(Instant::now()) {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused = count,
                    "the connection cap is reached: closing new connections"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let stream = WriteDeadline {
            stream,
            timeout: limits.write_timeout,
            stalled: None,
        };
        let http = http.clone();
        let router = router.clone();
        // Watched from the accept on: a stop waits for handshakes too
        // (each bounded by the header deadline).
        let watcher = graceful.watcher();
        match &tls {
            None => {
                tokio::spawn(async move {
                    drive(&http, stream, router, watcher).await;
                    drop(slot);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let deadline = limits.header_timeout;
                tokio::spawn(async move {
                    // A handshake is part of the head: the same deadline.
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(deadline, acceptor.accept(stream)).await
                    {
                        drive(&http, stream, router, watcher).await;
                    }
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one connection until it closes.
async fn drive<S>(
    http: &hyper::server::conn::http1::Builder,
    stream: S,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    // A closed, reset or timed-out connection is the client's affair;
    // nothing to log.
    let _ = watcher.watch(connection).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_open_file_limit() {
        assert_eq!(ConnectionLimits::for_open_files(1024).max_connections, 512);
        assert_eq!(ConnectionLimits::for_open_files(10).max_connections, 16);
        assert_eq!(
            ConnectionLimits::for_open_files(u64::MAX).max_connections,
            10_000
        );
    }
}
