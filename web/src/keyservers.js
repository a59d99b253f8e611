// The key servers as the page meets them (their HTTP surface: keyrelease/src/wire.rs):
// a release request signed by the wallet, the share sealed to a key the page made for
// this read, and the ciphertext checked against the chain's hash before it is opened.
// Any server may be down or hostile: each answer is checked, a bad one costs that
// server's share, never a wrong key; `threshold` good shares are enough.

import { fromHex, toHex } from './hex.js';
import {
  combine, concat, contentHash, depositContext, openFrom, openRecord, releaseContext, sealTo, split,
} from './sealing.js';
import {
  decodeReleasedShare, depositToSign, encodeDeposit, encodeReleaseRequest, releaseToSign, signed as signedBody,
} from './wire.js';

/** How long a signed request stays valid (ms of chain time), as the command's. */
export const REQUEST_LIFETIME_MS = 120_000;
const TIMEOUT_MS = 30_000;
// What a server answers while its nodes have not yet seen what the page's node finalized.
const BEHIND = ['record_not_found', 'unregistered_blob', 'wrong_version', 'content_mismatch', 'chain_behind', 'no_such_entry'];

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
  share_held: 'the server already holds a share of this version',
  not_an_author: 'this account may not deposit for this record version',
  too_large: 'the file is larger than the server takes',
  hash_mismatch: 'the upload arrived changed',
  not_retired: 'the record is not retired on chain yet',
  server_not_listed: 'the directory does not list this server as an active key server',
  reply_key_mismatch: 'the directory lists another key for your account than the one this read asked for',
  entry_before_version: 'the record has a newer version than this access: open it again',
  not_patient_or_delegate: 'only the patient or a current delegate may read this',
};


// What the page itself finds wrong with a server's answer (its own words, not the server's).
const PAGE_CODES = new Set(['unreachable', 'garbled', 'bad_share', 'too_long', 'other_key']);

/** A server's refusal or failure, in words, with its stable code when it gave one. */
export class ServerRefused extends Error {
  constructor(server, code, message) {
    // A code this page knows is said in its own words; anything else a server says is
    // quoted, short, as that server's claim.
    const said = Object.hasOwn(CODE_WORDS, code) ? CODE_WORDS[code]
      : PAGE_CODES.has(code) ? message
        : `refused (${String(code).slice(0, 40)}${message ? `: "${String(message).slice(0, 160)}"` : ''})`;
    super(`${server}: ${said}`);
    this.code = code;
  }
}

export async function call(server, path, init) {
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
    const body = await answerJson(server, response).catch(() => null);
    const code = typeof body?.error === 'string' && !PAGE_CODES.has(body.error) ? body.error : `http_${response.status}`;
    throw new ServerRefused(server.name, code, typeof body?.message === 'string' ? body.message : '');
  }
  return response;
}

/**
 * The body of `response`, read no further than `limit` bytes (a hostile server cannot
 * fill the tab's memory): as the Rust client bounds answers and blobs.
 */
export async function answerBytes(server, response, limit) {
  const announced = Number(response.headers.get('content-length'));
  if (announced > limit) throw new ServerRefused(server.name, 'too_long', `answered more than ${limit} bytes`);
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts = [];
  let length = 0;
  // The whole body within the request's time, however slowly a server sends it.
  const until = Date.now() + TIMEOUT_MS;
  for (;;) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new ServerRefused(server.name, 'unreachable', 'answered too slowly')),
        Math.max(0, until - Date.now()));
    });
    let chunk;
    try {
      chunk = await Promise.race([reader.read(), late]);
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const { done, value } = chunk;
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new ServerRefused(server.name, 'too_long', `answered more than ${limit} bytes`);
    }
    parts.push(value);
  }
  return concat(...parts);
}

/** A JSON answer of at most the configuration's `max_answer_bytes`. */
export async function answerJson(server, response) {
  const bytes = await answerBytes(server, response, server.maxAnswer);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ServerRefused(server.name, 'garbled', 'answered something that is not JSON');
  }
}

/** Opens a released share's envelope, or refuses it as that server's fault. */
export function openShare(server, index, envelope, reply, context) {
  try {
    return { server: server.name, index, value: openFrom(envelope, reply.secret, context) };
  } catch {
    throw new ServerRefused(server.name, 'bad_share', 'sent a share that does not open for this access');
  }
}

/**
 * One server's share of `record` at `version` for the finalized log entry `logSeq`,
 * requested by `requester` (the wallet signs), sealed to `reply` (made for this read).
 */
async function releasedShare(server, { made: request, signature }, reply) {
  const ask = request;
  const body = JSON.stringify({ signed: toHex(signedBody(encodeReleaseRequest(request), signature)) });
  const response = await call(server, '/v1/release', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body,
  });
  let released;
  try {
    released = decodeReleasedShare(fromHex((await answerJson(server, response)).released));
  } catch {
    throw new ServerRefused(server.name, 'garbled', 'answered something that is not a share');
  }
  return openShare(server, released.index, released.share, reply, releaseContext(server.publicKey, ask.patient,
    ask.record, ask.version, ask.logSeq, ask.requester, released.index));
}

/**
 * A request made when its wallet prompt comes (`make`, async: its deadline counts from
 * then, not from when it was queued), signed as `toSign` gives its bytes: the request
 * and its signature.
 */
export async function signedWhenShown(sign, make, toSign) {
  let made;
  const signature = await sign(async () => {
    made = await make();
    return toSign(made);
  });
  return { made, signature };
}

/** Every way to choose `k` of `n` (indexes), in order. */
function* subsets(n, k, start = 0, chosen = []) {
  if (chosen.length === k) {
    yield chosen;
    return;
  }
  for (let i = start; i < n; i++) yield* subsets(n, k, i + 1, [...chosen, i]);
}

/**
 * Asks the servers for shares, `threshold` at first (a wallet prompt each: `signFor`
 * signs one server's request, `ask` sends it), then one more for each that fails, until
 * some `threshold` of the good shares rebuild a key `tryOpen` accepts (it returns what
 * the key opened, or null). A down or hostile server costs its share, never a wrong
 * result: a share that does not fit the others is named. `progress` hears each step.
 */
export async function sharesUntilOpen(servers, threshold, signFor, ask, tryOpen, progress) {
  const shares = [];
  const failures = [];
  let next = 0;
  let tried = 0;
  while (next < servers.length) {
    const batch = servers.slice(next, next + Math.max(1, threshold - shares.length));
    next += batch.length;
    const signatures = [];
    for (const server of batch) {
      progress(`signing the request to ${server.name}`);
      signatures.push(await signFor(server));
    }
    progress(`asking ${batch.map((s) => s.name).join(' and ')} for a share`);
    const answers = await Promise.allSettled(batch.map((server, i) => ask(server, signatures[i])));
    for (const answer of answers) {
      if (answer.status === 'fulfilled') shares.push(answer.value);
      else failures.push(answer.reason.message);
    }
    if (shares.length < threshold || shares.length === tried) continue;
    tried = shares.length;
    for (const subset of subsets(shares.length, threshold)) {
      const chosen = subset.map((i) => shares[i]);
      let key;
      try {
        key = combine(chosen, threshold);
      } catch {
        continue; // a server claiming another's index (or 0)
      }
      const result = tryOpen(key);
      if (result === null) {
        key.fill(0);
        continue;
      }
      for (const [i, share] of shares.entries()) {
        if (subset.includes(i)) continue;
        let other = null;
        try {
          other = combine([...chosen.slice(0, threshold - 1), share], threshold);
        } catch { /* does not fit */ }
        if (other === null || toHex(other) !== toHex(key)) failures.push(`${share.server}: sent a share that does not fit the others (a lying server?)`);
      }
      key.fill(0);
      for (const share of shares) share.value.fill(0);
      return { result, failures };
    }
  }
  if (shares.length < threshold) {
    throw new Error(`only ${shares.length} of ${servers.length} key servers released a share, ${threshold} needed`
      + `${failures.length ? `: ${failures.join('; ')}` : ''}`);
  }
  for (const share of shares) share.value.fill(0);
  throw new Error(`the ${shares.length} shares the key servers released do not open it together: a key server is lying, or it changed since`
    + ` (${shares.map((s) => s.server).join(', ')})${failures.length ? `; ${failures.join('; ')}` : ''}`);
}

/**
 * The ciphertext of `hash` from the first server that has it whole and unchanged (its
 * BLAKE2b-256 must be the chain's content hash).
 */
async function verifiedBlob(servers, hash, progress) {
  const problems = [];
  for (const server of servers) {
    progress(`fetching the ciphertext from ${server.name}`);
    try {
      const blob = await answerBytes(server, await call(server, `/v1/blobs/${toHex(hash)}`, {}), server.maxBlob);
      if (toHex(contentHash(blob)) === toHex(hash)) return blob;
      problems.push(`${server.name}: its ciphertext does not match the chain's hash`);
    } catch (error) {
      problems.push(error.message);
    }
  }
  throw new Error(`no key server gave the record's ciphertext: ${problems.join('; ')}`);
}

/**
 * The plain bytes of the record version an access `ask` ({ patient, record, version,
 * logSeq, requester, replyKey }) opened: the ciphertext checked against the chain's
 * `hash`, the shares sealed to `reply`, each request signed by `sign` (the wallet's
 * signRaw) with the deadline `expires()` gives when its prompt comes.
 */
export async function openedRecord(servers, threshold, ask, expires, reply, sign, hash, progress) {
  const blob = await verifiedBlob(servers, hash, progress);
  return sharesUntilOpen(servers, threshold,
    (server) => signedWhenShown(sign, async () => ({ ...ask, server: server.publicKey, expiresAt: await expires() }),
      releaseToSign),
    (server, signed) => releasedShare(server, signed, reply),
    (key) => {
      try {
        progress('decrypting');
        return openRecord(blob, key, ask.record, ask.version);
      } catch {
        return null;
      }
    }, progress);
}

/** The configuration's servers, with their pinned keys as bytes and a name to say. */
export function pinnedServers(config) {
  return (config.key_servers ?? []).map((s, i) => ({
    name: `key server ${i + 1}`, url: s.url.replace(/\/$/, ''), account: s.account, publicKey: fromHex(s.public_key, 32, 'a key server\'s public_key'),
    maxAnswer: config.max_answer_bytes, maxBlob: config.max_blob_bytes,
  }));
}

/** Asks again every 500 ms, up to 10 times, while the server refuses with a BEHIND code. */
export async function whileBehind(ask, codes = BEHIND) {
  for (let tries = 0; ; tries++) {
    try {
      return await ask();
    } catch (error) {
      if (!(error instanceof ServerRefused) || !codes.includes(error.code) || tries >= 10) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * The servers a new key may be sealed to: each must answer now with its pinned key (a
 * page keeps no copy of the key, so shares that cannot reach `threshold` servers would
 * leave a record no one can open). Fewer than `threshold`: refused before anything is
 * sealed or sent.
 */
export async function answeringServers(servers, threshold) {
  const answers = await Promise.allSettled(servers.map(async (server) => {
    const health = await answerJson(server, await call(server, '/v1/health', {}));
    if (health.public_key !== toHex(server.publicKey)) {
      throw new ServerRefused(server.name, 'other_key', 'answers with another key than the pinned one');
    }
    return server;
  }));
  const ready = answers.filter((a) => a.status === 'fulfilled').map((a) => a.value);
  if (ready.length < threshold) {
    const problems = answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message);
    throw new Error(`only ${ready.length} of ${servers.length} key servers answer, ${threshold} needed to keep a record's key: ${problems.join('; ')}`);
  }
  return ready;
}

/** The ciphertext at every server that takes it (the chain must name it first); at least one. */
export async function uploadBlob(servers, record, hash, blob, progress) {
  progress(`uploading the ciphertext (${blob.length} bytes) to ${servers.length} key servers`);
  const answers = await Promise.allSettled(servers.map((server) => whileBehind(() => call(server,
    `/v1/blobs/${toHex(hash)}?record=${record}`,
    { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: blob }))));
  const failures = answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message);
  if (failures.length === servers.length) throw new Error(`no key server took the ciphertext: ${failures.join('; ')}`);
  return failures;
}

/**
 * Splits `key` into one share per server, each sealed to its server and bound to the
 * record, version, content hash and server, signed by the author (`sign`: the wallet's
 * signRaw), and deposited. At least `threshold` must be taken.
 */
export async function depositShares(servers, threshold, d, expires, key, sign, progress) {
  const shares = split(key, threshold, servers.length);
  const signed = [];
  for (const [i, server] of servers.entries()) {
    progress(`signing the key share for ${server.name} (${i + 1} of ${servers.length})`);
    const { made, signature } = await signedWhenShown(sign, async () => ({
      ...d, server: server.publicKey, index: shares[i].index, expiresAt: await expires(),
      share: sealTo(shares[i].value, server.publicKey,
        depositContext(server.publicKey, d.record, d.version, d.contentHash, shares[i].index)),
    }), depositToSign);
    signed.push(signedBody(encodeDeposit(made), signature));
  }
  for (const share of shares) share.value.fill(0);
  progress(`depositing ${servers.length} key shares (${threshold} open the record)`);
  const answers = await Promise.allSettled(servers.map((server, i) => whileBehind(() => call(server, '/v1/deposit', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signed: toHex(signed[i]) }),
  }))));
  const failures = answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message);
  const taken = servers.length - failures.length;
  if (taken < threshold) {
    throw new Error(`only ${taken} of ${servers.length} key servers took their share, ${threshold} needed: ${failures.join('; ')}`);
  }
  return { taken, failures };
}

/** Asks every server to delete what it keeps of a retired record; how many confirmed. */
export async function retireAtServers(servers, record, progress) {
  progress(`asking ${servers.length} key servers to delete its shares and ciphertext`);
  const answers = await Promise.allSettled(servers.map((server) => whileBehind(() => call(server, '/v1/retire', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record: Number(record) }),
  }), ['not_retired'])));
  return {
    confirmed: answers.filter((a) => a.status === 'fulfilled').length,
    failures: answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message),
  };
}
