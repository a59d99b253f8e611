// The patient page, tested as a person would use it, in headless Chromium (Debian's,
// driven by playwright-core). test/run.sh has started a node, deployed the contracts,
// registered Dave ("Dr Dave Smith") as a provider, started three key servers, had Bob put
// a lab report with the command (record 0), built the page and the test signer.
// Controls are found by role and label, as a screen reader finds them, never by element
// ids. A missing configuration is explained; Bob connects the test wallet, opens his
// report in the page (the exact bytes; one key server unreachable still opens, two say
// so), grants Dave by name, sees the consent in words, tries a refused grant,
// revokes, reads his audit trail (hash chain checked in the page), and signs a consent
// that Dave then relays and pays for. Then: the page's signed bytes against the
// known-answer vector in docs/; a lying node (an intercepted RPC answer) that keeps the
// prefix but changes grantee and terms, which the page refuses to sign; and a trail of
// 10,000 entries, read newest first a page at a time. A screenshot is kept in
// test/artifacts/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Abi, ContractPromise } from '@polkadot/api-contract';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { signingMessage } from '../src/signing.js';
import { AuditTrail } from '../src/audit.js';
import {
  button, check, checksPassed, rowCount, rowHeaders, rowOf, rows, statusOf, statusText, table, waitForStatus,
} from './helpers.mjs';
import { servedPages } from './helpers.mjs';
import { story } from './story.mjs';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.MEDCONSENT_WEB_PORT ?? 4173);
const ARTIFACTS = join(WEB, 'test', 'artifacts');
const config = JSON.parse(readFileSync(join(WEB, 'public', 'config.json'), 'utf8'));


await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const bobPair = keyring.addFromUri('//Bob');
const bob = bobPair.address;
const dave = keyring.addFromUri('//Dave');
const eve = keyring.addFromUri('//Eve');
const abiOf = (name) => JSON.parse(readFileSync(join(WEB, 'public', 'abi', `${name}.json`), 'utf8'));

/** Sends `tx` signed by `pair`; resolves once it is in a block without a dispatch error. */
const inBlock = (tx, pair) => new Promise((resolve, reject) => {
  tx.signAndSend(pair, (result) => {
    if (result.dispatchError) reject(new Error(result.dispatchError.toString()));
    else if (result.status.isInBlock) resolve();
  }).catch(reject);
});

const api = await ApiPromise.create({ provider: new WsProvider(config.url), noInitWarn: true });
const gasLimit = api.registry.createType('WeightV2', { refTime: 100_000_000_000n, proofSize: 1_000_000n });
const contractOf = (name) => new ContractPromise(api, abiOf(name), config.contracts[name].address);

/**
 * Runs message `method` of contract `name` as `pair`: a dry run first (a refusal throws
 * with the contract's answer), then the transaction with the gas the dry run needed.
 */
async function submit(name, method, pair, ...args) {
  const contract = contractOf(name);
  const dry = await contract.query[method](pair.address, { gasLimit, storageDepositLimit: null }, ...args);
  if (!dry.result.isOk || !dry.output.asOk.isOk) {
    throw new Error(`${name}.${method} refused: ${dry.result.isOk ? dry.output.toString() : dry.result.toString()}`);
  }
  await inBlock(contract.tx[method]({ gasLimit: dry.gasRequired, storageDepositLimit: null }, ...args), pair);
}

/**
 * Appends `total` entries to Bob's chain: his own reads of record 0 (PATRQT), 150 to a
 * block through utility.batchAll, each a real call of the registry that logs.
 */
async function fillTrail(api, total) {
  if (!api.tx.utility) throw new Error('this runtime has no utility pallet to batch calls with');
  const registry = contractOf('record_registry');
  const dry = await registry.query.accessRecord(bob, { gasLimit, storageDepositLimit: null }, 0, 'PatientRequest');
  const margin = (w) => (w.toBigInt() * 12n) / 10n;
  const gas = api.registry.createType('WeightV2', {
    refTime: margin(dry.gasRequired.refTime), proofSize: margin(dry.gasRequired.proofSize),
  });
  const data = registry.abi.findMessage('access_record').toU8a([0, 'PatientRequest']);
  const call = api.tx.contracts.call(registry.address, 0, gas, null, data);
  for (let done = 0; done < total;) {
    const n = Math.min(150, total - done);
    await inBlock(api.tx.utility.batchAll(Array(n).fill(call)), bobPair);
    done += n;
  }
}

const report = readFileSync(process.env.MEDCONSENT_REPORT, 'utf8');

const { server, browser, base } = await servedPages(WEB, PORT);
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.addInitScript({ path: join(WEB, 'test', 'signer-bundle', 'signer.js') });
  // A page served without its configuration says so, in words, and does not start.
  const unconfigured = await browser.newPage();
  await unconfigured.route('**/config.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await unconfigured.goto(`${base}/`);
  await waitForStatus(unconfigured, 'This page cannot start');
  check((await statusText(unconfigured)).includes('medconsent deployment web-config')
    && await button(unconfigured, 'Connect wallet').isDisabled(),
  `a missing configuration is explained: "${await statusText(unconfigured)}"`);
  await unconfigured.close();

  await page.goto(`${base}/`);

  // Connect the wallet and pick Bob.
  await button(page, 'Connect wallet').click();
  await waitForStatus(page, 'Connecting: connected.');
  await page.getByLabel('Account', { exact: true }).selectOption(bob);
  await rowCount(page, 'My records', 1);
  check((await rowOf(page, 'My records', 0).textContent()).includes('lab-results'),
    'Bob connects his wallet and sees his one record, its category by name');

  // Bob opens his report in the page: the access on chain, one wallet signature per key
  // server, the shares sealed to a key made for this read, the ciphertext checked
  // against the chain's hash and opened here.
  const rawSigned = () => page.evaluate(() => window.medconsentTestSigner.rawSigned);
  const signedBefore = await rawSigned();
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: opened', 120_000);
  check(await page.getByLabel('Record content').textContent() === report,
    'Bob opens his lab report in the page: the exact bytes the command put');
  check(await rawSigned() - signedBefore === 2, 'the wallet signed release requests for 2 key servers, the threshold, no more');
  check((await page.getByRole('link', { name: 'Download record 0' }).getAttribute('href')).startsWith('blob:'),
    'and can download it');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'patient-opened-record.png'), fullPage: true });

  // One key server unreachable from the page: two shares still open it. Two: said so.
  const unreachable = (i) => page.route(`${config.key_servers[i].url}/**`, (route) => route.abort());
  await unreachable(0);
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: opened', 120_000);
  check((await statusText(page)).includes('key server 1: did not answer')
    && await page.getByLabel('Record content').textContent() === report,
  `with key server 1 unreachable the record still opens, and the page says which: "${await statusText(page)}"`);
  await unreachable(1);
  await button(page, 'Open record 0').click();
  await waitForStatus(page, 'Opening record 0: Failed.', 120_000);
  check((await statusText(page)).includes('only 1 of 3 key servers released a share, 2 needed'),
    `with two unreachable the page says so: "${await statusText(page)}"`);
  await page.unrouteAll();

  // Grant Dave, by his name in the directory, read access for treatment; the
  // transaction shows a pending state.
  await page.getByLabel('Provider (name or account)').fill('Dr Dave Smith');
  await button(page, 'Grant (I pay the fee)').click();
  await statusOf(page).filter({ hasText: /^Granting: (?!done)/ }).waitFor({ timeout: 10_000 });
  check(await button(page, 'Grant (I pay the fee)').isDisabled(), 'buttons are disabled while the transaction is in flight');
  await waitForStatus(page, 'Granting: done.');
  const row = rowOf(page, 'My consents', 0);
  const granted = await row.textContent();
  check(granted.includes('Dr Dave Smith') && granted.includes('allow') && granted.includes('read')
    && granted.includes('until revoked') && granted.includes('active'),
  `the new consent is listed in words: "${granted}"`);

  // A grant the contract refuses: its typed error, in words, and no transaction.
  await page.getByLabel('Provider (name or account)').fill(bob);
  await button(page, 'Grant (I pay the fee)').click();
  await waitForStatus(page, 'Refused');
  check((await statusText(page)).includes('You cannot grant access to yourself.'),
    `a refused grant is explained: "${await statusText(page)}"`);
  // A name the directory does not hold: said before anything is sent.
  await page.getByLabel('Provider (name or account)').fill('Dr Nobody');
  await button(page, 'Grant (I pay the fee)').click();
  await waitForStatus(page, 'neither a provider');
  check(await rows(page, 'My consents').count() === 1, `an unknown name is refused in words: "${await statusText(page)}"`);

  // Revoke it.
  await button(page, 'Revoke consent 0').click();
  await waitForStatus(page, 'Revoking consent 0: done.');
  check((await row.textContent()).includes('revoked'), 'the consent shows as revoked');
  // Dave tries anyway: refused on chain, and logged.
  await submit('record_registry', 'accessRecord', dave, 0, 'Treat');

  // A consent that ran out is shown as expired, not active.
  const soon = Date.now() + 12_000;
  await submit('consent_manager', 'grant', bobPair, bob, { Account: dave.address }, {
    decision: 'Permit', scope: { Category: 3 }, actions: 1, purposes: 1, validFrom: 0, validUntil: soon,
  });
  await new Promise((r) => setTimeout(r, Math.max(0, soon - Date.now()) + 1_000));
  await page.getByLabel('Account', { exact: true }).dispatchEvent('change');
  await rowCount(page, 'My consents', 2);
  const expired = await rowOf(page, 'My consents', 1).textContent();
  check(expired.includes('expired') && expired.includes('lab-results') && !expired.includes('until revoked'),
    `a consent past its end is shown as expired, with its category and end: "${expired}"`);

  // The audit trail: record created, consent granted, consent revoked, granted again;
  // chain verified; times in local words, the provider by name.
  await rowCount(page, 'My audit trail', 8);
  const audit = await table(page, 'My audit trail').textContent();
  check(['Record added', 'Opened', 'Consent given', 'Consent revoked', 'Refused: no consent of yours permits it'].every((k) => audit.includes(k))
    && audit.includes(new Date().getFullYear().toString()) && audit.includes('me'),
  `the audit trail lists the record, the grants and the revocation in words: "${audit.slice(0, 200)}…"`);
  const picture = await page.getByRole('img', { name: /^Who opened your records/ }).getAttribute('aria-label');
  check(picture.includes('me opened 3') && picture.includes('Dr Dave Smith was refused 1'),
    `the trail as a picture, a refusal marked, summed up in words: "${picture}"`);
  const chainCheck = page.getByRole('note', { name: 'Hash chain check' });
  check((await chainCheck.textContent()).startsWith('Hash chain verified'),
    `the page verified the hash chain: "${await chainCheck.textContent()}"`);

  // A consent signed in the wallet, relayed and paid for by Dave.
  await page.getByLabel('Provider (name or account)').fill(dave.address);
  await button(page, 'Sign for a provider to submit (no fee)').click();
  await waitForStatus(page, 'Signing: done.');
  const relay = JSON.parse(await page.getByLabel('Signed consent for the provider').textContent());
  check(relay.patient === bob && /^0x[0-9a-f]{128}$/.test(relay.signature), 'the wallet signed a consent for relaying');
  const terms = await page.getByRole('note', { name: 'Terms you sign' }).textContent();
  check(terms.includes(`You allow Dr Dave Smith (${dave.address}) to read all your records, for treatment`),
    `the terms were shown in words next to the request: "${terms}"`);
  const manager = contractOf('consent_manager');
  const args = [relay.patient, relay.grantee, relay.terms, relay.nonce, relay.deadline, relay.signature];
  const dry = await manager.query.grantSigned(dave.address, { gasLimit, storageDepositLimit: null }, ...args);
  check(dry.output.asOk.isOk, `the contract accepts the wallet's signature (dry run: ${dry.output.toString()})`);
  await new Promise((resolve, reject) => {
    manager.tx.grantSigned({ gasLimit: dry.gasRequired, storageDepositLimit: null }, ...args)
      .signAndSend(dave, (result) => {
        if (result.dispatchError) reject(new Error(result.dispatchError.toString()));
        else if (result.status.isInBlock) resolve();
      }).catch(reject);
  });
  await page.getByLabel('Account', { exact: true }).selectOption(bob);
  await page.getByLabel('Account', { exact: true }).dispatchEvent('change');
  await rowOf(page, 'My consents', 2).waitFor();
  check((await rowOf(page, 'My consents', 2).textContent()).includes('active'),
    'the relayed consent appears in the page');
  await rowCount(page, 'My audit trail', 9);

  // The page's own encoding of the signed bytes against the known-answer vector.
  const vector = JSON.parse(readFileSync(join(WEB, '..', 'docs', 'signed-consent-vector.json'), 'utf8'));
  const built = signingMessage(new Abi(abiOf('consent_manager')), {
    contract: vector.contract, genesisHash: vector.genesis_hash, patient: vector.patient,
    action: vector.action, nonce: vector.nonce, deadline: vector.deadline,
  });
  check(u8aToHex(built) === vector.message_hex, 'the page builds the known-answer vector\'s exact bytes');

  // The page's audit-trail check against the chain the Rust side wrote (LogEntry's
  // chain_hash): all five entries verified, page by page; one byte changed: refused there.
  const auditVector = JSON.parse(readFileSync(join(WEB, '..', 'docs', 'audit-chain-vector.json'), 'utf8'));
  const logAbi = new Abi(abiOf('access_log'));
  const logEntry = logAbi.registry.lookup.types.find((t) => t.type.path.join('::').endsWith('::LogEntry'));
  const entryType = logAbi.registry.createLookupType(logEntry.id);
  const verifyTrail = async (hexes) => {
    const trail = new AuditTrail(hexes.length, hexToU8a(auditVector.head_hash), 2);
    const fetchPage = async (start, limit) => hexes.slice(start, start + limit)
      .map((hex) => logAbi.registry.createTypeUnsafe(entryType, [hexToU8a(hex)]));
    let shown = 0;
    for (let page = await trail.older(fetchPage); page.length > 0; page = await trail.older(fetchPage)) {
      shown += page.length;
    }
    return { shown, brokenAt: trail.brokenAt };
  };
  const honest = await verifyTrail(auditVector.entries);
  check(honest.shown === 5 && honest.brokenAt === null,
    `the page verifies the known-answer audit chain (${JSON.stringify(honest)})`);
  const changed = [...auditVector.entries];
  // Entry 2's purpose byte (Treat -> PatientRequest), its hash left as it was.
  const bytes = hexToU8a(changed[2]);
  bytes[bytes.length - 32 - 4 - 8 - 9 - 1] ^= 0x06;
  changed[2] = u8aToHex(bytes);
  const refused = await verifyTrail(changed);
  check(refused.brokenAt === 2 && refused.shown === 2,
    `the page refuses the audit chain with entry 2 changed (${JSON.stringify(refused)})`);

  // A lying node: its answers keep the prefix, but the grant becomes one to Eve, for
  // reading and writing, for every purpose. The page must refuse, and say why.
  const lying = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const daveHex = u8aToHex(dave.publicKey).slice(2);
  const eveHex = u8aToHex(eve.publicKey).slice(2);
  let tampered = 0;
  await lying.routeWebSocket(/:9944/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const text = message.toString();
      const lie = text.replaceAll(`${daveHex}00000101`, `${eveHex}0000037f`);
      if (lie !== text) tampered += 1;
      ws.send(lie);
    });
  });
  await lying.addInitScript({ path: join(WEB, 'test', 'signer-bundle', 'signer.js') });
  await lying.goto(`${base}/`);
  await button(lying, 'Connect wallet').click();
  await waitForStatus(lying, 'Connecting: connected.');
  await lying.getByLabel('Account', { exact: true }).selectOption(bob);
  await lying.getByLabel('Account', { exact: true }).dispatchEvent('change');
  await lying.getByLabel('Provider (name or account)').fill(dave.address);
  await button(lying, 'Sign for a provider to submit (no fee)').click();
  await waitForStatus(lying, 'Signing: Failed.');
  const refusal = await statusText(lying);
  check(tampered > 0 && refusal.includes('the node returned other bytes than the terms you entered'),
    `the page refuses the lying node's bytes and says why: "${refusal}"`);
  check(await lying.evaluate(() => window.medconsentTestSigner.rawSigned) === 0
    && !(await lying.getByLabel('Signed consent for the provider').isVisible()), 'and nothing was signed');

  // The same node lists Bob's consent 2 (Dave, read, treatment) as a grant to Eve of
  // everything. Revoke names what the row shows; the contract compares it with what
  // consent 2 holds and refuses, so the lie cannot make Bob revoke another rule.
  const lyingRow = rowOf(lying, 'My consents', 2);
  check((await lyingRow.textContent()).includes(eve.address), 'the lying node lists consent 2 as a grant to Eve');
  await button(lying, 'Revoke consent 2').click();
  await waitForStatus(lying, 'Revoking consent 2: Refused.');
  check((await statusText(lying)).includes('is not the one shown here, so nothing was revoked'),
    `the revocation of a misnamed consent is refused in words: "${await statusText(lying)}"`);
  const stored = (await manager.query.consent(bob, { gasLimit, storageDepositLimit: null }, bob, 2)).output.asOk;
  check(stored.isSome && stored.unwrap().status.isActive && stored.unwrap().grantee.asAccount.toString() === dave.address,
    'consent 2, read from an honest node, is still Dave\'s and active');
  await lying.close();

  // The whole story across the pages: add, grant, chart, result, revoke, break-glass,
  // review, rotate, retire, a delegate, and what goes wrong, in words.
  await story({
    browser, page, submit, report, config, base, artifacts: ARTIFACTS,
    signerScript: join(WEB, 'test', 'signer-bundle', 'signer.js'),
  });

  // A long trail: 10,000 more entries. The page reads the newest page only, verified
  // against the head, and older pages on request.
  await fillTrail(api, 10_000);
  const length = (await contractOf('access_log')
    .query.head(bob, { gasLimit, storageDepositLimit: null }, bob)).output.asOk.length.toNumber();
  check(length >= 10_009, `Bob's trail holds ${length} entries`);
  await page.getByLabel('Account', { exact: true }).selectOption(bob);
  await page.getByLabel('Account', { exact: true }).dispatchEvent('change');
  await rowOf(page, 'My audit trail', length - 1).waitFor({ timeout: 60_000 });
  const seqs = (await rowHeaders(page, 'My audit trail')).map(Number);
  check(seqs.length === 31 && seqs[0] === length - 1 && seqs.every((s, i) => s === length - 1 - i),
    `the newest page comes first, newest at the top (${seqs.length} rows from ${seqs[0]})`);
  check((await chainCheck.textContent()).includes(`back to entry ${length - 31}`)
    && (await chainCheck.textContent()).startsWith('Hash chain verified'), 'that page is verified against the on-chain head');
  await button(page, 'Show older entries').click();
  await rowCount(page, 'My audit trail', 62);
  check((await chainCheck.textContent()).includes(`back to entry ${length - 62}`),
    `an older page continues the verified chain: "${await chainCheck.textContent()}"`);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, 'patient-page.png'), fullPage: true });
  check(existsSync(join(ARTIFACTS, 'patient-page.png')), `screenshot kept: ${join(ARTIFACTS, 'patient-page.png')}`);
} catch (error) {
  failed = true;
  console.error(error.message);
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
    for (const open of browser.contexts().flatMap((c) => c.pages())) {
      console.error(`${open.url()} status: ${await statusText(open).catch(() => '?')}`);
    }
  }
} finally {
  await api.disconnect();
  await browser.close();
  server.kill();
}
console.log(`browser: ${checksPassed()} checks passed${failed ? ', 1 failed' : ''}`);
process.exit(failed ? 1 : 0);
