// The key servers as the page meets them (their HTTP surface: keyrelease/src/wire.rs):
// a release request signed by the wallet, the share sealed to a key the page made for
// this read, and the ciphertext checked against the chain's hash before it is opened.
// Any server may be down or hostile: each answer is checked, a bad one costs that
// server's share, never a wrong key; `threshold` good shares are enough.

import { combine, contentHash, openFrom, openRecord, releaseContext } from './sealing.js';
import { decodeReleasedShare, encodeReleaseRequest, releaseToSign, signed } from './wire.js';

/** How long a signed request stays valid (ms of chain time), as the command's. */
export const REQUEST_LIFETIME_MS = 120_000;
const TIMEOUT_MS = 30_000;

const CODE_WORDS = {
  entry_used: 'this access was already used for a release',
  stale_entry: 'the access is too old: open the record again',
  other_reader: 'the access was made by another account',
  not_an_access: 'the chain did not grant this access',
  requester_suspended: 'your account is suspended in the directory',
  chain_unavailable: 'the server could not read the chain',
  nodes_disagree: "the server's nodes disagree about the chain",
  chain_behind: "the server's view of the chain is behind",
  contracts_changed: 'the contracts changed since the server was set up: its operator must review them',
  no_share: 'the server holds no share of this version',
  retired: 'the record is retired',
  expired: 'the request expired before it arrived',
  busy: 'the server is busy',
};

export const hexOf = (bytes) => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
export function bytesOf(hex) {
  const clean = hex.replace(/^0x/, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error('not hex');
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** A server's refusal or failure, in words, with its stable code when it gave one. */
export class ServerRefused extends Error {
  constructor(server, code, message) {
    super(`${server}: ${CODE_WORDS[code] ?? message ?? code}`);
    this.code = code;
  }
}

async function call(server, path, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(`${server.url}${path}`, { ...init, signal: controller.signal });
  } catch {
    throw new ServerRefused(server.name, 'unreachable', 'did not answer');
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ServerRefused(server.name, body.error ?? `http_${response.status}`, body.message);
  }
  return response;
}

/**
 * One server's share of `record` at `version` for the finalized log entry `logSeq`,
 * requested by `requester` (the wallet signs), sealed to `reply` (made for this read).
 */
async function releasedShare(server, ask, signature, reply) {
  const request = { ...ask, server: server.publicKey };
  const body = JSON.stringify({ signed: hexOf(signed(encodeReleaseRequest(request), signature)) });
  const response = await call(server, '/v1/release', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body,
  });
  let released;
  try {
    released = decodeReleasedShare(bytesOf((await response.json()).released));
  } catch {
    throw new ServerRefused(server.name, 'garbled', 'answered something that is not a share');
  }
  const context = releaseContext(server.publicKey, ask.patient, ask.record, ask.version, ask.logSeq,
    ask.requester, released.index);
  try {
    return { index: released.index, value: openFrom(released.share, reply.secret, context) };
  } catch {
    throw new ServerRefused(server.name, 'bad_share', 'sent a share that does not open for this access');
  }
}

/**
 * The record key for the access `ask` ({ patient, record, version, logSeq, requester,
 * replyKey, expiresAt }): every server is asked (each request signed by `sign`, the
 * wallet's signRaw, one server at a time), the first `threshold` good shares combined.
 * `progress` hears each step in words.
 */
export async function recordKey(servers, threshold, ask, reply, sign, progress) {
  const signatures = [];
  for (const [i, server] of servers.entries()) {
    progress(`signing the request to ${server.name} (${i + 1} of ${servers.length})`);
    signatures.push(await sign(releaseToSign({ ...ask, server: server.publicKey })));
  }
  progress(`asking ${servers.length} key servers for their shares`);
  const answers = await Promise.allSettled(
    servers.map((server, i) => releasedShare(server, ask, signatures[i], reply)),
  );
  const shares = answers.filter((a) => a.status === 'fulfilled').map((a) => a.value);
  const failures = answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message);
  if (shares.length < threshold) {
    throw new Error(`only ${shares.length} of ${servers.length} key servers released a share, ${threshold} needed`
      + `${failures.length ? `: ${failures.join('; ')}` : ''}`);
  }
  return { key: combine(shares, threshold), failures };
}

/**
 * The ciphertext of `hash` from the first server that has it whole and unchanged (its
 * BLAKE2b-256 must be the chain's content hash), opened with `key`.
 */
export async function openedRecord(servers, hash, key, record, version, progress) {
  const problems = [];
  for (const server of servers) {
    progress(`fetching the ciphertext from ${server.name}`);
    try {
      const blob = new Uint8Array(await (await call(server, `/v1/blobs/${hexOf(hash)}`, {})).arrayBuffer());
      if (hexOf(contentHash(blob)) !== hexOf(hash)) {
        problems.push(`${server.name}: its ciphertext does not match the chain's hash`);
        continue;
      }
      progress('decrypting');
      return openRecord(blob, key, record, version);
    } catch (error) {
      problems.push(error.message);
    }
  }
  throw new Error(`no key server gave the record's ciphertext: ${problems.join('; ')}`);
}

/** The configuration's servers, with their pinned keys as bytes and a name to say. */
export function pinnedServers(config) {
  return (config.key_servers ?? []).map((s, i) => ({
    name: `key server ${i + 1}`, url: s.url.replace(/\/$/, ''), account: s.account, publicKey: bytesOf(s.public_key),
  }));
}
