// The clinician's and responder's page: a decryption key kept in this browser (made,
// locked, exported, imported; checked against the directory), a patient's chart (what
// the consents allow, checked free; several records opened with one logged
// `access_chart`), a result added with an Append permit, and break-glass.
import { decodeAddress } from '@polkadot/util-crypto';
import { x25519 } from '@noble/curves/ed25519';
import { canonicalAccount, deadline, loadConfig, read, readAll, sendFinal } from './chain.js';
import { REQUEST_LIFETIME_MS } from './keyservers.js';
import { claimHash, leaveJustification, MAX_JUSTIFICATION_LEN, SALT_LEN } from './justification.js';
import { entriesIn, openThroughEntry } from './reading.js';
import { writeRecord } from './writing.js';
import { accountNamed, readNames } from './directory.js';
import { createKey, importKey, matchesDirectory, publicKeyHex, unlock } from './keystore.js';
import { randomBytes } from './sealing.js';
import { toHex } from './hex.js';
import { $, cell, cellButton, chosenFile, connectPage, flowContext, rowHeader, run, showFile, status, walletSigner } from './ui.js';
import { categoryName, denialInWords, entryInWords } from './words.js';
import { remainingBudget } from './emergency.js';

let sys = null;
let config = null;
let account = null;
let names = new Map();
// The unlocked key pair of this account's locked key, while the page is open.
let unlocked = null;
// The chart shown: the patient and the purpose it was checked for.
let chart = null;

const canonical = (text) => canonicalAccount(sys, text);
const storageName = (who) => `medconsent-key:${who}`;
const lockedKey = () => localStorage.getItem(storageName(account));

const context = () => flowContext(sys, config, account);

/** What this browser holds for the account, and whether the directory lists that key. */
async function showKey() {
  const locked = lockedKey();
  $('key-state').textContent = locked === null
    ? 'No key in this browser for this account: make one, or import one.'
    : `Key in this browser (${unlocked ? 'unlocked' : 'locked'}). Send the admin your account ${account} `
      + `and this public key: ${publicKeyHex(locked)}`;
  const entry = await read(sys, sys.consents, 'provider', account, account);
  const line = $('key-directory');
  if (entry.isNone) {
    line.className = 'broken';
    line.textContent = 'The directory does not list this account as a provider: the admin registers it with the public key above.';
  } else if (locked !== null && !matchesDirectory(locked, entry.unwrap().publicKey.toU8a())) {
    line.className = 'broken';
    line.textContent = `The directory lists another key for this account (${toHex(entry.unwrap().publicKey.toU8a())}): `
      + 'records would be released to that key, which this browser cannot open. Import that key, or ask the admin to register this one.';
  } else {
    line.className = 'verified';
    line.textContent = `The directory lists this account as ${names.get(account) ?? 'a provider'}, with ${locked === null ? 'a key this browser does not hold' : 'this key'}.`;
  }
}

function passphrase() {
  const text = $('passphrase').value;
  if (!text) throw new Error('type the passphrase first');
  return text;
}

function keep(locked) {
  localStorage.setItem(storageName(account), JSON.stringify(locked));
  unlocked?.secret.fill(0);
  unlocked = null;
}

async function createNewKey() {
  await run('Making a key', async () => {
    if (lockedKey() !== null && !window.confirm('Replace the key this browser holds for this account?')) return 'kept the old key';
    keep(createKey(passphrase()).locked);
    $('passphrase').value = '';
    await showKey();
    return 'made and locked; send the admin the public key shown';
  });
}

async function unlockKey(event) {
  event.preventDefault();
  await run('Unlocking', async () => {
    const locked = lockedKey();
    if (locked === null) throw new Error('this browser holds no key for this account');
    const secret = unlock(locked, passphrase());
    unlocked?.secret.fill(0);
    unlocked = { secret, public: x25519.getPublicKey(secret) };
    $('passphrase').value = '';
    await showKey();
    return 'unlocked for as long as this page is open';
  });
}

function exportKey() {
  const locked = lockedKey();
  if (locked === null) {
    status('error', 'Exporting: Failed. This browser holds no key for this account.');
    return;
  }
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([locked], { type: 'application/json' }));
  link.download = `medconsent-key-${account}.json`;
  link.click();
  status('ok', 'Exporting: the locked key was saved; it opens only with its passphrase.');
}

async function importKeyChosen(event) {
  await run('Importing', async () => {
    const text = new TextDecoder().decode(await chosenFile(event.target));
    event.target.value = '';
    const locked = importKey(text, passphrase());
    if (lockedKey() !== null && !window.confirm('Replace the key this browser holds for this account?')) return 'kept the old key';
    keep(locked);
    $('passphrase').value = '';
    await showKey();
    return `imported; public key ${locked.public_key}`;
  });
}

/** The provider itself publishes this browser's key in the directory (rotate_provider_key). */
async function publishKey() {
  await run('Putting the key in the directory', async (step) => {
    const locked = lockedKey();
    if (locked === null) throw new Error('this browser holds no key for this account');
    await sendFinal(sys, sys.consents, 'rotateProviderKey', account, await walletSigner(account),
      [publicKeyHex(locked)], step);
    await showKey();
    return 'done; records are released to this key from now on';
  });
}

/**
 * The unlocked key, once the directory lists it for this account: shares are released
 * only to the directory's key, so an access made with another one would be spent for
 * nothing (checked before anything is sent).
 */
async function readyKey() {
  if (!unlocked) throw new Error('unlock your decryption key first (section 2)');
  const entry = await read(sys, sys.consents, 'provider', account, account);
  if (entry.isNone) throw new Error('the directory does not list this account as a provider');
  if (toHex(entry.unwrap().publicKey.toU8a()) !== toHex(unlocked.public)) {
    throw new Error('the directory lists another key for this account than the one unlocked here: nothing was sent (section 2)');
  }
  return unlocked;
}

/** The patient's active records with what the consents decide for this account. */
async function showChart(event) {
  event?.preventDefault();
  await run('Reading the chart', async () => {
    const patient = accountNamed($('patient').value, new Map(), canonical, 'patient');
    const purpose = $('purpose').value;
    const counts = await read(sys, sys.registry, 'counts', account, patient);
    const records = (await readAll(sys, sys.registry, 'recordsOf', account, patient, counts.records.toNumber()))
      .filter((r) => r.status.isActive);
    const verdicts = [];
    for (let i = 0; i < records.length; i += config.max_chart_records) {
      const batch = records.slice(i, i + config.max_chart_records);
      verdicts.push(...await read(sys, sys.consents, 'consentCheck::checkChart', account, {
        patient, accessor: account, purpose,
        records: batch.map((r) => [r.id, r.category]),
      }));
    }
    chart = { patient, purpose, records };
    const body = $('chart-rows');
    body.replaceChildren();
    records.forEach((record, i) => {
      const row = body.insertRow();
      rowHeader(row, record.id.toString());
      cell(row, categoryName(config.categories, record.category.toString()));
      cell(row, record.version.toString());
      const verdict = verdicts[i];
      cell(row, verdict.isPermit ? 'allowed' : `not allowed: ${denialInWords(verdict.asDeny, true)}`);
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.name = 'chart-record';
      box.value = record.id.toString();
      box.checked = verdict.isPermit;
      box.setAttribute('aria-label', `Open record ${record.id}`);
      row.insertCell().append(box);
    });
    const allowed = verdicts.filter((v) => v.isPermit).length;
    return `${records.length} active records, ${allowed} allowed for ${$('purpose').selectedOptions[0].text}`;
  });
}

/**
 * Opens the checked records: one `access_chart` (each record logged, allowed or
 * refused), one finality wait, then the key servers asked for each released record,
 * the shares sealed to this browser's key.
 */
async function openChart() {
  await run('Opening the chart', async (step) => {
    const reply = await readyKey();
    if (!chart) throw new Error('show a patient\'s records first');
    const ids = [...document.querySelectorAll('input[name=chart-record]:checked')].map((b) => b.value);
    if (ids.length === 0) throw new Error('check at least one record');
    if (ids.length > config.max_chart_records) throw new Error(`at most ${config.max_chart_records} records at once`);
    const ctx = await context();
    const started = performance.now();
    const { blockNumber } = await sendFinal(sys, sys.registry, 'accessChart', account, ctx.signer,
      [chart.patient, ids, chart.purpose], step);
    const finalAt = performance.now();
    const entries = await entriesIn(sys, chart.patient, account, blockNumber, ids.length);
    const body = $('opened-rows');
    body.replaceChildren();
    const outcomes = await Promise.all(ids.map(async (id) => {
      const entry = entries.find((e) => e.record.isSome && e.record.unwrap().toString() === id);
      if (!entry) return { id, text: 'not in the trail: the node may be lying' };
      if (!entry.kind.isAccess) return { id, text: entryInWords(entry.kind, true) };
      try {
        const { plain, failures } = await openThroughEntry(ctx, entry, reply, step);
        return { id, plain, text: `opened, ${plain.length} bytes${failures.length ? ` (${failures.join('; ')})` : ''}` };
      } catch (error) {
        return { id, text: `not opened: ${error.message}` };
      }
    }));
    const done = performance.now();
    for (const outcome of outcomes) {
      const row = body.insertRow();
      rowHeader(row, outcome.id);
      cell(row, outcome.text);
      if (outcome.plain) {
        cellButton(row, 'Show', `Show record ${outcome.id}`, () => showFile($('opened'), `Record ${outcome.id}`, outcome.plain));
      } else {
        row.insertCell();
      }
    }
    const first = outcomes.find((o) => o.plain);
    if (first) showFile($('opened'), `Record ${first.id}`, first.plain);
    window.medconsentTimings = { records: ids.length, finalMs: finalAt - started, totalMs: done - started };
    const opened = outcomes.filter((o) => o.plain).length;
    return `${opened} of ${ids.length} records opened`;
  });
}

async function addResult(event) {
  event.preventDefault();
  await run('Adding a result', async (step) => {
    if (!chart) throw new Error('show the patient\'s records first: the result goes to that patient, for that purpose');
    const plain = await chosenFile($('result-file'));
    const category = Number($('result-category').value);
    const written = await writeRecord(await context(), { patient: chart.patient, category, purpose: chart.purpose, plain }, step);
    plain.fill(0);
    await showChart();
    return `record ${written.record} added to the patient's records, ${written.taken} key servers hold a share`;
  });
}

async function budgetFor(patient) {
  const counts = await read(sys, sys.registry, 'counts', account, patient);
  const mine = (await readAll(sys, sys.registry, 'emergenciesOf', account, patient, counts.emergencies.toNumber()))
    .filter((e) => e.responder.toString() === account).map((e) => Number(e.at.toString()));
  return remainingBudget(mine, Date.now(), config.emergency_budget);
}

/**
 * Break-glass: the justification's salted hash on chain; once the Emergency entry is
 * final the text is left sealed at the key servers for the patient's review (and shown
 * here for the responder to keep); then the record is opened through that entry.
 */
async function breakGlass(event) {
  event.preventDefault();
  await run('Breaking the glass', async (step) => {
    const reply = await readyKey();
    const patient = accountNamed($('patient').value, new Map(), canonical, 'patient');
    const id = $('glass-record').value;
    const words = $('glass-text').value.trim();
    const text = new TextEncoder().encode(words);
    if (text.length === 0) throw new Error('say why: the justification is required');
    if (text.length > MAX_JUSTIFICATION_LEN) throw new Error(`the justification is at most ${MAX_JUSTIFICATION_LEN} bytes`);
    const salt = randomBytes(SALT_LEN);
    const hash = claimHash(salt, text);
    const ctx = await context();
    const found = await read(sys, sys.registry, 'record', account, id);
    if (found.isNone || found.unwrap().patient.toString() !== patient) throw new Error(`record ${id} is not one of this patient's`);
    const { blockNumber } = await sendFinal(sys, sys.registry, 'emergencyAccess', account, ctx.signer, [id, hash], step);
    $('glass-claim').textContent = `Justification: ${words}\nSalt: ${toHex(salt)}\nHash in the trail: ${toHex(hash)}`;
    $('glass-claim').classList.remove('hidden');
    const [entry] = await entriesIn(sys, patient, account, blockNumber, 1);
    $('glass-budget').textContent = `Break-glass reads left for this patient in the current 24-hour window: ${await budgetFor(patient)}.`;
    if (!entry.kind.isEmergency) throw new Error(`the chain did not open it: ${entryInWords(entry.kind, true)}`);
    // The justification goes under this entry only if it is this read's: this record,
    // the hash just submitted (a node handing another entry gets nothing filed under it).
    if (!entry.record.isSome || entry.record.unwrap().toString() !== String(id)
      || toHex(entry.kind.asEmergency.justification.toU8a()) !== toHex(hash)) {
      throw new Error(`entry ${entry.seq} is not this break-glass read: the node may be lying; nothing was left at the key servers`);
    }
    const { kept, failures } = await leaveJustification(ctx.servers, config.threshold, {
      patient: decodeAddress(patient), logSeq: BigInt(entry.seq.toString()), responder: decodeAddress(account), salt, text,
      expires: deadline(sys, REQUEST_LIFETIME_MS),
    }, ctx.sign, step);
    const left = kept >= config.threshold ? `the justification is with ${kept} key servers for the patient`
      : `only ${kept} key servers kept the justification (${failures.join('; ')}): keep the text shown`;
    const { plain } = await openThroughEntry(ctx, entry, reply, step);
    showFile($('opened'), `Record ${id}`, plain);
    return `record ${id} opened (entry ${entry.seq} of the patient's trail; the patient will review it); ${left}`;
  });
}

async function showBudget() {
  const typed = $('patient').value.trim();
  if (!sys || typed === '') return;
  try {
    const patient = accountNamed(typed, new Map(), canonical, 'patient');
    $('glass-budget').textContent = `Break-glass reads left for this patient in the current 24-hour window: ${await budgetFor(patient)}.`;
  } catch {
    $('glass-budget').textContent = '';
  }
}

async function switchAccount() {
  unlocked?.secret.fill(0);
  unlocked = null;
  chart = null;
  $('chart-rows').replaceChildren();
  $('opened-rows').replaceChildren();
  $('opened').classList.add('hidden');
  names = await readNames(sys, account);
  await showKey();
}

async function connectWallet() {
  await run('Connecting', async () => {
    ({ sys, config, account } = await connectPage(configLoading, sys));
    await switchAccount();
    return 'connected';
  });
}

const configLoading = loadConfig();
configLoading.then((loaded) => {
  $('result-category').replaceChildren(...loaded.categories.map((c) => new Option(c.name, String(c.code))));
}, (error) => {
  $('connect').disabled = true;
  status('error', `This page cannot start: ${error.message}`);
});
$('connect').onclick = connectWallet;
$('account').onchange = (event) => run('Switching account', async () => {
  account = canonical(event.target.value);
  await switchAccount();
  return `now ${names.get(account) ?? account}`;
});
$('key-form').onsubmit = unlockKey;
$('key-create').onclick = createNewKey;
$('key-export').onclick = exportKey;
$('key-publish').onclick = publishKey;
$('key-import').onchange = importKeyChosen;
$('chart-form').onsubmit = showChart;
$('chart-open').onclick = openChart;
$('result-form').onsubmit = addResult;
$('glass-form').onsubmit = breakGlass;
$('patient').onchange = showBudget;
