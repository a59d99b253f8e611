//! IPFS CIDv1 (raw codec, sha2-256) of a blob, so the ciphertext can be pinned anywhere.

use sha2::{Digest, Sha256};

/// `b` + base32 (RFC 4648, lower case, no padding) of
/// `0x01 (CIDv1) 0x55 (raw) 0x12 (sha2-256) 0x20 (32 bytes) digest`.
pub fn cid_v1_raw(sha256: &[u8; 32]) -> String {
    let mut bytes = vec![0x01, 0x55, 0x12, 0x20];
    bytes.extend_from_slice(sha256);
    format!("b{}", base32_lower(&bytes))
}

pub fn cid_of(data: &[u8]) -> String {
    cid_v1_raw(&Sha256::digest(data).into())
}

fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cids() {
        // The well-known CIDv1 (raw) of the empty block and of "hello world".
        assert_eq!(
            cid_of(b""),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert_eq!(
            cid_of(b"hello world"),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }
}
