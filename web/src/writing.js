// Writing records from the page, in the Rust client's format (sealing.js): a new record
// (by the patient, a delegate, or a provider with an Append permit), a new version under
// a new key, and a retirement. The plain bytes and the record key never leave the page
// unsealed: the ciphertext goes to the key servers, the key as one sealed share per
// server, each deposit signed by the author's wallet. The order is the command's: the
// chain first (a server keeps only ciphertext the chain names), then uploads, then
// deposits.

import { decodeAddress } from '@polkadot/util-crypto';
import { deadline, read, sendFinal } from './chain.js';
import { cidOf } from './cid.js';
import {
  answeringServers, depositShares, REQUEST_LIFETIME_MS, retireAtServers, uploadBlob,
} from './keyservers.js';
import { contentHash, randomBytes, sealRecord } from './sealing.js';
import { toHex } from './hex.js';

const text = (s) => new TextEncoder().encode(s);

/**
 * Seals `plain` as `version` of `recordId`: the blob, its hash and its locator (as hex:
 * the API reads a Uint8Array for `Vec<u8>` as already length-prefixed). A ciphertext the
 * key servers would refuse is refused here, before anything goes on chain.
 */
function sealed(plain, key, recordId, version, limit) {
  const blob = sealRecord(plain, key, BigInt(recordId), version);
  if (blob.length > limit) {
    throw new Error(`the file is too large: sealed it is ${blob.length} bytes, the key servers take at most ${limit}`);
  }
  return { blob, hash: contentHash(blob), locator: toHex(text(cidOf(blob))) };
}

async function store(ctx, servers, { patient, record, version, hash, blob, key }, progress) {
  const uploadFailures = await uploadBlob(servers, record, hash, blob, progress);
  const { taken, failures } = await depositShares(servers, ctx.config.threshold, {
    patient: decodeAddress(patient), depositor: decodeAddress(ctx.account), record: BigInt(record), version,
    contentHash: hash,
  }, deadline(ctx.sys, REQUEST_LIFETIME_MS), key, ctx.sign, progress);
  return { taken, failures: [...uploadFailures, ...failures] };
}

/** The record as the chain holds it now, or an error naming what differs from `want`. */
async function onChain(ctx, record, want) {
  const found = await read(ctx.sys, ctx.sys.registry, 'record', ctx.account, record);
  if (found.isNone) throw new Error(`record ${record} is not on chain after its block was final: the node may be lying`);
  const r = found.unwrap();
  if (toHex(r.contentHash.toU8a()) !== toHex(want.hash) || r.version.toNumber() !== want.version
    || (want.patient && r.patient.toString() !== want.patient)) {
    throw new Error(`record ${record} on chain does not hold what was just sealed (another write came first, or the node `
      + `answers wrongly): no ciphertext or key share was sent${want.version > 1 ? '; its current version has no key shares: give it a new key again' : ''}`);
  }
  return r;
}

/**
 * A new record of `patient` in `category` (a code) for `purpose` ('PatientRequest' for
 * the patient and delegates; a provider's Append purpose otherwise). `ctx`: { sys,
 * config, servers, account, signer (the wallet's), sign (its signRaw) }.
 */
export async function writeRecord(ctx, { patient, category, purpose, plain }, progress) {
  const servers = await answeringServers(ctx.servers, ctx.config.threshold);
  const record = (await read(ctx.sys, ctx.sys.registry, 'nextRecordId', ctx.account)).toString();
  progress(`sealing ${plain.length} bytes as record ${record}`);
  const key = randomBytes(32);
  try {
    const { blob, hash, locator } = sealed(plain, key, record, 1, ctx.config.max_blob_bytes);
    progress('registering the record on chain (the wallet signs)');
    await sendFinal(ctx.sys, ctx.sys.registry, 'registerRecord', ctx.account, ctx.signer,
      [patient, record, category, hash, locator, purpose], (s) => progress(`registering: ${s}`));
    await onChain(ctx, record, { hash, version: 1, patient });
    const stored = await store(ctx, servers, { patient, record, version: 1, hash, blob, key }, progress);
    return { record, version: 1, hash, ...stored };
  } finally {
    key.fill(0);
  }
}

/**
 * A new version of `record` (a Record codec) with `plain` under a new key: the servers
 * drop the old version's shares once they see the amendment.
 */
export async function rotateRecord(ctx, record, plain, purpose, progress) {
  const servers = await answeringServers(ctx.servers, ctx.config.threshold);
  const id = record.id.toString();
  const version = record.version.toNumber() + 1;
  progress(`sealing version ${version} of record ${id} under a new key`);
  const key = randomBytes(32);
  try {
    const { blob, hash, locator } = sealed(plain, key, id, version, ctx.config.max_blob_bytes);
    progress('amending the record on chain (the wallet signs)');
    await sendFinal(ctx.sys, ctx.sys.registry, 'amendRecord', ctx.account, ctx.signer,
      [id, hash, locator, purpose], (s) => progress(`amending: ${s}`));
    await onChain(ctx, id, { hash, version });
    const patient = record.patient.toString();
    const stored = await store(ctx, servers, { patient, record: id, version, hash, blob, key }, progress);
    return { record: id, version, hash, ...stored };
  } finally {
    key.fill(0);
  }
}

/** Retires `recordId` on chain, then asks every server to delete what it keeps of it. */
export async function retireRecord(ctx, recordId, progress) {
  progress('retiring the record on chain (the wallet signs)');
  await sendFinal(ctx.sys, ctx.sys.registry, 'retireRecord', ctx.account, ctx.signer, [recordId],
    (s) => progress(`retiring: ${s}`));
  return retireAtServers(ctx.servers, recordId, progress);
}
