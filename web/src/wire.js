// What the page sends the key servers and reads back, in the bytes the Rust side uses
// (keyrelease/src/request.rs, keyrelease/src/wire.rs): a signed message travels as its
// SCALE bytes in 0x-hex, `{"signed": "0x…"}`; the signature is the account's sr25519
// signature over `<Bytes>` ++ tag ++ SCALE(body) ++ `</Bytes>`, which is what a wallet's
// `signRaw` signs when handed tag ++ SCALE(body) (it adds the wrapping itself). Pinned
// by the vectors of web/test/vectors/ (the Rust test checks a request signed here).

import { concat, le, SEALED_LEN } from './sealing.js';

const text = (s) => new TextEncoder().encode(s);
export const RELEASE_REQUEST_TAG = text('medconsent:key-release:v1');
export const DEPOSIT_TAG = text('medconsent:key-deposit:v1');
export const JUSTIFICATION_DEPOSIT_TAG = text('medconsent:justification-deposit:v1');
export const JUSTIFICATION_REQUEST_TAG = text('medconsent:justification-request:v1');
export const WRAP_OPEN = text('<Bytes>');
export const WRAP_CLOSE = text('</Bytes>');

function bytes32(value, what) {
  if (!(value instanceof Uint8Array) || value.length !== 32) throw new TypeError(`${what}: 32 bytes expected`);
  return value;
}

/** SCALE of a ReleaseRequest (every field fixed-width, in declaration order). */
export function encodeReleaseRequest(r) {
  return concat(
    bytes32(r.server, 'server'), bytes32(r.patient, 'patient'), le(r.record, 8), le(r.version, 4),
    le(r.logSeq, 8), bytes32(r.requester, 'requester'), bytes32(r.replyKey, 'reply key'),
    le(r.expiresAt, 8),
  );
}

/** SCALE of a Deposit. */
export function encodeDeposit(d) {
  if (!(d.share instanceof Uint8Array) || d.share.length !== SEALED_LEN) {
    throw new TypeError(`share: ${SEALED_LEN} bytes expected`);
  }
  return concat(
    bytes32(d.server, 'server'), bytes32(d.patient, 'patient'), bytes32(d.depositor, 'depositor'),
    le(d.record, 8), le(d.version, 4), bytes32(d.contentHash, 'content hash'), le(d.index, 1),
    d.share, le(d.expiresAt, 8),
  );
}

/** SCALE's compact length prefix (up to 2^30 - 1), then the bytes: a `Vec<u8>`. */
function vec(bytes) {
  const n = bytes.length;
  const prefix = n < 64 ? le(n << 2, 1) : n < 1 << 14 ? le((n << 2) | 1, 2) : le((n << 2) | 2, 4);
  if (n >= 1 << 30) throw new RangeError('too long for this encoder');
  return concat(prefix, bytes);
}

/** A `Vec<u8>` from `bytes` at `at`: its content and where it ends. */
function readVec(bytes, at) {
  const mode = bytes[at] & 3;
  const width = [1, 2, 4][mode];
  if (width === undefined || at + width > bytes.length) throw new TypeError('not a SCALE length');
  let n = 0;
  for (let i = width - 1; i >= 0; i--) n = n * 256 + bytes[at + i];
  n = Math.floor(n / 4);
  const start = at + width;
  if (start + n > bytes.length) throw new TypeError('a SCALE vector longer than its bytes');
  return { value: bytes.slice(start, start + n), end: start + n };
}

/** SCALE of a JustificationDeposit. */
export function encodeJustificationDeposit(d) {
  if (!(d.share instanceof Uint8Array) || d.share.length !== SEALED_LEN) {
    throw new TypeError(`share: ${SEALED_LEN} bytes expected`);
  }
  return concat(
    bytes32(d.server, 'server'), bytes32(d.patient, 'patient'), le(d.logSeq, 8),
    bytes32(d.responder, 'responder'), le(d.index, 1), d.share, vec(d.text), le(d.expiresAt, 8),
  );
}

/** SCALE of a JustificationRequest. */
export function encodeJustificationRequest(r) {
  return concat(
    bytes32(r.server, 'server'), bytes32(r.patient, 'patient'), le(r.logSeq, 8),
    bytes32(r.requester, 'requester'), bytes32(r.replyKey, 'reply key'), le(r.expiresAt, 8),
  );
}

/** A ReleasedJustification from its SCALE bytes: index, sealed share, sealed text. */
export function decodeReleasedJustification(encoded) {
  if (!(encoded instanceof Uint8Array) || encoded.length < 1 + SEALED_LEN + 1) {
    throw new TypeError('a released justification is at least 1 + 104 + 1 bytes');
  }
  const { value: sealedText, end } = readVec(encoded, 1 + SEALED_LEN);
  if (end !== encoded.length) throw new TypeError('trailing bytes after a released justification');
  return { index: encoded[0], share: encoded.slice(1, 1 + SEALED_LEN), text: sealedText };
}

/** What to hand a wallet's signRaw (it adds `<Bytes>`…`</Bytes>`). */
export const releaseToSign = (r) => concat(RELEASE_REQUEST_TAG, encodeReleaseRequest(r));
export const depositToSign = (d) => concat(DEPOSIT_TAG, encodeDeposit(d));
export const justificationDepositToSign = (d) => concat(JUSTIFICATION_DEPOSIT_TAG, encodeJustificationDeposit(d));
export const justificationRequestToSign = (r) => concat(JUSTIFICATION_REQUEST_TAG, encodeJustificationRequest(r));

/** The bytes the signature covers, wrapping included. */
export const wrapped = (inner) => concat(WRAP_OPEN, inner, WRAP_CLOSE);

/** SCALE of a signed request or deposit: the body, then the 64-byte signature. */
export function signed(encodedBody, signature) {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) throw new TypeError('signature: 64 bytes expected');
  return concat(encodedBody, signature);
}

/** A ReleasedShare from its SCALE bytes: the share's index and its envelope. */
export function decodeReleasedShare(encoded) {
  if (!(encoded instanceof Uint8Array) || encoded.length !== 1 + SEALED_LEN) {
    throw new TypeError('a released share is 1 + 104 bytes');
  }
  return { index: encoded[0], share: encoded.slice(1) };
}
