//! Test support (std only): the known-answer vector of a signed consent, read from
//! `docs/signed-consent-vector.json`, which the page's test reads too. Its message bytes
//! were written out by hand from the layout in `signed.rs`, not by this code.

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

fn hex(text: &str) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_message_matches_the_known_answer_vector() {
        let v = signed_consent_vector();
        let message = crate::signing_message(&v.domain, &v.patient, &v.action, v.nonce, v.deadline);
        assert_eq!(message, v.message);
        assert_eq!(message.len(), 212);
    }
}
