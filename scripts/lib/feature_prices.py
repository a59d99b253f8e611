#!/usr/bin/env python3
"""What each feature costs in bytes of a front (the code every call of the access path
loads): builds the fronts from a copy of the sources with one feature moved to the full
code (or its dispatch entry removed), code-only, and prints a Markdown table of the
differences. Used by scripts/bench.sh; the figures go into BENCHMARKS.md.

    scripts/lib/feature_prices.py <cache target dir>
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFF = "self.off_path();"
CFG_FULL = '#[cfg(any(feature = "std", full_code))]'

# (contract, what, how, messages): "forward" moves the messages' bodies to the full code
# (their dispatch entries stay: the price of the body on the access path); "drop" removes
# the dispatch entries of every message the front already forwards (their price).
VARIANTS = [
    ("record_registry", "access path (`access_record`, `access_chart`: one chart path)", "forward", ["access_record", "access_chart"]),
    ("record_registry", "`record_patient` (read by record-scoped grants)", "forward", ["record_patient"]),
    ("consent_manager", "`grant`", "forward", ["grant"]),
    ("consent_manager", "`revoke`", "forward", ["revoke"]),
    ("consent_manager", "`check_chart` (the access decision)", "forward", ["check_chart"]),
    ("access_log", "`append_chart`", "forward", ["append_chart"]),
    ("access_log", "`append`", "forward", ["append"]),
    ("record_registry", "dispatch entries of the forwarded messages", "drop", []),
    ("consent_manager", "dispatch entries of the forwarded messages", "drop", []),
    ("access_log", "dispatch entries of the forwarded messages", "drop", []),
]


def forward(src, names):
    for name in names:
        m = re.search(r"\n(\s*)(pub )?fn %s\(" % re.escape(name), src)
        i, depth = m.end(), 1
        while depth:
            depth += (src[i] == "(") - (src[i] == ")")
            i += 1
        j = src.index("{\n", i)
        src = src[: j + 2] + m.group(1) + "    " + OFF + "\n" + src[j + 2 :]
    return src


def drop(src):
    """Removes from the front every message whose body starts by forwarding (trait
    messages stay: a trait must be implemented whole)."""
    pat = re.compile(r"\n([ \t]*)#\[ink\(message\)\]\n(\s*)pub fn [^{]*\{\n\s*self\.off_path\(\);")
    return pat.subn(lambda m: "\n" + m.group(1) + CFG_FULL + m.group(0), src)


def front_size(tree, contract, target):
    out = subprocess.run(
        ["cargo", "contract", "build", "--release", "--quiet", "--generate", "code-only",
         "--manifest-path", os.path.join(tree, "contracts", contract, "Cargo.toml")],
        env=dict(os.environ, CARGO_TARGET_DIR=target), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"build of {contract} failed:\n{out.stdout}\n{out.stderr}")
    return os.path.getsize(os.path.join(target, "ink", contract, contract + ".wasm"))


def main():
    target = sys.argv[1]
    tree = tempfile.mkdtemp(prefix="medconsent-prices-")
    try:
        for item in ["Cargo.toml", "Cargo.lock", "contracts", "docs"]:
            src = os.path.join(ROOT, item)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(tree, item))
        # The copy's workspace needs only the contracts: every other member goes.
        manifest = os.path.join(tree, "Cargo.toml")
        text = open(manifest).read()
        text = re.sub(r'\n\s*"(?!contracts/)[^"]*",', "", text)
        open(manifest, "w").write(text)
        base = {}
        rows = []
        for contract, what, how, names in VARIANTS:
            lib = os.path.join(tree, "contracts", contract, "lib.rs")
            # The admin's messages are written once, in the macro every contract uses.
            admin = os.path.join(tree, "contracts", "admin_messages", "src", "lib.rs")
            original, admin_original = open(lib).read(), open(admin).read()
            if contract not in base:
                base[contract] = front_size(tree, contract, target)
            admin_variant = admin_original
            if how == "forward":
                variant, count = forward(original, names), len(names)
            else:
                variant, count = drop(original)
                admin_variant, admin_count = drop(admin_original)
                # set_paused and paused come only with a second doc string (a pausable contract).
                attribute = original[original.index("admin_messages("):].split(")]", 1)[0]
                count += admin_count - (0 if attribute.count('"') >= 4 else 2)
            open(lib, "w").write(variant)
            open(admin, "w").write(admin_variant)
            try:
                size = front_size(tree, contract, target)
            finally:
                open(lib, "w").write(original)
                open(admin, "w").write(admin_original)
            rows.append((contract, what, base[contract] - size, count if how == "drop" else 0))
        print("| front | feature | bytes in the front | messages | per message |")
        print("|---|---|---:|---:|---:|")
        for contract, what, price, count in rows:
            each = f"{count} | {price // count}" if count else " | "
            print(f"| {contract} | {what} | {price} | {each} |")
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
