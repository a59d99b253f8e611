//! Records as the registry keeps them: hashes and locators of ciphertext, never content.

use crate::{AccountId, CategoryCode, Hash32, LogSeq, RecordId, Timestamp};
use ink::prelude::vec::Vec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum RecordStatus {
    Active,
    /// Crypto-shredded: the off-chain key and ciphertext are gone; never released again.
    Retired,
}

/// A record and its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Record {
    pub id: RecordId,
    pub patient: AccountId,
    /// Who wrote the current version.
    pub author: AccountId,
    pub category: CategoryCode,
    /// blake2b-256 (or any 32-byte digest) of the encrypted payload.
    pub content_hash: Hash32,
    /// Where the ciphertext lives (a CID, a URL); at most 128 bytes.
    pub locator: Vec<u8>,
    /// 1 for the first version, N+1 after each amendment.
    pub version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub status: RecordStatus,
}

/// One version of a record, as returned by the version query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct RecordVersion {
    pub content_hash: Hash32,
    pub locator: Vec<u8>,
    pub author: AccountId,
    /// When this version was written.
    pub written_at: Timestamp,
}

impl Record {
    /// The current version in the shape of a stored earlier one.
    pub fn current_version(&self) -> RecordVersion {
        RecordVersion {
            content_hash: self.content_hash,
            locator: self.locator.clone(),
            author: self.author,
            written_at: self.updated_at,
        }
    }
}

/// What an access call hands over on permit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct Release {
    pub content_hash: Hash32,
    pub locator: Vec<u8>,
    pub version: u32,
    /// The Access (or Emergency) entry in the patient's log chain.
    pub log_seq: LogSeq,
}

/// Outcome of an access call. A denial is a value, not an `Err`, so that its log
/// entry is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum AccessOutcome {
    Released(Release),
    Denied(crate::DenyReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Review {
    Pending,
    Justified,
    Unjustified,
}

/// A break-glass access queued for the patient's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct EmergencyAccess {
    pub record_id: RecordId,
    pub responder: AccountId,
    /// The Emergency entry in the patient's log (it holds the justification hash).
    pub log_seq: LogSeq,
    pub at: Timestamp,
    pub review: Review,
}
