// The break-glass budget as the record registry counts it (its windows, from the
// configuration, made from the contracts' constants): a window of `window_ms` opens at
// the first read after the last window closed and allows `per_window` reads.

/** Reads left at `now`, from this responder's earlier ones of the patient (`times`, ms, oldest first). */
export function remainingBudget(times, now, { per_window: max, window_ms: window }) {
  let open = null;
  for (const at of times) {
    open = open !== null && at < open.start + window ? { start: open.start, used: open.used + 1 } : { start: at, used: 1 };
  }
  return open !== null && now < open.start + window ? Math.max(0, max - open.used) : max;
}
