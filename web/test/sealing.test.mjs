// The page's sealing and key-server messages against the Rust client's, through
// web/test/vectors/: rust.json (made by client/tests/web_vectors.rs) must open here and
// its contexts and messages be rebuilt byte for byte; page.json is made here
// (MEDCONSENT_WRITE_VECTORS=1 node --test web/test/sealing.test.mjs) and opened, and its
// signed request checked, by the Rust test. scripts/test.sh runs both halves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { x25519 } from '@noble/curves/ed25519';
import {
  sealRecord, openRecord, contentHash, split, combine, sealTo, openFrom, keygen,
  depositContext, releaseContext, ownerContext, SealingError, CHUNK,
  justificationContext, justificationReleaseContext,
} from '../src/sealing.js';
import { claim, claimHash, loggedText, sealText } from '../src/justification.js';
import {
  encodeReleaseRequest, encodeDeposit, releaseToSign, depositToSign, wrapped, signed,
  decodeReleasedShare, encodeJustificationDeposit, encodeJustificationRequest, justificationDepositToSign,
  justificationRequestToSign, decodeReleasedJustification,
} from '../src/wire.js';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const dir = fileURLToPath(new URL('./vectors/', import.meta.url));
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (b) => Buffer.from(b).toString('base64');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const pattern = (len) => Uint8Array.from({ length: len }, (_, i) => i % 251);
const rust = JSON.parse(readFileSync(`${dir}rust.json`, 'utf8'));

function refused(fn, code) {
  assert.throws(fn, (e) => e instanceof SealingError && e.code === code);
}

/** The contexts of rust.json, rebuilt here from their fields. */
function contexts() {
  return rust.contexts.map((c) => {
    let bytes;
    if (c.kind === 'deposit') {
      bytes = depositContext(unhex(c.server), c.record, c.version, unhex(c.content_hash), c.index);
    } else if (c.kind === 'release') {
      // The record and seq are past JSON's safe integers: strings, read as BigInt.
      bytes = releaseContext(unhex(c.server), unhex(c.patient), BigInt(c.record), c.version,
        BigInt(c.log_seq), unhex(c.requester), c.index);
    } else if (c.kind === 'justification') {
      bytes = justificationContext(unhex(c.server), unhex(c.patient), BigInt(c.log_seq), c.index);
    } else if (c.kind === 'justification-release') {
      bytes = justificationReleaseContext(unhex(c.server), unhex(c.patient), BigInt(c.log_seq), unhex(c.requester), c.index);
    } else {
      bytes = ownerContext(c.record, c.version, unhex(c.content_hash));
    }
    return { ...c, bytes: hex(bytes) };
  });
}

test('every context is built byte for byte as the Rust client builds it', () => {
  for (const [mine, theirs] of contexts().map((c, i) => [c, rust.contexts[i]])) {
    assert.equal(mine.bytes, theirs.bytes, mine.kind);
  }
});

test('records sealed by the Rust client open here, and only with their binding', () => {
  for (const r of rust.records) {
    const blob = unb64(r.sealed);
    assert.equal(hex(contentHash(blob)), r.content_hash);
    const key = unhex(r.key);
    assert.deepEqual(openRecord(blob, key, r.record_id, r.version), pattern(r.plain_len));
    refused(() => openRecord(blob, key, r.record_id + 1, r.version), 'does_not_open');
    refused(() => openRecord(blob, key, r.record_id, r.version + 1), 'does_not_open');
    const flipped = blob.slice();
    flipped[flipped.length - 1] ^= 1;
    refused(() => openRecord(flipped, key, r.record_id, r.version), 'does_not_open');
  }
  // A record of two chunks cut after its first: the first was not sealed as last.
  const two = rust.records.find((r) => r.plain_len > CHUNK);
  const cut = unb64(two.sealed).subarray(0, 4 + 19 + CHUNK + 16);
  refused(() => openRecord(cut, unhex(two.key), two.record_id, two.version), 'does_not_open');
  refused(() => openRecord(new Uint8Array(10), unhex(two.key), 1, 1), 'bad_format');
});

test('shares split by the Rust client combine here, any two of three', () => {
  const shares = rust.shamir.shares.map((s) => ({ index: s.index, value: unhex(s.value) }));
  for (const pair of [[0, 1], [1, 2], [2, 0]]) {
    assert.equal(hex(combine(pair.map((i) => shares[i]), 2)), rust.shamir.key);
  }
  refused(() => combine([shares[0]], 2), 'too_few_shares');
  refused(() => combine([shares[0], shares[0]], 2), 'bad_index');
});

test('an envelope sealed by the Rust client opens here under its context only', () => {
  const e = rust.envelope;
  assert.equal(hex(x25519.getPublicKey(unhex(e.recipient_secret))), e.recipient_public);
  assert.equal(hex(openFrom(unhex(e.sealed), unhex(e.recipient_secret), unhex(e.context))), e.secret);
  const other = new Uint8Array([...unhex(e.context), 0]);
  refused(() => openFrom(unhex(e.sealed), unhex(e.recipient_secret), other), 'does_not_open');
  refused(() => openFrom(unhex(e.sealed), keygen().secret, unhex(e.context)), 'does_not_open');
  // A low-order key (all zeros) is never sealed to.
  refused(() => sealTo(new Uint8Array(32), new Uint8Array(32), unhex(e.context)), 'weak_key');
});

/** A release request of the vectors' fields, as the page holds one. */
function releaseRequest(r) {
  return {
    server: unhex(r.server), patient: unhex(r.patient), record: r.record, version: r.version,
    logSeq: r.log_seq, requester: unhex(r.requester), replyKey: unhex(r.reply_key), expiresAt: r.expires_at,
  };
}

test('requests, deposits and released shares are the bytes the key servers read', () => {
  const { release_request: r, deposit: d, released } = rust.wire;
  const request = releaseRequest(r);
  assert.equal(hex(wrapped(releaseToSign(request))), r.signing_message);
  assert.equal(hex(signed(encodeReleaseRequest(request), new Uint8Array(64).fill(0x5a))), r.signed);
  const deposit = {
    server: unhex(d.server), patient: unhex(d.patient), depositor: unhex(d.depositor), record: d.record,
    version: d.version, contentHash: unhex(d.content_hash), index: d.index, share: unhex(d.share),
    expiresAt: d.expires_at,
  };
  assert.equal(hex(wrapped(depositToSign(deposit))), d.signing_message);
  assert.equal(hex(signed(encodeDeposit(deposit), new Uint8Array(64).fill(0x5a))), d.signed);
  const share = decodeReleasedShare(unhex(released.encoded));
  assert.equal(share.index, released.index);
  assert.equal(hex(share.share), released.share);
  assert.throws(() => decodeReleasedShare(unhex(released.encoded).subarray(1)), TypeError);
});

test('justification deposits, requests and answers are the bytes the key servers read', () => {
  const { justification_deposit: d, justification_request: r, released_justification: handed } = rust.wire;
  const deposit = {
    server: unhex(d.server), patient: unhex(d.patient), logSeq: d.log_seq, responder: unhex(d.responder),
    index: d.index, share: unhex(d.share), text: unhex(d.text), expiresAt: d.expires_at,
  };
  assert.equal(hex(wrapped(justificationDepositToSign(deposit))), d.signing_message);
  assert.equal(hex(signed(encodeJustificationDeposit(deposit), new Uint8Array(64).fill(0x5a))), d.signed);
  const request = {
    server: unhex(r.server), patient: unhex(r.patient), logSeq: r.log_seq, requester: unhex(r.requester),
    replyKey: unhex(r.reply_key), expiresAt: r.expires_at,
  };
  assert.equal(hex(wrapped(justificationRequestToSign(request))), r.signing_message);
  assert.equal(hex(signed(encodeJustificationRequest(request), new Uint8Array(64).fill(0x5a))), r.signed);
  const released = decodeReleasedJustification(unhex(handed.encoded));
  assert.deepEqual([released.index, hex(released.share), hex(released.text)], [handed.index, handed.share, handed.text]);
  assert.throws(() => decodeReleasedJustification(unhex(`${handed.encoded}00`)), TypeError);
  assert.throws(() => decodeReleasedJustification(unhex(handed.encoded).subarray(0, 120)), TypeError);
  // A 2,064-byte claim takes the two-byte length: as a server would read it.
  const long = encodeJustificationDeposit({ ...deposit, text: new Uint8Array(2064) });
  assert.equal(hex(long.subarray(209, 211)), hex(new Uint8Array([(2064 << 2 | 1) & 0xff, (2064 << 2 | 1) >> 8])));
});

test('a justification the Rust side sealed opens here, and only for its entry and hash', () => {
  const j = rust.justification_text;
  const text = new TextEncoder().encode(j.text);
  assert.equal(hex(claimHash(unhex(j.salt), text)), j.claim_hash);
  const opened = loggedText(unhex(j.key), unhex(j.sealed), unhex(j.patient), j.log_seq, unhex(j.claim_hash));
  assert.equal(new TextDecoder().decode(opened), j.text);
  assert.equal(loggedText(unhex(j.key), unhex(j.sealed), unhex(j.patient), j.log_seq + 1, unhex(j.claim_hash)), null);
  const otherHash = unhex(j.claim_hash);
  otherHash[0] ^= 1;
  assert.equal(loggedText(unhex(j.key), unhex(j.sealed), unhex(j.patient), j.log_seq, otherHash), null);
});

/** A release request signed by //Bob as a wallet's signRaw signs it (wrapping added). */
async function signedByBob() {
  await cryptoWaitReady();
  const bob = new Keyring({ type: 'sr25519' }).addFromUri('//Bob');
  const request = { ...releaseRequest(rust.wire.release_request), requester: bob.publicKey };
  const signature = bob.sign(wrapped(releaseToSign(request)));
  return hex(signed(encodeReleaseRequest(request), signature));
}

test('what the page seals opens here (and page.json is what the Rust test opens)', async () => {
  const key = new Uint8Array(32).fill(0x24);
  const records = [0, 3, CHUNK, CHUNK + 9].map((len, i) => {
    const [recordId, version] = [2000 + i, 1 + i];
    const sealed = sealRecord(pattern(len), key, recordId, version);
    assert.deepEqual(openRecord(sealed, key, recordId, version), pattern(len));
    return { key: hex(key), record_id: recordId, version, plain_len: len, sealed: b64(sealed), content_hash: hex(contentHash(sealed)) };
  });
  const shares = split(key, 2, 3);
  assert.deepEqual(combine([shares[2], shares[0]], 2), key);
  const recipient = new Uint8Array(32).fill(0x78);
  const context = unhex(rust.envelope.context);
  const secret = new Uint8Array(32).fill(0x35);
  const sealed = sealTo(secret, x25519.getPublicKey(recipient), context);
  assert.deepEqual(openFrom(sealed, recipient, context), secret);
  const page = {
    records,
    shamir: { key: hex(key), threshold: 2, shares: shares.map((s) => ({ index: s.index, value: hex(s.value) })) },
    envelope: {
      recipient_secret: hex(recipient), recipient_public: hex(x25519.getPublicKey(recipient)),
      context: hex(context), secret: hex(secret), sealed: hex(sealed),
    },
    contexts: rust.contexts,
    signed_request: await signedByBob(),
    justification_text: (() => {
      const [jKey, patient, logSeq, salt] = [new Uint8Array(32).fill(0x62), new Uint8Array(32).fill(0x0b), 8, new Uint8Array(16).fill(0x5f)];
      const text = 'Found collapsed; no contact able to consent.';
      const sealedText = sealText(jKey, claim(salt, new TextEncoder().encode(text)), patient, logSeq);
      return {
        key: hex(jKey), patient: hex(patient), log_seq: logSeq, salt: hex(salt), text,
        claim_hash: hex(claimHash(salt, new TextEncoder().encode(text))), sealed: hex(sealedText),
      };
    })(),
  };
  if (process.env.MEDCONSENT_WRITE_VECTORS) {
    writeFileSync(`${dir}page.json`, `${JSON.stringify(page, null, 2)}\n`);
  }
});

test('the locator is the CIDv1 the Rust client writes (its known answers)', async () => {
  const { cidOf } = await import('../src/cid.js');
  const text = (s) => new TextEncoder().encode(s);
  assert.equal(cidOf(text('')), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  assert.equal(cidOf(text('hello world')), 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e');
});
