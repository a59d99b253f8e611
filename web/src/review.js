// The patient's (or a delegate's) review of break-glass accesses: each responder's read
// by name and time, its justification read back from the key servers and checked
// against the salted hash in the trail, and several marked justified or not in one
// `review_emergencies`. Every access is checked against its trail entry, and the list
// against the order the registry keeps, before the wallet signs anything about it.
import { decodeAddress } from '@polkadot/util-crypto';
import { deadline, read, readAll, sendFinal } from './chain.js';
import { readJustification } from './justification.js';
import { REQUEST_LIFETIME_MS } from './keyservers.js';
import { $, cell, cellButton, rowHeader, run, status, walletSigner } from './ui.js';
import { localTime } from './words.js';

export class EmergencyReview {
  /**
   * `page()` gives what the page holds now: { sys, config, account, patient, who (an
   * account in words), context (the flows' context), transact (run, then refresh) }.
   */
  constructor(page) {
    this.page = page;
    // The accesses shown, by index: what a review names.
    this.shown = [];
  }

  /**
   * The trail entry of break-glass access `access`, checked to be it: an Emergency
   * entry by its responder for its record. A node that invents accesses is caught here.
   */
  async entryOf(access) {
    const { sys, account, patient } = this.page();
    const seq = access.logSeq.toString();
    const [entry] = await read(sys, sys.log, 'entries', account, patient, seq, 1);
    if (!entry || entry.seq.toString() !== seq || !entry.kind.isEmergency
      || entry.actor.toString() !== access.responder.toString()
      || !entry.record.isSome || entry.record.unwrap().toString() !== access.recordId.toString()) {
      throw new Error(`entry ${seq} of the trail is not this break-glass access: the node may be lying`);
    }
    return entry;
  }

  /** The accesses, those awaiting review with a choice each. */
  async show() {
    const { sys, account, patient, who } = this.page();
    const counts = await read(sys, sys.registry, 'counts', account, patient);
    const all = await readAll(sys, sys.registry, 'emergenciesOf', account, patient, counts.emergencies.toNumber());
    // The registry queues them in the order of their entries: rows out of order are a lie.
    if (all.some((access, i) => i > 0 && BigInt(access.logSeq.toString()) <= BigInt(all[i - 1].logSeq.toString()))) {
      this.shown = [];
      $('emergency-rows').replaceChildren();
      $('review-submit').classList.add('hidden');
      throw new Error('the node lists the break-glass accesses out of the order the registry keeps them: it may be lying');
    }
    this.shown = all;
    const body = $('emergency-rows');
    body.replaceChildren();
    all.forEach((access, index) => {
      const row = body.insertRow();
      rowHeader(row, String(index));
      cell(row, localTime(access.at.toString()));
      cell(row, who(access.responder.toString()));
      cell(row, access.recordId.toString());
      cell(row, access.logSeq.toString());
      cellButton(row, 'Read', `Read the justification of break-glass access ${index}`,
        () => run(`Reading the justification of break-glass access ${index}`, (step) => this.justification(access, step)));
      const choice = row.insertCell();
      if (access.review.isPending) {
        const select = document.createElement('select');
        select.name = 'review';
        select.dataset.index = String(index);
        select.setAttribute('aria-label', `Review of break-glass access ${index}`);
        select.append(new Option('not reviewed yet', ''), new Option('justified', 'true'), new Option('not justified', 'false'));
        choice.append(select);
      } else {
        choice.textContent = access.review.isJustified ? 'justified' : 'not justified';
      }
    });
    $('review-submit').classList.toggle('hidden', !all.some((a) => a.review.isPending));
  }

  /**
   * The justification a responder left, read back from the key servers (the wallet
   * signs a request per server) and checked against the hash in the patient's trail.
   */
  async justification(access, step) {
    const { sys, config, account, patient, who, context } = this.page();
    const entry = await this.entryOf(access);
    const ctx = await context();
    const { text, failures } = await readJustification(ctx.servers, config.threshold, {
      patient: decodeAddress(patient), logSeq: BigInt(entry.seq.toString()), requester: decodeAddress(account),
      logged: entry.kind.asEmergency.justification.toU8a(), expires: deadline(sys, REQUEST_LIFETIME_MS),
    }, ctx.sign, step);
    $('justification').textContent = `${who(access.responder.toString())}, access ${entry.seq} of the trail: "${text}"`;
    $('justification').classList.remove('hidden');
    return `it matches the hash in the trail${failures.length ? `; ${failures.join('; ')}` : ''}`;
  }

  /** Every choice made, in one transaction. */
  async submit() {
    const { sys, account, patient, transact } = this.page();
    const reviews = [...document.querySelectorAll('select[name=review]')]
      .filter((s) => s.value !== '').map((s) => [Number(s.dataset.index), s.value === 'true']);
    if (reviews.length === 0) {
      status('error', 'Choose "justified" or "not justified" for at least one access first.');
      return;
    }
    const what = `Reviewing ${reviews.length} break-glass access${reviews.length > 1 ? 'es' : ''}`;
    await transact(what, async (step) => {
      // Each index must be the access the row showed, as the trail records it.
      for (const [index] of reviews) await this.entryOf(this.shown[index]);
      await sendFinal(sys, sys.registry, 'reviewEmergencies', account, await walletSigner(account), [patient, reviews], step);
    });
  }
}
