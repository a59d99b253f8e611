//! The search parameters the server takes, parsed strictly: a parameter it does not
//! know, a value it cannot read, or a modifier it does not support is a 400 with an
//! OperationOutcome that says which, never a search that quietly ignores it.

use medconsent_chain::parse_account;
use medconsent_fhir::{parse_time, ACCOUNT_SYSTEM};
use medconsent_shared::{AccountId, Timestamp};

/// How many resources a page holds unless `_count` says otherwise, and at most.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the search needs the patient: ?patient=<SS58 address>")]
    NoPatient,
    #[error("{0}: not a patient this server knows how to name (an SS58 address, Patient/<SS58>, or patient:identifier={ACCOUNT_SYSTEM}|<SS58>)")]
    BadPatient(String),
    #[error("the parameter {0} is not supported here")]
    Unsupported(String),
    #[error("{0}: a date is [eq|ge|gt|le|lt] then YYYY-MM-DD or a date-time with a zone")]
    BadDate(String),
    #[error("{name}={value}: not a whole number in 0..={max}")]
    BadNumber {
        name: &'static str,
        value: String,
        max: usize,
    },
    #[error("the parameter {0} is given twice")]
    Twice(&'static str),
}

/// A search: whose, which page, and for AuditEvent a time window [from, until).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub patient: AccountId,
    pub count: usize,
    pub offset: usize,
    pub from: Timestamp,
    pub until: Option<Timestamp>,
}

/// The patient as a search names it.
fn patient(name: &str, value: &str) -> Result<AccountId, SearchError> {
    let account = match name {
        "patient" => value.strip_prefix("Patient/").unwrap_or(value),
        // patient:identifier=system|value
        _ => value
            .strip_prefix(ACCOUNT_SYSTEM)
            .and_then(|rest| rest.strip_prefix('|'))
            .ok_or_else(|| SearchError::BadPatient(value.to_owned()))?,
    };
    parse_account(account).map_err(|_| SearchError::BadPatient(value.to_owned()))
}

/// One `date` bound: the window it narrows [from, until).
fn date_bound(
    value: &str,
    from: &mut Timestamp,
    until: &mut Option<Timestamp>,
) -> Result<(), SearchError> {
    let bad = || SearchError::BadDate(value.to_owned());
    let (prefix, at) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let start = parse_time(at).ok_or_else(bad)?;
    // A day stands for the whole day; a moment for its millisecond.
    let end = if at.len() == 10 {
        start.checked_add(86_400_000).ok_or_else(bad)?
    } else {
        start.checked_add(1).ok_or_else(bad)?
    };
    let narrow_until = |until: &mut Option<Timestamp>, to: Timestamp| {
        *until = Some(until.map_or(to, |u| u.min(to)));
    };
    match prefix {
        "ge" => *from = (*from).max(start),
        "gt" => *from = (*from).max(end),
        "le" => narrow_until(until, end),
        "lt" => narrow_until(until, start),
        _ => {
            *from = (*from).max(start);
            narrow_until(until, end);
        }
    }
    Ok(())
}

fn number(name: &'static str, value: &str, max: usize) -> Result<usize, SearchError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| SearchError::BadNumber {
            name,
            value: value.to_owned(),
            max,
        })
}

/// Parses the query `params` of a search; `dates` says whether `date` is taken
/// (AuditEvent) or refused (Consent).
pub fn parse(params: &[(String, String)], dates: bool) -> Result<Search, SearchError> {
    let (mut who, mut count, mut offset) = (None, None, None);
    let (mut from, mut until) = (0, None);
    for (name, value) in params {
        match name.as_str() {
            "patient" | "patient:identifier" => {
                if who.replace(patient(name, value)?).is_some() {
                    return Err(SearchError::Twice("patient"));
                }
            }
            "date" if dates => date_bound(value, &mut from, &mut until)?,
            "_count" => {
                if count.replace(number("_count", value, MAX_COUNT)?).is_some() {
                    return Err(SearchError::Twice("_count"));
                }
            }
            "_offset" => {
                if offset
                    .replace(number("_offset", value, usize::MAX)?)
                    .is_some()
                {
                    return Err(SearchError::Twice("_offset"));
                }
            }
            // What the answer is made of is always JSON.
            "_format" if value.contains("json") => {}
            other => return Err(SearchError::Unsupported(other.to_owned())),
        }
    }
    Ok(Search {
        patient: who.ok_or(SearchError::NoPatient)?,
        count: count.unwrap_or(DEFAULT_COUNT),
        offset: offset.unwrap_or(0),
        from,
        until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_patient_is_named_three_ways_and_a_window_by_dates() {
        let bob = parse_account(BOB).unwrap();
        for (name, value) in [
            ("patient", BOB.to_owned()),
            ("patient", format!("Patient/{BOB}")),
            ("patient:identifier", format!("{ACCOUNT_SYSTEM}|{BOB}")),
        ] {
            assert_eq!(
                parse(&params(&[(name, &value)]), false).unwrap().patient,
                bob
            );
        }
        let search = parse(
            &params(&[
                ("patient", BOB),
                ("date", "ge2025-12-06"),
                ("date", "le2025-12-07"),
                ("_count", "3"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(search.from, 1_764_979_200_000);
        assert_eq!(search.until, Some(1_764_979_200_000 + 2 * 86_400_000));
        assert_eq!((search.count, search.offset), (3, 0));
        let exact = parse(
            &params(&[("patient", BOB), ("date", "lt2025-12-06T10:00:00Z")]),
            true,
        )
        .unwrap();
        assert_eq!((exact.from, exact.until), (0, Some(1_765_015_200_000)));
    }

    #[test]
    fn what_it_cannot_read_is_refused_by_name() {
        let refused = |list: &[(&str, &str)], dates| parse(&params(list), dates).unwrap_err();
        assert_eq!(refused(&[], false), SearchError::NoPatient);
        assert_eq!(
            refused(&[("patient", "Practitioner/1")], false),
            SearchError::BadPatient("Practitioner/1".into())
        );
        assert_eq!(
            refused(&[("patient", BOB), ("status", "active")], false),
            SearchError::Unsupported("status".into())
        );
        // Consents have no date search here.
        assert_eq!(
            refused(&[("patient", BOB), ("date", "ge2025-01-01")], false),
            SearchError::Unsupported("date".into())
        );
        assert_eq!(
            refused(&[("patient", BOB), ("date", "sa2025-01-01")], true),
            SearchError::BadDate("sa2025-01-01".into())
        );
        assert_eq!(
            refused(&[("patient", BOB), ("date", "ge2025-01-01T10:00")], true),
            SearchError::BadDate("ge2025-01-01T10:00".into())
        );
        assert!(matches!(
            refused(&[("patient", BOB), ("_count", "501")], false),
            SearchError::BadNumber { name: "_count", .. }
        ));
        assert_eq!(
            refused(&[("patient", BOB), ("patient", BOB)], false),
            SearchError::Twice("patient")
        );
    }
}
