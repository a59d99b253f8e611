//! `medconsent-fhir-server`: the read-only FHIR R5 REST API's command line.

use clap::Parser;
use medconsent_chain::{Chain, Deployment};
use medconsent_fhir_server::trails::Trails;
use medconsent_fhir_server::{router, Limits, Service};
use medconsent_shared::words::{category_name, describe_deny_reason};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    version,
    about = "A read-only HL7 FHIR R5 REST API over medconsent: consents and audit trails, read at the finalized block"
)]
struct Cli {
    /// The deployment file (contract addresses; its node unless --node says another).
    #[arg(long)]
    deployment: PathBuf,
    /// The node to read (ws:// on this machine, wss:// beyond it): one you run.
    #[arg(long)]
    node: Option<String>,
    /// Address to listen on (port 0: any free port; the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:7201")]
    listen: SocketAddr,
    /// The base URL clients reach the API at, for the links in its Bundles (default:
    /// http:// and the address listened on).
    #[arg(long)]
    base: Option<String>,
    /// A file holding a bearer token every request must carry (for deployments behind
    /// their own access control; the data is public on the chain either way).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Accept a plain ws:// node beyond this machine (a network you control): anyone on
    /// the path could change every answer.
    #[arg(long)]
    insecure_node: bool,
    /// Requests served at once; more are turned away (503) at once.
    #[arg(long, default_value_t = 16)]
    max_in_flight: usize,
    /// How long one request may take (ms) before it is answered 504.
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Trail entries kept between searches, across patients (about 200 bytes each; the
    /// least recently searched patient goes first); 0 reads every trail whole each time.
    #[arg(long, default_value_t = 200_000)]
    trail_cache_entries: usize,
}

/// The base URL of the links in Bundles when `--base` is not given: the address listened
/// on, unless that is every address (0.0.0.0 or ::), which no client can reach by.
fn default_base(address: SocketAddr) -> Result<String, String> {
    if address.ip().is_unspecified() {
        return Err(format!(
            "listening on {address} (every address): give --base, the URL clients reach this \
             server at, for the links in its Bundles"
        ));
    }
    Ok(format!("http://{address}"))
}

/// Whether `url` is a plain-text node beyond this machine.
fn plain_and_remote(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("ws://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    !(host == "localhost" || host == "[::1]" || host.starts_with("127."))
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("medconsent-fhir-server: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let deployment = Deployment::load(&cli.deployment).map_err(|e| e.to_string())?;
    let node = cli.node.unwrap_or_else(|| deployment.url.clone());
    if plain_and_remote(&node) && !cli.insecure_node {
        return Err(format!(
            "{node} is plain ws:// beyond this machine, where anyone on the path can change \
             what it says: use wss://, or pass --insecure-node on a network you control"
        ));
    }
    let chain = Chain::connect(&node)
        .await
        .map_err(|e| format!("{node}: {e}"))?;
    let token = match &cli.token_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let token = text.trim().to_owned();
            if token.len() < 16 {
                return Err(format!(
                    "{}: a token of at least 16 characters",
                    path.display()
                ));
            }
            Some(token)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| format!("{}: {e}", cli.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let service = Arc::new(Service {
        chain,
        contracts: deployment.contracts(),
        base: match cli.base {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => default_base(address)?,
        },
        token,
        category_name,
        deny_reason: describe_deny_reason,
        trails: Trails::new(cli.trail_cache_entries),
    });
    // The line a supervisor (or a test) waits for.
    println!("listening={address}");
    let limits = Arc::new(Limits {
        in_flight: Arc::new(tokio::sync::Semaphore::new(cli.max_in_flight)),
        request_timeout: std::time::Duration::from_millis(cli.request_timeout_ms),
    });
    axum::serve(listener, router(service, limits))
        .with_graceful_shutdown(terminated())
        .await
        .map_err(|e| e.to_string())
}

/// SIGTERM or SIGINT: stop accepting, finish the requests in flight, then return.
async fn terminated() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{default_base, plain_and_remote};

    #[test]
    fn every_address_needs_a_base_for_the_links() {
        assert_eq!(
            default_base("127.0.0.1:7201".parse().unwrap()).unwrap(),
            "http://127.0.0.1:7201"
        );
        for every in ["0.0.0.0:7201", "[::]:7201"] {
            let refused = default_base(every.parse().unwrap()).unwrap_err();
            assert!(refused.contains("--base"), "{refused}");
        }
    }

    #[test]
    fn only_a_plain_node_beyond_this_machine_is_refused() {
        assert!(plain_and_remote("ws://10.0.0.5:9944"));
        assert!(plain_and_remote("ws://node.example.org"));
        assert!(!plain_and_remote("ws://127.0.0.1:9944"));
        assert!(!plain_and_remote("ws://localhost:9944"));
        assert!(!plain_and_remote("ws://[::1]:9944"));
        assert!(!plain_and_remote("wss://node.example.org"));
    }
}
