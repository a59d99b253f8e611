//! Types, errors, events and `#[ink::trait_definition]` interfaces shared by the three
//! medconsent contracts. The contracts depend on this crate, never on each other: each
//! calls its peers through `ink::contract_ref!` over the traits in [`interfaces`].
#![cfg_attr(not(feature = "std"), no_std)]

pub mod admin;
pub mod consent;
pub mod flags;
pub mod interfaces;
pub mod log;
pub mod record;

pub use admin::{Admin, AdminFault};
pub use consent::*;
pub use flags::*;
pub use interfaces::*;
pub use log::*;
pub use record::*;

pub use ink::primitives::{AccountId, Hash};

/// Milliseconds since the Unix epoch, as pallet-timestamp reports it.
pub type Timestamp = u64;
/// Block number of the default environment.
pub type BlockNumber = u32;
/// A 32-byte digest: content hashes, justification hashes, log chain hashes.
pub type Hash32 = [u8; 32];
/// Global record id, assigned by the registry from 0.
pub type RecordId = u64;
/// Consent id, unique per patient (each patient's consents are numbered from 0).
pub type ConsentId = u64;
/// Position of an entry in one patient's log chain, from 0.
pub type LogSeq = u64;
/// Record category: an opaque code whose meaning is agreed off-chain (see README).
pub type CategoryCode = u16;

/// Upper bound on `limit` in every paginated query.
pub const MAX_PAGE: u32 = 32;
/// Upper bound on the bytes of a record locator.
pub const MAX_LOCATOR_LEN: usize = 128;
/// Upper bound on active rules per (patient, grantee) pair, so a check is O(1).
pub const MAX_RULES_PER_PAIR: usize = 8;

/// Clamps a caller's page size to [`MAX_PAGE`].
pub fn page_limit(limit: u32) -> u32 {
    limit.min(MAX_PAGE)
}
