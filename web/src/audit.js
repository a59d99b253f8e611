import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aEq } from '@polkadot/util';

// Each entry's hash is blake2b-256(previous hash || SCALE(entry without its hash)); the
// hash is the entry's last field, so the body is its encoding minus the last 32 bytes.
export function verifyChain(entries, headHash) {
  let previous = new Uint8Array(32);
  for (let seq = 0; seq < entries.length; seq++) {
    const encoded = entries[seq].toU8a();
    const body = encoded.subarray(0, encoded.length - 32);
    const hash = encoded.subarray(encoded.length - 32);
    if (!u8aEq(blake2AsU8a(u8aConcat(previous, body), 256), hash)) {
      return { ok: false, brokenAt: seq };
    }
    previous = hash;
  }
  return { ok: u8aEq(previous, headHash), brokenAt: entries.length };
}
