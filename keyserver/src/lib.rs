//! A medconsent key server: it holds
//! one share of each record key deposited with it and releases a share only for a
//! finalized, recent, unused Access (or released Emergency) entry of the requester, sealed
//! to the requester's key. The rules are `medconsent_keyrelease::decide`; this crate reads
//! the chain ([`facts`]), keeps shares and releases durably ([`share_db`]), speaks HTTP
//! ([`http`]), logs each request's outcome ([`request_log`]) and deletes the shares of
//! retired records by itself ([`sweep`]).

pub mod blob_routes;
pub mod blob_store;
pub mod connections;
pub mod facts;
pub mod http;
pub mod justifications;
pub mod metrics;
pub mod pins;
pub mod request_log;
pub mod share_db;
pub mod state;
pub mod sweep;
pub mod tls;

use medconsent_chain::{Chain, Deployment};
use medconsent_keyrelease::decide::Policy;
use medconsent_shared::AccountId;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use x25519_dalek::{PublicKey, StaticSecret};

/// Everything a server needs to start.
pub struct Config {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub secret: StaticSecret,
    pub account: AccountId,
    /// The contracts and code hashes (the deployment's node URL is the clients').
    pub deployment: Deployment,
    /// The nodes this server reads (its operator's own), and how many must agree.
    pub nodes: Vec<String>,
    pub quorum: usize,
    pub policy: Policy,
    pub body_limit: usize,
    /// Where ciphertext blobs are kept, and the largest one accepted (bytes).
    pub blobs: blob_store::BlobLocation,
    pub blob_limit: usize,
    /// How often the server looks for retired records among those it holds shares of.
    pub retired_sweep: std::time::Duration,
    /// How often the contracts' code and wiring are compared with the deployment's pins.
    pub contracts_check: std::time::Duration,
    /// How far the agreed finalized block may be behind the server's clock.
    pub max_chain_lag: std::time::Duration,
    /// How long one request may take, body included, and how many may be in flight.
    pub request_timeout: std::time::Duration,
    pub max_in_flight: usize,
    /// HTTPS: the certificate chain and private key (PEM files); plain HTTP if None.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a client may take to send a request's headers, and how many
    /// connections may be open at once.
    pub connections: connections::ConnectionLimits,
    /// Where `/metrics` is served (the operator's own address), if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Browser pages that may call the server (`--allow-origin`; `http::cors`).
    pub allow_origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    ShareDb(#[from] share_db::ShareDbError),
    #[error("the node {url}: {source}")]
    Node {
        url: String,
        source: medconsent_chain::Error,
    },
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("{0}")]
    Blobs(#[from] blob_store::StoreError),
    #[error("{0}")]
    AllowOrigin(String),
}

/// Opens the database, connects to the node, binds, prints `listening=ADDR` and serves
/// until the process ends.
pub async fn serve(config: Config) -> Result<(), StartError> {
    // A bad origin, certificate or key is said before anything else is opened.
    let cors = http::cors(&config.allow_origins).map_err(StartError::AllowOrigin)?;
    let acceptor = match &config.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let shares = share_db::ShareDb::open(&config.db)?;
    let named = shares.name_blobs_of_held_shares()?;
    if named > 0 {
        tracing::info!("blobs: {named} record versions' ciphertext named from the shares held");
    }
    let blobs = blob_store::BlobStore::open(&config.blobs)?;
    match blobs.remove_leftovers().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("blobs: {n} unfinished uploads from an earlier run removed"),
        Err(e) => tracing::warn!("blobs: unfinished uploads not removed: {e}"),
    }
    let mut nodes = Vec::with_capacity(config.nodes.len());
    for url in config.nodes {
        let chain = Chain::connect(&url)
            .await
            .map_err(|source| StartError::Node {
                url: url.clone(),
                source,
            })?;
        nodes.push(facts::Node { url, chain });
    }
    let public = *PublicKey::from(&config.secret).as_bytes();
    let metrics = Arc::new(metrics::Metrics::default());
    let server = Arc::new(http::ServerState {
        shares,
        reader: facts::ChainReader::new(
            nodes,
            config.quorum,
            config.deployment.contracts(),
            config.account,
            metrics.clone(),
        ),
        metrics,
        secret: config.secret,
        public,
        account: config.account,
        policy: config.policy,
        blobs,
        blob_limit: config.blob_limit,
        blob_names: tokio::sync::RwLock::new(()),
        deployment: config.deployment,
        pins: pins::PinWatch::default(),
        max_chain_lag_ms: u64::try_from(config.max_chain_lag.as_millis()).unwrap_or(u64::MAX),
    });
    // Watched at least three times per change delay (a request looks itself when the
    // last look is older than that delay).
    let delay = std::time::Duration::from_millis(server.deployment.change_delay_ms);
    let contracts_check = config
        .contracts_check
        .min(delay / 3)
        .max(std::time::Duration::from_millis(100));
    tokio::spawn(pins::run(server.clone(), contracts_check));
    let limits = Arc::new(http::Limits {
        request_timeout: config.request_timeout,
        in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
    });
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(address) => Some(tokio::net::TcpListener::bind(address).await?),
        None => None,
    };
    tokio::spawn(sweep::run(server.clone(), config.retired_sweep));
    println!("listening={}", listener.local_addr()?);
    println!("public_key=0x{}", hex::encode(public));
    if let Some(metrics_listener) = metrics_listener {
        println!("metrics_listening={}", metrics_listener.local_addr()?);
        tokio::spawn(connections::serve(
            metrics_listener,
            None,
            http::metrics_router(server.clone()),
            config.connections,
            std::future::pending(),
        ));
    }
    let router = http::router(server, config.body_limit, limits, cors);
    connections::serve(listener, acceptor, router, config.connections, terminated()).await;
    tracing::info!("shut down: every answered request's writes were committed");
    Ok(())
}

/// SIGTERM or SIGINT: stop accepting, finish the requests in flight, then return.
async fn terminated() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
