#!/usr/bin/env bash
# Benchmarks the release builds of the three contracts on substrate-contracts-node and
# writes BENCHMARKS.md: code size, weight and storage deposit of every state-changing
# message, cost against a patient's history (1, 100, 1,000), operations per block.
#   scripts/bench.sh [--no-build]     (--no-build: reuse ./target/ink from the last build)
# The figures are deterministic weights: rerunning on unchanged code gives the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
CACHE_TARGET="${MEDCONSENT_CACHE_DIR:-$HOME/.cache/medconsent}/target"
BUILD=1
case "${1:-}" in
  --no-build) BUILD=0 ;;
  "") ;;
  *) echo "usage: scripts/bench.sh [--no-build]" >&2; exit 2 ;;
esac

die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/release.sh
source scripts/lib/release.sh

command -v substrate-contracts-node >/dev/null || die "substrate-contracts-node missing: run scripts/setup.sh"
start=$SECONDS
if [ "$BUILD" = 1 ]; then
  printf '==> release builds\n'
  build_release_contracts
fi

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
printf '\nwrote BENCHMARKS.md in %d s\n' "$((SECONDS - start))"
