// The provider directory as the pages read it: display names, and a provider's entry.
import { read } from './chain.js';

/** Every provider and key server with a display name (account -> name), paged. */
export async function readNames(sys, caller) {
  const found = new Map();
  for (let start = 0; ; start += sys.config.page_size) {
    const page = await read(sys, sys.consents, 'providers', caller, start, sys.config.page_size);
    for (const [address, , name] of page) {
      if (name.isSome) found.set(address.toString(), name.unwrap().toString());
    }
    if (page.length < sys.config.page_size) break;
  }
  return found;
}

/** Fills a <datalist> with the names, each showing its account. */
export function nameList(datalist, names) {
  datalist.replaceChildren(...[...names].map(([address, name]) => {
    const option = new Option(address, name);
    option.label = address;
    return option;
  }));
}

/**
 * The account `typed` names, as the chain writes accounts (`canonical` turns any
 * address form, SS58 of any network or 0x-hex, into it or throws): a provider's display
 * name (exactly one), or an account. `role` says in an error what was expected.
 */
export function accountNamed(typed, names, canonical, role = 'provider') {
  const text = typed.trim();
  const named = [...names].filter(([, name]) => name === text).map(([address]) => address);
  if (named.length > 1) throw new Error(`"${text}" names ${named.length} providers: type the account instead.`);
  if (named.length === 1) return named[0];
  try {
    return canonical(text);
  } catch {
    throw new Error(`"${text}" is neither a ${role}'s name in the directory nor an account.`);
  }
}
