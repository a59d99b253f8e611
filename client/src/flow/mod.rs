//! One function per role's command, talking to the chain and the key servers: the
//! patient's `put` and `rotate` ([`write`]), `retire` and `holdings` ([`retire`]), the
//! reader's `get` ([`read`]); [`rebuild`] turns released shares into a key that opens.
//!
//! The record key exists in full only in the patient's client (and its own sealed copy)
//! and, after a logged access, in the reader's: the servers each hold one share sealed to
//! themselves, and release it only for a finalized Access entry of the reader.

mod admin;
mod chart;
mod consents;
mod directory;
mod emergency;
mod justification;
mod read;
mod rebuild;
mod retire;
mod signed;
mod write;
pub use admin::{AdminCall, AdminState, Governed};
pub use chart::{chart_file, ChartAsk, ChartRecord, Covered};
pub use directory::{check_name, names_of, resolve, resolve_name, Listed};
pub use emergency::{justification_hash, remaining_budget, BrokenGlass};
pub use justification::check_justification;
pub use signed::Relay;
pub use write::Authoring;

use crate::servers::{KeyServer, ServerError, Servers};
use medconsent_chain::{Block, Chain, ConsentError, Deployment, RegistryError};
use medconsent_keyrelease::{envelope, shamir};
use medconsent_shared::{
    AccountId, ConsentId, DenyReason, EntryKind, ProviderStatus, Record, RecordId, RecordStatus,
    Role,
};
use std::path::PathBuf;

/// How long a signed deposit or release request stays good (ms of chain time).
const REQUEST_LIFETIME_MS: u64 = 120_000;

/// How long to wait for a pending change of the key-server directory to become final.
const DIRECTORY_FINALITY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{0}")]
    Chain(#[from] medconsent_chain::Error),
    #[error("{0}")]
    Local(#[from] crate::Error),
    #[error("no record {0}")]
    NoRecord(RecordId),
    /// The registry refused the call (its dry run's typed error); nothing was submitted.
    #[error("the registry refused: {}", crate::words::describe_registry_error(*.0))]
    RegistryRefused(RegistryError),
    /// The access log refused the call (its dry run's typed error); nothing was submitted.
    #[error("the access log refused: {}", crate::words::describe_log_error(*.0))]
    LogRefused(medconsent_shared::LogError),
    /// A display name the directory would not take; nothing was sent.
    #[error("{0}")]
    BadName(String),
    #[error(
        "no provider is named {name:?}; the directory's names: {}",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownName { name: String, known: Vec<String> },
    #[error(
        "{} providers are named {name:?}: give the account of one of {}",
        candidates.len(),
        candidates.join(", ")
    )]
    AmbiguousName {
        name: String,
        candidates: Vec<String>,
    },
    #[error("the access log has no pause: pause the registry and the consent manager")]
    NoPause,
    /// The consent manager refused the call (its dry run's typed error); nothing was
    /// submitted.
    #[error("the consent manager refused: {}", crate::words::describe_consent_error(*.0))]
    ConsentRefused(ConsentError),
    /// The consent a grant's dry run predicted is not the grant in the finalized block.
    #[error("consent {0} in the finalized block is not this grant: list the consents")]
    ConsentNotFound(ConsentId),
    #[error("consent {id} is to {listed}, not to the grantee named: nothing was sent")]
    OtherGrantee { id: ConsentId, listed: String },
    /// A signed consent's file does not read as one.
    #[error("the signed consent: {0}")]
    BadRelay(String),
    /// The dry run succeeded but the call reverted when it ran in a block.
    #[error("the call reverted on chain")]
    Reverted,
    /// The record id this payload was sealed for went to another registration first.
    #[error("record {0} went to another registration first; nothing was deposited")]
    RecordIdTaken(RecordId),
    #[error("record {0} is not an active record of this account")]
    NotYourActiveRecord(RecordId),
    #[error("record {0} is retired")]
    RecordRetired(RecordId),
    #[error("the amendment gave version {got:?}, expected {expected}")]
    UnexpectedVersion { got: Option<u32>, expected: u32 },
    #[error("the access left no entry of this reader in its block")]
    NoEntry,
    #[error("the log entry names no record")]
    EntryWithoutRecord,
    #[error("the access left an entry of another kind: {0:?}")]
    UnexpectedEntry(EntryKind),
    #[error(
        "access denied on chain: {}; the denial is logged, and no server will release a key",
        crate::words::describe_deny_reason(*.0)
    )]
    Denied(DenyReason),
    #[error(
        "the deployment file lists {listed} key servers, {needed} needed: add them with \
         `medconsent deployment add-key-server`"
    )]
    TooFewListed { listed: usize, needed: u8 },
    #[error("{active} usable key servers in the directory, {needed} needed")]
    TooFewServers { active: usize, needed: u8 },
    #[error(
        "{answered} key servers answer with their pinned key, {needed} needed: a record \
         written for someone else keeps no copy of its key, so nothing was registered"
    )]
    TooFewAnswering { answered: usize, needed: u8 },
    #[error(
        "the key server {0} is plain http:// beyond this machine, where anyone on the path \
         can read and change what it says: list it as https://, or pass --insecure on a \
         network you control"
    )]
    PlainText(String),
    #[error("the deployment's key_server_ca: {0}")]
    KeyServerCa(String),
    #[error("{got} key shares released, {needed} needed: {}", refusals.join("; "))]
    NotEnoughShares {
        got: usize,
        needed: u8,
        /// Each server's failure, in words.
        refusals: Vec<String>,
        /// How many of those servers could not be reached (the rest answered no).
        unreachable: usize,
    },
    #[error("no key server has the ciphertext: {}", .0.join("; "))]
    NoBlob(Vec<String>),
    #[error(
        "the justification is {0} bytes; the patient's sealed copy holds at most {max}: \
         shorten it (nothing was sent)",
        max = medconsent_keyrelease::justification::MAX_JUSTIFICATION_LEN
    )]
    JustificationTooLong(usize),
    /// The shares rebuilt no key that opens a text with the logged hash.
    #[error(
        "the justification kept for log entry {0} is not the text whose hash was logged: \
         a key server or the responder left another"
    )]
    JustificationMismatch(medconsent_shared::LogSeq),
    /// The chain answered with something that does not add up (counts and lists that
    /// disagree): the node may be lying.
    #[error("the chain's answer does not add up: {0}")]
    Garbled(String),
    #[error("the shares do not rebuild the record's key (a server may be lying)")]
    SharesDisagree,
    #[error("{0}")]
    Shamir(#[from] shamir::ShamirError),
    #[error("{0}")]
    Envelope(#[from] envelope::EnvelopeError),
}

pub type Result<T> = std::result::Result<T, FlowError>;

/// Why a submitted call did not land: the registry's own refusal, or a revert.
fn not_included<T>(predicted: std::result::Result<T, RegistryError>) -> FlowError {
    match predicted {
        Err(e) => FlowError::RegistryRefused(e),
        Ok(_) => FlowError::Reverted,
    }
}

/// A connection to a deployment: the chain and its key servers.
pub struct Session {
    pub chain: Chain,
    pub deployment: Deployment,
    pub servers: Servers,
    /// Prints what is going on (to stderr) when set.
    pub verbose: bool,
    /// Accepts key servers at plain `http://` beyond this machine.
    pub insecure: bool,
}

/// What `put` and `rotate` leave behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub record: RecordId,
    pub version: u32,
    pub content_hash: [u8; 32],
    pub cid: String,
    pub shares_deposited: usize,
}

/// What `retire` did: each server's answer (shares deleted) and how many of the
/// patient's own key copies it deleted.
#[derive(Debug)]
pub struct Retired {
    pub at_servers: Vec<(String, std::result::Result<u64, ServerError>)>,
    pub own_copies_deleted: usize,
}

/// Which of the usable key servers say they hold a share of a record's current version:
/// whether a reader could still rebuild its key. The servers' word, not a proof: a hostile
/// server can claim a share it does not keep; an honest one that lost its disk shows here.
#[derive(Debug)]
pub struct Holdings {
    pub record: RecordId,
    /// The current version at the finalized block.
    pub version: u32,
    pub status: RecordStatus,
    pub threshold: u8,
    /// Each server's versions held, or why it did not say.
    pub at_servers: Vec<(String, std::result::Result<Vec<u32>, ServerError>)>,
}

impl Holdings {
    /// How many servers hold the current version's share.
    pub fn holding_current(&self) -> usize {
        self.at_servers
            .iter()
            .filter(|(_, held)| held.as_ref().is_ok_and(|v| v.contains(&self.version)))
            .count()
    }

    /// Whether enough of them do for a reader to rebuild the key.
    pub fn enough(&self) -> bool {
        self.holding_current() >= usize::from(self.threshold)
    }
}

/// What `get` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub record: RecordId,
    pub version: u32,
    pub log_seq: u64,
    pub shares_used: usize,
    /// Shares that had arrived when the key opened (the read does not wait for the rest).
    pub shares_received: usize,
    /// Servers whose share does not fit the key that opened the record: they lied (or
    /// are broken). Worth telling the deployment's admin, who can suspend them.
    pub suspects: Vec<String>,
    pub out: PathBuf,
}

impl Session {
    pub async fn connect(deployment: Deployment) -> Result<Self> {
        let servers = Servers::for_deployment(&deployment)
            .map_err(|e| FlowError::KeyServerCa(e.to_string()))?;
        Ok(Self {
            chain: Chain::connect(&deployment.url).await?,
            deployment,
            servers,
            verbose: false,
            insecure: false,
        })
    }

    fn say(&self, what: &str) {
        if self.verbose {
            eprintln!("... {what}");
        }
    }

    /// What the user should know even when not verbose: less redundancy than configured.
    fn warn(&self, what: &str) {
        eprintln!("warning: {what}");
    }

    fn contracts(&self) -> medconsent_chain::Contracts {
        self.deployment.contracts()
    }

    /// The listed key servers the directory has as active key servers, with their keys
    /// (from the chain, at the finalized block). At least `threshold` of them, or none.
    pub async fn key_servers(&self) -> Result<Vec<KeyServer>> {
        let listed = self.deployment.key_servers.len();
        if listed < usize::from(self.deployment.threshold) {
            return Err(FlowError::TooFewListed {
                listed,
                needed: self.deployment.threshold,
            });
        }
        if !self.insecure {
            if let Some(url) = plain_text_server(&self.deployment) {
                return Err(FlowError::PlainText(url.to_owned()));
            }
        }
        let best = self.chain.best().await?;
        let mut at = self.chain.finalized().await?;
        let mut directory = self.directory_at(at).await?;
        // A directory change the admin just made (a server added or suspended) is not
        // final yet: wait for it rather than spread shares over yesterday's servers.
        if best.number > at.number && self.directory_at(best).await? != directory {
            self.say("the key-server directory changed in a block not yet final: waiting");
            at = self
                .chain
                .wait_finalized(best.number, DIRECTORY_FINALITY_WAIT)
                .await?;
            directory = self.directory_at(at).await?;
        }
        let mut usable = Vec::new();
        for (endpoint, server) in self.deployment.key_servers.iter().zip(directory) {
            match server {
                // Never seal to a key the deployment did not pin: a directory that shows
                // another key (a compromised admin, a lying node) costs this server.
                Some(server) if server.public_key != endpoint.public_key => self.warn(&format!(
                    "the directory's key for {} is not the one the deployment pins: skipped",
                    endpoint.url
                )),
                Some(server) => usable.push(server),
                None => self.warn(&format!(
                    "{} is not an active key server in the directory: skipped",
                    endpoint.url
                )),
            }
        }
        if usable.len() < usize::from(self.deployment.threshold) {
            return Err(FlowError::TooFewServers {
                active: usable.len(),
                needed: self.deployment.threshold,
            });
        }
        Ok(usable)
    }

    /// Each configured key server as the directory has it at `at`: `None` unless it is
    /// an active provider with the key-server role.
    async fn directory_at(&self, at: Block) -> Result<Vec<Option<KeyServer>>> {
        let mut servers = Vec::with_capacity(self.deployment.key_servers.len());
        for endpoint in &self.deployment.key_servers {
            let message = self.contracts().consents().provider(endpoint.account);
            let provider = self
                .chain
                .read(
                    Some(at),
                    &endpoint.account,
                    &self.contracts().consents,
                    &message,
                )
                .await?;
            servers.push(provider.and_then(|p| {
                (p.status == ProviderStatus::Active && p.roles.contains(Role::KeyServer)).then(
                    || KeyServer {
                        endpoint: endpoint.clone(),
                        public_key: p.public_key,
                    },
                )
            }));
        }
        Ok(servers)
    }

    pub async fn record_at(
        &self,
        at: Option<Block>,
        origin: &AccountId,
        id: RecordId,
    ) -> Result<Record> {
        let message = self.contracts().registry().record(id);
        self.chain
            .read(at, origin, &self.contracts().registry, &message)
            .await?
            .ok_or(FlowError::NoRecord(id))
    }
}

/// The first key server the deployment lists at plain `http://` beyond this machine (a
/// loaded deployment holds lower-case `http://` or `https://` URLs only).
fn plain_text_server(deployment: &Deployment) -> Option<&str> {
    deployment
        .key_servers
        .iter()
        .map(|e| e.url.as_str())
        .find(|url| url.starts_with("http://") && !medconsent_chain::is_loopback_url(url))
}

#[cfg(test)]
mod plain_text_tests {
    use super::*;
    use medconsent_chain::KeyServerEndpoint;

    #[test]
    fn plain_http_is_accepted_only_on_this_machine() {
        let mut deployment = Deployment::parse(
            r#"{"chain": "dev", "genesis_hash": "0x0000000000000000000000000000000000000000000000000000000000000000",
                "url": "ws://127.0.0.1:9944", "change_delay_ms": 1,
                "contracts": {
                  "access_log": {"address": "0x0101010101010101010101010101010101010101010101010101010101010101", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"},
                  "consent_manager": {"address": "0x0202020202020202020202020202020202020202020202020202020202020202", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"},
                  "record_registry": {"address": "0x0303030303030303030303030303030303030303030303030303030303030303", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"}}}"#,
        )
        .unwrap();
        for (i, url) in [
            "http://127.0.0.1:7101",
            "http://localhost:7102",
            "https://ks.example.org",
        ]
        .into_iter()
        .enumerate()
        {
            deployment
                .add_key_server(KeyServerEndpoint {
                    account: AccountId::from([u8::try_from(i).unwrap() + 10; 32]),
                    url: url.into(),
                    public_key: [u8::try_from(i).unwrap() + 1; 32],
                })
                .unwrap();
        }
        assert_eq!(plain_text_server(&deployment), None);
        for remote in ["http://ks.example.org", "http://10.0.0.7:7101"] {
            let mut listed = deployment.clone();
            listed
                .add_key_server(KeyServerEndpoint {
                    account: AccountId::from([20; 32]),
                    url: remote.into(),
                    public_key: [9; 32],
                })
                .unwrap();
            assert_eq!(plain_text_server(&listed), Some(remote));
        }
    }
}
