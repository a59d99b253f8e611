//! The rules a key server applies before it releases a share (docs/design.md, "Key
//! servers and the client"): the request is the requester's, for this server, unexpired;
//! the log entry it names exists
//! in a finalized block, is an Access (or a released Emergency) of that requester for
//! that record, recent, and unused at this server; the record is not retired, the
//! version is current and was current when the entry was made; the share goes to the requester's directory key, or for the
//! patient's own (PATRQT) read to the key in the signed request. The server gathers the
//! chain facts (at its latest finalized block) and its own `used` flag; this module only
//! decides, so every rule is tested without a node.

use crate::request::{ReleaseRequest, SignedRequest};
use crate::wire::ErrorCode;

mod deposit;
mod justification;
pub use deposit::{
    authentic_deposit, decide_deposit, deposit_rules, may_replace, DepositorStanding,
};
pub use justification::{
    authentic_justification, authentic_justification_request, justification_request_rules,
    justification_rules,
};
use medconsent_shared::{
    EntryKind, LogEntry, Provider, ProviderStatus, Purpose, Record, RecordStatus, Role, Timestamp,
};

/// What the chain said, read at the server's latest finalized block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFacts {
    /// Entry `log_seq` of the patient's chain, if the finalized chain has it.
    pub entry: Option<LogEntry>,
    /// The record as the finalized registry has it.
    pub record: Option<Record>,
    /// The requester in the provider directory, if it is a provider.
    pub provider: Option<Provider>,
    /// Whether the requester is a delegate in force of the entry's patient (read only for
    /// an own-request entry of someone other than the patient).
    pub delegate: bool,
    /// The finalized block's timestamp (ms): the server's clock is the chain's.
    pub finalized_at: Timestamp,
}

/// The server's configuration of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How old (ms, chain time) an access entry may be when its share is asked for.
    pub max_entry_age: Timestamp,
    /// How far ahead (ms) a request may expire: a bound on how long one may be held.
    pub max_request_lifetime: Timestamp,
}

/// Why a share is not released; [`Refusal::code`] is what the server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the signature is not the requester's over this request")]
    BadSignature,
    #[error("the request is for another key server")]
    WrongServer,
    #[error("the request has expired, or expires too far ahead")]
    Expired,
    #[error("no such log entry in a finalized block (yet)")]
    NoSuchEntry,
    #[error("the log entry is not a released access")]
    NotAnAccess,
    #[error("the log entry is another reader's")]
    OtherReader,
    #[error("the log entry is for another record or patient")]
    OtherRecord,
    #[error("the log entry is too old")]
    StaleEntry,
    #[error("the log entry is older than the record's current version: it opens only the version it was made for")]
    EntryBeforeVersion,
    #[error("this log entry was already used at this server")]
    EntryUsed,
    #[error("no such record")]
    RecordNotFound,
    #[error("the record is retired: its shares are destroyed")]
    Retired,
    #[error("the record's current version is another")]
    WrongVersion,
    #[error("the reply key is not the requester's key in the provider directory")]
    ReplyKeyMismatch,
    #[error("the requester is suspended in the provider directory")]
    RequesterSuspended,
    #[error("this key server is not an active key server with this key in the directory")]
    ServerNotListed,
    #[error("the deposit names another patient or record than the chain's")]
    NotThePatient,
    #[error("the depositor is not the record's patient, a delegate in force, or the active provider who wrote this version")]
    NotAnAuthor,
    #[error("the content hash is not the record's current one")]
    ContentMismatch,
    #[error("the share does not open at this server under the deposit's terms")]
    BadShare,
    #[error("the record is not retired on the finalized chain")]
    NotRetired,
    #[error("this server already holds another share of this version: only the patient or a delegate replaces it")]
    ShareHeld,
    #[error("the log entry is not a break-glass access")]
    NotAnEmergency,
    #[error("the break-glass entry is another responder's")]
    NotTheResponder,
    #[error("only the patient or a delegate in force reads a break-glass justification")]
    NotPatientOrDelegate,
    #[error("the sealed justification is longer than a server keeps")]
    TextTooLong,
    #[error(
        "this server already keeps another copy of this entry's justification: a copy is left once"
    )]
    JustificationHeld,
}

impl Refusal {
    /// The refusal's code in the one list ([`ErrorCode`]), which also gives its status.
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::BadSignature => ErrorCode::BadSignature,
            Refusal::WrongServer => ErrorCode::WrongServer,
            Refusal::Expired => ErrorCode::Expired,
            Refusal::NoSuchEntry => ErrorCode::NoSuchEntry,
            Refusal::NotAnAccess => ErrorCode::NotAnAccess,
            Refusal::OtherReader => ErrorCode::OtherReader,
            Refusal::OtherRecord => ErrorCode::OtherRecord,
            Refusal::StaleEntry => ErrorCode::StaleEntry,
            Refusal::EntryBeforeVersion => ErrorCode::EntryBeforeVersion,
            Refusal::EntryUsed => ErrorCode::EntryUsed,
            Refusal::RecordNotFound => ErrorCode::RecordNotFound,
            Refusal::Retired => ErrorCode::Retired,
            Refusal::WrongVersion => ErrorCode::WrongVersion,
            Refusal::ReplyKeyMismatch => ErrorCode::ReplyKeyMismatch,
            Refusal::RequesterSuspended => ErrorCode::RequesterSuspended,
            Refusal::ServerNotListed => ErrorCode::ServerNotListed,
            Refusal::NotThePatient => ErrorCode::NotThePatient,
            Refusal::NotAnAuthor => ErrorCode::NotAnAuthor,
            Refusal::ContentMismatch => ErrorCode::ContentMismatch,
            Refusal::BadShare => ErrorCode::BadShare,
            Refusal::NotRetired => ErrorCode::NotRetired,
            Refusal::ShareHeld => ErrorCode::ShareHeld,
            Refusal::NotAnEmergency => ErrorCode::NotAnEmergency,
            Refusal::NotTheResponder => ErrorCode::NotTheResponder,
            Refusal::NotPatientOrDelegate => ErrorCode::NotPatientOrDelegate,
            Refusal::TextTooLong => ErrorCode::TooLarge,
            Refusal::JustificationHeld => ErrorCode::ShareHeld,
        }
    }
}

/// Whether `server` (its X25519 public key) may release its share for `signed`, given the
/// chain facts and whether the entry was already used here. Cheap checks come first, so
/// a forged request costs the server no chain read.
pub fn precheck(
    signed: &SignedRequest,
    server: &[u8; 32],
    now: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    let request = &signed.request;
    addressed_and_current(&request.server, request.expires_at, server, now, policy)?;
    if !signed.is_signed_by_requester() {
        return Err(Refusal::BadSignature);
    }
    Ok(())
}

/// What needs no chain read: the request is for this server and signed by its requester.
/// Checked before anything is read, so a forged request costs the server no RPC.
pub fn authentic_request(signed: &SignedRequest, server: &[u8; 32]) -> Result<(), Refusal> {
    if &signed.request.server != server {
        return Err(Refusal::WrongServer);
    }
    if !signed.is_signed_by_requester() {
        return Err(Refusal::BadSignature);
    }
    Ok(())
}

/// A signed message is for this server and neither expired nor good for longer than the
/// policy allows (a bound on how long one may be held).
fn addressed_and_current(
    addressee: &[u8; 32],
    expires_at: Timestamp,
    server: &[u8; 32],
    now: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    if addressee != server {
        return Err(Refusal::WrongServer);
    }
    current(expires_at, now, policy)
}

/// The whole decision: `precheck` at the chain's time, then the log entry, the record and
/// the reply key.
pub fn decide(
    signed: &SignedRequest,
    server: &[u8; 32],
    facts: &ChainFacts,
    used: bool,
    policy: &Policy,
) -> Result<(), Refusal> {
    precheck(signed, server, facts.finalized_at, policy)?;
    rules(&signed.request, facts, used, policy)
}

/// Whether an authentic request (see [`authentic_request`]) is still current at chain
/// time `now`: not expired, and not good for longer than the policy allows.
pub fn current(expires_at: Timestamp, now: Timestamp, policy: &Policy) -> Result<(), Refusal> {
    if expires_at <= now || expires_at > now.saturating_add(policy.max_request_lifetime) {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// The rules after [`precheck`]: the log entry, the record and the reply key. A server
/// that checked the request with [`authentic_request`] and [`current`] calls this, so
/// the signature is verified once.
pub fn rules(
    request: &ReleaseRequest,
    facts: &ChainFacts,
    used: bool,
    policy: &Policy,
) -> Result<(), Refusal> {
    let entry = facts.entry.as_ref().ok_or(Refusal::NoSuchEntry)?;
    if entry.patient != request.patient
        || entry.seq != request.log_seq
        || entry.record != Some(request.record)
    {
        return Err(Refusal::OtherRecord);
    }
    // Access is written only on release; Emergency only for a released break-glass.
    if !matches!(entry.kind, EntryKind::Access | EntryKind::Emergency { .. }) {
        return Err(Refusal::NotAnAccess);
    }
    if entry.actor != request.requester {
        return Err(Refusal::OtherReader);
    }
    // An entry stamped after the block it is read at is not one the chain wrote.
    if entry.timestamp > facts.finalized_at
        || facts.finalized_at.saturating_sub(entry.timestamp) > policy.max_entry_age
    {
        return Err(Refusal::StaleEntry);
    }
    if used {
        return Err(Refusal::EntryUsed);
    }
    let record = facts.record.as_ref().ok_or(Refusal::RecordNotFound)?;
    if record.id != request.record || record.patient != request.patient {
        return Err(Refusal::OtherRecord);
    }
    if record.status == RecordStatus::Retired {
        return Err(Refusal::Retired);
    }
    if record.version != request.version {
        return Err(Refusal::WrongVersion);
    }
    // An entry opens the version current when it was made. A later version was written
    // at `updated_at`; an entry of that same block is refused too, since a block's order
    // is not visible here (the reader makes a new access). Version 1 is written before
    // any access to it can be.
    if record.version > 1 && entry.timestamp <= record.updated_at {
        return Err(Refusal::EntryBeforeVersion);
    }
    // The patient's own read (or a delegate's, PATRQT) goes to the key it signed for;
    // anyone else's share to its directory key, while the directory keeps it active.
    let own_read = entry.purpose == Some(Purpose::PatientRequest)
        && (entry.actor == entry.patient || facts.delegate);
    if !own_read {
        let provider = facts.provider.as_ref().ok_or(Refusal::ReplyKeyMismatch)?;
        if provider.public_key != request.reply_key {
            return Err(Refusal::ReplyKeyMismatch);
        }
        if provider.status != ProviderStatus::Active {
            return Err(Refusal::RequesterSuspended);
        }
    }
    Ok(())
}

/// Whether the directory lists `server` (its account's entry) as an active key server
/// with `public_key`: a suspended or re-keyed server takes no deposit and releases
/// nothing.
pub fn server_listed(server: Option<&Provider>, public_key: &[u8; 32]) -> Result<(), Refusal> {
    match server {
        Some(p)
            if p.status == ProviderStatus::Active
                && p.roles.contains(Role::KeyServer)
                && &p.public_key == public_key =>
        {
            Ok(())
        }
        _ => Err(Refusal::ServerNotListed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{account, keypair, request, sign};
    use medconsent_shared::{AccountId, DenyReason};

    const SERVER: [u8; 32] = [0x5e; 32];
    const POLICY: Policy = Policy {
        max_entry_age: 600_000,
        max_request_lifetime: 300_000,
    };
    const NOW: Timestamp = 900_000;

    fn entry_for(request: &ReleaseRequest) -> LogEntry {
        LogEntry {
            seq: request.log_seq,
            patient: request.patient,
            actor: request.requester,
            record: Some(request.record),
            kind: EntryKind::Access,
            purpose: Some(Purpose::Treat),
            consent: Some(0),
            timestamp: NOW - 6_000,
            block: 150,
            hash: [7; 32],
        }
    }

    fn record_for(request: &ReleaseRequest) -> Record {
        Record {
            id: request.record,
            patient: request.patient,
            author: request.patient,
            category: 3,
            content_hash: [1; 32],
            locator: b"bafy".to_vec(),
            version: request.version,
            created_at: 0,
            updated_at: 0,
            status: RecordStatus::Active,
        }
    }

    fn provider(public_key: [u8; 32], status: ProviderStatus) -> Provider {
        Provider {
            roles: medconsent_shared::RoleSet::from([Role::Clinician]),
            status,
            public_key,
            registered_at: 0,
        }
    }

    /// A doctor's valid request and the facts that back it.
    fn valid() -> (SignedRequest, ChainFacts) {
        let doctor = keypair(1);
        let request = request(&doctor);
        let facts = ChainFacts {
            entry: Some(entry_for(&request)),
            record: Some(record_for(&request)),
            provider: Some(provider(request.reply_key, ProviderStatus::Active)),
            delegate: false,
            finalized_at: NOW,
        };
        (sign(&doctor, request), facts)
    }

    #[test]
    fn a_backed_request_is_released() {
        let (signed, facts) = valid();
        assert_eq!(decide(&signed, &SERVER, &facts, false, &POLICY), Ok(()));
        // A released break-glass entry backs a release too.
        let mut emergency = facts.clone();
        emergency.entry.as_mut().unwrap().kind = EntryKind::Emergency {
            justification: [9; 32],
        };
        assert_eq!(decide(&signed, &SERVER, &emergency, false, &POLICY), Ok(()));
    }

    #[test]
    fn each_rule_refuses_with_its_code() {
        let (signed, facts) = valid();
        let refused = |signed: &SignedRequest, facts: &ChainFacts, used: bool| {
            decide(signed, &SERVER, facts, used, &POLICY).unwrap_err()
        };
        // Request-level.
        let other_server = sign(
            &keypair(1),
            ReleaseRequest {
                server: [1; 32],
                ..signed.request.clone()
            },
        );
        assert_eq!(refused(&other_server, &facts, false), Refusal::WrongServer);
        let expired = sign(
            &keypair(1),
            ReleaseRequest {
                expires_at: NOW,
                ..signed.request.clone()
            },
        );
        assert_eq!(refused(&expired, &facts, false), Refusal::Expired);
        let held = sign(
            &keypair(1),
            ReleaseRequest {
                expires_at: NOW + 300_001,
                ..signed.request.clone()
            },
        );
        assert_eq!(refused(&held, &facts, false), Refusal::Expired);
        let forged = SignedRequest {
            signature: sign(&keypair(2), signed.request.clone()).signature,
            ..signed.clone()
        };
        assert_eq!(refused(&forged, &facts, false), Refusal::BadSignature);
        // Entry-level.
        let mut none = facts.clone();
        none.entry = None;
        assert_eq!(refused(&signed, &none, false), Refusal::NoSuchEntry);
        let mut denied = facts.clone();
        denied.entry.as_mut().unwrap().kind = EntryKind::Denied(DenyReason::NoConsent);
        assert_eq!(refused(&signed, &denied, false), Refusal::NotAnAccess);
        let mut created = facts.clone();
        created.entry.as_mut().unwrap().kind = EntryKind::RecordCreated;
        assert_eq!(refused(&signed, &created, false), Refusal::NotAnAccess);
        let mut other_reader = facts.clone();
        other_reader.entry.as_mut().unwrap().actor = account(&keypair(3));
        assert_eq!(refused(&signed, &other_reader, false), Refusal::OtherReader);
        let mut other_record = facts.clone();
        other_record.entry.as_mut().unwrap().record = Some(8);
        assert_eq!(refused(&signed, &other_record, false), Refusal::OtherRecord);
        let mut other_patient = facts.clone();
        other_patient.entry.as_mut().unwrap().patient = AccountId::from([0xb1; 32]);
        assert_eq!(
            refused(&signed, &other_patient, false),
            Refusal::OtherRecord
        );
        let mut stale = facts.clone();
        stale.entry.as_mut().unwrap().timestamp = NOW - 600_001;
        assert_eq!(refused(&signed, &stale, false), Refusal::StaleEntry);
        let mut future = facts.clone();
        future.entry.as_mut().unwrap().timestamp = NOW + 1;
        assert_eq!(refused(&signed, &future, false), Refusal::StaleEntry);
        assert_eq!(refused(&signed, &facts, true), Refusal::EntryUsed);
        // Record-level.
        let mut gone = facts.clone();
        gone.record = None;
        assert_eq!(refused(&signed, &gone, false), Refusal::RecordNotFound);
        let mut retired = facts.clone();
        retired.record.as_mut().unwrap().status = RecordStatus::Retired;
        assert_eq!(refused(&signed, &retired, false), Refusal::Retired);
        let mut amended = facts.clone();
        amended.record.as_mut().unwrap().version += 1;
        assert_eq!(refused(&signed, &amended, false), Refusal::WrongVersion);
        // Reply key: a provider's share goes to its directory key only.
        let mut rotated = facts.clone();
        rotated.provider.as_mut().unwrap().public_key = [0xd1; 32];
        assert_eq!(refused(&signed, &rotated, false), Refusal::ReplyKeyMismatch);
        let mut not_provider = facts.clone();
        not_provider.provider = None;
        assert_eq!(
            refused(&signed, &not_provider, false),
            Refusal::ReplyKeyMismatch
        );
        // A provider suspended after its access collects nothing more.
        let mut suspended = facts;
        suspended.provider.as_mut().unwrap().status = ProviderStatus::Suspended;
        assert_eq!(
            refused(&signed, &suspended, false),
            Refusal::RequesterSuspended
        );
    }

    #[test]
    fn only_the_patient_and_its_delegates_name_their_reply_key() {
        let (signed, mut facts) = valid();
        // An own-request entry of someone who is neither (a permit for it was granted
        // before the consent manager refused such grants): the provider rules apply.
        facts.entry.as_mut().unwrap().purpose = Some(Purpose::PatientRequest);
        facts.provider.as_mut().unwrap().public_key = [0xd1; 32];
        assert_eq!(
            decide(&signed, &SERVER, &facts, false, &POLICY),
            Err(Refusal::ReplyKeyMismatch)
        );
        facts.provider.as_mut().unwrap().status = ProviderStatus::Suspended;
        facts.delegate = true;
        assert_eq!(decide(&signed, &SERVER, &facts, false, &POLICY), Ok(()));
    }

    #[test]
    fn a_server_acts_only_while_the_directory_lists_it_with_its_key() {
        let mut server = provider(SERVER, ProviderStatus::Active);
        assert_eq!(
            server_listed(Some(&server), &SERVER),
            Err(Refusal::ServerNotListed),
            "a clinician, not a key server"
        );
        server.roles = medconsent_shared::RoleSet::from([Role::KeyServer]);
        assert_eq!(server_listed(Some(&server), &SERVER), Ok(()));
        assert_eq!(
            server_listed(Some(&server), &[1; 32]),
            Err(Refusal::ServerNotListed)
        );
        server.status = ProviderStatus::Suspended;
        assert_eq!(
            server_listed(Some(&server), &SERVER),
            Err(Refusal::ServerNotListed)
        );
        assert_eq!(server_listed(None, &SERVER), Err(Refusal::ServerNotListed));
    }

    #[test]
    fn an_entry_opens_only_the_version_current_when_it_was_made() {
        let (signed, facts) = valid();
        let made_at = facts.entry.as_ref().unwrap().timestamp;
        let later = sign(
            &keypair(1),
            ReleaseRequest {
                version: signed.request.version + 1,
                ..signed.request.clone()
            },
        );
        let written_at = |at: Timestamp| {
            let mut amended = facts.clone();
            let record = amended.record.as_mut().unwrap();
            record.version = later.request.version;
            record.updated_at = at;
            decide(&later, &SERVER, &amended, false, &POLICY)
        };
        assert_eq!(written_at(made_at + 1), Err(Refusal::EntryBeforeVersion));
        // The same block: its order is not known, so refused too.
        assert_eq!(written_at(made_at), Err(Refusal::EntryBeforeVersion));
        assert_eq!(written_at(made_at - 1), Ok(()));
        // Version 1 exists before any access to it: its write time does not matter.
        let first_version = sign(
            &keypair(1),
            ReleaseRequest {
                version: 1,
                ..signed.request.clone()
            },
        );
        let mut first = facts.clone();
        let record = first.record.as_mut().unwrap();
        record.version = 1;
        record.updated_at = made_at;
        assert_eq!(
            decide(&first_version, &SERVER, &first, false, &POLICY),
            Ok(())
        );
    }

    #[test]
    fn the_patients_own_read_goes_to_the_signed_key() {
        let patient = keypair(5);
        let request = ReleaseRequest {
            patient: account(&patient),
            ..request(&patient)
        };
        let mut entry = entry_for(&request);
        entry.purpose = Some(Purpose::PatientRequest);
        let facts = ChainFacts {
            entry: Some(entry),
            record: Some(record_for(&request)),
            provider: None,
            delegate: false,
            finalized_at: NOW,
        };
        let signed = sign(&patient, request);
        assert_eq!(decide(&signed, &SERVER, &facts, false, &POLICY), Ok(()));
    }

    #[test]
    fn codes_are_distinct_and_statuses_are_client_errors() {
        let all = [
            Refusal::BadSignature,
            Refusal::WrongServer,
            Refusal::Expired,
            Refusal::NoSuchEntry,
            Refusal::NotAnAccess,
            Refusal::OtherReader,
            Refusal::OtherRecord,
            Refusal::StaleEntry,
            Refusal::EntryBeforeVersion,
            Refusal::EntryUsed,
            Refusal::RecordNotFound,
            Refusal::Retired,
            Refusal::WrongVersion,
            Refusal::ReplyKeyMismatch,
            Refusal::RequesterSuspended,
            Refusal::ServerNotListed,
            Refusal::NotThePatient,
            Refusal::NotAnAuthor,
            Refusal::ShareHeld,
            Refusal::NotAnEmergency,
            Refusal::NotTheResponder,
            Refusal::NotPatientOrDelegate,
            Refusal::TextTooLong,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(Refusal::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|r| (400..500).contains(&r.code().status())));
    }
}
