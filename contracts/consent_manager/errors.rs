//! The consent manager's typed errors: every refusal a message can answer with.

use medconsent_shared::decision::TermsRefusals;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum Error {
    NotAdmin,
    NotPendingAdmin,
    UpgradeFailed,
    /// The contract is paused: nothing that widens access goes through.
    Paused,
    /// The caller is neither the patient nor a current delegate of the patient.
    NotPatientOrDelegate,
    /// A patient (or the delegate granting) cannot grant to or restrict themselves.
    SelfGrant,
    /// `Grantee::Anyone` is for Deny rules only.
    AnyoneMayOnlyBeDenied,
    /// Actions empty or with unknown bits.
    InvalidActions,
    /// Purposes empty or with unknown bits.
    InvalidPurposes,
    /// `valid_until` not after `valid_from`, or already past.
    InvalidWindow,
    /// A Record scope names a record that is not this patient's.
    UnknownRecord,
    /// The record registry could not be asked (not wired, failed or trapped).
    RegistryUnavailable,
    /// The (patient, grantee) pair already has MAX_RULES_PER_PAIR active rules.
    TooManyRules,
    ConsentNotFound,
    AlreadyRevoked,
    /// A patient cannot be their own delegate.
    SelfDelegation,
    /// A delegate term that ends now or in the past.
    InvalidTerm,
    DelegateNotFound,
    ProviderExists,
    ProviderNotFound,
    /// Roles empty or with unknown bits.
    InvalidRoles,
    /// An all-zero public key.
    InvalidKey,
    ProviderNotActive,
    ProviderNotSuspended,
    /// The consent counter of this patient is exhausted.
    CounterOverflow,
    /// The access log refused the entry or could not be called: nothing changes
    /// without an audit entry.
    LogUnavailable,
    /// A signed consent whose deadline has passed.
    SignatureExpired,
    /// A signed consent whose nonce the patient has already used or voided.
    NonceUsed,
    /// The signature is not the patient's over exactly these terms, for this contract
    /// on this chain.
    BadSignature,
    /// A peer that is not a contract.
    NotAContract,
    /// No change is scheduled.
    NothingScheduled,
    /// The scheduled change's delay has not passed.
    NotYetDue,
    /// The consent with this id is not the one the revoker named (grantee and terms):
    /// nothing is revoked.
    ConsentMismatch,
    /// A display name that is empty, longer than MAX_PROVIDER_NAME bytes, padded with
    /// spaces or holding control characters.
    InvalidName,
}

pub type Result<T> = core::result::Result<T, Error>;

medconsent_shared::admin_faults_into!(Error);

impl TermsRefusals for Error {
    const SELF_GRANT: Self = Error::SelfGrant;
    const ANYONE_MAY_ONLY_BE_DENIED: Self = Error::AnyoneMayOnlyBeDenied;
    const INVALID_ACTIONS: Self = Error::InvalidActions;
    const INVALID_PURPOSES: Self = Error::InvalidPurposes;
    const INVALID_WINDOW: Self = Error::InvalidWindow;
}
