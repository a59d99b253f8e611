// The node, the three contracts, and calls: dry run first (typed errors in words, no fee),
// then the transaction, signed by the wallet.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { ContractPromise } from '@polkadot/api-contract';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { errorInWords } from './words.js';

const NAMES = ['record_registry', 'consent_manager', 'access_log'];

const REMAKE = 'Make it from the deployment file: `medconsent deployment web-config --out web/public/config.json`.';

/** A JSON file the page is served with, or an error saying in words what is wrong. */
async function served(path, remedy) {
  let response;
  try {
    response = await fetch(path);
  } catch {
    throw new Error(`The page could not fetch ${path}. ${remedy}`);
  }
  if (!response.ok) throw new Error(`The page has no ${path} (HTTP ${response.status}). ${remedy}`);
  try {
    return await response.json();
  } catch {
    throw new Error(`${path} is not valid JSON. ${remedy}`);
  }
}

/**
 * `config.json` (made from the deployment file by `medconsent deployment web-config`):
 * the node, the chain, the deployed contracts, the query page size and the category
 * names. Whatever is missing or broken is said in words.
 */
export async function loadConfig() {
  const config = await served('./config.json', REMAKE);
  const missing = [];
  if (typeof config.chain !== 'string') missing.push('the chain\'s name (chain)');
  if (typeof config.url !== 'string' || !/^wss?:\/\//.test(config.url)) missing.push('the node (url)');
  if (typeof config.genesis_hash !== 'string') missing.push('the chain (genesis_hash)');
  for (const name of NAMES) {
    if (typeof config.contracts?.[name]?.address !== 'string') missing.push(`the ${name.replace('_', ' ')} address`);
  }
  // The audit trail reads a page and the entry before it: a page needs two entries.
  if (!Number.isInteger(config.page_size) || config.page_size < 2) missing.push('the page size (page_size)');
  if (!Array.isArray(config.categories)) missing.push('the category names (categories)');
  if (!Array.isArray(config.key_servers) || !Number.isInteger(config.threshold) || config.threshold < 1
    || config.key_servers.some((s) => typeof s?.url !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(s?.public_key ?? ''))) {
    missing.push('the key servers and their threshold (key_servers, threshold)');
  }
  if (!Number.isInteger(config.max_chart_records) || config.max_chart_records < 1) missing.push('the chart size (max_chart_records)');
  if (!Number.isInteger(config.max_answer_bytes) || !Number.isInteger(config.max_blob_bytes)) {
    missing.push('the key servers\' size limits (max_answer_bytes, max_blob_bytes)');
  }
  if (!Number.isInteger(config.emergency_budget?.per_window) || !Number.isInteger(config.emergency_budget?.window_ms)) {
    missing.push('the break-glass budget (emergency_budget)');
  }
  if (missing.length > 0) {
    throw new Error(`config.json lacks ${missing.join(', ')}: it was not made by this version of medconsent. ${REMAKE}`);
  }
  return config;
}

// `abi/<contract>.json` is each contract's metadata.
export async function connect(config) {
  const api = await ApiPromise.create({ provider: new WsProvider(config.url), noInitWarn: true });
  const contracts = {};
  for (const name of NAMES) {
    const abi = await served(`./abi/${name}.json`,
      `Copy target/ink/${name}/${name}.json (from \`cargo contract build\`) into web/public/abi/.`);
    contracts[name] = new ContractPromise(api, abi, config.contracts[name].address);
  }
  return {
    api,
    config,
    registry: contracts.record_registry,
    consents: contracts.consent_manager,
    log: contracts.access_log,
  };
}

/** A refusal by the contract, with its typed error. */
export class Refused extends Error {
  constructor(name) {
    super(errorInWords(name));
    this.errorName = name;
  }
}

function queryOptions(api) {
  return {
    gasLimit: api.registry.createType('WeightV2', { refTime: 1_000_000_000_000n, proofSize: 10_000_000n }),
    storageDepositLimit: null,
  };
}

/** A read (dry run) as `caller`; returns the message's value as a codec. */
export async function read(sys, contract, message, caller, ...args) {
  const { result, output } = await contract.query[message](caller, queryOptions(sys.api), ...args);
  if (result.isErr || !output || output.isErr) {
    throw new Error(`${message}: the node could not run the query`);
  }
  return output.asOk;
}

/** Dry-runs `message`; if the contract would refuse, throws Refused without a fee. */
async function dryRun(sys, contract, message, caller, args) {
  const dry = await contract.query[message](caller, queryOptions(sys.api), ...args);
  if (dry.result.isErr) {
    throw new Error(`${message}: the call would fail (${dry.result.asErr.toString()})`);
  }
  const value = dry.output.asOk;
  if (value.isErr) throw new Refused(value.asErr.type);
  return { dry, value: value.asOk };
}

/**
 * Sends `message` as `account`, signed by `signer` (the wallet), dry-run first. `onStatus`
 * hears "signing", then the transaction's statuses; resolves once its block is finalized
 * (what a key server acts on) with the message's return value and that block's hash
 * and number.
 */
export async function sendFinal(sys, contract, message, account, signer, args, onStatus) {
  const { value, blockHash } = await submit(sys, contract, message, account, signer, args, onStatus);
  const header = await sys.api.rpc.chain.getHeader(blockHash);
  return { value, blockHash, blockNumber: header.number.toNumber() };
}

async function submit(sys, contract, message, account, signer, args, onStatus) {
  const { dry, value } = await dryRun(sys, contract, message, account, args);
  const options = {
    gasLimit: dry.gasRequired,
    storageDepositLimit: dry.storageDeposit.isCharge ? dry.storageDeposit.asCharge : null,
  };
  onStatus('signing');
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    contract.tx[message](options, ...args)
      .signAndSend(account, { signer }, (result) => {
        onStatus(result.status.type);
        if (result.status.isDropped || result.status.isInvalid || result.status.isUsurped
          || result.status.isFinalityTimeout) {
          unsubscribe();
          reject(new Error(result.status.isFinalityTimeout
            ? 'its block was not finalized in time; it may still be: reload and check before doing it again'
            : `the node reports the transaction ${result.status.type.toLowerCase()}; it may not have been done: reload and check before doing it again`));
          return;
        }
        if (result.dispatchError) {
          unsubscribe();
          const error = result.dispatchError;
          const text = error.isModule
            ? (({ section, name }) => `${section}.${name}`)(sys.api.registry.findMetaError(error.asModule))
            : error.toString();
          reject(new Error(`The chain refused the transaction: ${text}`));
        } else if (result.status.isFinalized) {
          unsubscribe();
          resolve({ value, blockHash: result.status.asFinalized });
        }
      })
      .then((u) => { unsubscribe = u; })
      .catch((e) => reject(e.message?.includes('Cancelled') ? new Error('You declined to sign.') : e));
  });
}

/** Every item of a paged list query (`limit` at most the configured page size). */
export async function readAll(sys, contract, message, caller, patient, total) {
  const items = [];
  while (items.length < total) {
    const page = await read(sys, contract, message, caller, patient, items.length, sys.config.page_size);
    if (page.length === 0) break;
    items.push(...page);
  }
  return items;
}

/** The chain's time (ms) at its newest block: what a key server checks a deadline against. */
export async function chainNow(sys) {
  return Number((await sys.api.query.timestamp.now()).toString());
}

/** A signed request's deadline, from the chain's time when it is made (see rawSigner). */
export const deadline = (sys, lifetime) => async () => (await chainNow(sys)) + lifetime;

/**
 * A wallet's raw signature of `bytes` (it wraps them in <Bytes>…</Bytes>), one request
 * at a time: records opened together ask in turn, so a real wallet shows one prompt
 * after another rather than a pile at once.
 */
export function rawSigner(signer, account) {
  let queue = Promise.resolve();
  // `what` is the bytes, or a function making them when their prompt comes (a request's
  // deadline then counts from the moment it is shown, not from when it was queued).
  return (what) => {
    const signed = queue.then(async () => {
      const bytes = typeof what === 'function' ? await what() : what;
      let signature;
      try {
        ({ signature } = await signer.signRaw({ address: account, data: u8aToHex(bytes), type: 'bytes' }));
      } catch (error) {
        throw String(error?.message).includes('Cancelled') ? new Error('You declined to sign.') : error;
      }
      return hexToU8a(signature);
    });
    queue = signed.catch(() => {});
    return signed;
  };
}

/**
 * An account as the chain writes it (SS58 in the chain's format), from any form a person
 * or a wallet gives (another network's SS58, 0x-hex): the pages compare accounts as
 * these strings, so every account typed or shared by a wallet goes through here.
 */
export function canonicalAccount(sys, text) {
  const bytes = decodeAddress(text);
  if (bytes.length !== 32) throw new Error(`${text}: not a 32-byte account`);
  return sys.api.createType('AccountId', bytes).toString();
}
