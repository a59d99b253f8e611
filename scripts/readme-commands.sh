#!/usr/bin/env bash
# Runs the README's commands verbatim, so the README cannot drift: every ```sh block
# that follows a `<!-- run: NAME -->` line, in the story's order (ORDER below), each with
# bash -e in one scratch folder that holds a fresh deployment at
# deployments/development.json, the files the story's people bring, and two more key
# servers (as two other operators would run them). `medconsent`, `medconsent-keyserver`
# and `medconsent-fhir-server` are built first and put on PATH.
#
#   scripts/readme-commands.sh [--url ws://127.0.0.1:9944]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
URL=ws://127.0.0.1:9944
[ "${1:-}" = --url ] && URL=$2
ORDER=(operator provider-keys admin patient clinician delegate responder patient-later integrator)
WORK=$(mktemp -d)
fail() { printf '\nREADME COMMANDS FAILED: %s\n' "$*" >&2; exit 1; }

# The block after `<!-- run: NAME -->`: the lines between its ```sh and its closing ```.
block() {
  awk -v name="$1" '
    $0 == "<!-- run: " name " -->" { armed = 1; next }
    armed && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' "$ROOT/README.md"
}

node_was_up=0
curl -sf -m 2 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' http://127.0.0.1:9944 >/dev/null 2>&1 &&
  node_was_up=1
SERVERS=()
cleanup() {
  kill "${SERVERS[@]}" 2>/dev/null || true
  # The operator's block started its server in the background.
  pkill -f "medconsent-keyserver serve --db ks1.redb" 2>/dev/null || true
  # The integrator's block started the FHIR API in the background.
  pkill -f "medconsent-fhir-server --deployment deployments/development.json" 2>/dev/null || true
  [ "$node_was_up" = 1 ] || bash "$ROOT/scripts/node.sh" --stop >/dev/null
}
trap cleanup EXIT

echo "==> building medconsent, medconsent-keyserver and medconsent-fhir-server"
cargo build --quiet -p medconsent-client -p medconsent-keyserver -p medconsent-fhir-server
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
export PATH="$BIN:$PATH"
[[ "$URL" == ws://127.0.0.1:9944 ]] && bash scripts/node.sh >/dev/null
mkdir -p "$WORK/deployments"
MEDCONSENT_BIN="$BIN/medconsent" bash scripts/deploy.sh --url "$URL" --no-build \
  --out "$WORK/deployments/development.json" >"$WORK/deploy.log" 2>&1 ||
  fail "deploy: $(tail -5 "$WORK/deploy.log")"
cd "$WORK"

echo "==> what the people in the story bring, and two more key servers"
printf 'Synthetic lab report, no real patient.\n' >report.pdf
printf 'Synthetic allergy list: penicillin, no real patient.\n' >allergies.txt
printf 'Synthetic result: potassium 4.1 mmol/L, no real patient.\n' >result.txt
for i in 2 3; do
  # Accounts that never sign: a key server's directory entry only names its key.
  account="0x$(printf "0$i%.0s" {1..32})"
  medconsent-keyserver keygen --secret-out "ks$i.sk" >"ks$i.pub"
  medconsent admin register --suri //Alice --account "$account" --roles key-server \
    --public-key "ks$i.pub" >/dev/null
  medconsent-keyserver serve --db "ks$i.redb" --secret "ks$i.sk" --account "$account" \
    --deployment deployments/development.json --listen 127.0.0.1:0 --node "$URL" \
    >"ks$i.out" 2>"ks$i.log" &
  SERVERS+=($!)
  for _ in $(seq 1 100); do grep -q '^listening=' "ks$i.out" && break; sleep 0.1; done
  address=$(sed -n 's/^listening=//p' "ks$i.out")
  [ -n "$address" ] || fail "key server $i did not start: $(cat "ks$i.log")"
  medconsent deployment add-key-server --account "$account" --url "http://$address" \
    --public-key "ks$i.pub" >/dev/null
done

for name in "${ORDER[@]}"; do
  commands=$(block "$name")
  [ -n "$commands" ] || fail "README.md has no block after <!-- run: $name -->"
  echo "==> README: $name"
  bash -euo pipefail -c "$commands" 2>&1 | sed 's/^/   /' || fail "the $name block"
  if [ "$name" = operator ]; then
    # Its server runs in the background: wait until it listens before anyone uses it.
    for _ in $(seq 1 100); do
      curl -sf -m 1 http://127.0.0.1:7101/v1/health >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
done
echo "==> every README block ran"
