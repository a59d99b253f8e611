#!/usr/bin/env bash
# The browser test of the patient page: starts (or reuses) a local node, deploys fresh
# contracts (scripts/deploy.sh --no-build: run the release builds first), registers Dave
# as a provider with the medconsent command, builds the page and the test-only signer, and runs
# test/browser.mjs in headless Chromium. The screenshot lands in web/test/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
URL=ws://127.0.0.1:9944
DAVE=5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy
WORK=$(mktemp -d)

node_was_up=0
curl -sf -m 2 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' http://127.0.0.1:9944 >/dev/null 2>&1 &&
  node_was_up=1
stop_node() { [ "$node_was_up" = 1 ] || bash "$ROOT/scripts/node.sh" --stop >/dev/null; }
trap stop_node EXIT

bash scripts/node.sh
bash scripts/deploy.sh --url "$URL" --no-build >"$WORK/deployment.json"
MEDCONSENT="${CARGO_TARGET_DIR:-target}/debug/medconsent"
echo "==> Dave is a clinician (Bob's record is registered by test/browser.mjs)"
"$MEDCONSENT" admin register --deployment "$WORK/deployment.json" --suri //Alice --account "$DAVE" \
  --roles clinician --public-key "0x$(printf 'd0%.0s' {1..32})" --name "Dr Dave Smith" >/dev/null

echo "==> the page's configuration and the contracts' metadata"
mkdir -p web/public/abi
"$MEDCONSENT" deployment web-config --deployment "$WORK/deployment.json" \
  --out web/public/config.json >/dev/null
for c in access_log consent_manager record_registry; do
  cp "target/ink/$c/$c.json" web/public/abi/
done

cd web
# `npm install`, not `npm ci`: this machine's npm writes a lock without other platforms'
# optional rollup packages, which `npm ci` then refuses; the lock still pins every version.
[ -d node_modules ] || npm install --no-audit --no-fund
npx vite build --logLevel error
npx vite build --config test/signer.vite.config.js --logLevel error
node test/browser.mjs
