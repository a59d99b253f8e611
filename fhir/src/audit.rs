//! A log entry as a FHIR R5 AuditEvent, shaped after the IHE Basic Audit Log Patterns:
//! the category (DICOM 110110 "Patient Record" for what touches a record), the entry's
//! kind as its code, the action (C, R, U, D, E), when it was recorded, its outcome (a
//! denial is a failure with its reason), the purpose as the authorization, the patient,
//! the actor and the access log as agents, the access log as the source, and as
//! entities the record and the entry itself (its seq, chain hash and block as details).

use crate::{
    account_reference, coding, concept, instant, provider_reference, purpose_code, Words,
    DENY_REASON_SYSTEM, DETAIL_SYSTEM, DICOM, ENTRY_KIND_SYSTEM, LOG_ENTRY_SYSTEM,
    PARTICIPATION_TYPE, PURPOSE_OF_USE, RECORD_SYSTEM,
};
use medconsent_chain::ss58;
use medconsent_shared::{DenyReason, EntryKind, LogEntry};
use serde_json::{json, Value};

const OUTCOME: &str = "http://terminology.hl7.org/CodeSystem/audit-event-outcome";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";

/// The FHIR id of entry `seq` of `patient`'s log.
pub fn audit_event_id(entry: &LogEntry) -> String {
    format!("{}-{}", ss58(&entry.patient), entry.seq)
}

/// The entry kind's code under [`ENTRY_KIND_SYSTEM`], and the DICOM/FHIR action.
fn kind(kind: &EntryKind) -> (&'static str, &'static str) {
    match kind {
        EntryKind::Access => ("access", "R"),
        EntryKind::Denied(_) => ("denied", "R"),
        EntryKind::Emergency { .. } => ("emergency", "R"),
        EntryKind::Review { .. } => ("emergency-review", "U"),
        EntryKind::RecordCreated => ("record-created", "C"),
        EntryKind::RecordAmended => ("record-amended", "U"),
        EntryKind::RecordRetired => ("record-retired", "D"),
        EntryKind::ConsentGranted => ("consent-granted", "C"),
        EntryKind::ConsentRevoked => ("consent-revoked", "D"),
        EntryKind::EmergencyOptOut { .. } => ("emergency-opt-out", "U"),
    }
}

/// A refusal's code under [`DENY_REASON_SYSTEM`].
fn deny_code(reason: DenyReason) -> &'static str {
    match reason {
        DenyReason::NoConsent => "no-consent",
        DenyReason::Restricted(_) => "restricted",
        DenyReason::NotProvider => "not-provider",
        DenyReason::ProviderSuspended => "provider-suspended",
        DenyReason::NotResponder => "not-responder",
        DenyReason::EmergencyOptedOut => "emergency-opted-out",
        DenyReason::RecordRetired => "record-retired",
        DenyReason::Paused => "paused",
        DenyReason::ConsentUnavailable => "consent-unavailable",
        DenyReason::EmergencyLimit => "emergency-limit",
    }
}

fn detail(code: &str, value: Value) -> Value {
    let mut detail = json!({ "type": concept(DETAIL_SYSTEM, code, None) });
    match value {
        Value::Number(n) => detail["valueInteger"] = Value::Number(n),
        Value::Bool(b) => detail["valueBoolean"] = Value::Bool(b),
        other => detail["valueString"] = other,
    }
    detail
}

/// Entry `e` of a patient's verified log as a FHIR R5 AuditEvent.
pub fn audit_event(e: &LogEntry, words: &Words) -> Value {
    let (code, action) = kind(&e.kind);
    let touches_record = e.record.is_some();
    let category = if touches_record {
        concept(DICOM, "110110", Some("Patient Record"))
    } else {
        concept(ENTRY_KIND_SYSTEM, "consent", Some("Consent change"))
    };
    let outcome = match e.kind {
        EntryKind::Denied(reason) => json!({
            "code": coding(OUTCOME, "4", Some("Minor failure")),
            "detail": [{
                "coding": [coding(DENY_REASON_SYSTEM, deny_code(reason), None)],
                "text": (words.deny_reason)(reason),
            }],
        }),
        _ => json!({ "code": coding(OUTCOME, "0", Some("Success")) }),
    };
    let log = account_reference(&words.access_log, Some("medconsent access log".into()));
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": audit_event_id(e),
        "category": [category],
        "code": {
            "coding": [coding(ENTRY_KIND_SYSTEM, code, None)],
            "text": code.replace('-', " "),
        },
        "action": action,
        "recorded": instant(e.timestamp),
        "outcome": outcome,
        "patient": account_reference(&e.patient, None),
        "agent": [
            {
                "type": concept(PARTICIPATION_TYPE, if action == "R" { "IRCP" } else { "AUT" }, None),
                // A provider by its name too; the patient or a delegate by account only.
                "who": if e.actor == e.patient {
                    account_reference(&e.actor, None)
                } else {
                    provider_reference(&e.actor, words)
                },
                "requestor": true,
            },
            {
                "type": concept(DICOM, "110153", Some("Source Role ID")),
                "who": log.clone(),
                "requestor": false,
            },
        ],
        "source": {
            "observer": log,
            "type": [concept(SOURCE_TYPE, "4", Some("Application Server"))],
        },
    });
    if let Some(purpose) = e.purpose {
        event["authorization"] = json!([concept(PURPOSE_OF_USE, purpose_code(purpose), None)]);
    }
    let mut details = vec![
        detail("chain-hash", format!("0x{}", hex(&e.hash)).into()),
        detail("block", e.block.into()),
        detail("seq", e.seq.into()),
    ];
    match e.kind {
        EntryKind::Emergency { justification } => details.push(detail(
            "justification-hash",
            format!("0x{}", hex(&justification)).into(),
        )),
        EntryKind::Review {
            emergency_seq,
            justified,
        } => {
            details.push(detail("emergency-seq", emergency_seq.into()));
            details.push(detail("justified", justified.into()));
        }
        EntryKind::EmergencyOptOut { opted_out } => {
            details.push(detail("opted-out", opted_out.into()))
        }
        _ => {}
    }
    if let Some(consent) = e.consent {
        details.push(detail("consent", consent.into()));
    }
    let mut entities = vec![json!({
        "what": { "identifier": { "system": LOG_ENTRY_SYSTEM, "value": audit_event_id(e) } },
        "detail": details,
    })];
    if let Some(record) = e.record {
        entities.insert(
            0,
            json!({
                "what": { "identifier": { "system": RECORD_SYSTEM, "value": record.to_string() } },
                "role": concept(OBJECT_ROLE, "4", Some("Domain Resource")),
            }),
        );
    }
    event["entity"] = entities.into();
    event
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
