#!/usr/bin/env python3
"""Small helpers over `cargo contract call --output-json` for the demo and scripts.

    contract.py call ARTIFACT ADDRESS MESSAGE SURI URL [--execute] [ARGS...]
        prints the call's return value as plain JSON (dry run), or runs it on chain
    contract.py audit ARTIFACT LOG_ADDRESS PATIENT URL
        prints the patient's audit trail and checks its hash chain against the head
"""
import hashlib
import json
import subprocess
import sys

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# Variant orders of the SCALE enums in contracts/shared (the index is the encoding).
ENTRY_KINDS = ["Access", "Denied", "Emergency", "Review", "RecordCreated", "RecordAmended",
               "RecordRetired", "ConsentGranted", "ConsentRevoked", "EmergencyOptOut"]
DENY_REASONS = ["NoConsent", "Restricted", "NotProvider", "ProviderSuspended", "NotResponder",
                "EmergencyOptedOut", "RecordRetired", "Paused", "ConsentUnavailable",
                "EmergencyLimit"]
PURPOSES = ["Treat", "EmergencyTreat", "Payment", "Operations", "Research", "PublicHealth",
            "PatientRequest"]


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


def ss58_decode(address):
    number = 0
    for char in address:
        number = number * 58 + B58.index(char)
    raw = number.to_bytes(35, "big")
    return raw[1:33]  # 1-byte prefix, 32-byte account, 2-byte checksum


def enum(value):
    return value["variant"], value.get("values") or list(value.get("fields", {}).values())


def option(value, encode):
    name, inner = enum(value)
    return b"\x00" if name == "None" else b"\x01" + encode(inner[0])


def u64(n):
    return int(n).to_bytes(8, "little")


def encode_kind(value):
    name, inner = enum(value)
    out = bytes([ENTRY_KINDS.index(name)])
    if name == "Denied":
        reason, payload = enum(inner[0])
        out += bytes([DENY_REASONS.index(reason)]) + (u64(payload[0]) if payload else b"")
    elif name == "Emergency":
        out += bytes(inner[0])
    elif name == "Review":
        out += u64(inner[0]) + bytes([1 if inner[1] else 0])
    elif name == "EmergencyOptOut":
        out += bytes([1 if inner[0] else 0])
    return out


def body(entry):
    """SCALE encoding of a log entry without its hash (the chain rule's input)."""
    return (u64(entry["seq"]) + ss58_decode(entry["patient"]) + ss58_decode(entry["actor"])
            + option(entry["record"], u64) + encode_kind(entry["kind"])
            + option(entry["purpose"], lambda p: bytes([PURPOSES.index(enum(p)[0])]))
            + option(entry["consent"], u64) + u64(entry["timestamp"])
            + int(entry["block"]).to_bytes(4, "little"))


def describe(entry):
    name, inner = enum(entry["kind"])
    if name == "Denied":
        reason, payload = enum(inner[0])
        name = f"Denied ({reason}{'#' + str(payload[0]) if payload else ''})"
    purpose = enum(entry["purpose"])[1]
    consent = enum(entry["consent"])[1]
    record = enum(entry["record"])[1]
    return (f"#{entry['seq']:<3} block {entry['block']:<5} {name:<28} actor {entry['actor'][:10]}… "
            f"record {record[0] if record else '-'} purpose {enum(purpose[0])[0] if purpose else '-'}"
            f" consent {consent[0] if consent else '-'}")


def audit(artifact, log, patient, url):
    head = call(artifact, log, "head", "//Alice", url, [patient])
    entries = []
    while len(entries) < head["length"]:
        page = call(artifact, log, "entries", "//Alice", url, [patient, str(len(entries)), "32"])
        if not page:
            break
        entries += page
    previous = bytes(32)
    for entry in entries:
        print("   ", describe(entry))
        digest = hashlib.blake2b(previous + body(entry), digest_size=32).digest()
        if digest != bytes(entry["hash"]):
            print(f"hash chain broken at entry {entry['seq']}")
            return 1
        previous = digest
    if previous != bytes(head["last_hash"]) or len(entries) != head["length"]:
        print("the recomputed chain does not match the on-chain head")
        return 1
    print(f"    hash chain verified: {len(entries)} entries, head 0x{previous.hex()}")
    return 0


def main(argv):
    if len(argv) >= 6 and argv[0] == "call":
        artifact, address, message, suri, url, *rest = argv[1:]
        execute = "--execute" in rest
        args = [a for a in rest if a != "--execute"]
        print(json.dumps(call(artifact, address, message, suri, url, args, execute)))
        return 0
    if len(argv) == 5 and argv[0] == "audit":
        return audit(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
