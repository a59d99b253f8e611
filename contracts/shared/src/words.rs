//! What off-chain code says instead of codes, defined once for every reader (the
//! command, the FHIR export and server): the one table of record categories, and why the
//! chain denied something. On chain a category is an opaque number (it says nothing
//! about a patient by itself); people name it. `medconsent categories` prints this
//! table, and every command takes a category by name or by number. Not in the
//! contracts' build (std only).

use crate::{CategoryCode, DenyReason};

/// (code, name): the names every command shows and accepts.
pub const CATEGORIES: [(CategoryCode, &str); 15] = [
    (1, "demographics"),
    (2, "allergies"),
    (3, "lab-results"),
    (4, "imaging"),
    (5, "prescriptions"),
    (6, "immunizations"),
    (7, "clinical-notes"),
    (8, "diagnoses"),
    (9, "mental-health"),
    (10, "sexual-health"),
    (11, "substance-use"),
    (12, "genetics"),
    (13, "procedures"),
    (14, "discharge-summaries"),
    (15, "vital-signs"),
];

/// A category's name, or `category-N` for a code the table does not name.
pub fn category_name(code: CategoryCode) -> String {
    CATEGORIES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(
            || format!("category-{code}"),
            |(_, name)| (*name).to_owned(),
        )
}

/// A category by name (any case), `category-N`, or number.
pub fn parse_category(text: &str) -> Result<CategoryCode, String> {
    let text = text.trim();
    if let Some((code, _)) = CATEGORIES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text))
    {
        return Ok(*code);
    }
    text.strip_prefix("category-")
        .unwrap_or(text)
        .parse()
        .map_err(|_| {
            let known: Vec<&str> = CATEGORIES.iter().map(|(_, name)| *name).collect();
            format!(
                "category {text:?} is not a number or one of: {}",
                known.join(", ")
            )
        })
}

/// Why the chain denied an access or a write, in words.
pub fn describe_deny_reason(reason: DenyReason) -> String {
    match reason {
        DenyReason::NoConsent => "no consent of the patient's permits it".to_owned(),
        DenyReason::Restricted(id) => format!("the patient's restriction {id} forbids it"),
        DenyReason::NotProvider => "the reader is not in the provider directory".to_owned(),
        DenyReason::ProviderSuspended => "the reader is suspended in the directory".to_owned(),
        DenyReason::NotResponder => "break-glass takes the emergency-responder role".to_owned(),
        DenyReason::EmergencyOptedOut => "the patient refuses break-glass access".to_owned(),
        DenyReason::RecordRetired => "the record is retired".to_owned(),
        DenyReason::Paused => "the consent manager is paused".to_owned(),
        DenyReason::ConsentUnavailable => "the consent manager could not be asked".to_owned(),
        DenyReason::EmergencyLimit => {
            "this responder's break-glass budget for this patient is spent for now".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_by_name_or_number_and_back() {
        assert_eq!(parse_category("lab-results"), Ok(3));
        assert_eq!(parse_category("Mental-Health"), Ok(9));
        assert_eq!(parse_category("3"), Ok(3));
        assert_eq!(parse_category("category-200"), Ok(200));
        assert_eq!(category_name(3), "lab-results");
        assert_eq!(category_name(200), "category-200");
        for (code, name) in CATEGORIES {
            assert_eq!(parse_category(name), Ok(code));
            assert_eq!(parse_category(&category_name(code)), Ok(code));
        }
        let refused = parse_category("labs").unwrap_err();
        assert!(refused.contains("lab-results"), "{refused}");
        assert!(parse_category("70000").is_err());
        // One name per code, one code per name.
        for (i, (code, name)) in CATEGORIES.iter().enumerate() {
            for (other_code, other_name) in &CATEGORIES[i + 1..] {
                assert!(code != other_code && name != other_name);
            }
        }
    }
}
