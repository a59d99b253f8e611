//! The off-chain side of medconsent.
//!
//! A record's payload is sealed under a random per-record key with XChaCha20-Poly1305
//! (STREAM construction, 64 KiB chunks), the record id and version bound as associated
//! data. The chain stores only the blake2b-256 hash of the sealed blob; the blob lives in
//! a content-addressed store (a directory keyed by that hash, with the IPFS CIDv1 of the
//! blob printed so it can be pinned anywhere). The record key is never on chain and never
//! given to a grantee: [`flow`] splits it among the key servers, which release shares
//! only for a finalized on-chain access ([`servers`] is their HTTP side). `wrap` and
//! `Store::grant_key` are local wrapping primitives the sealed-format tests use; no
//! command hands a key to anyone with them.

pub mod cid;
pub mod flow;
pub mod private;
pub mod seal;
pub mod servers;
pub mod store;
pub mod wrap;

use std::fmt;

/// A 32-byte symmetric record key, wiped from memory when dropped.
pub type RecordKey = zeroize::Zeroizing<[u8; 32]>;

/// What a sealed blob is bound to: opening it under another id or version fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub record_id: u64,
    pub version: u32,
}

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    /// The blob's hash is not the one on chain: it was swapped or tampered with.
    HashMismatch {
        expected: String,
        actual: String,
    },
    /// Authentication failed: wrong key, tampered ciphertext, or another record/version.
    DecryptionFailed,
    /// The bytes are not a sealed blob or wrapped key of this format.
    BadFormat(&'static str),
    /// No record key is wrapped to this public key for this blob.
    NoKeyFor(String),
    /// A key or hash argument that is not 32 bytes of hex, or a weak X25519 key.
    InvalidKey(String),
    /// A file operation refused for safety (an existing key file, loose permissions).
    Refused(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::HashMismatch { expected, actual } => write!(
                f,
                "ciphertext hash mismatch: the chain says {expected}, the blob hashes to {actual}"
            ),
            Error::DecryptionFailed => write!(
                f,
                "decryption failed: wrong key, tampered ciphertext, or another record id/version"
            ),
            Error::BadFormat(what) => write!(f, "not a medconsent {what}"),
            Error::NoKeyFor(public) => write!(f, "no record key is wrapped to public key {public}"),
            Error::InvalidKey(why) => write!(f, "invalid key: {why}"),
            Error::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Parses 32 bytes of hex, with or without a `0x` prefix. The error never repeats the
/// text: it may be a secret key.
pub fn parse_hex32(text: &str) -> Result<[u8; 32]> {
    let digits = text.trim().trim_start_matches("0x");
    let bytes = zeroize::Zeroizing::new(
        hex::decode(digits).map_err(|_| Error::InvalidKey("not hexadecimal".into()))?,
    );
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        Error::InvalidKey(format!(
            "expected 32 bytes (64 hex digits), got {}",
            bytes.len()
        ))
    })
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
}
