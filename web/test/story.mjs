// The whole story across the two pages, as people would use them: Bob adds a record
// and grants Dave; Dr Dave Smith makes his key in the browser, puts it in the directory,
// opens Bob's chart (the exact bytes) and adds a result that Bob opens; Bob revokes and
// Dave is refused; Paramedic Ferdie breaks the glass twice and Bob reviews both at once;
// Bob rotates and retires a record; Charlie, Bob's delegate, adds a record for him; and
// what goes wrong is said in words: a tampered blob, a share that does not open, a
// lying server's wrong share, a broken configuration. Screenshots of each state go to test/artifacts/.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { fromHex, toHex } from '../src/hex.js';
import { concat, randomBytes, releaseContext, sealTo } from '../src/sealing.js';
import {
  button, check, rowCount, rowOf, rows, statusText, table, waitForStatus,
} from './helpers.mjs';

const LONG = 180_000;
// One justification per break-glass read: a text filed under the wrong entry shows.
const WHY = ['Unconscious at the scene, no ID; allergies needed before sedation.',
  'Still unconscious; prior imaging needed before surgery.'];
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const [bob, charlie, dave, eve, ferdie] = ['Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']
  .map((name) => keyring.addFromUri(`//${name}`));

const file = (name, text) => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
const rawSigned = (page) => page.evaluate(() => window.medconsentTestSigner.rawSigned);

async function connectAs(page, address) {
  await button(page, 'Connect wallet').click();
  await waitForStatus(page, 'Connecting: connected.');
  await page.getByLabel('Account', { exact: true }).selectOption(address);
}

/** The clinician page's key section: a new key, locked in the browser; the directory differs. */
async function makeKey(clinic, who, passphrase) {
  check((await clinic.getByRole('note', { name: 'Key in this browser' }).textContent()).includes('No key in this browser'),
    `${who}: the page says this browser holds no key yet`);
  await clinic.getByLabel('Passphrase').fill(passphrase);
  await button(clinic, 'Make a new key').click();
  await waitForStatus(clinic, 'Making a key: made and locked', 60_000);
  const state = await clinic.getByRole('note', { name: 'Key in this browser' }).textContent();
  const directory = clinic.getByRole('note', { name: 'Directory check' });
  check(/public key: 0x[0-9a-f]{64}/.test(state) && (await directory.textContent()).includes('lists another key'),
    `${who}: the page shows what to send the admin and warns that the directory holds another key: "${await directory.textContent()}"`);
}

async function unlockKey(clinic, passphrase) {
  await clinic.getByLabel('Passphrase').fill(passphrase);
  await button(clinic, 'Unlock key').click();
  await waitForStatus(clinic, 'Unlocking: unlocked', 60_000);
}

/** The provider puts the browser's key in the directory itself. */
async function publishKey(clinic, who) {
  await button(clinic, 'Put this key in the directory').click();
  await waitForStatus(clinic, 'Putting the key in the directory: done', 60_000);
  check((await clinic.getByRole('note', { name: 'Directory check' }).textContent()).includes('with this key'),
    `${who}: after rotate_provider_key the directory lists this key`);
}

export async function story({ browser, page, submit, report, config, base, artifacts, signerScript }) {
  const cors = { 'access-control-allow-origin': base };
  const shot = (p, name) => p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const content = (p) => p.getByLabel('Record content').textContent();
  const refreshBob = async () => {
    await page.getByLabel('Account', { exact: true }).selectOption(bob.address);
    await page.getByLabel('Account', { exact: true }).dispatchEvent('change');
    await waitForStatus(page, 'Loading: your records are shown');
  };

  // 1. Bob adds a record from the page: sealed here, uploaded, shares deposited (one
  // wallet signature per server), registered.
  const xray = 'Synthetic imaging report for the browser test: no fracture seen, no real patient.\n';
  await refreshBob();
  const before = await rawSigned(page);
  await page.getByLabel('File', { exact: true }).setInputFiles(file('xray.txt', xray));
  await page.getByLabel('Category of the record').selectOption({ label: 'imaging' });
  await button(page, 'Add record').click();
  await waitForStatus(page, 'Adding a record: record 1 added (imaging), 3 key servers hold a share', LONG);
  check((await rowOf(page, 'My records', 1).textContent()).includes('imaging') && await rawSigned(page) - before === 3,
    'Bob adds an imaging report from the page; each of 3 deposits was signed in his wallet');
  await shot(page, 'patient-added-record');
  await page.getByRole('region', { name: '2. My records' }).screenshot({ path: join(artifacts, 'readme-patient-records.png') });
  await button(page, 'Open record 1').click();
  await waitForStatus(page, 'Opening record 1: opened', LONG);
  check(await content(page) === xray, 'Bob opens the record he added: the exact bytes');

  // 2. Bob lets Dave read and add records, for treatment.
  await page.getByLabel('Provider (name or account)').fill('Dr Dave Smith');
  await page.getByLabel('add records').check();
  await button(page, 'Grant (I pay the fee)').click();
  await waitForStatus(page, 'Granting: done.');
  await page.getByLabel('add records').uncheck();
  check((await rowOf(page, 'My consents', 3).textContent()).includes('read and add records'),
    'Bob lets Dr Dave Smith read and add records');

  // 3. Dr Dave Smith: his key in the browser, then Bob's chart.
  const clinic = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  clinic.on('pageerror', (e) => console.log(`clinician page error: ${e.message}`));
  await clinic.addInitScript({ path: signerScript });
  await clinic.goto(`${base}/clinician.html`);
  await connectAs(clinic, dave.address);
  await waitForStatus(clinic, 'Switching account: now Dr Dave Smith');
  await makeKey(clinic, 'Dr Dave Smith', 'dave: a long passphrase');
  await unlockKey(clinic, 'dave: a long passphrase');
  const exported = clinic.waitForEvent('download');
  await button(clinic, 'Export locked key').click();
  const download = await exported;
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  check(saved.format === 'medconsent-browser-key/v1' && saved.kdf.name === 'scrypt'
    && JSON.stringify(Object.keys(saved).sort()) === JSON.stringify(['format', 'kdf', 'nonce', 'public_key', 'sealed'])
    && saved.sealed.length === 2 + 2 * 48,
  'the exported key is the locked file (scrypt), no secret in the clear');
  // Imported back: a wrong passphrase is refused and the key kept; the right one (after
  // confirming the replacement) gives the same public key, locked anew.
  const importFile = clinic.getByLabel('Import a key file');
  await clinic.getByLabel('Passphrase').fill('not the passphrase');
  await importFile.setInputFiles(await download.path());
  await waitForStatus(clinic, 'Importing: Failed.', 60_000);
  check((await statusText(clinic)).includes('the passphrase does not open this key'),
    `an import with the wrong passphrase is refused: "${await statusText(clinic)}"`);
  await clinic.getByLabel('Passphrase').fill('dave: a long passphrase');
  clinic.once('dialog', (dialog) => dialog.accept());
  await importFile.setInputFiles(await download.path());
  await waitForStatus(clinic, `Importing: imported; public key ${saved.public_key}`, 60_000);
  await unlockKey(clinic, 'dave: a long passphrase');

  await clinic.getByLabel('Patient (account)').fill(bob.address);
  await button(clinic, 'Show records').click();
  await waitForStatus(clinic, 'Reading the chart: 2 active records, 2 allowed for treatment');
  // With a key the directory does not list, opening is refused before anything is sent:
  // the shares would go to the directory's key, and the access would be spent.
  const signedTx = () => clinic.evaluate(() => window.medconsentTestSigner.payloadsSigned);
  const txBefore = await signedTx();
  await button(clinic, 'Open selected records').click();
  await waitForStatus(clinic, 'Opening the chart: Failed.');
  check((await statusText(clinic)).includes('the directory lists another key for this account than the one unlocked here: nothing was sent')
    && await signedTx() === txBefore, `opening with a key the directory does not list is refused before any transaction: "${await statusText(clinic)}"`);
  await publishKey(clinic, 'Dr Dave Smith');
  await shot(clinic, 'clinician-key');
  const signedBefore = await rawSigned(clinic);
  await button(clinic, 'Open selected records').click();
  await waitForStatus(clinic, 'Opening the chart: 2 of 2 records opened', LONG);
  await button(clinic, 'Show record 0').click();
  check(await content(clinic) === report, 'Dave opens Bob\'s chart with one access: record 0, the exact bytes');
  await button(clinic, 'Show record 1').click();
  check(await content(clinic) === xray && await rawSigned(clinic) - signedBefore === 4,
    'and record 1, the report Bob added in the page; 2 release requests signed per record');
  await shot(clinic, 'clinician-chart');
  await clinic.getByRole('region', { name: "3. A patient's chart" }).screenshot({ path: join(artifacts, 'readme-clinician-chart.png') });

  // 4. Dave adds a result; Bob opens it.
  const result = 'Synthetic result from Dr Dave Smith for the browser test: HbA1c 5.4 %, no real patient.\n';
  await clinic.getByLabel('File', { exact: true }).setInputFiles(file('hba1c.txt', result));
  await clinic.getByLabel('Category of the result').selectOption({ label: 'lab-results' });
  await button(clinic, 'Add result').click();
  await waitForStatus(clinic, "Adding a result: record 2 added to the patient's records", LONG);
  await refreshBob();
  await button(page, 'Open record 2').click();
  await waitForStatus(page, 'Opening record 2: opened', LONG);
  check(await content(page) === result, 'Bob opens the result Dave added with his Append permit: the exact bytes');

  // 5. Bob revokes both of Dave's consents; Dave is refused, in words, and nothing released.
  for (const id of [2, 3]) {
    await button(page, `Revoke consent ${id}`).click();
    await waitForStatus(page, `Revoking consent ${id}: done.`);
  }
  await button(clinic, 'Show records').click();
  await waitForStatus(clinic, 'Reading the chart: 3 active records, 0 allowed');
  check((await rowOf(clinic, "Patient's records", 0).textContent()).includes("not allowed: no consent of the patient's permits it"),
    'after the revocation the chart says, free of charge, that nothing is allowed');
  await clinic.getByLabel('Open record 0').check();
  const refusedBefore = await rawSigned(clinic);
  await button(clinic, 'Open selected records').click();
  await waitForStatus(clinic, 'Opening the chart: 0 of 1 records opened', LONG);
  check((await rowOf(clinic, 'Opened records', 0).textContent()).includes("Refused: no consent of the patient's permits it")
    && await rawSigned(clinic) === refusedBefore, 'Dave tries anyway: refused on chain, said in words, no release asked for');

  // 6. Paramedic Ferdie breaks the glass twice; the budget is shown.
  await clinic.getByLabel('Account', { exact: true }).selectOption(ferdie.address);
  await waitForStatus(clinic, 'Switching account: now Paramedic Ferdie');
  await makeKey(clinic, 'Paramedic Ferdie', 'ferdie: a long passphrase');
  await publishKey(clinic, 'Paramedic Ferdie');
  await unlockKey(clinic, 'ferdie: a long passphrase');
  await clinic.getByLabel('Patient (account)').fill(u8aToHex(bob.publicKey));
  await clinic.getByLabel('Patient (account)').dispatchEvent('change');
  const budget = clinic.getByRole('note', { name: 'Break-glass budget' });
  await budget.filter({ hasText: 'window: 5' }).waitFor();
  for (const [i, id] of [0, 1].entries()) {
    await clinic.getByLabel('Record number').fill(String(id));
    await clinic.getByLabel('Justification', { exact: true }).fill(WHY[i]);
    await button(clinic, 'Break the glass').click();
    await waitForStatus(clinic, `Breaking the glass: record ${id} opened`, LONG);
    check(await content(clinic) === (id === 0 ? report : xray) && (await budget.textContent()).includes(`window: ${4 - i}`),
      `Ferdie breaks the glass on record ${id}: the exact bytes; ${4 - i} left in the window`);
  }
  check((await clinic.getByLabel('Your justification and its salt').textContent()).includes('Hash in the trail: 0x')
    && (await statusText(clinic)).includes('the justification is with 3 key servers for the patient'),
  'only the salted hash goes on chain; the text is left sealed with the 3 key servers for Bob');
  await shot(clinic, 'responder-break-glass');

  // 7. Bob reviews both at once.
  await refreshBob();
  await rowCount(page, 'Break-glass accesses', 2);
  check((await rowOf(page, 'Break-glass accesses', 0).textContent()).includes('Paramedic Ferdie'),
    'Bob sees both break-glass accesses, the responder by name');
  await button(page, 'Read the justification of break-glass access 1').click();
  await waitForStatus(page, 'Reading the justification of break-glass access 1: it matches the hash in the trail', LONG);
  check((await page.getByRole('note', { name: 'Justification given' }).textContent()).includes(`"${WHY[1]}"`),
    'Bob reads the justification Ferdie gave, checked against the salted hash in his trail');
  const listed = JSON.parse(execFileSync(process.env.MEDCONSENT_CLI, ['emergencies', '--deployment',
    join(process.env.MEDCONSENT_WORK, 'deployment.json'), '--patient', bob.address, '--texts', '--suri', '//Bob', '--json', '--quiet'],
  { encoding: 'utf8' }));
  check(listed.emergencies.length === 2 && listed.emergencies.every((e, i) => e.justification_text === WHY[i]),
    'the command reads the justifications the page left: the same format both ways');
  await page.getByLabel('Review of break-glass access 0').selectOption({ label: 'justified' });
  await page.getByLabel('Review of break-glass access 1').selectOption({ label: 'not justified' });
  await button(page, 'Submit reviews').click();
  await waitForStatus(page, 'Reviewing 2 break-glass accesses: done.', LONG);
  const reviewCell = (i) => rowOf(page, 'Break-glass accesses', i).getByRole('cell').last().textContent();
  check(await reviewCell(0) === 'justified' && await reviewCell(1) === 'not justified'
    && await page.getByRole('combobox', { name: /^Review of break-glass access/ }).count() === 0
    && (await table(page, 'My audit trail').textContent()).includes('reviewed: not justified'),
  'Bob reviews both in one transaction; the reviews are in his trail');
  await shot(page, 'patient-review');
  await page.getByRole('region', { name: '5. Break-glass accesses' }).screenshot({ path: join(artifacts, 'readme-patient-review.png') });

  // 8. A new key for record 1, then its retirement.
  await button(page, 'Rotate record 1').click();
  await waitForStatus(page, 'Rotating record 1: version 2 under a new key, 3 key servers hold a share', LONG);
  await button(page, 'Open record 1').click();
  await waitForStatus(page, 'Opening record 1: opened', LONG);
  const versionCell = rowOf(page, 'My records', 1).getByRole('cell').nth(1);
  check(await content(page) === xray && await versionCell.textContent() === '2',
    'Bob gives record 1 a new key (version 2) and it still opens to the same bytes');
  const retiredHash = await rowOf(page, 'My records', 1).getByRole('cell').nth(3).textContent();
  await button(page, 'Retire record 1').click();
  await waitForStatus(page, 'Retiring record 1: retired; 3 key servers deleted its shares', LONG);
  const blobsLeft = await Promise.all(config.key_servers.map(async (s) => (await fetch(`${s.url}/v1/blobs/${retiredHash}`)).status));
  check((await rowOf(page, 'My records', 1).textContent()).includes('retired')
    && await page.getByRole('button', { name: 'Open record 1' }).count() === 0 && blobsLeft.every((s) => s === 404),
  `Bob retires record 1: every key server deleted its ciphertext (${blobsLeft.join(', ')}), and it cannot be opened`);

  // 9. Charlie, Bob's delegate, adds a record for him; a patient who never appointed
  // him is refused in words.
  await submit('consent_manager', 'appointDelegate', bob, charlie.address, null);
  await page.getByLabel('Account', { exact: true }).selectOption(charlie.address);
  await page.getByLabel('Acting for (empty: yourself; a patient who made you their delegate)').fill(eve.address);
  await button(page, 'Show').click();
  await waitForStatus(page, 'Loading: Failed.');
  check((await statusText(page)).includes('is not a current delegate of'), `acting for a stranger is refused: "${await statusText(page)}"`);
  // Typed as 0x-hex, not as the chain writes it: the page takes it as the same account.
  await page.getByLabel('Acting for (empty: yourself; a patient who made you their delegate)').fill(u8aToHex(bob.publicKey));
  await button(page, 'Show').click();
  await waitForStatus(page, 'Loading: the records of');
  // A relayed consent carries the patient's own signature: a delegate is told to grant.
  const relayBefore = await rawSigned(page);
  await button(page, 'Sign for a provider to submit (no fee)').click();
  await waitForStatus(page, 'Signing: Failed.');
  check((await statusText(page)).includes('only the patient signs a consent for relaying')
    && await rawSigned(page) === relayBefore, `a delegate cannot sign a relayed consent, and nothing is signed: "${await statusText(page)}"`);
  const letter = 'Synthetic discharge letter for the browser test, added by a delegate, no real patient.\n';
  await page.getByLabel('File', { exact: true }).setInputFiles(file('letter.txt', letter));
  await page.getByLabel('Category of the record').selectOption({ label: 'clinical-notes' });
  await button(page, 'Add record').click();
  await waitForStatus(page, 'Adding a record: record 3 added', LONG);
  await button(page, 'Open record 3').click();
  await waitForStatus(page, 'Opening record 3: opened', LONG);
  check(await content(page) === letter && (await page.getByRole('note', { name: 'Whose records' }).textContent()).includes('as their delegate'),
    'Charlie, acting for Bob, adds a record for him and opens it');
  await page.getByLabel('Acting for (empty: yourself; a patient who made you their delegate)').fill('');

  // 10. What goes wrong, in words: a blob changed at every server; a share that does
  // not open from one server (the next one is asked); a broken configuration.
  await refreshBob();
  await page.route('**/v1/blobs/**', (route) => route.fulfill({ status: 200, headers: cors, body: 'MCS1 not the stored ciphertext' }));
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: Failed.', LONG);
  check((await statusText(page)).includes("its ciphertext does not match the chain's hash"),
    `a tampered blob is refused before decryption: "${await statusText(page)}"`);
  await page.unrouteAll();
  await page.route(`${config.key_servers[0].url}/v1/release`, (route) => route.fulfill({
    status: 200, headers: cors, contentType: 'application/json', body: JSON.stringify({ released: `0x01${'00'.repeat(104)}` }),
  }));
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: opened', LONG);
  check((await statusText(page)).includes('key server 1: sent a share that does not open for this access')
    && await content(page) === report, `a share that does not open costs that server's share, not the record: "${await statusText(page)}"`);
  await page.unrouteAll();
  // A hostile server: a share sealed properly to this read's key, but of another value.
  // The key it gives does not open the record; the page asks the third server and
  // names the one whose share does not fit.
  await page.route(`${config.key_servers[0].url}/v1/release`, (route) => {
    const signed = fromHex(JSON.parse(route.request().postData()).signed);
    const field = (at, len) => signed.subarray(at, at + len);
    const u64 = (at) => new DataView(signed.buffer, signed.byteOffset + at, 8).getBigUint64(0, true);
    const context = releaseContext(field(0, 32), field(32, 32), u64(64), new DataView(signed.buffer, signed.byteOffset + 72, 4).getUint32(0, true),
      u64(76), field(84, 32), 1);
    const lie = sealTo(randomBytes(32), field(116, 32), context);
    return route.fulfill({
      status: 200, headers: cors, contentType: 'application/json',
      body: JSON.stringify({ released: toHex(concat(new Uint8Array([1]), lie)) }),
    });
  });
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: opened', LONG);
  check((await statusText(page)).includes('key server 1: sent a share that does not fit the others')
    && await content(page) === report, `a lying server's well-sealed wrong share is found out, and the record still opens: "${await statusText(page)}"`);
  await page.unrouteAll();
  // Every server refuses the release: a known code in the page's words; a server using
  // one of the page's own codes, or an unknown one, quoted as that server's claim.
  const refusals = [
    { error: 'entry_used', message: 'log entry already redeemed' },
    { error: 'bad_share', message: 'I am key server 3, trust me' },
    { error: 'made_up', message: 'x'.repeat(500) },
  ];
  for (const [i, body] of refusals.entries()) {
    await page.route(`${config.key_servers[i].url}/v1/release`, (route) => route.fulfill({
      status: 409, headers: cors, contentType: 'application/json', body: JSON.stringify(body),
    }));
  }
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: Failed.', LONG);
  const refused = await statusText(page);
  check(refused.includes('only 0 of 3 key servers released a share, 2 needed: key server 1: this access was already used for a release')
    && refused.includes('key server 2: refused (http_409: "I am key server 3, trust me")')
    && refused.includes(`key server 3: refused (made_up: "${'x'.repeat(160)}")`),
  `a refused release is said in words, a server's own words quoted and cut short: "${refused.slice(0, 300)}…"`);
  await page.unrouteAll();
  // A file whose ciphertext the key servers would refuse: refused before anything is signed.
  const small = await browser.newPage();
  await small.addInitScript({ path: signerScript });
  await small.route('**/config.json', (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify({ ...config, max_blob_bytes: 100 }),
  }));
  await small.goto(`${base}/`);
  await connectAs(small, bob.address);
  await waitForStatus(small, 'Loading: your records are shown');
  await small.getByLabel('File', { exact: true }).setInputFiles(file('big.txt', 'x'.repeat(200)));
  await button(small, 'Add record').click();
  await waitForStatus(small, 'Adding a record: Failed.');
  check((await statusText(small)).includes('the file is too large')
    && await small.evaluate(() => window.medconsentTestSigner.payloadsSigned) === 0,
  `a file larger than the key servers take is refused before anything is signed: "${await statusText(small)}"`);
  // An answer longer than the configuration allows is not read to its end.
  await button(small, 'Open record 0').click();
  await waitForStatus(small, 'Opening record 0: Failed.', LONG);
  check((await statusText(small)).includes('key server 1: answered more than 100 bytes'),
    `a ciphertext longer than the limit is cut off: "${await statusText(small)}"`);
  await small.close();
  for (const [body, words] of [['{not json', 'is not valid JSON'], ['{}', 'config.json lacks the chain\'s name (chain), the node (url)']]) {
    const broken = await browser.newPage();
    await broken.route('**/config.json', (route) => route.fulfill({ status: 200, contentType: 'application/json', body }));
    await broken.goto(`${base}/`);
    await waitForStatus(broken, 'This page cannot start');
    check((await statusText(broken)).includes(words), `a broken configuration is explained: "${await statusText(broken)}"`);
    await broken.close();
  }
  check(await rows(page, 'My records').count() === 4, 'Bob\'s records: 4, one retired');
  await clinic.close();
}
