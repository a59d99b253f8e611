// The record format of the Rust client, for the page: a record sealed here opens with
// `medconsent get`, and one sealed by `medconsent put` opens here. Checked both ways by
// known-answer vectors (web/test/vectors/: rust.json made by client/tests/web_vectors.rs,
// page.json made by web/test/sealing.test.mjs and opened by the same Rust test).
//
// - A record: XChaCha20-Poly1305 in the STREAM construction (RustCrypto's StreamBE32:
//   nonce = 19-byte prefix | 32-bit big-endian chunk counter | last-chunk flag), 64 KiB
//   plaintext chunks, every chunk bound to the record id and version. Blob layout:
//   "MCS1" | nonce prefix | sealed chunks. Its content hash is BLAKE2b-256 of the blob.
// - A record key in shares: Shamir over GF(2^8) (x^8 + x^4 + x^3 + x + 1), share i the
//   value at x = i; any threshold of them give the key back.
// - A 32-byte secret sealed to an X25519 key under a context: an ephemeral key agreement,
//   HKDF-SHA256 (salt: both public keys, info "medconsent/envelope/v1") and
//   XChaCha20-Poly1305 with the context as associated data. Layout: ephemeral public key
//   (32) | nonce (24) | sealed secret (48).

import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { blake2b } from '@noble/hashes/blake2b';

export const MAGIC = new TextEncoder().encode('MCS1');
export const CHUNK = 64 * 1024;
const TAG = 16;
const NONCE_PREFIX = 19;
export const SEALED_LEN = 32 + 24 + 32 + 16;
const ENVELOPE_INFO = new TextEncoder().encode('medconsent/envelope/v1');
const RECORD_DOMAIN = new TextEncoder().encode('medconsent/record/v1');

/** Why something did not open or could not be sealed; `code` is stable. */
export class SealingError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function randomBytes(n) {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SCALE's fixed-width little-endian integers (u8, u32, u64). */
export function le(value, bytes) {
  let v = BigInt(value);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n || BigInt(value) < 0n) throw new RangeError(`${value} does not fit in ${bytes} bytes`);
  return out;
}

function fixed(bytes, length, what) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new TypeError(`${what}: ${length} bytes expected`);
  }
  return bytes;
}

// --- a record ---------------------------------------------------------------------

function recordAad(recordId, version) {
  return concat(RECORD_DOMAIN, le(recordId, 8), le(version, 4));
}

function chunkNonce(prefix, counter, last) {
  const nonce = new Uint8Array(24);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(NONCE_PREFIX, counter, false);
  nonce[23] = last ? 1 : 0;
  return nonce;
}

/** Seals `plain` (Uint8Array) with the 32-byte record `key` for (recordId, version). */
export function sealRecord(plain, key, recordId, version, prefix = randomBytes(NONCE_PREFIX)) {
  fixed(key, 32, 'record key');
  const aad = recordAad(recordId, version);
  const parts = [MAGIC, fixed(prefix, NONCE_PREFIX, 'nonce prefix')];
  // As the Rust client: full chunks, then the rest (maybe empty) sealed as last; an input
  // of whole chunks seals its final full chunk as last.
  const chunks = Math.max(1, Math.ceil(plain.length / CHUNK));
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    const piece = plain.subarray(i * CHUNK, Math.min(plain.length, (i + 1) * CHUNK));
    parts.push(xchacha20poly1305(key, chunkNonce(prefix, i, last), aad).encrypt(piece));
  }
  return concat(...parts);
}

/** Opens a sealed blob; a wrong key, binding, altered, reordered or cut blob throws. */
export function openRecord(blob, key, recordId, version) {
  fixed(key, 32, 'record key');
  const header = MAGIC.length + NONCE_PREFIX;
  if (blob.length < header + TAG || !MAGIC.every((b, i) => blob[i] === b)) {
    throw new SealingError('bad_format', 'not a sealed medconsent record');
  }
  const prefix = blob.subarray(MAGIC.length, header);
  const aad = recordAad(recordId, version);
  const body = blob.subarray(header);
  const sealedChunk = CHUNK + TAG;
  const chunks = Math.max(1, Math.ceil(body.length / sealedChunk));
  const out = [];
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    const piece = body.subarray(i * sealedChunk, Math.min(body.length, (i + 1) * sealedChunk));
    try {
      out.push(xchacha20poly1305(key, chunkNonce(prefix, i, last), aad).decrypt(piece));
    } catch {
      throw new SealingError('does_not_open', 'the record does not open: another key or record, or altered bytes');
    }
  }
  return concat(...out);
}

/** The content hash the chain keeps for a sealed blob. */
export function contentHash(blob) {
  return blake2b(blob, { dkLen: 32 });
}

// --- shares of a record key -------------------------------------------------------

function mul(a, b) {
  let product = 0;
  for (let i = 0; i < 8; i++) {
    product ^= -(b & 1) & a;
    const high = -((a >> 7) & 1) & 0x1b;
    a = ((a << 1) ^ high) & 0xff;
    b >>= 1;
  }
  return product & 0xff;
}

function inverse(a) {
  // a^254 = a^-1 in GF(2^8).
  let result = 1;
  let power = a;
  for (let e = 254; e > 0; e >>= 1) {
    if (e & 1) result = mul(result, power);
    power = mul(power, power);
  }
  return result;
}

/** Splits a 32-byte key into `shares` shares, any `threshold` of which give it back. */
export function split(key, threshold, shares) {
  fixed(key, 32, 'record key');
  if (threshold < 2 || threshold > shares || shares > 255) {
    throw new SealingError('bad_threshold', `threshold ${threshold} of ${shares} shares`);
  }
  const coefficients = [key, ...Array.from({ length: threshold - 1 }, () => randomBytes(32))];
  const out = [];
  for (let index = 1; index <= shares; index++) {
    const value = new Uint8Array(32);
    for (let b = 0; b < 32; b++) {
      let acc = 0;
      for (let k = coefficients.length - 1; k >= 0; k--) acc = mul(acc, index) ^ coefficients[k][b];
      value[b] = acc;
    }
    out.push({ index, value });
  }
  for (const row of coefficients.slice(1)) row.fill(0);
  return out;
}

/** The key from the first `threshold` distinct shares (as the Rust client combines). */
export function combine(shares, threshold) {
  const used = [];
  for (const share of shares) {
    if (share.index === 0 || used.some((s) => s.index === share.index)) {
      throw new SealingError('bad_index', `share index ${share.index} is not usable`);
    }
    if (used.length < threshold) used.push(share);
  }
  if (threshold < 2 || used.length < threshold) {
    throw new SealingError('too_few_shares', `${used.length} shares, ${threshold} needed`);
  }
  const key = new Uint8Array(32);
  used.forEach((share, j) => {
    let basis = 1;
    used.forEach((other, m) => {
      if (m !== j) basis = mul(basis, mul(other.index, inverse(other.index ^ share.index)));
    });
    for (let b = 0; b < 32; b++) key[b] ^= mul(basis, share.value[b]);
  });
  return key;
}

// --- an envelope --------------------------------------------------------------------

function context(kind, ...fields) {
  return concat(new TextEncoder().encode(`medconsent:${kind}:`), ...fields);
}

/** What a share deposited at a key server is bound to. */
export function depositContext(server, record, version, contentHashBytes, index) {
  return context('deposit', fixed(server, 32, 'server key'), le(record, 8), le(version, 4),
    fixed(contentHashBytes, 32, 'content hash'), le(index, 1));
}

/** What a share released by a key server is bound to: the log entry behind it. */
export function releaseContext(server, patient, record, version, logSeq, requester, index) {
  return context('release', fixed(server, 32, 'server key'), fixed(patient, 32, 'patient'),
    le(record, 8), le(version, 4), le(logSeq, 8), fixed(requester, 32, 'requester'), le(index, 1));
}

/** What a justification key share a server keeps is bound to: the break-glass entry. */
export function justificationContext(server, patient, logSeq, index) {
  return context('justification', fixed(server, 32, 'server key'), fixed(patient, 32, 'patient'),
    le(logSeq, 8), le(index, 1));
}

/** What a justification share handed to the patient (or a delegate) is bound to. */
export function justificationReleaseContext(server, patient, logSeq, requester, index) {
  return context('justification-release', fixed(server, 32, 'server key'), fixed(patient, 32, 'patient'),
    le(logSeq, 8), fixed(requester, 32, 'requester'), le(index, 1));
}

/** What the patient's own copy of a record key is bound to. */
export function ownerContext(record, version, contentHashBytes) {
  return context('owner', le(record, 8), le(version, 4), fixed(contentHashBytes, 32, 'content hash'));
}

function keyEncryptionKey(shared, ephemeralPublic, recipientPublic) {
  // A low-order public key gives an all-zero secret: refused, as the Rust side does.
  if (shared.every((b) => b === 0)) throw new SealingError('weak_key', 'a low-order X25519 public key');
  return hkdf(sha256, shared, concat(ephemeralPublic, recipientPublic), ENVELOPE_INFO, 32);
}

function agree(secret, publicKey) {
  try {
    return x25519.getSharedSecret(secret, publicKey);
  } catch {
    throw new SealingError('weak_key', 'a low-order X25519 public key');
  }
}

/** A new X25519 key pair. */
export function keygen() {
  const secret = x25519.utils.randomPrivateKey();
  return { secret, public: x25519.getPublicKey(secret) };
}

/** Seals a 32-byte secret so only `recipient`'s secret opens it, under `ctx`. */
export function sealTo(secret, recipient, ctx) {
  fixed(secret, 32, 'secret');
  fixed(recipient, 32, 'recipient key');
  const ephemeral = keygen();
  const kek = keyEncryptionKey(agree(ephemeral.secret, recipient), ephemeral.public, recipient);
  const nonce = randomBytes(24);
  const sealed = xchacha20poly1305(kek, nonce, ctx).encrypt(secret);
  kek.fill(0);
  ephemeral.secret.fill(0);
  return concat(ephemeral.public, nonce, sealed);
}

/** Opens an envelope with the recipient's secret under the context it was sealed for. */
export function openFrom(envelope, secret, ctx) {
  fixed(envelope, SEALED_LEN, 'envelope');
  const ephemeral = envelope.subarray(0, 32);
  const kek = keyEncryptionKey(agree(secret, ephemeral), ephemeral, x25519.getPublicKey(secret));
  try {
    return xchacha20poly1305(kek, envelope.subarray(32, 56), ctx).decrypt(envelope.subarray(56));
  } catch {
    throw new SealingError('does_not_open', 'the envelope does not open: another key, another context, or altered bytes');
  } finally {
    kek.fill(0);
  }
}
