//! The patient's sealed copy of a break-glass justification. The log keeps only the
//! text's hash; the responder also leaves the text at the key servers, so the patient's
//! review can read what was claimed: the salted text under a fresh key (XChaCha20-Poly1305,
//! bound to the patient and the log entry), that key split t-of-n like a record key,
//! share i sealed to server i. A server keeps its share and the sealed text only from
//! the responder of an Emergency entry, and hands them only to the patient or a delegate
//! in force, sealed to a reply key. No t-1 servers can read the text; the patient checks
//! the claim it opens against the logged hash, so neither a server nor the responder can
//! pass another text for the one logged; the salt keeps the public hash from confirming
//! a guessed text.

use crate::envelope::Sealed;
use crate::request::{is_signed_by, signing_message};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use medconsent_shared::{AccountId, Hash32, LogSeq, Timestamp};
use parity_scale_codec::{Decode, Encode};
use rand_core::{OsRng, RngCore};

/// Domain tag of a justification deposit's signed bytes.
pub const JUSTIFICATION_DEPOSIT_TAG: &[u8] = b"medconsent:justification-deposit:v1";
/// Domain tag of a justification request's signed bytes.
pub const JUSTIFICATION_REQUEST_TAG: &[u8] = b"medconsent:justification-request:v1";
/// The longest justification text, in bytes (UTF-8): a few paragraphs.
pub const MAX_JUSTIFICATION_LEN: usize = 2048;
/// The random salt before the text: the log keeps blake2b-256(salt ++ text), since an
/// unsalted hash of a short, often templated text would let anyone who reads the public
/// log confirm a guess of it.
pub const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The longest sealed claim a server keeps: nonce, salt, text, tag.
pub const MAX_SEALED_TEXT_LEN: usize = NONCE_LEN + SALT_LEN + MAX_JUSTIFICATION_LEN + TAG_LEN;

/// Share `index` of the key that opens `text`, the justification the responder gave for
/// break-glass entry `log_seq` of `patient`, for the server whose X25519 key is
/// `server`, signed by `responder` before `expires_at` (ms, chain time).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct JustificationDeposit {
    pub server: [u8; 32],
    pub patient: AccountId,
    pub log_seq: LogSeq,
    /// Who signs; a server keeps the deposit only if the entry is this responder's.
    pub responder: AccountId,
    pub index: u8,
    /// The key share, sealed under [`crate::envelope::justification_context`].
    pub share: Sealed,
    /// The claim (salt ++ text) sealed under the whole key ([`seal_text`]).
    pub text: Vec<u8>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedJustificationDeposit {
    pub deposit: JustificationDeposit,
    pub signature: [u8; 64],
}

/// The patient (or a delegate) asks one server for its share of the justification of
/// entry `log_seq`, sealed to `reply_key`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct JustificationRequest {
    pub server: [u8; 32],
    pub patient: AccountId,
    pub log_seq: LogSeq,
    pub requester: AccountId,
    pub reply_key: [u8; 32],
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedJustificationRequest {
    pub request: JustificationRequest,
    pub signature: [u8; 64],
}

/// A server's answer: its share sealed to the reply key under
/// [`crate::envelope::justification_release_context`], and the sealed text it keeps.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReleasedJustification {
    pub index: u8,
    pub share: Sealed,
    pub text: Vec<u8>,
}

impl JustificationDeposit {
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(JUSTIFICATION_DEPOSIT_TAG, self)
    }
}

impl SignedJustificationDeposit {
    /// Whether the signature is the responder's over exactly this deposit.
    pub fn is_signed_by_responder(&self) -> bool {
        is_signed_by(
            &self.deposit.responder,
            &self.deposit.signing_message(),
            &self.signature,
        )
    }
}

impl JustificationRequest {
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(JUSTIFICATION_REQUEST_TAG, self)
    }
}

impl SignedJustificationRequest {
    /// Whether the signature is the requester's over exactly this request.
    pub fn is_signed_by_requester(&self) -> bool {
        is_signed_by(
            &self.request.requester,
            &self.request.signing_message(),
            &self.signature,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("a justification is at most {MAX_JUSTIFICATION_LEN} bytes")]
    TooLong,
    #[error("the sealed justification does not open with the combined key")]
    DoesNotOpen,
}

/// A claim as the log's hash covers it and the sealed copy holds it: salt ++ text.
pub fn claim(salt: &[u8; SALT_LEN], text: &[u8]) -> Vec<u8> {
    let mut claim = salt.to_vec();
    claim.extend_from_slice(text);
    claim
}

/// The hash the log keeps of a justification: blake2b-256(salt ++ text).
pub fn claim_hash(salt: &[u8; SALT_LEN], text: &[u8]) -> Hash32 {
    crate::blobs::blake2b_256(&claim(salt, text))
}

/// The text of `claim` if its hash is `logged`.
pub fn logged_text<'a>(claim: &'a [u8], logged: &Hash32) -> Option<&'a [u8]> {
    (claim.len() >= SALT_LEN && &crate::blobs::blake2b_256(claim) == logged)
        .then(|| &claim[SALT_LEN..])
}

/// The associated data of a sealed claim: the entry it justifies.
fn text_binding(patient: &AccountId, log_seq: LogSeq) -> Vec<u8> {
    let mut aad = b"medconsent:justification-text:".to_vec();
    (patient, log_seq).encode_to(&mut aad);
    aad
}

/// Seals `claim` (salt ++ text) under `key` for entry `log_seq` of `patient`: nonce |
/// ciphertext | tag.
pub fn seal_text(
    key: &[u8; 32],
    claim: &[u8],
    patient: &AccountId,
    log_seq: LogSeq,
) -> Result<Vec<u8>, TextError> {
    if claim.len() > SALT_LEN + MAX_JUSTIFICATION_LEN {
        return Err(TextError::TooLong);
    }
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = text_binding(patient, log_seq);
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: claim,
                aad: &aad,
            },
        )
        .map_err(|_| TextError::TooLong)?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(out)
}

/// Opens a text [`seal_text`] sealed for entry `log_seq` of `patient`.
pub fn open_text(
    key: &[u8; 32],
    sealed: &[u8],
    patient: &AccountId,
    log_seq: LogSeq,
) -> Result<Vec<u8>, TextError> {
    if sealed.len() < NONCE_LEN + TAG_LEN || sealed.len() > MAX_SEALED_TEXT_LEN {
        return Err(TextError::DoesNotOpen);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let aad = text_binding(patient, log_seq);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .map_err(|_| TextError::DoesNotOpen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{account, keypair};
    use schnorrkel::signing_context;

    #[test]
    fn a_sealed_text_opens_only_for_its_entry_and_key() {
        let patient = AccountId::from([1; 32]);
        let claimed = claim(&[3; SALT_LEN], b"unconscious, no ID, suspected overdose");
        let text = &claimed[..];
        let sealed = seal_text(&[7; 32], text, &patient, 4).unwrap();
        assert_eq!(open_text(&[7; 32], &sealed, &patient, 4).unwrap(), text);
        assert_eq!(
            open_text(&[8; 32], &sealed, &patient, 4),
            Err(TextError::DoesNotOpen)
        );
        // Moved to another entry or patient, it does not open.
        assert_eq!(
            open_text(&[7; 32], &sealed, &patient, 5),
            Err(TextError::DoesNotOpen)
        );
        assert_eq!(
            open_text(&[7; 32], &sealed, &AccountId::from([2; 32]), 4),
            Err(TextError::DoesNotOpen)
        );
        let longest = claim(&[3; SALT_LEN], &[b'a'; MAX_JUSTIFICATION_LEN]);
        assert_eq!(
            seal_text(&[7; 32], &longest, &patient, 4).unwrap().len(),
            MAX_SEALED_TEXT_LEN
        );
        assert_eq!(
            seal_text(
                &[7; 32],
                &claim(&[3; SALT_LEN], &[b'a'; MAX_JUSTIFICATION_LEN + 1]),
                &patient,
                4
            ),
            Err(TextError::TooLong)
        );
    }

    #[test]
    fn the_logged_hash_is_salted_and_gives_back_only_its_text() {
        let (salt, text) = ([3; SALT_LEN], b"unconscious, no ID".as_slice());
        let logged = claim_hash(&salt, text);
        // The text alone, unsalted, is not what the log keeps: a guess cannot be checked.
        assert_ne!(logged, crate::blobs::blake2b_256(text));
        assert_eq!(logged_text(&claim(&salt, text), &logged), Some(text));
        assert_eq!(logged_text(&claim(&[4; SALT_LEN], text), &logged), None);
        assert_eq!(logged_text(&claim(&salt, b"unconscious"), &logged), None);
        assert_eq!(logged_text(&salt[..4], &logged), None);
    }

    #[test]
    fn each_message_verifies_only_with_its_signers_key_and_tag() {
        let (responder, other) = (keypair(5), keypair(6));
        let deposit = JustificationDeposit {
            server: [0x5e; 32],
            patient: AccountId::from([1; 32]),
            log_seq: 4,
            responder: account(&responder),
            index: 1,
            share: [0xa5; crate::envelope::SEALED_LEN],
            text: vec![1, 2, 3],
            expires_at: 1_000,
        };
        let sign = |key: &schnorrkel::Keypair, message: &[u8]| {
            key.sign(signing_context(b"substrate").bytes(message))
                .to_bytes()
        };
        let signed = SignedJustificationDeposit {
            signature: sign(&responder, &deposit.signing_message()),
            deposit: deposit.clone(),
        };
        assert!(signed.is_signed_by_responder());
        assert!(deposit
            .signing_message()
            .starts_with(b"<Bytes>medconsent:justification-deposit:v1"));
        let forged = SignedJustificationDeposit {
            signature: sign(&other, &deposit.signing_message()),
            deposit: deposit.clone(),
        };
        assert!(!forged.is_signed_by_responder());
        let mut moved = signed.clone();
        moved.deposit.text.push(4);
        assert!(!moved.is_signed_by_responder());
        let request = JustificationRequest {
            server: [0x5e; 32],
            patient: AccountId::from([1; 32]),
            log_seq: 4,
            requester: account(&responder),
            reply_key: [9; 32],
            expires_at: 1_000,
        };
        // A deposit's signature never passes for a request (distinct tags).
        let crossed = SignedJustificationRequest {
            request: request.clone(),
            signature: signed.signature,
        };
        assert!(!crossed.is_signed_by_requester());
        let asked = SignedJustificationRequest {
            signature: sign(&responder, &request.signing_message()),
            request,
        };
        assert!(asked.is_signed_by_requester());
    }
}
