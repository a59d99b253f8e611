"""A hospital system's view of the FHIR API, through a real FHIR client library (fhirpy):
searches a patient's Consents and AuditEvents, follows the paging links, reads one
Consent by id, and parses every resource strictly with fhir.resources (FHIR R5). Prints
one JSON line of what it found; exits non-zero on any failure.

    search_with_fhirpy.py BASE PATIENT [TOKEN]
"""

import json
import sys

from fhir.resources import get_fhir_model_class
from fhirpy import SyncFHIRClient

base, patient = sys.argv[1], sys.argv[2]
token = sys.argv[3] if len(sys.argv) > 3 else None
client = SyncFHIRClient(base, authorization=f"Bearer {token}" if token else None)


def strict(resource):
    data = resource.serialize()
    get_fhir_model_class(data["resourceType"]).model_validate(data)
    return data


consents = [strict(c) for c in client.resources("Consent").search(patient=patient).fetch_all()]
assert all(c["subject"]["identifier"]["value"] == patient for c in consents), consents
events = [strict(e) for e in client.resources("AuditEvent").search(patient=patient).fetch_all()]
# Three a page: the client follows `next` until the end and gets the same events.
paged = client.resources("AuditEvent").search(patient=patient).limit(3).fetch_all()
assert [e["id"] for e in paged] == [e["id"] for e in events], "paging lost or repeated events"
since = client.resources("AuditEvent").search(patient=patient, date__ge="2000-01-01").fetch_all()
before = client.resources("AuditEvent").search(patient=patient, date__lt="2000-01-01").fetch_all()
assert len(since) == len(events) and not before
one = strict(client.reference("Consent", consents[0]["id"]).to_resource()) if consents else None
assert one is None or one == consents[0]
print(json.dumps({
    "consents": len(consents),
    "audit_events": len(events),
    "paged": len(paged),
    "read": one["id"] if one else None,
}))
