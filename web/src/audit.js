import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aEq } from '@polkadot/util';

// Each entry's hash is blake2b-256(previous hash || SCALE(entry without its hash)); the
// hash is the entry's last field, so the body is its encoding minus the last 32 bytes.
const split = (entry) => {
  const encoded = entry.toU8a();
  return { body: encoded.subarray(0, encoded.length - 32), hash: encoded.subarray(encoded.length - 32) };
};

/**
 * A patient's trail read from the head backwards, a page at a time, each page verified
 * against what is already trusted: the head's hash first, then, page by page, the
 * previous hash each verified entry vouches for. Every entry shown has been checked to
 * lead, link by link, to the on-chain head.
 */
export class AuditTrail {
  /** `pageSize`: the most entries a query returns (config.json's `page_size`, MAX_PAGE on chain). */
  constructor(length, headHash, pageSize) {
    this.length = length;
    this.pageSize = pageSize;
    this.head = headHash;
    /** Entries from `oldest` to the head are shown and verified. */
    this.oldest = length;
    /** The hash entry `oldest - 1` must have. */
    this.trusted = headHash;
    this.brokenAt = null;
  }

  /**
   * Reads the page before `oldest` with `fetch(start, limit)` (one query: the page and
   * the entry just before it, whose hash the page's first entry chains from) and returns
   * the verified entries, newest first.
   */
  async older(fetch) {
    if (this.oldest === 0 || this.brokenAt !== null) return [];
    const from = Math.max(0, this.oldest - this.pageSize);
    const fetched = await fetch(from, this.oldest - from);
    // With `from > 0`, the first fetched entry only lends its hash to the next one.
    const lowest = from === 0 ? 0 : from + 1;
    const shown = [];
    for (let seq = this.oldest - 1; seq >= lowest; seq--) {
      const entry = fetched[seq - from];
      if (!entry || (seq > 0 && !fetched[seq - from - 1])) {
        this.brokenAt = seq; // the node returned fewer entries than the head says
        return shown;
      }
      const { body, hash } = split(entry);
      const previous = seq === 0 ? new Uint8Array(32) : split(fetched[seq - from - 1]).hash;
      if (entry.seq.toNumber() !== seq || !u8aEq(hash, this.trusted)
        || !u8aEq(blake2AsU8a(u8aConcat(previous, body), 256), hash)) {
        this.brokenAt = seq;
        return shown;
      }
      shown.push(entry);
      this.trusted = previous;
      this.oldest = seq;
    }
    return shown;
  }
}
