//! `medconsent-keyserver`: a key server's command line.

use clap::{Parser, Subcommand};
use medconsent_chain::{parse_account, Deployment};
use medconsent_keyrelease::decide::Policy;
use medconsent_keyrelease::{keyfile, wire};
use medconsent_keyserver::blob_store::BlobLocation;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "A medconsent key server: releases a record-key share only for a finalized on-chain access"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the server's X25519 key pair: the secret goes to a new file (mode 0600), the
    /// public key is printed (the admin registers it in the directory).
    Keygen {
        #[arg(long)]
        secret_out: PathBuf,
    },
    /// Serve.
    Serve(Box<ServeArgs>),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:7101")]
    listen: SocketAddr,
    /// The server's database file (redb), created if missing.
    #[arg(long)]
    db: PathBuf,
    /// The server's X25519 secret key file.
    #[arg(long)]
    secret: PathBuf,
    /// The server's account in the provider directory (SS58).
    #[arg(long)]
    account: String,
    /// The deployment file (node URL and contract addresses).
    #[arg(long)]
    deployment: PathBuf,
    /// A node to read the chain from (ws:// on this machine, wss:// beyond it): one
    /// you run. Repeat it to read several; a release or deletion then needs a quorum
    /// of them to agree on every fact.
    #[arg(long = "node", required = true)]
    nodes: Vec<String>,
    /// How many nodes must give identical answers (default: all of them).
    #[arg(long)]
    node_quorum: Option<usize>,
    /// Accept a plain ws:// node beyond this machine (a network you control).
    #[arg(long)]
    insecure_node: bool,
    /// How old (ms of chain time) an Access entry may be when its share is asked for.
    /// Also how long an entry made before a revoke stays redeemable: keep it short.
    #[arg(long, default_value_t = 120_000)]
    max_entry_age_ms: u64,
    /// How far ahead (ms) a signed request may expire.
    #[arg(long, default_value_t = 300_000)]
    max_request_lifetime_ms: u64,
    /// Largest request body (bytes).
    #[arg(long, default_value_t = wire::MAX_REQUEST_BYTES)]
    body_limit: usize,
    /// Directory for ciphertext blobs (default: the database path + ".blobs").
    #[arg(long, conflicts_with = "blob_store")]
    blobs: Option<PathBuf>,
    /// Keep ciphertext blobs in an S3-compatible object store instead of a folder:
    /// `s3://bucket[/prefix]`; endpoint, region and credentials from the AWS_*
    /// environment (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY;
    /// AWS_ALLOW_HTTP=true for a store on plain HTTP).
    #[arg(long)]
    blob_store: Option<String>,
    /// How often (ms) to look for records retired on chain among those the server holds
    /// shares of, and delete their shares (also done at start).
    #[arg(long, default_value_t = 60_000)]
    retired_sweep_ms: u64,
    /// How long (ms) one request may take, body included: a slower client is cut off.
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// How many requests may be in flight at once; more are turned away (503 busy).
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// How often (ms) to compare the contracts' code and wiring with the deployment's
    /// pins (a difference stops releases until the operator restarts with new pins).
    #[arg(long, default_value_t = 2_000)]
    contracts_check_ms: u64,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM; with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How far (ms) the finalized block the nodes agree on may be behind this machine's
    /// clock before the server refuses to act (nodes stuck, or one showing an old block).
    #[arg(long, default_value_t = 120_000)]
    max_chain_lag_ms: u64,
    /// Largest blob accepted (bytes).
    #[arg(long, default_value_t = wire::MAX_BLOB_BYTES)]
    blob_limit: usize,
    /// How long (ms) a client may take to send a request's headers (also how long an
    /// idle kept-alive connection stays open).
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// How many connections may be open at once; one beyond is closed at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// How many of them one address may hold (behind a proxy or NAT: raise it).
    #[arg(long, default_value_t = 64)]
    max_connections_per_address: usize,
    /// How long (ms) a connection may move no byte either way before it is closed
    /// (longer than --request-timeout-ms: a request reading the chain moves none).
    #[arg(long, default_value_t = 60_000)]
    idle_timeout_ms: u64,
    /// Serve `GET /metrics` (Prometheus) on this address: your monitoring's network,
    /// for example 127.0.0.1:9101. Not served at all without it.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// A browser page's origin that may call this server (CORS), like
    /// https://records.example.org; repeat for several, `*` for any page. Requests are
    /// authorized by their signatures, not by origin: this only lets that page's
    /// scripts read the answers. None by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEDCONSENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .init();
    if let Err(message) = run(Cli::parse()).await {
        eprintln!("medconsent-keyserver: {message}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Keygen { secret_out } => {
            let public = keyfile::new_key_file(&secret_out).map_err(|e| e.to_string())?;
            println!("public_key=0x{}", hex::encode(public.as_bytes()));
            Ok(())
        }
        Command::Serve(args) => {
            let ServeArgs {
                listen,
                db,
                secret,
                account,
                deployment,
                nodes,
                node_quorum,
                insecure_node,
                max_entry_age_ms,
                max_request_lifetime_ms,
                body_limit,
                blobs,
                blob_store,
                blob_limit,
                retired_sweep_ms,
                request_timeout_ms,
                max_in_flight,
                contracts_check_ms,
                tls_cert,
                tls_key,
                max_chain_lag_ms,
                header_timeout_ms,
                max_connections,
                max_connections_per_address,
                idle_timeout_ms,
                metrics_listen,
                allow_origins,
            } = *args;
            let blobs = match (blob_store, blobs) {
                (Some(url), _) => BlobLocation::S3(url),
                (None, Some(dir)) => BlobLocation::Folder(dir),
                (None, None) => {
                    let mut name = db.clone().into_os_string();
                    name.push(".blobs");
                    BlobLocation::Folder(PathBuf::from(name))
                }
            };
            let quorum =
                medconsent_keyserver::facts::check_nodes(&nodes, node_quorum, insecure_node)
                    .map_err(|e| e.to_string())?;
            if quorum == 1 && nodes.len() > 1 {
                tracing::warn!("--node-quorum 1: any one of the nodes decides alone");
            }
            let secret = keyfile::read_secret(&secret).map_err(|e| e.to_string())?;
            let deployment = Deployment::load(&deployment).map_err(|e| e.to_string())?;
            let config = medconsent_keyserver::Config {
                listen,
                db,
                secret,
                account: parse_account(&account)?,
                deployment,
                nodes,
                quorum,
                policy: Policy {
                    max_entry_age: max_entry_age_ms,
                    max_request_lifetime: max_request_lifetime_ms,
                },
                body_limit,
                blobs,
                blob_limit,
                retired_sweep: std::time::Duration::from_millis(retired_sweep_ms.max(100)),
                request_timeout: std::time::Duration::from_millis(request_timeout_ms.max(100)),
                max_in_flight,
                contracts_check: std::time::Duration::from_millis(contracts_check_ms.max(100)),
                tls: tls_cert.zip(tls_key),
                max_chain_lag: std::time::Duration::from_millis(max_chain_lag_ms),
                connections: medconsent_keyserver::connections::ConnectionLimits {
                    header_timeout: std::time::Duration::from_millis(header_timeout_ms.max(100)),
                    idle_timeout: std::time::Duration::from_millis(
                        idle_timeout_ms.max(request_timeout_ms).max(100),
                    ),
                    max_connections,
                    max_per_peer: max_connections_per_address,
                },
                metrics_listen,
                allow_origins,
            };
            medconsent_keyserver::serve(config)
                .await
                .map_err(|e| e.to_string())
        }
    }
}
