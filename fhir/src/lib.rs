//! medconsent in HL7 FHIR R5: a patient's consents as Consent resources ([`consent`]),
//! its access log as AuditEvent resources shaped after the IHE Basic Audit Log Patterns
//! ([`audit`]), each set in a Bundle; and a FHIR Consent read back into the grant or
//! restriction it says, or the elements it says that medconsent cannot ([`import`]).
//!
//! Accounts are identifiers under one system, [`ACCOUNT_SYSTEM`], valued with the SS58
//! address. Providers (public parties) also carry their display name; patients and
//! delegates never do. Everything here is already public on the chain: the export adds
//! shape, not information. The words (provider names, category names, refusals) come
//! from the caller ([`Words`]), so each has one definition.

pub mod audit;
pub mod consent;
pub mod import;

use chrono::{DateTime, SecondsFormat, Utc};
use medconsent_chain::ss58;
use medconsent_shared::{AccountId, CategoryCode, DenyReason, Purpose, Timestamp};
use serde_json::{json, Value};

/// The identifier system of accounts: the value is the account's SS58 address.
pub const ACCOUNT_SYSTEM: &str = "urn:medconsent:account";
/// Record ids (the registry's numbers).
pub const RECORD_SYSTEM: &str = "urn:medconsent:record";
/// Record categories (codes of `medconsent categories`).
pub const CATEGORY_SYSTEM: &str = "urn:medconsent:category";
/// Consents: `<patient SS58>-<consent id>`.
pub const CONSENT_SYSTEM: &str = "urn:medconsent:consent";
/// Log entries: `<patient SS58>-<seq>`.
pub const LOG_ENTRY_SYSTEM: &str = "urn:medconsent:log-entry";
/// Kinds of log entry (`access`, `denied`, `emergency`, ...).
pub const ENTRY_KIND_SYSTEM: &str = "urn:medconsent:entry-kind";
/// Why an access was denied (`no-consent`, `restricted`, ...).
pub const DENY_REASON_SYSTEM: &str = "urn:medconsent:deny-reason";
/// Details of a log entry (`chain-hash`, `block`, `justification-hash`, ...).
pub const DETAIL_SYSTEM: &str = "urn:medconsent:detail";
/// The extension that holds a revoked consent's revocation time.
pub const REVOKED_AT_EXTENSION: &str = "urn:medconsent:revoked-at";
/// The modifier extension of a provision that restricts: it denies what it covers even
/// where another consent permits it. A modifier, so a reader that does not know it must
/// not act on the Consent (R5 would read the provision as one more permit).
pub const RESTRICTION_EXTENSION: &str = "urn:medconsent:restriction";

pub const PURPOSE_OF_USE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
pub const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
pub const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
pub const LOINC: &str = "http://loinc.org";

/// The HL7 v3 PurposeOfUse code of each purpose medconsent knows.
pub const PURPOSE_CODES: [(Purpose, &str); 7] = [
    (Purpose::Treat, "TREAT"),
    (Purpose::EmergencyTreat, "ETREAT"),
    (Purpose::Payment, "HPAYMT"),
    (Purpose::Operations, "HOPERAT"),
    (Purpose::Research, "HRESCH"),
    (Purpose::PublicHealth, "PUBHLTH"),
    (Purpose::PatientRequest, "PATRQT"),
];

/// What the caller names: providers' display names, categories, refusals in words; and
/// the contracts that act as the consents' controller and the log's observer.
pub struct Words<'a> {
    pub provider_name: &'a dyn Fn(&AccountId) -> Option<String>,
    pub category_name: &'a dyn Fn(CategoryCode) -> String,
    pub deny_reason: &'a dyn Fn(DenyReason) -> String,
    pub consent_manager: AccountId,
    pub access_log: AccountId,
}

pub fn purpose_code(purpose: Purpose) -> &'static str {
    PURPOSE_CODES
        .iter()
        .find(|(p, _)| *p == purpose)
        .map_or("TREAT", |(_, code)| code)
}

pub fn purpose_of(code: &str) -> Option<Purpose> {
    PURPOSE_CODES
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(p, _)| *p)
}

/// A FHIR `instant` (UTC, milliseconds) for chain time `at` (ms since 1970).
pub fn instant(at: Timestamp) -> String {
    let at = i64::try_from(at).unwrap_or(i64::MAX);
    DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A FHIR `date` (UTC day) for chain time `at`.
pub fn date(at: Timestamp) -> String {
    instant(at)[..10].to_owned()
}

/// Chain time (ms) of a FHIR `dateTime` or `instant` with a time zone, or of a `date`
/// (its UTC midnight); None for anything else (a time without zone is no moment).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let at = match DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.timestamp_millis(),
        Err(_) => {
            let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()
        }
    };
    Timestamp::try_from(at).ok()
}

/// A reference to an account by identifier; with a display name for a provider.
pub fn account_reference(account: &AccountId, name: Option<String>) -> Value {
    let mut reference = json!({
        "identifier": { "system": ACCOUNT_SYSTEM, "value": ss58(account) },
    });
    if let Some(name) = name {
        reference["display"] = name.into();
    }
    reference
}

/// A provider's reference: its account, and its directory name when it has one.
pub fn provider_reference(account: &AccountId, words: &Words) -> Value {
    account_reference(account, (words.provider_name)(account))
}

/// A Bundle of `resources` (a `collection`, as written to a file), timestamped `now`.
/// Each entry's `fullUrl` (R5 requires one) is a UUID derived from its type and id, so
/// the same resource has the same name in every export.
pub fn collection(resources: Vec<Value>, now: Timestamp) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let name = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({ "fullUrl": uuid_urn(&name), "resource": r })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(now),
        "entry": entries,
    })
}

/// `urn:uuid:` of a name-based UUID (RFC 9562 version 8: blake2b-128 of
/// "medconsent:" and `name`, with the version and variant bits set).
pub fn uuid_urn(name: &str) -> String {
    use blake2::digest::{Update, VariableOutput};
    let mut hasher = blake2::Blake2bVar::new(16).expect("16 is a valid blake2b length");
    hasher.update(b"medconsent:");
    hasher.update(name.as_bytes());
    let mut b = [0u8; 16];
    hasher
        .finalize_variable(&mut b)
        .expect("the buffer is the length asked");
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut coding = json!({ "system": system, "code": code });
    if let Some(display) = display {
        coding["display"] = display.into();
    }
    coding
}

fn concept(system: &str, code: &str, display: Option<&str>) -> Value {
    json!({ "coding": [coding(system, code, display)] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_instants_and_read_back_with_any_zone() {
        assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(instant(1_765_038_896_123), "2025-12-06T16:34:56.123Z");
        assert_eq!(date(1_765_038_896_123), "2025-12-06");
        assert_eq!(
            parse_time("2025-12-06T16:34:56.123Z"),
            Some(1_765_038_896_123)
        );
        assert_eq!(
            parse_time("2025-12-06T17:34:56.123+01:00"),
            Some(1_765_038_896_123)
        );
        assert_eq!(parse_time("2025-12-06"), Some(1_764_979_200_000));
        assert_eq!(parse_time("2025-12-06T16:34:56"), None);
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_time("tomorrow"), None);
    }

    #[test]
    fn a_resource_is_named_by_the_same_uuid_in_every_export() {
        let a = uuid_urn("Consent/5F-1");
        assert_eq!(a, uuid_urn("Consent/5F-1"));
        assert_ne!(a, uuid_urn("Consent/5F-2"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        // Version 8, RFC variant.
        assert_eq!(&a[23..24], "8");
        assert!(matches!(&a[28..29], "8" | "9" | "a" | "b"));
        let bundle = collection(vec![json!({ "resourceType": "Consent", "id": "5F-1" })], 0);
        assert_eq!(bundle["entry"][0]["fullUrl"], a);
    }

    #[test]
    fn every_purpose_has_its_hl7_code_both_ways() {
        for (purpose, code) in PURPOSE_CODES {
            assert_eq!(purpose_code(purpose), code);
            assert_eq!(purpose_of(code), Some(purpose));
        }
        assert_eq!(purpose_of("treat"), None);
    }
}

#[cfg(test)]
mod round_trip;
