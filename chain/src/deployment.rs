//! The deployment file (`deployments/<chain>.json`): where the chain is, the three
//! contracts and their code, the key servers and the threshold. One serde definition,
//! written complete by the tools (`scripts/deploy.sh` through `medconsent deployment`)
//! and read by every client and server; its schema is `docs/deployment.md`.

use crate::{parse_account, ss58, AccountId, Error, Result};
use access_log::access_log::AccessLog;
use consent_manager::consent_manager::ConsentManager;
use ink::codegen::ContractCallBuilder;
use ink::env::call::FromAccountId;
use record_registry::record_registry::RecordRegistry;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The three contracts of one deployment, by address: what the call builders need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    pub registry: AccountId,
    pub consents: AccountId,
    pub log: AccountId,
}

/// One deployed contract: its address, the code its front runs and the full code the
/// front forwards to. The code hashes are what the deployment was audited as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployedContract {
    #[serde(with = "ss58_text")]
    pub address: AccountId,
    #[serde(with = "hex32")]
    pub code_hash: [u8; 32],
    #[serde(with = "hex32")]
    pub full_code_hash: [u8; 32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployedContracts {
    pub access_log: DeployedContract,
    pub consent_manager: DeployedContract,
    pub record_registry: DeployedContract,
}

/// A key server of the deployment, in share order: its directory account, where it
/// listens, and its X25519 public key as its operator published it. The client seals
/// shares only to this key, and only while the chain's directory has the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyServerEndpoint {
    #[serde(with = "ss58_text")]
    pub account: AccountId,
    pub url: String,
    #[serde(with = "hex32")]
    pub public_key: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The chain's name as the node reports it (`system_chain`).
    pub chain: String,
    /// Signed consents are bound to the chain by it (a contract cannot read it).
    #[serde(with = "hex32")]
    pub genesis_hash: [u8; 32],
    /// The node's WebSocket URL.
    pub url: String,
    /// How long every later rewiring or code upgrade waits after its announcement.
    pub change_delay_ms: u64,
    pub contracts: DeployedContracts,
    #[serde(default)]
    pub key_servers: Vec<KeyServerEndpoint>,
    /// Shares needed to rebuild a record key.
    #[serde(default = "default_threshold")]
    pub threshold: u8,
    /// A certificate authority (PEM) the clients trust for the key servers' `https://`
    /// besides the usual public roots: for servers whose certificates the deployment's
    /// own authority signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_server_ca: Option<String>,
}

/// 2 (of 3 servers): one server down or hostile costs nothing, two colluding decrypt.
fn default_threshold() -> u8 {
    2
}

/// Why a deployment cannot take a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentError {
    #[error("a key server with account {0} is already listed")]
    DuplicateAccount(String),
    #[error("a key server at {0} is already listed")]
    DuplicateUrl(String),
    #[error("a key server URL must start with http:// or https://: {0}")]
    BadUrl(String),
    #[error("threshold {threshold} with {servers} key servers: it must be at least 1 and at most the number of servers")]
    BadThreshold { threshold: u8, servers: usize },
}

impl Deployment {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Deployment(format!("{}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| Error::Deployment(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut deployment: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        // `http://host:port/` and `http://host:port` are one server.
        for server in &mut deployment.key_servers {
            server.url = server.url.trim_end_matches('/').to_owned();
        }
        deployment.check().map_err(|e| e.to_string())?;
        Ok(deployment)
    }

    /// Writes the file whole (a new file renamed over the old one).
    pub fn save(&self, path: &Path) -> Result<()> {
        let fail = |e: std::io::Error| Error::Deployment(format!("{}: {e}", path.display()));
        let mut text = serde_json::to_string_pretty(self).expect("a deployment serializes");
        text.push('\n');
        let mut temp = path.as_os_str().to_owned();
        temp.push(".new");
        std::fs::write(&temp, text).map_err(fail)?;
        std::fs::rename(&temp, path).map_err(fail)
    }

    /// The contracts' addresses.
    pub fn contracts(&self) -> Contracts {
        Contracts {
            registry: self.contracts.record_registry.address,
            consents: self.contracts.consent_manager.address,
            log: self.contracts.access_log.address,
        }
    }

    /// What every file must satisfy: distinct servers, http(s) URLs, a threshold of at
    /// least 1. (Fewer servers than the threshold is a file still being written: the
    /// client says so when asked to use it.)
    pub fn check(&self) -> std::result::Result<(), DeploymentError> {
        for (i, server) in self.key_servers.iter().enumerate() {
            if !(server.url.starts_with("http://") || server.url.starts_with("https://")) {
                return Err(DeploymentError::BadUrl(server.url.clone()));
            }
            let earlier = &self.key_servers[..i];
            if earlier.iter().any(|s| s.account == server.account) {
                return Err(DeploymentError::DuplicateAccount(ss58(&server.account)));
            }
            if earlier.iter().any(|s| s.url == server.url) {
                return Err(DeploymentError::DuplicateUrl(server.url.clone()));
            }
        }
        if self.threshold == 0 {
            return Err(DeploymentError::BadThreshold {
                threshold: 0,
                servers: self.key_servers.len(),
            });
        }
        Ok(())
    }

    /// Appends a key server (the next share index); the URL loses a trailing slash.
    pub fn add_key_server(
        &mut self,
        mut server: KeyServerEndpoint,
    ) -> std::result::Result<(), DeploymentError> {
        server.url = server.url.trim_end_matches('/').to_owned();
        let mut next = self.clone();
        next.key_servers.push(server);
        next.check()?;
        *self = next;
        Ok(())
    }

    /// Sets how many shares rebuild a key: at least 1, at most the servers listed.
    pub fn set_threshold(&mut self, threshold: u8) -> std::result::Result<(), DeploymentError> {
        let servers = self.key_servers.len();
        if threshold == 0 || usize::from(threshold) > servers {
            return Err(DeploymentError::BadThreshold { threshold, servers });
        }
        self.threshold = threshold;
        Ok(())
    }
}

impl Contracts {
    /// The registry's messages, built by its own call builder.
    pub fn registry(&self) -> <RecordRegistry as ContractCallBuilder>::Type {
        FromAccountId::from_account_id(self.registry)
    }
    pub fn consents(&self) -> <ConsentManager as ContractCallBuilder>::Type {
        FromAccountId::from_account_id(self.consents)
    }
    pub fn log(&self) -> <AccessLog as ContractCallBuilder>::Type {
        FromAccountId::from_account_id(self.log)
    }
}

/// An account as its SS58 text (0x-hex is read too).
mod ss58_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        account: &AccountId,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&ss58(account))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<AccountId, D::Error> {
        let text = String::deserialize(d)?;
        parse_account(&text).map_err(serde::de::Error::custom)
    }
}

/// 32 bytes as 0x-hex.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.strip_prefix("0x").unwrap_or(&text))
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| serde::de::Error::custom(format!("{text}: not 32 bytes of hex")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "chain": "development",
      "genesis_hash": "0x5c8b4e2ad0f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b",
      "url": "ws://127.0.0.1:9944",
      "change_delay_ms": 172800000,
      "contracts": {
        "access_log": {"address": "5Gvk79nQn4mdvjgN3RoNwVGSAiMi3nMgZ2j6KYGv8ViQuj4v",
          "code_hash": "0x1111111111111111111111111111111111111111111111111111111111111111",
          "full_code_hash": "0x2222222222222222222222222222222222222222222222222222222222222222"},
        "consent_manager": {"address": "5DnAV2Ww1UZLeaQV7552aNmvxrHJXRvPYniCy8D38GVAgwgz",
          "code_hash": "0x3333333333333333333333333333333333333333333333333333333333333333",
          "full_code_hash": "0x4444444444444444444444444444444444444444444444444444444444444444"},
        "record_registry": {"address": "5GPF2GRNNVH7YBP7g6rRdAHbG9CHvFXG55X6jzr2KxGYgKiH",
          "code_hash": "0x5555555555555555555555555555555555555555555555555555555555555555",
          "full_code_hash": "0x6666666666666666666666666666666666666666666666666666666666666666"}
      }
    }"#;

    const SERVER: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    fn server(account: &str, url: &str) -> KeyServerEndpoint {
        KeyServerEndpoint {
            account: parse_account(account).unwrap(),
            url: url.to_owned(),
            public_key: [9; 32],
        }
    }

    #[test]
    fn a_deployment_file_gives_addresses_and_the_default_threshold() {
        let deployment = Deployment::parse(FILE).unwrap();
        assert_eq!(deployment.url, "ws://127.0.0.1:9944");
        assert_eq!(
            ss58(&deployment.contracts().log),
            "5Gvk79nQn4mdvjgN3RoNwVGSAiMi3nMgZ2j6KYGv8ViQuj4v"
        );
        assert_eq!(
            deployment.contracts.record_registry.full_code_hash,
            [0x66; 32]
        );
        assert!(deployment.key_servers.is_empty());
        assert_eq!(deployment.threshold, 2);
    }

    #[test]
    fn a_trailing_slash_of_a_server_url_is_dropped_on_load() {
        let mut json: serde_json::Value = serde_json::from_str(FILE).unwrap();
        json["key_servers"] = serde_json::json!([{
            "account": SERVER,
            "url": "http://127.0.0.1:7101/",
            "public_key": format!("0x{}", "09".repeat(32)),
        }]);
        let deployment = Deployment::parse(&json.to_string()).unwrap();
        assert_eq!(deployment.key_servers[0].url, "http://127.0.0.1:7101");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let mut deployment = Deployment::parse(FILE).unwrap();
        deployment
            .add_key_server(server(SERVER, "http://127.0.0.1:7101/"))
            .unwrap();
        assert_eq!(deployment.key_servers[0].url, "http://127.0.0.1:7101");
        let text = serde_json::to_string_pretty(&deployment).unwrap();
        assert!(text.contains(&format!("\"public_key\": \"0x{}\"", "09".repeat(32))));
        assert_eq!(Deployment::parse(&text).unwrap(), deployment);
    }

    #[test]
    fn a_file_missing_a_field_or_with_an_unknown_one_is_refused() {
        let mut json: serde_json::Value = serde_json::from_str(FILE).unwrap();
        json["contracts"]
            .as_object_mut()
            .unwrap()
            .remove("record_registry");
        let missing = Deployment::parse(&json.to_string()).unwrap_err();
        assert!(
            missing.contains("missing field `record_registry`"),
            "{missing}"
        );
        let renamed = FILE.replace("record_registry", "registry");
        assert!(Deployment::parse(&renamed)
            .unwrap_err()
            .contains("unknown field `registry`"));
        let no_genesis = FILE.replace("\"genesis_hash\"", "\"genesis\"");
        assert!(Deployment::parse(&no_genesis).is_err());
        let short_hash = FILE.replace("0x1111", "0x11");
        assert!(Deployment::parse(&short_hash)
            .unwrap_err()
            .contains("not 32 bytes of hex"));
    }

    #[test]
    fn key_servers_are_distinct_and_the_threshold_reachable() {
        let mut deployment = Deployment::parse(FILE).unwrap();
        let before = deployment.clone();
        assert_eq!(
            deployment.add_key_server(server(SERVER, "ftp://x")),
            Err(DeploymentError::BadUrl("ftp://x".into()))
        );
        assert_eq!(deployment, before, "a refused change changes nothing");
        deployment
            .add_key_server(server(SERVER, "http://a:1"))
            .unwrap();
        assert!(matches!(
            deployment.add_key_server(server(SERVER, "http://b:1")),
            Err(DeploymentError::DuplicateAccount(_))
        ));
        let other = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";
        assert!(matches!(
            deployment.add_key_server(server(other, "http://a:1/")),
            Err(DeploymentError::DuplicateUrl(_))
        ));
        assert_eq!(deployment.key_servers.len(), 1);
        // Threshold 2 with one server: refused; with two, fine.
        assert_eq!(
            deployment.set_threshold(3),
            Err(DeploymentError::BadThreshold {
                threshold: 3,
                servers: 1
            })
        );
        deployment
            .add_key_server(server(other, "http://b:1"))
            .unwrap();
        deployment.set_threshold(2).unwrap();
        assert_eq!(
            deployment.set_threshold(0),
            Err(DeploymentError::BadThreshold {
                threshold: 0,
                servers: 2
            })
        );
        assert_eq!(deployment.threshold, 2);
    }
}
