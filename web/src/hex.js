// 0x-hex, as the key servers, the chain and key files write bytes: one pair of helpers
// for the whole page.

export const toHex = (bytes) => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;

/** The bytes of 0x-hex (the prefix optional); `length`, when given, is enforced. */
export function fromHex(text, length = null, what = 'value') {
  const clean = String(text).trim().replace(/^0x/, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean) || (length !== null && clean.length !== length * 2)) {
    throw new TypeError(`${what}: ${length === null ? '' : `${length} bytes of `}hex expected`);
  }
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
