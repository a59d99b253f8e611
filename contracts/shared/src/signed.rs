//! Consent signed by the patient's wallet and submitted by anyone (a relayer pays the
//! fee). The patient signs, with sr25519, the bytes of [`signing_message`]: a fixed tag,
//! the consent manager's address, the chain's genesis hash, the patient, the action, a
//! nonce and a deadline, wrapped in `<Bytes>`…`</Bytes>` exactly as browser wallets'
//! `signRaw` wraps what they sign.

use crate::{AccountId, ConsentId, ConsentShown, ConsentTerms, Grantee, Hash32, Timestamp};
use ink::prelude::vec::Vec;
use ink::scale::Encode;

/// Domain separation: no other signed message of any system starts with these bytes.
pub const SIGNED_CONSENT_TAG: &[u8] = b"medconsent:signed-consent:v1";
/// What polkadot.js-style wallets put around the bytes passed to `signRaw`.
pub const WRAP_OPEN: &[u8] = b"<Bytes>";
pub const WRAP_CLOSE: &[u8] = b"</Bytes>";

/// What the patient authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum SignedAction {
    Grant {
        grantee: Grantee,
        terms: ConsentTerms,
    },
    /// The consent with this id, which must be the one shown.
    Revoke {
        consent_id: ConsentId,
        shown: ConsentShown,
    },
}

/// Where a signature is valid: one consent manager on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningDomain {
    pub contract: AccountId,
    pub genesis_hash: Hash32,
}

/// The exact bytes a patient's wallet signs for `action` (see the module docs):
/// `<Bytes>` ++ tag ++ SCALE(contract, genesis hash, patient, action, nonce, deadline)
/// ++ `</Bytes>`.
pub fn signing_message(
    domain: &SigningDomain,
    patient: &AccountId,
    action: &SignedAction,
    nonce: u64,
    deadline: Timestamp,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(256);
    message.extend_from_slice(WRAP_OPEN);
    message.extend_from_slice(SIGNED_CONSENT_TAG);
    (
        domain.contract,
        domain.genesis_hash,
        patient,
        action,
        nonce,
        deadline,
    )
        .encode_to(&mut message);
    message.extend_from_slice(WRAP_CLOSE);
    message
}
