//! A medconsent consent as a FHIR R5 Consent, in R5's reading: `decision` is the base,
//! each provision an exception to it. medconsent's base is deny (nothing is permitted
//! that no consent permits), so every Consent says `deny`, and its one provision is the
//! consent's terms: a permit, or, marked by the modifier extension
//! [`crate::RESTRICTION_EXTENSION`], a restriction. The provision's actor is the grantee
//! (none for a restriction to anyone), its actions `access` (Read) and `collect`
//! (Append), its purposes PurposeOfUse, its scope a record (`data`), a category
//! (`documentType`) or every record (neither). The period is inclusive at both ends. A
//! revoked consent is `inactive` and carries its revocation time
//! ([`crate::REVOKED_AT_EXTENSION`]); one past its end at the time read is `inactive`
//! too (its period says when it ended): no longer enforced either way.

use crate::{
    account_reference, coding, concept, date, instant, provider_reference, purpose_code, Words,
    CATEGORY_SYSTEM, CONSENT_ACTION, CONSENT_SYSTEM, LOINC, PARTICIPATION_TYPE, PURPOSE_OF_USE,
    RECORD_SYSTEM, RESTRICTION_EXTENSION, REVOKED_AT_EXTENSION,
};
use medconsent_chain::ss58;
use medconsent_shared::{
    AccountId, Action, Consent, ConsentId, ConsentStatus, ConsentTerms, Decision, Grantee,
    PurposeSet, Scope, Timestamp,
};
use serde_json::{json, Value};

/// The FHIR id (and identifier value) of consent `id` of `patient`.
pub fn consent_id(patient: &AccountId, id: ConsentId) -> String {
    format!("{}-{id}", ss58(patient))
}

/// Consent `c` as a FHIR R5 Consent resource, as of chain time `now` (ms).
pub fn consent(c: &Consent, words: &Words, now: Timestamp) -> Value {
    let id = consent_id(&c.patient, c.id);
    let revoked = c.status == ConsentStatus::Revoked;
    let ended = c.terms.valid_until.is_some_and(|until| until <= now);
    let mut resource = json!({
        "resourceType": "Consent",
        "id": id,
        "identifier": [{ "system": CONSENT_SYSTEM, "value": id }],
        "status": if revoked || ended { "inactive" } else { "active" },
        "category": [concept(LOINC, "59284-0", Some("Patient Consent"))],
        // The patient by account only: never a name.
        "subject": account_reference(&c.patient, None),
        "date": date(c.created_at),
        // The patient, or the delegate who granted for the patient.
        "grantor": [account_reference(&c.grantor, None)],
        "controller": [account_reference(&words.consent_manager, Some("medconsent consent manager".into()))],
        // The base; the provision is the exception (see the module's note).
        "decision": "deny",
        "provision": [provision(&c.grantee, &c.terms, words)],
    });
    resource["period"] = period(&c.terms);
    if let Grantee::Account(grantee) = &c.grantee {
        resource["grantee"] = json!([provider_reference(grantee, words)]);
    }
    if let (true, Some(at)) = (revoked, c.revoked_at) {
        resource["extension"] =
            json!([{ "url": REVOKED_AT_EXTENSION, "valueDateTime": instant(at) }]);
    }
    resource
}

fn period(terms: &ConsentTerms) -> Value {
    let mut period = json!({ "start": instant(terms.valid_from) });
    // The chain's end is exclusive, FHIR's inclusive: the last millisecond it holds.
    if let Some(until) = terms.valid_until {
        period["end"] = instant(until.saturating_sub(1)).into();
    }
    period
}

/// The terms as one provision of a Consent whose decision says permit or deny.
pub fn provision(grantee: &Grantee, terms: &ConsentTerms, words: &Words) -> Value {
    let actions: Vec<Value> = [(Action::Read, "access"), (Action::Append, "collect")]
        .into_iter()
        .filter(|(action, _)| terms.actions.contains(*action))
        .map(|(_, code)| concept(CONSENT_ACTION, code, None))
        .collect();
    let mut provision = json!({
        "action": actions,
        "purpose": purposes(terms.purposes),
    });
    if terms.decision == Decision::Deny {
        provision["modifierExtension"] =
            json!([{ "url": RESTRICTION_EXTENSION, "valueBoolean": true }]);
    }
    if let Grantee::Account(account) = grantee {
        provision["actor"] = json!([{
            "role": concept(PARTICIPATION_TYPE, "IRCP", Some("information recipient")),
            "reference": provider_reference(account, words),
        }]);
    }
    match terms.scope {
        Scope::AllRecords => {}
        Scope::Record(record) => {
            provision["data"] = json!([{
                "meaning": "instance",
                "reference": { "identifier": { "system": RECORD_SYSTEM, "value": record.to_string() } },
            }]);
        }
        Scope::Category(category) => {
            let name = (words.category_name)(category);
            provision["documentType"] =
                json!([coding(CATEGORY_SYSTEM, &category.to_string(), Some(&name))]);
        }
    }
    provision
}

fn purposes(set: PurposeSet) -> Vec<Value> {
    crate::PURPOSE_CODES
        .iter()
        .filter(|(purpose, _)| set.contains(*purpose))
        .map(|(purpose, _)| coding(PURPOSE_OF_USE, purpose_code(*purpose), None))
        .collect()
}
