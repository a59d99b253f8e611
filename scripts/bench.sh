#!/usr/bin/env bash
# Benchmarks the release builds of the three contracts on substrate-contracts-node and
# writes BENCHMARKS.md: code size, weight and storage deposit of every state-changing
# message, cost against a patient's history (1, 100, 1,000), operations per block; then
# the key servers (release build) against a node of their own: release latency, releases
# per second, a full 2-of-3 get, storage per share (the "Key release" section); then a
# 10,000-entry trail exported as FHIR and searched over the FHIR REST API (the "FHIR"
# section); the pages' bundle size and a 32-record chart opened in the clinician page
# against the command line (the "Page" section).
#   scripts/bench.sh [--no-build] [--only contracts|keys|fhir|web]
#     --no-build  reuse ./target/ink from the last contract build
#     --only      run one part; "keys", "fhir" and "web" rewrite only their own section
# The contract figures are deterministic weights: rerunning on unchanged code gives the
# same tables. The key-release figures are wall-clock timings and vary between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
CACHE_TARGET="${MEDCONSENT_CACHE_DIR:-$HOME/.cache/medconsent}/target"
BUILD=1
ONLY=all
usage() { echo "usage: scripts/bench.sh [--no-build] [--only contracts|keys|fhir|web]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --only) [ $# -ge 2 ] || usage; ONLY=$2; shift ;;
    *) usage ;;
  esac
  shift
done
case "$ONLY" in all | contracts | keys | fhir | web) ;; *) usage ;; esac

die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/release.sh
source scripts/lib/release.sh

command -v substrate-contracts-node >/dev/null || die "substrate-contracts-node missing: run scripts/setup.sh"
start=$SECONDS
if [ "$BUILD" = 1 ]; then
  printf '==> release builds\n'
  build_release_contracts
fi

if [ "$ONLY" = all ] || [ "$ONLY" = contracts ]; then
  printf '==> what each feature costs in the fronts (code-only builds of variants)\n'
  prices=$(mktemp)
  python3 scripts/lib/feature_prices.py "$CACHE_TARGET/feature-prices" >"$prices" ||
    die "feature prices (scripts/lib/feature_prices.py)"

  printf '==> benchmark on a fresh substrate-contracts-node (about 2,100 transactions)\n'
  CONTRACTS_NODE=$(command -v substrate-contracts-node) MEDCONSENT_FEATURE_PRICES="$prices" \
    MEDCONSENT_BENCH_OUT="$PWD/BENCHMARKS.md" RUST_LOG="${RUST_LOG:-ink_e2e=off}" \
    CARGO_TARGET_DIR="$CACHE_TARGET" \
    cargo test -p medconsent-e2e --features e2e-tests bench::benchmark -- \
    --ignored --exact --test-threads=1 --nocapture
fi

if [ "$ONLY" != contracts ]; then
  [ -f target/ink/record_registry/record_registry.contract ] ||
    die "no contract artifacts in target/ink: run without --no-build first"
  # deploy.sh, run by the suite, writes the deployment file with the medconsent command.
  CARGO_TARGET_DIR="$CACHE_TARGET" cargo build --quiet --release -p medconsent-client \
    -p medconsent-fhir-server
fi
# The key servers' release build; their own node, deploy.sh, three server processes.
for part in keys fhir; do
  [ "$ONLY" = all ] || [ "$ONLY" = "$part" ] || continue
  if [ "$part" = keys ]; then
    printf '==> key release: three key-server processes (release build) on their own node\n'
    flag=--bench
  else
    printf '==> FHIR: a 10,000-entry trail exported and searched, on its own node\n'
    flag=--bench-fhir
  fi
  CONTRACTS_NODE=$(command -v substrate-contracts-node) MEDCONSENT_BENCH_OUT="$PWD/BENCHMARKS.md" \
    CARGO_TARGET_DIR="$CACHE_TARGET" \
    cargo test --release -p medconsent-keyserver --test release -- "$flag"
done
if [ "$ONLY" = all ] || [ "$ONLY" = web ]; then
  printf '==> the pages: bundle size, and a 32-record chart in the clinician page against the command\n'
  # Its own node on 9944 (the browser test's setup), release builds of the command and servers.
  MEDCONSENT_WEB_BENCH=1 MEDCONSENT_BENCH_OUT="$PWD/BENCHMARKS.md" CARGO_TARGET_DIR="$CACHE_TARGET" \
    bash web/test/run.sh
fi
printf '\nwrote BENCHMARKS.md in %d s\n' "$((SECONDS - start))"
