//! The messages the contracts call on each other. Calls flow one way per transaction
//! (registry -> consent manager, registry -> log, consent manager -> registry lookup,
//! consent manager -> log), so no call re-enters its caller.

use crate::{AccessRequest, AccountId, LogError, LogSeq, NewEntry, RecordId, Verdict};

/// Implemented by the consent manager; called by the registry.
#[ink::trait_definition]
pub trait ConsentCheck {
    /// The decision for one access: deny overrides permit, no permit means deny.
    #[ink(message)]
    fn check(&self, request: AccessRequest) -> Verdict;

    /// The decision for a break-glass access by `responder`.
    #[ink(message)]
    fn check_emergency(&self, patient: AccountId, responder: AccountId) -> Verdict;

    /// Whether `actor` is the patient or one of the patient's current delegates.
    #[ink(message)]
    fn acts_for(&self, patient: AccountId, actor: AccountId) -> bool;
}

/// Implemented by the record registry; called by the consent manager.
#[ink::trait_definition]
pub trait RecordLookup {
    /// The patient a record belongs to, if the record exists.
    #[ink(message)]
    fn record_patient(&self, record_id: RecordId) -> Option<AccountId>;
}

/// Implemented by the access log; called by the registry and the consent manager.
#[ink::trait_definition]
pub trait AuditLog {
    /// Appends to the patient's chain; only the configured writers may.
    #[ink(message)]
    fn append(&mut self, entry: NewEntry) -> Result<LogSeq, LogError>;
}
