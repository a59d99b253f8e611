//! Wrapping a record key to a grantee's X25519 public key (ECIES-style): an ephemeral
//! key agreement, HKDF-SHA256, and XChaCha20-Poly1305 over the record key, with the
//! blob's content hash as associated data so a wrapped key opens only its own record.
//!
//! Wrapped key layout: ephemeral public key (32) | nonce (24) | sealed key (32 + 16).

use crate::{random, Error, RecordKey, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

pub const WRAPPED_LEN: usize = 32 + 24 + 32 + 16;
const INFO: &[u8] = b"medconsent/wrap/v1";

/// A new X25519 key pair (the secret is wiped when dropped).
pub fn keygen() -> (StaticSecret, PublicKey) {
    let secret = StaticSecret::from(random::<32>());
    let public = PublicKey::from(&secret);
    (secret, public)
}

fn key_encryption_key(
    shared: &x25519_dalek::SharedSecret,
    ephemeral: &PublicKey,
    recipient: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>> {
    // A low-order public key yields an all-zero secret: refuse it.
    if !shared.was_contributory() {
        return Err(Error::InvalidKey("a low-order X25519 public key".into()));
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let mut kek = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(INFO, kek.as_mut())
        .map_err(|_| Error::InvalidKey("hkdf".into()))?;
    Ok(kek)
}

/// Wraps `record_key` so that only the holder of `recipient`'s secret can unwrap it.
pub fn wrap(
    record_key: &RecordKey,
    recipient: &PublicKey,
    content_hash: &[u8; 32],
) -> Result<[u8; WRAPPED_LEN]> {
    let ephemeral = StaticSecret::from(random::<32>());
    let ephemeral_public = PublicKey::from(&ephemeral);
    let kek = key_encryption_key(
        &ephemeral.diffie_hellman(recipient),
        &ephemeral_public,
        recipient,
    )?;
    let nonce: [u8; 24] = random();
    let sealed = XChaCha20Poly1305::new(kek.as_ref().into())
        .encrypt(
            nonce.as_ref().into(),
            Payload {
                msg: record_key.as_ref(),
                aad: content_hash,
            },
        )
        .map_err(|_| Error::DecryptionFailed)?;
    let mut out = [0u8; WRAPPED_LEN];
    out[..32].copy_from_slice(ephemeral_public.as_bytes());
    out[32..56].copy_from_slice(&nonce);
    out[56..].copy_from_slice(&sealed);
    Ok(out)
}

/// Recovers the record key with the recipient's secret.
pub fn unwrap(
    wrapped: &[u8; WRAPPED_LEN],
    secret: &StaticSecret,
    content_hash: &[u8; 32],
) -> Result<RecordKey> {
    let ephemeral = PublicKey::from(<[u8; 32]>::try_from(&wrapped[..32]).expect("32 bytes"));
    let recipient = PublicKey::from(secret);
    let kek = key_encryption_key(&secret.diffie_hellman(&ephemeral), &ephemeral, &recipient)?;
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(kek.as_ref().into())
            .decrypt(
                wrapped[32..56].into(),
                Payload {
                    msg: &wrapped[56..],
                    aad: content_hash,
                },
            )
            .map_err(|_| Error::DecryptionFailed)?,
    );
    let key: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadFormat("wrapped key"))?;
    Ok(Zeroizing::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::new_record_key;

    #[test]
    fn the_recipient_unwraps_and_no_one_else() {
        let key = new_record_key();
        let (secret, public) = keygen();
        let (other, _) = keygen();
        let hash = [5u8; 32];
        let wrapped = wrap(&key, &public, &hash).unwrap();
        assert_eq!(*unwrap(&wrapped, &secret, &hash).unwrap(), *key);
        assert!(matches!(
            unwrap(&wrapped, &other, &hash),
            Err(Error::DecryptionFailed)
        ));
        assert!(matches!(
            unwrap(&wrapped, &secret, &[6u8; 32]),
            Err(Error::DecryptionFailed)
        ));
        let mut tampered = wrapped;
        tampered[60] ^= 1;
        assert!(unwrap(&tampered, &secret, &hash).is_err());
    }

    #[test]
    fn a_low_order_public_key_is_refused() {
        let key = new_record_key();
        let zero = PublicKey::from([0u8; 32]);
        assert!(matches!(
            wrap(&key, &zero, &[0; 32]),
            Err(Error::InvalidKey(_))
        ));
    }
}
