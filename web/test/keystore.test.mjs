// The browser's key store: a key made here opens only with its passphrase, a file that
// was altered or asks for a hostile KDF is refused with its code, and a command-line key
// file (the Rust side's vector key) imports to the same public key.
// Run: `node --test web/test/keystore.test.mjs` (scripts/test.sh does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { x25519 } from '@noble/curves/ed25519';
import {
  createKey, unlock, importKey, importKeyFile, parseLocked, publicKeyHex, matchesDirectory, FORMAT,
} from '../src/keystore.js';
import { SealingError } from '../src/sealing.js';

const rust = JSON.parse(readFileSync(fileURLToPath(new URL('./vectors/rust.json', import.meta.url)), 'utf8'));
// The cheapest parameters the store accepts, to keep the test quick; one test uses the
// default.
const QUICK = { name: 'scrypt', log_n: 15, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

function refused(fn, code) {
  assert.throws(fn, (e) => e instanceof SealingError && e.code === code, code);
}

test('a key made here opens with its passphrase, with the default KDF', () => {
  const { publicKey, locked } = createKey(PASS);
  assert.equal(locked.format, FORMAT);
  assert.equal(locked.kdf.log_n, 17);
  assert.deepEqual(x25519.getPublicKey(unlock(JSON.stringify(locked), PASS)), publicKey);
  assert.ok(!JSON.stringify(locked).includes('secret'));
});

test('a wrong passphrase, an altered file or another public key: refused', () => {
  const { locked } = createKey(PASS, QUICK);
  refused(() => unlock(locked, `${PASS}!`), 'wrong_passphrase');
  const flipped = { ...locked, sealed: `${locked.sealed.slice(0, -2)}${locked.sealed.endsWith('00') ? '01' : '00'}` };
  refused(() => unlock(flipped, PASS), 'wrong_passphrase');
  const other = createKey(PASS, QUICK).locked;
  refused(() => unlock({ ...locked, public_key: other.public_key }, PASS), 'wrong_passphrase');
  refused(() => createKey('short', QUICK), 'weak_passphrase');
});

test('a hostile or foreign file is refused before any work', () => {
  const { locked } = createKey(PASS, QUICK);
  refused(() => parseLocked({ ...locked, kdf: { ...locked.kdf, log_n: 30 } }), 'not_a_key');
  refused(() => parseLocked({ ...locked, kdf: { ...locked.kdf, log_n: 4 } }), 'not_a_key');
  // Cheap (4 MiB) or a memory bomb (about 2 GiB): each within the old per-field bounds.
  refused(() => parseLocked({ ...locked, kdf: { ...locked.kdf, log_n: 15, r: 1 } }), 'not_a_key');
  refused(() => parseLocked({ ...locked, kdf: { ...locked.kdf, log_n: 20, r: 15, p: 4 } }), 'not_a_key');
  refused(() => parseLocked({ ...locked, format: 'something-else' }), 'not_a_key');
  refused(() => parseLocked({ ...locked, nonce: '0x00' }), 'not_a_key');
});

test('a command-line key file imports to its public key, and the directory check compares', () => {
  const locked = importKeyFile(`${rust.envelope.recipient_secret}\n`, PASS, QUICK);
  assert.equal(publicKeyHex(locked), `0x${rust.envelope.recipient_public}`);
  assert.equal(Buffer.from(unlock(locked, PASS)).toString('hex'), rust.envelope.recipient_secret);
  assert.ok(matchesDirectory(locked, Buffer.from(rust.envelope.recipient_public, 'hex')));
  assert.ok(!matchesDirectory(locked, new Uint8Array(32)));
  refused(() => importKeyFile('not hex', PASS, QUICK), 'not_a_key');
});

test('an import is locked anew with the page\'s parameters, and the passphrase checked', () => {
  const { publicKey, locked } = createKey(PASS, QUICK);
  const stronger = { name: 'scrypt', log_n: 16, r: 8, p: 1 };
  const imported = importKey(JSON.stringify(locked), PASS, stronger);
  assert.equal(imported.kdf.log_n, 16);
  assert.notEqual(imported.kdf.salt, locked.kdf.salt);
  assert.deepEqual(x25519.getPublicKey(unlock(imported, PASS)), publicKey);
  refused(() => importKey(JSON.stringify(locked), `${PASS}!`, stronger), 'wrong_passphrase');
  // A public key written in upper case, without 0x, is the same key.
  const shouting = { ...locked, public_key: locked.public_key.slice(2).toUpperCase() };
  assert.deepEqual(x25519.getPublicKey(unlock(shouting, PASS)), publicKey);
  assert.ok(matchesDirectory(shouting, publicKey));
});
