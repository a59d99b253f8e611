// What the browser tests share: numbered checks, and the page's live region, tables and
// controls found by role and name, as a screen reader finds them.

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

