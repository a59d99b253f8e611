//! The reader's read ([`Session::get`]): the on-chain access, logged; then a share from
//! each server that backs it with the finalized entry, the ciphertext checked against
//! the chain's hash, and the plaintext written only once all of it authenticates.

use super::rebuild::open_with_shares;
use super::{FlowError, Opened, Result, Session, REQUEST_LIFETIME_MS};
use crate::servers::{KeyServer, ServerError};
use crate::store::{open_verified, LocalStore};
use crate::Binding;
use medconsent_chain::{account_of, Block, Signer};
use medconsent_keyrelease::blobs::blake2b_256;
use medconsent_keyrelease::envelope::{self, release_context};
use medconsent_keyrelease::request::{ReleaseRequest, SignedRequest};
use medconsent_keyrelease::shamir::Share;
use medconsent_shared::{AccountId, EntryKind, LogEntry, Purpose, RecordId, RecordStatus};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

impl Session {
    /// The reader's read: the on-chain access (logged), then one share from each server
    /// that releases it, the ciphertext from any server, checked against the chain's hash
    /// and decrypted to `out`.
    pub async fn get(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        record: RecordId,
        purpose: Purpose,
        store: &LocalStore,
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
            (result, None) => return Err(super::not_included(result)),
        };
        let entry = self.my_entry(included.block, &patient, &me, record).await?;
        match entry.kind {
            EntryKind::Access | EntryKind::Emergency { .. } => {}
            EntryKind::Denied(reason) => return Err(FlowError::Denied(reason)),
            other => return Err(FlowError::UnexpectedEntry(other)),
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
        let pages = |start: u64, count: u32| {
            let message = log.entries(*patient, start, count);
            async move {
                self.chain
                    .read(Some(at), actor, &self.contracts().log, &message)
                    .await
            }
        };
        find_entry(head.length, at.number, actor, record, pages).await
    }

    /// Asks every server for its share of the record backed by `entry`, then fetches
    /// and opens the ciphertext. Public so tests can replay an entry.
    pub async fn open_with_entry(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        servers: &[KeyServer],
        entry: &LogEntry,
        store: &LocalStore,
        out: &Path,
    ) -> Result<Opened> {
        let record_id = entry.record.ok_or(FlowError::EntryWithoutRecord)?;
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let record = self.record_at(Some(at), &entry.actor, record_id).await?;
        if record.status == RecordStatus::Retired {
            return Err(FlowError::RecordRetired(record_id));
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
        let mut unreachable = 0usize;
        let mut blob = None;
        while let Some((server, answer)) = futures::StreamExt::next(&mut pending).await {
            let released = match answer {
                Ok(released) => released,
                Err(e) => {
                    if matches!(e, ServerError::Unreachable { .. }) {
                        unreachable = unreachable.saturating_add(1);
                    }
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
                    self.say("fetching the ciphertext");
                    let mut order = answered.clone();
                    order.extend(servers.iter().filter(|s| !answered.contains(s)).cloned());
                    blob.insert(self.fetch_blob(&order, &record.content_hash, store).await?)
                }
            };
            self.say(&format!(
                "rebuilding the key from {} shares and decrypting into {}",
                shares.len(),
                out.display()
            ));
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
                unreachable,
            });
        }
        Err(FlowError::SharesDisagree)
    }

    /// The ciphertext of `hash`, from the local store if it is there, else from the
    /// first server whose copy hashes right; kept in the local store. Servers are asked in
    /// `servers` order, the next one also whenever [`BLOB_HEDGE`] passes without a good
    /// copy (or at once after a bad one): a server that stalls the transfer delays the
    /// read by that much, not by the request timeout.
    pub(super) async fn fetch_blob(
        &self,
        servers: &[KeyServer],
        hash: &[u8; 32],
        store: &LocalStore,
    ) -> Result<PathBuf> {
        let path = store.blob_path(hash);
        if store.blobs().verify(hash).is_ok() {
            return Ok(path);
        }
        let fetch = |server: &KeyServer| {
            let server = server.clone();
            async move {
                let got = self.servers.get_blob(&server, hash).await;
                (server, got)
            }
        };
        let mut waiting = servers.iter();
        let mut pending = futures::stream::FuturesUnordered::new();
        let mut failures = Vec::new();
        if let Some(first) = waiting.next() {
            pending.push(fetch(first));
        }
        while !pending.is_empty() {
            let hedge = tokio::time::sleep(BLOB_HEDGE);
            tokio::select! {
                Some((server, got)) = futures::StreamExt::next(&mut pending) => {
                    match got {
                        Ok(bytes) if &blake2b_256(&bytes) == hash => {
                            store
                                .blobs()
                                .keep(hash, &bytes)
                                .map_err(crate::Error::from)?;
                            return Ok(path);
                        }
                        Ok(_) => failures
                            .push(format!("{}: a blob with another hash", server.endpoint.url)),
                        Err(e) => failures.push(e.to_string()),
                    }
                    if let Some(next) = waiting.next() {
                        pending.push(fetch(next));
                    }
                }
                () = hedge => {
                    if let Some(next) = waiting.next() {
                        pending.push(fetch(next));
                    }
                }
            }
        }
        Err(FlowError::NoBlob(failures))
    }
}

/// How long a blob transfer may go without a good copy before the next server is asked
/// as well.
const BLOB_HEDGE: std::time::Duration = std::time::Duration::from_secs(2);

/// The newest entry of `actor` for `record` made in block `block`, searched from the
/// head backwards a page at a time until the entries are older than that block: however
/// many others the block appended after it (a chart of 32, a flood of denials), it is
/// found.
async fn find_entry<F, Fut>(
    length: u64,
    block: u32,
    actor: &AccountId,
    record: RecordId,
    mut page: F,
) -> Result<LogEntry>
where
    F: FnMut(u64, u32) -> Fut,
    Fut: std::future::Future<Output = medconsent_chain::Result<Vec<LogEntry>>>,
{
    let size = u64::from(medconsent_shared::MAX_PAGE);
    let mut end = length;
    while end > 0 {
        let start = end.saturating_sub(size);
        let count = u32::try_from(end.saturating_sub(start)).unwrap_or(u32::MAX);
        let entries = page(start, count).await?;
        // Its outcome, whatever it was (a denial is reported as one).
        if let Some(found) = entries
            .iter()
            .rev()
            .find(|e| &e.actor == actor && e.record == Some(record) && e.block == block)
        {
            return Ok(*found);
        }
        // Entries are in block order: once a page starts before the block, stop.
        if entries.first().is_none_or(|e| e.block < block) {
            break;
        }
        end = start;
    }
    Err(FlowError::NoEntry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::EntryKind;

    fn entry(seq: u64, actor: u8, record: RecordId, block: u32) -> LogEntry {
        LogEntry {
            seq,
            patient: AccountId::from([1; 32]),
            actor: AccountId::from([actor; 32]),
            record: Some(record),
            kind: EntryKind::Access,
            purpose: None,
            consent: None,
            timestamp: u64::from(block) * 1_000,
            block,
            hash: [0; 32],
        }
    }

    #[tokio::test]
    async fn the_readers_entry_is_found_behind_a_hundred_others_of_its_block() {
        // Blocks 1..=5 hold 10 entries each; block 6 holds ours (seq 51), then 100 more.
        let mut chain: Vec<LogEntry> = (0..50)
            .map(|i| entry(i, 2, 7, 1 + (i / 10) as u32))
            .collect();
        chain.push(entry(50, 2, 7, 6));
        chain.push(entry(51, 9, 7, 6));
        chain.extend((52..152).map(|i| entry(i, 3, 7, 6)));
        let reads = std::cell::Cell::new(0u32);
        let page = |start: u64, count: u32| {
            reads.set(reads.get() + 1);
            let slice: Vec<LogEntry> = chain
                .iter()
                .skip(start as usize)
                .take(count as usize)
                .cloned()
                .collect();
            async move { Ok(slice) }
        };
        let me = AccountId::from([9; 32]);
        let found = find_entry(chain.len() as u64, 6, &me, 7, page)
            .await
            .unwrap();
        assert_eq!(found.seq, 51);
        assert_eq!(reads.get(), 4, "pages read back to ours");
        // Not in its block: the search stops at the first page before it.
        reads.set(0);
        let missing = find_entry(chain.len() as u64, 6, &me, 8, page).await;
        assert!(matches!(missing, Err(FlowError::NoEntry)));
        assert_eq!(reads.get(), 4, "no page before the block is read");
        assert!(matches!(
            find_entry(0, 6, &me, 7, page).await,
            Err(FlowError::NoEntry)
        ));
    }
}
