// TEST ONLY, never part of the page's build: stands in for a wallet extension with the
// well-known dev accounts (//Alice … //Ferdie), injected by the browser test before the
// page loads. It signs what the polkadot.js extension signs: extrinsic payloads, and
// raw bytes wrapped in <Bytes>…</Bytes>.
import { Keyring } from '@polkadot/keyring';
import { TypeRegistry } from '@polkadot/types';
import { hexToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

const pairs = cryptoWaitReady().then(() => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return NAMES.map((name) => ({ name, pair: keyring.addFromUri(`//${name}`) }));
});

async function pairOf(address) {
  const found = (await pairs).find(({ pair }) => pair.address === address);
  if (!found) throw new Error(`test signer: no key for ${address}`);
  return found.pair;
}

const accounts = async () =>
  (await pairs).map(({ name, pair }) => ({ address: pair.address, name, type: 'sr25519' }));

let requests = 0;
const injected = {
  accounts: {
    get: accounts,
    subscribe: (callback) => {
      accounts().then(callback);
      return () => {};
    },
  },
  signer: {
    async signPayload(payload) {
      const registry = new TypeRegistry();
      registry.setSignedExtensions(payload.signedExtensions);
      const extrinsic = registry.createType('ExtrinsicPayload', payload, { version: payload.version });
      const { signature } = extrinsic.sign(await pairOf(payload.address));
      requests += 1;
      window.medconsentTestSigner.payloadsSigned += 1;
      return { id: requests, signature };
    },
    async signRaw({ address, data }) {
      const signature = (await pairOf(address)).sign(u8aWrapBytes(hexToU8a(data)));
      requests += 1;
      window.medconsentTestSigner.rawSigned += 1;
      return { id: requests, signature: u8aToHex(signature) };
    },
  },
};

// How many raw signatures and transactions were signed: the browser test checks that a
// refusal signs nothing.
window.medconsentTestSigner = { rawSigned: 0, payloadsSigned: 0 };
window.injectedWeb3 = {
  ...(window.injectedWeb3 ?? {}),
  'medconsent-test-signer': { version: 'test', enable: async () => injected },
};
