# Sourced by test.sh, bench.sh and deploy.sh: release builds of the three contracts, each
# as its front and its full code (contracts/shared/src/split.rs).
# Each is built in the shared cache (its dependencies stay compiled between runs), then
# copied to ./target/ink/<contract>/, where the deploy script, the upgrade test and the
# benchmark read it. Needs CACHE_TARGET and a `die` function.
RELEASE_CONTRACTS=(access_log access_log_full consent_manager consent_manager_full
  record_registry record_registry_full)

build_release_contracts() {
  local contract ext artifact
  for contract in "${RELEASE_CONTRACTS[@]}"; do
    rm -f "$CACHE_TARGET/ink/$contract/$contract".{wasm,json,contract}
    CARGO_TARGET_DIR="$CACHE_TARGET" cargo contract build --release --quiet \
      --manifest-path "contracts/$contract/Cargo.toml" || die "release build of $contract"
    mkdir -p "target/ink/$contract"
    for ext in wasm contract json; do
      artifact="$CACHE_TARGET/ink/$contract/$contract.$ext"
      [ -s "$artifact" ] || die "$artifact missing after the build"
      cp "$artifact" "target/ink/$contract/"
    done
    printf '    %-16s %6d bytes of optimized Wasm\n' "$contract" \
      "$(stat -c %s "target/ink/$contract/$contract.wasm")"
  done
}
