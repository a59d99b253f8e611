#!/usr/bin/env bash
# One set-up command for a fresh machine: system packages (Chromium among them), the
# pinned Rust toolchain, cargo-contract and substrate-contracts-node; checks Node.js. Idempotent: each step is skipped when
# what it installs is already there at the right version, so a second run takes seconds.
set -euo pipefail

TOOLCHAIN=1.86
CARGO_CONTRACT_VERSION=5.0.3
NODE_CRATE=contracts-node
NODE_VERSION=0.41.0
# Runtimes whose Wasm the dev node never runs (crate names as substrate-wasm-builder spells
# them in SKIP_<NAME>_WASM_BUILD): the one list of what the node build skips.
NODE_SKIPPED_RUNTIMES="CONTRACTS_PARACHAIN_RUNTIME ROCOCO_RUNTIME WESTEND_RUNTIME"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '==> %s\n' "$*"; }
took() { printf '    done in %d s\n' "$((SECONDS - $1))"; }

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
  say "apt: installing ${missing[*]}"
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
  say "rust $TOOLCHAIN: installing"
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
  say "cargo-contract $CARGO_CONTRACT_VERSION: building (about 15 min on 2 cores)"
  start=$SECONDS
  cargo install cargo-contract --version "$CARGO_CONTRACT_VERSION" --locked --force
  took "$start"
fi

# --- substrate-contracts-node ----------------------------------------------------------
if substrate-contracts-node --version 2>/dev/null | grep -q " $NODE_VERSION"; then
  say "substrate-contracts-node $NODE_VERSION present"
else
  say "substrate-contracts-node $NODE_VERSION: building (about 50 min on 2 cores)"
  start=$SECONDS
  # The runtime's Wasm build needs Rust 1.86 and the crate's own Cargo.lock, which it
  # only finds through WASM_BUILD_WORKSPACE_HINT; `cargo info` unpacks the crate first.
  cargo info "$NODE_CRATE@$NODE_VERSION" >/dev/null
  hint=$(ls -d "$HOME"/.cargo/registry/src/*/"$NODE_CRATE-$NODE_VERSION" | head -n 1)
  # The dev chain (`--dev`) runs only contracts-node-runtime; the parachain, rococo and
  # westend runtimes are compiled to Wasm for other chain specs. Skipping their Wasm
  # builds leaves `WASM_BINARY = None` in them, which only those chain specs read.
  skip_env=()
  for runtime in $NODE_SKIPPED_RUNTIMES; do
    skip_env+=("SKIP_${runtime}_WASM_BUILD=1")
  done
  env "${skip_env[@]}" WASM_BUILD_WORKSPACE_HINT="$hint" CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo "+$TOOLCHAIN" install "$NODE_CRATE" --version "$NODE_VERSION" --locked --force
  took "$start"
fi

# --- Node.js for the patient page (Vite 7 needs 20.19 or newer) --------------------------
node_ok=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number); console.log(a > 20 || (a === 20 && b >= 19) ? 1 : 0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "Node.js >= 20.19 is required for web/ (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
say "node $(node --version) present"

say "ready: $(cargo contract --version), $(substrate-contracts-node --version)"
