//! Sealing and opening a payload: XChaCha20-Poly1305 in the STREAM construction, so a
//! file of any size is processed in 64 KiB chunks with constant memory, and truncation,
//! reordering or a flipped bit anywhere is an authentication error.
//!
//! Blob layout: `MCS1` | 19-byte nonce prefix | chunk ciphertexts (each chunk of 64 KiB
//! plaintext + 16-byte tag; the last one shorter and sealed as last).

use crate::{random, Binding, Error, RecordKey, Result};
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use std::io::{Read, Write};
use zeroize::Zeroizing;

pub const MAGIC: &[u8; 4] = b"MCS1";
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 19;

impl Binding {
    /// Associated data of every chunk: a domain tag, the record id and the version.
    fn associated_data(&self) -> [u8; 32] {
        let mut aad = [0u8; 32];
        aad[..20].copy_from_slice(b"medconsent/record/v1");
        aad[20..28].copy_from_slice(&self.record_id.to_le_bytes());
        aad[28..].copy_from_slice(&self.version.to_le_bytes());
        aad
    }
}

/// A fresh random record key.
pub fn new_record_key() -> RecordKey {
    Zeroizing::new(random())
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// Feeds `input` to `each` in chunks of `size` bytes, telling it which chunk is the last
/// (one chunk of look-ahead; an empty input is one empty last chunk).
fn for_each_chunk(
    mut input: impl Read,
    size: usize,
    mut each: impl FnMut(&[u8], bool) -> Result<()>,
) -> Result<()> {
    let mut current = Zeroizing::new(vec![0u8; size]);
    let mut next = Zeroizing::new(vec![0u8; size]);
    let mut current_len = read_full(&mut input, &mut current)?;
    loop {
        let next_len = if current_len == size {
            read_full(&mut input, &mut next)?
        } else {
            0
        };
        let last = next_len == 0;
        each(&current[..current_len], last)?;
        if last {
            return Ok(());
        }
        std::mem::swap(&mut current, &mut next);
        current_len = next_len;
    }
}

/// Seals `input` to `output`. `progress` is told how many plaintext bytes are done.
pub fn seal(
    input: impl Read,
    mut output: impl Write,
    key: &RecordKey,
    binding: Binding,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let nonce: [u8; NONCE_PREFIX] = random();
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let mut encryptor = Some(EncryptorBE32::from_aead(cipher, nonce.as_ref().into()));
    let aad = binding.associated_data();
    output.write_all(MAGIC)?;
    output.write_all(&nonce)?;
    let mut done = 0u64;
    for_each_chunk(input, CHUNK, |chunk, last| {
        let payload = Payload {
            msg: chunk,
            aad: &aad,
        };
        let sealed = match (last, encryptor.as_mut()) {
            (false, Some(e)) => e.encrypt_next(payload),
            (true, _) => encryptor
                .take()
                .expect("one last chunk")
                .encrypt_last(payload),
            (false, None) => unreachable!("no chunk after the last"),
        }
        .map_err(|_| Error::BadFormat("payload (too large)"))?;
        output.write_all(&sealed)?;
        done += chunk.len() as u64;
        progress(done);
        Ok(())
    })?;
    output.flush()?;
    Ok(())
}

/// Opens a sealed blob from `input` into `output`. Plaintext is written chunk by chunk
/// as each chunk authenticates: callers that must not expose a partial result write to
/// a temporary file and keep it only on `Ok` (as the store does).
pub fn open(
    mut input: impl Read,
    mut output: impl Write,
    key: &RecordKey,
    binding: Binding,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut header = [0u8; 4 + NONCE_PREFIX];
    if read_full(&mut input, &mut header)? != header.len() || &header[..4] != MAGIC {
        return Err(Error::BadFormat("sealed blob"));
    }
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let mut decryptor = Some(DecryptorBE32::from_aead(cipher, header[4..].into()));
    let aad = binding.associated_data();
    let mut done = 0u64;
    for_each_chunk(input, CHUNK + TAG, |chunk, last| {
        let payload = Payload {
            msg: chunk,
            aad: &aad,
        };
        let plain = match (last, decryptor.as_mut()) {
            (false, Some(d)) => d.decrypt_next(payload),
            (true, _) => decryptor
                .take()
                .expect("one last chunk")
                .decrypt_last(payload),
            (false, None) => unreachable!("no chunk after the last"),
        }
        .map_err(|_| Error::DecryptionFailed)?;
        let plain = Zeroizing::new(plain);
        output.write_all(&plain)?;
        done += plain.len() as u64;
        progress(done);
        Ok(())
    })?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINDING: Binding = Binding {
        record_id: 7,
        version: 1,
    };

    fn sealed(plain: &[u8], key: &RecordKey) -> Vec<u8> {
        let mut out = Vec::new();
        seal(plain, &mut out, key, BINDING, &mut |_| {}).unwrap();
        out
    }

    fn opened(blob: &[u8], key: &RecordKey, binding: Binding) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        open(blob, &mut out, key, binding, &mut |_| {})?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_every_size_class() {
        let key = new_record_key();
        for len in [
            0,
            1,
            1000,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK,
            3 * CHUNK + 17,
        ] {
            let plain = sample(len);
            let blob = sealed(&plain, &key);
            let chunks = len.div_ceil(CHUNK).max(1);
            assert_eq!(
                blob.len(),
                4 + NONCE_PREFIX + len + chunks * TAG,
                "len {len}"
            );
            assert_eq!(opened(&blob, &key, BINDING).unwrap(), plain, "len {len}");
        }
    }

    #[test]
    fn the_same_payload_seals_differently_each_time() {
        let key = new_record_key();
        assert_ne!(sealed(b"same", &key), sealed(b"same", &key));
    }

    #[test]
    fn any_flipped_bit_is_detected() {
        let key = new_record_key();
        let blob = sealed(&sample(CHUNK + 100), &key);
        for position in [4, 10, 30, CHUNK, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[position] ^= 1;
            assert!(matches!(
                opened(&bad, &key, BINDING),
                Err(Error::DecryptionFailed)
            ));
        }
    }

    #[test]
    fn truncation_and_extension_are_detected() {
        let key = new_record_key();
        let blob = sealed(&sample(2 * CHUNK + 5), &key);
        let cut_at_chunk = 4 + NONCE_PREFIX + CHUNK + TAG;
        for bad in [&blob[..cut_at_chunk], &blob[..blob.len() - 1]] {
            assert!(opened(bad, &key, BINDING).is_err());
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(opened(&longer, &key, BINDING).is_err());
    }

    #[test]
    fn wrong_key_or_binding_fails() {
        let key = new_record_key();
        let blob = sealed(b"lab results", &key);
        let other = new_record_key();
        assert!(matches!(
            opened(&blob, &other, BINDING),
            Err(Error::DecryptionFailed)
        ));
        for binding in [
            Binding {
                record_id: 8,
                ..BINDING
            },
            Binding {
                version: 2,
                ..BINDING
            },
        ] {
            assert!(matches!(
                opened(&blob, &key, binding),
                Err(Error::DecryptionFailed)
            ));
        }
    }

    #[test]
    fn foreign_bytes_are_not_a_blob() {
        let key = new_record_key();
        assert!(matches!(
            opened(b"PK\x03\x04", &key, BINDING),
            Err(Error::BadFormat(_))
        ));
        assert!(matches!(
            opened(b"", &key, BINDING),
            Err(Error::BadFormat(_))
        ));
    }

    #[test]
    fn progress_reaches_the_plaintext_length() {
        let key = new_record_key();
        let plain = sample(2 * CHUNK + 3);
        let mut seen = Vec::new();
        let mut blob = Vec::new();
        seal(&plain[..], &mut blob, &key, BINDING, &mut |n| seen.push(n)).unwrap();
        assert_eq!(seen.last(), Some(&(plain.len() as u64)));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }
}
