//! Test support (std only): the known-answer vectors the page's test reads too.
//! - `docs/signed-consent-vector.json`: a signed consent. Its message bytes were
//!   written out by hand from the layout in `signed.rs`, not by this code.
//! - `docs/audit-chain-vector.json`: a patient's audit trail of five entries as the
//!   node returns them (SCALE), chained by `LogEntry::chain_hash` ([`audit_chain`]).

use crate::{
    AccountId, ActionSet, ConsentTerms, Decision, Grantee, PurposeSet, Scope, SignedAction,
    SigningDomain,
};
use ink::prelude::vec::Vec;

pub const JSON: &str = include_str!("../../../docs/signed-consent-vector.json");

/// The vector's inputs and the exact bytes they must give.
pub struct SignedConsentVector {
    pub domain: SigningDomain,
    pub patient: AccountId,
    pub action: SignedAction,
    pub nonce: u64,
    pub deadline: u64,
    pub message: Vec<u8>,
}

/// The raw text after `"name":` up to the next `,`, `}` or newline, without quotes.
fn field<'a>(name: &str) -> &'a str {
    let key = ink::prelude::format!("\"{name}\":");
    let at = JSON
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in the vector"));
    let rest = JSON[at..].trim_start_matches(key.as_str()).trim_start();
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    rest[..end].trim().trim_matches('"')
}

pub fn hex(text: &str) -> Vec<u8> {
    text.trim_start_matches("0x")
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = core::str::from_utf8(pair).expect("ascii");
            u8::from_str_radix(pair, 16).expect("hex")
        })
        .collect()
}

fn bytes(name: &str) -> Vec<u8> {
    hex(field(name))
}

fn bytes32(name: &str) -> [u8; 32] {
    bytes(name).try_into().expect("32 bytes")
}

fn number<T: core::str::FromStr>(name: &str) -> T {
    field(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name}: not a number"))
}

pub fn signed_consent_vector() -> SignedConsentVector {
    let grantee = bytes("Account");
    assert_eq!(field("decision"), "Permit");
    let terms = ConsentTerms {
        decision: Decision::Permit,
        scope: Scope::Category(number("Category")),
        actions: ActionSet(number("actions")),
        purposes: PurposeSet(number("purposes")),
        valid_from: number("validFrom"),
        valid_until: Some(number("validUntil")),
    };
    SignedConsentVector {
        domain: SigningDomain {
            contract: AccountId::from(bytes32("contract")),
            genesis_hash: bytes32("genesis_hash"),
        },
        patient: AccountId::from(bytes32("patient")),
        action: SignedAction::Grant {
            grantee: Grantee::Account(AccountId::from(
                <[u8; 32]>::try_from(grantee).expect("32 bytes"),
            )),
            terms,
        },
        nonce: number("nonce"),
        deadline: number("deadline"),
        message: bytes("message_hex"),
    }
}

pub const AUDIT_JSON: &str = include_str!("../../../docs/audit-chain-vector.json");

/// Five entries of one patient's chain, one of each shape an auditor meets (a record,
/// a consent, an access, a denial, a break-glass), hashed by the chain rule.
pub fn audit_chain() -> Vec<crate::LogEntry> {
    use crate::{DenyReason, EntryKind, LogEntry, Purpose};
    let patient = AccountId::from([0x8e; 32]);
    let doctor = AccountId::from([0x30; 32]);
    let shapes = [
        (
            patient,
            Some(0),
            EntryKind::RecordCreated,
            Some(Purpose::PatientRequest),
            None,
        ),
        (patient, None, EntryKind::ConsentGranted, None, Some(0)),
        (
            doctor,
            Some(0),
            EntryKind::Access,
            Some(Purpose::Treat),
            Some(0),
        ),
        (
            doctor,
            Some(0),
            EntryKind::Denied(DenyReason::Restricted(1)),
            Some(Purpose::Treat),
            None,
        ),
        (
            doctor,
            Some(0),
            EntryKind::Emergency {
                justification: [0xee; 32],
            },
            Some(Purpose::EmergencyTreat),
            None,
        ),
    ];
    // One entry a block, six seconds apart, from 2026-01-01 00:00 UTC.
    let seqs = [0u64, 1, 2, 3, 4];
    let blocks = [100u32, 101, 102, 103, 104];
    let times = [
        1_767_225_600_000u64,
        1_767_225_606_000,
        1_767_225_612_000,
        1_767_225_618_000,
        1_767_225_624_000,
    ];
    let mut previous = [0u8; 32];
    let mut entries = Vec::new();
    for (((seq, block), timestamp), (actor, record, kind, purpose, consent)) in
        seqs.into_iter().zip(blocks).zip(times).zip(shapes)
    {
        let mut entry = LogEntry {
            seq,
            patient,
            actor,
            record,
            kind,
            purpose,
            consent,
            timestamp,
            block,
            hash: [0; 32],
        };
        entry.hash = entry.chain_hash(&previous);
        previous = entry.hash;
        entries.push(entry);
    }
    entries
}

/// `entries` as the vector file writes them.
pub fn audit_chain_json(entries: &[crate::LogEntry]) -> ink::prelude::string::String {
    use ink::scale::Encode;
    let to_hex = |bytes: &[u8]| -> ink::prelude::string::String {
        let digits: ink::prelude::string::String = bytes
            .iter()
            .map(|b| ink::prelude::format!("{b:02x}"))
            .collect();
        ink::prelude::format!("\"0x{digits}\"")
    };
    let list = |items: Vec<ink::prelude::string::String>| items.join(",\n    ");
    let encoded: Vec<_> = entries.iter().map(|e| to_hex(&e.encode())).collect();
    let hashes: Vec<_> = entries.iter().map(|e| to_hex(&e.hash)).collect();
    ink::prelude::format!(
        "{{\n  \"what\": \"Known-answer vector of a patient's audit trail: each entry as the access log returns it (SCALE-encoded LogEntry, its hash the last 32 bytes), seq 0 first. hash = blake2b-256(previous hash || the entry's encoding without its hash), the previous hash of seq 0 being 32 zero bytes. contracts/shared (LogEntry::chain_hash) writes and checks it; the page's web/src/audit.js must verify it and refuse it with any byte changed.\",\n  \"entries\": [\n    {}\n  ],\n  \"hashes\": [\n    {}\n  ],\n  \"head_hash\": {}\n}}\n",
        list(encoded),
        list(hashes),
        to_hex(&entries.last().map_or([0; 32], |e| e.hash)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector file is this code's output (`MEDCONSENT_WRITE_VECTOR=1` rewrites it),
    /// and its entries decode to chain-valid entries.
    #[test]
    fn the_audit_chain_matches_the_known_answer_vector() {
        let entries = audit_chain();
        let json = audit_chain_json(&entries);
        if std::env::var_os("MEDCONSENT_WRITE_VECTOR").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/audit-chain-vector.json"
            );
            std::fs::write(path, &json).unwrap();
        }
        assert_eq!(json, AUDIT_JSON);
        assert_eq!(crate::verify_chain([0; 32], &entries), Ok(entries[4].hash));
        // Any link changed breaks the chain at that link.
        let mut tampered = entries.clone();
        tampered[2].purpose = Some(crate::Purpose::PatientRequest);
        assert_eq!(crate::verify_chain([0; 32], &tampered), Err(2));
    }

    #[test]
    fn the_signing_message_matches_the_known_answer_vector() {
        let v = signed_consent_vector();
        let message = crate::signing_message(&v.domain, &v.patient, &v.action, v.nonce, v.deadline);
        assert_eq!(message, v.message);
        assert_eq!(message.len(), 212);
    }
}
