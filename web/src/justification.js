// A break-glass justification as the Rust side keeps it (keyrelease/src/justification.rs):
// the log holds BLAKE2b-256(salt ++ text) with a 16-byte random salt (an unsalted hash of
// a short, templated text would let anyone reading the public log confirm a guess); the
// claim (salt ++ text) is sealed under a fresh key, nonce (24) | ciphertext | tag, bound
// to the patient and the entry, and the key is split among the key servers like a
// record key, so only the patient or a delegate reads it back. Pinned by the vectors.
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { blake2b } from '@noble/hashes/blake2b';
import { fromHex, toHex } from './hex.js';
import {
  answerJson, call, openShare, ServerRefused, sharesUntilOpen, signedWhenShown, whileBehind,
} from './keyservers.js';
import {
  concat, justificationContext, justificationReleaseContext, keygen, le, randomBytes, SealingError, sealTo, split,
} from './sealing.js';
import {
  decodeReleasedJustification, encodeJustificationDeposit, encodeJustificationRequest, justificationDepositToSign,
  justificationRequestToSign, signed,
} from './wire.js';

export const SALT_LEN = 16;
export const MAX_JUSTIFICATION_LEN = 2048;
const NONCE_LEN = 24;
const BINDING = new TextEncoder().encode('medconsent:justification-text:');

const binding = (patient, logSeq) => concat(BINDING, patient, le(logSeq, 8));

/** salt ++ text: what the hash covers and the sealed copy holds. */
export const claim = (salt, text) => concat(salt, text);

/** The hash the log keeps of a justification. */
export const claimHash = (salt, text) => blake2b(claim(salt, text), { dkLen: 32 });

/** Seals a claim under `key` for entry `logSeq` of `patient`. */
export function sealText(key, claimBytes, patient, logSeq) {
  if (claimBytes.length > SALT_LEN + MAX_JUSTIFICATION_LEN) {
    throw new SealingError('too_long', `a justification is at most ${MAX_JUSTIFICATION_LEN} bytes`);
  }
  const nonce = randomBytes(NONCE_LEN);
  return concat(nonce, xchacha20poly1305(key, nonce, binding(patient, logSeq)).encrypt(claimBytes));
}

/** The text of a sealed claim, if it opens for this entry and hashes to `logged`; else null. */
export function loggedText(key, sealed, patient, logSeq, logged) {
  let opened;
  try {
    opened = xchacha20poly1305(key, sealed.subarray(0, NONCE_LEN), binding(patient, logSeq))
      .decrypt(sealed.subarray(NONCE_LEN));
  } catch {
    return null;
  }
  if (opened.length < SALT_LEN) return null;
  const hash = blake2b(opened, { dkLen: 32 });
  return hash.every((b, i) => b === logged[i]) ? opened.subarray(SALT_LEN) : null;
}

// --- at the key servers ---------------------------------------------------------------

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Leaves the justification of break-glass entry `logSeq` of `patient` with the servers:
 * the claim sealed under a fresh key, one share of that key per server sealed to it,
 * each deposit signed by the responder's wallet (`sign`). How many servers kept it.
 */
export async function leaveJustification(servers, threshold, { patient, logSeq, responder, salt, text, expires }, sign, progress) {
  const key = randomBytes(32);
  try {
    const sealedText = sealText(key, claim(salt, text), patient, logSeq);
    const shares = split(key, threshold, servers.length);
    const bodies = [];
    for (const [i, server] of servers.entries()) {
      progress(`signing the justification's share for ${server.name}`);
      const { made, signature } = await signedWhenShown(sign, async () => ({
        server: server.publicKey, patient, logSeq, responder, index: shares[i].index, text: sealedText,
        expiresAt: await expires(),
        share: sealTo(shares[i].value, server.publicKey, justificationContext(server.publicKey, patient, logSeq, shares[i].index)),
      }), justificationDepositToSign);
      bodies.push({ signed: toHex(signed(encodeJustificationDeposit(made), signature)) });
    }
    for (const share of shares) share.value.fill(0);
    progress(`leaving the justification for the patient with ${servers.length} key servers`);
    const answers = await Promise.allSettled(servers.map((server, i) => whileBehind(
      () => call(server, '/v1/justifications', json(bodies[i])), ['no_such_entry', 'chain_behind', 'busy'],
    )));
    return {
      kept: answers.filter((a) => a.status === 'fulfilled').length,
      failures: answers.filter((a) => a.status === 'rejected').map((a) => a.reason.message),
    };
  } finally {
    key.fill(0);
  }
}

/**
 * The justification the responder left for entry `logSeq` of `patient`, read back by
 * the patient or a delegate (`requester`, the wallet signing each request), and checked
 * against `logged`, the hash in the log: no server and no responder can pass another.
 */
export async function readJustification(servers, threshold, { patient, logSeq, requester, logged, expires }, sign, progress) {
  const reply = keygen();
  const texts = [];
  try {
    const ask = { patient, logSeq, requester, replyKey: reply.public };
    const { result, failures } = await sharesUntilOpen(servers, threshold,
      (server) => signedWhenShown(sign, async () => ({ ...ask, server: server.publicKey, expiresAt: await expires() }),
        justificationRequestToSign),
      async (server, { made: asked, signature }) => {
        const request = encodeJustificationRequest(asked);
        const answer = await answerJson(server, await call(server, '/v1/justifications/release', json({ signed: toHex(signed(request, signature)) })));
        let released;
        try {
          released = decodeReleasedJustification(fromHex(answer.released));
        } catch {
          throw new ServerRefused(server.name, 'garbled', 'answered something that is not a justification');
        }
        if (!texts.some((t) => toHex(t) === toHex(released.text))) texts.push(released.text);
        return openShare(server, released.index, released.share, reply,
          justificationReleaseContext(server.publicKey, patient, logSeq, requester, released.index));
      },
      (key) => texts.map((t) => loggedText(key, t, patient, logSeq, logged)).find((t) => t !== null) ?? null,
      progress);
    return { text: new TextDecoder().decode(result), failures };
  } finally {
    reply.secret.fill(0);
  }
}
