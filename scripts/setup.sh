#!/usr/bin/env bash
# One set-up command for a fresh machine: system packages (Chromium among them), the
# pinned Rust toolchain, cargo-contract and substrate-contracts-node; checks Node.js.
# Idempotent: each step is skipped when what it installs is already there at the right
# version, so a second run takes seconds. scripts/demo.sh and scripts/test.sh run it
# themselves when something is missing.
#
#   scripts/setup.sh           install what is missing
#   scripts/setup.sh --check   print each tool, the version found and the one wanted;
#                              exit 1 if any is missing or the node cannot start a chain
set -euo pipefail

TOOLCHAIN=1.86
CARGO_CONTRACT_VERSION=5.0.3
NODE_CRATE=contracts-node
NODE_VERSION=0.41.0
NODE_JS_MIN=20.19
# The S3 API server the key server's object-store test runs against (PyPI's moto).
MOTO_VERSION=5.2.1
# An independent FHIR R5 implementation the FHIR export is validated against (PyPI).
FHIR_RESOURCES_VERSION=8.0.0
# A FHIR client library that searches the FHIR REST API in its tests (PyPI).
FHIRPY_VERSION=2.3.1
# Runtimes whose Wasm the dev node never runs (crate names as substrate-wasm-builder spells
# them in SKIP_<NAME>_WASM_BUILD): the one list of what the node build skips. `--dev`
# runs contracts-node-runtime only; the parachain runtime serves the parachain chain
# specs, rococo and westend come with polkadot-cli's relay chain.
NODE_SKIPPED_RUNTIMES="CONTRACTS_PARACHAIN_RUNTIME ROCOCO_RUNTIME WESTEND_RUNTIME"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '==> %s\n' "$*"; }
took() { printf '    done in %d s\n' "$((SECONDS - $1))"; }

# The first line of `tool --version`, or nothing.
version_of() { "$@" --version 2>/dev/null | head -n 1 || true; }
node_js_ok() {
  node -e "const [a, b] = process.versions.node.split('.').map(Number); const [x, y] = '$NODE_JS_MIN'.split('.').map(Number); process.exit(a > x || (a === x && b >= y) ? 0 : 1)" 2>/dev/null
}

moto_version() { python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || true; }
fhir_resources_version() {
  python3 -c 'import fhir.resources; print(fhir.resources.__version__)' 2>/dev/null || true
}
fhirpy_version() { python3 -c 'import fhirpy; print(fhirpy.__version__)' 2>/dev/null || true; }

# Starts the built node on a dev chain in a temporary directory and asks it for block 0:
# a node whose runtime Wasm was skipped by mistake fails here, not in the first test.
dev_chain_starts() {
  local dir port pid ok=1
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  substrate-contracts-node --dev --base-path "$dir" --rpc-port "$port" --port 0 >"$dir/node.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -sf -m 2 -H 'Content-Type: application/json' \
      -d '{"id":1,"jsonrpc":"2.0","method":"chain_getBlockHash","params":[0]}' \
      "http://127.0.0.1:$port" 2>/dev/null | grep -q '"result":"0x'; then
      ok=0
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$ok" != 0 ]; then
    echo "substrate-contracts-node did not start a dev chain; its log ends with:" >&2
    tail -n 15 "$dir/node.log" >&2
  fi
  rm -rf "$dir"
  return "$ok"
}

check() {
  local missing=0
  row() { printf '%-26s %-44s %s\n' "$1" "${2:-missing}" "$3"; [ -n "$2" ] && [ "$4" = ok ] || missing=1; }
  printf '%-26s %-44s %s\n' tool found wanted
  local v
  for tool in protoc clang curl; do
    v=$(version_of "$tool"); row "$tool" "$v" "any" ok
  done
  v=$( [ -x /usr/bin/chromium ] && version_of /usr/bin/chromium ); row chromium "$v" "any (Debian's)" ok
  v=$(version_of node); row "node.js" "$v" ">= $NODE_JS_MIN" "$(node_js_ok && echo ok)"
  v=$(moto_version); row "moto (S3 API server)" "$v" "$MOTO_VERSION" "$([ "$v" = "$MOTO_VERSION" ] && echo ok)"
  v=$(fhir_resources_version)
  row "fhir.resources (FHIR R5)" "$v" "$FHIR_RESOURCES_VERSION" "$([ "$v" = "$FHIR_RESOURCES_VERSION" ] && echo ok)"
  v=$(fhirpy_version); row "fhirpy (FHIR client)" "$v" "$FHIRPY_VERSION" "$([ "$v" = "$FHIRPY_VERSION" ] && echo ok)"
  v=$(rustup run "$TOOLCHAIN" rustc --version 2>/dev/null || true)
  row "rust $TOOLCHAIN" "$v" "$TOOLCHAIN.x + wasm32, rust-src" ok
  v=$(cargo contract --version 2>/dev/null | head -n 1 || true)
  row cargo-contract "$v" "$CARGO_CONTRACT_VERSION" "$(echo "$v" | grep -q " $CARGO_CONTRACT_VERSION" && echo ok)"
  v=$(version_of substrate-contracts-node)
  local node_ok=""
  echo "$v" | grep -q " $NODE_VERSION" && node_ok=ok
  row substrate-contracts-node "$v" "$NODE_VERSION" "$node_ok"
  if [ "$node_ok" = ok ]; then
    if dev_chain_starts; then v="starts, serves block 0"; else v=""; fi
    row "  dev chain" "$v" "starts" ok
  fi
  return "$missing"
}

if [ "${1:-}" = --check ]; then
  check
  exit $?
elif [ $# -gt 0 ]; then
  echo "usage: scripts/setup.sh [--check]" >&2
  exit 2
fi

# Installs run outside the repository so its rust-toolchain.toml does not apply.
cd "$(mktemp -d)"

# --- system packages (the node build needs protoc and clang) --------------------------
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The patient page's browser test drives Debian's Chromium; the page builds with Node.js.
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt: installing ${missing[*]} (about 1 min)"
  start=$SECONDS
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  took "$start"
else
  say "apt: protoc, clang, curl, chromium and node present"
fi

# --- Rust toolchain --------------------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
  echo "rustup is required (https://rustup.rs); it is not installed" >&2
  exit 1
fi
if rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  say "rust $TOOLCHAIN present"
else
  say "rust $TOOLCHAIN: installing (about 15 s)"
  start=$SECONDS
  rustup toolchain install "$TOOLCHAIN" --profile minimal
  took "$start"
fi
# Cheap no-ops when present.
rustup component add --toolchain "$TOOLCHAIN" rust-src clippy rustfmt >/dev/null 2>&1
rustup target add --toolchain "$TOOLCHAIN" wasm32-unknown-unknown >/dev/null 2>&1

# --- cargo-contract --------------------------------------------------------------------
if cargo contract --version 2>/dev/null | grep -q " $CARGO_CONTRACT_VERSION"; then
  say "cargo-contract $CARGO_CONTRACT_VERSION present"
else
  say "cargo-contract $CARGO_CONTRACT_VERSION: building (about 25 min on 2 cores)"
  start=$SECONDS
  cargo install cargo-contract --version "$CARGO_CONTRACT_VERSION" --locked --force
  took "$start"
fi

# --- substrate-contracts-node ----------------------------------------------------------
if substrate-contracts-node --version 2>/dev/null | grep -q " $NODE_VERSION"; then
  say "substrate-contracts-node $NODE_VERSION present"
else
  say "substrate-contracts-node $NODE_VERSION: building (about 50 min on 2 cores; see README)"
  start=$SECONDS
  # The runtime's Wasm build needs Rust 1.86 and the crate's own Cargo.lock, which it
  # only finds through WASM_BUILD_WORKSPACE_HINT; `cargo info` unpacks the crate first.
  cargo info "$NODE_CRATE@$NODE_VERSION" >/dev/null
  hint=$(ls -d "$HOME"/.cargo/registry/src/*/"$NODE_CRATE-$NODE_VERSION" | head -n 1)
  skip_env=()
  for runtime in $NODE_SKIPPED_RUNTIMES; do
    skip_env+=("SKIP_${runtime}_WASM_BUILD=1")
  done
  env "${skip_env[@]}" WASM_BUILD_WORKSPACE_HINT="$hint" CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo "+$TOOLCHAIN" install "$NODE_CRATE" --version "$NODE_VERSION" --locked --force
  took "$start"
  say "substrate-contracts-node: checking that it starts a dev chain"
  dev_chain_starts || {
    echo "the built node cannot start a dev chain: a runtime in NODE_SKIPPED_RUNTIMES is needed after all" >&2
    exit 1
  }
fi

# --- Node.js for the patient page (Vite 7 needs 20.19 or newer) --------------------------
if ! node_js_ok; then
  echo "Node.js >= $NODE_JS_MIN is required for web/ (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
say "node $(node --version) present"

# --- Python packages the tests run against (PyPI), each at its pinned version ----------
# pip_pinned LABEL VERSION-COMMAND SPEC VERSION: installs SPEC==VERSION unless
# VERSION-COMMAND already prints VERSION.
pip_pinned() {
  if [ "$($2)" = "$4" ]; then
    say "$1 $4 present"
  else
    say "$1 $4: installing from PyPI"
    local start=$SECONDS
    python3 -m pip install -q --disable-pip-version-check "$3==$4"
    took "$start"
  fi
}
# An S3 API server for the key server's object-store test.
pip_pinned moto moto_version "moto[server]" "$MOTO_VERSION"
# The FHIR R5 validator of the FHIR tests, and a FHIR client library for the REST API's.
pip_pinned fhir.resources fhir_resources_version fhir.resources "$FHIR_RESOURCES_VERSION"
pip_pinned fhirpy fhirpy_version fhirpy "$FHIRPY_VERSION"

say "ready: $(cargo contract --version), $(substrate-contracts-node --version)"
