//! Writes: a new record ([`Session::put`], or [`Session::put_as`] by a delegate or a
//! provider for a patient) and a new key and version for one ([`Session::rotate`]):
//! ciphertext to the servers, the record on chain, one sealed key share per server
//! signed by the author, and the patient's own sealed copy of the key.

/// For whom a record is written, and why (the purpose the chain checks the author's
/// Append permit for; the patient's own: `PatientRequest`).
#[derive(Debug, Clone, Copy)]
pub struct Authoring {
    pub patient: AccountId,
    pub purpose: Purpose,
}

use super::{FlowError, Result, Session, Written, REQUEST_LIFETIME_MS};
use crate::servers::{KeyServer, ServerError};
use crate::store::{open_verified, LocalStore};
use crate::{Binding, RecordKey};
use medconsent_chain::{account_of, Signer};
use medconsent_keyrelease::envelope::{self, deposit_context};
use medconsent_keyrelease::request::{Deposit, SignedDeposit};
use medconsent_keyrelease::shamir;
use medconsent_keyrelease::wire::ErrorCode;
use medconsent_shared::{AccountId, Purpose, RecordId, RecordStatus};
use std::path::Path;
use x25519_dalek::{PublicKey, StaticSecret};

impl Session {
    /// Seals `input` as a new record of the signer (version 1), stores the ciphertext at
    /// the key servers, registers it on chain, and deposits one key share per server.
    /// The patient's own copy of the key is sealed to `owner` in `store`.
    pub async fn put(
        &self,
        patient: &Signer,
        owner: &StaticSecret,
        input: &Path,
        category: u16,
        store: &LocalStore,
    ) -> Result<Written> {
        let authoring = Authoring {
            patient: account_of(patient),
            purpose: Purpose::PatientRequest,
        };
        self.put_as(patient, Some(owner), authoring, input, category, store)
            .await
    }

    /// [`Session::put`] by `author` for `authoring.patient`: the patient, a delegate,
    /// or a provider with an Append permit for the category and purpose (the chain
    /// decides; a refusal there ends the put before anything is uploaded). The key
    /// servers take the shares from the version's author. Only the patient keeps an own
    /// copy of the key (`owner`): anyone else reads the record, like any reader, through
    /// a logged access.
    pub async fn put_as(
        &self,
        author: &Signer,
        owner: Option<&StaticSecret>,
        authoring: Authoring,
        input: &Path,
        category: u16,
        store: &LocalStore,
    ) -> Result<Written> {
        let me = account_of(author);
        let patient = authoring.patient;
        let owner = owner.filter(|_| me == patient);
        // Without the patient's own copy of the key, a put whose shares do not reach
        // `threshold` servers leaves a record no one can open: it starts only if that many
        // servers answer now.
        let servers = self
            .sealable(self.key_servers().await?, owner.is_none())
            .await?;
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
        // The patient's own copy of the key before anything goes on chain: whatever fails
        // after, the ciphertext kept in `store` still opens.
        if let Some(owner) = owner {
            store.write_owner_copy(owner, binding, &stored.content_hash, &key)?;
        }
        self.say("registering the record on chain and waiting for finality");
        let mut registry = self.contracts().registry();
        let register = registry.register_record(
            patient,
            record,
            category,
            stored.content_hash,
            stored.cid.as_bytes().to_vec(),
            authoring.purpose,
        );
        let (result, included) = self
            .chain
            .submit(author, &self.contracts().registry, &register)
            .await?;
        let included = included.ok_or_else(|| super::not_included(result))?;
        let on_chain = self.record_at(Some(included.block), &me, record).await?;
        if on_chain.content_hash != stored.content_hash
            || on_chain.patient != patient
            || on_chain.author != me
        {
            return Err(FlowError::RecordIdTaken(record));
        }
        // After the registration: a server keeps only ciphertext the chain names.
        self.upload(&servers, record, &stored.content_hash, &stored.path)
            .await?;
        let deposited = self
            .deposit(
                author,
                patient,
                &servers,
                binding,
                &stored.content_hash,
                &key,
            )
            .await?;
        Ok(Written {
            record,
            version: 1,
            content_hash: stored.content_hash,
            cid: stored.cid,
            shares_deposited: deposited,
        })
    }

    /// The servers a new key may be sealed to: besides the directory (checked by
    /// `key_servers`), each server's own word on its key must be the pinned one, so a
    /// server that was re-keyed or replaced gets no share it cannot open, and one that
    /// claims another key gets none at all. An unreachable server is kept: its upload
    /// and deposit fail and are reported as usual, unless `answering` asks for
    /// `threshold` servers that answer with their pinned key.
    async fn sealable(&self, servers: Vec<KeyServer>, answering: bool) -> Result<Vec<KeyServer>> {
        let answers =
            futures::future::join_all(servers.iter().map(|s| self.servers.health(s))).await;
        let mut sealable = Vec::with_capacity(servers.len());
        let mut answered = 0usize;
        for (server, health) in servers.into_iter().zip(answers) {
            match health {
                Ok(health)
                    if medconsent_keyrelease::wire::hash_from_hex(&health.public_key)
                        != Some(server.public_key) =>
                {
                    self.warn(&format!(
                        "{} says its key is {}, not the pinned one: skipped",
                        server.endpoint.url, health.public_key
                    ));
                }
                Ok(_) => {
                    answered = answered.saturating_add(1);
                    sealable.push(server);
                }
                Err(_) => sealable.push(server),
            }
        }
        let needed = self.deployment.threshold;
        if sealable.len() < usize::from(needed) {
            return Err(FlowError::TooFewServers {
                active: sealable.len(),
                needed,
            });
        }
        if answering && answered < usize::from(needed) {
            return Err(FlowError::TooFewAnswering { answered, needed });
        }
        Ok(sealable)
    }

    async fn upload(
        &self,
        servers: &[KeyServer],
        record: RecordId,
        hash: &[u8; 32],
        path: &Path,
    ) -> Result<()> {
        let blob = std::fs::read(path).map_err(crate::Error::Io)?;
        self.say(&format!(
            "uploading the ciphertext ({} bytes) to {} key servers",
            blob.len(),
            servers.len()
        ));
        let mut failures = Vec::new();
        for server in servers {
            let upload = || self.servers.put_blob(server, record, hash, blob.clone());
            if let Err(e) = while_behind(upload).await {
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
        author: &Signer,
        patient: AccountId,
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
        self.say(&format!(
            "depositing one key share with each of {count} key servers ({threshold} open)"
        ));
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let mut deposited = 0usize;
        let mut refusals = Vec::new();
        let mut unreachable = 0usize;
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
                patient,
                depositor: account_of(author),
                record: binding.record_id,
                version: binding.version,
                content_hash: *content_hash,
                index: share.index,
                share: envelope::seal(&share.value, &PublicKey::from(server.public_key), &context)?,
                expires_at: now.saturating_add(REQUEST_LIFETIME_MS),
            };
            let signature = author.sign(&deposit.signing_message()).0;
            let signed = SignedDeposit { deposit, signature };
            match while_behind(|| self.servers.deposit(server, &signed)).await {
                Ok(()) => deposited = deposited.saturating_add(1),
                Err(e) => {
                    if matches!(e, ServerError::Unreachable { .. }) {
                        unreachable = unreachable.saturating_add(1);
                    }
                    refusals.push(e.to_string());
                }
            }
        }
        if deposited < usize::from(threshold) {
            return Err(FlowError::NotEnoughShares {
                got: deposited,
                needed: threshold,
                refusals,
                unreachable,
            });
        }
        for refusal in refusals {
            self.warn(&format!("a deposit failed (the others suffice): {refusal}"));
        }
        Ok(deposited)
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
        store: &LocalStore,
    ) -> Result<Written> {
        let me = account_of(patient);
        let servers = self.sealable(self.key_servers().await?, false).await?;
        let record = self.record_at(None, &me, record_id).await?;
        if record.patient != me || record.status != RecordStatus::Active {
            return Err(FlowError::NotYourActiveRecord(record_id));
        }
        let old = Binding {
            record_id,
            version: record.version,
        };
        let old_key = store.read_owner_copy(owner, old, &record.content_hash)?;
        let old_blob = self
            .fetch_blob(&servers, &record.content_hash, store)
            .await?;
        let plain = store.blobs().temp_path("rotate");
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
        store.write_owner_copy(owner, new, &stored.content_hash, &key)?;
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
        let Some(included) = included else {
            return Err(super::not_included(result));
        };
        // What the finalized block holds, not the dry run's prediction: another amendment
        // may have come first, and the new key is sealed for exactly this version.
        let on_chain = self.record_at(Some(included.block), &me, record_id).await?;
        if on_chain.version != new.version || on_chain.content_hash != stored.content_hash {
            return Err(FlowError::UnexpectedVersion {
                got: Some(on_chain.version),
                expected: new.version,
            });
        }
        self.upload(&servers, record_id, &stored.content_hash, &stored.path)
            .await?;
        let deposited = self
            .deposit(patient, me, &servers, new, &stored.content_hash, &key)
            .await?;
        Ok(Written {
            record: record_id,
            version: new.version,
            content_hash: stored.content_hash,
            cid: stored.cid,
            shares_deposited: deposited,
        })
    }
}

/// A server whose nodes are a block or two behind the client's does not see the record
/// (or its new version) yet: what it answers then is asked again, for up to 5 s.
async fn while_behind<T, F, Fut>(ask: F) -> std::result::Result<T, ServerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, ServerError>>,
{
    const BEHIND: [ErrorCode; 4] = [
        ErrorCode::RecordNotFound,
        ErrorCode::UnregisteredBlob,
        ErrorCode::WrongVersion,
        ErrorCode::ContentMismatch,
    ];
    while_refused_with(&BEHIND, ask).await
}

/// Asks again, every 500 ms up to 10 times, while the server refuses with one of
/// `codes`: refusals that mean it has not seen yet what the client's node finalized.
pub(super) async fn while_refused_with<T, F, Fut>(
    codes: &[ErrorCode],
    mut ask: F,
) -> std::result::Result<T, ServerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, ServerError>>,
{
    let mut tries = 0u32;
    loop {
        match ask().await {
            Err(e)
                if tries < 10
                    && e.code()
                        .and_then(ErrorCode::parse)
                        .is_some_and(|code| codes.contains(&code)) =>
            {
                tries = tries.saturating_add(1);
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}
