#!/usr/bin/env bash
# The browser test of the pages: starts (or reuses) a local node, deploys fresh
# contracts (scripts/deploy.sh --no-build: run the release builds first), registers Dave
# as a clinician and Ferdie as an emergency responder with the medconsent command,
# starts three key servers that answer the page's origin, has Bob put a lab report with
# the command (record 0, opened in the page), builds the pages and the test-only signer,
# and runs test/browser.mjs in headless Chromium. Screenshots land in web/test/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
URL=ws://127.0.0.1:9944
DAVE=5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy
FERDIE=5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL
WORK=$(mktemp -d)
export MEDCONSENT_WEB_PORT="${MEDCONSENT_WEB_PORT:-4173}"

node_was_up=0
curl -sf -m 2 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' http://127.0.0.1:9944 >/dev/null 2>&1 &&
  node_was_up=1
KS_PIDS=()
stop_all() {
  [ "${#KS_PIDS[@]}" = 0 ] || kill "${KS_PIDS[@]}" 2>/dev/null || true
  [ "$node_was_up" = 1 ] || bash "$ROOT/scripts/node.sh" --stop >/dev/null
}
trap stop_all EXIT

bash scripts/node.sh
bash scripts/deploy.sh --url "$URL" --no-build >"$WORK/deployment.json"
# MEDCONSENT_WEB_BENCH=1 (scripts/bench.sh --only web): release builds, 32 records, and
# test/bench.mjs instead of the browser test.
BENCH="${MEDCONSENT_WEB_BENCH:-0}"
if [ "$BENCH" = 1 ]; then PROFILE=release; else PROFILE=debug; fi
cargo build --quiet --profile "$([ "$PROFILE" = debug ] && echo dev || echo release)" \
  -p medconsent-client -p medconsent-keyserver
MEDCONSENT="${CARGO_TARGET_DIR:-target}/$PROFILE/medconsent"
KS="${CARGO_TARGET_DIR:-target}/$PROFILE/medconsent-keyserver"
MCD=(--deployment "$WORK/deployment.json")
echo "==> Dave is a clinician"
"$MEDCONSENT" admin register "${MCD[@]}" --suri //Alice --account "$DAVE" \
  --roles clinician --public-key "0x$(printf 'd0%.0s' {1..32})" --name "Dr Dave Smith" >/dev/null
echo "==> Ferdie is an emergency responder"
"$MEDCONSENT" admin register "${MCD[@]}" --suri //Alice --account "$FERDIE" \
  --roles emergency-responder --public-key "0x$(printf 'f0%.0s' {1..32})" --name "Paramedic Ferdie" >/dev/null

echo "==> three key servers (2 of 3 shares open a record), answering the page's origin"
# Their directory accounts never sign: plain 32-byte ids, no dev account the test uses.
for i in 0 1 2; do
  account="0x$(printf "5$((i + 1))%.0s" {1..32})"
  key=$("$KS" keygen --secret-out "$WORK/ks$i.sk" | cut -d= -f2)
  "$MEDCONSENT" admin register "${MCD[@]}" --suri //Alice --account "$account" --roles key-server \
    --public-key "$key" --name "Key server $((i + 1))" >/dev/null
  "$KS" serve --listen 127.0.0.1:0 --db "$WORK/ks$i.redb" --secret "$WORK/ks$i.sk" --account "$account" \
    "${MCD[@]}" --node "$URL" --allow-origin "http://127.0.0.1:$MEDCONSENT_WEB_PORT" \
    >"$WORK/ks$i.out" 2>"$WORK/ks$i.log" &
  KS_PIDS+=($!)
  for _ in $(seq 1 100); do grep -q '^listening=' "$WORK/ks$i.out" && break; sleep 0.1; done
  address=$(grep '^listening=' "$WORK/ks$i.out" | cut -d= -f2)
  [ -n "$address" ] || { cat "$WORK/ks$i.log"; exit 1; }
  "$MEDCONSENT" deployment add-key-server "${MCD[@]}" --account "$account" --url "http://$address" \
    --public-key "$key" >/dev/null
done
"$MEDCONSENT" deployment threshold "${MCD[@]}" 2 >/dev/null

echo "==> Bob puts a lab report with the command (record 0)"
export MEDCONSENT_REPORT="$WORK/report.txt"
printf 'Synthetic lab report for the browser test: potassium 4.2 mmol/L, no real patient.\n' >"$MEDCONSENT_REPORT"
"$MEDCONSENT" keygen --secret-out "$WORK/bob.sk" >/dev/null
"$MEDCONSENT" put "${MCD[@]}" --suri //Bob --secret "$WORK/bob.sk" --in "$MEDCONSENT_REPORT" \
  --category lab-results --store "$WORK/bob" >/dev/null

if [ "$BENCH" = 1 ]; then
  echo "==> 31 more of Bob's records, read access for Dave, Dave's key as a command-line key file"
  for i in $(seq 1 31); do
    printf 'Synthetic record %d for the page benchmark, no real patient.\n' "$i" >"$WORK/r$i.txt"
    "$MEDCONSENT" put "${MCD[@]}" --suri //Bob --secret "$WORK/bob.sk" --in "$WORK/r$i.txt" \
      --category lab-results --store "$WORK/bob" >/dev/null
  done
  "$MEDCONSENT" grant "${MCD[@]}" --suri //Bob --to "Dr Dave Smith" --scope all --actions read \
    --purposes treat >/dev/null
  "$MEDCONSENT" keygen --secret-out "$WORK/dave.sk" >/dev/null
fi
# The tests run the command too (what the page leaves, the command reads).
MEDCONSENT_CLI="$(realpath "$MEDCONSENT")"
export MEDCONSENT_CLI MEDCONSENT_WORK="$WORK"

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
if [ "$BENCH" = 1 ]; then node test/bench.mjs; else node test/browser.mjs; fi
