//! The messages the contracts call on each other. Calls flow one way per transaction
//! (registry -> consent manager, registry -> log, consent manager -> registry lookup,
//! consent manager -> log), so no call re-enters its caller.

use crate::{
    AccessRequest, AccountId, ChartEntries, ChartRequest, LogError, LogSeq, NewEntry, RecordId,
    Verdict,
};
use ink::prelude::vec::Vec;

/// Implemented by the consent manager; called by the registry.
#[ink::trait_definition]
pub trait ConsentCheck {
    /// The decision for one access: deny overrides permit, no permit means deny.
    #[ink(message)]
    fn check(&self, request: AccessRequest) -> Verdict;

    /// The decisions for a chart, one per record in order, each the one `check` gives
    /// the same read of that record alone; the pair's rules are read once.
    #[ink(message)]
    fn check_chart(&self, request: ChartRequest) -> Vec<Verdict>;

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
    /// Appends to the patient's chain; only the configured writers may. `&self`: it
    /// writes through its own map handles only (see the access log), so ink! has no
    /// root to write back.
    #[ink(message)]
    fn append(&self, entry: NewEntry) -> Result<LogSeq, LogError>;

    /// Appends a chart's entries to the patient's chain in order; returns the first seq.
    #[ink(message)]
    fn append_chart(&self, chart: ChartEntries) -> Result<LogSeq, LogError>;
}

/// Fail-closed wrappers around the calls above: any failure of the peer (not wired, no
/// such contract, trapped, returned something that does not decode) comes back as the
/// most restrictive answer, never as a panic in the caller.
pub mod call {
    use super::{AuditLog, ConsentCheck, RecordLookup};
    use crate::{
        AccessRequest, AccountId, ChartEntries, ChartRequest, DenyReason, LogSeq, NewEntry,
        RecordId, Verdict,
    };
    use ink::codegen::TraitCallBuilder;
    use ink::prelude::vec::Vec;

    /// `contract_ref!` resolves `Environment` from the scope it expands in.
    type Environment = ink::env::DefaultEnvironment;

    /// The value a peer returned, or None when the call did not complete.
    fn settled<T>(outcome: Result<ink::MessageResult<T>, ink::env::Error>) -> Option<T> {
        outcome.ok()?.ok()
    }

    /// The consent manager's verdict; Deny(ConsentUnavailable) when it cannot answer.
    pub fn check(consent_manager: Option<AccountId>, request: AccessRequest) -> Verdict {
        let answer = consent_manager.and_then(|address| {
            let manager: ink::contract_ref!(ConsentCheck) = address.into();
            settled(manager.call().check(request).try_invoke())
        });
        answer.unwrap_or(Verdict::Deny(DenyReason::ConsentUnavailable))
    }

    /// One verdict per record of the chart; Deny(ConsentUnavailable) for every record
    /// when the manager cannot answer, or answers for a different number of records.
    pub fn check_chart(consent_manager: Option<AccountId>, request: ChartRequest) -> Vec<Verdict> {
        let records = request.records.len();
        let answer = consent_manager.and_then(|address| {
            let manager: ink::contract_ref!(ConsentCheck) = address.into();
            settled(manager.call().check_chart(request).try_invoke())
        });
        match answer {
            Some(verdicts) if verdicts.len() == records => verdicts,
            _ => ink::prelude::vec![Verdict::Deny(DenyReason::ConsentUnavailable); records],
        }
    }

    /// The break-glass verdict; Deny(ConsentUnavailable) when it cannot be had.
    pub fn check_emergency(
        consent_manager: Option<AccountId>,
        patient: AccountId,
        responder: AccountId,
    ) -> Verdict {
        let answer = consent_manager.and_then(|address| {
            let manager: ink::contract_ref!(ConsentCheck) = address.into();
            settled(
                manager
                    .call()
                    .check_emergency(patient, responder)
                    .try_invoke(),
            )
        });
        answer.unwrap_or(Verdict::Deny(DenyReason::ConsentUnavailable))
    }

    /// Whether `actor` acts for `patient`; None when the manager cannot answer.
    pub fn acts_for(
        consent_manager: Option<AccountId>,
        patient: AccountId,
        actor: AccountId,
    ) -> Option<bool> {
        let manager: ink::contract_ref!(ConsentCheck) = consent_manager?.into();
        settled(manager.call().acts_for(patient, actor).try_invoke())
    }

    /// The record's patient as the registry reports it: Some(None) for no such record,
    /// None when the registry cannot answer.
    pub fn record_patient(
        registry: Option<AccountId>,
        record_id: RecordId,
    ) -> Option<Option<AccountId>> {
        let registry: ink::contract_ref!(RecordLookup) = registry?.into();
        settled(registry.call().record_patient(record_id).try_invoke())
    }

    /// The seq of the appended entry; None when the log refused it or cannot be called.
    pub fn append(access_log: Option<AccountId>, entry: NewEntry) -> Option<LogSeq> {
        let log: ink::contract_ref!(AuditLog) = access_log?.into();
        settled(log.call().append(entry).try_invoke())?.ok()
    }

    /// The first seq of the appended chart entries; None when the log refused them or
    /// cannot be called.
    pub fn append_chart(access_log: Option<AccountId>, chart: ChartEntries) -> Option<LogSeq> {
        let log: ink::contract_ref!(AuditLog) = access_log?.into();
        settled(log.call().append_chart(chart).try_invoke())?.ok()
    }
}
