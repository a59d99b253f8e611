//! How connections are taken, plain or TLS: HTTP/1.1 served by hyper with the router.
//! A client has `header_timeout` to send a request's headers, the first as well as each
//! next one on a kept-alive connection, so a silent or trickling client (slowloris)
//! holds a connection that long at most; at most `max_connections` are open at once, and
//! one beyond is closed at once. The request's own time, body included, is bounded by
//! the router (`crate::http::Limits`). On shutdown the server stops accepting and lets
//! the requests in flight finish.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// A client that opens a TLS connection has this long to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
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
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    // Out of file descriptors, say: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
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
                    let _slot = slot;
                    match tls {
                        Some(acceptor) => {
                            let Ok(Ok(stream)) =
                                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                            else {
                                return;
                            };
                            let connection = http.serve_connection(TokioIo::new(stream), service);
                            let _ = watcher.watch(connection).await;
                        }
                        None => {
                            let connection = http.serve_connection(TokioIo::new(tcp), service);
                            let _ = watcher.watch(connection).await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    graceful.shutdown().await;
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
        let router = Router::new().route("/", get(|| async { "ok" }));
        tokio::spawn(serve(
            listener,
            None,
            router,
            limits,
            std::future::pending(),
        ));
        address
    }

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
            max_connections: 16,
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

    #[tokio::test]
    async fn connections_beyond_the_bound_are_closed_at_once() {
        let address = start(ConnectionLimits {
            header_timeout: Duration::from_secs(60),
            max_connections: 2,
        })
        .await;
        let first = TcpStream::connect(address).await.unwrap();
        let _second = TcpStream::connect(address).await.unwrap();
        // Both taken before the third arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut third = TcpStream::connect(address).await.unwrap();
        assert!(closed_within(&mut third, Duration::from_secs(2)).await);
        // One closes: its slot serves the next client.
        drop(first);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(ask(address).await, "HTTP/1.1 200 OK");
    }
}
