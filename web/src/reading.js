// Opening records after a logged access, for the patient (PATRQT), a delegate, a
// clinician or a responder alike: the reader's entries at the access's block, found in
// the patient's log; one release request per key server the wallet signs; the shares
// sealed to the reply key; the ciphertext checked against the chain's hash and opened.

import { decodeAddress } from '@polkadot/util-crypto';
import { deadline, read } from './chain.js';
import { openedRecord, REQUEST_LIFETIME_MS } from './keyservers.js';

/**
 * The entries `actor` made in block `number` of `patient`'s log, oldest first (at most
 * `count`, the newest), searched back from the head a page at a time.
 */
export async function entriesIn(sys, patient, actor, number, count) {
  const head = await read(sys, sys.log, 'head', actor, patient);
  const found = [];
  for (let end = head.length.toNumber(); end > 0 && found.length < count;) {
    const start = Math.max(0, end - sys.config.page_size);
    const page = await read(sys, sys.log, 'entries', actor, patient, start, end - start);
    found.push(...[...page].reverse()
      .filter((e) => e.actor.toString() === actor && e.block.toNumber() === number));
    if (page.length === 0 || page[0].block.toNumber() < number) break;
    end = start;
  }
  if (found.length === 0) {
    throw new Error('your access is not in the patient\'s trail at its block: the node may be lying; try another node');
  }
  return found.slice(0, count).reverse();
}

/**
 * Opens the record version the finalized Access or Emergency `entry` opened: the plain
 * bytes. The record is read again now (what the key servers check), and must be the
 * entry's record of the entry's patient. `reply` is the key pair the shares are sealed
 * to (a fresh one for one's own read, the directory key for a provider); `sign` is the
 * wallet's raw signer.
 */
export async function openThroughEntry({ sys, config, servers, account, sign }, entry, reply, progress) {
  const id = entry.record.isSome ? entry.record.unwrap().toString() : null;
  const found = id === null ? null : await read(sys, sys.registry, 'record', account, id);
  if (!found || found.isNone || found.unwrap().patient.toString() !== entry.patient.toString()) {
    throw new Error(`entry ${entry.seq} names no record of its patient: the node may be lying`);
  }
  const record = found.unwrap();
  const ask = {
    patient: decodeAddress(entry.patient.toString()),
    record: BigInt(id),
    version: record.version.toNumber(),
    logSeq: BigInt(entry.seq.toString()),
    requester: decodeAddress(account),
    replyKey: reply.public,
  };
  const { result, failures } = await openedRecord(servers, config.threshold, ask, deadline(sys, REQUEST_LIFETIME_MS),
    reply, sign, record.contentHash.toU8a(), progress);
  return { plain: result, failures, record };
}
