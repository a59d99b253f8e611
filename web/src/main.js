// The patient's page, and a delegate's acting for a patient: connect a wallet, pick an
// account, see the patient's records (add, open, rotate, retire), consents and audit
// trail (hash chain checked here) in words (provider names, category names, local
// times), grant and revoke, sign a consent for a provider to relay, and review
// break-glass accesses.
import { hexToU8a, u8aEq, u8aToHex, u8aToU8a } from '@polkadot/util';
import { canonicalAccount, loadConfig, rawSigner, read, readAll, sendFinal } from './chain.js';
import { keygen } from './sealing.js';
import { trailPicture } from './picture.js';
import { EmergencyReview } from './review.js';
import { entriesIn, openThroughEntry } from './reading.js';
import { retireRecord, rotateRecord, writeRecord } from './writing.js';
import { accountNamed, nameList, readNames } from './directory.js';
import { AuditTrail } from './audit.js';
import {
  $, cell, cellButton, chosenFile, flowContext, rowHeader, run, short, showFile, status, connectPage, walletSigner,
} from './ui.js';
import {
  actionsInWords, categoryName, consentState, entryInWords, localTime, purposeInWords, purposesInWords,
} from './words.js';
import { CLOSE, OPEN, grantInWords, randomNonce, signingMessage } from './signing.js';

let sys = null;
let config = null;
// The wallet account acting, and the patient it acts for (itself, or as a delegate).
let account = null;
let patient = null;
// The directory's display names (account -> name), read with each refresh.
let names = new Map();

const canonical = (text) => canonicalAccount(sys, text);

const flagsOf = (codec) => {
  const json = codec.toJSON();
  return Array.isArray(json) ? json[0] : json;
};
const optional = (codec) => (codec.isSome ? codec.unwrap().toString() : '-');

/** Who an account is, in words: me, the patient, a provider's name, or the account. */
function who(address) {
  if (address === account) return 'me';
  if (address === patient) return 'the patient';
  return names.get(address) ?? address;
}

/** Runs `work` as `run` does, then shows the lists again before saying "done". */
async function transact(what, work) {
  return run(what, async (step) => {
    const said = await work(step);
    try {
      await refresh();
    } catch (error) {
      // Done on chain: say so, not "Failed", or the person would do it twice.
      return `${said ?? 'done'} (the lists could not be read again: ${error.message}; reload the page)`;
    }
    return said;
  });
}

/** Sends one contract message with the wallet and waits for its block to be final. */
async function submit(what, contract, message, args) {
  return transact(what, async (step) => {
    await sendFinal(sys, contract, message, account, await walletSigner(account), args, step);
  });
}

/** What the flows of reading.js and writing.js need of this page. */
const context = () => flowContext(sys, config, account);

async function showRecords() {
  const counts = await read(sys, sys.registry, 'counts', account, patient);
  const records = await readAll(sys, sys.registry, 'recordsOf', account, patient, counts.records.toNumber());
  const body = $('record-rows');
  body.replaceChildren();
  for (const record of records) {
    const row = body.insertRow();
    const id = record.id.toString();
    rowHeader(row, id);
    cell(row, categoryName(config.categories, record.category.toString()));
    cell(row, record.version.toString());
    cell(row, record.status.isActive ? 'active' : 'retired');
    cell(row, u8aToHex(record.contentHash), 'hash');
    if (record.status.isActive) {
      cellButton(row, 'Open', `Open record ${id}`, () => run(`Opening record ${id}`, (step) => openOwn(record, step)));
      cellButton(row, 'New key', `Rotate record ${id}`, () => transact(`Rotating record ${id}`, (step) => rotate(record, step)));
      cellButton(row, 'Retire', `Retire record ${id}`, () => transact(`Retiring record ${id}`, (step) => retire(id, step)));
    }
  }
}

/**
 * Opens one of the patient's records as the patient or a delegate (PATRQT): the access
 * on chain (logged, then finalized), release requests signed in the wallet, the shares
 * sealed to a key made for this read only, the ciphertext checked against the chain's
 * hash, then decrypted here. Neither the key nor the content leaves the page.
 */
async function ownRead(record, step) {
  const ctx = await context();
  const id = record.id.toString();
  const { blockNumber } = await sendFinal(sys, sys.registry, 'accessRecord', account, ctx.signer,
    [id, 'PatientRequest'], step);
  const [entry] = await entriesIn(sys, patient, account, blockNumber, 1);
  if (!entry.kind.isAccess || entry.record.unwrap().toString() !== id) {
    throw new Error(`the chain did not open it: ${entryInWords(entry.kind)}`);
  }
  const reply = keygen();
  try {
    const opened = await openThroughEntry(ctx, entry, reply, step);
    return { ...opened, entry };
  } finally {
    reply.secret.fill(0);
  }
}

async function openOwn(record, step) {
  const { plain, failures, entry } = await ownRead(record, step);
  showFile($('opened'), `Record ${record.id}`, plain);
  await refresh();
  return `opened (entry ${entry.seq} of the trail)${failures.length ? `; ${failures.join('; ')}` : ''}`;
}

/** A new key for a record: its content read through a logged access, sealed anew. */
async function rotate(record, step) {
  // The version just read (the listing may be older), sealed again as the next one.
  const { plain, record: current } = await ownRead(record, step);
  const written = await rotateRecord(await context(), current, plain, 'PatientRequest', step);
  plain.fill(0);
  return `version ${written.version} under a new key, ${written.taken} key servers hold a share`;
}

async function retire(id, step) {
  const { confirmed, failures } = await retireRecord(await context(), id, step);
  return `retired; ${confirmed} key servers deleted its shares${failures.length ? ` (${failures.join('; ')}: they delete on their own once they see it)` : ''}`;
}

async function addRecord(event) {
  event.preventDefault();
  await transact('Adding a record', async (step) => {
    const plain = await chosenFile($('record-file'));
    const category = Number($('record-category').value);
    const written = await writeRecord(await context(), { patient, category, purpose: 'PatientRequest', plain }, step);
    plain.fill(0);
    return `record ${written.record} added (${categoryName(config.categories, category)}), ${written.taken} key servers hold a share`
      + `${written.failures.length ? `; ${written.failures.join('; ')}` : ''}`;
  });
}

// The break-glass review, on what this page shows now.
const review = new EmergencyReview(() => ({ sys, config, account, patient, who, context, transact }));

function scopeInWords(scope) {
  if (scope.isAllRecords) return 'all records';
  if (scope.isCategory) return categoryName(config.categories, scope.asCategory.toString());
  return `record ${scope.asRecord}`;
}

async function showConsents() {
  const count = (await read(sys, sys.consents, 'consentCount', account, patient)).toNumber();
  const consents = await readAll(sys, sys.consents, 'consentsOf', account, patient, count);
  const body = $('consent-rows');
  body.replaceChildren();
  for (const consent of consents) {
    const row = body.insertRow();
    const { terms } = consent;
    const until = terms.validUntil.isSome ? Number(terms.validUntil.unwrap().toString()) : null;
    const state = consentState({
      status: consent.status.type, validFrom: Number(terms.validFrom.toString()), validUntil: until,
    }, Date.now());
    rowHeader(row, consent.id.toString());
    cell(row, consent.grantee.isAccount ? who(consent.grantee.asAccount.toString()) : 'anyone');
    cell(row, terms.decision.isPermit ? 'allow' : 'forbid');
    cell(row, scopeInWords(terms.scope));
    cell(row, actionsInWords(flagsOf(terms.actions)));
    cell(row, purposesInWords(flagsOf(terms.purposes)));
    cell(row, until === null ? 'until revoked' : localTime(until));
    cell(row, state);
    // An expired rule is still revocable (it stays listed until revoked). The
    // revocation names the grantee and terms this row shows: the contract refuses it
    // if the id holds another rule (a node that listed ids wrongly).
    if (consent.status.isActive) {
      cellButton(row, 'Revoke', `Revoke consent ${consent.id}`, () => submit(`Revoking consent ${consent.id}`,
        sys.consents, 'revoke', [patient, consent.id, { grantee: consent.grantee, terms: consent.terms }])).className = 'revoke';
    } else {
      row.insertCell();
    }
  }
}

// The trail is read newest first, one page at a time, so a long one (10,000 entries
// is tested) costs one query to show and each "older" click one more.
let trail = null;

// The entries shown, newest first: what the picture draws.
let shownEntries = [];

function drawPicture() {
  $('picture').replaceChildren(trailPicture(shownEntries, who, localTime));
}

function appendAuditRows(entries) {
  shownEntries.push(...entries);
  drawPicture();
  const body = $('audit-rows');
  for (const entry of entries) {
    const row = body.insertRow();
    rowHeader(row, entry.seq.toString());
    const when = cell(row, localTime(entry.timestamp.toString()));
    when.title = `block ${entry.block}`;
    cell(row, entryInWords(entry.kind));
    cell(row, who(entry.actor.toString()));
    cell(row, optional(entry.record));
    cell(row, entry.purpose.isSome ? purposeInWords(entry.purpose.unwrap().type) : '-');
    cell(row, optional(entry.consent));
  }
}

function showChainStatus() {
  const line = $('chain-status');
  const { length, oldest, brokenAt, head } = trail;
  if (brokenAt !== null) {
    line.className = 'broken';
    line.textContent = `Hash chain BROKEN at entry ${brokenAt}: do not trust this trail.`;
  } else if (length === 0) {
    line.className = 'verified';
    line.textContent = 'No entries yet.';
  } else {
    line.className = 'verified';
    line.textContent = `Hash chain verified from the head (${u8aToHex(head).slice(0, 18)}…) back to entry ${oldest}: `
      + `${length - oldest} of ${length} entries shown, newest first.`;
  }
  $('audit-older').classList.toggle('hidden', oldest === 0 || brokenAt !== null);
}

const auditPage = (of) => (start, limit) => read(sys, sys.log, 'entries', account, of, start, limit);

async function showOlderAudit() {
  appendAuditRows(await trail.older(auditPage(patient)));
  showChainStatus();
}

// Refreshes can overlap (a transaction's refresh and an account switch): only the
// newest one draws the trail.
let auditGeneration = 0;

async function showAudit() {
  const generation = ++auditGeneration;
  const head = await read(sys, sys.log, 'head', account, patient);
  const fresh = new AuditTrail(head.length.toNumber(), head.lastHash.toU8a(), sys.config.page_size);
  const page = await fresh.older(auditPage(patient));
  if (generation !== auditGeneration) return;
  trail = fresh;
  shownEntries = [];
  $('audit-rows').replaceChildren();
  appendAuditRows(page);
  showChainStatus();
}

async function refresh() {
  if (!sys || !account) return;
  names = await readNames(sys, account);
  nameList($('provider-names'), names);
  await Promise.all([showRecords(), showConsents(), review.show(), showAudit()]);
}

function formTerms() {
  const bits = (name) => [...document.querySelectorAll(`input[name=${name}]:checked`)]
    .reduce((sum, box) => sum | Number(box.value), 0);
  const scopeKind = $('scope').value;
  const scope = scopeKind === 'all' ? 'AllRecords'
    : scopeKind === 'category' ? { Category: Number($('scope-category').value) }
      : { Record: Number($('scope-record').value) };
  const until = $('until').value ? new Date($('until').value).getTime() : null;
  return {
    decision: $('decision').value,
    scope,
    actions: bits('action'),
    purposes: bits('purpose'),
    validFrom: 0,
    validUntil: until,
  };
}

/** The grantee typed: a provider's display name (exactly one), or an account. */
function formGrantee() {
  return { Account: accountNamed($('grantee').value, names, canonical) };
}

async function grant(event) {
  event.preventDefault();
  let grantee;
  try {
    grantee = formGrantee();
  } catch (error) {
    status('error', error.message);
    return;
  }
  await submit('Granting', sys.consents, 'grant', [patient, grantee, formTerms()]);
}

/** A random nonce the contract has not seen used or voided for this patient. */
async function freshNonce() {
  for (;;) {
    const nonce = randomNonce();
    if (!(await read(sys, sys.consents, 'nonceUsed', account, account, nonce)).isTrue) return nonce;
  }
}

/**
 * A consent signed by the wallet for a provider to submit (and pay for). The page builds
 * the exact bytes from what the patient entered, the contract address and genesis hash
 * of its own configuration; it signs only if the node's bytes for the same terms are
 * identical, and shows the terms in words next to the request.
 */
async function signForRelay() {
  $('sign-terms').classList.add('hidden');
  await run('Signing', async (step) => {
    if (patient !== account) throw new Error('only the patient signs a consent for relaying: a delegate grants directly');
    const grantee = formGrantee();
    const terms = formTerms();
    const nonce = await freshNonce();
    const deadline = Date.now() + 7 * 24 * 3600 * 1000;
    const action = { Grant: { grantee, terms } };
    const genesisHash = sys.config.genesis_hash;
    if (!u8aEq(sys.api.genesisHash.toU8a(), hexToU8a(genesisHash))) {
      throw new Error('the node serves another chain than this deployment; not signing');
    }
    const message = signingMessage(sys.consents.abi, {
      contract: sys.config.contracts.consent_manager.address, genesisHash, patient: account, action, nonce, deadline,
    });
    const fromNode = u8aToU8a(await read(sys, sys.consents, 'signingMessage', account, account, action, nonce, deadline));
    if (!u8aEq(fromNode, message)) {
      throw new Error('the node returned other bytes than the terms you entered (another grantee or other terms); '
        + 'not signing. Your node may be lying: connect to another one.');
    }
    $('sign-terms').textContent = grantInWords(action.Grant, deadline, {
      who: (address) => (names.has(address) ? `${names.get(address)} (${address})` : address),
      category: (code) => categoryName(config.categories, code),
    });
    $('sign-terms').classList.remove('hidden');
    step('waiting for your wallet to sign the terms shown');
    const sign = rawSigner(await walletSigner(account), account);
    const signature = u8aToHex(await sign(message.subarray(OPEN.length, message.length - CLOSE.length)));
    const relay = { message: 'grant_signed', patient: account, grantee, terms, nonce, deadline, signature };
    $('signed-output').textContent = JSON.stringify(relay, null, 2);
    $('signed-output').classList.remove('hidden');
    return 'done. Give this to the provider: they submit grant_signed and pay the fee';
  });
}

/** The patient the page acts for: the account itself, or the one typed in "Acting for". */
async function choosePatient() {
  const typed = $('acting-for').value.trim();
  const chosen = typed === '' ? account : accountNamed(typed, names, canonical, 'patient');
  if (chosen !== account) {
    const delegation = await read(sys, sys.consents, 'delegation', account, chosen, account);
    const until = delegation.isSome && delegation.unwrap().until.isSome
      ? Number(delegation.unwrap().until.unwrap().toString()) : null;
    if (delegation.isNone || (until !== null && until <= Date.now())) {
      throw new Error(`${short(account)} is not a current delegate of ${chosen}: the patient appoints delegates`);
    }
  }
  patient = chosen;
  $('acting-note').textContent = patient === account ? 'Your own records.'
    : `Acting for ${patient} as their delegate: what you do is logged under your account.`;
}

async function switchTo() {
  await run('Loading', async () => {
    await choosePatient();
    await refresh();
    return patient === account ? 'your records are shown' : `the records of ${short(patient)} are shown`;
  });
}

async function connectWallet() {
  await run('Connecting', async () => {
    ({ sys, config, account } = await connectPage(configLoading, sys));
    patient = account;
    await refresh();
    return 'connected';
  });
}

// The configuration first: a missing or broken one is said at once, in words.
const configLoading = loadConfig();
configLoading.then((loaded) => {
  const categories = loaded.categories.map((c) => new Option(c.name, String(c.code)));
  $('scope-category').replaceChildren(...categories);
  $('record-category').replaceChildren(...categories.map((o) => new Option(o.text, o.value)));
}, (error) => {
  $('connect').disabled = true;
  status('error', `This page cannot start: ${error.message}`);
});
$('connect').onclick = connectWallet;
$('account').onchange = (event) => {
  account = canonical(event.target.value);
  return switchTo();
};
$('acting-form').onsubmit = (event) => {
  event.preventDefault();
  return switchTo();
};
$('grant-form').onsubmit = grant;
$('add-record-form').onsubmit = addRecord;
$('sign-submit').onclick = signForRelay;
$('review-submit').onclick = () => review.submit();
$('audit-older').onclick = () => run('Reading older entries', async () => {
  await showOlderAudit();
  return 'shown';
});
