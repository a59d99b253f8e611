//! Entries of the access log and the hash that chains them.

use crate::{AccountId, BlockNumber, ConsentId, DenyReason, Hash32, LogSeq, Purpose, RecordId};
use ink::scale::Encode;

/// What happened. Variants with data keep what an auditor needs in the hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum EntryKind {
    Access,
    Denied(DenyReason),
    /// Break-glass access, with the hash of the written justification.
    Emergency {
        justification: Hash32,
    },
    /// The patient's review of the Emergency entry at `emergency_seq`.
    Review {
        emergency_seq: LogSeq,
        justified: bool,
    },
    RecordCreated,
    RecordAmended,
    RecordRetired,
    ConsentGranted,
    ConsentRevoked,
    /// The patient (or a delegate, the entry's actor) refused or allowed break-glass.
    EmergencyOptOut {
        opted_out: bool,
    },
}

impl EntryKind {
    /// Kinds the consent manager writes; the registry writes all the others.
    pub fn is_consent_change(&self) -> bool {
        matches!(
            self,
            EntryKind::ConsentGranted
                | EntryKind::ConsentRevoked
                | EntryKind::EmergencyOptOut { .. }
        )
    }
}

/// What a writer contract submits; the log adds seq, time, block and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct NewEntry {
    pub patient: AccountId,
    pub actor: AccountId,
    pub record: Option<RecordId>,
    pub kind: EntryKind,
    pub purpose: Option<Purpose>,
    pub consent: Option<ConsentId>,
}

/// The entries of a chart access (`access_chart`): one accessor's reads of several of
/// one patient's records for one purpose, appended in order as consecutive entries of
/// that patient's chain, each exactly the entry a single access would have written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct ChartEntries {
    pub patient: AccountId,
    pub actor: AccountId,
    pub purpose: Purpose,
    /// (record, Access or Denied(reason), consent) of each entry, in order.
    pub items: ink::prelude::vec::Vec<(RecordId, EntryKind, Option<ConsentId>)>,
}

/// One link of a patient's chain.
/// `hash = blake2b-256(previous hash || SCALE(every field before hash))`,
/// the previous hash of seq 0 being 32 zero bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct LogEntry {
    pub seq: LogSeq,
    pub patient: AccountId,
    pub actor: AccountId,
    pub record: Option<RecordId>,
    pub kind: EntryKind,
    pub purpose: Option<Purpose>,
    pub consent: Option<ConsentId>,
    pub timestamp: u64,
    pub block: BlockNumber,
    pub hash: Hash32,
}

impl LogEntry {
    /// The bytes the chain hash covers after the previous hash: the SCALE encoding of
    /// the entry without its `hash` field.
    pub fn body_encoding(&self) -> ink::prelude::vec::Vec<u8> {
        let mut body = self.encode();
        body.truncate(body.len().saturating_sub(HASH_LEN));
        body
    }

    /// `blake2b-256(previous || body)`: what `hash` must equal. `hash` is the last field,
    /// so the body is the entry's own encoding cut before it (one encoder, shared with
    /// storage, keeps the contract small).
    pub fn chain_hash(&self, previous: &Hash32) -> Hash32 {
        // SCALE encodes a tuple as its fields one after the other: these are the bytes
        // `previous || body_encoding()`, hashed without building them in a Vec.
        let preimage = (
            previous,
            self.seq,
            &self.patient,
            &self.actor,
            self.record,
            &self.kind,
            self.purpose,
            self.consent,
            self.timestamp,
            self.block,
        );
        let mut out = [0u8; 32];
        ink::env::hash_encoded::<ink::env::hash::Blake2x256, _>(&preimage, &mut out);
        out
    }
}

/// Bytes of the `hash` field that ends every encoded entry.
const HASH_LEN: usize = 32;

/// The end of a patient's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct ChainHead {
    /// Number of entries; the next entry's seq.
    pub length: u64,
    /// Hash of the last entry; zeros for an empty chain.
    pub last_hash: Hash32,
}

/// Errors of the access log contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum LogError {
    /// The caller is not the configured writer for this kind of entry.
    NotWriter,
    NotAdmin,
    NotPendingAdmin,
    UpgradeFailed,
    /// A patient's chain reached u64::MAX entries.
    ChainFull,
    /// `from` is after `until` in a time-range query.
    InvalidRange,
    /// A writer that is not a contract.
    NotAContract,
    /// No change is scheduled.
    NothingScheduled,
    /// The scheduled change's delay has not passed.
    NotYetDue,
    /// A chart with no entries: nothing to log.
    EmptyChart,
}

crate::admin_faults_into!(LogError);

/// Checks a run of entries against the chain rule, starting from `previous`
/// (zeros for seq 0). Returns the last hash on success, or the seq that breaks it.
pub fn verify_chain(previous: Hash32, entries: &[LogEntry]) -> Result<Hash32, LogSeq> {
    entries.iter().try_fold(previous, |prev, entry| {
        if entry.chain_hash(&prev) == entry.hash {
            Ok(entry.hash)
        } else {
            Err(entry.seq)
        }
    })
}
