//! A release request: what a reader asks one key server for, signed by the reader's
//! sr25519 account key. The signed bytes are wrapped in `<Bytes>...</Bytes>` as
//! polkadot.js-style wallets wrap `signRaw` data, so a reader can sign in its wallet,
//! and are tagged so that no other medconsent signature (a signed consent) can pass for
//! one.

use crate::envelope::Sealed;
use medconsent_shared::{AccountId, Hash32, LogSeq, RecordId, Timestamp, WRAP_CLOSE, WRAP_OPEN};
use parity_scale_codec::{Decode, Encode};
use schnorrkel::{signing_context, PublicKey, Signature};

/// Domain tag of a release request's signed bytes.
pub const RELEASE_REQUEST_TAG: &[u8] = b"medconsent:key-release:v1";
/// Domain tag of a deposit's signed bytes.
pub const DEPOSIT_TAG: &[u8] = b"medconsent:key-deposit:v1";

/// The share of `record` at `version` that the log entry `log_seq` of `patient`'s chain
/// entitles `requester` to, from the server whose X25519 key is `server`, sealed to
/// `reply_key`, asked before `expires_at` (ms, chain time).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReleaseRequest {
    /// The server asked: a request for one server is worthless at another.
    pub server: [u8; 32],
    pub patient: AccountId,
    pub record: RecordId,
    pub version: u32,
    pub log_seq: LogSeq,
    /// The reader's account id, which is its sr25519 public key.
    pub requester: AccountId,
    /// X25519 key the share is sealed to: the directory's key of a provider, or a key of
    /// the patient's (or a delegate's) own choosing for a PATRQT read.
    pub reply_key: [u8; 32],
    pub expires_at: Timestamp,
}

/// A request and the requester's signature over [`ReleaseRequest::signing_message`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedRequest {
    pub request: ReleaseRequest,
    pub signature: [u8; 64],
}

/// Share `index` of the key of `record` at `version` (whose ciphertext hashes to
/// `content_hash`), sealed to the server whose X25519 key is `server`, deposited by
/// `depositor` (the patient, a delegate, or the provider who wrote the version) before
/// `expires_at` (ms, chain time).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Deposit {
    pub server: [u8; 32],
    pub patient: AccountId,
    /// Who signs the deposit; a server keeps it only from one of the record's authors
    /// (`crate::decide::deposit_rules`).
    pub depositor: AccountId,
    pub record: RecordId,
    pub version: u32,
    pub content_hash: Hash32,
    pub index: u8,
    /// The share, sealed under [`crate::envelope::deposit_context`].
    pub share: Sealed,
    pub expires_at: Timestamp,
}

/// A deposit and the patient's signature over [`Deposit::signing_message`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedDeposit {
    pub deposit: Deposit,
    pub signature: [u8; 64],
}

/// What a server answers a release with: its share, sealed to the reply key under
/// [`crate::envelope::release_context`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReleasedShare {
    pub index: u8,
    pub share: Sealed,
}

/// `<Bytes>` ++ tag ++ SCALE(body) ++ `</Bytes>`: what a wallet's `signRaw` signs.
pub(crate) fn signing_message(tag: &[u8], body: &impl Encode) -> Vec<u8> {
    let mut message = Vec::with_capacity(256);
    message.extend_from_slice(WRAP_OPEN);
    message.extend_from_slice(tag);
    body.encode_to(&mut message);
    message.extend_from_slice(WRAP_CLOSE);
    message
}

/// Whether `signature` is `account`'s sr25519 signature ("substrate" context) over
/// `message`.
pub(crate) fn is_signed_by(account: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(public) = PublicKey::from_bytes(account.as_ref()) else {
        return false;
    };
    let Ok(signature) = Signature::from_bytes(signature) else {
        return false;
    };
    public
        .verify(signing_context(b"substrate").bytes(message), &signature)
        .is_ok()
}

impl ReleaseRequest {
    /// The exact bytes the requester's key signs ("substrate" signing context).
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(RELEASE_REQUEST_TAG, self)
    }
}

impl SignedRequest {
    /// Whether the signature is the requester's over exactly this request.
    pub fn is_signed_by_requester(&self) -> bool {
        is_signed_by(
            &self.request.requester,
            &self.request.signing_message(),
            &self.signature,
        )
    }
}

impl Deposit {
    /// The exact bytes the depositor's key signs.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(DEPOSIT_TAG, self)
    }
}

impl SignedDeposit {
    /// Whether the signature is the depositor's over exactly this deposit.
    pub fn is_signed_by_depositor(&self) -> bool {
        is_signed_by(
            &self.deposit.depositor,
            &self.deposit.signing_message(),
            &self.signature,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey};

    pub fn keypair(seed: u8) -> Keypair {
        MiniSecretKey::from_bytes(&[seed; 32])
            .unwrap()
            .expand_to_keypair(ExpansionMode::Ed25519)
    }

    pub fn account(key: &Keypair) -> AccountId {
        AccountId::from(key.public.to_bytes())
    }

    pub fn request(requester: &Keypair) -> ReleaseRequest {
        ReleaseRequest {
            server: [0x5e; 32],
            patient: AccountId::from([0xb0; 32]),
            record: 7,
            version: 2,
            log_seq: 41,
            requester: account(requester),
            reply_key: [0xd0; 32],
            expires_at: 1_000_000,
        }
    }

    pub fn sign(key: &Keypair, request: ReleaseRequest) -> SignedRequest {
        let signature = key
            .sign(signing_context(b"substrate").bytes(&request.signing_message()))
            .to_bytes();
        SignedRequest { request, signature }
    }

    #[test]
    fn the_message_is_tagged_wrapped_and_binds_every_field() {
        let key = keypair(1);
        let message = request(&key).signing_message();
        assert!(message.starts_with(b"<Bytes>medconsent:key-release:v1"));
        assert!(message.ends_with(b"</Bytes>"));
        // Changing any field changes the bytes.
        let base = request(&key);
        let variants = [
            ReleaseRequest {
                server: [0x5f; 32],
                ..base.clone()
            },
            ReleaseRequest {
                patient: AccountId::from([0xb1; 32]),
                ..base.clone()
            },
            ReleaseRequest {
                record: 8,
                ..base.clone()
            },
            ReleaseRequest {
                version: 3,
                ..base.clone()
            },
            ReleaseRequest {
                log_seq: 42,
                ..base.clone()
            },
            ReleaseRequest {
                requester: AccountId::from([1; 32]),
                ..base.clone()
            },
            ReleaseRequest {
                reply_key: [0xd1; 32],
                ..base.clone()
            },
            ReleaseRequest {
                expires_at: 1_000_001,
                ..base.clone()
            },
        ];
        for variant in variants {
            assert_ne!(variant.signing_message(), message, "{variant:?}");
        }
    }

    #[test]
    fn only_the_requesters_signature_over_this_request_verifies() {
        let (reader, other) = (keypair(1), keypair(2));
        let signed = sign(&reader, request(&reader));
        assert!(signed.is_signed_by_requester());
        // Another key's signature over the same request.
        let forged = sign(&other, request(&reader));
        assert!(!forged.is_signed_by_requester());
        // The right key's signature over other terms.
        let mut moved = signed.clone();
        moved.request.log_seq += 1;
        assert!(!moved.is_signed_by_requester());
        // A signature over the unwrapped bytes (not what wallets sign).
        let bare = reader
            .sign(signing_context(b"substrate").bytes(&signed.request.encode()))
            .to_bytes();
        let unwrapped = SignedRequest {
            signature: bare,
            ..signed.clone()
        };
        assert!(!unwrapped.is_signed_by_requester());
        // Garbage bytes as signature.
        let garbage = SignedRequest {
            signature: [0xff; 64],
            ..signed
        };
        assert!(!garbage.is_signed_by_requester());
    }

    pub fn deposit(patient: &Keypair) -> Deposit {
        Deposit {
            server: [0x5e; 32],
            patient: account(patient),
            depositor: account(patient),
            record: 7,
            version: 2,
            content_hash: [0xc0; 32],
            index: 1,
            share: [0xa5; crate::envelope::SEALED_LEN],
            expires_at: 1_000_000,
        }
    }

    pub fn sign_deposit(key: &Keypair, deposit: Deposit) -> SignedDeposit {
        let signature = key
            .sign(signing_context(b"substrate").bytes(&deposit.signing_message()))
            .to_bytes();
        SignedDeposit { deposit, signature }
    }

    #[test]
    fn only_the_depositors_signature_over_this_deposit_verifies() {
        let (patient, other) = (keypair(3), keypair(4));
        let signed = sign_deposit(&patient, deposit(&patient));
        assert!(signed.is_signed_by_depositor());
        assert!(signed
            .deposit
            .signing_message()
            .starts_with(b"<Bytes>medconsent:key-deposit:v1"));
        assert!(!sign_deposit(&other, deposit(&patient)).is_signed_by_depositor());
        let mut moved = signed.clone();
        moved.deposit.index = 2;
        assert!(!moved.is_signed_by_depositor());
        // A release request's signature never passes for a deposit (distinct tags).
        let release = sign(&patient, request(&patient));
        let crossed = SignedDeposit {
            signature: release.signature,
            ..signed
        };
        assert!(!crossed.is_signed_by_depositor());
    }
}
