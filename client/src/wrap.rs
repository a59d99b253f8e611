//! Wrapping a record key to an X25519 public key, bound to the blob's content hash: the
//! envelope of `medconsent_keyrelease::envelope` with the content hash as its context, so
//! a wrapped key opens only its own record.
//!
//! Wrapped key layout: ephemeral public key (32) | nonce (24) | sealed key (32 + 16).

use crate::{Error, RecordKey, Result};
use medconsent_keyrelease::envelope::{self, EnvelopeError, SEALED_LEN};
use x25519_dalek::{PublicKey, StaticSecret};

pub const WRAPPED_LEN: usize = SEALED_LEN;

/// A new X25519 key pair (the secret is wiped when dropped).
pub fn keygen() -> (StaticSecret, PublicKey) {
    envelope::keygen()
}

fn error(e: EnvelopeError) -> Error {
    match e {
        EnvelopeError::WeakKey => Error::InvalidKey("a low-order X25519 public key".into()),
        EnvelopeError::DoesNotOpen => Error::DecryptionFailed,
    }
}

/// Wraps `record_key` so that only the holder of `recipient`'s secret can unwrap it.
pub fn wrap(
    record_key: &RecordKey,
    recipient: &PublicKey,
    content_hash: &[u8; 32],
) -> Result<[u8; WRAPPED_LEN]> {
    envelope::seal(record_key, recipient, content_hash).map_err(error)
}

/// Recovers the record key with the recipient's secret.
pub fn unwrap(
    wrapped: &[u8; WRAPPED_LEN],
    secret: &StaticSecret,
    content_hash: &[u8; 32],
) -> Result<RecordKey> {
    envelope::open(wrapped, secret, content_hash).map_err(error)
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
