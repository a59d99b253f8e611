// What every page shares: the live status line, busy buttons, table cells, the wallet,
// and a viewer for an opened file.
import { web3Accounts, web3Enable, web3FromAddress } from '@polkadot/extension-dapp';
import { canonicalAccount, connect, rawSigner, Refused } from './chain.js';
import { pinnedServers } from './keyservers.js';

export const $ = (id) => document.getElementById(id);

/** Says `text` in the page's live region (announced by screen readers). */
export function status(kind, text) {
  const box = $('status');
  box.className = kind;
  box.textContent = text;
}

const STATUS_WORDS = {
  signing: 'waiting for your wallet to sign',
  Ready: 'sent; waiting for a block',
  Broadcast: 'sent; waiting for a block',
  InBlock: 'in a block; waiting for finality',
  Finalized: 'final',
};

function setBusy(busy) {
  for (const button of document.querySelectorAll('button')) button.disabled = busy;
}

/**
 * Runs `work(step)` with the buttons disabled and a pending state; `step(text)` says
 * where it is. Its result (a sentence) is said when done; an error, in words.
 */
export async function run(what, work) {
  setBusy(true);
  status('pending', `${what}: checking…`);
  const step = (text) => status('pending', `${what}: ${STATUS_WORDS[text] ?? text}…`);
  try {
    const said = await work(step);
    status('ok', `${what}: ${said ?? 'done'}.`);
    return true;
  } catch (error) {
    const prefix = error instanceof Refused ? 'Refused' : 'Failed';
    status('error', `${what}: ${prefix}. ${error.message}`);
    return false;
  } finally {
    setBusy(false);
  }
}

export function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** The row's first cell, a header for the row (what a screen reader names it by). */
export function rowHeader(row, text) {
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = text;
  row.append(th);
}

/** A button in a table cell, named for a screen reader by `label`. */
export function cellButton(row, text, label, onclick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = text;
  button.setAttribute('aria-label', label);
  button.onclick = onclick;
  row.insertCell().append(button);
  return button;
}

export const short = (address) => `${address.slice(0, 8)}…`;

/** The wallet's accounts, shared with this page; an error in words if there are none. */
async function walletAccounts() {
  const extensions = await web3Enable('medconsent');
  if (extensions.length === 0) {
    throw new Error('No wallet extension answered. Install polkadot.js, Talisman or SubWallet and allow this page.');
  }
  const accounts = await web3Accounts();
  if (accounts.length === 0) throw new Error('The wallet shares no account with this page.');
  return accounts;
}

/**
 * The wallet's accounts in the page's account list (the first chosen), and the node
 * (`sys`, reused if given): what both pages do on "Connect wallet".
 */
export async function connectPage(configLoading, sys) {
  const accounts = await walletAccounts();
  const config = await configLoading;
  const connected = sys ?? await connect(config);
  // The wallet may write accounts in another network's format: the chain's, from here on.
  const shared = accounts.flatMap((a) => {
    try {
      return [{ name: a.meta.name ?? 'account', address: canonicalAccount(connected, a.address) }];
    } catch {
      return []; // an account of another kind (a 20-byte Ethereum one) cannot act here
    }
  });
  if (shared.length === 0) throw new Error('The wallet shares no account this chain can use.');
  const select = $('account');
  select.replaceChildren(...shared.map((a) => new Option(`${a.name} (${short(a.address)})`, a.address)));
  select.disabled = false;
  $('chain').textContent = `Chain ${connected.config.chain}, genesis ${connected.api.genesisHash.toHex().slice(0, 18)}…`;
  return { sys: connected, config, account: shared[0].address };
}

export async function walletSigner(account) {
  return (await web3FromAddress(account)).signer;
}

/**
 * What the flows of reading.js and writing.js need of a page: the node, the
 * configuration, its key servers (at least the threshold), the account, its wallet
 * signer and raw signer.
 */
export async function flowContext(sys, config, account) {
  const signer = await walletSigner(account);
  const servers = pinnedServers(config);
  if (servers.length < config.threshold) {
    throw new Error(`the configuration lists ${servers.length} key servers, ${config.threshold} needed: remake it with \`medconsent deployment web-config\``);
  }
  return { sys, config, servers, account, signer, sign: rawSigner(signer, account) };
}

/**
 * Shows an opened file in `box` (an element holding a heading, an "about" line, a
 * <pre> and a download link, by their data-part): as text when it reads as text, always
 * as a download.
 */
export function showFile(box, name, plain) {
  const part = (p) => box.querySelector(`[data-part=${p}]`);
  let text = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) text = null;
  } catch { /* not text */ }
  part('about').textContent = `${name}: ${plain.length} bytes${text === null ? ' (not text: download it)' : ''}.`;
  part('content').textContent = text ?? '';
  const link = part('download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([plain]));
  link.download = name.toLowerCase().replaceAll(' ', '-');
  link.textContent = `Download ${name.toLowerCase()}`;
  box.classList.remove('hidden');
}

/** The bytes of the file chosen in `input`, or an error in words. */
export async function chosenFile(input) {
  const file = input.files?.[0];
  if (!file) throw new Error('choose a file first');
  return new Uint8Array(await file.arrayBuffer());
}
