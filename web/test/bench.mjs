// The page's benchmark (scripts/bench.sh --only web, through test/run.sh with
// MEDCONSENT_WEB_BENCH=1): the bundle's size, raw and compressed, per page; and the
// time for Dr Dave Smith to open a 32-record chart in the clinician page (one
// access_chart, finality, two release requests signed per record, the shares combined,
// each blob checked and decrypted in the page) against `medconsent chart --open` on the
// same records. run.sh has put Bob's 32 records and granted Dave; Dave's key is a
// command-line key file the page imports. Writes the "Page" section of BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { button, servedPages, waitForStatus } from './helpers.mjs';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.MEDCONSENT_WEB_PORT ?? 4173);
const WORK = process.env.MEDCONSENT_WORK;
const CLI = process.env.MEDCONSENT_CLI;
const OUT = process.env.MEDCONSENT_BENCH_OUT ?? join(WEB, '..', 'BENCHMARKS.md');
const RUNS = 3;

await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const bob = keyring.addFromUri('//Bob').address;
const dave = keyring.addFromUri('//Dave').address;

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n) => `${Math.round(n).toLocaleString('en')} ms`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The files each page loads (its scripts, preloads and styles) with their sizes. */
function bundle() {
  const dist = join(WEB, 'dist');
  const sizes = (file) => {
    const bytes = readFileSync(join(dist, file));
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes).length };
  };
  const rows = [];
  for (const html of ['index.html', 'clinician.html']) {
    const files = [...readFileSync(join(dist, html), 'utf8').matchAll(/(?:src|href)="\.\/(assets\/[^"]+\.(?:js|css))"/g)]
      .map((m) => m[1]);
    const total = files.map(sizes).reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli }));
    rows.push({ html, files: files.length, ...total });
  }
  const all = readdirSync(join(dist, 'assets')).length;
  return { rows, all };
}

async function pageRuns() {
  const { server, browser, base } = await servedPages(WEB, PORT);
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.addInitScript({ path: join(WEB, 'test', 'signer-bundle', 'signer.js') });
    await page.goto(`${base}/clinician.html`);
    await button(page, 'Connect wallet').click();
    await waitForStatus(page, 'Connecting: connected.');
    await page.getByLabel('Account', { exact: true }).selectOption(dave);
    await waitForStatus(page, 'Switching account: now Dr Dave Smith');
    const passphrase = 'dave: a long passphrase';
    await page.getByLabel('Passphrase').fill(passphrase);
    await page.getByLabel('Import a key file').setInputFiles(join(WORK, 'dave.sk'));
    await waitForStatus(page, 'Importing: imported');
    await button(page, 'Put this key in the directory').click();
    await waitForStatus(page, 'Putting the key in the directory: done', 120_000);
    await page.getByLabel('Passphrase').fill(passphrase);
    await button(page, 'Unlock key').click();
    await waitForStatus(page, 'Unlocking: unlocked', 60_000);
    await page.getByLabel('Patient (account)').fill(bob);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      await button(page, 'Show records').click();
      await waitForStatus(page, 'Reading the chart: 32 active records, 32 allowed');
      const signed = await page.evaluate(() => window.medconsentTestSigner.rawSigned);
      await button(page, 'Open selected records').click();
      await waitForStatus(page, 'Opening the chart: 32 of 32 records opened', 600_000);
      const timings = await page.evaluate(() => window.medconsentTimings);
      timings.signatures = await page.evaluate(() => window.medconsentTestSigner.rawSigned) - signed;
      runs.push(timings);
      console.log(`page run ${i + 1}: ${JSON.stringify(timings)}`);
    }
    return runs;
  } finally {
    await browser.close();
    server.kill();
  }
}

function cliRuns() {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    execFileSync(CLI, ['chart', '--deployment', join(WORK, 'deployment.json'), '--suri', '//Dave', '--patient', bob,
      '--purpose', 'treat', '--open', 'covered', '--secret', join(WORK, 'dave.sk'), '--store', join(WORK, 'dave'),
      '--folder', join(WORK, `chart-${i}`), '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
    runs.push(performance.now() - started);
    console.log(`command run ${i + 1}: ${Math.round(runs[i])} ms`);
  }
  return runs;
}

/** Replaces (or appends) the section that starts with `heading`, up to the next "## ". */
function writeSection(heading, section) {
  let current = '';
  try { current = readFileSync(OUT, 'utf8'); } catch { /* a new file */ }
  const start = current.indexOf(heading);
  let updated;
  if (start === -1) {
    updated = `${current}${current.endsWith('\n\n') || current === '' ? '' : current.endsWith('\n') ? '\n' : '\n\n'}${section}`;
  } else {
    const next = current.indexOf('\n## ', start + heading.length);
    updated = current.slice(0, start) + section + (next === -1 ? '' : current.slice(next + 1));
  }
  writeFileSync(OUT, updated);
}

const sizes = bundle();
const page = await pageRuns();
const cli = cliRuns();
const col = (key) => page.map((r) => r[key]);
const section = `## Page

\`scripts/bench.sh --only web\`: the pages' production build (\`vite build\`), and a 32-record chart opened by
Dr Dave Smith in the clinician page (headless Chromium, the test wallet signing at once) and by
\`medconsent chart --open covered\` (release build), each ${RUNS} times on the same node, contracts and three
release-build key servers (2 of 3). Wall-clock: these vary between runs and machines.

| page | files loaded | raw | gzip -9 | brotli |
|---|---|---|---|---|
${sizes.rows.map((r) => `| ${r.html} | ${r.files} | ${kib(r.raw)} | ${kib(r.gzip)} | ${kib(r.brotli)} |`).join('\n')}

| 32-record chart (median of ${RUNS}) | time |
|---|---|
| page: \`access_chart\` signed, in a block and finalized | ${ms(median(col('finalMs')))} |
| page: after finality (entries read, ${median(col('signatures'))} release requests signed, shares combined, 32 blobs checked and decrypted) | ${ms(median(col('totalMs')) - median(col('finalMs')))} |
| page: the whole open | ${ms(median(col('totalMs')))} |
| command line: \`medconsent chart --open covered\` (process start to exit) | ${ms(median(cli))} |

Every run: page ${page.map((r) => ms(r.totalMs)).join(', ')}; command ${cli.map(ms).join(', ')}.
The page asks the wallet for a signature per key server and record (the threshold, 2, unless a server fails):
${median(col('signatures'))} prompts in a real wallet for this chart, where the command signs with its own key.
`;
writeSection('## Page', section);
console.log(section);
