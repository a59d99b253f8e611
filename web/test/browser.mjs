// The patient page, tested as a person would use it, in headless Chromium (Debian's,
// driven by playwright-core). test/run.sh has started a node, deployed the contracts,
// registered Dave as a provider and a record for Bob, built the page and the test signer.
// Bob connects the test wallet, grants Dave, sees the consent, tries a refused grant,
// revokes, reads his audit trail (hash chain checked in the page), and signs a consent
// that Dave then relays and pays for. A screenshot is kept in test/artifacts/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { ContractPromise } from '@polkadot/api-contract';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.MEDCONSENT_WEB_PORT ?? 4173);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(WEB, 'test', 'artifacts');
const config = JSON.parse(readFileSync(join(WEB, 'public', 'config.json'), 'utf8'));

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}

async function waitForServer(url) {
  for (let i = 0; i < 100; i++) {
    // A server that exited at once (port taken) must not let a stale one answer.
    if (serverExit !== null) throw new Error(`vite preview exited (${serverExit}): is port ${PORT} taken?`);
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no page at ${url}`);
}

const statusText = (page) => page.locator('#status').textContent();
async function waitForStatus(page, text, timeout = 60_000) {
  await page.waitForFunction(
    (t) => document.getElementById('status').textContent.includes(t), text, { timeout });
}

await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const bob = keyring.addFromUri('//Bob').address;
const dave = keyring.addFromUri('//Dave');

// Vite itself, not through npx, so that killing it stops the server.
const vite = join(WEB, 'node_modules', 'vite', 'bin', 'vite.js');
const server = spawn(process.execPath, [vite, 'preview', '--port', String(PORT), '--strictPort', '--host', '127.0.0.1'],
  { cwd: WEB, stdio: 'ignore' });
let serverExit = null;
server.on('exit', (code) => { serverExit = code; });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  await waitForServer(`http://127.0.0.1:${PORT}/`);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.addInitScript({ path: join(WEB, 'test', 'signer-bundle', 'signer.js') });
  await page.goto(`http://127.0.0.1:${PORT}/`);

  // Connect the wallet and pick Bob.
  await page.click('#connect');
  await waitForStatus(page, 'Connected.');
  await page.selectOption('#account', bob);
  await page.waitForFunction(() => document.querySelectorAll('#record-rows tr').length === 1);
  check(true, 'Bob connects his wallet and sees his one record');

  // Grant Dave read access for treatment; the transaction shows a pending state.
  await page.fill('#grantee', dave.address);
  await page.click('#grant-submit');
  await page.waitForSelector('#status.pending', { timeout: 10_000 });
  check(await page.locator('#grant-submit').isDisabled(), 'buttons are disabled while the transaction is in flight');
  await waitForStatus(page, 'Granting: done.');
  const row = page.locator('#consent-rows tr[data-consent="0"]');
  check((await row.textContent()).includes(dave.address) && (await row.textContent()).includes('Active'),
    'the new consent is listed: Dave, Active');

  // A grant the contract refuses: its typed error, in words, and no transaction.
  await page.fill('#grantee', bob);
  await page.click('#grant-submit');
  await waitForStatus(page, 'Refused');
  check((await statusText(page)).includes('You cannot grant access to yourself.'),
    `a refused grant is explained: "${await statusText(page)}"`);

  // Revoke it.
  await row.locator('button.revoke').click();
  await waitForStatus(page, 'Revoking consent 0: done.');
  check((await row.textContent()).includes('Revoked'), 'the consent shows as revoked');

  // The audit trail: record created, consent granted, consent revoked; chain verified.
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 3);
  const audit = await page.locator('#audit-rows').textContent();
  check(['RecordCreated', 'ConsentGranted', 'ConsentRevoked'].every((k) => audit.includes(k)),
    'the audit trail lists the record, the grant and the revocation');
  check(await page.locator('#chain-status.verified').isVisible(),
    `the page verified the hash chain: "${await page.locator('#chain-status').textContent()}"`);

  // A consent signed in the wallet, relayed and paid for by Dave.
  await page.fill('#grantee', dave.address);
  await page.click('#sign-submit');
  await waitForStatus(page, 'Signed.');
  const relay = JSON.parse(await page.locator('#signed-output').textContent());
  check(relay.patient === bob && /^0x[0-9a-f]{128}$/.test(relay.signature), 'the wallet signed a consent for relaying');
  const api = await ApiPromise.create({ provider: new WsProvider(config.url), noInitWarn: true });
  const abi = JSON.parse(readFileSync(join(WEB, 'public', 'abi', 'consent_manager.json'), 'utf8'));
  const manager = new ContractPromise(api, abi, config.contracts.consent_manager.address);
  const args = [relay.patient, relay.grantee, relay.terms, relay.nonce, relay.deadline, relay.signature];
  const gasLimit = api.registry.createType('WeightV2', { refTime: 100_000_000_000n, proofSize: 1_000_000n });
  const dry = await manager.query.grantSigned(dave.address, { gasLimit, storageDepositLimit: null }, ...args);
  check(dry.output.asOk.isOk, `the contract accepts the wallet's signature (dry run: ${dry.output.toString()})`);
  await new Promise((resolve, reject) => {
    manager.tx.grantSigned({ gasLimit: dry.gasRequired, storageDepositLimit: null }, ...args)
      .signAndSend(dave, (result) => {
        if (result.dispatchError) reject(new Error(result.dispatchError.toString()));
        else if (result.status.isInBlock) resolve();
      }).catch(reject);
  });
  await api.disconnect();
  await page.selectOption('#account', bob);
  await page.locator('#account').dispatchEvent('change');
  await page.waitForSelector('#consent-rows tr[data-consent="1"]');
  check((await page.locator('#consent-rows tr[data-consent="1"]').textContent()).includes('Active'),
    'the relayed consent appears in the page');
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 4);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, 'patient-page.png'), fullPage: true });
  check(true, `screenshot kept: ${join(ARTIFACTS, 'patient-page.png')}`);
} catch (error) {
  failed = true;
  console.error(error.message);
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`page status: ${await page.locator('#status').textContent().catch(() => '?')}`);
  }
} finally {
  await browser.close();
  server.kill();
}
console.log(`browser: ${checks} checks passed${failed ? ', 1 failed' : ''}`);
process.exit(failed ? 1 : 0);
