//! The off-chain side of medconsent.
//!
//! A record's payload is sealed under a random per-record key with XChaCha20-Poly1305
//! (STREAM construction, 64 KiB chunks), the record id and version bound as associated
//! data ([`seal`]). The chain stores only the blake2b-256 hash of the sealed blob; the
//! blob lives at the key servers and in a local folder keyed by that hash ([`store`]),
//! with the IPFS CIDv1 of the blob as its locator ([`cid`]). The record key is never on
//! chain and never given to a grantee: [`flow`] splits it among the key servers, which
//! release shares only for a finalized on-chain access ([`servers`] is their HTTP side).

pub mod audit;
pub mod cid;
pub mod deployment_file;
pub mod exit;
pub mod flow;
pub mod seal;
pub mod servers;
pub mod store;
pub mod words;

use medconsent_keyrelease::blobs::BlobError;
use medconsent_keyrelease::envelope::EnvelopeError;
use medconsent_keyrelease::keyfile::KeyFileError;

/// A 32-byte symmetric record key, wiped from memory when dropped.
pub type RecordKey = zeroize::Zeroizing<[u8; 32]>;

/// What a sealed blob is bound to: opening it under another id or version fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub record_id: u64,
    pub version: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The blob's hash is not the one on chain: it was swapped or tampered with.
    #[error(
        "ciphertext hash mismatch: the chain says 0x{}, the blob hashes to 0x{}",
        hex::encode(.expected),
        hex::encode(.actual)
    )]
    HashMismatch {
        expected: [u8; 32],
        actual: [u8; 32],
    },
    /// Authentication failed: wrong key, tampered ciphertext, or another record/version.
    #[error("decryption failed: wrong key, tampered ciphertext, or another record id/version")]
    DecryptionFailed,
    /// The bytes are not a sealed blob or key copy of this format.
    #[error("not a medconsent {0}")]
    BadFormat(&'static str),
    #[error("a low-order X25519 public key")]
    WeakKey,
    #[error("{0}")]
    KeyFile(#[from] KeyFileError),
}

impl From<EnvelopeError> for Error {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::WeakKey => Error::WeakKey,
            EnvelopeError::DoesNotOpen => Error::DecryptionFailed,
        }
    }
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Io(e) => Error::Io(e),
            BlobError::HashMismatch { expected, actual } => {
                Error::HashMismatch { expected, actual }
            }
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
}
