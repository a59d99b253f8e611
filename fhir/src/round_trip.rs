//! Export then import gives the same terms; what import cannot express is named.

use crate::consent::consent;
use crate::import::{import, Imported};
use crate::Words;
use medconsent_shared::{
    AccountId, Action, ActionSet, Consent, ConsentStatus, ConsentTerms, Decision, Grantee, Purpose,
    PurposeSet, Scope,
};
use serde_json::{json, Value};

/// The chain time the tests export at: after every `valid_from` below, before the ends.
const NOW: u64 = 1_765_050_000_000;

pub(crate) fn words() -> Words<'static> {
    Words {
        provider_name: &|a: &AccountId| {
            (a == &AccountId::from([2; 32])).then(|| "Dr Dave Smith".into())
        },
        category_name: &|c| format!("category-{c}"),
        deny_reason: &|r| format!("{r:?}"),
        consent_manager: AccountId::from([0xc0; 32]),
        access_log: AccountId::from([0x10; 32]),
    }
}

pub(crate) fn a_consent(grantee: Grantee, terms: ConsentTerms) -> Consent {
    Consent {
        id: 3,
        patient: AccountId::from([1; 32]),
        grantor: AccountId::from([1; 32]),
        grantee,
        terms,
        status: ConsentStatus::Active,
        created_at: 1_765_038_896_123,
        revoked_at: None,
    }
}

fn terms(decision: Decision, scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision,
        scope,
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 1_765_000_000_000,
        valid_until: None,
    }
}

#[test]
fn export_then_import_gives_the_same_terms() {
    let dave = Grantee::Account(AccountId::from([2; 32]));
    let mut wide = terms(Decision::Permit, Scope::AllRecords);
    wide.actions = ActionSet::from([Action::Read, Action::Append]);
    wide.purposes = PurposeSet::ALL;
    wide.valid_until = Some(1_800_000_000_000);
    for (grantee, terms) in [
        (dave, terms(Decision::Permit, Scope::Record(7))),
        (dave, terms(Decision::Permit, Scope::Category(4))),
        (dave, wide),
        (dave, terms(Decision::Deny, Scope::Category(9))),
        (Grantee::Anyone, terms(Decision::Deny, Scope::Category(9))),
    ] {
        let exported = consent(&a_consent(grantee, terms), &words(), NOW);
        assert_eq!(
            import(&exported),
            Ok(Imported {
                patient: Some(AccountId::from([1; 32])),
                grantee,
                terms,
            }),
            "{exported:#}"
        );
    }
}

#[test]
fn the_period_is_inclusive_in_fhir_and_a_day_is_the_whole_day() {
    let mut t = terms(Decision::Permit, Scope::AllRecords);
    t.valid_until = Some(1_800_000_000_000);
    let exported = consent(
        &a_consent(Grantee::Account(AccountId::from([2; 32])), t),
        &words(),
        NOW,
    );
    // The chain's end is exclusive: FHIR's (inclusive) end is the millisecond before.
    assert_eq!(exported["period"]["end"], crate::instant(1_799_999_999_999));
    let mut by_day = exported.clone();
    by_day["period"] = json!({ "start": "2026-01-01", "end": "2026-01-31" });
    let imported = import(&by_day).unwrap();
    assert_eq!(
        imported.terms.valid_from,
        crate::parse_time("2026-01-01").unwrap()
    );
    // Through the whole of January 31 (UTC): until February 1 begins.
    assert_eq!(imported.terms.valid_until, crate::parse_time("2026-02-01"));
}

#[test]
fn a_revoked_consent_is_inactive_with_its_time_and_is_not_granted_again() {
    let mut revoked = a_consent(Grantee::Anyone, terms(Decision::Deny, Scope::AllRecords));
    revoked.status = ConsentStatus::Revoked;
    revoked.revoked_at = Some(1_765_038_896_123);
    let exported = consent(&revoked, &words(), NOW);
    assert_eq!(exported["status"], "inactive");
    assert_eq!(
        exported["extension"][0]["valueDateTime"],
        "2025-12-06T16:34:56.123Z"
    );
    // A restriction to anyone has no actor, and names no grantee; R5's base is deny and
    // the provision is marked as restricting (a modifier: a reader who does not know it
    // must not take the provision for one more permit).
    assert!(exported["provision"][0].get("actor").is_none());
    assert!(exported.get("grantee").is_none());
    assert_eq!(exported["decision"], "deny");
    assert_eq!(
        exported["provision"][0]["modifierExtension"][0]["url"],
        crate::RESTRICTION_EXTENSION
    );
    let refused = import(&exported).unwrap_err();
    assert_eq!(refused[0].element, "Consent.status");
}

#[test]
fn a_consent_past_its_end_is_inactive_and_not_granted_again() {
    let mut t = terms(Decision::Permit, Scope::AllRecords);
    t.valid_until = Some(NOW);
    let dave = Grantee::Account(AccountId::from([2; 32]));
    let ended = consent(&a_consent(dave, t), &words(), NOW);
    assert_eq!(ended["status"], "inactive");
    assert!(
        ended.get("extension").is_none(),
        "not revoked: no revocation time"
    );
    assert_eq!(ended["period"]["end"], crate::instant(NOW - 1));
    assert_eq!(import(&ended).unwrap_err()[0].element, "Consent.status");
    // A millisecond earlier it was still in force.
    assert_eq!(
        consent(&a_consent(dave, t), &words(), NOW - 1)["status"],
        "active"
    );
}

#[test]
fn providers_carry_their_names_and_patients_never_do() {
    let exported = consent(
        &a_consent(
            Grantee::Account(AccountId::from([2; 32])),
            terms(Decision::Permit, Scope::AllRecords),
        ),
        &words(),
        NOW,
    );
    assert_eq!(exported["grantee"][0]["display"], "Dr Dave Smith");
    assert_eq!(
        exported["provision"][0]["actor"][0]["reference"]["display"],
        "Dr Dave Smith"
    );
    assert!(exported["subject"].get("display").is_none());
    assert!(exported["grantor"][0].get("display").is_none());
}

/// An exported permit for Dave with `change` applied to it, imported.
fn changed(change: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut resource = consent(
        &a_consent(
            Grantee::Account(AccountId::from([2; 32])),
            terms(Decision::Permit, Scope::AllRecords),
        ),
        &words(),
        NOW,
    );
    change(&mut resource);
    import(&resource)
        .map(|_| Vec::new())
        .unwrap_or_else(|errors| errors.into_iter().map(|e| e.element).collect())
}

type Change = Box<dyn FnOnce(&mut Value)>;

#[test]
fn what_medconsent_cannot_express_is_named_element_by_element() {
    let table: Vec<(Change, Vec<&str>)> = vec![
        (
            Box::new(|c| c["provision"][0]["provision"] = json!([{ "action": [] }])),
            vec!["Consent.provision[0].provision"],
        ),
        (
            Box::new(|c| c["provision"][0]["action"][0]["coding"][0]["code"] = "disclose".into()),
            vec!["Consent.provision[0].action[0]"],
        ),
        (
            Box::new(|c| c["provision"][0]["purpose"][0]["code"] = "HMARKT".into()),
            vec!["Consent.provision[0].purpose[0]"],
        ),
        (
            Box::new(|c| {
                c["provision"][0]["actor"][0]["reference"] =
                    json!({ "reference": "Practitioner/17" })
            }),
            vec![
                "Consent.provision[0].actor[0].reference",
                "Consent.provision[0].actor[0].reference.reference",
            ],
        ),
        (
            Box::new(|c| {
                let actor = c["provision"][0]["actor"][0].clone();
                c["provision"][0]["actor"] = json!([actor.clone(), actor]);
            }),
            vec!["Consent.provision[0].actor"],
        ),
        (
            Box::new(|c| c["provision"] = json!([])),
            vec!["Consent.provision"],
        ),
        (
            Box::new(|c| {
                c["provision"][0]["securityLabel"] = json!([{ "code": "R" }]);
                c["modifierExtension"] = json!([]);
                c["period"]["end"] = "soon".into();
            }),
            vec![
                "Consent.modifierExtension",
                "Consent.period.end",
                "Consent.provision[0].securityLabel",
            ],
        ),
        (
            Box::new(
                |c| c["provision"][0]["data"] = json!([{ "meaning": "related", "reference": { "reference": "DocumentReference/1" } }]),
            ),
            vec![
                "Consent.provision[0].data[0]",
                "Consent.provision[0].data[0].reference.reference",
            ],
        ),
        (
            Box::new(|c| {
                c["grantee"][0]["identifier"]["value"] =
                    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".into()
            }),
            vec!["Consent.grantee"],
        ),
        (
            Box::new(|c| c["decision"] = Value::Null),
            vec!["Consent.decision"],
        ),
        // R5's base of permit: everything but the provision, which medconsent cannot grant.
        (
            Box::new(|c| c["decision"] = "permit".into()),
            vec!["Consent.decision"],
        ),
        // Elements of the wrong shape are named, never read as absent (which would
        // widen the grant to anyone, every record, or no end).
        (
            Box::new(|c| {
                let actor = c["provision"][0]["actor"][0].clone();
                c["provision"][0]["actor"] = actor;
                c["provision"][0]["data"] = json!({ "meaning": "instance" });
                c["period"] = "2026".into();
                c.as_object_mut().unwrap().remove("grantee");
            }),
            vec![
                "Consent.period",
                "Consent.provision[0].actor",
                "Consent.provision[0].data",
            ],
        ),
        // An actor that is an author or custodian, not a recipient; modifiers inside.
        (
            Box::new(|c| {
                c["provision"][0]["actor"][0]["role"]["coding"][0]["code"] = "AUT".into();
                c["provision"][0]["actor"][0]["modifierExtension"] = json!([]);
            }),
            vec![
                "Consent.provision[0].actor[0].modifierExtension",
                "Consent.provision[0].actor[0].role",
            ],
        ),
        (
            Box::new(|c| {
                c["provision"][0]["modifierExtension"] =
                    json!([{ "url": "urn:elsewhere:only-on-tuesdays", "valueBoolean": true }]);
                c["implicitRules"] = "urn:elsewhere:rules".into();
                c["policyBasis"] = json!({ "uri": "urn:elsewhere:policy" });
            }),
            vec![
                "Consent.implicitRules",
                "Consent.policyBasis",
                "Consent.provision[0].modifierExtension[0]",
            ],
        ),
    ];
    for (change, mut expected) in table {
        let mut got = changed(change);
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
    }
    // Descriptive elements change nothing.
    assert!(changed(|c| {
        c["text"] = json!({ "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" });
        c["policyText"] = json!([{ "reference": "DocumentReference/policy" }]);
    })
    .is_empty());
}
