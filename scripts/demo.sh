#!/usr/bin/env bash
# The whole story on a local chain: a node, the three contracts, a sealed record, a
# consent, an access, a revocation, a denial, and the audit trail with its hash chain
# checked. Dev accounts stand in for wallets: //Alice is the admin, //Bob the patient,
# //Dave a clinician. Exits non-zero as soon as an outcome differs from the story.
#
#   scripts/demo.sh [--url ws://127.0.0.1:9944] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
URL=ws://127.0.0.1:9944
deploy_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --no-build) deploy_args+=(--no-build); shift ;;
    *) echo "usage: scripts/demo.sh [--url WS_URL] [--no-build]" >&2; exit 2 ;;
  esac
done

BOB=5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
DAVE=5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy
LABS=3
WORK=$(mktemp -d)
STORE="$WORK/store"
step=0

say() { step=$((step + 1)); printf '\n%d. %s\n' "$step" "$*"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
# call CONTRACT MESSAGE SURI [--execute] ARGS...: the message's value as JSON.
call() {
  local c=$1 message=$2 suri=$3
  shift 3
  python3 scripts/lib/contract.py call "target/ink/$c/$c.contract" "${ADDR[$c]}" "$message" "$suri" "$URL" "$@"
}
expect() { # what, actual, expected
  [ "$2" = "$3" ] || fail "$1: expected $3, got $2"
  echo "   ok: $1"
}

# shellcheck source=lib/ensure-tools.sh
source scripts/lib/ensure-tools.sh
ensure_tools || fail "setup (scripts/setup.sh) did not complete"

if [[ "$URL" == ws://127.0.0.1:9944 || "$URL" == ws://localhost:9944 ]]; then
  say "Starting (or reusing) a local substrate-contracts-node"
  bash scripts/node.sh
fi

say "Deploying and wiring the three contracts"
bash scripts/deploy.sh --url "$URL" "${deploy_args[@]}" >"$WORK/deployment.json"
declare -A ADDR
for c in access_log consent_manager record_registry; do
  ADDR[$c]=$(field "d['contracts']['$c']['address']" <"$WORK/deployment.json")
  echo "   $c at ${ADDR[$c]}"
done

say "Building the off-chain client and making X25519 keys for the patient and the doctor"
cargo build --quiet -p medconsent-client
MC=target/debug/medconsent
PATIENT_PK=$($MC keygen --secret-out "$WORK/patient.sk" | cut -d= -f2)
DOCTOR_PK=$($MC keygen --secret-out "$WORK/doctor.sk" | cut -d= -f2)
echo "   doctor's public key $DOCTOR_PK"

say "The admin registers Dave in the provider directory as a clinician, with his public key"
call consent_manager register_provider //Alice --execute "$DAVE" "RoleSet(1)" "$DOCTOR_PK" >/dev/null
published=$(call consent_manager provider //Alice "$DAVE" | field "'0x' + bytes(d['values'][0]['public_key']).hex()")
expect "the directory publishes Dave's key" "$published" "$DOCTOR_PK"

say "Bob seals a lab report off-chain (random key, record id and version bound in)"
RECORD=$(call record_registry next_record_id //Alice)
printf 'Synthetic lab report for the demo: haemoglobin 14.1 g/dL, no real patient.\n' >"$WORK/report.txt"
$MC seal --in "$WORK/report.txt" --store "$STORE" --record-id "$RECORD" --version 1 \
  --to "$PATIENT_PK" --to "$DOCTOR_PK" | tee "$WORK/seal.out" | sed 's/^/   /'
HASH=$(grep content_hash "$WORK/seal.out" | cut -d= -f2)
CID=$(grep cid "$WORK/seal.out" | cut -d= -f2)
LOCATOR=0x$(printf '%s' "$CID" | od -An -tx1 | tr -d ' \n')

say "Bob registers the record's hash and locator on chain (no content, no key)"
call record_registry register_record //Bob --execute "$BOB" "$RECORD" "$LABS" "$HASH" "$LOCATOR" PatientRequest >/dev/null
stored=$(call record_registry record //Alice "$RECORD" | field "'0x' + bytes(d['values'][0]['content_hash']).hex()")
expect "record $RECORD holds the ciphertext hash" "$stored" "$HASH"

say "Bob grants Dave Read access to all his records for treatment (TREAT)"
terms="ConsentTerms { decision: Permit, scope: AllRecords, actions: ActionSet(1), purposes: PurposeSet(1), valid_from: 0, valid_until: None }"
CONSENT=$(call consent_manager grant //Bob "$BOB" "Account($DAVE)" "$terms" | field "d['values'][0]")
call consent_manager grant //Bob --execute "$BOB" "Account($DAVE)" "$terms" >/dev/null
echo "   consent $CONSENT granted"

say "Dave asks the registry for the record for treatment"
release=$(call record_registry access_record //Dave "$RECORD" Treat)
expect "the consent manager permits" "$(echo "$release" | field "d['values'][0]['variant']")" Released
call record_registry access_record //Dave --execute "$RECORD" Treat >/dev/null
released_hash=$(echo "$release" | field "'0x' + bytes(d['values'][0]['values'][0]['content_hash']).hex()")
released_locator=$(echo "$release" | field "bytes(d['values'][0]['values'][0]['locator']).decode()")
echo "   released: hash $released_hash, locator $released_locator"

say "Dave fetches the ciphertext by its locator, checks it against the chain and decrypts it"
$MC open --store "$STORE" --hash "$released_hash" --secret "$WORK/doctor.sk" \
  --record-id "$RECORD" --version 1 --out "$WORK/opened.txt" | sed 's/^/   /'
cmp -s "$WORK/report.txt" "$WORK/opened.txt" || fail "the decrypted report differs from the original"
echo "   ok: Dave reads: $(cat "$WORK/opened.txt")"

say "Bob revokes the consent"
call consent_manager revoke //Bob --execute "$BOB" "$CONSENT" >/dev/null
status=$(call consent_manager consent //Alice "$BOB" "$CONSENT" | field "d['values'][0]['status']['variant']")
expect "consent $CONSENT is revoked (and kept in the history)" "$status" Revoked

say "Dave asks again"
denied=$(call record_registry access_record //Dave "$RECORD" Treat |
  field "d['values'][0]['variant'] + ' ' + d['values'][0]['values'][0]['variant']")
expect "the access is denied" "$denied" "Denied NoConsent"
call record_registry access_record //Dave --execute "$RECORD" Treat >/dev/null
echo "   the denial is logged too"

say "Bob's audit trail, with its hash chain recomputed off-chain"
python3 scripts/lib/contract.py audit target/ink/access_log/access_log.contract \
  "${ADDR[access_log]}" "$BOB" "$URL" || fail "the audit trail does not verify"

printf '\nThe story holds: every step did what it should.\n'
