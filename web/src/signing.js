// The bytes a patient's wallet signs for a relayed consent, built here from what the
// patient entered, with the contract's own metadata for the SCALE encoding: the page
// never signs bytes it did not build (a lying node could hand it a grant to itself).
// Layout (contracts/shared/src/signed.rs): <Bytes> ++ tag ++ SCALE(contract, genesis
// hash, patient, action, nonce, deadline) ++ </Bytes>; the known-answer vector in
// docs/signed-consent-vector.json pins it for the contract, this module and Rust.
import { bnToU8a, hexToU8a, stringToU8a, u8aConcat } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { ACTIONS, PURPOSES } from './words.js';

export const OPEN = stringToU8a('<Bytes>');
export const CLOSE = stringToU8a('</Bytes>');
export const TAG = stringToU8a('medconsent:signed-consent:v1');

const u64 = (value) => bnToU8a(BigInt(value), { bitLength: 64, isLe: true });

/** SCALE of a SignedAction, with the type the contract's metadata gives it. */
function encodeAction(abi, action) {
  const message = abi.messages.find((m) => m.method === 'signingMessage');
  const type = message.args[1].type;
  return abi.registry.createType(type.lookupName || type.type, action).toU8a();
}

/**
 * The complete message, `<Bytes>` and `</Bytes>` included, for `action` (a SignedAction
 * as the page passes it to the contract: `{ Grant: { grantee, terms } }`).
 */
export function signingMessage(abi, { contract, genesisHash, patient, action, nonce, deadline }) {
  return u8aConcat(
    OPEN,
    TAG,
    decodeAddress(contract),
    hexToU8a(genesisHash),
    decodeAddress(patient),
    encodeAction(abi, action),
    u64(nonce),
    u64(deadline),
    CLOSE,
  );
}

/** A fresh 64-bit nonce (decimal string): any unused nonce is good, none blocks another. */
export function randomNonce() {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return ((BigInt(words[0]) << 32n) | BigInt(words[1])).toString();
}

const bitsInWords = (bits, names) => names.filter((_, i) => bits & (1 << i)).join(' and ') || 'nothing';

/**
 * What the patient is about to sign, in words; `words.who` names an account and
 * `words.category` a category code.
 */
export function grantInWords({ grantee, terms }, deadline, words = {}) {
  const { who: nameOf = (a) => a, category = (c) => `category ${c}` } = words;
  const who = grantee.Account ? nameOf(grantee.Account) : 'anyone';
  const verb = terms.decision === 'Deny' ? 'forbid' : 'allow';
  const scope = terms.scope === 'AllRecords' ? 'all your records'
    : terms.scope.Category !== undefined ? `your ${category(terms.scope.Category)} records`
      : `your record ${terms.scope.Record}`;
  const until = terms.validUntil ? `until ${new Date(terms.validUntil).toISOString()}` : 'until you revoke it';
  return `You ${verb} ${who} to ${bitsInWords(terms.actions, ACTIONS)} ${scope}, `
    + `for ${bitsInWords(terms.purposes, PURPOSES)}, ${until}. `
    + `Anyone holding this signature may submit it until ${new Date(deadline).toISOString()}.`;
}
