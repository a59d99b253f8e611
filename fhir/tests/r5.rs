//! Every shape the export writes validates against an independent FHIR R5
//! implementation (Python's fhir.resources, installed by scripts/setup.sh): consents of
//! every scope, decision and status, and an AuditEvent of every entry kind.

use medconsent_fhir::{audit::audit_event, collection, consent::consent, Words};
use medconsent_shared::{
    AccountId, Action, ActionSet, Consent, ConsentStatus, ConsentTerms, Decision, DenyReason,
    EntryKind, Grantee, LogEntry, Purpose, PurposeSet, Scope,
};
use serde_json::Value;
use std::path::Path;

fn words() -> Words<'static> {
    Words {
        provider_name: &|a: &AccountId| {
            (a == &AccountId::from([2; 32])).then(|| "Dr Dave Smith".into())
        },
        category_name: &|c| format!("category-{c}"),
        deny_reason: &|_| "no consent of the patient's permits it".into(),
        consent_manager: AccountId::from([0xc0; 32]),
        access_log: AccountId::from([0x10; 32]),
    }
}

fn consents() -> Vec<Value> {
    let patient = AccountId::from([1; 32]);
    let dave = Grantee::Account(AccountId::from([2; 32]));
    let terms = |decision, scope| ConsentTerms {
        decision,
        scope,
        actions: ActionSet::from([Action::Read, Action::Append]),
        purposes: PurposeSet::from([Purpose::Treat, Purpose::Research]),
        valid_from: 1_765_000_000_000,
        valid_until: Some(1_800_000_000_000),
    };
    let shapes = [
        (dave, terms(Decision::Permit, Scope::AllRecords), None),
        (dave, terms(Decision::Permit, Scope::Record(7)), None),
        (dave, terms(Decision::Deny, Scope::Category(4)), None),
        (
            Grantee::Anyone,
            terms(Decision::Deny, Scope::Category(9)),
            Some(1_765_100_000_000),
        ),
    ];
    shapes
        .into_iter()
        .enumerate()
        .map(|(id, (grantee, terms, revoked_at))| {
            consent(
                &Consent {
                    id: id as u64,
                    patient,
                    grantor: patient,
                    grantee,
                    terms,
                    status: if revoked_at.is_some() {
                        ConsentStatus::Revoked
                    } else {
                        ConsentStatus::Active
                    },
                    created_at: 1_765_000_000_000,
                    revoked_at,
                },
                &words(),
                1_765_050_000_000,
            )
        })
        .collect()
}

fn audit_events() -> Vec<Value> {
    let patient = AccountId::from([1; 32]);
    let kinds = [
        (
            EntryKind::RecordCreated,
            Some(0),
            patient,
            Some(Purpose::PatientRequest),
        ),
        (EntryKind::ConsentGranted, None, patient, None),
        (
            EntryKind::Access,
            Some(0),
            AccountId::from([2; 32]),
            Some(Purpose::Treat),
        ),
        (
            EntryKind::Denied(DenyReason::NoConsent),
            Some(0),
            AccountId::from([3; 32]),
            Some(Purpose::Treat),
        ),
        (
            EntryKind::Emergency {
                justification: [7; 32],
            },
            Some(0),
            AccountId::from([2; 32]),
            Some(Purpose::EmergencyTreat),
        ),
        (
            EntryKind::Review {
                emergency_seq: 4,
                justified: true,
            },
            None,
            patient,
            None,
        ),
        (EntryKind::RecordAmended, Some(0), patient, None),
        (EntryKind::RecordRetired, Some(0), patient, None),
        (EntryKind::ConsentRevoked, None, patient, None),
        (
            EntryKind::EmergencyOptOut { opted_out: true },
            None,
            patient,
            None,
        ),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(seq, (kind, record, actor, purpose))| {
            audit_event(
                &LogEntry {
                    seq: seq as u64,
                    patient,
                    actor,
                    record,
                    kind,
                    purpose,
                    consent: matches!(kind, EntryKind::ConsentGranted).then_some(0),
                    timestamp: 1_765_000_000_000 + seq as u64,
                    block: 10 + seq as u32,
                    hash: [seq as u8; 32],
                },
                &words(),
            )
        })
        .collect()
}

/// Runs the validator over `bundles` written to files; its exit code and output.
fn validate(bundles: &[(&str, Value)]) -> (i32, String) {
    // One folder per call: the tests run at once.
    let dir = std::env::temp_dir().join(format!(
        "medconsent-fhir-{}-{}",
        std::process::id(),
        bundles[0].0
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<_> = bundles
        .iter()
        .map(|(name, bundle)| {
            let path = dir.join(name);
            std::fs::write(&path, serde_json::to_vec_pretty(bundle).unwrap()).unwrap();
            path
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_r5.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(&files)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_exported_shape_is_valid_fhir_r5() {
    let (code, said) = validate(&[
        ("consents.json", collection(consents(), 1_765_200_000_000)),
        ("audit.json", collection(audit_events(), 1_765_200_000_000)),
    ]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("consents.json: 4 resources valid"), "{said}");
    assert!(said.contains("audit.json: 10 resources valid"), "{said}");
}

#[test]
fn the_validator_is_strict() {
    // A misspelled element and a time without its zone: both refused, by name.
    let mut consent = consents().remove(0);
    consent["provisions"] = consent["provision"].take();
    let mut event = audit_events().remove(0);
    event["recorded"] = "2025-12-06T16:34:56".into();
    for (name, resource, element) in [
        ("bad-consent.json", consent, "provisions"),
        ("bad-audit.json", event, "recorded"),
    ] {
        let (code, said) = validate(&[(name, collection(vec![resource], 0))]);
        assert_eq!(code, 1, "{said}");
        assert!(said.contains("INVALID") && said.contains(element), "{said}");
    }
}
