//! Sealing a 32-byte secret (a share, or the patient's own copy of a record key) to an
//! X25519 public key, bound to a context: an ephemeral key agreement, HKDF-SHA256 over
//! both public keys, and XChaCha20-Poly1305 with the context as associated data. An
//! envelope opens only with the recipient's secret and only under the exact context it
//! was sealed for, so a share deposited for (record 7, version 2, server A) cannot be
//! replayed as anything else, and a share released for one log entry names that entry.
//!
//! Layout: ephemeral public key (32) | nonce (24) | sealed secret (32 + 16 tag).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use medconsent_shared::{AccountId, Hash32, LogSeq, RecordId};
use parity_scale_codec::Encode;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

pub const SEALED_LEN: usize = 32 + 24 + 32 + 16;
pub type Sealed = [u8; SEALED_LEN];
const INFO: &[u8] = b"medconsent/envelope/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("a low-order X25519 public key")]
    WeakKey,
    #[error("the envelope does not open: another key, another context, or altered bytes")]
    DoesNotOpen,
}

/// What a share deposited at a key server is bound to.
pub fn deposit_context(
    server: &[u8; 32],
    record: RecordId,
    version: u32,
    content_hash: &Hash32,
    index: u8,
) -> Vec<u8> {
    context(
        b"deposit",
        (server, record, version, content_hash, index).encode(),
    )
}

/// What a share released by a key server is bound to: the log entry that backs it.
pub fn release_context(
    server: &[u8; 32],
    patient: &AccountId,
    record: RecordId,
    version: u32,
    log_seq: LogSeq,
    requester: &AccountId,
    index: u8,
) -> Vec<u8> {
    context(
        b"release",
        (server, patient, record, version, log_seq, requester, index).encode(),
    )
}

/// What a share of a break-glass justification's key, deposited at a key server, is
/// bound to: the entry it justifies.
pub fn justification_context(
    server: &[u8; 32],
    patient: &AccountId,
    log_seq: LogSeq,
    index: u8,
) -> Vec<u8> {
    context(b"justification", (server, patient, log_seq, index).encode())
}

/// What a justification share a server hands the patient (or a delegate) is bound to.
pub fn justification_release_context(
    server: &[u8; 32],
    patient: &AccountId,
    log_seq: LogSeq,
    requester: &AccountId,
    index: u8,
) -> Vec<u8> {
    context(
        b"justification-release",
        (server, patient, log_seq, requester, index).encode(),
    )
}

/// What the patient's own copy of a record key is bound to.
pub fn owner_context(record: RecordId, version: u32, content_hash: &Hash32) -> Vec<u8> {
    context(b"owner", (record, version, content_hash).encode())
}

fn context(kind: &[u8], fields: Vec<u8>) -> Vec<u8> {
    let mut out = b"medconsent:".to_vec();
    out.extend_from_slice(kind);
    out.push(b':');
    out.extend(fields);
    out
}

fn key_encryption_key(
    shared: &x25519_dalek::SharedSecret,
    ephemeral: &PublicKey,
    recipient: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    // A low-order public key yields an all-zero secret: refuse it.
    if !shared.was_contributory() {
        return Err(EnvelopeError::WeakKey);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let mut kek = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(INFO, kek.as_mut())
        .map_err(|_| EnvelopeError::DoesNotOpen)?;
    Ok(kek)
}

/// A new X25519 key pair (the secret is wiped when dropped).
pub fn keygen() -> (StaticSecret, PublicKey) {
    let secret = StaticSecret::random_from_rng(OsRng);
    let public = PublicKey::from(&secret);
    (secret, public)
}

/// Seals `secret` so that only the holder of `recipient`'s secret opens it, under `context`.
pub fn seal(
    secret: &[u8; 32],
    recipient: &PublicKey,
    context: &[u8],
) -> Result<Sealed, EnvelopeError> {
    let ephemeral = StaticSecret::random_from_rng(OsRng);
    let ephemeral_public = PublicKey::from(&ephemeral);
    let kek = key_encryption_key(
        &ephemeral.diffie_hellman(recipient),
        &ephemeral_public,
        recipient,
    )?;
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new(kek.as_ref().into())
        .encrypt(
            nonce.as_ref().into(),
            Payload {
                msg: secret,
                aad: context,
            },
        )
        .map_err(|_| EnvelopeError::DoesNotOpen)?;
    let mut out = [0u8; SEALED_LEN];
    out[..32].copy_from_slice(ephemeral_public.as_bytes());
    out[32..56].copy_from_slice(&nonce);
    out[56..].copy_from_slice(&sealed);
    Ok(out)
}

/// Opens an envelope with the recipient's secret under the context it was sealed for.
pub fn open(
    sealed: &Sealed,
    secret: &StaticSecret,
    context: &[u8],
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&sealed[..32]);
    let ephemeral = PublicKey::from(ephemeral);
    let recipient = PublicKey::from(secret);
    let kek = key_encryption_key(&secret.diffie_hellman(&ephemeral), &ephemeral, &recipient)?;
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(kek.as_ref().into())
            .decrypt(
                sealed[32..56].into(),
                Payload {
                    msg: &sealed[56..],
                    aad: context,
                },
            )
            .map_err(|_| EnvelopeError::DoesNotOpen)?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(EnvelopeError::DoesNotOpen);
    }
    out.copy_from_slice(&plain);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_and_only_under_its_context() {
        let (secret, public) = keygen();
        let (other, _) = keygen();
        let context = deposit_context(&[1; 32], 7, 2, &[3; 32], 1);
        let sealed = seal(&[9; 32], &public, &context).unwrap();
        assert_eq!(*open(&sealed, &secret, &context).unwrap(), [9; 32]);
        assert_eq!(
            open(&sealed, &other, &context),
            Err(EnvelopeError::DoesNotOpen)
        );
        // Every bound field matters: another server, record, version, hash or index.
        for moved in [
            deposit_context(&[2; 32], 7, 2, &[3; 32], 1),
            deposit_context(&[1; 32], 8, 2, &[3; 32], 1),
            deposit_context(&[1; 32], 7, 3, &[3; 32], 1),
            deposit_context(&[1; 32], 7, 2, &[4; 32], 1),
            deposit_context(&[1; 32], 7, 2, &[3; 32], 2),
        ] {
            assert_eq!(
                open(&sealed, &secret, &moved),
                Err(EnvelopeError::DoesNotOpen)
            );
        }
        let mut altered = sealed;
        altered[60] ^= 1;
        assert_eq!(
            open(&altered, &secret, &context),
            Err(EnvelopeError::DoesNotOpen)
        );
    }

    #[test]
    fn contexts_of_different_kinds_never_collide() {
        let patient = AccountId::from([5; 32]);
        let release = release_context(&[1; 32], &patient, 7, 2, 0, &patient, 1);
        assert_ne!(release, deposit_context(&[1; 32], 7, 2, &[3; 32], 1));
        assert!(release.starts_with(b"medconsent:release:"));
        assert!(owner_context(7, 2, &[3; 32]).starts_with(b"medconsent:owner:"));
        let kept = justification_context(&[1; 32], &patient, 0, 1);
        let handed = justification_release_context(&[1; 32], &patient, 0, &patient, 1);
        assert!(kept.starts_with(b"medconsent:justification:"));
        assert!(handed.starts_with(b"medconsent:justification-release:"));
        assert_ne!(kept, handed);
    }

    #[test]
    fn a_low_order_key_is_refused() {
        assert_eq!(
            seal(&[9; 32], &PublicKey::from([0u8; 32]), b"x"),
            Err(EnvelopeError::WeakKey)
        );
    }
}
