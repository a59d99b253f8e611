"""Parses each FHIR R5 file given (a Bundle and each resource in it, or one resource)
with fhir.resources
(an independent FHIR R5 implementation), strictly: an unknown element, a wrong type, a
missing required element or a malformed primitive is an error. Prints one line per file;
exits 1 if any file does not validate, 2 if fhir.resources is missing."""

import json
import sys

try:
    from fhir.resources import get_fhir_model_class
    from fhir.resources.bundle import Bundle
except ImportError:
    print("fhir.resources is not installed: run scripts/setup.sh", file=sys.stderr)
    sys.exit(2)

failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        bundle = json.load(f)
    try:
        if bundle.get("resourceType") != "Bundle":
            # A single resource (a CapabilityStatement, an OperationOutcome, ...).
            get_fhir_model_class(bundle["resourceType"]).model_validate(bundle)
            print(f"{path}: {bundle['resourceType']} valid")
            continue
        Bundle.model_validate(bundle)
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        print(f"{path}: {len(bundle.get('entry', []))} resources valid")
    except Exception as error:  # pydantic's ValidationError names each element
        failed = True
        print(f"{path}: INVALID: {error}")
sys.exit(1 if failed else 0)
