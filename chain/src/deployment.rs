//! Where a deployment lives: the node's URL and the three contracts' addresses, as
//! `scripts/deploy.sh` writes them to `deployments/<chain>.json`, and the key servers the
//! deployment's clients use (`key_servers`: account and URL of each, in share order).

use crate::{parse_account, AccountId, Error, Result};
use access_log::access_log::AccessLog;
use consent_manager::consent_manager::ConsentManager;
use ink::codegen::ContractCallBuilder;
use ink::env::call::FromAccountId;
use record_registry::record_registry::RecordRegistry;
use std::path::Path;

/// The three contracts of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    pub registry: AccountId,
    pub consents: AccountId,
    pub log: AccountId,
}

/// A key server the deployment lists: its directory account and where it listens. Its
/// X25519 key and whether it is active come from the chain, never from this file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyServerEndpoint {
    pub account: AccountId,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub url: String,
    pub contracts: Contracts,
    pub key_servers: Vec<KeyServerEndpoint>,
    /// Shares needed to rebuild a record key.
    pub threshold: u8,
}

/// Default threshold when the file names none: 2 (of 3 servers, SPEC.md).
const DEFAULT_THRESHOLD: u8 = 2;

impl Deployment {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Deployment(format!("{}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| Error::Deployment(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let address = |name: &str| -> std::result::Result<AccountId, String> {
            let text = json["contracts"][name]["address"]
                .as_str()
                .ok_or_else(|| format!("no address for {name}"))?;
            parse_account(text)
        };
        let key_servers = match json.get("key_servers") {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or("key_servers is not a list")?
                .iter()
                .map(|server| {
                    Ok(KeyServerEndpoint {
                        account: parse_account(
                            server["account"]
                                .as_str()
                                .ok_or("a key server without account")?,
                        )?,
                        url: server["url"]
                            .as_str()
                            .ok_or("a key server without url")?
                            .trim_end_matches('/')
                            .to_owned(),
                    })
                })
                .collect::<std::result::Result<Vec<_>, String>>()?,
        };
        let threshold = match json.get("threshold") {
            None => DEFAULT_THRESHOLD,
            Some(value) => value
                .as_u64()
                .and_then(|t| u8::try_from(t).ok())
                .ok_or("threshold is not a small number")?,
        };
        Ok(Self {
            url: json["url"].as_str().ok_or("no url")?.to_owned(),
            contracts: Contracts {
                registry: address("record_registry")?,
                consents: address("consent_manager")?,
                log: address("access_log")?,
            },
            key_servers,
            threshold,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "url": "ws://127.0.0.1:9944",
      "contracts": {
        "access_log": {"address": "5Gvk79nQn4mdvjgN3RoNwVGSAiMi3nMgZ2j6KYGv8ViQuj4v"},
        "consent_manager": {"address": "5DnAV2Ww1UZLeaQV7552aNmvxrHJXRvPYniCy8D38GVAgwgz"},
        "record_registry": {"address": "5GPF2GRNNVH7YBP7g6rRdAHbG9CHvFXG55X6jzr2KxGYgKiH"}
      },
      "key_servers": [
        {"account": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "url": "http://127.0.0.1:7101/"}
      ]
    }"#;

    #[test]
    fn a_deployment_file_gives_addresses_servers_and_the_default_threshold() {
        let deployment = Deployment::parse(FILE).unwrap();
        assert_eq!(deployment.url, "ws://127.0.0.1:9944");
        assert_eq!(
            crate::ss58(&deployment.contracts.log),
            "5Gvk79nQn4mdvjgN3RoNwVGSAiMi3nMgZ2j6KYGv8ViQuj4v"
        );
        assert_eq!(deployment.key_servers.len(), 1);
        assert_eq!(deployment.key_servers[0].url, "http://127.0.0.1:7101");
        assert_eq!(deployment.threshold, 2);
    }

    #[test]
    fn a_file_missing_an_address_is_refused() {
        let broken = FILE.replace("record_registry", "registry");
        assert!(Deployment::parse(&broken)
            .unwrap_err()
            .contains("record_registry"));
    }
}
