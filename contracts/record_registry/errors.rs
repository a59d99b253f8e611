//! The record registry's typed errors: every refusal a message can answer with.

use medconsent_shared::DenyReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum Error {
    NotAdmin,
    NotPendingAdmin,
    UpgradeFailed,
    /// The registry is paused: nothing is registered, amended or released.
    Paused,
    /// An all-zero content hash.
    ZeroHash,
    /// A locator over MAX_LOCATOR_LEN bytes.
    LocatorTooLong,
    /// This content hash is (or was) a version of one of this patient's records.
    HashAlreadyRegistered,
    /// The caller may not write this patient's records; the reason says why.
    Unauthorized(DenyReason),
    RecordNotFound,
    RecordRetired,
    /// Retire and review are for the patient and current delegates only.
    NotPatientOrDelegate,
    /// The consent manager could not say who acts for the patient.
    ConsentUnavailable,
    /// An all-zero justification hash.
    EmptyJustification,
    EmergencyNotFound,
    AlreadyReviewed,
    /// The log refused the entry or could not be called: nothing happens unlogged.
    LogUnavailable,
    /// A record id, version or per-patient counter is exhausted.
    CounterOverflow,
    /// The record id the caller sealed for was taken by another registration first:
    /// re-seal for `next_record_id` and register again.
    RecordIdTaken,
    /// A review call with no reviews in it.
    NothingToReview,
    /// A review call with more than MAX_REVIEWS_PER_CALL reviews.
    TooManyReviews,
    /// A peer that is not a contract.
    NotAContract,
    /// No change is scheduled.
    NothingScheduled,
    /// The scheduled change's delay has not passed.
    NotYetDue,
    /// A chart access naming no record.
    EmptyChart,
    /// A chart access naming more than MAX_CHART_RECORDS records.
    ChartTooLarge,
}

pub type Result<T> = core::result::Result<T, Error>;

medconsent_shared::admin_faults_into!(Error);
