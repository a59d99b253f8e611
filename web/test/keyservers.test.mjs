// How the page gathers key shares (web/src/keyservers.js sharesUntilOpen), with stand-in
// servers: the threshold asked first, one more for each failure, a hostile server's
// well-formed wrong share found out and named, never a wrong result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharesUntilOpen } from '../src/keyservers.js';
import { combine, randomBytes, split } from '../src/sealing.js';

const key = randomBytes(32);
const servers = ['key server 1', 'key server 2', 'key server 3'].map((name) => ({ name }));
const opens = (candidate) => (candidate.every((b, i) => b === key[i]) ? 'opened' : null);

/** Stand-in servers: `behaviour[i]` is 'good', 'down' or 'liar' (a share of another value). */
function run(behaviour) {
  const shares = split(key, 2, 3);
  const asked = [];
  const ask = async (server) => {
    const i = servers.indexOf(server);
    asked.push(i);
    if (behaviour[i] === 'down') throw new Error(`${server.name}: did not answer`);
    const value = behaviour[i] === 'liar' ? randomBytes(32) : shares[i].value;
    return { server: server.name, index: shares[i].index, value };
  };
  const signed = [];
  return {
    asked, signed,
    result: sharesUntilOpen(servers, 2, async (server) => { signed.push(server.name); return 'sig'; }, ask, opens, () => {}),
  };
}

test('two good servers: two signatures, two requests', async () => {
  const { result, signed } = run(['good', 'good', 'good']);
  assert.deepEqual(await result, { result: 'opened', failures: [] });
  assert.equal(signed.length, 2);
});

test('a server down: the next one is asked, and the one down is named', async () => {
  const { result, asked } = run(['down', 'good', 'good']);
  const { failures } = await result;
  assert.deepEqual(asked, [0, 1, 2]);
  assert.deepEqual(failures, ['key server 1: did not answer']);
});

test('a lying server: its share does not fit; the others open it and the liar is named', async () => {
  const { result } = run(['liar', 'good', 'good']);
  const { result: opened, failures } = await result;
  assert.equal(opened, 'opened');
  assert.deepEqual(failures, ['key server 1: sent a share that does not fit the others (a lying server?)']);
});

test('two liars: refused, never a wrong result', async () => {
  await assert.rejects(run(['liar', 'liar', 'good']).result, /do not open it together: a key server is lying/);
  await assert.rejects(run(['liar', 'down', 'down']).result, /only 1 of 3 key servers released a share, 2 needed/);
});

test('the combined key of the first two shares is the key (the stand-ins are honest)', () => {
  const shares = split(key, 2, 3);
  assert.deepEqual(combine([shares[0], shares[2]], 2), key);
});
