//! A FHIR R5 Consent read back into the grant or restriction medconsent can keep, in R5's
//! own reading: `decision` is the base and each provision an exception to it.
//! medconsent's base is deny (nothing is permitted that no consent permits), so the
//! Consent's decision must be `deny`, and its one provision is the exception: a permit,
//! or, marked by the modifier extension [`crate::RESTRICTION_EXTENSION`], a restriction
//! that overrides the permits of other consents. The provision's actor is one account
//! (none: anyone) as recipient, its actions `access` and `collect`, its purposes
//! PurposeOfUse, its scope at most one record (`data`) or category (`documentType`).
//! Whatever else would change what the consent means, an element of the wrong shape
//! included, is an error that names the element, all of them at once; elements that
//! only describe (narrative, identifiers, dates, grantor, controller, policy text, plain
//! extensions) are left.

use crate::{
    parse_time, purpose_of, ACCOUNT_SYSTEM, CATEGORY_SYSTEM, CONSENT_ACTION, PARTICIPATION_TYPE,
    PURPOSE_OF_USE, RECORD_SYSTEM, RESTRICTION_EXTENSION,
};
use medconsent_chain::parse_account;
use medconsent_shared::{
    AccountId, Action, ActionSet, ConsentTerms, Decision, Grantee, PurposeSet, Scope, Timestamp,
};
use serde_json::Value;

/// What a FHIR Consent maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The Consent's subject, if it names one by account.
    pub patient: Option<AccountId>,
    pub grantee: Grantee,
    pub terms: ConsentTerms,
}

/// One element medconsent cannot express, by its path, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {why}")]
pub struct Unsupported {
    pub element: String,
    pub why: String,
}

/// Top-level elements that describe a consent without changing what it permits.
/// (`implicitRules` is a modifier and `policyBasis` the policy the provisions are
/// exceptions to: both change the meaning, so neither is here.)
const DESCRIPTIVE: [&str; 18] = [
    "resourceType",
    "id",
    "meta",
    "language",
    "text",
    "contained",
    "extension",
    "identifier",
    "category",
    "date",
    "grantor",
    "manager",
    "controller",
    "sourceAttachment",
    "sourceReference",
    "regulatoryBasis",
    "policyText",
    "verification",
];

/// The top-level elements medconsent maps.
const MAPPED: [&str; 6] = [
    "status",
    "subject",
    "period",
    "decision",
    "provision",
    "grantee",
];

struct Problems(Vec<Unsupported>);

impl Problems {
    fn add(&mut self, element: impl Into<String>, why: impl Into<String>) {
        self.0.push(Unsupported {
            element: element.into(),
            why: why.into(),
        });
    }

    /// Names every key of `element` (an object) outside `allowed`.
    fn only(&mut self, element: &Value, at: &str, allowed: &[&str]) {
        match element.as_object() {
            Some(object) => {
                for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
                    self.add(format!("{at}.{key}"), "medconsent cannot express it");
                }
            }
            None => self.add(at, "not an element (a JSON object)"),
        }
    }

    /// The items of a list element (absent: none), each named by its path; a value
    /// that is no list, or an item that is no element, is a problem.
    fn list<'a>(&mut self, value: &'a Value, at: &str) -> Vec<(String, &'a Value)> {
        match value {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{at}[{i}]"), item))
                .filter(|(path, item)| {
                    if !item.is_object() {
                        self.add(path.clone(), "not an element (a JSON object)");
                    }
                    item.is_object()
                })
                .collect(),
            _ => {
                self.add(at, "not a list");
                Vec::new()
            }
        }
    }
}

/// The account a reference names by identifier under [`ACCOUNT_SYSTEM`].
fn account_of(reference: &Value, at: &str, problems: &mut Problems) -> Option<AccountId> {
    problems.only(reference, at, &["identifier", "display"]);
    let identifier = &reference["identifier"];
    if identifier.is_object() {
        problems.only(
            identifier,
            &format!("{at}.identifier"),
            &["system", "value"],
        );
    }
    if identifier["system"] != ACCOUNT_SYSTEM {
        problems.add(
            at,
            format!("not an account: one is named by an identifier of system {ACCOUNT_SYSTEM}"),
        );
        return None;
    }
    let value = identifier["value"].as_str().unwrap_or_default();
    parse_account(value)
        .map_err(|e| {
            problems.add(
                format!("{at}.identifier.value"),
                format!("not an account: {e}"),
            )
        })
        .ok()
}

/// A Coding's system and code, its other keys refused.
fn coding<'a>(coding: &'a Value, at: &str, problems: &mut Problems) -> (&'a str, &'a str) {
    problems.only(coding, at, &["system", "code", "display"]);
    (
        coding["system"].as_str().unwrap_or_default(),
        coding["code"].as_str().unwrap_or_default(),
    )
}

/// The terms `resource` (a FHIR R5 Consent, as JSON) says, or every element that
/// medconsent cannot express.
pub fn import(resource: &Value) -> Result<Imported, Vec<Unsupported>> {
    let mut problems = Problems(Vec::new());
    if resource["resourceType"] != "Consent" {
        problems.add("resourceType", "not a Consent");
        return Err(problems.0);
    }
    let allowed: Vec<&str> = DESCRIPTIVE.iter().chain(MAPPED.iter()).copied().collect();
    problems.only(resource, "Consent", &allowed);
    match &resource["status"] {
        Value::Null => {}
        Value::String(status) if status == "active" => {}
        other => problems.add(
            "Consent.status",
            format!("{other}: only an active consent is granted"),
        ),
    }
    if resource["decision"] != "deny" {
        problems.add(
            "Consent.decision",
            "the base decision must be deny: medconsent denies whatever no consent permits, \
             and a base of permit (everything but the provisions) cannot be granted",
        );
    }
    let patient = match &resource["subject"] {
        Value::Null => None,
        subject => account_of(subject, "Consent.subject", &mut problems),
    };
    let (valid_from, valid_until) = period(&resource["period"], &mut problems);
    let provisions = problems.list(&resource["provision"], "Consent.provision");
    let [(at, provision)] = provisions.as_slice() else {
        problems.add(
            "Consent.provision",
            format!(
                "exactly one provision is needed, {} given",
                provisions.len()
            ),
        );
        return Err(problems.0);
    };
    let mut keys = vec![
        "actor",
        "action",
        "purpose",
        "data",
        "documentType",
        "modifierExtension",
    ];
    if provision.get("provision").is_some() {
        problems.add(
            format!("{at}.provision"),
            "nested provisions beyond one level",
        );
        keys.push("provision");
    }
    problems.only(provision, at, &keys);
    let decision = restriction(provision, at, &mut problems);
    let grantee = grantee(provision, resource, at, &mut problems);
    let actions = actions(provision, at, &mut problems);
    let purposes = purposes(provision, at, &mut problems);
    let scope = scope(provision, at, &mut problems);
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    Ok(Imported {
        patient,
        grantee,
        terms: ConsentTerms {
            decision,
            scope,
            actions,
            purposes,
            valid_from,
            valid_until,
        },
    })
}

/// The consent's validity: FHIR's period is inclusive at both ends, the chain's end
/// exclusive; a day stands for the whole day (UTC).
fn period(period: &Value, problems: &mut Problems) -> (Timestamp, Option<Timestamp>) {
    if period.is_null() {
        return (0, None);
    }
    problems.only(period, "Consent.period", &["start", "end"]);
    let mut time = |at: &str| match &period[at] {
        Value::Null => None,
        Value::String(text) => {
            let parsed = parse_time(text);
            if parsed.is_none() {
                problems.add(
                    format!("Consent.period.{at}"),
                    "not a date or a date-time with a zone",
                );
            }
            // A day (YYYY-MM-DD) or a moment (at millisecond precision at the most).
            parsed.map(|t| (t, text.len() == 10))
        }
        _ => {
            problems.add(format!("Consent.period.{at}"), "not a date or a time");
            None
        }
    };
    let from = time("start").map_or(0, |(t, _)| t);
    let until = time("end").and_then(|(t, day)| {
        let next = if day { 86_400_000 } else { 1 };
        t.checked_add(next)
    });
    (from, until)
}

/// Permit, or Deny when the provision carries the restriction modifier; any other
/// modifier extension is refused (it would change the meaning in a way unknown here).
fn restriction(provision: &Value, at: &str, problems: &mut Problems) -> Decision {
    let path = format!("{at}.modifierExtension");
    let mut decision = Decision::Permit;
    for (path, extension) in problems.list(&provision["modifierExtension"], &path) {
        if extension["url"] == RESTRICTION_EXTENSION && extension["valueBoolean"] == true {
            problems.only(extension, &path, &["url", "valueBoolean"]);
            decision = Decision::Deny;
        } else {
            problems.add(path, "a modifier extension medconsent does not know");
        }
    }
    decision
}

fn grantee(provision: &Value, resource: &Value, at: &str, problems: &mut Problems) -> Grantee {
    let at = format!("{at}.actor");
    let actors = problems.list(&provision["actor"], &at);
    let grantee = match actors.as_slice() {
        [] => Grantee::Anyone,
        [(path, actor)] => {
            problems.only(actor, path, &["role", "reference"]);
            // Only the party data goes to: not an author or custodian it is about.
            if !actor["role"].is_null() {
                let codings =
                    problems.list(&actor["role"]["coding"], &format!("{path}.role.coding"));
                let recipient = codings.iter().all(|(p, c)| {
                    let (system, code) = coding(c, p, problems);
                    system == PARTICIPATION_TYPE && matches!(code, "IRCP" | "PRCP")
                });
                if codings.is_empty() || !recipient {
                    problems.add(
                        format!("{path}.role"),
                        "only a recipient (v3-ParticipationType IRCP or PRCP) is a grantee",
                    );
                }
            }
            match account_of(&actor["reference"], &format!("{path}.reference"), problems) {
                Some(account) => Grantee::Account(account),
                None => return Grantee::Anyone,
            }
        }
        _ => {
            problems.add(at, "one grantee per consent");
            return Grantee::Anyone;
        }
    };
    // A grantee element must name the provision's actor, if any.
    let listed = problems.list(&resource["grantee"], "Consent.grantee");
    let agrees = match &grantee {
        Grantee::Account(account) => listed.iter().all(|(path, g)| {
            account_of(g, path, &mut Problems(Vec::new())).as_ref() == Some(account)
        }),
        Grantee::Anyone => listed.is_empty(),
    };
    if !agrees {
        problems.add(
            "Consent.grantee",
            "names another party than the provision's actor",
        );
    }
    grantee
}

fn actions(provision: &Value, at: &str, problems: &mut Problems) -> ActionSet {
    let at = format!("{at}.action");
    let mut set = ActionSet::empty();
    let listed = problems.list(&provision["action"], &at);
    for (path, action) in &listed {
        problems.only(action, path, &["coding", "text"]);
        let codings = problems.list(&action["coding"], &format!("{path}.coding"));
        let found = codings
            .iter()
            .find_map(|(p, c)| match coding(c, p, problems) {
                (CONSENT_ACTION, "access") => Some(Action::Read),
                (CONSENT_ACTION, "collect") => Some(Action::Append),
                _ => None,
            });
        match found {
            Some(action) => set = set.with(action),
            None => problems.add(
                path.clone(),
                format!("unsupported action: only {CONSENT_ACTION} access and collect"),
            ),
        }
    }
    if listed.is_empty() {
        problems.add(at, "at least one action is needed");
    }
    set
}

fn purposes(provision: &Value, at: &str, problems: &mut Problems) -> PurposeSet {
    let at = format!("{at}.purpose");
    let mut set = PurposeSet::empty();
    let listed = problems.list(&provision["purpose"], &at);
    for (path, c) in &listed {
        let purpose = match coding(c, path, problems) {
            (PURPOSE_OF_USE, code) => purpose_of(code),
            _ => None,
        };
        match purpose {
            Some(purpose) => set = set.with(purpose),
            None => problems.add(
                path.clone(),
                "unsupported purpose: one of TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PUBHLTH, \
                 PATRQT of v3-ActReason",
            ),
        }
    }
    if listed.is_empty() {
        problems.add(at, "at least one purpose is needed");
    }
    set
}

fn scope(provision: &Value, at: &str, problems: &mut Problems) -> Scope {
    let data = problems.list(&provision["data"], &format!("{at}.data"));
    let types = problems.list(&provision["documentType"], &format!("{at}.documentType"));
    match (data.as_slice(), types.as_slice()) {
        ([], []) => Scope::AllRecords,
        ([(path, data)], []) => {
            problems.only(data, path, &["meaning", "reference"]);
            let reference = &data["reference"];
            problems.only(reference, &format!("{path}.reference"), &["identifier"]);
            let identifier = &reference["identifier"];
            let record = (data["meaning"] == "instance" && identifier["system"] == RECORD_SYSTEM)
                .then(|| identifier["value"].as_str().and_then(|v| v.parse().ok()))
                .flatten();
            record.map(Scope::Record).unwrap_or_else(|| {
                problems.add(
                    path.clone(),
                    format!(
                        "a record is named by meaning instance and an identifier of system \
                         {RECORD_SYSTEM}"
                    ),
                );
                Scope::AllRecords
            })
        }
        ([], [(path, c)]) => {
            let category = match coding(c, path, problems) {
                (CATEGORY_SYSTEM, code) => code.parse().ok(),
                _ => None,
            };
            category.map(Scope::Category).unwrap_or_else(|| {
                problems.add(
                    path.clone(),
                    format!("a category is a code of system {CATEGORY_SYSTEM}"),
                );
                Scope::AllRecords
            })
        }
        _ => {
            problems.add(
                at,
                "at most one record (data) or one category (documentType)",
            );
            Scope::AllRecords
        }
    }
}
