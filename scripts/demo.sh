#!/usr/bin/env bash
# The whole story on a local chain: a node, the three contracts, three key servers, a
# sealed record whose key only the servers' shares rebuild, a doctor refused before the
# grant, a read after it, a key rotation, a refusal after the revoke, the record retired (every share
# deleted), and the audit trail with its hash chain checked. Dev accounts stand in for wallets: //Alice is the admin, //Bob the patient,
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
step=0

say() { step=$((step + 1)); printf '\n%d. %s\n' "$step" "$*"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
# value NAME FILE: the value of the `NAME=value` line the command printed.
value() { sed -n "s/^$1=//p" "$2" | head -n 1; }
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
echo "   addresses and code hashes pinned in the deployment file ($WORK/deployment.json)"

say "Building the client and the key server; X25519 keys for the patient, the doctor and three key servers"
cargo build --quiet -p medconsent-client -p medconsent-keyserver
MC=target/debug/medconsent
KS=target/debug/medconsent-keyserver
PATIENT_PK=$($MC keygen --secret-out "$WORK/patient.sk" | cut -d= -f2)
DOCTOR_PK=$($MC keygen --secret-out "$WORK/doctor.sk" | cut -d= -f2)
echo "   doctor's public key $DOCTOR_PK (the patient's, $PATIENT_PK, seals only Bob's own key copies)"

MCD=(--deployment "$WORK/deployment.json")
say "The admin registers three key servers and Dave (clinician and emergency responder) in the directory"
# The servers' directory accounts never sign: dev accounts //Charlie, //Eve, //Ferdie.
KS_ACCOUNTS=(5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y 5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw
  5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL)
KS_KEYS=()
for i in 0 1 2; do
  KS_KEYS+=("$($KS keygen --secret-out "$WORK/ks$i.sk" | cut -d= -f2)")
  $MC admin register "${MCD[@]}" --suri //Alice --account "${KS_ACCOUNTS[$i]}" --roles key-server \
    --public-key "${KS_KEYS[$i]}" --name "Key server $((i + 1))" | sed 's/^/   /'
done
$MC admin register "${MCD[@]}" --suri //Alice --account "$DAVE" --roles clinician,emergency-responder \
  --public-key "$DOCTOR_PK" --name "Dr Dave Smith" |
  sed 's/^/   /'
$MC provider "${MCD[@]}" --account "Dr Dave Smith" >"$WORK/dave.provider"
sed 's/^/   /' "$WORK/dave.provider"
grep -q "roles=clinician,emergency-responder status=active public_key=$DOCTOR_PK" "$WORK/dave.provider" ||
  fail "the directory does not publish Dave's key"
grep -q "^provider=Dr Dave Smith ($DAVE) " "$WORK/dave.provider" ||
  fail "the directory does not find Dave by his name"
echo "   ok: the directory publishes Dave's key and finds him by his name"

say "Starting the three key servers (2 of 3 shares open a record); the deployment lists them"
KS_PIDS=()
trap 'kill "${KS_PIDS[@]}" 2>/dev/null || true' EXIT
for i in 0 1 2; do
  $KS serve --listen 127.0.0.1:0 --db "$WORK/ks$i.redb" --secret "$WORK/ks$i.sk" \
    --account "${KS_ACCOUNTS[$i]}" --deployment "$WORK/deployment.json" --node "$URL" \
    >"$WORK/ks$i.out" 2>"$WORK/ks$i.log" &
  KS_PIDS+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 1 100); do grep -q '^listening=' "$WORK/ks$i.out" && break; sleep 0.1; done
  address=$(value listening "$WORK/ks$i.out")
  [ -n "$address" ] || fail "key server $i did not start: $(cat "$WORK/ks$i.log")"
  # The deployment lists the server in share order with the key its operator gave.
  $MC deployment add-key-server "${MCD[@]}" --account "${KS_ACCOUNTS[$i]}" \
    --url "http://$address" --public-key "${KS_KEYS[$i]}" >/dev/null
  echo "   key server $((i + 1)) at http://$address"
done
$MC deployment threshold "${MCD[@]}" 2 >/dev/null

say "Bob puts a lab report: sealed under a new key, ciphertext to the servers, hash on chain, one key share per server"
printf 'Synthetic lab report for the demo: haemoglobin 14.1 g/dL, no real patient.\n' >"$WORK/report.txt"
$MC put "${MCD[@]}" --suri //Bob --secret "$WORK/patient.sk" --in "$WORK/report.txt" \
  --category "$LABS" --store "$WORK/bob" | tee "$WORK/put.out" | sed 's/^/   /'
RECORD=$(grep '^record=' "$WORK/put.out" | cut -d= -f2)
HASH=$(grep content_hash "$WORK/put.out" | cut -d= -f2)
$MC record "${MCD[@]}" --record "$RECORD" >"$WORK/record.out"
expect "record $RECORD holds the ciphertext hash" "$(value content_hash "$WORK/record.out")" "$HASH"
expect "three shares deposited" "$(grep shares_deposited "$WORK/put.out" | cut -d= -f2)" 3
$MC shares "${MCD[@]}" --suri //Bob --record "$RECORD" >"$WORK/shares.out" || fail "shares: $(cat "$WORK/shares.out")"
expect "every server says it holds a share of version 1" "$(grep holding_current "$WORK/shares.out" | cut -d= -f2)" 3

# Dave's read that must fail: denied on chain (NoConsent), no plaintext written.
dave_denied() { # name, store, when
  if $MC get "${MCD[@]}" --suri //Dave --secret "$WORK/doctor.sk" --record "$RECORD" --store "$WORK/$2" \
    --out "$WORK/$1.txt" 2>"$WORK/$1.err"; then
    fail "Dave decrypted $3"
  fi
  sed 's/^/   /' "$WORK/$1.err"
  grep -q "no consent of the patient's permits it" "$WORK/$1.err" || fail "expected a no-consent denial"
  [ ! -e "$WORK/$1.txt" ] || fail "a plaintext was written $3"
  echo "   ok: no key, no plaintext; the denial is logged"
}

say "Dave tries to read before any consent: the access is denied and logged, no server releases a key"
dave_denied early dave "without consent"

say "Bob grants Dave Read access to all his records for treatment (TREAT)"
$MC grant "${MCD[@]}" --suri //Bob --to "Dr Dave Smith" --scope all --actions read --purposes treat |
  tee "$WORK/grant.out" | sed 's/^/   /'
CONSENT=$(value consent "$WORK/grant.out")

say "Dave reads: on-chain access (logged, finalized), two of three shares, ciphertext checked against the chain"
$MC get "${MCD[@]}" --suri //Dave --secret "$WORK/doctor.sk" --record "$RECORD" --store "$WORK/dave" \
  --out "$WORK/opened.txt" | sed 's/^/   /'
cmp -s "$WORK/report.txt" "$WORK/opened.txt" || fail "the decrypted report differs from the original"
echo "   ok: Dave reads: $(cat "$WORK/opened.txt")"

say "Bob adds two more records; Dave lists the chart his consents cover (a free check, nothing logged)"
printf 'Synthetic prescription: amoxicillin 500 mg, no real patient.\n' >"$WORK/rx.txt"
printf 'Synthetic imaging note: chest X-ray clear, no real patient.\n' >"$WORK/xray.txt"
for f in rx:prescriptions xray:imaging; do
  $MC put "${MCD[@]}" --suri //Bob --secret "$WORK/patient.sk" --in "$WORK/${f%%:*}.txt" \
    --category "${f#*:}" --store "$WORK/bob" | grep '^record=' | sed 's/^/   /'
done
$MC chart "${MCD[@]}" --suri //Dave --patient "$BOB" --purpose treat | tee "$WORK/chart.out" | sed 's/^/   /'
expect "three records covered" "$(value covered "$WORK/chart.out")" 3

say "Dave opens the whole chart: one on-chain access for the three records, one finality wait, shares in parallel"
$MC chart "${MCD[@]}" --suri //Dave --patient "$BOB" --open covered --secret "$WORK/doctor.sk" \
  --store "$WORK/dave" --folder "$WORK/chart" | tee "$WORK/opened-chart.out" | sed 's/^/   /'
expect "three records opened" "$(value opened_count "$WORK/opened-chart.out")" 3
cat "$WORK/report.txt" "$WORK/rx.txt" "$WORK/xray.txt" | cmp -s - <(cat "$WORK"/chart/record-*) ||
  fail "the chart's files differ from what Bob put"
echo "   ok: the three files are the exact bytes Bob put"

say "Bob rotates the record's key: a new version sealed under a new key, new shares; the servers drop the old ones"
$MC rotate "${MCD[@]}" --suri //Bob --secret "$WORK/patient.sk" --record "$RECORD" --store "$WORK/bob" |
  tee "$WORK/rotate.out" | sed 's/^/   /'
expect "the record is at version 2" "$(grep '^version=' "$WORK/rotate.out" | cut -d= -f2)" 2
expect "three servers took a share of it" "$(grep '^shares_deposited=' "$WORK/rotate.out" | cut -d= -f2)" 3

say "Bob revokes the consent"
# The revocation names the grantee and terms Bob was shown for that id.
$MC revoke "${MCD[@]}" --suri //Bob --consent "$CONSENT" --to "$DAVE" | sed 's/^/   /'
$MC consents "${MCD[@]}" --patient "$BOB" >"$WORK/consents.out"
sed 's/^/   /' "$WORK/consents.out"
grep -q "^consent=$CONSENT permit to=Dr Dave Smith ($DAVE) .* status=revoked " "$WORK/consents.out" ||
  fail "consent $CONSENT is not listed as revoked"
echo "   ok: consent $CONSENT is revoked (and kept in the history)"

say "Dave asks again: denied on chain, so no server releases a key"
dave_denied late dave2 "after the revoke"

say "An emergency: Dave breaks the glass with a written justification (its hash is logged, the text left sealed for Bob)"
$MC break-glass "${MCD[@]}" --suri //Dave --secret "$WORK/doctor.sk" --record "$RECORD" \
  --justification "Patient unconscious in the emergency room; allergy history needed." \
  --store "$WORK/dave3" --out "$WORK/emergency.txt" | tee "$WORK/glass.out" | sed 's/^/   /'
cmp -s "$WORK/report.txt" "$WORK/emergency.txt" || fail "the break-glass read differs"
expect "four break-glass reads left today" "$(value remaining_today "$WORK/glass.out")" 4

say "Bob reads the justification Dave left sealed at the key servers, checked against the logged hash (and a copy Dave gave him), and marks it justified"
printf 'Patient unconscious in the emergency room; allergy history needed.' >"$WORK/claimed.txt"
$MC emergencies "${MCD[@]}" --patient "$BOB" --check "$WORK/claimed.txt" \
  --salt "$(value justification_salt "$WORK/glass.out")" --texts --suri //Bob |
  tee "$WORK/glass-list.out" | sed 's/^/   /'
grep -q '^index=0 .* review=pending .* text=matches claimed="Patient unconscious in the emergency room; allergy history needed."$' \
  "$WORK/glass-list.out" || fail "the break-glass access is not listed as pending with the claimed text"
$MC review "${MCD[@]}" --suri //Bob --justified 0 | sed 's/^/   /'
# Into a file, not a pipe: grep -q would leave at its first match and cut the output off.
$MC emergencies "${MCD[@]}" --patient "$BOB" >"$WORK/glass-reviewed.out"
grep -q '^index=0 .* review=justified ' "$WORK/glass-reviewed.out" ||
  fail "the review did not land"
echo "   ok: reviewed"

say "Bob retires the record: every key server deletes its share, and Bob's client its own key copy (crypto-shredding)"
$MC retire "${MCD[@]}" --suri //Bob --record "$RECORD" --store "$WORK/bob" | tee "$WORK/retire.out" | sed 's/^/   /'
expect "three servers deleted a share" "$(grep -c '^deleted_at .*=1$' "$WORK/retire.out")" 3
expect "Bob's own key copies of both versions deleted" "$(grep -c '^own_key_copies_deleted=2$' "$WORK/retire.out")" 1
expect "only the other two records' key copies are left in Bob's store" "$(find "$WORK/bob" -name '*.owner' | wc -l)" 2
if $MC shares "${MCD[@]}" --suri //Bob --record "$RECORD" >"$WORK/shares.out" 2>"$WORK/shares.err"; then
  fail "shares still counts a readable record after the retirement"
fi
expect "no server holds a share" "$(grep holding_current "$WORK/shares.out" | cut -d= -f2)" 0
sed 's/^/   /' "$WORK/shares.err"

say "Bob's audit trail, with its hash chain recomputed off-chain"
$MC audit "${MCD[@]}" --patient "$BOB" >"$WORK/audit.out" 2>&1 ||
  fail "the audit trail does not verify: $(cat "$WORK/audit.out")"
sed 's/^/   /' "$WORK/audit.out"
grep -q '^verified=' "$WORK/audit.out" || fail "medconsent audit said nothing verified"

say "The accounting of disclosures: who read, was refused or broke the glass"
$MC disclosures "${MCD[@]}" --patient "$BOB" | tee "$WORK/disclosures.out" | sed 's/^/   /'
expect "two denials, four reads (one, then the chart of three) and one break-glass" \
  "$(grep -c ': denied: \|: access, \|: break-glass ' "$WORK/disclosures.out")" 7

printf '\nThe story holds: every step did what it should.\n'
