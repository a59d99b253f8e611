//! What a person types and reads instead of codes: roles, actions, purposes (their HL7
//! PurposeOfUse codes), scopes, grantees and dates, parsed into the on-chain types and
//! described back. Dates are UTC calendar days: the chain keeps milliseconds since
//! 1970 and knows no time zone.

use medconsent_chain::{parse_account, ss58, ConsentError, RegistryError};
use medconsent_shared::{
    AccountId, Action, ActionSet, Consent, ConsentStatus, ConsentTerms, Decision, Grantee,
    LogError, Provider, ProviderStatus, Purpose, PurposeSet, Role, RoleSet, Scope, Timestamp,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WordsError {
    #[error("{what} {given:?} is not one of: {known}")]
    Unknown {
        what: &'static str,
        given: String,
        known: String,
    },
    #[error("no {0} given")]
    Empty(&'static str),
    #[error("{0:?}: a scope is all, category:NAME (see `medconsent categories`) or record:N")]
    BadScope(String),
    #[error("{0:?}: a date is YYYY-MM-DD (UTC)")]
    BadDate(String),
    #[error("{0}")]
    BadAccount(String),
}

pub const PURPOSES: [(&str, Purpose); 7] = [
    ("treat", Purpose::Treat),
    ("etreat", Purpose::EmergencyTreat),
    ("hpaymt", Purpose::Payment),
    ("hoperat", Purpose::Operations),
    ("hresch", Purpose::Research),
    ("pubhlth", Purpose::PublicHealth),
    ("patrqt", Purpose::PatientRequest),
];

pub const ACTIONS: [(&str, Action); 2] = [("read", Action::Read), ("append", Action::Append)];

pub const ROLES: [(&str, Role); 5] = [
    ("clinician", Role::Clinician),
    ("emergency-responder", Role::EmergencyResponder),
    ("researcher", Role::Researcher),
    ("auditor", Role::Auditor),
    ("key-server", Role::KeyServer),
];

/// The comma-separated `names` looked up in `table`, each known, at least one.
fn flags<F: Copy>(
    what: &'static str,
    table: &[(&str, F)],
    names: &str,
) -> Result<Vec<F>, WordsError> {
    let mut found = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let flag = table
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, flag)| *flag)
            .ok_or_else(|| WordsError::Unknown {
                what,
                given: name.to_owned(),
                known: table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            })?;
        found.push(flag);
    }
    if found.is_empty() {
        return Err(WordsError::Empty(what));
    }
    Ok(found)
}

pub fn parse_purposes(names: &str) -> Result<PurposeSet, WordsError> {
    Ok(flags("purpose", &PURPOSES, names)?
        .into_iter()
        .fold(PurposeSet::empty(), PurposeSet::with))
}

pub fn parse_actions(names: &str) -> Result<ActionSet, WordsError> {
    Ok(flags("action", &ACTIONS, names)?
        .into_iter()
        .fold(ActionSet::empty(), ActionSet::with))
}

pub fn parse_roles(names: &str) -> Result<RoleSet, WordsError> {
    Ok(flags("role", &ROLES, names)?
        .into_iter()
        .fold(RoleSet::empty(), RoleSet::with))
}

/// `all`, `category:NAME` (or `category:N`) or `record:N`.
pub fn parse_scope(text: &str) -> Result<Scope, WordsError> {
    let bad = || WordsError::BadScope(text.to_owned());
    match text.split_once(':') {
        None if text.eq_ignore_ascii_case("all") => Ok(Scope::AllRecords),
        Some(("category", n)) => medconsent_shared::words::parse_category(n)
            .map(Scope::Category)
            .map_err(|_| bad()),
        Some(("record", n)) => n.parse().map(Scope::Record).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// `anyone` (a restriction that applies to every accessor) or an account.
pub fn parse_grantee(text: &str) -> Result<Grantee, WordsError> {
    if text.eq_ignore_ascii_case("anyone") {
        return Ok(Grantee::Anyone);
    }
    parse_account(text)
        .map(Grantee::Account)
        .map_err(WordsError::BadAccount)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const DAY_MS: i64 = 86_400_000;

/// The start (00:00 UTC) of the day `YYYY-MM-DD`, in chain milliseconds.
pub fn parse_date(text: &str) -> Result<Timestamp, WordsError> {
    let bad = || WordsError::BadDate(text.to_owned());
    let mut parts = text
        .splitn(3, '-')
        .map(|p| p.parse::<i64>().map_err(|_| bad()));
    let (year, month, day) = match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => (y?, m?, d?),
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    // Only real days: 2027-02-30 does not come back as itself.
    if !(1970..=9999).contains(&year) || civil_from_days(days) != (year, month, day) {
        return Err(bad());
    }
    days.checked_mul(DAY_MS)
        .and_then(|ms| Timestamp::try_from(ms).ok())
        .ok_or_else(bad)
}

/// `YYYY-MM-DD HH:MM UTC` of a chain time.
pub fn describe_time(at: Timestamp) -> String {
    let ms = i64::try_from(at).unwrap_or(i64::MAX);
    let (days, in_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    let minutes = in_day / 60_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

fn names<F: Copy>(table: &[(&str, F)], contains: impl Fn(F) -> bool) -> String {
    table
        .iter()
        .filter(|(_, flag)| contains(*flag))
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

/// A purpose's HL7 PurposeOfUse code, as the commands take it (`treat`, ...).
pub fn purpose_code(purpose: Purpose) -> &'static str {
    PURPOSES
        .iter()
        .find(|(_, p)| *p == purpose)
        .map_or("unknown", |(name, _)| *name)
}

pub fn describe_purposes(set: PurposeSet) -> String {
    names(&PURPOSES, |p| set.contains(p))
}

pub fn describe_actions(set: ActionSet) -> String {
    names(&ACTIONS, |a| set.contains(a))
}

pub fn describe_roles(set: RoleSet) -> String {
    names(&ROLES, |r| set.contains(r))
}

pub fn describe_scope(scope: &Scope) -> String {
    match scope {
        Scope::AllRecords => "all".to_owned(),
        Scope::Category(code) => format!(
            "category:{}",
            medconsent_shared::words::category_name(*code)
        ),
        Scope::Record(id) => format!("record:{id}"),
    }
}

/// Providers' display names from the directory, to show beside their accounts (patients
/// have none: no patient is named on chain).
#[derive(Debug, Clone, Default)]
pub struct Names(std::collections::BTreeMap<AccountId, String>);

impl Names {
    pub fn new(named: impl IntoIterator<Item = (AccountId, String)>) -> Self {
        Self(named.into_iter().collect())
    }

    pub fn name(&self, account: &AccountId) -> Option<&str> {
        self.0.get(account).map(String::as_str)
    }

    /// `Name (SS58)` for a named provider, the SS58 text for anyone else.
    pub fn show(&self, account: &AccountId) -> String {
        match self.name(account) {
            Some(name) => format!("{name} ({})", ss58(account)),
            None => ss58(account),
        }
    }
}

pub fn describe_grantee(grantee: &Grantee, names: &Names) -> String {
    match grantee {
        Grantee::Anyone => "anyone".to_owned(),
        Grantee::Account(account) => names.show(account),
    }
}

/// One line: `consent=ID <permit|restrict> to=… scope=… actions=… purposes=… from=…
/// until=… status=…`.
pub fn describe_consent(consent: &Consent, names: &Names) -> String {
    let ConsentTerms {
        decision,
        scope,
        actions,
        purposes,
        valid_from,
        valid_until,
    } = &consent.terms;
    let kind = match decision {
        Decision::Permit => "permit",
        Decision::Deny => "restrict",
    };
    let until = valid_until.map_or_else(|| "revoked".to_owned(), describe_time);
    let status = match (&consent.status, consent.revoked_at) {
        (ConsentStatus::Active, _) => "active".to_owned(),
        (ConsentStatus::Revoked, Some(at)) => format!("revoked {}", describe_time(at)),
        (ConsentStatus::Revoked, None) => "revoked".to_owned(),
    };
    format!(
        "consent={} {kind} to={} scope={} actions={} purposes={} from={} until={until} status={status}",
        consent.id,
        describe_grantee(&consent.grantee, names),
        describe_scope(scope),
        describe_actions(*actions),
        describe_purposes(*purposes),
        describe_time(*valid_from),
    )
}

/// `roles=… status=… public_key=0x…`.
pub fn describe_provider(provider: &Provider) -> String {
    let status = match provider.status {
        ProviderStatus::Active => "active",
        ProviderStatus::Suspended => "suspended",
    };
    format!(
        "roles={} status={status} public_key=0x{}",
        describe_roles(provider.roles),
        hex::encode(provider.public_key)
    )
}

pub use medconsent_shared::words::describe_deny_reason;

/// The record registry's refusal, said in words.
pub fn describe_registry_error(error: RegistryError) -> String {
    use RegistryError as E;
    let said = match error {
        E::Unauthorized(reason) => return format!("not allowed: {}", describe_deny_reason(reason)),
        E::NotAdmin => "only the registry's admin may do this",
        E::NotPendingAdmin => "only the account the admin role was offered to may accept it",
        E::UpgradeFailed => "the code change failed",
        E::Paused => "the registry is paused: nothing is registered, amended or released",
        E::ZeroHash => "an all-zero content hash",
        E::LocatorTooLong => "the locator is too long",
        E::HashAlreadyRegistered => "this content is already one of the patient's records",
        E::RecordNotFound => "no such record",
        E::RecordRetired => "the record is retired",
        E::NotPatientOrDelegate => "only the patient or a delegate in force may do this",
        E::ConsentUnavailable => "the consent manager could not say who acts for the patient",
        E::EmptyJustification => "break-glass needs a written justification",
        E::EmergencyNotFound => "no such break-glass access",
        E::AlreadyReviewed => "that break-glass access is already reviewed",
        E::LogUnavailable => "the access log refused the entry: nothing happens unlogged",
        E::CounterOverflow => "a record id, version or counter is exhausted",
        E::RecordIdTaken => "another registration took the record id first: try again",
        E::NothingToReview => "no review given",
        E::TooManyReviews => "too many reviews in one call",
        E::NotAContract => "the peer is not a contract",
        E::NothingScheduled => "no change is scheduled",
        E::NotYetDue => "the scheduled change's delay has not passed",
        E::EmptyChart => "a chart access names no record",
        E::ChartTooLarge => "a chart access names too many records",
    };
    said.to_owned()
}

/// The access log's refusal, said in words.
pub fn describe_log_error(error: LogError) -> &'static str {
    match error {
        LogError::NotWriter => "only the registry and the consent manager write the log",
        LogError::NotAdmin => "only the access log's admin may do this",
        LogError::NotPendingAdmin => "only the account the admin role was offered to may accept it",
        LogError::UpgradeFailed => "the new code could not be set",
        LogError::ChainFull => "the patient's log is full",
        LogError::InvalidRange => "the time window ends before it starts",
        LogError::NotAContract => "a writer must be a contract",
        LogError::NothingScheduled => "no change is scheduled",
        LogError::NotYetDue => "the scheduled change's delay has not passed",
        LogError::EmptyChart => "a chart with no entries",
    }
}

/// The consent manager's refusal, said in words.
pub fn describe_consent_error(error: ConsentError) -> &'static str {
    use ConsentError as E;
    match error {
        E::NotAdmin => "only the consent manager's admin may do this",
        E::NotPendingAdmin => "only the account the admin role was offered to may accept it",
        E::UpgradeFailed => "the code change failed",
        E::Paused => "the consent manager is paused: nothing that widens access goes through",
        E::NotPatientOrDelegate => "the signer is neither the patient nor a delegate in force",
        E::SelfGrant => {
            "a patient (or the delegate granting) cannot grant to or restrict themselves"
        }
        E::AnyoneMayOnlyBeDenied => "\"anyone\" may only be restricted, never granted",
        E::InvalidActions => "no action, or an unknown one",
        E::InvalidPurposes => "no purpose, or an unknown one",
        E::InvalidWindow => "the end is not after the start, or already past",
        E::UnknownRecord => "the record is not this patient's",
        E::RegistryUnavailable => "the record registry could not be asked",
        E::TooManyRules => {
            "this grantee already has as many active rules as allowed: revoke one first"
        }
        E::ConsentNotFound => "the patient has no consent with this id",
        E::AlreadyRevoked => "the consent is already revoked",
        E::SelfDelegation => "a patient cannot be their own delegate",
        E::InvalidTerm => "the delegation would end now or in the past",
        E::DelegateNotFound => "no such delegate",
        E::ProviderExists => "the account is already in the directory",
        E::ProviderNotFound => "the account is not in the directory",
        E::InvalidRoles => "no role, or an unknown one",
        E::InvalidKey => "an all-zero public key",
        E::ProviderNotActive => "the provider is not active",
        E::ProviderNotSuspended => "the provider is not suspended",
        E::CounterOverflow => "the patient's consent counter is exhausted",
        E::LogUnavailable => "the access log refused the entry: nothing changes without one",
        E::SignatureExpired => "the signed consent's deadline has passed",
        E::NonceUsed => "the signed consent's nonce was already used or voided",
        E::BadSignature => "the signature is not the patient's over exactly these terms",
        E::NotAContract => "the peer is not a contract",
        E::NothingScheduled => "no change is scheduled",
        E::NotYetDue => "the scheduled change's delay has not passed",
        E::ConsentMismatch => {
            "the consent with this id is not the one named (grantee and terms): nothing revoked"
        }
        E::InvalidName => {
            "a display name is 1 to 64 bytes of Latin letters, digits, . , ' & - in words of \
             at most 32 bytes with single spaces between, and not \"anyone\""
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::DenyReason;

    #[test]
    fn words_become_the_chains_sets_and_back() {
        let purposes = parse_purposes("treat, PATRQT").unwrap();
        assert_eq!(purposes, PurposeSet(65));
        assert_eq!(describe_purposes(purposes), "treat,patrqt");
        assert_eq!(parse_actions("read,append").unwrap(), ActionSet(3));
        let roles = parse_roles("clinician,emergency-responder").unwrap();
        assert_eq!(roles, RoleSet(3));
        assert_eq!(
            describe_roles(parse_roles("key-server").unwrap()),
            "key-server"
        );
        assert_eq!(parse_scope("all").unwrap(), Scope::AllRecords);
        assert_eq!(parse_scope("category:3").unwrap(), Scope::Category(3));
        assert_eq!(parse_scope("record:12").unwrap(), Scope::Record(12));
        assert_eq!(parse_grantee("anyone").unwrap(), Grantee::Anyone);
    }

    #[test]
    fn unknown_words_are_errors_that_list_what_is_known() {
        let unknown = parse_purposes("treat,billing").unwrap_err();
        assert_eq!(
            unknown,
            WordsError::Unknown {
                what: "purpose",
                given: "billing".into(),
                known: "treat, etreat, hpaymt, hoperat, hresch, pubhlth, patrqt".into(),
            }
        );
        assert_eq!(parse_roles(" , ").unwrap_err(), WordsError::Empty("role"));
        for scope in ["category:x", "records:1", "everything", "record:-1"] {
            assert_eq!(
                parse_scope(scope).unwrap_err(),
                WordsError::BadScope(scope.into())
            );
        }
        assert!(matches!(
            parse_grantee("dave").unwrap_err(),
            WordsError::BadAccount(_)
        ));
    }

    #[test]
    fn the_chains_refusals_are_said_in_words() {
        assert_eq!(
            describe_registry_error(RegistryError::Unauthorized(DenyReason::Restricted(3))),
            "not allowed: the patient's restriction 3 forbids it"
        );
        assert_eq!(
            describe_consent_error(ConsentError::AnyoneMayOnlyBeDenied),
            "\"anyone\" may only be restricted, never granted"
        );
    }

    #[test]
    fn dates_are_utc_days_and_only_real_ones() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2026-01-01").unwrap(), 1_767_225_600_000);
        assert_eq!(parse_date("2028-02-29").unwrap(), 1_835_395_200_000);
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-1",
            "27-01-01x",
            "1969-12-31",
        ] {
            assert_eq!(
                parse_date(bad).unwrap_err(),
                WordsError::BadDate(bad.into())
            );
        }
        assert_eq!(
            describe_time(1_767_225_600_000 + 90 * 60_000),
            "2026-01-01 01:30 UTC"
        );
    }
}
