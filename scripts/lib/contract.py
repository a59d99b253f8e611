#!/usr/bin/env python3
"""A helper over `cargo contract call --output-json` for the browser test's seeding (a
record registered with a made-up hash, which `medconsent put` cannot do by design).

    contract.py call ARTIFACT ADDRESS MESSAGE SURI URL [--execute] [ARGS...]
        prints the call's return value as plain JSON (dry run), or runs it on chain

It decodes nothing itself: cargo-contract decodes with the contract's metadata. Chain data
that must be checked (the audit trail's hash chain) is read by `medconsent audit`, with
the contracts' own Rust types.
"""
import json
import subprocess
import sys


def plain(value):
    """scale-value JSON -> Python: ints, strings, lists, dicts, and enums as
    {"variant": name, "values": [...]} (or {"variant": name, "fields": {...}})."""
    (kind, inner), = value.items()
    if kind in ("UInt", "Int", "Bool", "Literal", "Char", "String"):
        return inner
    if kind == "Seq":
        return [plain(v) for v in inner["elems"]]
    if kind == "Map":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "Tuple":
        values = [plain(v) for v in inner["values"]]
        return {"variant": inner["ident"], "values": values} if inner.get("ident") else values
    if kind == "Struct":
        fields = {k: plain(v) for k, v in inner["fields"].items()}
        return {"variant": inner["ident"], "fields": fields} if inner.get("ident") else fields
    if kind == "Hex":
        return inner["s"]
    raise ValueError(f"unknown value form {kind}")


def call(artifact, address, message, suri, url, args, execute=False):
    command = ["cargo", "contract", "call", artifact, "--contract", address, "--message", message,
               "--suri", suri, "--url", url, "--output-json"]
    if execute:
        command += ["-x", "-y"]
    if args:
        command += ["--args", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        start = done.stdout.find("{")
        detail = json.loads(done.stdout[start:]) if start >= 0 else done.stderr
        raise RuntimeError(f"{message} failed: {json.dumps(detail)[:400]}")
    if execute:
        return None
    result = json.loads(done.stdout)
    if result.get("reverted"):
        return {"reverted": plain(result["data"])}
    data = plain(result["data"])
    # Every message result is wrapped in ink!'s MessageResult: Ok(value).
    return data["values"][0]


def main(argv):
    if len(argv) >= 6 and argv[0] == "call":
        artifact, address, message, suri, url, *rest = argv[1:]
        execute = "--execute" in rest
        args = [a for a in rest if a != "--execute"]
        print(json.dumps(call(artifact, address, message, suri, url, args, execute)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
