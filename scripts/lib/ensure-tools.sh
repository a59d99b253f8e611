# Sourced by demo.sh and test.sh: runs scripts/setup.sh when a tool is missing (a fresh
# machine), and costs a few seconds when everything is there.
ensure_tools() {
  if bash scripts/setup.sh --check >/dev/null 2>&1; then
    return 0
  fi
  printf '==> Some tools are missing; this is the fresh-machine path, run once:\n'
  bash scripts/setup.sh --check || true
  printf '==> Installing them with scripts/setup.sh: cargo-contract takes about 25 min and\n'
  printf '    substrate-contracts-node about 50 min on 2 cores (see README, "Setting up").\n'
  bash scripts/setup.sh
}
