//! How connections are taken, plain or TLS: HTTP/1.1 served by hyper with the router.
//! A client has `header_timeout` to send a request's headers, the first as well as each
//! next one on a kept-alive connection, so a silent or trickling client (slowloris)
//! holds a connection that long at most; a connection on which nothing moves either way
//! for `idle_timeout` (a client that asked for a blob and stopped reading it) is closed;
//! at most `max_connections` are open at once and `max_per_peer` from one address, and
//! one beyond is closed at once. The request's own time, body included, is bounded by
//! the router (`crate::http::Limits`). On shutdown the server stops accepting and lets
//! the requests in flight finish, for at most `idle_timeout`.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// A client that opens a TLS connection has this long to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    /// Longer than a request may take (a handler reading the chain moves no bytes).
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_per_peer: usize,
}

/// When bytes last moved on a connection, in ms since `start`.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn moved(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let quiet = self.start.elapsed().saturating_sub(last);
            if quiet >= idle {
                return;
            }
            tokio::time::sleep(idle.saturating_sub(quiet)).await;
        }
    }
}

/// A connection's IO that notes each byte moved.
struct Watched<T> {
    io: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.moved();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Connections open per peer address; a slot is given back when dropped.
#[derive(Clone, Default)]
struct Peers(Arc<Mutex<HashMap<IpAddr, usize>>>);

struct PeerSlot {
    peers: Peers,
    address: IpAddr,
}

impl Peers {
    fn take(&self, address: IpAddr, bound: usize) -> Option<PeerSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= bound.max(1) {
            return None;
        }
        *count = count.saturating_add(1);
        Some(PeerSlot {
            peers: self.clone(),
            address,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Serves one connection until it ends or goes idle.
async fn serve_one<T>(
    io: T,
    http: http1::Builder,
    service: TowerToHyperService<Router>,
    watcher: hyper_util::server::graceful::Watcher,
    idle: Duration,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = Watched {
        io,
        activity: activity.clone(),
    };
    let connection = watcher.watch(http.serve_connection(TokioIo::new(io), service));
    tokio::select! {
        _ = connection => {}
        () = activity.idle_for(idle) => {}
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` resolves, then
/// waits for the connections in flight.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let peers = Peers::default();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else {
                    // Out of file descriptors, say: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                // Answers go out at once, not held back to fill a segment (Nagle).
                let _ = tcp.set_nodelay(true);
                let Some(peer_slot) = peers.take(peer.ip(), limits.max_per_peer) else {
                    drop(tcp);
                    continue;
                };
                let Ok(slot) = open.clone().try_acquire_owned() else {
                    drop(tcp);
                    continue;
                };
                let service = TowerToHyperService::new(router.clone());
                let http = http.clone();
                let watcher = graceful.watcher();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _slots = (slot, peer_slot);
                    match tls {
                        Some(acceptor) => {
                            let Ok(Ok(stream)) =
                                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                            else {
                                return;
                            };
                            serve_one(stream, http, service, watcher, limits.idle_timeout).await;
                        }
                        None => serve_one(tcp, http, service, watcher, limits.idle_timeout).await,
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    // A connection that will not finish is not waited for past the idle bound.
    let _ = tokio::time::timeout(limits.idle_timeout, graceful.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(limits: ConnectionLimits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/big", get(|| async { vec![7u8; BIG] }));
        tokio::spawn(serve(
            listener,
            None,
            router,
            limits,
            std::future::pending(),
        ));
        address
    }

    /// 64 MiB: more than the socket buffers hold, so a client that stops reading stalls
    /// the server's writes.
    const BIG: usize = 64 << 20;

    /// What a well-behaved client gets: the answer's first line.
    async fn ask(address: std::net::SocketAddr) -> String {
        let mut tcp = TcpStream::connect(address).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        answer.lines().next().unwrap_or_default().to_owned()
    }

    /// Whether the server closes `tcp` within `within` (reads end or fail).
    async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(within, tcp.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                // A 408 the server may write before closing.
                Ok(Ok(_)) => continue,
            }
        }
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let address = start(ConnectionLimits {
            header_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_secs(60),
            max_connections: 16,
            max_per_peer: 16,
        })
        .await;
        let mut silent = TcpStream::connect(address).await.unwrap();
        let mut trickling = TcpStream::connect(address).await.unwrap();
        trickling
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        // Meanwhile the server serves others.
        assert_eq!(ask(address).await, "HTTP/1.1 200 OK");
        // The default without the bound would be to wait for ever (or 30 s).
        assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
        assert!(closed_within(&mut trickling, Duration::from_secs(5)).await);
        assert_eq!(ask(address).await, "HTTP/1.1 200 OK");
    }

    /// With two connections held (the bound under test), a third is closed at once;
    /// once one of the two closes, the next client is served.
    async fn a_third_connection_is_closed_at_once(max_connections: usize, max_per_peer: usize) {
        let address = start(ConnectionLimits {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections,
            max_per_peer,
        })
        .await;
        let first = TcpStream::connect(address).await.unwrap();
        let _second = TcpStream::connect(address).await.unwrap();
        // Both taken before the third arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut third = TcpStream::connect(address).await.unwrap();
        assert!(closed_within(&mut third, Duration::from_secs(2)).await);
        drop(first);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(ask(address).await, "HTTP/1.1 200 OK");
    }

    #[tokio::test]
    async fn connections_beyond_the_bound_are_closed_at_once() {
        a_third_connection_is_closed_at_once(2, 16).await;
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_cut_off_when_nothing_moves() {
        let address = start(ConnectionLimits {
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_millis(500),
            max_connections: 16,
            max_per_peer: 16,
        })
        .await;
        let mut stalled = TcpStream::connect(address).await.unwrap();
        stalled
            .write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        // It reads nothing for a while; then all it can: the server gave up on it.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut got));
        assert!(
            matches!(read.await, Ok(Ok(_)) | Ok(Err(_))),
            "still open after 20 s"
        );
        assert!(
            got.len() < BIG,
            "the whole answer came: {} bytes",
            got.len()
        );
        assert_eq!(ask(address).await, "HTTP/1.1 200 OK");
    }

    #[tokio::test]
    async fn one_address_holds_at_most_its_share_of_connections() {
        a_third_connection_is_closed_at_once(16, 2).await;
    }
}
