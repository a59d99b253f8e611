//! One function per role's command, talking to the chain and the key servers:
//! the patient's [`put`], [`rotate`] and [`retire`], the reader's [`get`].
//!
//! The record key exists in full only in the patient's client (and its own sealed copy)
//! and, after a logged access, in the reader's: the servers each hold one share sealed to
//! themselves, and release it only for a finalized Access entry of the reader.

use crate::servers::{KeyServer, ServerError, Servers};
use crate::store::{open_verified, Store};
use crate::{Binding, RecordKey};
use medconsent_chain::{account_of, Block, Chain, Deployment, Signer};
use medconsent_keyrelease::envelope::{self, deposit_context, owner_context, release_context};
use medconsent_keyrelease::request::{Deposit, ReleaseRequest, SignedDeposit, SignedRequest};
use medconsent_keyrelease::shamir::{self, Share};
use medconsent_shared::{
    AccountId, DenyReason, EntryKind, LogEntry, ProviderStatus, Purpose, Record, RecordId,
    RecordStatus, Role,
};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

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
    #[error("the chain refused: {0}")]
    Refused(String),
    #[error(
        "access denied on chain ({0:?}); the denial is logged, and no server will release a key"
    )]
    Denied(DenyReason),
    #[error("{active} usable key servers in the directory, {needed} needed")]
    TooFewServers { active: usize, needed: u8 },
    #[error("{got} key shares released, {needed} needed: {}", refusals.join("; "))]
    NotEnoughShares {
        got: usize,
        needed: u8,
        refusals: Vec<String>,
    },
    #[error("no key server has the ciphertext: {}", .0.join("; "))]
    NoBlob(Vec<String>),
    #[error("the shares do not rebuild the record's key (a server may be lying)")]
    SharesDisagree,
    #[error("{0}")]
    Shamir(#[from] shamir::ShamirError),
    #[error("{0}")]
    Envelope(#[from] envelope::EnvelopeError),
}

pub type Result<T> = std::result::Result<T, FlowError>;

/// A connection to a deployment: the chain and its key servers.
pub struct Session {
    pub chain: Chain,
    pub deployment: Deployment,
    pub servers: Servers,
    /// Prints what is going on (to stderr) when set.
    pub verbose: bool,
}

/// What `put` and `rotate` leave behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
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
        Ok(Self {
            chain: Chain::connect(&deployment.url).await?,
            deployment,
            servers: Servers::new(),
            verbose: false,
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
        self.deployment.contracts
    }

    /// The listed key servers the directory has as active key servers, with their keys
    /// (from the chain, at the finalized block). At least `threshold` of them, or none.
    pub async fn key_servers(&self) -> Result<Vec<KeyServer>> {
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
            .ok_or_else(|| FlowError::Refused(format!("no record {id}")))
    }

    /// Seals `input` as a new record of the signer (version 1), stores the ciphertext at
    /// the key servers, registers it on chain, and deposits one key share per server.
    /// The patient's own copy of the key is sealed to `owner` in `store`.
    pub async fn put(
        &self,
        patient: &Signer,
        owner: &StaticSecret,
        input: &Path,
        category: u16,
        store: &Store,
    ) -> Result<Sealed> {
        let me = account_of(patient);
        let servers = self.key_servers().await?;
        let next = self.contracts().registry().next_record_id();
        let record = self
            .chain
            .read(None, &me, &self.contracts().registry, &next)
            .await?;
        self.say(&format!("sealing {} as record {record}", input.display()));
        let key = crate::seal::new_record_key();
        let binding = Binding {
            record_id: record,
            version: 1,
        };
        let stored = store.put(
            std::io::BufReader::new(std::fs::File::open(input).map_err(crate::Error::Io)?),
            &key,
            binding,
            &mut |_| {},
        )?;
        self.upload(&servers, &stored.content_hash, &stored.path)
            .await?;
        self.say("registering the record on chain and waiting for finality");
        let mut registry = self.contracts().registry();
        let register = registry.register_record(
            me,
            record,
            category,
            stored.content_hash,
            stored.cid.as_bytes().to_vec(),
            Purpose::PatientRequest,
        );
        let (result, included) = self
            .chain
            .submit(patient, &self.contracts().registry, &register)
            .await?;
        let included = included.ok_or_else(|| FlowError::Refused(format!("{result:?}")))?;
        let on_chain = self.record_at(Some(included.block), &me, record).await?;
        if on_chain.content_hash != stored.content_hash || on_chain.patient != me {
            return Err(FlowError::Refused(format!(
                "record {record} went to another registration first; nothing was deposited"
            )));
        }
        write_owner_copy(store, owner, binding, &stored.content_hash, &key)?;
        let deposited = self
            .deposit(patient, &servers, binding, &stored.content_hash, &key)
            .await?;
        Ok(Sealed {
            record,
            version: 1,
            content_hash: stored.content_hash,
            cid: stored.cid,
            shares_deposited: deposited,
        })
    }

    async fn upload(&self, servers: &[KeyServer], hash: &[u8; 32], path: &Path) -> Result<()> {
        let blob = std::fs::read(path).map_err(crate::Error::Io)?;
        let mut failures = Vec::new();
        for server in servers {
            if let Err(e) = self.servers.put_blob(server, hash, blob.clone()).await {
                failures.push(e.to_string());
            }
        }
        if failures.len() == servers.len() {
            return Err(FlowError::NoBlob(failures));
        }
        for failure in failures {
            self.warn(&format!(
                "a ciphertext upload failed (the others hold it): {failure}"
            ));
        }
        Ok(())
    }

    /// Splits `key` into one share per server (threshold from the deployment), each
    /// sealed to its server and bound to the record, version, content hash and server.
    /// Succeeds if at least `threshold` servers took their share.
    async fn deposit(
        &self,
        patient: &Signer,
        servers: &[KeyServer],
        binding: Binding,
        content_hash: &[u8; 32],
        key: &RecordKey,
    ) -> Result<usize> {
        let threshold = self.deployment.threshold;
        let count = u8::try_from(servers.len()).map_err(|_| FlowError::TooFewServers {
            active: servers.len(),
            needed: threshold,
        })?;
        let shares = shamir::split(key, threshold, count, &mut rand_core::OsRng)?;
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let mut deposited = 0usize;
        let mut refusals = Vec::new();
        for (server, share) in servers.iter().zip(shares.iter()) {
            let context = deposit_context(
                &server.public_key,
                binding.record_id,
                binding.version,
                content_hash,
                share.index,
            );
            let deposit = Deposit {
                server: server.public_key,
                patient: account_of(patient),
                record: binding.record_id,
                version: binding.version,
                content_hash: *content_hash,
                index: share.index,
                share: envelope::seal(&share.value, &PublicKey::from(server.public_key), &context)?,
                expires_at: now.saturating_add(REQUEST_LIFETIME_MS),
            };
            let signature = patient.sign(&deposit.signing_message()).0;
            match self
                .servers
                .deposit(server, &SignedDeposit { deposit, signature })
                .await
            {
                Ok(()) => deposited = deposited.saturating_add(1),
                Err(e) => refusals.push(e.to_string()),
            }
        }
        if deposited < usize::from(threshold) {
            return Err(FlowError::NotEnoughShares {
                got: deposited,
                needed: threshold,
                refusals,
            });
        }
        for refusal in refusals {
            self.warn(&format!("a deposit failed (the others suffice): {refusal}"));
        }
        Ok(deposited)
    }

    /// The reader's read: the on-chain access (logged), then one share from each server
    /// that releases it, the ciphertext from any server, checked against the chain's hash
    /// and decrypted to `out`.
    pub async fn get(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        record: RecordId,
        purpose: Purpose,
        store: &Store,
        out: &Path,
    ) -> Result<Opened> {
        let me = account_of(reader);
        let servers = self.key_servers().await?;
        let patient = self.record_at(None, &me, record).await?.patient;
        self.say("accessing the record on chain and waiting for finality");
        let mut registry = self.contracts().registry();
        let access = registry.access_record(record, purpose);
        let (predicted, included) = self
            .chain
            .submit(reader, &self.contracts().registry, &access)
            .await?;
        let included = match (predicted, included) {
            (_, Some(included)) => included,
            (result, None) => return Err(FlowError::Refused(format!("{result:?}"))),
        };
        let entry = self.my_entry(included.block, &patient, &me, record).await?;
        match entry.kind {
            EntryKind::Access | EntryKind::Emergency { .. } => {}
            EntryKind::Denied(reason) => return Err(FlowError::Denied(reason)),
            other => return Err(FlowError::Refused(format!("unexpected entry {other:?}"))),
        }
        self.open_with_entry(reader, reader_secret, &servers, &entry, store, out)
            .await
    }

    /// The last entry in `at`'s block of `actor` reading `record` of `patient`.
    pub async fn my_entry(
        &self,
        at: Block,
        patient: &AccountId,
        actor: &AccountId,
        record: RecordId,
    ) -> Result<LogEntry> {
        let log = self.contracts().log();
        let head = self
            .chain
            .read(Some(at), actor, &self.contracts().log, &log.head(*patient))
            .await?;
        let start = head
            .length
            .saturating_sub(u64::from(medconsent_shared::MAX_PAGE));
        let entries = self
            .chain
            .read(
                Some(at),
                actor,
                &self.contracts().log,
                &log.entries(*patient, start, medconsent_shared::MAX_PAGE),
            )
            .await?;
        entries
            .into_iter()
            .rev()
            .find(|e| &e.actor == actor && e.record == Some(record) && e.block == at.number)
            .ok_or_else(|| FlowError::Refused("the access left no entry in its block".into()))
    }

    /// Asks every server for its share of the record backed by `entry`, then fetches
    /// and opens the ciphertext. Public so tests can replay an entry.
    pub async fn open_with_entry(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        servers: &[KeyServer],
        entry: &LogEntry,
        store: &Store,
        out: &Path,
    ) -> Result<Opened> {
        let record_id = entry
            .record
            .ok_or_else(|| FlowError::Refused("entry without record".into()))?;
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let record = self.record_at(Some(at), &entry.actor, record_id).await?;
        if record.status == RecordStatus::Retired {
            return Err(FlowError::Refused(format!("record {record_id} is retired")));
        }
        self.say(&format!("asking {} key servers for shares", servers.len()));
        let reply_key = *PublicKey::from(reader_secret).as_bytes();
        let requests = servers.iter().map(|server| {
            let request = ReleaseRequest {
                server: server.public_key,
                patient: entry.patient,
                record: record_id,
                version: record.version,
                log_seq: entry.seq,
                requester: account_of(reader),
                reply_key,
                expires_at: now.saturating_add(REQUEST_LIFETIME_MS),
            };
            let signature = reader.sign(&request.signing_message()).0;
            let signed = SignedRequest { request, signature };
            async move { (server, self.servers.release(server, &signed).await) }
        });
        // Answers are taken as they come: once `threshold` shares rebuild the key the read
        // is done, so a server that hangs (or answers last) delays no one. A subset that
        // does not decrypt waits for the next share.
        let mut pending: futures::stream::FuturesUnordered<_> = requests.collect();
        let threshold = self.deployment.threshold;
        let binding = Binding {
            record_id,
            version: record.version,
        };
        let mut shares = Vec::new();
        let mut answered = Vec::new();
        let mut refusals = Vec::new();
        let mut blob = None;
        while let Some((server, answer)) = futures::StreamExt::next(&mut pending).await {
            let released = match answer {
                Ok(released) => released,
                Err(e) => {
                    refusals.push(e.to_string());
                    continue;
                }
            };
            let context = release_context(
                &server.public_key,
                &entry.patient,
                record_id,
                record.version,
                entry.seq,
                &account_of(reader),
                released.index,
            );
            match envelope::open(&released.share, reader_secret, &context) {
                Ok(value) => {
                    shares.push(Share {
                        index: released.index,
                        value: *value,
                    });
                    answered.push(server.clone());
                }
                Err(e) => {
                    refusals.push(format!("{}: {e}", server.endpoint.url));
                    continue;
                }
            }
            if shares.len() < usize::from(threshold) {
                continue;
            }
            // The ciphertext from the servers that answered first (a hung one is asked
            // last, only if all of those fail the hash check).
            let path = match &blob {
                Some(path) => path,
                None => {
                    let mut order = answered.clone();
                    order.extend(servers.iter().filter(|s| !answered.contains(s)).cloned());
                    blob.insert(self.fetch_blob(&order, &record.content_hash, store).await?)
                }
            };
            let opened = open_with_shares(&shares, threshold, |key| {
                let file = std::fs::File::open(path).map_err(crate::Error::Io)?;
                open_verified(file, &record.content_hash, key, binding, out, &mut |_| {})
            });
            match opened {
                Ok(rebuilt) => {
                    let suspects: Vec<String> = rebuilt
                        .misfits
                        .iter()
                        .map(|&i| answered[i].endpoint.url.clone())
                        .collect();
                    for url in &suspects {
                        self.warn(&format!(
                            "{url} released a share that does not fit the key: it lied or is \
                             broken (its operator or the deployment's admin should know)"
                        ));
                    }
                    return Ok(Opened {
                        record: record_id,
                        version: record.version,
                        log_seq: entry.seq,
                        shares_used: rebuilt.used,
                        shares_received: shares.len(),
                        suspects,
                        out: out.to_path_buf(),
                    });
                }
                Err(FlowError::SharesDisagree) => {
                    self.say("the shares so far do not rebuild the key; waiting for more")
                }
                Err(e) => return Err(e),
            }
        }
        if shares.len() < usize::from(threshold) {
            return Err(FlowError::NotEnoughShares {
                got: shares.len(),
                needed: threshold,
                refusals,
            });
        }
        Err(FlowError::SharesDisagree)
    }

    /// The ciphertext of `hash`, from the local store if it is there, else from the
    /// first server whose copy hashes right; kept in the local store.
    async fn fetch_blob(
        &self,
        servers: &[KeyServer],
        hash: &[u8; 32],
        store: &Store,
    ) -> Result<PathBuf> {
        let path = store.blob_path(hash);
        if store.verify(hash).is_ok() {
            return Ok(path);
        }
        let mut failures = Vec::new();
        for server in servers {
            match self.servers.get_blob(server, hash).await {
                Ok(bytes) if &crate::store::blake2b_256(&bytes) == hash => {
                    store.keep_blob(hash, &bytes)?;
                    return Ok(path);
                }
                Ok(_) => {
                    failures.push(format!("{}: a blob with another hash", server.endpoint.url))
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(FlowError::NoBlob(failures))
    }

    /// A new key and a new version for a record of the signer's: the ciphertext is
    /// re-sealed, the chain's record amended, new shares deposited (the servers drop the
    /// old version's). Readers who had the old key keep what they decrypted; no one gets
    /// the new key without a new access.
    pub async fn rotate(
        &self,
        patient: &Signer,
        owner: &StaticSecret,
        record_id: RecordId,
        store: &Store,
    ) -> Result<Sealed> {
        let me = account_of(patient);
        let servers = self.key_servers().await?;
        let record = self.record_at(None, &me, record_id).await?;
        if record.patient != me || record.status != RecordStatus::Active {
            return Err(FlowError::Refused(format!(
                "record {record_id} is not an active record of this account"
            )));
        }
        let old = Binding {
            record_id,
            version: record.version,
        };
        let old_key = read_owner_copy(store, owner, old, &record.content_hash)?;
        let old_blob = self
            .fetch_blob(&servers, &record.content_hash, store)
            .await?;
        let plain = store
            .dir()
            .join(format!(".rotate-{}", hex::encode(crate::random::<8>())));
        let file = std::fs::File::open(&old_blob).map_err(crate::Error::Io)?;
        open_verified(
            file,
            &record.content_hash,
            &old_key,
            old,
            &plain,
            &mut |_| {},
        )?;
        let new = Binding {
            record_id,
            version: record.version.saturating_add(1),
        };
        let key = crate::seal::new_record_key();
        let sealed = std::fs::File::open(&plain)
            .map_err(crate::Error::Io)
            .and_then(|file| store.put(std::io::BufReader::new(file), &key, new, &mut |_| {}));
        let _ = std::fs::remove_file(&plain);
        let stored = sealed?;
        self.upload(&servers, &stored.content_hash, &stored.path)
            .await?;
        self.say("amending the record on chain and waiting for finality");
        let mut registry = self.contracts().registry();
        let amend = registry.amend_record(
            record_id,
            stored.content_hash,
            stored.cid.as_bytes().to_vec(),
            Purpose::PatientRequest,
        );
        let (result, included) = self
            .chain
            .submit(patient, &self.contracts().registry, &amend)
            .await?;
        if included.is_none() {
            return Err(FlowError::Refused(format!("{result:?}")));
        }
        if result != Ok(new.version) {
            return Err(FlowError::Refused(format!(
                "the amendment gave {result:?}, expected version {}",
                new.version
            )));
        }
        write_owner_copy(store, owner, new, &stored.content_hash, &key)?;
        let deposited = self
            .deposit(patient, &servers, new, &stored.content_hash, &key)
            .await?;
        Ok(Sealed {
            record: record_id,
            version: new.version,
            content_hash: stored.content_hash,
            cid: stored.cid,
            shares_deposited: deposited,
        })
    }

    /// Which usable key servers hold a share of `record_id`'s current version (read at
    /// the finalized block, asked as `origin`).
    pub async fn holdings(&self, origin: &AccountId, record_id: RecordId) -> Result<Holdings> {
        let servers = self.key_servers().await?;
        let at = self.chain.finalized().await?;
        let record = self.record_at(Some(at), origin, record_id).await?;
        let mut at_servers = Vec::with_capacity(servers.len());
        for server in &servers {
            at_servers.push((
                server.endpoint.url.clone(),
                self.servers.versions_held(server, record_id).await,
            ));
        }
        Ok(Holdings {
            record: record_id,
            version: record.version,
            status: record.status,
            threshold: self.deployment.threshold,
            at_servers,
        })
    }

    /// Retires a record: on chain, then every server deletes its shares, then the
    /// patient's own key copies of every version are deleted from `store`. After it no
    /// copy of any version's key is left anywhere this system wrote one.
    pub async fn retire(
        &self,
        patient: &Signer,
        record_id: RecordId,
        store: &Store,
    ) -> Result<Retired> {
        let servers = self.key_servers().await?;
        let mut registry = self.contracts().registry();
        let retire = registry.retire_record(record_id);
        let (result, included) = self
            .chain
            .submit(patient, &self.contracts().registry, &retire)
            .await?;
        let Some(included) = included else {
            return Err(FlowError::Refused(format!("{result:?}")));
        };
        let mut at_servers = Vec::new();
        for server in &servers {
            at_servers.push((
                server.endpoint.url.clone(),
                self.servers.retire(server, record_id).await,
            ));
        }
        let me = account_of(patient);
        let record = self.record_at(Some(included.block), &me, record_id).await?;
        let mut own_copies_deleted = 0usize;
        for version in 1..=record.version {
            let query = registry.record_version(record_id, version);
            let Some(old) = self
                .chain
                .read(
                    Some(included.block),
                    &me,
                    &self.contracts().registry,
                    &query,
                )
                .await?
            else {
                continue;
            };
            if forget_owner_copy(store, &old.content_hash)? {
                own_copies_deleted = own_copies_deleted.saturating_add(1);
            }
        }
        Ok(Retired {
            at_servers,
            own_copies_deleted,
        })
    }
}

fn owner_copy_path(store: &Store, content_hash: &[u8; 32]) -> PathBuf {
    store
        .dir()
        .join(format!("{}.owner", hex::encode(content_hash)))
}

/// The patient's own copy of a record key, sealed to its X25519 key: the only place the
/// whole key is written.
fn write_owner_copy(
    store: &Store,
    owner: &StaticSecret,
    binding: Binding,
    content_hash: &[u8; 32],
    key: &RecordKey,
) -> Result<()> {
    let context = owner_context(binding.record_id, binding.version, content_hash);
    let sealed = envelope::seal(key, &PublicKey::from(owner), &context)?;
    let path = owner_copy_path(store, content_hash);
    let mut file = crate::private::create_new(&path).map_err(crate::Error::Io)?;
    std::io::Write::write_all(&mut file, &sealed).map_err(crate::Error::Io)?;
    file.sync_all().map_err(crate::Error::Io)?;
    Ok(())
}

/// Deletes the patient's own copy of a key; false if there was none. (A deletion, not an
/// overwrite: on copy-on-write filesystems and SSDs old blocks may linger, which is why
/// the copy is sealed to the patient's key in the first place.)
fn forget_owner_copy(store: &Store, content_hash: &[u8; 32]) -> Result<bool> {
    match std::fs::remove_file(owner_copy_path(store, content_hash)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::Error::Io(e).into()),
    }
}

fn read_owner_copy(
    store: &Store,
    owner: &StaticSecret,
    binding: Binding,
    content_hash: &[u8; 32],
) -> Result<RecordKey> {
    let bytes = std::fs::read(owner_copy_path(store, content_hash)).map_err(crate::Error::Io)?;
    let sealed: envelope::Sealed = bytes
        .as_slice()
        .try_into()
        .map_err(|_| crate::Error::BadFormat("owner key copy"))?;
    let context = owner_context(binding.record_id, binding.version, content_hash);
    Ok(envelope::open(&sealed, owner, &context)?)
}

/// What rebuilding the key took: how many shares, and which of the others (indices into
/// the shares given) do not fit the key that opened the record.
#[derive(Debug, PartialEq, Eq)]
struct Rebuilt {
    used: usize,
    misfits: Vec<usize>,
}

/// Rebuilds the key from `threshold` of `shares` and hands it to `open`, trying other
/// subsets while the key does not decrypt: any `threshold` honest shares rebuild it, so
/// one lying server's share costs tries, not the read. Once a key opens (the AEAD vouches
/// for it), every share left out is checked against it: one that, with `threshold - 1` of
/// the good ones, rebuilds another key (or none) came from a server that lied.
fn open_with_shares(
    shares: &[Share],
    threshold: u8,
    mut open: impl FnMut(&RecordKey) -> crate::Result<()>,
) -> Result<Rebuilt> {
    let t = usize::from(threshold);
    for subset in subsets(shares.len(), t) {
        let chosen: Vec<Share> = subset.iter().map(|&i| shares[i].clone()).collect();
        // A lying server can claim another's index (or 0): that subset rebuilds nothing,
        // the others still may.
        let Ok(key) = shamir::combine(&chosen, threshold) else {
            continue;
        };
        match open(&key) {
            Ok(()) => {
                let misfits = (0..shares.len())
                    .filter(|i| !subset.contains(i))
                    .filter(|&i| {
                        let mut probe = chosen[..t.saturating_sub(1)].to_vec();
                        probe.push(shares[i].clone());
                        shamir::combine(&probe, threshold).map_or(true, |other| *other != *key)
                    })
                    .collect();
                return Ok(Rebuilt {
                    used: chosen.len(),
                    misfits,
                });
            }
            Err(crate::Error::DecryptionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FlowError::SharesDisagree)
}

/// Index sets of size `k` out of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn walk(start: usize, n: usize, k: usize, current: &mut Vec<usize>, all: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            all.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            walk(i.saturating_add(1), n, k, current, all);
            current.pop();
        }
    }
    walk(0, n, k, &mut current, &mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_cover_every_choice_once() {
        assert_eq!(subsets(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(subsets(4, 4), vec![vec![0, 1, 2, 3]]);
        assert!(subsets(1, 2).is_empty());
    }

    const KEY: [u8; 32] = [0x42; 32];

    /// Three 2-of-3 shares of `KEY`.
    fn honest_shares() -> Vec<Share> {
        shamir::split(&KEY, 2, 3, &mut rand_core::OsRng).unwrap()
    }

    /// Opens with `shares` as a read does, where only `KEY` decrypts (as with
    /// `open_verified`): what was rebuilt, and how many keys were tried.
    fn rebuild(shares: &[Share]) -> (Result<Rebuilt>, usize) {
        let mut tries = 0;
        let rebuilt = open_with_shares(shares, 2, |candidate| {
            tries += 1;
            if **candidate == KEY {
                Ok(())
            } else {
                Err(crate::Error::DecryptionFailed)
            }
        });
        (rebuilt, tries)
    }

    fn two_used(misfits: Vec<usize>) -> Rebuilt {
        Rebuilt { used: 2, misfits }
    }

    #[test]
    fn a_lying_servers_share_costs_tries_not_the_read() {
        let mut shares = honest_shares();
        // The first server lies about its share.
        shares[0].value[5] ^= 0x80;
        let (rebuilt, tries) = rebuild(&shares);
        assert_eq!(rebuilt.unwrap(), two_used(vec![0]));
        // {0,1} and {0,2} fail, {1,2} opens.
        assert_eq!(tries, 3);
    }

    #[test]
    fn a_lying_share_not_needed_is_still_named_and_an_honest_one_never() {
        let honest = honest_shares();
        assert_eq!(rebuild(&honest).0.unwrap(), two_used(vec![]));
        // The last server lies: {0,1} opens at once, and its share is found out.
        let mut shares = honest.clone();
        shares[2].value[9] ^= 0x01;
        let (rebuilt, tries) = rebuild(&shares);
        assert_eq!(rebuilt.unwrap(), two_used(vec![2]));
        assert_eq!(tries, 1);
    }

    #[test]
    fn a_server_claiming_another_index_costs_tries_not_the_read() {
        let honest = honest_shares();
        for (claimed, expected_tries) in [(honest[1].index, 2), (0, 1)] {
            // The first server answers with another server's index (or 0), which no
            // Lagrange basis can take: that subset is skipped, not the whole read.
            let mut shares = honest.clone();
            shares[0].index = claimed;
            let (rebuilt, tries) = rebuild(&shares);
            assert_eq!(rebuilt.unwrap(), two_used(vec![0]), "index {claimed}");
            // Index 2: {0,1} cannot be combined, {0,2} decrypts wrong, {1,2} opens. Index
            // 0: neither subset with share 0 can be combined, {1,2} opens.
            assert_eq!(tries, expected_tries, "index {claimed}");
        }
    }

    #[test]
    fn shares_that_never_decrypt_are_an_error_not_a_wrong_key() {
        let mut shares = honest_shares();
        shares[0].value[0] ^= 1;
        shares[1].value[0] ^= 1;
        let (rebuilt, tries) = rebuild(&shares);
        assert!(matches!(rebuilt, Err(FlowError::SharesDisagree)));
        assert_eq!(tries, 3);
        // One share alone rebuilds nothing.
        let (rebuilt, tries) = rebuild(&shares[2..]);
        assert!(matches!(rebuilt, Err(FlowError::SharesDisagree)));
        assert_eq!(tries, 0);
    }
}
