#!/usr/bin/env bash
# The one test command: format, lints, unit tests, release builds of the three
# contracts, the demo, the README's commands, the end-to-end suite against substrate-contracts-node, the load
# test, key release against real key-server processes, and the patient page in
# headless Chromium.
# Ends with one line: "tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
# Unit-test and e2e builds are cached outside the clone so CI reuses them; the release
# contract builds go to ./target/ink.
CACHE_TARGET="${MEDCONSENT_CACHE_DIR:-$HOME/.cache/medconsent}/target"
LOG_DIR=$(mktemp -d)
passed=0
failed=0

say() { printf '\n==> %s\n' "$*"; }
die() {
  printf '\nFAILED: %s\n' "$*" >&2
  printf 'tests: %d passed, %d failed\n' "$passed" "$((failed + 1))"
  exit 1
}

# Runs a cargo test command, echoing its output and adding its counts to the totals.
run_tests() {
  local name=$1
  shift
  local out="$LOG_DIR/$name.log" status=0
  "$@" 2>&1 | tee "$out" || status=$?
  local p f
  p=$(grep -Eo '^test result: .* ([0-9]+) passed' "$out" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '^test result: .* ([0-9]+) failed' "$out" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$status" -eq 0 ] || die "$name"
}

# shellcheck source=lib/release.sh
source scripts/lib/release.sh

start=$SECONDS
# shellcheck source=lib/ensure-tools.sh
source scripts/lib/ensure-tools.sh
ensure_tools || die "setup (scripts/setup.sh)"

say "format"
cargo fmt --all -- --check || die "cargo fmt (run: cargo fmt --all)"

say "clippy"
CARGO_TARGET_DIR="$CACHE_TARGET" cargo clippy --workspace --all-targets \
  --features medconsent-e2e/e2e-tests -- -D warnings ||
  die "clippy"
# The key-release suite is `test = false` (it needs a node), so --all-targets skips it.
CARGO_TARGET_DIR="$CACHE_TARGET" cargo clippy -p medconsent-keyserver --test release \
  -- -D warnings || die "clippy (keyserver/tests/release)"

say "unit tests"
run_tests unit env CARGO_TARGET_DIR="$CACHE_TARGET" cargo test --workspace --exclude medconsent-e2e

say "release builds (cargo contract build --release)"
build_release_contracts

say "demo: the whole story on a local node (scripts/demo.sh)"
node_was_up=0
curl -sf -m 2 -H 'Content-Type: application/json' \
  -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' http://127.0.0.1:9944 >/dev/null 2>&1 &&
  node_was_up=1
if bash scripts/demo.sh --no-build; then
  passed=$((passed + 1))
else
  [ "$node_was_up" = 1 ] || bash scripts/node.sh --stop >/dev/null
  die "demo"
fi
[ "$node_was_up" = 1 ] || bash scripts/node.sh --stop >/dev/null

say "README: every party's commands, verbatim (scripts/readme-commands.sh)"
if CARGO_TARGET_DIR="$CACHE_TARGET" bash scripts/readme-commands.sh; then
  passed=$((passed + 1))
else
  die "README commands"
fi

if [ -f e2e/Cargo.toml ]; then
  say "end-to-end tests against substrate-contracts-node"
  export CONTRACTS_NODE
  CONTRACTS_NODE=$(command -v substrate-contracts-node)
  # ink_e2e logs every reverted extrinsic at ERROR level, including the rejections the
  # suite provokes on purpose; the assertions report real failures.
  run_tests e2e env CARGO_TARGET_DIR="$CACHE_TARGET" RUST_LOG="${RUST_LOG:-ink_e2e=off}" \
    cargo test -p medconsent-e2e --features e2e-tests -- --test-threads=1 --nocapture

  # The load test (1,000+ access calls, about 80 s here) is outside the default e2e run;
  # MEDCONSENT_SKIP_LOAD=1 skips it locally.
  if [ "${MEDCONSENT_SKIP_LOAD:-0}" != 1 ]; then
    say "load: 1,000+ access calls against a live node"
    run_tests load env CARGO_TARGET_DIR="$CACHE_TARGET" RUST_LOG="${RUST_LOG:-ink_e2e=off}" \
      cargo test -p medconsent-e2e --features e2e-tests load:: -- --ignored \
      --test-threads=1 --nocapture
  fi
fi

say "key release: a node, the contracts and three key-server processes (keyserver/tests/release)"
# deploy.sh, run by the suite, writes the deployment file with the medconsent command.
CARGO_TARGET_DIR="$CACHE_TARGET" cargo build --quiet -p medconsent-client -p medconsent-fhir-server ||
  die "build medconsent and medconsent-fhir-server"
run_tests keyrelease env CARGO_TARGET_DIR="$CACHE_TARGET" CONTRACTS_NODE="$(command -v substrate-contracts-node)" \
  cargo test -p medconsent-keyserver --test release

say "the page's sealing against the Rust client's vectors, both ways, its key store, share gathering and break-glass budget (web/test/*.test.mjs)"
# The Rust half, client/tests/web_vectors.rs, ran with the workspace's tests.
sealing_log="$LOG_DIR/sealing.log"
# `npm install`, not `npm ci`: see web/test/run.sh.
if (cd web && { [ -d node_modules ] || npm install --no-audit --no-fund; } &&
  node --test test/sealing.test.mjs test/keystore.test.mjs test/keyservers.test.mjs test/emergency.test.mjs) \
  >"$sealing_log" 2>&1; then
  passed=$((passed + $(grep -c '^ok ' "$sealing_log")))
else
  cat "$sealing_log"
  die "the page's sealing vectors"
fi

say "the pages in headless Chromium: patient, delegate, clinician, responder (web/test/run.sh)"
browser_log="$LOG_DIR/browser.log"
if bash web/test/run.sh 2>&1 | tee "$browser_log"; then
  passed=$((passed + $(grep -c '^ok ' "$browser_log")))
else
  die "browser test (screenshot of the failure in web/test/artifacts/)"
fi

printf '\nAll checks passed in %d s (release artifacts in %s/target/ink).\n' "$((SECONDS - start))" "$ROOT"
printf 'tests: %d passed, %d failed\n' "$passed" "$failed"
