// The locator a record's ciphertext is registered under: its IPFS CIDv1 (raw codec,
// sha2-256), as the Rust client writes it (client/src/cid.rs), so the ciphertext can be
// pinned anywhere. `b` + base32 (RFC 4648, lower case, unpadded) of 01 55 12 20 digest.
import { sha256 } from '@noble/hashes/sha2';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32Lower(bytes) {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** The CIDv1 (raw) of `blob`, as text. */
export function cidOf(blob) {
  return `b${base32Lower(new Uint8Array([0x01, 0x55, 0x12, 0x20, ...sha256(blob)]))}`;
}
