// The patient's page: connect a wallet, pick an account, see my records, consents and
// audit trail (hash chain checked here) in words (provider names, category names, local
// times), grant and revoke, and sign a consent for a provider to relay.
import { web3Accounts, web3Enable, web3FromAddress } from '@polkadot/extension-dapp';
import { decodeAddress } from '@polkadot/util-crypto';
import { hexToU8a, u8aEq, u8aToHex, u8aToU8a } from '@polkadot/util';
import { connect, loadConfig, read, readAll, send, sendFinal, Refused } from './chain.js';
import { keygen } from './sealing.js';
import { trailPicture } from './picture.js';
import { openedRecord, pinnedServers, recordKey, REQUEST_LIFETIME_MS } from './keyservers.js';
import { AuditTrail } from './audit.js';
import {
  actionsInWords, categoryName, consentState, entryInWords, localTime, purposeInWords, purposesInWords,
} from './words.js';
import { CLOSE, OPEN, grantInWords, randomNonce, signingMessage } from './signing.js';

const $ = (id) => document.getElementById(id);
let sys = null;
let account = null;
let config = null;
// The directory's display names (account -> name), read with each refresh.
let names = new Map();

function status(kind, text) {
  const box = $('status');
  box.className = kind;
  box.textContent = text;
}

const STATUS_WORDS = {
  signing: 'Waiting for your wallet to sign…',
  Ready: 'Sent; waiting for a block…',
  Broadcast: 'Sent; waiting for a block…',
  InBlock: 'In a block.',
  Finalized: 'Final.',
};

function setBusy(busy) {
  for (const button of document.querySelectorAll('button')) button.disabled = busy;
}

/** Runs a transaction with a pending state and clear words for its outcome. */
async function transact(what, message, contract, args) {
  setBusy(true);
  status('pending', `${what}: checking…`);
  try {
    const { signer } = await web3FromAddress(account);
    const value = await send(sys, contract, message, account, signer, args, (s) =>
      status('pending', `${what}: ${STATUS_WORDS[s] ?? s}`));
    await refresh(); // "done" only once the lists show the change
    status('ok', `${what}: done.`);
    return value;
  } catch (error) {
    const prefix = error instanceof Refused ? 'Refused' : 'Failed';
    status('error', `${what}: ${prefix}. ${error.message}`);
    return null;
  } finally {
    setBusy(false);
  }
}

const flagsOf = (codec) => {
  const json = codec.toJSON();
  return Array.isArray(json) ? json[0] : json;
};
const optional = (codec) => (codec.isSome ? codec.unwrap().toString() : '-');
const short = (address) => `${address.slice(0, 8)}…`;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** The row's first cell, a header for the row (what a screen reader names it by). */
function rowHeader(row, text) {
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = text;
  row.append(th);
}

/** Who an account is, in words: me, a provider's name, or the account itself. */
function who(address) {
  if (address === account) return 'me';
  return names.get(address) ?? address;
}

/** Every provider and key server with a display name, paged as the contract pages. */
async function readNames() {
  const found = new Map();
  for (let start = 0; ; start += sys.config.page_size) {
    const page = await read(sys, sys.consents, 'providers', account, start, sys.config.page_size);
    for (const [address, , name] of page) {
      if (name.isSome) found.set(address.toString(), name.unwrap().toString());
    }
    if (page.length < sys.config.page_size) break;
  }
  names = found;
  $('provider-names').replaceChildren(...[...found].map(([address, name]) => {
    const option = new Option(address, name);
    option.label = address;
    return option;
  }));
}

async function showRecords() {
  const counts = await read(sys, sys.registry, 'counts', account, account);
  const records = await readAll(sys, sys.registry, 'recordsOf', account, account, counts.records.toNumber());
  const body = $('record-rows');
  body.replaceChildren();
  for (const record of records) {
    const row = body.insertRow();
    rowHeader(row, record.id.toString());
    cell(row, categoryName(config.categories, record.category.toString()));
    cell(row, record.version.toString());
    cell(row, record.status.type);
    cell(row, u8aToHex(record.contentHash), 'hash');
    const actions = row.insertCell();
    if (record.status.isActive) {
      const button = document.createElement('button');
      button.textContent = 'Open';
      button.setAttribute('aria-label', `Open record ${record.id}`);
      button.onclick = () => openOwnRecord(record);
      actions.append(button);
    }
  }
}

/** The entry of `account` opening `recordId` in block `number`: searched from the head. */
async function myEntry(recordId, number) {
  const head = await read(sys, sys.log, 'head', account, account);
  for (let end = head.length.toNumber(); end > 0;) {
    const start = Math.max(0, end - sys.config.page_size);
    const page = await read(sys, sys.log, 'entries', account, account, start, end - start);
    const found = [...page].reverse().find((e) => e.actor.toString() === account
      && e.record.isSome && e.record.unwrap().toString() === String(recordId) && e.block.toNumber() === number);
    if (found) return found;
    if (page.length === 0 || page[0].block.toNumber() < number) break;
    end = start;
  }
  throw new Error('the access is not in your trail at its block: the node may be lying; try another node');
}

/** Shows what was opened: as text when it reads as text, always as a download. */
function showOpened(recordId, plain) {
  let text = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) text = null;
  } catch { /* not text */ }
  $('opened-about').textContent = `Record ${recordId}: ${plain.length} bytes${text === null ? ' (not text: download it)' : ''}.`;
  $('opened-content').textContent = text ?? '';
  const link = $('opened-download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([plain]));
  link.download = `record-${recordId}`;
  link.textContent = `Download record ${recordId}`;
  $('opened').classList.remove('hidden');
}

/**
 * Opens one of the patient's own records (PATRQT): the access on chain (logged, then
 * finalized), a release request to every key server signed in the wallet, the shares
 * sealed to a key made for this read only, the ciphertext checked against the chain's
 * hash, then decrypted here. Neither the key nor the content leaves the page.
 */
async function openOwnRecord(record) {
  const id = record.id.toString();
  const what = `Opening record ${id}`;
  setBusy(true);
  status('pending', `${what}: checking…`);
  try {
    const servers = pinnedServers(config);
    if (servers.length < config.threshold) {
      throw new Error(`the configuration lists ${servers.length} key servers, ${config.threshold} needed: remake it with \`medconsent deployment web-config\``);
    }
    const { signer } = await web3FromAddress(account);
    const step = (text) => status('pending', `${what}: ${text}…`);
    const { blockNumber } = await sendFinal(sys, sys.registry, 'accessRecord', account, signer,
      [id, 'PatientRequest'], (s) => step(s === 'InBlock' ? 'in a block; waiting for finality' : STATUS_WORDS[s] ?? s));
    const entry = await myEntry(id, blockNumber);
    if (!entry.kind.isAccess) throw new Error(`the chain did not open it: ${entryInWords(entry.kind)}`);
    const me = decodeAddress(account);
    const reply = keygen();
    const ask = {
      patient: me, record: BigInt(id), version: record.version.toNumber(), logSeq: BigInt(entry.seq.toString()),
      requester: me, replyKey: reply.public, expiresAt: Date.now() + REQUEST_LIFETIME_MS,
    };
    const sign = async (bytes) => hexToU8a((await signer.signRaw({ address: account, data: u8aToHex(bytes), type: 'bytes' })).signature);
    const { key, failures } = await recordKey(servers, config.threshold, ask, reply, sign, step);
    const plain = await openedRecord(servers, record.contentHash.toU8a(), key, BigInt(id), ask.version, step);
    key.fill(0);
    reply.secret.fill(0);
    showOpened(id, plain);
    await refresh();
    status('ok', `${what}: opened (entry ${entry.seq} of your trail)${failures.length ? `; ${failures.join('; ')}` : ''}.`);
  } catch (error) {
    const prefix = error instanceof Refused ? 'Refused' : 'Failed';
    status('error', `${what}: ${prefix}. ${error.message}`);
  } finally {
    setBusy(false);
  }
}

function scopeInWords(scope) {
  if (scope.isAllRecords) return 'all records';
  if (scope.isCategory) return categoryName(config.categories, scope.asCategory.toString());
  return `record ${scope.asRecord}`;
}

async function showConsents() {
  const count = (await read(sys, sys.consents, 'consentCount', account, account)).toNumber();
  const consents = await readAll(sys, sys.consents, 'consentsOf', account, account, count);
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
    const actions = row.insertCell();
    // An expired rule is still revocable (it stays listed until revoked).
    if (consent.status.isActive) {
      const button = document.createElement('button');
      button.textContent = 'Revoke';
      button.setAttribute('aria-label', `Revoke consent ${consent.id}`);
      button.className = 'revoke';
      // The revocation names the grantee and terms this row shows: the contract
      // refuses it if the id holds another rule (a node that listed ids wrongly).
      button.onclick = () => transact(`Revoking consent ${consent.id}`, 'revoke', sys.consents,
        [account, consent.id, { grantee: consent.grantee, terms: consent.terms }]);
      actions.append(button);
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

const auditPage = (patient) => (start, limit) => read(sys, sys.log, 'entries', patient, patient, start, limit);

async function showOlderAudit() {
  appendAuditRows(await trail.older(auditPage(account)));
  showChainStatus();
}

// Refreshes can overlap (a transaction's refresh and an account switch): only the
// newest one draws the trail.
let auditGeneration = 0;

async function showAudit() {
  const generation = ++auditGeneration;
  const head = await read(sys, sys.log, 'head', account, account);
  const fresh = new AuditTrail(head.length.toNumber(), head.lastHash.toU8a(), sys.config.page_size);
  const page = await fresh.older(auditPage(account));
  if (generation !== auditGeneration) return;
  trail = fresh;
  shownEntries = [];
  $('audit-rows').replaceChildren();
  appendAuditRows(page);
  showChainStatus();
}

async function refresh() {
  if (!sys || !account) return;
  await readNames();
  await Promise.all([showRecords(), showConsents(), showAudit()]);
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
  const typed = $('grantee').value.trim();
  const named = [...names].filter(([, name]) => name === typed).map(([address]) => address);
  if (named.length > 1) throw new Error(`"${typed}" names ${named.length} providers: type the account instead.`);
  if (named.length === 1) return { Account: named[0] };
  try {
    decodeAddress(typed);
  } catch {
    throw new Error(`"${typed}" is neither a provider's name in the directory nor an account.`);
  }
  return { Account: typed };
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
  await transact('Granting', 'grant', sys.consents, [account, grantee, formTerms()]);
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
  setBusy(true);
  $('sign-terms').classList.add('hidden');
  try {
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
    status('pending', 'Waiting for your wallet to sign the terms shown…');
    const { signer } = await web3FromAddress(account);
    const inner = message.subarray(OPEN.length, message.length - CLOSE.length);
    const { signature } = await signer.signRaw({ address: account, data: u8aToHex(inner), type: 'bytes' });
    const relay = { message: 'grant_signed', patient: account, grantee, terms, nonce, deadline, signature };
    $('signed-output').textContent = JSON.stringify(relay, null, 2);
    $('signed-output').classList.remove('hidden');
    status('ok', 'Signed. Give this to the provider: they submit grant_signed and pay the fee.');
  } catch (error) {
    status('error', `Signing: Failed. ${error.message}`);
  } finally {
    setBusy(false);
  }
}

async function connectWallet() {
  setBusy(true);
  status('pending', 'Connecting…');
  try {
    const extensions = await web3Enable('medconsent');
    if (extensions.length === 0) {
      throw new Error('No wallet extension answered. Install polkadot.js, Talisman or SubWallet and allow this page.');
    }
    const accounts = await web3Accounts();
    if (accounts.length === 0) throw new Error('The wallet shares no account with this page.');
    config = await configLoading;
    sys = sys ?? await connect(config);
    const select = $('account');
    select.replaceChildren(...accounts.map((a) => new Option(`${a.meta.name ?? 'account'} (${short(a.address)})`, a.address)));
    select.disabled = false;
    account = accounts[0].address;
    $('chain').textContent = `Chain ${sys.config.chain}, genesis ${sys.api.genesisHash.toHex().slice(0, 18)}…`;
    await refresh();
    status('ok', 'Connected.');
  } catch (error) {
    status('error', `Connecting: Failed. ${error.message}`);
  } finally {
    setBusy(false);
  }
}

// The configuration first: a missing or broken one is said at once, in words.
const configLoading = loadConfig();
configLoading.then((loaded) => {
  $('scope-category').replaceChildren(...loaded.categories.map((c) => new Option(c.name, String(c.code))));
}, (error) => {
  $('connect').disabled = true;
  status('error', `This page cannot start: ${error.message}`);
});
$('connect').onclick = connectWallet;
$('account').onchange = async (event) => {
  account = event.target.value;
  await refresh();
};
$('grant-form').onsubmit = grant;
$('sign-submit').onclick = signForRelay;
$('audit-older').onclick = async () => {
  setBusy(true);
  try {
    await showOlderAudit();
  } finally {
    setBusy(false);
  }
};
