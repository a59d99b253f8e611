#!/usr/bin/env bash
# Builds the three contracts in release mode, uploads each one's full code and
# instantiates its front on it with cargo-contract (see contracts/shared/src/split.rs),
# wires them (the log's writers; the registry's and consent manager's
# peers), and writes deployments/<chain>.json with code hashes and addresses through
# `medconsent deployment new` (the file's one definition; schema in docs/deployment.md).
# Key servers are added to it with `medconsent deployment add-key-server`.
# Safe to rerun: code already on chain is not an error; each run makes a new deployment.
# --change-delay-ms fixes, for good, how long every later rewiring or code upgrade waits
# after its announcement (default 48 hours); the first wiring applies at once.
#
#   scripts/deploy.sh [--url ws://127.0.0.1:9944] [--suri //Alice] [--no-build]
#                     [--change-delay-ms MS] [--out FILE]
# --out writes the deployment file elsewhere (tests use a scratch one). MEDCONSENT_BIN
# names a built `medconsent` to use; otherwise it is built (cargo build -p medconsent-client).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
URL=ws://127.0.0.1:9944
SURI=//Alice
BUILD=1
DELAY_MS=$((48 * 3600 * 1000))
OUT=
CONTRACTS=(access_log consent_manager record_registry)

while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --suri) SURI=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --change-delay-ms) DELAY_MS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: scripts/deploy.sh [--url WS_URL] [--suri SURI] [--no-build] [--change-delay-ms MS] [--out FILE]" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }
artifact() { echo "target/ink/$1/$1.contract"; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# The chain's name (system_chain over the HTTP port of the same endpoint) names the file.
http_url=$(echo "$URL" | sed -E 's#^ws(s?)://#http\1://#')
chain=$(curl -sf -m 5 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"system_chain","params":[]}' "$http_url" |
  json_field result | tr 'A-Z ' 'a-z-') || { echo "no node answers at $URL" >&2; exit 1; }
# Signed consents are bound to the chain by its genesis hash, which a contract cannot read.
genesis=$(curl -sf -m 5 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"chain_getBlockHash","params":[0]}' "$http_url" |
  json_field result)

if [ "$BUILD" = 1 ]; then
  die() { echo "FAILED: $*" >&2; exit 1; }
  CACHE_TARGET="${MEDCONSENT_CACHE_DIR:-$HOME/.cache/medconsent}/target"
  # shellcheck source=lib/release.sh
  source scripts/lib/release.sh
  say "building the contracts (release)"
  build_release_contracts >&2
fi

# The command that writes the deployment file, built before anything goes on chain.
if [ -z "${MEDCONSENT_BIN:-}" ]; then
  say "building the medconsent command"
  cargo build --quiet -p medconsent-client >&2
  MEDCONSENT_BIN=${CARGO_TARGET_DIR:-target}/debug/medconsent
fi

upload() { # contract -> its code hash
  local out hash
  [ -s "$(artifact "$1")" ] || { echo "$(artifact "$1") missing: build first" >&2; exit 1; }
  say "uploading $1"
  if out=$(cargo contract upload --url "$URL" --suri "$SURI" -x --output-json "$(artifact "$1")" 2>&1); then
    echo "$out" | json_field code_hash
  elif hash=$(echo "$out" | grep -Eo 'already been uploaded with code hash: 0x[0-9a-f]{64}' | grep -Eo '0x[0-9a-f]{64}'); then
    say "  already on chain"
    echo "$hash"
  else
    echo "$out" >&2; exit 1
  fi
}

declare -A CODE FULL ADDR
for c in "${CONTRACTS[@]}"; do
  FULL[$c]=$(upload "${c}_full")
  CODE[$c]=$(upload "$c")
  say "instantiating $c"
  salt=0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  # After the artifact: --args takes every word after it.
  args=(--args "$DELAY_MS" "${FULL[$c]}")
  [ "$c" = consent_manager ] && args=(--args "$genesis" "$DELAY_MS" "${FULL[$c]}")
  ADDR[$c]=$(cargo contract instantiate --url "$URL" --suri "$SURI" -x -y --output-json \
    --salt "$salt" "$(artifact "$c")" "${args[@]}" 2>/dev/null | json_field contract)
  say "  $c at ${ADDR[$c]}"
done

call() { # contract message args...
  local c=$1 message=$2
  shift 2
  say "wiring: $c.$message $*"
  # The artifact goes first: --args takes every word after it.
  cargo contract call "$(artifact "$c")" --url "$URL" --suri "$SURI" -x -y --output-json \
    --contract "${ADDR[$c]}" --message "$message" --args "$@" >/dev/null
}
# The first wiring of a fresh deployment applies at once; later ones wait the delay.
call access_log schedule_change "Peers(${ADDR[record_registry]}, ${ADDR[consent_manager]})"
call record_registry schedule_change "Peers(${ADDR[consent_manager]}, ${ADDR[access_log]})"
call consent_manager schedule_change "Peers(${ADDR[record_registry]}, ${ADDR[access_log]})"

out=${OUT:-deployments/$chain.json}
deployed() { echo "${ADDR[$1]},${CODE[$1]},${FULL[$1]}"; }
"$MEDCONSENT_BIN" deployment new --out "$out" --url "$URL" --chain "$chain" \
  --genesis-hash "$genesis" --change-delay-ms "$DELAY_MS" \
  --access-log "$(deployed access_log)" --consent-manager "$(deployed consent_manager)" \
  --record-registry "$(deployed record_registry)" >/dev/null
say "wrote $out"
cat "$out"
