// The page's break-glass budget follows the registry's windows: the cases of the Rust
// client's own test (client/src/flow/emergency.rs), with the contracts' constants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remainingBudget } from '../src/emergency.js';

const HOUR = 3_600_000;
const budget = { per_window: 5, window_ms: 24 * HOUR };
const left = (times, now) => remainingBudget(times, now, budget);

test('the budget follows the registry windows', () => {
  assert.equal(left([], 10 * HOUR), 5);
  assert.equal(left([HOUR], 2 * HOUR), 4);
  const five = [1, 2, 3, 4, 5].map((h) => h * HOUR);
  assert.equal(left(five, 6 * HOUR), 0);
  assert.equal(left(five, 25 * HOUR - 1), 0);
  assert.equal(left(five, 25 * HOUR), 5);
  const later = [HOUR, 2 * HOUR, 26 * HOUR];
  assert.equal(left(later, 27 * HOUR), 4);
  assert.equal(left(later, 49 * HOUR), 4);
  assert.equal(left(later, 50 * HOUR), 5);
});
