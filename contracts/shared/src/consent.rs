//! Consent rules, delegations, the provider directory and access decisions.

use crate::{
    AccountId, Action, ActionSet, CategoryCode, ConsentId, Purpose, PurposeSet, RecordId, RoleSet,
    Timestamp,
};

/// Whether a rule allows or forbids access. A matching Deny always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Decision {
    Permit,
    Deny,
}

/// Which of the patient's records a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Scope {
    AllRecords,
    Category(CategoryCode),
    Record(RecordId),
}

impl Scope {
    /// Whether a request for `record` (None while registering) in `category` falls
    /// under this scope.
    pub fn covers(&self, record: Option<RecordId>, category: CategoryCode) -> bool {
        match *self {
            Scope::AllRecords => true,
            Scope::Category(code) => code == category,
            Scope::Record(id) => record == Some(id),
        }
    }
}

/// Who a rule applies to. `Anyone` is allowed for Deny rules only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum Grantee {
    Anyone,
    Account(AccountId),
}

/// The terms of a consent or restriction, as the patient states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct ConsentTerms {
    pub decision: Decision,
    pub scope: Scope,
    pub actions: ActionSet,
    pub purposes: PurposeSet,
    /// First moment the rule applies (inclusive).
    pub valid_from: Timestamp,
    /// First moment the rule no longer applies (exclusive); None: until revoked.
    pub valid_until: Option<Timestamp>,
}

impl ConsentTerms {
    /// Whether the rule is in force at `now` (expiry is evaluated lazily, here).
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.valid_from <= now && self.valid_until.is_none_or(|until| now < until)
    }

    /// Whether the rule speaks about this request at `now`.
    pub fn applies_to(&self, request: &AccessRequest, now: Timestamp) -> bool {
        self.in_force(now)
            && self.actions.contains(request.action)
            && self.purposes.contains(request.purpose)
            && self.scope.covers(request.record, request.category)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum ConsentStatus {
    Active,
    Revoked,
}

/// A consent as its revoker was shown it. Ids come from whoever listed the consents (a
/// node may lie), so a revocation names what it means and the contract revokes the
/// consent with that id only if it holds exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct ConsentShown {
    pub grantee: Grantee,
    pub terms: ConsentTerms,
}

impl Consent {
    /// This consent as a revocation names it.
    pub fn shown(&self) -> ConsentShown {
        ConsentShown {
            grantee: self.grantee,
            terms: self.terms,
        }
    }
}

/// A consent (Permit) or restriction (Deny), with its history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Consent {
    pub id: ConsentId,
    pub patient: AccountId,
    /// The patient or the delegate who granted it.
    pub grantor: AccountId,
    pub grantee: Grantee,
    pub terms: ConsentTerms,
    pub status: ConsentStatus,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A rule as kept in the per-(patient, grantee) active set that `check` reads.
pub type ActiveRule = (ConsentId, ConsentTerms);

/// The active rules of one (patient, grantee) pair.
pub type RuleSet = ink::prelude::vec::Vec<ActiveRule>;

/// A delegate appointment (guardian, caregiver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Delegation {
    pub appointed_at: Timestamp,
    /// End of the term (exclusive); None: until removed.
    pub until: Option<Timestamp>,
}

impl Delegation {
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum ProviderStatus {
    Active,
    Suspended,
}

/// The longest display name a provider may carry in the directory, in bytes.
pub const MAX_PROVIDER_NAME: usize = 64;

/// The longest word of a display name, in bytes: an account's SS58 text is one word of
/// 46 to 48, so no name reads as an address.
pub const MAX_NAME_WORD: usize = 32;

/// Whether `name` may be a provider's display name: 1 to [`MAX_PROVIDER_NAME`] bytes of
/// UTF-8 holding Latin letters (accented ones too), digits, `.` `,` `'` `&` `-`, words
/// of at most [`MAX_NAME_WORD`] bytes separated by single spaces, and not `anyone`
/// (which the tools read as every accessor). A name is shown in terminals, `key=value`
/// lines and pages, and a patient picks a grantee by it: no control, bidirectional,
/// zero-width or look-alike characters from other scripts, no `=` or brackets to forge
/// a field, and nothing that reads as an account.
///
/// Checked on bytes: the contract takes the name as bytes, so its front (which every
/// access loads) carries no UTF-8 decoder for a message it only forwards.
pub fn valid_provider_name(name: &[u8]) -> bool {
    if name.is_empty()
        || name.len() > MAX_PROVIDER_NAME
        || name.eq_ignore_ascii_case(b"anyone")
        || !name
            .split(|&b| b == b' ')
            .all(|word| !word.is_empty() && word.len() <= MAX_NAME_WORD)
    {
        return false;
    }
    let mut rest = name;
    while let Some((&first, tail)) = rest.split_first() {
        rest = match first {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b' ' | b'.' | b',' | b'\'' | b'&' | b'-' => {
                tail
            }
            // Two-byte UTF-8 of U+00C0..=U+024F: Latin-1 letters and Latin Extended-A/B,
            // without U+00D7 and U+00F7 (the multiplication and division signs).
            0xc3..=0xc9 => match tail.split_first() {
                Some((&second, tail))
                    if (0x80..=0xbf).contains(&second)
                        && !(first == 0xc3 && (second == 0x97 || second == 0xb7))
                        && !(first == 0xc9 && second > 0x8f) =>
                {
                    tail
                }
                _ => return false,
            },
            _ => return false,
        };
    }
    true
}

/// An entry of the provider directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Provider {
    pub roles: RoleSet,
    pub status: ProviderStatus,
    /// X25519 public key that clients wrap record keys to, off-chain.
    pub public_key: [u8; 32],
    pub registered_at: Timestamp,
}

/// What the registry asks the consent manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct AccessRequest {
    pub patient: AccountId,
    pub accessor: AccountId,
    /// None while a record is being registered.
    pub record: Option<RecordId>,
    pub category: CategoryCode,
    pub action: Action,
    pub purpose: Purpose,
}

/// What the registry asks the consent manager for a chart access: one accessor reading
/// several of one patient's records for one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct ChartRequest {
    pub patient: AccountId,
    pub accessor: AccountId,
    pub purpose: Purpose,
    /// (record, its category) of each record, in the order asked.
    pub records: ink::prelude::vec::Vec<(RecordId, CategoryCode)>,
}

impl ChartRequest {
    /// The request a single read of `record` (of `category`) makes.
    pub fn single(&self, (record, category): (RecordId, CategoryCode)) -> AccessRequest {
        AccessRequest {
            patient: self.patient,
            accessor: self.accessor,
            record: Some(record),
            category,
            action: Action::Read,
            purpose: self.purpose,
        }
    }
}

/// Why access was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum Basis {
    Patient,
    Delegate,
    Consent(ConsentId),
    Emergency,
}

/// Why access was refused. Kept in the log, so it says nothing about the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum DenyReason {
    /// No permit applies.
    NoConsent,
    /// This restriction (a Deny rule) applies.
    Restricted(ConsentId),
    /// The accessor is not in the provider directory.
    NotProvider,
    ProviderSuspended,
    /// Break-glass without the emergency-responder role.
    NotResponder,
    EmergencyOptedOut,
    RecordRetired,
    /// The consent manager is paused.
    Paused,
    /// The consent manager could not be asked (not wired, failed or trapped).
    ConsentUnavailable,
    /// This responder has had MAX_EMERGENCIES_PER_WINDOW break-glass releases of this
    /// patient's records in the current window.
    EmergencyLimit,
}

/// The consent manager's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub enum Verdict {
    Permit(Basis),
    Deny(DenyReason),
}

impl Verdict {
    /// The consent behind the verdict, if one rule decided it.
    pub fn consent(&self) -> Option<ConsentId> {
        match *self {
            Verdict::Permit(Basis::Consent(id)) | Verdict::Deny(DenyReason::Restricted(id)) => {
                Some(id)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_plain_latin_words_that_read_as_no_account_nor_anyone() {
        for good in [
            "Dr Dave Smith",
            "St Mary's ER",
            "Dr José Müller-Łukasz",
            "A&E, Ward 3.",
            &"D".repeat(MAX_NAME_WORD),
            &"Dr ".repeat(21)[..62],
        ] {
            assert!(valid_provider_name(good.as_bytes()), "{good:?}");
        }
        let address = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";
        for bad in [
            "",
            " Dr Dave",
            "Dr Dave ",
            "Dr  Dave",
            "Dr\tDave",
            "Dr\u{1b}[31mDave",
            "Dr Dave\u{202e}htimS",
            "Dr Dave\u{200b}",
            "Dr\u{2028}Dave",
            "Dr\u{a0}Dave",
            "Dr D\u{430}ve",
            "Dr \u{24f}\u{250}",
            "2\u{d7}3",
            "X status=revoked",
            "Dr Dave (5DAA)",
            "Anyone",
            address,
            &"D".repeat(MAX_NAME_WORD + 1),
            &"Dr ".repeat(22)[..65],
        ] {
            assert!(!valid_provider_name(bad.as_bytes()), "{bad:?}");
        }
    }

    fn request(record: Option<RecordId>, category: CategoryCode) -> AccessRequest {
        AccessRequest {
            patient: AccountId::from([1; 32]),
            accessor: AccountId::from([2; 32]),
            record,
            category,
            action: Action::Read,
            purpose: Purpose::Treat,
        }
    }

    fn terms(scope: Scope, valid_until: Option<Timestamp>) -> ConsentTerms {
        ConsentTerms {
            decision: Decision::Permit,
            scope,
            actions: ActionSet::from([Action::Read]),
            purposes: PurposeSet::from([Purpose::Treat]),
            valid_from: 10,
            valid_until,
        }
    }

    #[test]
    fn validity_window_is_half_open() {
        let t = terms(Scope::AllRecords, Some(20));
        assert!(!t.in_force(9));
        assert!(t.in_force(10));
        assert!(t.in_force(19));
        assert!(!t.in_force(20), "valid_until is exclusive");
        assert!(terms(Scope::AllRecords, None).in_force(u64::MAX));
    }

    #[test]
    fn scope_category_and_record() {
        let by_category = terms(Scope::Category(7), None);
        assert!(by_category.applies_to(&request(Some(1), 7), 10));
        assert!(!by_category.applies_to(&request(Some(1), 8), 10));
        let by_record = terms(Scope::Record(1), None);
        assert!(by_record.applies_to(&request(Some(1), 8), 10));
        assert!(!by_record.applies_to(&request(Some(2), 8), 10));
        assert!(!by_record.applies_to(&request(None, 8), 10));
    }

    #[test]
    fn action_and_purpose_must_both_match() {
        let t = terms(Scope::AllRecords, None);
        let mut append = request(Some(1), 1);
        append.action = Action::Append;
        assert!(!t.applies_to(&append, 10));
        let mut research = request(Some(1), 1);
        research.purpose = Purpose::Research;
        assert!(!t.applies_to(&research, 10));
    }

    #[test]
    fn delegation_term_is_exclusive() {
        let d = Delegation {
            appointed_at: 0,
            until: Some(5),
        };
        assert!(d.in_force(4));
        assert!(!d.in_force(5));
    }
}
