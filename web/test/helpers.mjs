// What the browser tests share: the built pages served and a headless Chromium, numbered
// checks, and the page's live region, tables and controls found by role and name, as a
// screen reader finds them.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * `vite preview` of the built pages at 127.0.0.1:`port` (vite itself, not through npx,
 * so that killing it stops the server) and a headless Chromium; once the pages answer.
 */
export async function servedPages(web, port) {
  const vite = join(web, 'node_modules', 'vite', 'bin', 'vite.js');
  const server = spawn(process.execPath, [vite, 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'],
    { cwd: web, stdio: 'ignore' });
  let exited = null;
  server.on('exit', (code) => { exited = code; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    // A server that exited at once (port taken) must not let a stale one answer.
    if (exited !== null) throw new Error(`vite preview exited (${exited}): is port ${port} taken?`);
    if (i === 100) throw new Error(`no page at ${base}/`);
    try {
      if ((await fetch(`${base}/`)).ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { server, browser, base };
}

let checks = 0;
export function check(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}
export const checksPassed = () => checks;

// The page's live region, and its tables and controls by role and name.
export const statusOf = (page) => page.getByRole('status');
export const statusText = (page) => statusOf(page).textContent();
export async function waitForStatus(page, text, timeout = 60_000) {
  await statusOf(page).filter({ hasText: text }).waitFor({ timeout });
}
export const button = (page, name) => page.getByRole('button', { name, exact: true });
export const table = (page, name) => page.getByRole('table', { name });
/** The body rows of a table (the header row has no row header cell). */
export const rows = (page, name) => table(page, name).getByRole('row').filter({ has: page.getByRole('rowheader') });
/** The row whose row header reads `key` (a consent or entry number). */
export const rowOf = (page, name, key) => table(page, name).getByRole('row')
  .filter({ has: page.getByRole('rowheader', { name: String(key), exact: true }) });
export async function rowCount(page, name, n, timeout = 60_000) {
  await page.waitForFunction(([label, want]) => document.querySelectorAll(
    `table[aria-label="${label}"] tbody tr`).length === want, [name, n], { timeout });
}
export const rowHeaders = (page, name) => rows(page, name).getByRole('rowheader').allTextContents();

