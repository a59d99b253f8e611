// A reader's X25519 decryption key kept in the browser: made here, never stored or
// exported unlocked. Locked under a passphrase with scrypt (N = 2^17, r = 8, p = 1: about
// 128 MiB and a second or two per unlock, so each guess costs an attacker as much) and
// XChaCha20-Poly1305, bound to the public key and this format's name. The public key is
// what the admin registers in the directory (`medconsent admin register --public-key`).
//
// A locked key as JSON, which is also the export file:
//   { "format": "medconsent-browser-key/v1", "public_key": "0x…",
//     "kdf": { "name": "scrypt", "log_n": 17, "r": 8, "p": 1, "salt": "0x…" },
//     "nonce": "0x…", "sealed": "0x…" }
// A key file of the command line (`medconsent keygen`: the secret in hex) can be
// imported: it is locked under a new passphrase here.

import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { x25519 } from '@noble/curves/ed25519';
import { scrypt } from '@noble/hashes/scrypt';
import { fromHex as hexBytes, toHex } from './hex.js';
import { concat, randomBytes, SealingError } from './sealing.js';

export const FORMAT = 'medconsent-browser-key/v1';
const KDF = { name: 'scrypt', log_n: 17, r: 8, p: 1 };
const MIN_PASSPHRASE = 12;

function fromHex(text, length, what) {
  try {
    return hexBytes(text, length, what);
  } catch (error) {
    throw new SealingError('not_a_key', error.message);
  }
}

function passphraseKey(passphrase, kdf, salt) {
  return scrypt(new TextEncoder().encode(passphrase), salt, {
    N: 2 ** kdf.log_n, r: kdf.r, p: kdf.p, dkLen: 32, maxmem: 2 ** 31,
  });
}

const associated = (publicKey) => concat(new TextEncoder().encode(FORMAT), publicKey);

/** Locks `secret` (32 bytes) under `passphrase`: the JSON object above. */
export function lock(secret, passphrase, kdf = KDF) {
  if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE) {
    throw new SealingError('weak_passphrase', `a passphrase of at least ${MIN_PASSPHRASE} characters`);
  }
  const publicKey = x25519.getPublicKey(secret);
  const salt = randomBytes(16);
  const nonce = randomBytes(24);
  const key = passphraseKey(passphrase, kdf, salt);
  const sealed = xchacha20poly1305(key, nonce, associated(publicKey)).encrypt(secret);
  key.fill(0);
  return {
    format: FORMAT, public_key: toHex(publicKey), kdf: { ...kdf, salt: toHex(salt) },
    nonce: toHex(nonce), sealed: toHex(sealed),
  };
}

/** A new key pair, locked: `{ publicKey, locked }` (the secret is wiped). */
export function createKey(passphrase, kdf = KDF) {
  const secret = x25519.utils.randomPrivateKey();
  try {
    return { publicKey: x25519.getPublicKey(secret), locked: lock(secret, passphrase, kdf) };
  } finally {
    secret.fill(0);
  }
}

/** Checks a locked key's shape (an import, or what localStorage held). */
export function parseLocked(value) {
  const locked = typeof value === 'string' ? JSON.parse(value) : value;
  if (locked?.format !== FORMAT || locked.kdf?.name !== 'scrypt') {
    throw new SealingError('not_a_key', `not a ${FORMAT} file`);
  }
  const { log_n: logN, r, p } = locked.kdf;
  // Bounds a hostile file cannot push past: scrypt takes 128 * N * r bytes, here between
  // 32 MiB (no trivially cheap KDF) and 256 MiB (no memory bomb), at most 4 passes.
  const memory = Number.isInteger(logN) && Number.isInteger(r) ? 128 * 2 ** logN * r : NaN;
  if (![logN, r, p].every(Number.isInteger) || logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 4
    || !(memory >= 2 ** 25 && memory <= 2 ** 28)) {
    throw new SealingError('not_a_key', 'the file asks for scrypt parameters outside what this page accepts');
  }
  fromHex(locked.public_key, 32, 'public_key');
  fromHex(locked.kdf.salt, 16, 'salt');
  fromHex(locked.nonce, 24, 'nonce');
  fromHex(locked.sealed, 48, 'sealed');
  return locked;
}

/** The secret of a locked key; a wrong passphrase or an altered file throws. */
export function unlock(value, passphrase) {
  const locked = parseLocked(value);
  const publicKey = fromHex(locked.public_key, 32, 'public_key');
  const key = passphraseKey(passphrase, locked.kdf, fromHex(locked.kdf.salt, 16, 'salt'));
  let secret;
  try {
    secret = xchacha20poly1305(key, fromHex(locked.nonce, 24, 'nonce'), associated(publicKey))
      .decrypt(fromHex(locked.sealed, 48, 'sealed'));
  } catch {
    throw new SealingError('wrong_passphrase', 'the passphrase does not open this key (or the file was altered)');
  } finally {
    key.fill(0);
  }
  // The public key is bound as associated data; this says it belongs to the secret too.
  if (toHex(x25519.getPublicKey(secret)) !== toHex(publicKey)) {
    throw new SealingError('not_a_key', 'the key file names another public key than its secret has');
  }
  return secret;
}

/** A command-line key file's text (hex secret), locked under `passphrase`. */
export function importKeyFile(text, passphrase, kdf = KDF) {
  const secret = fromHex(text, 32, 'the key file');
  try {
    return lock(secret, passphrase, kdf);
  } finally {
    secret.fill(0);
  }
}

/** The public key as the admin and the directory write it (0x, lower case). */
export const publicKeyHex = (locked) => toHex(fromHex(parseLocked(locked).public_key, 32, 'public_key'));

/** Whether the directory's key for the account is this browser's key. */
export function matchesDirectory(locked, directoryKey) {
  return publicKeyHex(locked) === toHex(directoryKey);
}

/**
 * A locked key from an import (this page's export, or a command-line key file), locked
 * anew under `passphrase` with this page's own parameters: a file with weaker ones is
 * not kept as it came, and a wrong passphrase is said at once.
 */
export function importKey(text, passphrase, kdf = KDF) {
  if (!String(text).trim().startsWith('{')) return importKeyFile(text, passphrase, kdf);
  const secret = unlock(text, passphrase);
  try {
    return lock(secret, passphrase, kdf);
  } finally {
    secret.fill(0);
  }
}
