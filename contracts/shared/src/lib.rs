//! Types, errors, events and `#[ink::trait_definition]` interfaces shared by the three
//! medconsent contracts. The contracts depend on this crate, never on each other: each
//! calls its peers through `ink::contract_ref!` over the traits in [`interfaces`].
#![cfg_attr(not(feature = "std"), no_std)]

pub mod admin;
pub mod consent;
pub mod decision;
pub mod flags;
#[cfg(feature = "std")]
pub mod fuzz;
pub mod interfaces;
pub mod log;
pub mod record;
pub mod signed;
pub mod split;
#[cfg(feature = "std")]
pub mod vector;
#[cfg(feature = "std")]
pub mod words;

pub use admin::{Admin, AdminChange, AdminFault, ScheduledChange};
pub use consent::*;
pub use flags::*;
pub use interfaces::*;
pub use log::*;
pub use record::*;
pub use signed::*;

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
/// Break-glass releases one responder may have for one patient per window: enough for
/// an emergency, too few to sweep a patient's records unnoticed.
pub const MAX_EMERGENCIES_PER_WINDOW: u32 = 5;
/// The window of [`MAX_EMERGENCIES_PER_WINDOW`]: 24 hours, in milliseconds.
pub const EMERGENCY_WINDOW_MS: Timestamp = 24 * 60 * 60 * 1000;
/// Upper bound on the records one chart access (`access_chart`) opens.
pub const MAX_CHART_RECORDS: usize = 32;
/// Upper bound on the break-glass accesses one review call marks.
pub const MAX_REVIEWS_PER_CALL: usize = 16;

/// Positions `start..start+limit` of a list of `len`, with `limit` capped at
/// [`MAX_PAGE`]: what every paginated query reads, and never more.
pub fn page_range(start: u64, len: u64, limit: u32) -> core::ops::Range<u64> {
    start..len.min(start.saturating_add(u64::from(limit.min(MAX_PAGE))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_capped_and_stay_inside_the_list() {
        assert_eq!(page_range(0, 100, 5), 0..5);
        assert_eq!(page_range(98, 100, 5), 98..100);
        assert_eq!(page_range(0, 100, u32::MAX), 0..u64::from(MAX_PAGE));
        assert!(page_range(100, 100, 5).is_empty());
        assert!(page_range(u64::MAX, 100, u32::MAX).is_empty());
    }
}
