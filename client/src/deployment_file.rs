//! `medconsent deployment ...`: the deployment file written whole by a command, never
//! patched by hand: `new` (what `scripts/deploy.sh` deployed), `add-key-server` (a
//! server's account, URL and pinned X25519 key, in share order), `threshold`, and
//! `web-config` (the patient page's `config.json`, generated from the file).

use clap::Subcommand;
use medconsent_chain::{
    parse_account, ss58, DeployedContract, DeployedContracts, Deployment, KeyServerEndpoint,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum DeploymentCommand {
    /// Write a new deployment file for contracts just deployed (no key servers yet).
    New {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// The node's WebSocket URL.
        #[arg(long)]
        url: String,
        /// The chain's name (`system_chain`).
        #[arg(long)]
        chain: String,
        /// The chain's genesis hash (0x-hex): signed consents are bound to it.
        #[arg(long)]
        genesis_hash: String,
        /// The contracts' delay between announcing a change and applying it (ms).
        #[arg(long)]
        change_delay_ms: u64,
        /// ADDRESS,CODE_HASH,FULL_CODE_HASH of the access log (likewise below).
        #[arg(long)]
        access_log: String,
        /// ADDRESS,CODE_HASH,FULL_CODE_HASH of the consent manager.
        #[arg(long)]
        consent_manager: String,
        /// ADDRESS,CODE_HASH,FULL_CODE_HASH of the record registry.
        #[arg(long)]
        record_registry: String,
    },
    /// Append a key server (the next share index) with its public key pinned.
    AddKeyServer {
        /// Its account in the provider directory (SS58).
        #[arg(long)]
        account: String,
        /// Where it listens (http:// or https://).
        #[arg(long)]
        url: String,
        /// Its X25519 public key as its operator gave it: 0x-hex, or a file of what
        /// `keygen` printed.
        #[arg(long)]
        public_key: String,
    },
    /// Set how many shares rebuild a key (at most the servers listed).
    Threshold {
        /// Shares needed to rebuild a record key (2 or more).
        threshold: u8,
    },
    /// Trust this certificate authority (a PEM file) for the key servers' https://, besides
    /// the public roots; the PEM goes into the deployment file.
    KeyServerCa {
        /// The certificate authority's PEM file.
        ca: PathBuf,
    },
    /// Write the patient page's configuration from the deployment file.
    WebConfig {
        /// Where to write `config.json`.
        #[arg(long)]
        out: PathBuf,
    },
}

/// What the page reads (`web/public/config.json`): the node, the chain it must be, the
/// contracts' addresses, the query page size, the category names and the key servers
/// with their pinned keys, all from their one source.
#[derive(Debug, Serialize)]
pub struct WebConfig {
    pub chain: String,
    pub genesis_hash: String,
    pub url: String,
    pub contracts: WebContracts,
    /// The most entries any list query returns (`MAX_PAGE` of `contracts/shared`).
    pub page_size: u32,
    /// The one table of category names (`contracts/shared/src/words.rs`).
    pub categories: Vec<WebCategory>,
    /// The key servers with their pinned X25519 keys, and the shares a key needs.
    pub key_servers: Vec<WebKeyServer>,
    pub threshold: u8,
    /// The most records one chart access opens (`MAX_CHART_RECORDS`).
    pub max_chart_records: usize,
    /// How many break-glass reads a responder has per patient and window.
    pub emergency_budget: WebEmergencyBudget,
    /// The most bytes a key server answers (JSON) and a ciphertext may have: the page
    /// reads no more from a server, and seals no file whose ciphertext would be larger.
    pub max_answer_bytes: usize,
    pub max_blob_bytes: usize,
}

#[derive(Debug, Serialize)]
pub struct WebEmergencyBudget {
    pub per_window: u32,
    pub window_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct WebKeyServer {
    pub account: String,
    pub url: String,
    pub public_key: String,
}

#[derive(Debug, Serialize)]
pub struct WebCategory {
    pub code: u16,
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WebContracts {
    pub access_log: WebContract,
    pub consent_manager: WebContract,
    pub record_registry: WebContract,
}

#[derive(Debug, Serialize)]
pub struct WebContract {
    pub address: String,
}

impl WebConfig {
    pub fn of(deployment: &Deployment) -> Self {
        let address = |c: &DeployedContract| WebContract {
            address: ss58(&c.address),
        };
        Self {
            chain: deployment.chain.clone(),
            genesis_hash: format!("0x{}", hex::encode(deployment.genesis_hash)),
            url: deployment.url.clone(),
            contracts: WebContracts {
                access_log: address(&deployment.contracts.access_log),
                consent_manager: address(&deployment.contracts.consent_manager),
                record_registry: address(&deployment.contracts.record_registry),
            },
            page_size: medconsent_shared::MAX_PAGE,
            categories: medconsent_shared::words::CATEGORIES
                .iter()
                .map(|&(code, name)| WebCategory { code, name })
                .collect(),
            key_servers: deployment
                .key_servers
                .iter()
                .map(|server| WebKeyServer {
                    account: ss58(&server.account),
                    url: server.url.clone(),
                    public_key: format!("0x{}", hex::encode(server.public_key)),
                })
                .collect(),
            threshold: deployment.threshold,
            max_chart_records: medconsent_shared::MAX_CHART_RECORDS,
            emergency_budget: WebEmergencyBudget {
                per_window: medconsent_shared::MAX_EMERGENCIES_PER_WINDOW,
                window_ms: medconsent_shared::EMERGENCY_WINDOW_MS,
            },
            max_answer_bytes: medconsent_keyrelease::wire::MAX_ANSWER_BYTES,
            max_blob_bytes: medconsent_keyrelease::wire::MAX_BLOB_BYTES,
        }
    }
}

fn hash32(what: &str, text: &str) -> Result<[u8; 32], String> {
    hex::decode(text.trim().strip_prefix("0x").unwrap_or(text.trim()))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| format!("{what}: not 32 bytes of hex: {text}"))
}

/// An X25519 public key given as 0x-hex, or as a file holding what `keygen` printed
/// (`public_key=0x…`) or the bare hex: what a clinician or an operator sends the admin.
pub fn public_key_arg(what: &str, text: &str) -> Result<[u8; 32], String> {
    let path = std::path::Path::new(text);
    if !text.starts_with("0x") && path.is_file() {
        let read = std::fs::read_to_string(path).map_err(|e| format!("{text}: {e}"))?;
        let value = read
            .lines()
            .find_map(|line| line.trim().strip_prefix("public_key="))
            .unwrap_or(read.trim());
        return hash32(&format!("{what} (the file {text})"), value);
    }
    hash32(what, text)
}

/// `ADDRESS,CODE_HASH,FULL_CODE_HASH`.
fn deployed(what: &str, text: &str) -> Result<DeployedContract, String> {
    let parts: Vec<&str> = text.split(',').collect();
    let [address, code, full] = parts[..] else {
        return Err(format!(
            "--{what}: expected ADDRESS,CODE_HASH,FULL_CODE_HASH, got {text}"
        ));
    };
    Ok(DeployedContract {
        address: parse_account(address).map_err(|e| format!("--{what}: {e}"))?,
        code_hash: hash32(what, code)?,
        full_code_hash: hash32(what, full)?,
    })
}

fn load(path: &Path) -> Result<Deployment, String> {
    Deployment::load(path).map_err(|e| e.to_string())
}

fn save(deployment: &Deployment, path: &Path) -> Result<(), String> {
    deployment.save(path).map_err(|e| e.to_string())
}

/// Runs `command` on the deployment file at `path` (`new` writes its own `--out`).
pub fn run(command: DeploymentCommand, path: &Path) -> Result<(), String> {
    match command {
        DeploymentCommand::New {
            out,
            url,
            chain,
            genesis_hash,
            change_delay_ms,
            access_log,
            consent_manager,
            record_registry,
        } => {
            let deployment = Deployment {
                chain,
                genesis_hash: hash32("--genesis-hash", &genesis_hash)?,
                url,
                change_delay_ms,
                contracts: DeployedContracts {
                    access_log: deployed("access-log", &access_log)?,
                    consent_manager: deployed("consent-manager", &consent_manager)?,
                    record_registry: deployed("record-registry", &record_registry)?,
                },
                key_servers: Vec::new(),
                threshold: 2,
                key_server_ca: None,
            };
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            save(&deployment, &out)?;
            println!("deployment={}", out.display());
        }
        DeploymentCommand::AddKeyServer {
            account,
            url,
            public_key,
        } => {
            let mut deployment = load(path)?;
            deployment
                .add_key_server(KeyServerEndpoint {
                    account: parse_account(&account)?,
                    url,
                    public_key: public_key_arg("--public-key", &public_key)?,
                })
                .map_err(|e| format!("{}: {e}", path.display()))?;
            save(&deployment, path)?;
            println!("key_servers={}", deployment.key_servers.len());
        }
        DeploymentCommand::Threshold { threshold } => {
            let mut deployment = load(path)?;
            deployment
                .set_threshold(threshold)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            save(&deployment, path)?;
            println!("threshold={threshold}");
        }
        DeploymentCommand::KeyServerCa { ca } => {
            let pem = std::fs::read_to_string(&ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| format!("{}: not a PEM certificate: {e}", ca.display()))?;
            if certificates.is_empty() {
                return Err(format!("{}: not a PEM certificate", ca.display()));
            }
            let mut deployment = load(path)?;
            deployment.key_server_ca = Some(pem);
            save(&deployment, path)?;
            println!("key_server_ca={}", ca.display());
        }
        DeploymentCommand::WebConfig { out } => {
            let config = WebConfig::of(&load(path)?);
            let mut text = serde_json::to_string_pretty(&config).expect("serializes");
            text.push('\n');
            std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("web_config={}", out.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_chain::AccountId;

    #[test]
    fn the_page_configuration_carries_names_servers_and_threshold_from_their_sources() {
        let contract = |n: u8| DeployedContract {
            address: AccountId::from([n; 32]),
            code_hash: [n; 32],
            full_code_hash: [n; 32],
        };
        let deployment = Deployment {
            chain: "Development".into(),
            genesis_hash: [9; 32],
            url: "ws://127.0.0.1:9944".into(),
            change_delay_ms: 0,
            contracts: DeployedContracts {
                access_log: contract(1),
                consent_manager: contract(2),
                record_registry: contract(3),
            },
            key_servers: vec![KeyServerEndpoint {
                account: AccountId::from([4; 32]),
                url: "https://ks1.example.org".into(),
                public_key: [5; 32],
            }],
            threshold: 2,
            key_server_ca: None,
        };
        let config = serde_json::to_value(WebConfig::of(&deployment)).unwrap();
        assert_eq!(
            config["categories"].as_array().unwrap().len(),
            medconsent_shared::words::CATEGORIES.len()
        );
        assert_eq!(config["categories"][2]["name"], "lab-results");
        assert_eq!(config["categories"][2]["code"], 3);
        assert_eq!(config["key_servers"][0]["url"], "https://ks1.example.org");
        assert_eq!(
            config["key_servers"][0]["public_key"],
            format!("0x{}", hex::encode([5; 32]))
        );
        assert_eq!(
            config["key_servers"][0]["account"],
            ss58(&AccountId::from([4; 32]))
        );
        assert_eq!(config["threshold"], 2);
        assert_eq!(config["page_size"], medconsent_shared::MAX_PAGE);
        assert_eq!(
            config["max_chart_records"],
            medconsent_shared::MAX_CHART_RECORDS
        );
        assert_eq!(
            config["emergency_budget"]["per_window"],
            medconsent_shared::MAX_EMERGENCIES_PER_WINDOW
        );
        assert_eq!(
            config["emergency_budget"]["window_ms"],
            medconsent_shared::EMERGENCY_WINDOW_MS
        );
        assert_eq!(
            config["max_blob_bytes"],
            medconsent_keyrelease::wire::MAX_BLOB_BYTES
        );
        assert_eq!(
            config["max_answer_bytes"],
            medconsent_keyrelease::wire::MAX_ANSWER_BYTES
        );
    }

    #[test]
    fn a_public_key_is_hex_or_a_file_of_what_keygen_printed() {
        let dir = std::env::temp_dir().join(format!("medconsent-pk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hex_key = format!("0x{}", hex::encode([7u8; 32]));
        assert_eq!(public_key_arg("--public-key", &hex_key), Ok([7; 32]));
        let printed = dir.join("dave.pub");
        std::fs::write(&printed, format!("public_key={hex_key}\n")).unwrap();
        assert_eq!(
            public_key_arg("--public-key", printed.to_str().unwrap()),
            Ok([7; 32])
        );
        let bare = dir.join("bare.pub");
        std::fs::write(&bare, format!("{hex_key}\n")).unwrap();
        assert_eq!(
            public_key_arg("--public-key", bare.to_str().unwrap()),
            Ok([7; 32])
        );
        let junk = dir.join("junk.pub");
        std::fs::write(&junk, "public_key=0x1234\n").unwrap();
        let refused = public_key_arg("--public-key", junk.to_str().unwrap()).unwrap_err();
        assert!(refused.contains("junk.pub"), "{refused}");
        assert!(public_key_arg("--public-key", "no-such-file").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_server_authority_must_be_a_certificate_and_is_kept_whole() {
        let dir = std::env::temp_dir().join(format!("medconsent-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("deployment.json");
        let contract = |n: u8| {
            format!(
                "0x{},0x{},0x{}",
                hex::encode([n; 32]),
                hex::encode([n; 32]),
                hex::encode([n; 32])
            )
        };
        run(
            DeploymentCommand::New {
                out: file.clone(),
                url: "ws://127.0.0.1:9944".into(),
                chain: "dev".into(),
                genesis_hash: format!("0x{}", hex::encode([0; 32])),
                change_delay_ms: 1,
                access_log: contract(1),
                consent_manager: contract(2),
                record_registry: contract(3),
            },
            &file,
        )
        .unwrap();
        let before = std::fs::read_to_string(&file).unwrap();
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let refused = run(DeploymentCommand::KeyServerCa { ca: not_pem }, &file).unwrap_err();
        assert!(refused.contains("not a PEM certificate"), "{refused}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
        let missing = run(
            DeploymentCommand::KeyServerCa {
                ca: dir.join("missing.pem"),
            },
            &file,
        )
        .unwrap_err();
        assert!(missing.contains("missing.pem"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
